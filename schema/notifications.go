package schema

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/switchyard-hub/switchyard/transaction"
)

// ErrInvalidNotification means a record handed to the notification store is malformed: a
// missing or oversized key, text or document, an unknown recipient policy, a rule without
// channels. The caller's mistake (a 400), never retried.
var ErrInvalidNotification = errors.New("invalid notification record")

// Sizes the notification store accepts.
const (
	// MaxNotificationKeyBytes caps codes, ids, user ids, languages, roles and idempotency keys.
	MaxNotificationKeyBytes = 256
	// MaxNotificationTextBytes caps names, descriptions, subjects, titles and addresses.
	MaxNotificationTextBytes = 4 << 10
	// MaxTemplateBodyBytes caps a template's body.
	MaxTemplateBodyBytes = 64 << 10
	// MaxMessageBodyBytes caps a rendered message's body (outbox and inbox).
	MaxMessageBodyBytes = 256 << 10
	// MaxNotificationDocBytes caps JSON documents: an emit's payload, a payload schema, a
	// rule's recipient config, a recipient's channel preferences.
	MaxNotificationDocBytes = 256 << 10
	// MaxRecipientRoles caps a recipient's roles.
	MaxRecipientRoles = 64
)

// Recipient policies of event rules (event_rule.recipient_policy).
const (
	// PolicyExplicit sends to recipient_config.users ([{"actor_type", "user_id"}]).
	PolicyExplicit = "explicit"
	// PolicyRole sends to the active recipients holding recipient_config.role.
	PolicyRole = "role"
	// PolicyPayloadUser sends to the user named by the payload's recipient_config.field
	// (default user_id).
	PolicyPayloadUser = "payload_user"
	// PolicyOnCall sends to the active recipients on call.
	PolicyOnCall = "on_call"
)

// Lookup table names, the keys of Lookups.
const (
	LookupModule    = "module"
	LookupChannel   = "channel"
	LookupStatus    = "status"
	LookupPriority  = "priority"
	LookupActorType = "actor_type"
)

// lookupTables maps each lookup's name onto its table.
var lookupTables = map[string]string{LookupModule: "lk_module", LookupChannel: "lk_channel",
	LookupStatus: "lk_status", LookupPriority: "lk_priority", LookupActorType: "lk_actor_type"}

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
	// IsDemo marks a row the demo seed wrote (reset deletes these only).
	IsDemo    bool      `db:"is_demo"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// EventFilter selects events: by module, by active ("" any).
type EventFilter struct {
	Module string
	Active *bool
}

// TemplateRow is a message template for an event, channel and language.
type TemplateRow struct {
	ID        string `db:"id"`
	EventCode string `db:"event_code"`
	Channel   string `db:"channel"`
	Language  string `db:"language"`
	Subject   string `db:"subject"`
	Body      string `db:"body"`
	Active    bool   `db:"active"`
	// IsDemo marks a row the demo seed wrote (reset deletes these only).
	IsDemo    bool      `db:"is_demo"`
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
	// IsDemo marks a row the demo seed wrote (reset deletes these only).
	IsDemo    bool      `db:"is_demo"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
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
	// IsDemo marks a row the demo seed wrote (reset deletes these only).
	IsDemo    bool      `db:"is_demo"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
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

const (
	catalogColumns  = `code, module, name, description, active, payload_schema, is_demo, created_at, updated_at`
	templateColumns = `id, event_code, channel, language, subject, body, active, is_demo, created_at, updated_at`
	nuserColumns    = `actor_type, user_id, name, email, phone, push_token, roles, on_call, active, is_demo,
	created_at, updated_at`
	preferenceColumns = `actor_type, user_id, channels, language, quiet_hours_start, quiet_hours_end, time_zone,
	updated_at`
	ruleColumns = `id, event_code, name, recipient_policy, recipient_config, priority, max_attempts, critical,
	active, is_demo, created_at, updated_at`
	// ruleSelect reads rules with their channels, one query for any number of rules.
	ruleSelect = `SELECT r.id, r.event_code, r.name, r.recipient_policy, r.recipient_config, r.priority,
	r.max_attempts, r.critical, r.active, r.is_demo, r.created_at, r.updated_at,
	COALESCE((SELECT array_agg(c.channel ORDER BY c.channel) FROM event_rule_channel c WHERE c.rule_id = r.id),
		'{}') AS channels
	FROM event_rule r`
	nEventColumns = `id, client_id, event_code, payload, idempotency_key, workflow_id, disposition, reason,
	messages, created_at, updated_at`
	outboxColumns = `id, notification_id, client_id, event_code, rule_id, idempotency_key, actor_type, user_id,
	channel, recipient_address, language, subject, body, priority, status, attempt_count, max_attempts,
	next_attempt_at, final, critical, escalation_required, provider, provider_message_id, error, workflow_id,
	created_at, updated_at, sent_at`
	deliveryLogColumns = `id, outbox_id, attempt, provider, provider_message_id, status, error, latency_ms,
	created_at`
	inAppColumns = `id, outbox_id, client_id, actor_type, user_id, title, body, read_at, created_at`
)

// ruleScan is a rule as ruleSelect reads it.
type ruleScan struct {
	RuleRow
	ChannelList pq.StringArray `db:"channels"`
}

func (r ruleScan) row() RuleRow {
	out := r.RuleRow
	out.Channels = []string(r.ChannelList)
	if out.Channels == nil {
		out.Channels = []string{}
	}
	return out
}

// The page keys of the notification listings.

// PageKey is the event's code.
func (r EventCatalogRow) PageKey() string { return r.Code }

// PageKey is the rule id.
func (r RuleRow) PageKey() string { return r.ID }

// PageKey is the template id.
func (r TemplateRow) PageKey() string { return r.ID }

// PageKey is the message id.
func (r OutboxRow) PageKey() string { return r.ID }

// PageKey is the attempt's log id.
func (r DeliveryLogRow) PageKey() string { return strconv.FormatInt(r.ID, 10) }

// PageKey is the inbox message id.
func (r InAppMessageRow) PageKey() string { return r.ID }

// --- lookups and configuration ----------------------------------------------------------------

// NotificationLookups reads every lookup table.
func (s *Store) NotificationLookups(ctx context.Context) (Lookups, error) {
	out := Lookups{}
	for name, table := range lookupTables {
		rank := "NULL::integer"
		order := "code"
		if name == LookupPriority {
			rank, order = "rank", "rank, code"
		}
		rows := []LookupRow{}
		if err := s.db.SelectContext(ctx, &rows, `SELECT code, name, `+rank+` AS rank FROM `+table+
			` ORDER BY `+order); err != nil {
			return nil, translate(err, "reading "+table)
		}
		out[name] = rows
	}
	return out, nil
}

// PutLookups writes lookup rows (by table name, as NotificationLookups answers them) that do not
// exist yet; existing codes are left as they are. It answers how many rows it added.
func (s *Store) PutLookups(ctx context.Context, l Lookups) (int, error) {
	const what = "writing notification lookups"
	for name, rows := range l {
		if _, ok := lookupTables[name]; !ok {
			return 0, fmt.Errorf("%s: unknown lookup %q: %w", what, name, ErrInvalidNotification)
		}
		for _, r := range rows {
			if err := checkKey("code", r.Code); err != nil {
				return 0, fmt.Errorf("%s: %s: %w", what, name, err)
			}
			if err := checkText("name", r.Name, MaxNotificationTextBytes); err != nil {
				return 0, fmt.Errorf("%s: %s: %w", what, name, err)
			}
			if name == LookupPriority && r.Rank == nil {
				return 0, fmt.Errorf("%s: priority %s needs a rank: %w", what, r.Code, ErrInvalidNotification)
			}
		}
	}
	added := 0
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for name, rows := range l {
			table := lookupTables[name]
			for _, r := range rows {
				var res sql.Result
				var err error
				if name == LookupPriority {
					res, err = tx.ExecContext(ctx, `INSERT INTO lk_priority (code, name, rank) VALUES ($1, $2, $3)
						ON CONFLICT (code) DO NOTHING`, r.Code, r.Name, *r.Rank)
				} else {
					res, err = tx.ExecContext(ctx, `INSERT INTO `+table+` (code, name) VALUES ($1, $2)
						ON CONFLICT (code) DO NOTHING`, r.Code, r.Name)
				}
				if err != nil {
					return translate(err, what)
				}
				n, _ := res.RowsAffected()
				added += int(n)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// ListCatalogEvents pages through the event catalog, by code.
func (s *Store) ListCatalogEvents(ctx context.Context, f EventFilter, page Page) ([]EventCatalogRow, error) {
	const what = "listing catalog events"
	out := []EventCatalogRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+catalogColumns+` FROM event_catalog
		WHERE ($1 = '' OR module = $1) AND ($2::boolean IS NULL OR active = $2)
		AND ($5 = '' OR code > (SELECT code FROM event_catalog WHERE code = $5))
		ORDER BY code LIMIT $3 OFFSET $4`, f.Module, f.Active, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM event_catalog
		WHERE code = $1)`, page.After)
}

