package schema

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// DeleteDemo removes every record the demo seeder wrote (and channels that point at a demo
// mediator), leaving operator-made records alone.
func (s *Store) DeleteDemo(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, q := range []string{
			`DELETE FROM transactions WHERE is_demo`,
			`DELETE FROM channels WHERE is_demo OR mediator_urn IN (SELECT urn FROM mediators WHERE is_demo)`,
			`DELETE FROM mediators WHERE is_demo`,
			`DELETE FROM clients WHERE is_demo`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return translate(err, "deleting demo records")
			}
		}
		return nil
	})
}
