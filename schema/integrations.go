package schema

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"
)

// IntegrationRow is one tenant's link to an external platform. Credentials hold the sealed JSON
// of the platform's secrets; only the API (to verify webhooks) and workers (to send) open them.
type IntegrationRow struct {
	ID          string          `db:"id"`
	ClientID    string          `db:"client_id"`
	Name        string          `db:"name"`
	Platform    string          `db:"platform"`
	Credentials string          `db:"credentials"`
	Config      json.RawMessage `db:"config"`
	IsActive    bool            `db:"is_active"`
	// Site integrations (platform wordpress, shopify, custom) only.
	SiteID       *string    `db:"site_id"`
	PlatformType string     `db:"platform_type"`
	SyncEnabled  bool       `db:"sync_enabled"`
	SyncStatus   string     `db:"sync_status"`
	LastSyncAt   *time.Time `db:"last_sync_at"`
	SyncError    string     `db:"sync_error"`
	CreatedAt    time.Time  `db:"created_at"`
	UpdatedAt    time.Time  `db:"updated_at"`
}

const integrationColumns = `id, client_id, name, platform, credentials, config, is_active, site_id, platform_type,
	sync_enabled, sync_status, last_sync_at, sync_error, created_at, updated_at`

// CreateIntegration inserts an integration; ErrReference when its client (or site) does not
// exist, ErrConflict when the id is taken or the client already has an integration of the
// same site on the same platform. The sync status fields start empty whatever r says: the
// sync runs set them.
func (s *Store) CreateIntegration(ctx context.Context, r IntegrationRow) (IntegrationRow, error) {
	var out IntegrationRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO integrations (id, client_id, name, platform, credentials, config,
		is_active, site_id, platform_type, sync_enabled)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING `+integrationColumns,
		r.ID, r.ClientID, r.Name, r.Platform, r.Credentials, jsonOrEmpty(r.Config), r.IsActive, r.SiteID,
		r.PlatformType, r.SyncEnabled)
	return out, translate(err, "creating integration")
}

// GetIntegration reads one integration by id.
func (s *Store) GetIntegration(ctx context.Context, id string) (IntegrationRow, error) {
	var out IntegrationRow
	err := s.db.GetContext(ctx, &out, `SELECT `+integrationColumns+` FROM integrations WHERE id = $1`, id)
	return out, translate(err, "reading integration")
}

// ListIntegrations pages through integrations, newest first; clientID "" lists every client's.
// A cursor must name an integration of the client.
func (s *Store) ListIntegrations(ctx context.Context, clientID string, page Page) ([]IntegrationRow, error) {
	const what = "listing integrations"
	out := []IntegrationRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+integrationColumns+` FROM integrations
		WHERE ($1 = '' OR client_id = $1)
		AND ($4 = '' OR (created_at, id) < (SELECT created_at, id FROM integrations
			WHERE id = $4 AND ($1 = '' OR client_id = $1)))
		ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, clientID, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM integrations
		WHERE id = $1 AND ($2 = '' OR client_id = $2))`, page.After, clientID)
}

// UpdateIntegration reads the integration under a row lock, lets change edit it, and writes it
// back: name, credentials, config, is_active and sync_enabled. Its client, platform and site
// never change, and its sync status belongs to the sync runs.
func (s *Store) UpdateIntegration(ctx context.Context, id string, change func(*IntegrationRow) error) (IntegrationRow, error) {
	var out IntegrationRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row IntegrationRow
		if err := tx.GetContext(ctx, &row, `SELECT `+integrationColumns+` FROM integrations WHERE id = $1 FOR UPDATE`,
			id); err != nil {
			return err
		}
		if err := change(&row); err != nil {
			return err
		}
		return tx.GetContext(ctx, &out, `UPDATE integrations SET name = $2, credentials = $3, config = $4, is_active = $5,
			sync_enabled = $6, updated_at = now() WHERE id = $1 RETURNING `+integrationColumns,
			id, row.Name, row.Credentials, jsonOrEmpty(row.Config), row.IsActive, row.SyncEnabled)
	})
	return out, translate(err, "updating integration")
}

// DeleteIntegration removes an integration and, with it, its received webhooks and their events.
func (s *Store) DeleteIntegration(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM integrations WHERE id = $1`, id)
	if err != nil {
		return translate(err, "deleting integration")
	}
	return affectedOne(res, "deleting integration")
}

// jsonOrEmpty stores a missing JSON document as an empty object.
func jsonOrEmpty(doc json.RawMessage) json.RawMessage {
	if len(doc) == 0 {
		return json.RawMessage(`{}`)
	}
	return doc
}