// GetCatalogEvent reads one catalog event.
func (s *Store) GetCatalogEvent(ctx context.Context, code string) (EventCatalogRow, error) {
	var out EventCatalogRow
	err := s.db.GetContext(ctx, &out, `SELECT `+catalogColumns+` FROM event_catalog WHERE code = $1`, code)
	return out, translate(err, "reading catalog event")
}

// CreateCatalogEvent inserts a catalog event; ErrConflict on a taken code, ErrReference on an unknown
// module.
func (s *Store) CreateCatalogEvent(ctx context.Context, r EventCatalogRow) (EventCatalogRow, error) {
	const what = "creating catalog event"
	if err := checkCatalogEvent(&r); err != nil {
		return EventCatalogRow{}, fmt.Errorf("%s: %w", what, err)
	}
	var out EventCatalogRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO event_catalog (code, module, name, description, active,
		payload_schema, is_demo) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+catalogColumns,
		r.Code, r.Module, r.Name, r.Description, r.Active, []byte(r.PayloadSchema), r.IsDemo)
	return out, translate(err, what)
}

// UpdateCatalogEvent lets change edit a catalog event under a row lock. Its code and created
// time never change.
func (s *Store) UpdateCatalogEvent(ctx context.Context, code string, change func(*EventCatalogRow) error) (EventCatalogRow, error) {
	const what = "updating catalog event"
	var out EventCatalogRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row EventCatalogRow
		if err := tx.GetContext(ctx, &row, `SELECT `+catalogColumns+` FROM event_catalog WHERE code = $1 FOR UPDATE`,
			code); err != nil {
			return translate(err, "reading catalog event")
		}
		if err := change(&row); err != nil {
			return err
		}
		row.Code = code
		if err := checkCatalogEvent(&row); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		err := tx.GetContext(ctx, &out, `UPDATE event_catalog SET module = $2, name = $3, description = $4,
			active = $5, payload_schema = $6, is_demo = $7, updated_at = now() WHERE code = $1 RETURNING `+catalogColumns,
			code, row.Module, row.Name, row.Description, row.Active, []byte(row.PayloadSchema), row.IsDemo)
		return translate(err, what)
	})
	return out, err
}

// DeleteCatalogEvent removes a catalog event with its rules and templates.
func (s *Store) DeleteCatalogEvent(ctx context.Context, code string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM event_catalog WHERE code = $1`, code)
	if err != nil {
		return translate(err, "deleting catalog event")
	}
	return affectedOne(res, "deleting catalog event")
}

func checkCatalogEvent(r *EventCatalogRow) error {
	if err := checkKey("code", r.Code); err != nil {
		return err
	}
	if err := checkKey("module", r.Module); err != nil {
		return err
	}
	r.Name, r.Description = cleanText(r.Name), cleanText(r.Description)
	if r.Name == "" {
		r.Name = r.Code
	}
	if err := checkText("name", r.Name, MaxNotificationTextBytes); err != nil {
		return err
	}
	if err := checkText("description", r.Description, MaxNotificationTextBytes); err != nil {
		return err
	}
	doc, err := checkDoc("payload_schema", r.PayloadSchema, true)
	r.PayloadSchema = doc
	return err
}

// ListRules pages through event rules (with their channels), by event and id.
func (s *Store) ListRules(ctx context.Context, f RuleFilter, page Page) ([]RuleRow, error) {
	const what = "listing rules"
	var rows []ruleScan
	err := s.db.SelectContext(ctx, &rows, ruleSelect+`
		WHERE ($1 = '' OR r.event_code = $1) AND ($2::boolean IS NULL OR r.active = $2)
		AND ($5 = '' OR (r.event_code, r.id) > (SELECT event_code, id FROM event_rule WHERE id = $5))
		ORDER BY r.event_code, r.id LIMIT $3 OFFSET $4`, f.EventCode, f.Active, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	out := make([]RuleRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.row())
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM event_rule WHERE id = $1)`,
		page.After)
}

