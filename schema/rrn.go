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

// TransferRRN is the RRN of the card transfer with this correlation id: allocated from the
// sequence the first time, the same one every time after, so a transfer replayed from its start
// sends the RRN it sent before and the switch recognises the repeat.
func (s *Store) TransferRRN(ctx context.Context, correlationID string) (string, error) {
	var rrn string
	err := s.db.GetContext(ctx, &rrn, `INSERT INTO iso_transfer_rrns (correlation_id, rrn)
		VALUES ($1, lpad(nextval('iso_rrn')::text, 12, '0'))
		ON CONFLICT (correlation_id) DO UPDATE SET correlation_id = EXCLUDED.correlation_id RETURNING rrn`, correlationID)
	return rrn, translate(err, "allocating the transfer's RRN")
}
