package schema

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/switchyard-hub/switchyard/transaction"
)

// WebhookEventRow is one verified inbound webhook, as received.
type WebhookEventRow struct {
	ID            string       `db:"id"`
	IntegrationID string       `db:"integration_id"`
	ClientID      string       `db:"client_id"`
	Platform      string       `db:"platform"`
	DeliveryID    string       `db:"delivery_id"`
	EventType     string       `db:"event_type"`
	WorkflowID    string       `db:"workflow_id"`
	Headers       StringMap    `db:"headers"`
	Body          []byte       `db:"body"`
	Status        string       `db:"status"`
	Messages      int          `db:"messages"`
	Failed        int          `db:"failed"`
	Error         string       `db:"error"`
	ReceivedAt    time.Time    `db:"received_at"`
	ProcessedAt   sql.NullTime `db:"processed_at"`
}

// StringMap is a JSON object of strings in a jsonb column.
type StringMap map[string]string

// Value stores the map as JSON.
func (m StringMap) Value() (driver.Value, error) {
	if m == nil {
		return []byte(`{}`), nil
	}
	return json.Marshal(map[string]string(m))
}

// Scan reads the map from JSON.
func (m *StringMap) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok {
		return fmt.Errorf("scanning a string map from %T", src)
	}
	return json.Unmarshal(b, (*map[string]string)(m))
}

const webhookEventColumns = `id, integration_id, client_id, platform, delivery_id, event_type, workflow_id, headers, body,
	status, messages, failed, error, received_at, processed_at`

// RecordWebhookEvent stores a received webhook once per integration and delivery id. A repeat
// stores nothing and returns the first row with created false.
func (s *Store) RecordWebhookEvent(ctx context.Context, r WebhookEventRow) (row WebhookEventRow, created bool, err error) {
	err = s.db.GetContext(ctx, &row, `INSERT INTO webhook_events (id, integration_id, client_id, platform, delivery_id,
		event_type, workflow_id, headers, body, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (integration_id, delivery_id) DO NOTHING RETURNING `+webhookEventColumns,
		r.ID, r.IntegrationID, r.ClientID, r.Platform, r.DeliveryID, r.EventType, r.WorkflowID, r.Headers, r.Body, r.ReceivedAt)
	if err == nil {
		return row, true, nil
	}
	if err != sql.ErrNoRows {
		return row, false, translate(err, "recording webhook event")
	}
	err = s.db.GetContext(ctx, &row, `SELECT `+webhookEventColumns+` FROM webhook_events
		WHERE integration_id = $1 AND delivery_id = $2`, r.IntegrationID, r.DeliveryID)
	return row, false, translate(err, "reading webhook event")
}

// GetWebhookEvent reads one received webhook.
func (s *Store) GetWebhookEvent(ctx context.Context, id string) (WebhookEventRow, error) {
	var out WebhookEventRow
	err := s.db.GetContext(ctx, &out, `SELECT `+webhookEventColumns+` FROM webhook_events WHERE id = $1`, id)
	return out, translate(err, "reading webhook event")
}

// WebhookEventFilter selects received webhooks. Empty fields select everything.
type WebhookEventFilter struct {
	ClientID      string
	IntegrationID string
	Since, Until  time.Time
}

// ListWebhookEvents pages through received webhooks, oldest first. A cursor must name a
// webhook of the filter's client and integration; the time window narrows the rows, not the
// cursor.
func (s *Store) ListWebhookEvents(ctx context.Context, f WebhookEventFilter, page Page) ([]WebhookEventRow, error) {
	const what = "listing webhook events"
	out := []WebhookEventRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+webhookEventColumns+` FROM webhook_events
		WHERE ($1 = '' OR client_id = $1) AND ($2 = '' OR integration_id = $2)
		AND ($3::timestamptz IS NULL OR received_at >= $3) AND ($4::timestamptz IS NULL OR received_at < $4)
		AND ($7 = '' OR (received_at, id) > (SELECT received_at, id FROM webhook_events
			WHERE id = $7 AND ($1 = '' OR client_id = $1) AND ($2 = '' OR integration_id = $2)))
		ORDER BY received_at, id LIMIT $5 OFFSET $6`,
		f.ClientID, f.IntegrationID, nullTime(f.Since), nullTime(f.Until), page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM webhook_events
		WHERE id = $1 AND ($2 = '' OR client_id = $2) AND ($3 = '' OR integration_id = $3))`,
		page.After, f.ClientID, f.IntegrationID)
}

// FinishWebhookEvent records how processing a received webhook ended.
func (s *Store) FinishWebhookEvent(ctx context.Context, id, status string, messages, failed int, errText string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE webhook_events SET status = $2, messages = $3, failed = $4, error = $5,
		processed_at = now() WHERE id = $1`, id, status, messages, failed, errText)
	if err != nil {
		return translate(err, "finishing webhook event")
	}
	return affectedOne(res, "finishing webhook event")
}