// ActiveRules lists an event's active rules with their channels.
func (s *Store) ActiveRules(ctx context.Context, eventCode string) ([]RuleRow, error) {
	var rows []ruleScan
	if err := s.db.SelectContext(ctx, &rows, ruleSelect+` WHERE r.event_code = $1 AND r.active ORDER BY r.id`,
		eventCode); err != nil {
		return nil, translate(err, "listing active rules")
	}
	out := make([]RuleRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.row())
	}
	return out, nil
}

// GetRule reads one rule with its channels.
func (s *Store) GetRule(ctx context.Context, id string) (RuleRow, error) {
	return getRule(ctx, s.db, id, "")
}

func getRule(ctx context.Context, q sqlx.QueryerContext, id, lock string) (RuleRow, error) {
	var r ruleScan
	if err := sqlx.GetContext(ctx, q, &r, ruleSelect+` WHERE r.id = $1`+lock, id); err != nil {
		return RuleRow{}, translate(err, "reading rule")
	}
	return r.row(), nil
}

// CreateRule inserts a rule and its channels in one transaction (the id made when empty; an
// empty priority is NORMAL, no max attempts 3). ErrConflict on a taken id, ErrReference on an
// unknown event, priority or channel.
func (s *Store) CreateRule(ctx context.Context, r RuleRow) (RuleRow, error) {
	const what = "creating rule"
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if err := checkRule(&r); err != nil {
		return RuleRow{}, fmt.Errorf("%s: %w", what, err)
	}
	var out RuleRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO event_rule (id, event_code, name, recipient_policy,
			recipient_config, priority, max_attempts, critical, active, is_demo)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, r.ID, r.EventCode, r.Name, r.RecipientPolicy,
			[]byte(r.RecipientConfig), r.Priority, r.MaxAttempts, r.Critical, r.Active, r.IsDemo); err != nil {
			return translate(err, what)
		}
		if err := putRuleChannels(ctx, tx, r.ID, r.Channels); err != nil {
			return err
		}
		var err error
		out, err = getRule(ctx, tx, r.ID, "")
		return err
	})
	return out, err
}

// UpdateRule lets change edit a rule (its channels replaced by change's) under a row lock. Its
// id and event never change.
func (s *Store) UpdateRule(ctx context.Context, id string, change func(*RuleRow) error) (RuleRow, error) {
	const what = "updating rule"
	var out RuleRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		row, err := getRule(ctx, tx, id, " FOR UPDATE OF r")
		if err != nil {
			return err
		}
		event := row.EventCode
		if err := change(&row); err != nil {
			return err
		}
		row.ID, row.EventCode = id, event
		if err := checkRule(&row); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE event_rule SET name = $2, recipient_policy = $3,
			recipient_config = $4, priority = $5, max_attempts = $6, critical = $7, active = $8, is_demo = $9,
			updated_at = now() WHERE id = $1`, id, row.Name, row.RecipientPolicy, []byte(row.RecipientConfig),
			row.Priority, row.MaxAttempts, row.Critical, row.Active, row.IsDemo); err != nil {
			return translate(err, what)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_rule_channel WHERE rule_id = $1`, id); err != nil {
			return translate(err, what)
		}
		if err := putRuleChannels(ctx, tx, id, row.Channels); err != nil {
			return err
		}
		out, err = getRule(ctx, tx, id, "")
		return err
	})
	return out, err
}

func putRuleChannels(ctx context.Context, tx *sqlx.Tx, id string, channels []string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO event_rule_channel (rule_id, channel)
		SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, id, pq.StringArray(channels))
	return translate(err, "writing rule channels")
}

// DeleteRule removes a rule and its channels.
func (s *Store) DeleteRule(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM event_rule WHERE id = $1`, id)
	if err != nil {
		return translate(err, "deleting rule")
	}
	return affectedOne(res, "deleting rule")
}

func checkRule(r *RuleRow) error {
	if err := checkKey("id", r.ID); err != nil {
		return err
	}
	if err := checkKey("event_code", r.EventCode); err != nil {
		return err
	}
	r.Name = cleanText(r.Name)
	if r.Name == "" {
		r.Name = r.EventCode
	}
	if err := checkText("name", r.Name, MaxNotificationTextBytes); err != nil {
		return err
	}
	switch r.RecipientPolicy {
	case PolicyExplicit, PolicyRole, PolicyPayloadUser, PolicyOnCall:
	default:
		return fmt.Errorf("recipient_policy %q is not explicit, role, payload_user or on_call: %w",
			capText(r.RecipientPolicy, 64), ErrInvalidNotification)
	}
	doc, err := checkDoc("recipient_config", r.RecipientConfig, true)
	if err != nil {
		return err
	}
	r.RecipientConfig = doc
	if r.Priority == "" {
		r.Priority = "NORMAL"
	}
	if err := checkKey("priority", r.Priority); err != nil {
		return err
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = 3
	}
	if r.MaxAttempts < 1 || r.MaxAttempts > 50 {
		return fmt.Errorf("max_attempts must be from 1 to 50: %w", ErrInvalidNotification)
	}
	seen := map[string]bool{}
	channels := make([]string, 0, len(r.Channels))
	for _, c := range r.Channels {
		if err := checkKey("channel", c); err != nil {
			return err
		}
		if !seen[c] {
			seen[c] = true
			channels = append(channels, c)
		}
	}
	if len(channels) == 0 {
		return fmt.Errorf("a rule needs at least one channel: %w", ErrInvalidNotification)
	}
	r.Channels = channels
	return nil
}

// ListTemplates pages through templates, by event, channel, language and id.
func (s *Store) ListTemplates(ctx context.Context, f TemplateFilter, page Page) ([]TemplateRow, error) {
	const what = "listing templates"
	out := []TemplateRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+templateColumns+` FROM template
		WHERE ($1 = '' OR event_code = $1) AND ($2 = '' OR channel = $2) AND ($3 = '' OR language = $3)
		AND ($4::boolean IS NULL OR active = $4)
		AND ($7 = '' OR (event_code, channel, language, id) >
			(SELECT event_code, channel, language, id FROM template WHERE id = $7))
		ORDER BY event_code, channel, language, id LIMIT $5 OFFSET $6`,
		f.EventCode, f.Channel, f.Language, f.Active, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM template WHERE id = $1)`,
		page.After)
}

