package schema

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"
)

// ESBRegistrationRow is an organization reached through the National ESB (seed 001's
// ExternalSystemRegistration): its engine codes, and the channel it serves (none: global).
type ESBRegistrationRow struct {
	ID           string         `db:"id"`
	Organization string         `db:"organization"`
	Name         string         `db:"name"`
	APICode      string         `db:"api_code"`
	PushCode     string         `db:"push_code"`
	ChannelID    sql.NullString `db:"channel_id"`
	IsActive     bool           `db:"is_active"`
	IsDemo       bool           `db:"is_demo"`
	CreatedAt    time.Time      `db:"created_at"`
	UpdatedAt    time.Time      `db:"updated_at"`
}

// PageKey is the registration's id.
func (r ESBRegistrationRow) PageKey() string { return r.ID }

const esbRegistrationColumns = `id, organization, name, api_code, push_code, channel_id, is_active, is_demo,
	created_at, updated_at`

// CreateESBRegistration inserts a registration; ErrConflict when the organization already has
// one for the channel (or a global one), ErrReference on an unknown channel.
func (s *Store) CreateESBRegistration(ctx context.Context, r ESBRegistrationRow) (ESBRegistrationRow, error) {
	var out ESBRegistrationRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO external_system_registrations
		(organization, name, api_code, push_code, channel_id, is_active, is_demo)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+esbRegistrationColumns,
		r.Organization, r.Name, r.APICode, r.PushCode, r.ChannelID, r.IsActive, r.IsDemo)
	return out, translate(err, "creating ESB registration")
}

// GetESBRegistration reads one registration by id.
func (s *Store) GetESBRegistration(ctx context.Context, id string) (ESBRegistrationRow, error) {
	var out ESBRegistrationRow
	err := s.db.GetContext(ctx, &out, `SELECT `+esbRegistrationColumns+` FROM external_system_registrations
		WHERE id = $1`, id)
	return out, translate(err, "reading ESB registration")
}

// ListESBRegistrations pages through registrations by organization, then id; organization,
// when given, keeps that organization's only.
func (s *Store) ListESBRegistrations(ctx context.Context, organization string, page Page) ([]ESBRegistrationRow, error) {
	const what = "listing ESB registrations"
	if err := uuidCursor(what, page); err != nil {
		return nil, err
	}
	out := []ESBRegistrationRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+esbRegistrationColumns+` FROM external_system_registrations
		WHERE ($4 = '' OR organization = $4)
		AND ($3 = '' OR (organization, id) > (SELECT organization, id FROM external_system_registrations
			WHERE id = NULLIF($3, '')::uuid))
		ORDER BY organization, id LIMIT $1 OFFSET $2`, page.Limit, page.Offset, page.After, organization)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out),
		`SELECT EXISTS (SELECT 1 FROM external_system_registrations WHERE id = $1::uuid AND ($2 = '' OR organization = $2))`,
		page.After, organization)
}

// ActiveESBRegistrations lists every active registration, oldest first: what the proxy
// resolves organizations from.
func (s *Store) ActiveESBRegistrations(ctx context.Context) ([]ESBRegistrationRow, error) {
	out := []ESBRegistrationRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+esbRegistrationColumns+` FROM external_system_registrations
		WHERE is_active ORDER BY created_at, id`)
	return out, translate(err, "listing active ESB registrations")
}

// UpdateESBRegistration reads the registration under a row lock, lets change edit it, and
// writes it back.
func (s *Store) UpdateESBRegistration(ctx context.Context, id string, change func(*ESBRegistrationRow) error) (ESBRegistrationRow, error) {
	var out ESBRegistrationRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row ESBRegistrationRow
		if err := tx.GetContext(ctx, &row, `SELECT `+esbRegistrationColumns+` FROM external_system_registrations
			WHERE id = $1 FOR UPDATE`, id); err != nil {
			return translate(err, "reading ESB registration")
		}
		if err := change(&row); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &out, `UPDATE external_system_registrations SET organization = $2, name = $3,
			api_code = $4, push_code = $5, channel_id = $6, is_active = $7, is_demo = $8, updated_at = now()
			WHERE id = $1 RETURNING `+esbRegistrationColumns,
			id, row.Organization, row.Name, row.APICode, row.PushCode, row.ChannelID, row.IsActive, row.IsDemo)
		return translate(err, "updating ESB registration")
	})
	return out, err
}

// DeleteESBRegistration removes a registration; ErrNotFound when there is none.
func (s *Store) DeleteESBRegistration(ctx context.Context, id string) (ESBRegistrationRow, error) {
	var out ESBRegistrationRow
	err := s.db.GetContext(ctx, &out, `DELETE FROM external_system_registrations WHERE id = $1
		RETURNING `+esbRegistrationColumns, id)
	return out, translate(err, "deleting ESB registration")
}
