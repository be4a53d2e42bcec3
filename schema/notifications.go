package schema

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/lib/pq"
)

// errNotBuilt marks store methods of the notification family not written yet.
var errNotBuilt = errors.New("not built yet")

// LookupRow is one row of a notification lookup table (lk_module, lk_channel, lk_status,
// lk_priority with its rank, lk_actor_type).
type LookupRow struct {
	Code string `db:"code" json:"code"`
	Name string `db:"name" json:"name"`
	Rank *int   `db:"rank" json:"rank,omitempty"`
}

// Lookups are the notification lookup tables by name: module, channel, status, priority,
// actor_type.
type Lookups map[string][]LookupRow

// EventCatalogRow is an event the hub can be told of.
type EventCatalogRow struct {
	Code          string          `db:"code"`
	Module        string          `db:"module"`
	Name          string          `db:"name"`
	Description   string          `db:"description"`
	Active        bool            `db:"active"`
	PayloadSchema json.RawMessage `db:"payload_schema"`
	CreatedAt     time.Time       `db:"created_at"`
	UpdatedAt     time.Time       `db:"updated_at"`
}

// EventFilter selects events: by module, by active ("" any).
type EventFilter struct {
	Module string
	Active *bool
}

// TemplateRow is a message template for an event, channel and language.
type TemplateRow struct {
	ID        string    `db:"id"`
	EventCode string    `db:"event_code"`
	Channel   string    `db:"channel"`
	Language  string    `db:"language"`
	Subject   string    `db:"subject"`
	Body      string    `db:"body"`
	Active    bool      `db:"active"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// TemplateFilter selects templates.
type TemplateFilter struct {
	EventCode, Channel, Language string
	Active                       *bool
}

// NotificationUserRow is one person messages go to.
type NotificationUserRow struct {
	ActorType string         `db:"actor_type"`
	UserID    string         `db:"user_id"`
	Name      string         `db:"name"`
	Email     string         `db:"email"`
	Phone     string         `db:"phone"`
	PushToken string         `db:"push_token"`
	Roles     pq.StringArray `db:"roles"`
	OnCall    bool           `db:"on_call"`
	Active    bool           `db:"active"`
	CreatedAt time.Time      `db:"created_at"`
	UpdatedAt time.Time      `db:"updated_at"`
}

// PreferenceRow is a recipient's preferences: channels on or off (a channel not named is on),
// language, quiet hours ("HH:MM" to "HH:MM", "" for none) in a time zone.
type PreferenceRow struct {
	ActorType       string          `db:"actor_type"`
	UserID          string          `db:"user_id"`
	Channels        json.RawMessage `db:"channels"`
	Language        string          `db:"language"`
	QuietHoursStart string          `db:"quiet_hours_start"`
	QuietHoursEnd   string          `db:"quiet_hours_end"`
	TimeZone        string          `db:"time_zone"`
	UpdatedAt       time.Time       `db:"updated_at"`
}

// RuleRow is an event rule with its channels.
type RuleRow struct {
	ID              string          `db:"id"`
	EventCode       string          `db:"event_code"`
	Name            string          `db:"name"`
	RecipientPolicy string          `db:"recipient_policy"`
	RecipientConfig json.RawMessage `db:"recipient_config"`
	Priority        string          `db:"priority"`
	MaxAttempts     int             `db:"max_attempts"`
	Critical        bool            `db:"critical"`
	Active          bool            `db:"active"`
	CreatedAt       time.Time       `db:"created_at"`
	UpdatedAt       time.Time       `db:"updated_at"`
	// Channels are the rule's event_rule_channel rows.
	Channels []string `db:"-"`
}

// RuleFilter selects rules.
type RuleFilter struct {
	EventCode string
	Active    *bool
}

// NotificationEventRow is one emit.
type NotificationEventRow struct {
	ID             string          `db:"id"`
	ClientID       string          `db:"client_id"`
	EventCode      string          `db:"event_code"`
	Payload        json.RawMessage `db:"payload"`
	IdempotencyKey string          `db:"idempotency_key"`
	WorkflowID     string          `db:"workflow_id"`
	Disposition    string          `db:"disposition"`
	Reason         string          `db:"reason"`
	Messages       int             `db:"messages"`
	CreatedAt      time.Time       `db:"created_at"`
	UpdatedAt      time.Time       `db:"updated_at"`
}

// OutboxRow is one message to one recipient on one channel.
type OutboxRow struct {
	ID                 string     `db:"id"`
	NotificationID     string     `db:"notification_id"`
	ClientID           string     `db:"client_id"`
	EventCode          string     `db:"event_code"`
	RuleID             string     `db:"rule_id"`
	IdempotencyKey     string     `db:"idempotency_key"`
	ActorType          string     `db:"actor_type"`
	UserID             string     `db:"user_id"`
	Channel            string     `db:"channel"`
	RecipientAddress   string     `db:"recipient_address"`
	Language           string     `db:"language"`
	Subject            string     `db:"subject"`
	Body               string     `db:"body"`
	Priority           string     `db:"priority"`
	Status             string     `db:"status"`
	AttemptCount       int        `db:"attempt_count"`
	MaxAttempts        int        `db:"max_attempts"`
	NextAttemptAt      *time.Time `db:"next_attempt_at"`
	Final              bool       `db:"final"`
	Critical           bool       `db:"critical"`
	EscalationRequired bool       `db:"escalation_required"`
	Provider           string     `db:"provider"`
	ProviderMessageID  string     `db:"provider_message_id"`
	Error              string     `db:"error"`
	WorkflowID         string     `db:"workflow_id"`
	CreatedAt          time.Time  `db:"created_at"`
	UpdatedAt          time.Time  `db:"updated_at"`
	SentAt             *time.Time `db:"sent_at"`
}

// OutboxFilter selects outbox messages: a client's ("" every client's), by status and channel,
// Due for messages not final whose next attempt is due.
type OutboxFilter struct {
	ClientID, Status, Channel string
	Due                       bool
}

// DeliveryLogRow is one delivery attempt.
type DeliveryLogRow struct {
	ID                int64     `db:"id"`
	OutboxID          string    `db:"outbox_id"`
	Attempt           int       `db:"attempt"`
	Provider          string    `db:"provider"`
	ProviderMessageID string    `db:"provider_message_id"`
	Status            string    `db:"status"`
	Error             string    `db:"error"`
	LatencyMS         float64   `db:"latency_ms"`
	CreatedAt         time.Time `db:"created_at"`
}

// DeliveryAttempt is what one attempt changes: its log row and the outbox mirror.
type DeliveryAttempt struct {
	Log DeliveryLogRow
	// Status is the outbox's status after it (QUEUED while retries remain, SENT, DELIVERED,
	// FAILED).
	Status             string
	Final              bool
	EscalationRequired bool
	NextAttemptAt      *time.Time
}

// InAppMessageRow is one inbox message.
type InAppMessageRow struct {
	ID        string     `db:"id"`
	OutboxID  string     `db:"outbox_id"`
	ClientID  string     `db:"client_id"`
	ActorType string     `db:"actor_type"`
	UserID    string     `db:"user_id"`
	Title     string     `db:"title"`
	Body      string     `db:"body"`
	ReadAt    *time.Time `db:"read_at"`
	CreatedAt time.Time  `db:"created_at"`
}

// --- lookups and configuration ----------------------------------------------------------------

// NotificationLookups reads every lookup table.
func (s *Store) NotificationLookups(ctx context.Context) (Lookups, error) { return nil, errNotBuilt }

// ListCatalogEvents pages through the event catalog, by code.
func (s *Store) ListCatalogEvents(ctx context.Context, f EventFilter, page Page) ([]EventCatalogRow, error) {
	return nil, errNotBuilt
}

// GetCatalogEvent reads one catalog event.
func (s *Store) GetCatalogEvent(ctx context.Context, code string) (EventCatalogRow, error) {
	return EventCatalogRow{}, errNotBuilt
}

// CreateCatalogEvent inserts a catalog event; ErrConflict on a taken code, ErrReference on an unknown
// module.
func (s *Store) CreateCatalogEvent(ctx context.Context, r EventCatalogRow) (EventCatalogRow, error) {
	return EventCatalogRow{}, errNotBuilt
}

// UpdateCatalogEvent lets change edit a catalog event under a row lock.
func (s *Store) UpdateCatalogEvent(ctx context.Context, code string, change func(*EventCatalogRow) error) (EventCatalogRow, error) {
	return EventCatalogRow{}, errNotBuilt
}

// DeleteCatalogEvent removes a catalog event with its rules and templates.
func (s *Store) DeleteCatalogEvent(ctx context.Context, code string) error { return errNotBuilt }

// ListRules pages through event rules (with their channels).
func (s *Store) ListRules(ctx context.Context, f RuleFilter, page Page) ([]RuleRow, error) {
	return nil, errNotBuilt
}

// ActiveRules lists an event's active rules with their channels.
func (s *Store) ActiveRules(ctx context.Context, eventCode string) ([]RuleRow, error) {
	return nil, errNotBuilt
}

// GetRule reads one rule with its channels.
func (s *Store) GetRule(ctx context.Context, id string) (RuleRow, error) {
	return RuleRow{}, errNotBuilt
}

// CreateRule inserts a rule and its channels in one transaction (the id made when empty).
func (s *Store) CreateRule(ctx context.Context, r RuleRow) (RuleRow, error) {
	return RuleRow{}, errNotBuilt
}

// UpdateRule lets change edit a rule (its channels replaced by change's) under a row lock.
func (s *Store) UpdateRule(ctx context.Context, id string, change func(*RuleRow) error) (RuleRow, error) {
	return RuleRow{}, errNotBuilt
}

// DeleteRule removes a rule and its channels.
func (s *Store) DeleteRule(ctx context.Context, id string) error { return errNotBuilt }

// ListTemplates pages through templates.
func (s *Store) ListTemplates(ctx context.Context, f TemplateFilter, page Page) ([]TemplateRow, error) {
	return nil, errNotBuilt
}

// FindTemplate is the active template of an event and channel in language, else in "en";
// ErrNotFound when neither exists.
func (s *Store) FindTemplate(ctx context.Context, eventCode, channel, language string) (TemplateRow, error) {
	return TemplateRow{}, errNotBuilt
}

// GetTemplate reads one template.
func (s *Store) GetTemplate(ctx context.Context, id string) (TemplateRow, error) {
	return TemplateRow{}, errNotBuilt
}

// CreateTemplate inserts a template (the id made when empty); ErrConflict on a second one for
// the same event, channel and language.
func (s *Store) CreateTemplate(ctx context.Context, r TemplateRow) (TemplateRow, error) {
	return TemplateRow{}, errNotBuilt
}

// UpdateTemplate lets change edit a template under a row lock.
func (s *Store) UpdateTemplate(ctx context.Context, id string, change func(*TemplateRow) error) (TemplateRow, error) {
	return TemplateRow{}, errNotBuilt
}

// DeleteTemplate removes a template.
func (s *Store) DeleteTemplate(ctx context.Context, id string) error { return errNotBuilt }

// --- recipients -------------------------------------------------------------------------------

// GetNotificationUser reads one recipient.
func (s *Store) GetNotificationUser(ctx context.Context, actorType, userID string) (NotificationUserRow, error) {
	return NotificationUserRow{}, errNotBuilt
}

// UsersWithRole lists the active recipients holding role.
func (s *Store) UsersWithRole(ctx context.Context, role string) ([]NotificationUserRow, error) {
	return nil, errNotBuilt
}

// OnCallUsers lists the active recipients on call.
func (s *Store) OnCallUsers(ctx context.Context) ([]NotificationUserRow, error) {
	return nil, errNotBuilt
}

// UpsertNotificationUser writes a recipient.
func (s *Store) UpsertNotificationUser(ctx context.Context, r NotificationUserRow) (NotificationUserRow, error) {
	return NotificationUserRow{}, errNotBuilt
}

// GetPreference reads a recipient's preferences; ErrNotFound when they have none.
func (s *Store) GetPreference(ctx context.Context, actorType, userID string) (PreferenceRow, error) {
	return PreferenceRow{}, errNotBuilt
}

// PutPreference writes a recipient's preferences.
func (s *Store) PutPreference(ctx context.Context, r PreferenceRow) (PreferenceRow, error) {
	return PreferenceRow{}, errNotBuilt
}

// --- emits, outbox, deliveries, inbox -----------------------------------------------------------

// CreateNotificationEvent records an emit; when the client already emitted under the same
// idempotency key it answers that row and false.
func (s *Store) CreateNotificationEvent(ctx context.Context, r NotificationEventRow) (NotificationEventRow, bool, error) {
	return NotificationEventRow{}, false, errNotBuilt
}

// GetNotificationEvent reads one emit.
func (s *Store) GetNotificationEvent(ctx context.Context, id string) (NotificationEventRow, error) {
	return NotificationEventRow{}, errNotBuilt
}

// FinishNotificationEvent records an emit's disposition, reason and message count.
func (s *Store) FinishNotificationEvent(ctx context.Context, id, disposition, reason string, messages int) error {
	return errNotBuilt
}

// InsertOutbox queues a message; a message whose idempotency key exists answers that row and
// false (nothing new is made).
func (s *Store) InsertOutbox(ctx context.Context, r OutboxRow) (OutboxRow, bool, error) {
	return OutboxRow{}, false, errNotBuilt
}

// GetOutbox reads one message.
func (s *Store) GetOutbox(ctx context.Context, id string) (OutboxRow, error) {
	return OutboxRow{}, errNotBuilt
}

// ListOutbox pages through messages, newest first.
func (s *Store) ListOutbox(ctx context.Context, f OutboxFilter, page Page) ([]OutboxRow, error) {
	return nil, errNotBuilt
}

// MessagesOfNotification lists an emit's messages.
func (s *Store) MessagesOfNotification(ctx context.Context, notificationID string) ([]OutboxRow, error) {
	return nil, errNotBuilt
}

// SetOutboxWaiting records that a queued message waits until next (quiet hours).
func (s *Store) SetOutboxWaiting(ctx context.Context, id string, next time.Time) error {
	return errNotBuilt
}

// RecordNotificationAttempt writes an attempt's delivery_log row and mirrors it on the outbox row
// (attempt_count, status, final, escalation_required, next_attempt_at, provider, provider
// message id, error, sent_at) in one transaction. An attempt already logged (same outbox and
// attempt number) changes nothing.
func (s *Store) RecordNotificationAttempt(ctx context.Context, a DeliveryAttempt) (OutboxRow, error) {
	return OutboxRow{}, errNotBuilt
}

// ListDeliveryLogs pages through a message's attempts, oldest first.
func (s *Store) ListDeliveryLogs(ctx context.Context, outboxID string, page Page) ([]DeliveryLogRow, error) {
	return nil, errNotBuilt
}

// CreateInAppMessage puts a message in a recipient's inbox, once per outbox message (a repeat
// answers the existing row).
func (s *Store) CreateInAppMessage(ctx context.Context, r InAppMessageRow) (InAppMessageRow, error) {
	return InAppMessageRow{}, errNotBuilt
}

// ListInbox pages through a client's recipient's inbox, newest first (unread only when asked).
func (s *Store) ListInbox(ctx context.Context, clientID, userID string, unreadOnly bool, page Page) ([]InAppMessageRow, error) {
	return nil, errNotBuilt
}

// MarkInAppRead marks a client's inbox message read (once: the first read time stays).
func (s *Store) MarkInAppRead(ctx context.Context, clientID, id string) (InAppMessageRow, error) {
	return InAppMessageRow{}, errNotBuilt
}