// FindTemplate is the active template of an event and channel in language, else in "en";
// ErrNotFound when neither exists.
func (s *Store) FindTemplate(ctx context.Context, eventCode, channel, language string) (TemplateRow, error) {
	if language == "" {
		language = "en"
	}
	var out TemplateRow
	err := s.db.GetContext(ctx, &out, `SELECT `+templateColumns+` FROM template
		WHERE event_code = $1 AND channel = $2 AND active AND language IN ($3, 'en')
		ORDER BY language = $3 DESC LIMIT 1`, eventCode, channel, language)
	return out, translate(err, "finding template")
}

// GetTemplate reads one template.
func (s *Store) GetTemplate(ctx context.Context, id string) (TemplateRow, error) {
	var out TemplateRow
	err := s.db.GetContext(ctx, &out, `SELECT `+templateColumns+` FROM template WHERE id = $1`, id)
	return out, translate(err, "reading template")
}

// CreateTemplate inserts a template (the id made when empty; an empty language is "en");
// ErrConflict on a second one for the same event, channel and language, ErrReference on an
// unknown event or channel.
func (s *Store) CreateTemplate(ctx context.Context, r TemplateRow) (TemplateRow, error) {
	const what = "creating template"
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if err := checkTemplate(&r); err != nil {
		return TemplateRow{}, fmt.Errorf("%s: %w", what, err)
	}
	var out TemplateRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO template (id, event_code, channel, language, subject, body,
		active, is_demo) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+templateColumns,
		r.ID, r.EventCode, r.Channel, r.Language, r.Subject, r.Body, r.Active, r.IsDemo)
	return out, translate(err, what)
}

// UpdateTemplate lets change edit a template under a row lock. Its id and event never change.
func (s *Store) UpdateTemplate(ctx context.Context, id string, change func(*TemplateRow) error) (TemplateRow, error) {
	const what = "updating template"
	var out TemplateRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row TemplateRow
		if err := tx.GetContext(ctx, &row, `SELECT `+templateColumns+` FROM template WHERE id = $1 FOR UPDATE`,
			id); err != nil {
			return translate(err, "reading template")
		}
		event := row.EventCode
		if err := change(&row); err != nil {
			return err
		}
		row.ID, row.EventCode = id, event
		if err := checkTemplate(&row); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		err := tx.GetContext(ctx, &out, `UPDATE template SET channel = $2, language = $3, subject = $4, body = $5,
			active = $6, is_demo = $7, updated_at = now() WHERE id = $1 RETURNING `+templateColumns,
			id, row.Channel, row.Language, row.Subject, row.Body, row.Active, row.IsDemo)
		return translate(err, what)
	})
	return out, err
}

// DeleteTemplate removes a template.
func (s *Store) DeleteTemplate(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM template WHERE id = $1`, id)
	if err != nil {
		return translate(err, "deleting template")
	}
	return affectedOne(res, "deleting template")
}

func checkTemplate(r *TemplateRow) error {
	if r.Language == "" {
		r.Language = "en"
	}
	for _, k := range []struct{ name, v string }{{"id", r.ID}, {"event_code", r.EventCode},
		{"channel", r.Channel}, {"language", r.Language}} {
		if err := checkKey(k.name, k.v); err != nil {
			return err
		}
	}
	r.Subject, r.Body = cleanText(r.Subject), cleanText(r.Body)
	if err := checkText("subject", r.Subject, MaxNotificationTextBytes); err != nil {
		return err
	}
	if r.Body == "" {
		return fmt.Errorf("a template needs a body: %w", ErrInvalidNotification)
	}
	return checkText("body", r.Body, MaxTemplateBodyBytes)
}

// --- recipients -------------------------------------------------------------------------------

// GetNotificationUser reads one recipient.
func (s *Store) GetNotificationUser(ctx context.Context, actorType, userID string) (NotificationUserRow, error) {
	var out NotificationUserRow
	err := s.db.GetContext(ctx, &out, `SELECT `+nuserColumns+` FROM notification_user
		WHERE actor_type = $1 AND user_id = $2`, actorType, userID)
	return out, translate(err, "reading recipient")
}

// UsersWithRole lists the active recipients holding role.
func (s *Store) UsersWithRole(ctx context.Context, role string) ([]NotificationUserRow, error) {
	out := []NotificationUserRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+nuserColumns+` FROM notification_user
		WHERE active AND roles @> ARRAY[$1]::text[] ORDER BY actor_type, user_id`, role)
	if err != nil {
		return nil, translate(err, "listing recipients with role")
	}
	return out, nil
}

// ListNotificationUsers pages through the recipient directory by actor type and user id; a
// cursor is "<actor type>/<user id>" of a recipient.
func (s *Store) ListNotificationUsers(ctx context.Context, page Page) ([]NotificationUserRow, error) {
	const what = "listing recipients"
	actorType, userID := "", ""
	if page.After != "" {
		var ok bool
		if actorType, userID, ok = strings.Cut(page.After, "/"); !ok || actorType == "" || userID == "" {
			return nil, fmt.Errorf("%s: %w", what, ErrBadCursor)
		}
	}
	// The cursor must name a recipient (as every listing's must), checked first: the keyset
	// below compares values, so an unknown one would still find rows.
	if err := s.checkCursor(ctx, what, page, 0,
		`SELECT EXISTS (SELECT 1 FROM notification_user WHERE actor_type = $1 AND user_id = $2)`, actorType, userID); err != nil {
		return nil, err
	}
	out := []NotificationUserRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+nuserColumns+` FROM notification_user
		WHERE ($3 = '' OR (actor_type, user_id) > ($3, $4))
		ORDER BY actor_type, user_id LIMIT $1 OFFSET $2`, page.Limit, page.Offset, actorType, userID)
	return out, translate(err, what)
}

// OnCallUsers lists the active recipients on call.
func (s *Store) OnCallUsers(ctx context.Context) ([]NotificationUserRow, error) {
	out := []NotificationUserRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+nuserColumns+` FROM notification_user
		WHERE active AND on_call ORDER BY actor_type, user_id`)
	if err != nil {
		return nil, translate(err, "listing recipients on call")
	}
	return out, nil
}

// UpsertNotificationUser writes a recipient (created, or every field but its created time
// replaced); ErrReference on an unknown actor type.
func (s *Store) UpsertNotificationUser(ctx context.Context, r NotificationUserRow) (NotificationUserRow, error) {
	const what = "writing recipient"
	if err := checkKey("actor_type", r.ActorType); err != nil {
		return NotificationUserRow{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := checkKey("user_id", r.UserID); err != nil {
		return NotificationUserRow{}, fmt.Errorf("%s: %w", what, err)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"name", &r.Name}, {"email", &r.Email}, {"phone", &r.Phone}, {"push_token", &r.PushToken}} {
		*f.v = cleanText(*f.v)
		if err := checkText(f.name, *f.v, MaxNotificationTextBytes); err != nil {
			return NotificationUserRow{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	if len(r.Roles) > MaxRecipientRoles {
		return NotificationUserRow{}, fmt.Errorf("%s: at most %d roles: %w", what, MaxRecipientRoles, ErrInvalidNotification)
	}
	for _, role := range r.Roles {
		if err := checkKey("role", role); err != nil {
			return NotificationUserRow{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	if r.Roles == nil {
		r.Roles = pq.StringArray{}
	}
	var out NotificationUserRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO notification_user (actor_type, user_id, name, email, phone,
		push_token, roles, on_call, active, is_demo) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (actor_type, user_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
			phone = EXCLUDED.phone, push_token = EXCLUDED.push_token, roles = EXCLUDED.roles,
			on_call = EXCLUDED.on_call, active = EXCLUDED.active, is_demo = EXCLUDED.is_demo, updated_at = now()
		RETURNING `+nuserColumns, r.ActorType, r.UserID, r.Name, r.Email, r.Phone, r.PushToken, r.Roles, r.OnCall,
		r.Active, r.IsDemo)
	return out, translate(err, what)
}