// EventRow is one event the hub emits to subscriptions. Its id is the webhook-id subscribers
// see on every attempt.
type EventRow struct {
	ID             string          `db:"id"`
	ClientID       string          `db:"client_id"`
	Type           string          `db:"type"`
	IntegrationID  string          `db:"integration_id"`
	WebhookEventID sql.NullString  `db:"webhook_event_id"`
	OrderingKey    string          `db:"ordering_key"`
	Payload        json.RawMessage `db:"payload"`
	CreatedAt      time.Time       `db:"created_at"`
}

const eventColumns = `id, client_id, type, integration_id, webhook_event_id, ordering_key, payload, created_at`

// InsertEvents stores events; an event whose id exists is left as it is, so a retried
// activity emits nothing twice.
func (s *Store) InsertEvents(ctx context.Context, events []EventRow) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, e := range events {
			if _, err := tx.ExecContext(ctx, `INSERT INTO events (id, client_id, type, integration_id, webhook_event_id,
				ordering_key, payload) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
				e.ID, e.ClientID, e.Type, e.IntegrationID, e.WebhookEventID, e.OrderingKey, jsonOrEmpty(e.Payload)); err != nil {
				return translate(err, "recording event")
			}
		}
		return nil
	})
}

// GetEvent reads one emitted event.
func (s *Store) GetEvent(ctx context.Context, id string) (EventRow, error) {
	var out EventRow
	err := s.db.GetContext(ctx, &out, `SELECT `+eventColumns+` FROM events WHERE id = $1`, id)
	return out, translate(err, "reading event")
}

// EventsOfWebhook lists the events a received webhook produced, in order.
func (s *Store) EventsOfWebhook(ctx context.Context, webhookEventID string) ([]EventRow, error) {
	out := []EventRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+eventColumns+` FROM events WHERE webhook_event_id = $1
		ORDER BY created_at, id`, webhookEventID)
	return out, translate(err, "listing events")
}

// SubscriptionRow is an endpoint that receives the hub's events, signed with its secret.
type SubscriptionRow struct {
	ID                  string         `db:"id"`
	ClientID            string         `db:"client_id"`
	URL                 string         `db:"url"`
	EventTypes          pq.StringArray `db:"event_types"`
	Description         string         `db:"description"`
	Secret              string         `db:"secret"`
	IsActive            bool           `db:"is_active"`
	DisabledReason      string         `db:"disabled_reason"`
	ConsecutiveFailures int            `db:"consecutive_failures"`
	CreatedAt           time.Time      `db:"created_at"`
	UpdatedAt           time.Time      `db:"updated_at"`
}

// Wants reports whether the subscription receives events of type eventType: a listed type, "*",
// or a prefix ending in ".*" ("integration.message.*").
func (r SubscriptionRow) Wants(eventType string) bool {
	for _, t := range r.EventTypes {
		if t == "*" || t == eventType || (strings.HasSuffix(t, ".*") && strings.HasPrefix(eventType, strings.TrimSuffix(t, "*"))) {
			return true
		}
	}
	return false
}

const subscriptionColumns = `id, client_id, url, event_types, description, secret, is_active, disabled_reason,
	consecutive_failures, created_at, updated_at`

// CreateSubscription inserts a subscription.
func (s *Store) CreateSubscription(ctx context.Context, r SubscriptionRow) (SubscriptionRow, error) {
	var out SubscriptionRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO subscriptions (id, client_id, url, event_types, description, secret, is_active)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+subscriptionColumns,
		r.ID, r.ClientID, r.URL, nonNil(r.EventTypes), r.Description, r.Secret, r.IsActive)
	return out, translate(err, "creating subscription")
}

// GetSubscription reads one subscription.
func (s *Store) GetSubscription(ctx context.Context, id string) (SubscriptionRow, error) {
	var out SubscriptionRow
	err := s.db.GetContext(ctx, &out, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = $1`, id)
	return out, translate(err, "reading subscription")
}

