package schema

import (
	"context"
	"database/sql"
	"time"

	"fmt"

	"github.com/jmoiron/sqlx"
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

// TransferReferences are a card transfer's references, allocated once per correlation id.
type TransferReferences struct {
	RRN          string `db:"rrn"`
	STAN         int64  `db:"stan"`
	Transmission string `db:"transmission"` // DE 7, MMDDhhmmss UTC
}

// TransferReferences gives the card transfer with this correlation id its RRN (from the
// sequence), STAN (the terminal's next) and transmission time the first time, and the same
// ones every time after: a transfer replayed from its start sends the 0200 it sent before.
func (s *Store) TransferReferences(ctx context.Context, correlationID, terminalID string) (TransferReferences, error) {
	var refs TransferReferences
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			RRN          string         `db:"rrn"`
			STAN         sql.NullInt64  `db:"stan"`
			Transmission sql.NullString `db:"transmission"`
		}
		// The upsert locks the row until the transaction ends, so one caller allocates.
		if err := tx.GetContext(ctx, &row, `INSERT INTO iso_transfer_rrns (correlation_id, rrn)
			VALUES ($1, lpad(nextval('iso_rrn')::text, 12, '0'))
			ON CONFLICT (correlation_id) DO UPDATE SET correlation_id = EXCLUDED.correlation_id
			RETURNING rrn, stan, transmission`, correlationID); err != nil {
			return translate(err, "allocating the transfer's RRN")
		}
		refs = TransferReferences{RRN: row.RRN, STAN: row.STAN.Int64, Transmission: row.Transmission.String}
		if row.STAN.Valid {
			return nil
		}
		if err := tx.GetContext(ctx, &refs.STAN, nextSTANSQL, terminalID); err != nil {
			return translate(err, "allocating the transfer's STAN")
		}
		refs.Transmission = time.Now().UTC().Format("0102150405")
		_, err := tx.ExecContext(ctx, `UPDATE iso_transfer_rrns SET stan = $2, transmission = $3
			WHERE correlation_id = $1`, correlationID, refs.STAN, refs.Transmission)
		return translate(err, "recording the transfer's references")
	})
	return refs, err
}