// GetPreference reads a recipient's preferences; ErrNotFound when they have none.
func (s *Store) GetPreference(ctx context.Context, actorType, userID string) (PreferenceRow, error) {
	var out PreferenceRow
	err := s.db.GetContext(ctx, &out, `SELECT `+preferenceColumns+` FROM user_preference
		WHERE actor_type = $1 AND user_id = $2`, actorType, userID)
	return out, translate(err, "reading preferences")
}

// PutPreference writes a recipient's preferences. Channels must be a JSON object of booleans
// ({} for every channel on); quiet hours are both "HH:MM" or both empty; an empty language is
// "en" and an empty time zone UTC. ErrReference on an unknown actor type.
func (s *Store) PutPreference(ctx context.Context, r PreferenceRow) (PreferenceRow, error) {
	const what = "writing preferences"
	if err := checkPreference(&r); err != nil {
		return PreferenceRow{}, fmt.Errorf("%s: %w", what, err)
	}
	var out PreferenceRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO user_preference (actor_type, user_id, channels, language,
		quiet_hours_start, quiet_hours_end, time_zone) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (actor_type, user_id) DO UPDATE SET channels = EXCLUDED.channels, language = EXCLUDED.language,
			quiet_hours_start = EXCLUDED.quiet_hours_start, quiet_hours_end = EXCLUDED.quiet_hours_end,
			time_zone = EXCLUDED.time_zone, updated_at = now()
		RETURNING `+preferenceColumns, r.ActorType, r.UserID, []byte(r.Channels), r.Language, r.QuietHoursStart,
		r.QuietHoursEnd, r.TimeZone)
	return out, translate(err, what)
}

func checkPreference(r *PreferenceRow) error {
	if r.Language == "" {
		r.Language = "en"
	}
	if r.TimeZone == "" {
		r.TimeZone = "UTC"
	}
	for _, k := range []struct{ name, v string }{{"actor_type", r.ActorType}, {"user_id", r.UserID},
		{"language", r.Language}, {"time_zone", r.TimeZone}} {
		if err := checkKey(k.name, k.v); err != nil {
			return err
		}
	}
	if len(r.Channels) == 0 {
		r.Channels = json.RawMessage(`{}`)
	}
	var channels map[string]bool
	if len(r.Channels) > MaxNotificationDocBytes || json.Unmarshal(r.Channels, &channels) != nil || channels == nil {
		return fmt.Errorf("channels must be a JSON object of booleans: %w", ErrInvalidNotification)
	}
	for c := range channels {
		if err := checkKey("channel", c); err != nil {
			return err
		}
	}
	if (r.QuietHoursStart == "") != (r.QuietHoursEnd == "") {
		return fmt.Errorf("quiet hours need both a start and an end: %w", ErrInvalidNotification)
	}
	for _, h := range []string{r.QuietHoursStart, r.QuietHoursEnd} {
		if _, err := time.Parse("15:04", h); h != "" && (err != nil || len(h) != 5) {
			return fmt.Errorf("quiet hours are HH:MM: %w", ErrInvalidNotification)
		}
	}
	if _, err := time.LoadLocation(r.TimeZone); err != nil {
		return fmt.Errorf("time_zone %q is not a known zone: %w", r.TimeZone, ErrInvalidNotification)
	}
	return nil
}

// --- emits, outbox, deliveries, inbox -----------------------------------------------------------

// CreateNotificationEvent records an emit (the id made when empty, the workflow ID
// notification:<id> when empty, the disposition processing); when the client already emitted
// under the same idempotency key it answers that row and false.
func (s *Store) CreateNotificationEvent(ctx context.Context, r NotificationEventRow) (NotificationEventRow, bool, error) {
	const what = "recording notification event"
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if r.WorkflowID == "" {
		r.WorkflowID = transaction.WorkflowID(transaction.KindNotification, r.ID)
	}
	if r.Disposition == "" {
		r.Disposition = transaction.NotificationProcessing
	}
	for _, k := range []struct{ name, v string }{{"id", r.ID}, {"client_id", r.ClientID},
		{"event_code", r.EventCode}, {"workflow_id", r.WorkflowID}, {"disposition", r.Disposition}} {
		if err := checkKey(k.name, k.v); err != nil {
			return NotificationEventRow{}, false, fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := checkOptionalKey("idempotency_key", r.IdempotencyKey); err != nil {
		return NotificationEventRow{}, false, fmt.Errorf("%s: %w", what, err)
	}
	payload, err := checkDoc("payload", r.Payload, false)
	if err != nil {
		return NotificationEventRow{}, false, fmt.Errorf("%s: %w", what, err)
	}
	r.Reason = capText(cleanText(r.Reason), maxErrorBytes)
	var out NotificationEventRow
	err = s.db.GetContext(ctx, &out, `INSERT INTO notification_event (id, client_id, event_code, payload,
		idempotency_key, workflow_id, disposition, reason, messages) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT DO NOTHING RETURNING `+nEventColumns, r.ID, r.ClientID, r.EventCode, []byte(payload),
		r.IdempotencyKey, r.WorkflowID, r.Disposition, r.Reason, r.Messages)
	if err == nil {
		return out, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return NotificationEventRow{}, false, translate(err, what)
	}
	// A repeat: the same id (a retried activity) or the client's idempotency key.
	err = s.db.GetContext(ctx, &out, `SELECT `+nEventColumns+` FROM notification_event
		WHERE id = $1 OR (client_id = $2 AND idempotency_key = $3 AND $3 <> '')
		ORDER BY id = $1 DESC LIMIT 1`, r.ID, r.ClientID, r.IdempotencyKey)
	return out, false, translate(err, "reading notification event")
}

// GetNotificationEvent reads one emit.
func (s *Store) GetNotificationEvent(ctx context.Context, id string) (NotificationEventRow, error) {
	var out NotificationEventRow
	err := s.db.GetContext(ctx, &out, `SELECT `+nEventColumns+` FROM notification_event WHERE id = $1`, id)
	return out, translate(err, "reading notification event")
}

// FinishNotificationEvent records an emit's disposition, reason and message count.
func (s *Store) FinishNotificationEvent(ctx context.Context, id, disposition, reason string, messages int) error {
	const what = "finishing notification event"
	switch disposition {
	case transaction.NotificationProcessing, transaction.NotificationQueued, transaction.NotificationSuppressed,
		transaction.NotificationFailed:
	default:
		return fmt.Errorf("%s: unknown disposition %q: %w", what, capText(disposition, 64), ErrInvalidNotification)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE notification_event SET disposition = $2, reason = $3, messages = $4,
		updated_at = now() WHERE id = $1`, id, disposition, capText(cleanText(reason), maxErrorBytes), messages)
	if err != nil {
		return translate(err, what)
	}
	return affectedOne(res, what)
}

