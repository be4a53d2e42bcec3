package schema

import (
	"context"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/switchyard-hub/switchyard/transaction"
)

// Channel kinds: how the channel reaches its upstream.
const (
	ChannelKindHTTP    = "http"
	ChannelKindISO8583 = "iso8583"
	ChannelKindESB     = "esb"
)

// ChannelRow matches incoming requests (path pattern + method) to a mediator.
type ChannelRow struct {
	ID                      string         `db:"id"`
	Name                    string         `db:"name"`
	Description             string         `db:"description"`
	PathPattern             string         `db:"path_pattern"`
	Methods                 pq.StringArray `db:"methods"`
	Priority                int            `db:"priority"`
	RequiresRequestBody     bool           `db:"requires_request_body"`
	RequestContentType      string         `db:"request_content_type"`
	RequestBodyExample      string         `db:"request_body_example"`
	ChannelType             string         `db:"channel_type"`
	Kind                    string         `db:"kind"`
	MediatorURN             string         `db:"mediator_urn"`
	TimeoutMS               int            `db:"timeout_ms"`
	RetryMaxAttempts        int            `db:"retry_max_attempts"`
	RetryInitialIntervalMS  int            `db:"retry_initial_interval_ms"`
	RetryBackoffCoefficient float64        `db:"retry_backoff_coefficient"`
	RetryMaxIntervalMS      int            `db:"retry_max_interval_ms"`
	HonoursIdempotencyKey   bool           `db:"honours_idempotency_key"`
	EscalateOnFailure       bool           `db:"escalate_on_failure"`
	// AutoRetryIntervalMS and AutoRetryMax rerun a failed transaction of the channel after the
	// interval, at most AutoRetryMax times along its chain (0: off).
	AutoRetryIntervalMS int            `db:"auto_retry_interval_ms"`
	AutoRetryMax        int            `db:"auto_retry_max"`
	AllowedClients      pq.StringArray `db:"allowed_clients"`
	AllowedRoles        pq.StringArray `db:"allowed_roles"`
	IsActive            bool           `db:"is_active"`
	IsDemo              bool           `db:"is_demo"`
	CreatedAt           time.Time      `db:"created_at"`
	UpdatedAt           time.Time      `db:"updated_at"`
}

// RouteRow is an active channel joined with the mediator it forwards to: what the proxy matches on.
type RouteRow struct {
	ChannelRow
	MediatorEndpointURL string `db:"mediator_endpoint_url"`
	MediatorOnline      bool   `db:"mediator_online"`
}

