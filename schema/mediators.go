package schema

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"
)

// MediatorRow is an upstream service that channels forward to.
type MediatorRow struct {
	URN           string       `db:"urn"`
	Name          string       `db:"name"`
	Version       string       `db:"version"`
	EndpointURL   string       `db:"endpoint_url"`
	IsOnline      bool         `db:"is_online"`
	LastHeartbeat sql.NullTime `db:"last_heartbeat"`
	IsDemo        bool         `db:"is_demo"`
	CreatedAt     time.Time    `db:"created_at"`
	UpdatedAt     time.Time    `db:"updated_at"`
}

const mediatorColumns = `urn, name, version, endpoint_url, is_online, last_heartbeat, is_demo, created_at, updated_at`

// CreateMediator inserts a mediator; ErrConflict when the URN is taken.
func (s *Store) CreateMediator(ctx context.Context, m MediatorRow) (MediatorRow, error) {
	var out MediatorRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO mediators (urn, name, version, endpoint_url, is_online, is_demo)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+mediatorColumns,
		m.URN, m.Name, m.Version, m.EndpointURL, m.IsOnline, m.IsDemo)
	return out, translate(err, "creating mediator")
}

// GetMediator reads one mediator by URN.
func (s *Store) GetMediator(ctx context.Context, urn string) (MediatorRow, error) {
	var out MediatorRow
	err := s.db.GetContext(ctx, &out, `SELECT `+mediatorColumns+` FROM mediators WHERE urn = $1`, urn)
	return out, translate(err, "reading mediator")
}

// ListMediators pages through mediators ordered by URN.
func (s *Store) ListMediators(ctx context.Context, page Page) ([]MediatorRow, error) {
	out := []MediatorRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+mediatorColumns+` FROM mediators
		WHERE ($3 = '' OR urn > (SELECT urn FROM mediators WHERE urn = $3))
		ORDER BY urn LIMIT $1 OFFSET $2`, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, "listing mediators")
	}
	return out, s.checkCursor(ctx, "listing mediators", page, len(out),
		`SELECT EXISTS (SELECT 1 FROM mediators WHERE urn = $1)`, page.After)
}

// UpdateMediator reads the mediator under a row lock, lets change edit it, and writes it back.
func (s *Store) UpdateMediator(ctx context.Context, urn string, change func(*MediatorRow) error) (MediatorRow, error) {
	var out MediatorRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row MediatorRow
		if err := tx.GetContext(ctx, &row, `SELECT `+mediatorColumns+` FROM mediators WHERE urn = $1 FOR UPDATE`,
			urn); err != nil {
			return translate(err, "reading mediator")
		}
		if err := change(&row); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &out, `UPDATE mediators SET name = $2, version = $3, endpoint_url = $4,
			is_online = $5, last_heartbeat = $6, is_demo = $7, updated_at = now()
			WHERE urn = $1 RETURNING `+mediatorColumns,
			urn, row.Name, row.Version, row.EndpointURL, row.IsOnline, row.LastHeartbeat, row.IsDemo)
		return translate(err, "updating mediator")
	})
	return out, err
}