// InsertOutbox queues a message (the id made when empty, the workflow ID outbox:<id> when
// empty, the status QUEUED when empty); a message whose idempotency key exists answers that
// row and false (nothing new is made). ErrReference on an unknown emit or channel.
func (s *Store) InsertOutbox(ctx context.Context, r OutboxRow) (OutboxRow, bool, error) {
	const what = "queueing message"
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if r.WorkflowID == "" {
		r.WorkflowID = transaction.WorkflowID(transaction.KindOutbox, r.ID)
	}
	if r.Status == "" {
		r.Status = transaction.OutboxQueued
	}
	if r.Language == "" {
		r.Language = "en"
	}
	if r.Priority == "" {
		r.Priority = "NORMAL"
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = 3
	}
	if err := checkOutbox(&r); err != nil {
		return OutboxRow{}, false, fmt.Errorf("%s: %w", what, err)
	}
	var out OutboxRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO outbox (id, notification_id, client_id, event_code, rule_id,
		idempotency_key, actor_type, user_id, channel, recipient_address, language, subject, body, priority, status,
		max_attempts, next_attempt_at, final, critical, workflow_id, error, escalation_required)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
		ON CONFLICT DO NOTHING RETURNING `+outboxColumns, r.ID, r.NotificationID, r.ClientID, r.EventCode, r.RuleID,
		r.IdempotencyKey, r.ActorType, r.UserID, r.Channel, r.RecipientAddress, r.Language, r.Subject, r.Body,
		r.Priority, r.Status, r.MaxAttempts, r.NextAttemptAt, r.Final, r.Critical, r.WorkflowID, r.Error,
		r.EscalationRequired)
	if err == nil {
		return out, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return OutboxRow{}, false, translate(err, what)
	}
	err = s.db.GetContext(ctx, &out, `SELECT `+outboxColumns+` FROM outbox WHERE idempotency_key = $1 OR id = $2
		ORDER BY idempotency_key = $1 DESC LIMIT 1`, r.IdempotencyKey, r.ID)
	return out, false, translate(err, "reading message")
}

func checkOutbox(r *OutboxRow) error {
	for _, k := range []struct{ name, v string }{{"id", r.ID}, {"notification_id", r.NotificationID},
		{"client_id", r.ClientID}, {"event_code", r.EventCode}, {"idempotency_key", r.IdempotencyKey},
		{"actor_type", r.ActorType}, {"user_id", r.UserID}, {"channel", r.Channel}, {"language", r.Language},
		{"priority", r.Priority}, {"status", r.Status}, {"workflow_id", r.WorkflowID}} {
		if err := checkKey(k.name, k.v); err != nil {
			return err
		}
	}
	if err := checkOptionalKey("rule_id", r.RuleID); err != nil {
		return err
	}
	r.RecipientAddress, r.Subject, r.Body = cleanText(r.RecipientAddress), cleanText(r.Subject), cleanText(r.Body)
	r.Error = capText(cleanText(r.Error), maxErrorBytes)
	if err := checkText("recipient_address", r.RecipientAddress, MaxNotificationTextBytes); err != nil {
		return err
	}
	if err := checkText("subject", r.Subject, MaxNotificationTextBytes); err != nil {
		return err
	}
	if err := checkText("body", r.Body, MaxMessageBodyBytes); err != nil {
		return err
	}
	if r.MaxAttempts < 1 || r.MaxAttempts > 50 {
		return fmt.Errorf("max_attempts must be from 1 to 50: %w", ErrInvalidNotification)
	}
	return nil
}

// GetOutbox reads one message.
func (s *Store) GetOutbox(ctx context.Context, id string) (OutboxRow, error) {
	var out OutboxRow
	err := s.db.GetContext(ctx, &out, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id)
	return out, translate(err, "reading message")
}

// ListOutbox pages through messages, newest first. A cursor must name a message of the
// client's (any message's when the filter names no client).
func (s *Store) ListOutbox(ctx context.Context, f OutboxFilter, page Page) ([]OutboxRow, error) {
	const what = "listing messages"
	out := []OutboxRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+outboxColumns+` FROM outbox
		WHERE ($1 = '' OR client_id = $1) AND ($2 = '' OR status = $2) AND ($3 = '' OR channel = $3)
		AND (NOT $4 OR (NOT final AND (next_attempt_at IS NULL OR next_attempt_at <= now())))
		AND ($7 = '' OR (created_at, id) < (SELECT created_at, id FROM outbox WHERE id = $7
			AND ($1 = '' OR client_id = $1)))
		ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6`,
		f.ClientID, f.Status, f.Channel, f.Due, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM outbox
		WHERE id = $1 AND ($2 = '' OR client_id = $2))`, page.After, f.ClientID)
}