// ListSubscriptions pages through a client's subscriptions ("" lists everyone's), newest first.
func (s *Store) ListSubscriptions(ctx context.Context, clientID string, page Page) ([]SubscriptionRow, error) {
	const what = "listing subscriptions"
	out := []SubscriptionRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE ($1 = '' OR client_id = $1)
		AND ($4 = '' OR (created_at, id) < (SELECT created_at, id FROM subscriptions
			WHERE id = $4 AND ($1 = '' OR client_id = $1)))
		ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, clientID, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM subscriptions
		WHERE id = $1 AND ($2 = '' OR client_id = $2))`, page.After, clientID)
}

// ActiveSubscriptions lists a client's active subscriptions that want eventType.
func (s *Store) ActiveSubscriptions(ctx context.Context, clientID, eventType string) ([]SubscriptionRow, error) {
	var rows []SubscriptionRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE client_id = $1 AND is_active ORDER BY id`, clientID); err != nil {
		return nil, translate(err, "listing subscriptions")
	}
	out := rows[:0]
	for _, r := range rows {
		if r.Wants(eventType) {
			out = append(out, r)
		}
	}
	return out, nil
}

// UpdateSubscription reads the subscription under a row lock, lets change edit it, and writes
// it back. Re-enabling one clears its failure count.
func (s *Store) UpdateSubscription(ctx context.Context, id string, change func(*SubscriptionRow) error) (SubscriptionRow, error) {
	var out SubscriptionRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row SubscriptionRow
		if err := tx.GetContext(ctx, &row, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = $1 FOR UPDATE`,
			id); err != nil {
			return err
		}
		wasActive := row.IsActive
		if err := change(&row); err != nil {
			return err
		}
		if row.IsActive && !wasActive {
			row.ConsecutiveFailures, row.DisabledReason = 0, ""
		}
		return tx.GetContext(ctx, &out, `UPDATE subscriptions SET url = $2, event_types = $3, description = $4, secret = $5,
			is_active = $6, disabled_reason = $7, consecutive_failures = $8, updated_at = now()
			WHERE id = $1 RETURNING `+subscriptionColumns,
			id, row.URL, nonNil(row.EventTypes), row.Description, row.Secret, row.IsActive, row.DisabledReason,
			row.ConsecutiveFailures)
	})
	return out, translate(err, "updating subscription")
}

// DeleteSubscription removes a subscription and its delivery records.
func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM subscriptions WHERE id = $1`, id)
	if err != nil {
		return translate(err, "deleting subscription")
	}
	return affectedOne(res, "deleting subscription")
}

// DeliveryRow is one event's delivery to one subscription.
type DeliveryRow struct {
	EventID        string        `db:"event_id"`
	SubscriptionID string        `db:"subscription_id"`
	WorkflowID     string        `db:"workflow_id"`
	Status         string        `db:"status"`
	Attempts       int           `db:"attempts"`
	LastStatus     sql.NullInt32 `db:"last_status"`
	LastError      string        `db:"last_error"`
	CreatedAt      time.Time     `db:"created_at"`
	UpdatedAt      time.Time     `db:"updated_at"`
	DeliveredAt    sql.NullTime  `db:"delivered_at"`
}

const deliveryColumns = `event_id, subscription_id, workflow_id, status, attempts, last_status, last_error, created_at,
	updated_at, delivered_at`

