package schema

import "context"

// NextSTAN hands out the next System Trace Audit Number of a terminal for today (UTC):
// 1..999999, wrapping, unique across processes and restarts.
func (s *Store) NextSTAN(ctx context.Context, terminalID string) (int64, error) {
	var v int64
	err := s.db.GetContext(ctx, &v, nextSTANSQL, terminalID)
	return v, translate(err, "allocating a STAN")
}

// nextSTANSQL takes the next STAN of terminal $1 for today (UTC).
const nextSTANSQL = `INSERT INTO iso_stan (terminal_id, day, value)
	VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 1)
	ON CONFLICT (terminal_id, day) DO UPDATE SET value = iso_stan.value % 999999 + 1 RETURNING value`