// MessagesOfNotification lists an emit's messages, oldest first.
func (s *Store) MessagesOfNotification(ctx context.Context, notificationID string) ([]OutboxRow, error) {
	out := []OutboxRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+outboxColumns+` FROM outbox WHERE notification_id = $1
		ORDER BY created_at, id`, notificationID)
	if err != nil {
		return nil, translate(err, "listing messages of notification")
	}
	return out, nil
}

// SetOutboxWaiting records that a queued message waits until next (quiet hours). A message
// that is final is left as it is.
func (s *Store) SetOutboxWaiting(ctx context.Context, id string, next time.Time) error {
	const what = "recording message waiting"
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = $2, updated_at = now()
		WHERE id = $1 AND NOT final`, id, next)
	if err != nil {
		return translate(err, what)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	_, err = s.GetOutbox(ctx, id)
	return err
}

// RecordNotificationAttempt writes an attempt's delivery_log row and mirrors it on the outbox row
// (attempt_count, status, final, escalation_required, next_attempt_at, provider, provider
// message id, error, sent_at) in one transaction. An attempt already logged (same outbox and
// attempt number) changes nothing; the row is answered as it stands.
func (s *Store) RecordNotificationAttempt(ctx context.Context, a DeliveryAttempt) (OutboxRow, error) {
	const what = "recording delivery attempt"
	l := a.Log
	if err := checkKey("outbox_id", l.OutboxID); err != nil {
		return OutboxRow{}, fmt.Errorf("%s: %w", what, err)
	}
	if l.Attempt < 1 {
		return OutboxRow{}, fmt.Errorf("%s: attempts are numbered from 1: %w", what, ErrInvalidNotification)
	}
	switch l.Status {
	case transaction.OutboxSent, transaction.OutboxDelivered, transaction.OutboxFailed:
	default:
		return OutboxRow{}, fmt.Errorf("%s: an attempt is SENT, DELIVERED or FAILED, not %q: %w", what,
			capText(l.Status, 64), ErrInvalidNotification)
	}
	switch a.Status {
	case transaction.OutboxQueued, transaction.OutboxSent, transaction.OutboxDelivered, transaction.OutboxFailed,
		transaction.OutboxSuppressed:
	default:
		return OutboxRow{}, fmt.Errorf("%s: unknown message status %q: %w", what, capText(a.Status, 64),
			ErrInvalidNotification)
	}
	l.Provider = capText(cleanText(l.Provider), MaxNotificationKeyBytes)
	l.ProviderMessageID = capText(cleanText(l.ProviderMessageID), MaxNotificationTextBytes)
	l.Error = capText(cleanText(l.Error), maxErrorBytes)
	var out OutboxRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &out, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1 FOR UPDATE`,
			l.OutboxID); err != nil {
			return translate(err, "reading message")
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO delivery_log (outbox_id, attempt, provider, provider_message_id,
			status, error, latency_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (outbox_id, attempt) DO NOTHING`,
			l.OutboxID, l.Attempt, l.Provider, l.ProviderMessageID, l.Status, l.Error, l.LatencyMS)
		if err != nil {
			return translate(err, what)
		}
		if n, _ := res.RowsAffected(); n == 0 || l.Attempt < out.AttemptCount {
			// Logged already (a retried activity), or older than the attempt the row mirrors.
			return nil
		}
		if out.Status == transaction.OutboxSent || out.Status == transaction.OutboxDelivered {
			// A message that went out stays so: a late or concurrent attempt is logged, never
			// mirrored (it would reopen the message for another send).
			return nil
		}
		delivered := l.Status == transaction.OutboxSent || l.Status == transaction.OutboxDelivered
		return translate(tx.GetContext(ctx, &out, `UPDATE outbox SET attempt_count = $2, status = $3, final = $4,
			escalation_required = $5, next_attempt_at = $6, provider = CASE WHEN $7 = '' THEN provider ELSE $7 END,
			provider_message_id = CASE WHEN $8 = '' THEN provider_message_id ELSE $8 END, error = $9,
			sent_at = CASE WHEN $10 THEN COALESCE(sent_at, now()) ELSE sent_at END, updated_at = now()
			WHERE id = $1 RETURNING `+outboxColumns, l.OutboxID, l.Attempt, a.Status, a.Final, a.EscalationRequired,
			a.NextAttemptAt, l.Provider, l.ProviderMessageID, l.Error, delivered), what)
	})
	return out, err
}

// ListDeliveryLogs pages through a message's attempts, oldest first. A cursor must name an
// attempt of the message.
func (s *Store) ListDeliveryLogs(ctx context.Context, outboxID string, page Page) ([]DeliveryLogRow, error) {
	const what = "listing delivery logs"
	after, err := serialCursor(what, page)
	if err != nil {
		return nil, err
	}
	out := []DeliveryLogRow{}
	err = s.db.SelectContext(ctx, &out, `SELECT `+deliveryLogColumns+` FROM delivery_log WHERE outbox_id = $1
		AND ($4 = 0 OR id > (SELECT id FROM delivery_log WHERE id = $4 AND outbox_id = $1))
		ORDER BY id LIMIT $2 OFFSET $3`, outboxID, page.Limit, page.Offset, after)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM delivery_log
		WHERE id = $1 AND outbox_id = $2)`, after, outboxID)
}