// StartDelivery records that workflowID delivers the event to the subscription. A delivery
// recorded before under another workflow (a replay) goes back to pending under the new one; the
// same workflow recording again changes nothing.
func (s *Store) StartDelivery(ctx context.Context, eventID, subscriptionID, workflowID string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO deliveries (event_id, subscription_id, workflow_id) VALUES ($1, $2, $3)
		ON CONFLICT (event_id, subscription_id) DO UPDATE SET workflow_id = EXCLUDED.workflow_id, status = 'pending',
		delivered_at = NULL, updated_at = now() WHERE deliveries.workflow_id <> EXCLUDED.workflow_id`,
		eventID, subscriptionID, workflowID)
	return translate(err, "recording delivery")
}

// DeliveryAttemptRow is one HTTP attempt of a delivery.
type DeliveryAttemptRow struct {
	ID             int64         `db:"id"`
	EventID        string        `db:"event_id"`
	SubscriptionID string        `db:"subscription_id"`
	WorkflowID     string        `db:"workflow_id"`
	Attempt        int           `db:"attempt"`
	StatusCode     sql.NullInt32 `db:"status_code"`
	LatencyMS      float64       `db:"latency_ms"`
	Error          string        `db:"error"`
	CreatedAt      time.Time     `db:"created_at"`
}

// RecordDeliveryAttempt stores an attempt and brings its delivery's attempt count, last status
// and error up to date; a 2xx attempt marks the delivery delivered.
func (s *Store) RecordDeliveryAttempt(ctx context.Context, a DeliveryAttemptRow, delivered bool) error {
	return translate(s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_attempts (event_id, subscription_id, workflow_id, attempt,
			status_code, latency_ms, error) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			a.EventID, a.SubscriptionID, a.WorkflowID, a.Attempt, a.StatusCode, a.LatencyMS, a.Error); err != nil {
			return err
		}
		status := transaction.DeliveryPending
		if delivered {
			status = transaction.DeliveryDelivered
		}
		_, err := tx.ExecContext(ctx, `UPDATE deliveries SET attempts = attempts + 1, last_status = $3, last_error = $4,
			status = $5, delivered_at = CASE WHEN $5 = 'delivered' THEN now() ELSE delivered_at END, updated_at = now()
			WHERE event_id = $1 AND subscription_id = $2`,
			a.EventID, a.SubscriptionID, a.StatusCode, a.Error, status)
		return err
	}), "recording delivery attempt")
}

// FinishDelivery records a delivery's final outcome and keeps the subscription's run of
// failures: a delivered event clears it; a failed one adds to it when countFailure (not when the
// subscription was already disabled or the event is gone), once however often it is recorded,
// and disableAfter failures in a row (0: never) disable the subscription. It reports whether this
// call disabled it.
func (s *Store) FinishDelivery(ctx context.Context, eventID, subscriptionID, status string, countFailure bool,
	disableAfter int) (disabled bool, err error) {
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = $3, updated_at = now()
			WHERE event_id = $1 AND subscription_id = $2 AND status <> $3`, eventID, subscriptionID, status)
		if err != nil {
			return err
		}
		if status == transaction.DeliveryDelivered {
			_, err := tx.ExecContext(ctx, `UPDATE subscriptions SET consecutive_failures = 0 WHERE id = $1
				AND consecutive_failures <> 0`, subscriptionID)
			return err
		}
		if changed, _ := res.RowsAffected(); changed == 0 || !countFailure {
			return nil // recorded before (a retried write), or not the subscriber's failure
		}
		reason := fmt.Sprintf("disabled after %d failed deliveries in a row", disableAfter)
		return tx.GetContext(ctx, &disabled, `UPDATE subscriptions SET consecutive_failures = consecutive_failures + 1,
			is_active = CASE WHEN $2 > 0 AND consecutive_failures + 1 >= $2 THEN false ELSE is_active END,
			disabled_reason = CASE WHEN $2 > 0 AND consecutive_failures + 1 >= $2 AND is_active THEN $3 ELSE disabled_reason END,
			updated_at = now()
			WHERE id = $1 RETURNING ($2 > 0 AND consecutive_failures = $2)`, subscriptionID, disableAfter, reason)
	})
	if err == sql.ErrNoRows {
		err = nil // the subscription was deleted meanwhile
	}
	return disabled, translate(err, "finishing delivery")
}

// DeliveriesOf lists the deliveries of the given events, with their subscriptions' order.
func (s *Store) DeliveriesOf(ctx context.Context, eventIDs []string) ([]DeliveryRow, error) {
	out := []DeliveryRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+deliveryColumns+` FROM deliveries WHERE event_id = ANY($1)
		ORDER BY event_id, subscription_id`, pq.StringArray(eventIDs))
	return out, translate(err, "listing deliveries")
}

// DeliveryAttempts lists the attempts of one delivery, oldest first.
func (s *Store) DeliveryAttempts(ctx context.Context, eventID, subscriptionID string) ([]DeliveryAttemptRow, error) {
	out := []DeliveryAttemptRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT id, event_id, subscription_id, workflow_id, attempt, status_code,
		latency_ms, error, created_at FROM delivery_attempts WHERE event_id = $1 AND subscription_id = $2 ORDER BY id`,
		eventID, subscriptionID)
	return out, translate(err, "listing delivery attempts")
}

// affectedOne turns "no row changed" into ErrNotFound.
func affectedOne(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return translate(err, what)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// GetDelivery reads one delivery.
func (s *Store) GetDelivery(ctx context.Context, eventID, subscriptionID string) (DeliveryRow, error) {
	var out DeliveryRow
	err := s.db.GetContext(ctx, &out, `SELECT `+deliveryColumns+` FROM deliveries WHERE event_id = $1 AND subscription_id = $2`,
		eventID, subscriptionID)
	return out, translate(err, "reading delivery")
}