// Channel snapshots a route for a transaction to carry; a channel without a timeout gets
// defaultTimeout.
func (r RouteRow) Channel(defaultTimeout time.Duration) transaction.Channel {
	timeout := time.Duration(r.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return transaction.Channel{
		ID:          r.ID,
		Name:        r.Name,
		Kind:        r.Kind,
		MediatorURN: r.MediatorURN,
		EndpointURL: r.MediatorEndpointURL,
		Timeout:     timeout,
		Retry: transaction.RetryPolicy{
			MaxAttempts:        r.RetryMaxAttempts,
			InitialInterval:    time.Duration(r.RetryInitialIntervalMS) * time.Millisecond,
			BackoffCoefficient: r.RetryBackoffCoefficient,
			MaxInterval:        time.Duration(r.RetryMaxIntervalMS) * time.Millisecond,
		},
		HonoursIdempotencyKey: r.HonoursIdempotencyKey,
		EscalateOnFailure:     r.EscalateOnFailure,
	}
}

// Admits applies the channel's allowed_clients and allowed_roles: with neither set anyone may
// call it; otherwise the client must be listed or hold one of the roles. A request and a rerun
// (single, bulk or auto-retry) are admitted by this same rule.
func (r ChannelRow) Admits(clientID string, roles []string) bool {
	if len(r.AllowedClients) == 0 && len(r.AllowedRoles) == 0 {
		return true
	}
	if slices.Contains(r.AllowedClients, clientID) {
		return true
	}
	for _, role := range r.AllowedRoles {
		if slices.Contains(roles, role) {
			return true
		}
	}
	return false
}

// AutoRetry reports whether the channel reruns its failed transactions, and how.
func (r ChannelRow) AutoRetry() (interval time.Duration, max int, on bool) {
	return time.Duration(r.AutoRetryIntervalMS) * time.Millisecond, r.AutoRetryMax, r.AutoRetryMax > 0
}

const channelColumns = `id, name, description, path_pattern, methods, priority, requires_request_body,
	request_content_type, request_body_example, channel_type, kind, mediator_urn, timeout_ms,
	retry_max_attempts, retry_initial_interval_ms, retry_backoff_coefficient, retry_max_interval_ms,
	honours_idempotency_key, escalate_on_failure, allowed_clients, allowed_roles, is_active, is_demo,
	created_at, updated_at, auto_retry_interval_ms, auto_retry_max`

// channelValues lists a row's writable columns in the order of $2..$25 below.
func channelValues(c ChannelRow) []any {
	return []any{c.Name, c.Description, c.PathPattern, nonNil(c.Methods), c.Priority, c.RequiresRequestBody,
		c.RequestContentType, c.RequestBodyExample, c.ChannelType, c.Kind, c.MediatorURN, c.TimeoutMS,
		c.RetryMaxAttempts, c.RetryInitialIntervalMS, c.RetryBackoffCoefficient, c.RetryMaxIntervalMS,
		c.HonoursIdempotencyKey, c.EscalateOnFailure, nonNil(c.AllowedClients), nonNil(c.AllowedRoles),
		c.IsActive, c.IsDemo, c.AutoRetryIntervalMS, c.AutoRetryMax}
}

// CreateChannel inserts a channel; ErrConflict on a duplicate name, ErrReference on an unknown mediator.
func (s *Store) CreateChannel(ctx context.Context, c ChannelRow) (ChannelRow, error) {
	var out ChannelRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO channels (name, description, path_pattern, methods, priority,
		requires_request_body, request_content_type, request_body_example, channel_type, kind, mediator_urn,
		timeout_ms, retry_max_attempts, retry_initial_interval_ms, retry_backoff_coefficient, retry_max_interval_ms,
		honours_idempotency_key, escalate_on_failure, allowed_clients, allowed_roles, is_active, is_demo,
		auto_retry_interval_ms, auto_retry_max)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
		$23, $24)
		RETURNING `+channelColumns, channelValues(c)...)
	return out, translate(err, "creating channel")
}

// GetChannel reads one channel by id.
func (s *Store) GetChannel(ctx context.Context, id string) (ChannelRow, error) {
	var out ChannelRow
	err := s.db.GetContext(ctx, &out, `SELECT `+channelColumns+` FROM channels WHERE id = $1`, id)
	return out, translate(err, "reading channel")
}

// GetChannelByName reads one channel by its unique name.
func (s *Store) GetChannelByName(ctx context.Context, name string) (ChannelRow, error) {
	var out ChannelRow
	err := s.db.GetContext(ctx, &out, `SELECT `+channelColumns+` FROM channels WHERE name = $1`, name)
	return out, translate(err, "reading channel")
}

// ListChannels pages through channels, highest priority first, then by (unique) name.
func (s *Store) ListChannels(ctx context.Context, page Page) ([]ChannelRow, error) {
	const what = "listing channels"
	if err := uuidCursor(what, page); err != nil {
		return nil, err
	}
	out := []ChannelRow{}
	// (-priority, name) is the order as one ascending row, so one comparison finds the rest.
	err := s.db.SelectContext(ctx, &out, `SELECT `+channelColumns+` FROM channels
		WHERE ($3 = '' OR (-priority, name) > (SELECT -priority, name FROM channels WHERE id = NULLIF($3, '')::uuid))
		ORDER BY priority DESC, name LIMIT $1 OFFSET $2`, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out),
		`SELECT EXISTS (SELECT 1 FROM channels WHERE id = $1::uuid)`, page.After)
}

// UpdateChannel reads the channel under a row lock, lets change edit it, and writes it back.
func (s *Store) UpdateChannel(ctx context.Context, id string, change func(*ChannelRow) error) (ChannelRow, error) {
	var out ChannelRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row ChannelRow
		if err := tx.GetContext(ctx, &row, `SELECT `+channelColumns+` FROM channels WHERE id = $1 FOR UPDATE`,
			id); err != nil {
			return translate(err, "reading channel")
		}
		if err := change(&row); err != nil {
			return err
		}
		args := append([]any{id}, channelValues(row)...)
		err := tx.GetContext(ctx, &out, `UPDATE channels SET name = $2, description = $3, path_pattern = $4,
			methods = $5, priority = $6, requires_request_body = $7, request_content_type = $8,
			request_body_example = $9, channel_type = $10, kind = $11, mediator_urn = $12, timeout_ms = $13,
			retry_max_attempts = $14, retry_initial_interval_ms = $15, retry_backoff_coefficient = $16,
			retry_max_interval_ms = $17, honours_idempotency_key = $18, escalate_on_failure = $19,
			allowed_clients = $20, allowed_roles = $21, is_active = $22, is_demo = $23,
			auto_retry_interval_ms = $24, auto_retry_max = $25, updated_at = now()
			WHERE id = $1 RETURNING `+channelColumns, args...)
		return translate(err, "updating channel")
	})
	return out, err
}

// routeSelect reads channels joined with their mediators.
const routeSelect = `SELECT c.id, c.name, c.description, c.path_pattern, c.methods,
	c.priority, c.requires_request_body, c.request_content_type, c.request_body_example, c.channel_type,
	c.kind, c.mediator_urn, c.timeout_ms, c.retry_max_attempts, c.retry_initial_interval_ms,
	c.retry_backoff_coefficient, c.retry_max_interval_ms, c.honours_idempotency_key, c.escalate_on_failure,
	c.allowed_clients, c.allowed_roles, c.is_active, c.is_demo, c.created_at, c.updated_at,
	c.auto_retry_interval_ms, c.auto_retry_max, m.endpoint_url AS mediator_endpoint_url, m.is_online AS mediator_online
	FROM channels c JOIN mediators m ON m.urn = c.mediator_urn`

// ActiveRoutes lists every active channel with its mediator, highest priority first.
func (s *Store) ActiveRoutes(ctx context.Context) ([]RouteRow, error) {
	out := []RouteRow{}
	err := s.db.SelectContext(ctx, &out, routeSelect+` WHERE c.is_active ORDER BY c.priority DESC, c.name`)
	return out, translate(err, "listing routes")
}

// GetRoute reads one channel with its mediator, active or not.
func (s *Store) GetRoute(ctx context.Context, channelID string) (RouteRow, error) {
	var out RouteRow
	err := s.db.GetContext(ctx, &out, routeSelect+` WHERE c.id = $1`, channelID)
	return out, translate(err, "reading route")
}