// CreateInAppMessage puts a message in a recipient's inbox (the id made when empty), once per
// outbox message (a repeat answers the existing row). ErrReference on an unknown outbox message.
func (s *Store) CreateInAppMessage(ctx context.Context, r InAppMessageRow) (InAppMessageRow, error) {
	const what = "writing inbox message"
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	for _, k := range []struct{ name, v string }{{"id", r.ID}, {"outbox_id", r.OutboxID},
		{"client_id", r.ClientID}, {"actor_type", r.ActorType}, {"user_id", r.UserID}} {
		if err := checkKey(k.name, k.v); err != nil {
			return InAppMessageRow{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	r.Title, r.Body = cleanText(r.Title), cleanText(r.Body)
	if err := checkText("title", r.Title, MaxNotificationTextBytes); err != nil {
		return InAppMessageRow{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := checkText("body", r.Body, MaxMessageBodyBytes); err != nil {
		return InAppMessageRow{}, fmt.Errorf("%s: %w", what, err)
	}
	var out InAppMessageRow
	err := s.db.GetContext(ctx, &out, `INSERT INTO in_app_message (id, outbox_id, client_id, actor_type, user_id,
		title, body) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING `+inAppColumns,
		r.ID, r.OutboxID, r.ClientID, r.ActorType, r.UserID, r.Title, r.Body)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.db.GetContext(ctx, &out, `SELECT `+inAppColumns+` FROM in_app_message WHERE outbox_id = $1 OR id = $2
			ORDER BY outbox_id = $1 DESC LIMIT 1`, r.OutboxID, r.ID)
	}
	return out, translate(err, what)
}

// ListInbox pages through a client's recipient's inbox, newest first (unread only when asked).
// A cursor must name a message of that inbox.
func (s *Store) ListInbox(ctx context.Context, clientID, userID string, unreadOnly bool, page Page) ([]InAppMessageRow, error) {
	const what = "listing inbox"
	out := []InAppMessageRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+inAppColumns+` FROM in_app_message
		WHERE client_id = $1 AND user_id = $2 AND (NOT $3 OR read_at IS NULL)
		AND ($6 = '' OR (created_at, id) < (SELECT created_at, id FROM in_app_message WHERE id = $6
			AND client_id = $1 AND user_id = $2))
		ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5`, clientID, userID, unreadOnly, page.Limit, page.Offset,
		page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM in_app_message
		WHERE id = $1 AND client_id = $2 AND user_id = $3)`, page.After, clientID, userID)
}

// MarkInAppRead marks a client's inbox message read (once: the first read time stays).
// ErrNotFound when the client has no such message.
func (s *Store) MarkInAppRead(ctx context.Context, clientID, id string) (InAppMessageRow, error) {
	var out InAppMessageRow
	err := s.db.GetContext(ctx, &out, `UPDATE in_app_message SET read_at = COALESCE(read_at, now())
		WHERE id = $1 AND client_id = $2 RETURNING `+inAppColumns, id, clientID)
	return out, translate(err, "marking inbox message read")
}

// --- demo ---------------------------------------------------------------------------------------

// DeleteNotificationDemo removes the notification records the demo seed wrote: its catalog
// events (with their rules and templates), its rules and templates of other events, its
// recipients and their preferences. Emits, messages and lookups stay.
func (s *Store) DeleteNotificationDemo(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, q := range []string{
			`DELETE FROM event_rule WHERE is_demo`,
			`DELETE FROM template WHERE is_demo`,
			`DELETE FROM event_catalog WHERE is_demo`,
			`DELETE FROM user_preference p USING notification_user u
				WHERE u.is_demo AND p.actor_type = u.actor_type AND p.user_id = u.user_id`,
			`DELETE FROM notification_user WHERE is_demo`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return translate(err, "deleting notification demo records")
			}
		}
		return nil
	})
}

// --- checks -------------------------------------------------------------------------------------

// checkKey refuses an empty, oversized or unprintable key: keys are compared, never cleaned.
func checkKey(name, v string) error {
	if v == "" {
		return fmt.Errorf("%s is required: %w", name, ErrInvalidNotification)
	}
	return checkOptionalKey(name, v)
}

func checkOptionalKey(name, v string) error {
	if len(v) > MaxNotificationKeyBytes {
		return fmt.Errorf("%s is longer than %d bytes: %w", name, MaxNotificationKeyBytes, ErrInvalidNotification)
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return fmt.Errorf("%s holds invalid UTF-8 or a control character: %w", name, ErrInvalidNotification)
	}
	return nil
}

// checkText refuses text longer than max bytes (cleanText has made it storable).
func checkText(name, v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("%s is longer than %d bytes: %w", name, max, ErrInvalidNotification)
	}
	return nil
}

// checkDoc checks a JSON document's size and syntax ({} when empty; an object when object is
// set) and makes it storable as jsonb.
func checkDoc(name string, doc json.RawMessage, object bool) (json.RawMessage, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return json.RawMessage(`{}`), nil
	}
	if len(doc) > MaxNotificationDocBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", name, MaxNotificationDocBytes, ErrInvalidNotification)
	}
	if !json.Valid(doc) {
		return nil, fmt.Errorf("%s is not valid JSON: %w", name, ErrInvalidNotification)
	}
	if object {
		var probe map[string]json.RawMessage
		if json.Unmarshal(doc, &probe) != nil || probe == nil {
			return nil, fmt.Errorf("%s must be a JSON object: %w", name, ErrInvalidNotification)
		}
	}
	return storableJSON(doc), nil
}
