package schema

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ClientRow is an application allowed to call the hub.
type ClientRow struct {
	ClientID           string         `db:"client_id"`
	Name               string         `db:"name"`
	SecretHash         string         `db:"secret_hash"`
	AllowedIPs         pq.StringArray `db:"allowed_ips"`
	Permissions        pq.StringArray `db:"permissions"`
	Roles              pq.StringArray `db:"roles"`
	RateLimitPerMinute int            `db:"rate_limit_per_minute"`
	IsActive           bool           `db:"is_active"`
	IsDemo             bool           `db:"is_demo"`
	CreatedAt          time.Time      `db:"created_at"`
	UpdatedAt          time.Time      `db:"updated_at"`
}

const clientColumns = `client_id, name, secret_hash, allowed_ips, permissions, roles,
	rate_limit_per_minute, is_active, is_demo, created_at, updated_at`

// CreateClient inserts a client; ErrConflict when the client_id is taken.
func (s *Store) CreateClient(ctx context.Context, c ClientRow) (ClientRow, error) {
	var out ClientRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO clients
		(client_id, name, secret_hash, allowed_ips, permissions, roles, rate_limit_per_minute, is_active, is_demo)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+clientColumns,
		c.ClientID, c.Name, c.SecretHash, nonNil(c.AllowedIPs), nonNil(c.Permissions), nonNil(c.Roles),
		c.RateLimitPerMinute, c.IsActive, c.IsDemo)
	return out, translate(err, "creating client")
}

// GetClient reads one client by id.
func (s *Store) GetClient(ctx context.Context, clientID string) (ClientRow, error) {
	var out ClientRow
	err := s.db.GetContext(ctx, &out, `SELECT `+clientColumns+` FROM clients WHERE client_id = $1`, clientID)
	return out, translate(err, "reading client")
}

// ListClients pages through clients ordered by id.
func (s *Store) ListClients(ctx context.Context, page Page) ([]ClientRow, error) {
	out := []ClientRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+clientColumns+` FROM clients
		WHERE ($3 = '' OR client_id > (SELECT client_id FROM clients WHERE client_id = $3))
		ORDER BY client_id LIMIT $1 OFFSET $2`, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, "listing clients")
	}
	return out, s.checkCursor(ctx, "listing clients", page, len(out),
		`SELECT EXISTS (SELECT 1 FROM clients WHERE client_id = $1)`, page.After)
}

// UpdateClient reads the client under a row lock, lets change edit it, and writes it back.
func (s *Store) UpdateClient(ctx context.Context, clientID string, change func(*ClientRow) error) (ClientRow, error) {
	var out ClientRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row ClientRow
		if err := tx.GetContext(ctx, &row, `SELECT `+clientColumns+` FROM clients WHERE client_id = $1 FOR UPDATE`,
			clientID); err != nil {
			return translate(err, "reading client")
		}
		if err := change(&row); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &out, `UPDATE clients SET name = $2, secret_hash = $3, allowed_ips = $4,
			permissions = $5, roles = $6, rate_limit_per_minute = $7, is_active = $8, is_demo = $9, updated_at = now()
			WHERE client_id = $1 RETURNING `+clientColumns,
			clientID, row.Name, row.SecretHash, nonNil(row.AllowedIPs), nonNil(row.Permissions), nonNil(row.Roles),
			row.RateLimitPerMinute, row.IsActive, row.IsDemo)
		return translate(err, "updating client")
	})
	return out, err
}

// nonNil keeps NOT NULL array columns from receiving SQL NULL.
func nonNil(a pq.StringArray) pq.StringArray {
	if a == nil {
		return pq.StringArray{}
	}
	return a
}
