package schema

import (
	"context"

	"fmt"
)

// NextRRN hands out the next Retrieval Reference Number from the iso_rrn sequence: unique
// across processes and restarts (until the 12 digits wrap).
func (s *Store) NextRRN(ctx context.Context) (string, error) {
	var v int64
	if err := s.db.GetContext(ctx, &v, `SELECT nextval('iso_rrn')`); err != nil {
		return "", translate(err, "allocating an RRN")
	}
	return fmt.Sprintf("%012d", v), nil
}
