package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// PermissionNotifications lets a client emit notification events and read the notification
// module: its catalog, preferences, outbox, delivery logs and inboxes.
const PermissionNotifications = "notifications"

// NotificationBase is the root of the notification module's routes (seed 001's paths).
const NotificationBase = "/api/notification"

// NotificationStore is what the notification routes read and write.
type NotificationStore interface {
	NotificationLookups(ctx context.Context) (schema.Lookups, error)
	ListNotificationUsers(ctx context.Context, page schema.Page) ([]schema.NotificationUserRow, error)
	ListCatalogEvents(ctx context.Context, f schema.EventFilter, page schema.Page) ([]schema.EventCatalogRow, error)
	GetCatalogEvent(ctx context.Context, code string) (schema.EventCatalogRow, error)
	CreateCatalogEvent(ctx context.Context, r schema.EventCatalogRow) (schema.EventCatalogRow, error)
	UpdateCatalogEvent(ctx context.Context, code string, change func(*schema.EventCatalogRow) error) (schema.EventCatalogRow, error)
	DeleteCatalogEvent(ctx context.Context, code string) error
	ListRules(ctx context.Context, f schema.RuleFilter, page schema.Page) ([]schema.RuleRow, error)
	GetRule(ctx context.Context, id string) (schema.RuleRow, error)
	CreateRule(ctx context.Context, r schema.RuleRow) (schema.RuleRow, error)
	UpdateRule(ctx context.Context, id string, change func(*schema.RuleRow) error) (schema.RuleRow, error)
	DeleteRule(ctx context.Context, id string) error
	ListTemplates(ctx context.Context, f schema.TemplateFilter, page schema.Page) ([]schema.TemplateRow, error)
	GetTemplate(ctx context.Context, id string) (schema.TemplateRow, error)
	CreateTemplate(ctx context.Context, r schema.TemplateRow) (schema.TemplateRow, error)
	UpdateTemplate(ctx context.Context, id string, change func(*schema.TemplateRow) error) (schema.TemplateRow, error)
	DeleteTemplate(ctx context.Context, id string) error
	GetNotificationUser(ctx context.Context, actorType, userID string) (schema.NotificationUserRow, error)
	UpsertNotificationUser(ctx context.Context, r schema.NotificationUserRow) (schema.NotificationUserRow, error)
	GetPreference(ctx context.Context, actorType, userID string) (schema.PreferenceRow, error)
	PutPreference(ctx context.Context, r schema.PreferenceRow) (schema.PreferenceRow, error)
	CreateNotificationEvent(ctx context.Context, r schema.NotificationEventRow) (schema.NotificationEventRow, bool, error)
	GetNotificationEvent(ctx context.Context, id string) (schema.NotificationEventRow, error)
	GetOutbox(ctx context.Context, id string) (schema.OutboxRow, error)
	ListOutbox(ctx context.Context, f schema.OutboxFilter, page schema.Page) ([]schema.OutboxRow, error)
	MessagesOfNotification(ctx context.Context, notificationID string) ([]schema.OutboxRow, error)
	ListDeliveryLogs(ctx context.Context, outboxID string, page schema.Page) ([]schema.DeliveryLogRow, error)
	ListInbox(ctx context.Context, clientID, userID string, unreadOnly bool, page schema.Page) ([]schema.InAppMessageRow, error)
	MarkInAppRead(ctx context.Context, clientID, id string) (schema.InAppMessageRow, error)
}

// Limits of the notification routes.
const (
	// maxEmitPayload caps an emit's payload; it travels in the Notify run's history.
	maxEmitPayload = 64 << 10
	// maxEmitBody caps an emit's body: the payload and up to maxEmitRecipients recipients.
	maxEmitBody       = maxEmitPayload + 32<<10
	maxEmitRecipients = 100
	// maxPreferenceBody caps a preferences body.
	maxPreferenceBody = 8 << 10
	maxUserID         = 200
	maxIdempotencyKey = 255
	// maxNotificationID bounds an id in a path (emits, outbox messages, inbox messages).
	maxNotificationID = 200
	// maxProcessRows bounds how many queued messages one POST /outbox/process/ examines.
	maxProcessRows = 1000
	// processGrace is how old a queued message must be before process/ restarts its delivery:
	// a Notify run inserts the row, then starts the delivery, and process/ may look in between.
	processGrace = time.Minute
	// defaultEmitWait is NOTIFICATION_EMIT_WAIT when a Config built in code leaves it unset.
	defaultEmitWait = 5 * time.Second
)

// Memo labels of the notification runs the API starts.
const (
	labelNotify          = "notification_emit"
	labelOutboxProcessed = "notification_outbox_process"
)

// Names the notification routes accept.
var (
	// eventCodePattern is an event code: USER_REGISTERED, switchyard.transaction.escalated.
	eventCodePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$`)
	// lookupCodePattern is a lookup code (channels, actor types, modules, priorities).
	lookupCodePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,49}$`)
	// languagePattern is a language tag: en, sw, pt-BR.
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	// clockPattern is a time of day, HH:MM.
	clockPattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	// timeZonePattern is the shape of an IANA zone name (time.LoadLocation decides).
	timeZonePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,3}$`)
)

// notificationRoute is the path of a route of the module (for links and memos).
func notificationRoute(parts ...string) string {
	return NotificationBase + "/" + strings.Join(parts, "/") + "/"
}

// emitStatusURL is where an emit's state is read.
func emitStatusURL(id string) string { return notificationRoute("emits", id) }

// emitWait is NOTIFICATION_EMIT_WAIT, or its default when unset, kept within the write
// timeout so the 202 can still be written.
func (c Config) emitWait() time.Duration {
	wait := defaultEmitWait
	if c.NotificationEmitWait > 0 {
		wait = c.NotificationEmitWait
	}
	if c.WriteTimeout > 0 && c.WriteTimeout-writeTimeoutMargin < wait {
		wait = max(c.WriteTimeout-writeTimeoutMargin, time.Second)
	}
	return wait
}

// registerNotifications wires the notification module's client routes (permission
// notifications).
func (s *Server) registerNotifications(r gin.IRouter) {
	auth := []gin.HandlerFunc{s.requireClient, s.requirePermission(PermissionNotifications)}
	with := func(h gin.HandlerFunc) []gin.HandlerFunc { return append(append([]gin.HandlerFunc{}, auth...), h) }
	both(r, http.MethodGet, NotificationBase, with(s.notificationOverview)...)
	both(r, http.MethodGet, NotificationBase+"/lookups", with(s.notificationLookups)...)
	both(r, http.MethodGet, NotificationBase+"/events", with(s.listNotificationEvents)...)
	both(r, http.MethodGet, NotificationBase+"/rules", with(s.listNotificationRules)...)
	both(r, http.MethodGet, NotificationBase+"/templates", with(s.listNotificationTemplates)...)
	both(r, http.MethodGet, NotificationBase+"/preferences/:actor_type/:user_id", with(s.getPreference)...)
	both(r, http.MethodPost, NotificationBase+"/preferences/:actor_type/:user_id", with(s.putPreference)...)
	both(r, http.MethodPost, NotificationBase+"/emit", with(s.emit)...)
	both(r, http.MethodGet, NotificationBase+"/emits/:id", with(s.emitStatus)...)
	both(r, http.MethodGet, NotificationBase+"/outbox", with(s.listOutbox)...)
	both(r, http.MethodPost, NotificationBase+"/outbox/process", with(s.processOutbox)...)
	both(r, http.MethodGet, NotificationBase+"/outbox/:id/delivery-logs", with(s.listDeliveryLogs)...)
	both(r, http.MethodGet, NotificationBase+"/inbox/:user_id", with(s.listInbox)...)
	both(r, http.MethodPost, NotificationBase+"/inbox/:user_id/read", with(s.markInboxRead)...)
}

// --- listing rows without a page key of their own ------------------------------------------

// keyedRow is a listed row with its page key (the cursor its listing takes back).
type keyedRow[R any] struct {
	row R
	key string
}

// PageKey is the row's cursor.
func (k keyedRow[R]) PageKey() string { return k.key }

// listedBy answers a listing of rows whose page key is key(row) (rows without a PageKey of
// their own: the recipient directory's).
func listedBy[R, V any](c *gin.Context, list func(schema.Page) ([]R, error), key func(R) string, view func(R) V) {
	listed(c, func(p schema.Page) ([]keyedRow[R], error) {
		rows, err := list(p)
		out := make([]keyedRow[R], len(rows))
		for i, r := range rows {
			out[i] = keyedRow[R]{row: r, key: key(r)}
		}
		return out, err
	}, func(k keyedRow[R]) V { return view(k.row) })
}

// --- input checks ---------------------------------------------------------------------------

// textProblem says what is wrong with a text field ("" when nothing): too long, not UTF-8, or
// holding control characters (the database refuses NUL; the others have no place in names).
func textProblem(text string, maxRunes int) string {
	switch {
	case !utf8.ValidString(text):
		return "must be valid UTF-8 text"
	case utf8.RuneCountInString(text) > maxRunes:
		return "must be at most " + strconv.Itoa(maxRunes) + " characters"
	case hasControl(text):
		return "must not contain control characters"
	}
	return ""
}

// bodyTextProblem is textProblem for multi-line text (messages, descriptions): newlines and
// tabs are fine, NUL and other control characters are not.
func bodyTextProblem(text string, maxBytes int) string {
	switch {
	case !utf8.ValidString(text):
		return "must be valid UTF-8 text"
	case len(text) > maxBytes:
		return "must be at most " + strconv.Itoa(maxBytes) + " bytes"
	}
	for _, r := range text {
		if (r < 0x20 && r != '\n' && r != '\r' && r != '\t') || r == 0x7f {
			return "must not contain control characters other than newlines and tabs"
		}
	}
	return ""
}

// pathID reads an id from the path; a malformed one names nothing (false).
func pathID(c *gin.Context, name string) (string, bool) {
	id := c.Param(name)
	return id, id != "" && textProblem(id, maxNotificationID) == "" && !strings.ContainsAny(id, " /")
}

// userIDProblem says what is wrong with a recipient's user id.
func userIDProblem(id string) string {
	if strings.TrimSpace(id) == "" {
		return "required"
	}
	return textProblem(id, maxUserID)
}

// boolQuery reads an optional true|false query parameter.
func boolQuery(c *gin.Context, name string) (*bool, error) {
	v, given := c.GetQuery(name)
	if !given || v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil || (v != "true" && v != "false") {
		return nil, fieldError(name, "must be true or false")
	}
	return &b, nil
}

// codeQuery reads an optional query parameter that must match pattern.
func codeQuery(c *gin.Context, name string, pattern *regexp.Regexp) (string, error) {
	v := c.Query(name)
	if v != "" && !pattern.MatchString(v) {
		return "", fieldError(name, "is not a valid code")
	}
	return v, nil
}

// jsonProblem says what is wrong with a JSON document the database will store as jsonb: it
// must be an object (when object is set) and hold no NUL character (jsonb refuses \u0000).
func jsonProblem(raw json.RawMessage, object bool) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "must be valid JSON"
	}
	if _, ok := v.(map[string]any); object && !ok {
		return "must be a JSON object"
	}
	if hasNUL(v) {
		return "must not contain NUL characters (\\u0000)"
	}
	return ""
}

// hasNUL reports whether a decoded JSON value holds a NUL in a key or a string.
func hasNUL(v any) bool {
	switch t := v.(type) {
	case string:
		return strings.ContainsRune(t, 0) || !utf8.ValidString(t)
	case []any:
		for _, e := range t {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range t {
			if strings.ContainsRune(k, 0) || !utf8.ValidString(k) || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// lookupCodes are the codes of one lookup table.
func lookupCodes(l schema.Lookups, table string) map[string]bool {
	codes := map[string]bool{}
	for _, r := range l[table] {
		codes[r.Code] = true
	}
	return codes
}

// Lookup table names (schema.Lookups keys).
const (
	lookupModule    = "module"
	lookupChannel   = "channel"
	lookupStatus    = "status"
	lookupPriority  = "priority"
	lookupActorType = "actor_type"
)

// --- views ----------------------------------------------------------------------------------

// catalogEventView is an event of the catalog.
type catalogEventView struct {
	Code          string          `json:"code"`
	Module        string          `json:"module"`
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	Active        bool            `json:"active"`
	PayloadSchema json.RawMessage `json:"payload_schema"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

func newCatalogEventView(r schema.EventCatalogRow) catalogEventView {
	v := catalogEventView{Code: r.Code, Module: r.Module, Name: r.Name, Description: r.Description, Active: r.Active,
		PayloadSchema: json.RawMessage(`{}`), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if len(r.PayloadSchema) > 0 && json.Valid(r.PayloadSchema) {
		v.PayloadSchema = r.PayloadSchema
	}
	return v
}

// ruleView is an event rule with its channels.
type ruleView struct {
	ID              string          `json:"id"`
	EventCode       string          `json:"event_code"`
	Name            string          `json:"name"`
	RecipientPolicy string          `json:"recipient_policy"`
	RecipientConfig json.RawMessage `json:"recipient_config"`
	Priority        string          `json:"priority"`
	MaxAttempts     int             `json:"max_attempts"`
	Critical        bool            `json:"critical"`
	Active          bool            `json:"active"`
	Channels        []string        `json:"channels"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
}

func newRuleView(r schema.RuleRow) ruleView {
	v := ruleView{ID: r.ID, EventCode: r.EventCode, Name: r.Name, RecipientPolicy: r.RecipientPolicy,
		RecipientConfig: json.RawMessage(`{}`), Priority: r.Priority, MaxAttempts: r.MaxAttempts, Critical: r.Critical,
		Active: r.Active, Channels: nonNil(r.Channels), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if len(r.RecipientConfig) > 0 && json.Valid(r.RecipientConfig) {
		v.RecipientConfig = r.RecipientConfig
	}
	return v
}

// templateView is a message template.
type templateView struct {
	ID        string    `json:"id"`
	EventCode string    `json:"event_code"`
	Channel   string    `json:"channel"`
	Language  string    `json:"language"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newTemplateView(r schema.TemplateRow) templateView {
	return templateView{ID: r.ID, EventCode: r.EventCode, Channel: r.Channel, Language: r.Language, Subject: r.Subject,
		Body: r.Body, Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// preferenceView is a recipient's preferences; Default is true when none are stored and the
// view shows what the flow applies then.
type preferenceView struct {
	ActorType       string          `json:"actor_type"`
	UserID          string          `json:"user_id"`
	Channels        map[string]bool `json:"channels"`
	Language        string          `json:"language"`
	QuietHoursStart string          `json:"quiet_hours_start"`
	QuietHoursEnd   string          `json:"quiet_hours_end"`
	TimeZone        string          `json:"time_zone"`
	Default         bool            `json:"default"`
	UpdatedAt       *time.Time      `json:"updated_at"`
}

func newPreferenceView(r schema.PreferenceRow) preferenceView {
	v := preferenceView{ActorType: r.ActorType, UserID: r.UserID, Channels: map[string]bool{}, Language: r.Language,
		QuietHoursStart: r.QuietHoursStart, QuietHoursEnd: r.QuietHoursEnd, TimeZone: r.TimeZone}
	if len(r.Channels) > 0 {
		_ = json.Unmarshal(r.Channels, &v.Channels)
		if v.Channels == nil {
			v.Channels = map[string]bool{}
		}
	}
	if !r.UpdatedAt.IsZero() {
		at := r.UpdatedAt
		v.UpdatedAt = &at
	}
	return v
}

// defaultPreference is what the flow applies to a recipient without preferences.
func defaultPreference(actorType, userID string) schema.PreferenceRow {
	return schema.PreferenceRow{ActorType: actorType, UserID: userID, Channels: json.RawMessage(`{}`), Language: "en",
		TimeZone: "UTC"}
}

// recipientView names a recipient of the directory.
type recipientView struct {
	ActorType string `json:"actor_type"`
	UserID    string `json:"user_id"`
}

// emitMessageView is one message an emit made.
type emitMessageView struct {
	OutboxID  string        `json:"outbox_id"`
	Channel   string        `json:"channel"`
	Recipient recipientView `json:"recipient"`
	Status    string        `json:"status"`
	Error     string        `json:"error,omitempty"`
}

// emitView is an emit's state: its disposition (processing, queued, suppressed, failed), the
// reason when suppressed or failed, and its messages.
type emitView struct {
	NotificationID string            `json:"notification_id"`
	EventCode      string            `json:"event_code"`
	WorkflowID     string            `json:"workflow_id"`
	Disposition    string            `json:"disposition"`
	Reason         string            `json:"reason,omitempty"`
	Messages       []emitMessageView `json:"messages"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	StatusURL      string            `json:"status_url"`
	CreatedAt      *time.Time        `json:"created_at,omitempty"`
}

func newEmitView(r schema.NotificationEventRow, messages []schema.OutboxRow) emitView {
	v := emitView{NotificationID: r.ID, EventCode: r.EventCode, WorkflowID: r.WorkflowID, Disposition: r.Disposition,
		Reason: r.Reason, Messages: make([]emitMessageView, 0, len(messages)), IdempotencyKey: r.IdempotencyKey,
		StatusURL: emitStatusURL(r.ID)}
	if !r.CreatedAt.IsZero() {
		at := r.CreatedAt
		v.CreatedAt = &at
	}
	for _, m := range messages {
		v.Messages = append(v.Messages, emitMessageView{OutboxID: m.ID, Channel: m.Channel,
			Recipient: recipientView{ActorType: m.ActorType, UserID: m.UserID}, Status: m.Status, Error: m.Error})
	}
	return v
}

// outboxView is one outbox message as its client reads it.
type outboxView struct {
	ID                 string     `json:"id"`
	NotificationID     string     `json:"notification_id"`
	EventCode          string     `json:"event_code"`
	RuleID             string     `json:"rule_id"`
	IdempotencyKey     string     `json:"idempotency_key"`
	ActorType          string     `json:"actor_type"`
	UserID             string     `json:"user_id"`
	Channel            string     `json:"channel"`
	RecipientAddress   string     `json:"recipient_address"`
	Language           string     `json:"language"`
	Subject            string     `json:"subject"`
	Body               string     `json:"body"`
	Priority           string     `json:"priority"`
	Status             string     `json:"status"`
	AttemptCount       int        `json:"attempt_count"`
	MaxAttempts        int        `json:"max_attempts"`
	NextAttemptAt      *time.Time `json:"next_attempt_at"`
	Final              bool       `json:"final"`
	Critical           bool       `json:"critical"`
	EscalationRequired bool       `json:"escalation_required"`
	Provider           string     `json:"provider"`
	ProviderMessageID  string     `json:"provider_message_id"`
	Error              string     `json:"error"`
	WorkflowID         string     `json:"workflow_id"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	SentAt             *time.Time `json:"sent_at"`
}

func newOutboxView(r schema.OutboxRow) outboxView {
	return outboxView{ID: r.ID, NotificationID: r.NotificationID, EventCode: r.EventCode, RuleID: r.RuleID,
		IdempotencyKey: r.IdempotencyKey, ActorType: r.ActorType, UserID: r.UserID, Channel: r.Channel,
		RecipientAddress: r.RecipientAddress, Language: r.Language, Subject: r.Subject, Body: r.Body,
		Priority: r.Priority, Status: r.Status, AttemptCount: r.AttemptCount, MaxAttempts: r.MaxAttempts,
		NextAttemptAt: r.NextAttemptAt, Final: r.Final, Critical: r.Critical, EscalationRequired: r.EscalationRequired,
		Provider: r.Provider, ProviderMessageID: r.ProviderMessageID, Error: r.Error, WorkflowID: r.WorkflowID,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, SentAt: r.SentAt}
}

// deliveryLogView is one delivery attempt.
type deliveryLogView struct {
	ID                int64     `json:"id"`
	OutboxID          string    `json:"outbox_id"`
	Attempt           int       `json:"attempt"`
	Provider          string    `json:"provider"`
	ProviderMessageID string    `json:"provider_message_id"`
	Status            string    `json:"status"`
	Error             string    `json:"error"`
	LatencyMS         float64   `json:"latency_ms"`
	CreatedAt         time.Time `json:"created_at"`
}

func newDeliveryLogView(r schema.DeliveryLogRow) deliveryLogView {
	return deliveryLogView{ID: r.ID, OutboxID: r.OutboxID, Attempt: r.Attempt, Provider: r.Provider,
		ProviderMessageID: r.ProviderMessageID, Status: r.Status, Error: r.Error, LatencyMS: r.LatencyMS,
		CreatedAt: r.CreatedAt}
}

// inboxView is one in-app message.
type inboxView struct {
	ID        string     `json:"id"`
	OutboxID  string     `json:"outbox_id"`
	ActorType string     `json:"actor_type"`
	UserID    string     `json:"user_id"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	Read      bool       `json:"read"`
	ReadAt    *time.Time `json:"read_at"`
	CreatedAt time.Time  `json:"created_at"`
}

func newInboxView(r schema.InAppMessageRow) inboxView {
	return inboxView{ID: r.ID, OutboxID: r.OutboxID, ActorType: r.ActorType, UserID: r.UserID, Title: r.Title,
		Body: r.Body, Read: r.ReadAt != nil, ReadAt: r.ReadAt, CreatedAt: r.CreatedAt}
}

// --- overview, lookups and the catalog -------------------------------------------------------

// notificationOverviewView is the module's front page: the lookups' sizes and the links.
type notificationOverviewView struct {
	Module string            `json:"module"`
	Counts map[string]int    `json:"counts"`
	Links  map[string]string `json:"links"`
}

func (s *Server) notificationOverview(c *gin.Context) {
	lookups, err := s.store.NotificationLookups(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	counts := map[string]int{}
	for _, table := range []string{lookupModule, lookupChannel, lookupStatus, lookupPriority, lookupActorType} {
		counts[table] = len(lookups[table])
	}
	writeData(c, http.StatusOK, notificationOverviewView{Module: "notification", Counts: counts,
		Links: map[string]string{
			"lookups": notificationRoute("lookups"), "events": notificationRoute("events"),
			"rules": notificationRoute("rules"), "templates": notificationRoute("templates"),
			"preferences": notificationRoute("preferences", "{actor_type_code}", "{user_id}"),
			"emit":        notificationRoute("emit"), "outbox": notificationRoute("outbox"),
			"process": notificationRoute("outbox", "process"),
			"inbox":   notificationRoute("inbox", "{user_id}"),
		}})
}

func (s *Server) notificationLookups(c *gin.Context) {
	lookups, err := s.store.NotificationLookups(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	out := map[string][]schema.LookupRow{}
	for _, table := range []string{lookupModule, lookupChannel, lookupStatus, lookupPriority, lookupActorType} {
		out[table] = lookups[table]
		if out[table] == nil {
			out[table] = []schema.LookupRow{}
		}
	}
	writeData(c, http.StatusOK, out)
}

func (s *Server) listNotificationEvents(c *gin.Context) {
	var f schema.EventFilter
	var err error
	if f.Module, err = codeQuery(c, "module", lookupCodePattern); err == nil {
		f.Active, err = boolQuery(c, "active")
	}
	if err != nil {
		writeError(c, err)
		return
	}
	listed(c, func(p schema.Page) ([]schema.EventCatalogRow, error) {
		return s.store.ListCatalogEvents(c.Request.Context(), f, p)
	}, newCatalogEventView)
}

func (s *Server) listNotificationRules(c *gin.Context) {
	var f schema.RuleFilter
	var err error
	if f.EventCode, err = codeQuery(c, "event_code", eventCodePattern); err == nil {
		f.Active, err = boolQuery(c, "active")
	}
	if err != nil {
		writeError(c, err)
		return
	}
	listed(c, func(p schema.Page) ([]schema.RuleRow, error) {
		return s.store.ListRules(c.Request.Context(), f, p)
	}, newRuleView)
}

func (s *Server) listNotificationTemplates(c *gin.Context) {
	var f schema.TemplateFilter
	var err error
	f.EventCode, err = codeQuery(c, "event_code", eventCodePattern)
	if err == nil {
		f.Channel, err = codeQuery(c, "channel", lookupCodePattern)
	}
	if err == nil {
		f.Language, err = codeQuery(c, "language", languagePattern)
	}
	if err == nil {
		f.Active, err = boolQuery(c, "active")
	}
	if err != nil {
		writeError(c, err)
		return
	}
	listed(c, func(p schema.Page) ([]schema.TemplateRow, error) {
		return s.store.ListTemplates(c.Request.Context(), f, p)
	}, newTemplateView)
}

// --- preferences -----------------------------------------------------------------------------

// PreferenceRequest sets a recipient's preferences; absent fields keep their value (or the
// default: every channel on, en, no quiet hours, UTC).
type PreferenceRequest struct {
	// Channels switches channels on or off ({"SMS": true, "EMAIL": false}); a channel not named
	// is on. Replaces the stored map when given.
	Channels map[string]bool `json:"channels"`
	Language *string         `json:"language"`
	// QuietHoursStart and QuietHoursEnd ("HH:MM", both or neither; "" clears them) hold back
	// non-critical messages; the window may span midnight.
	QuietHoursStart *string `json:"quiet_hours_start"`
	QuietHoursEnd   *string `json:"quiet_hours_end"`
	// TimeZone is an IANA zone (Africa/Dar_es_Salaam) the quiet hours are read in.
	TimeZone *string `json:"time_zone"`
}

// apply checks the request against the lookups and writes it onto row, every problem named.
func (r PreferenceRequest) apply(row *schema.PreferenceRow, channels map[string]bool) error {
	problems := map[string]string{}
	if r.Channels != nil {
		if len(r.Channels) > len(channels) {
			problems["channels"] = "names a channel twice or one that does not exist"
		}
		for name := range r.Channels {
			if !channels[name] {
				problems["channels"] = "unknown channel " + strconv.Quote(clip(name, 50)) + ": channels are the lookup's codes"
			}
		}
		raw, _ := json.Marshal(r.Channels)
		row.Channels = raw
	}
	if r.Language != nil {
		if !languagePattern.MatchString(*r.Language) {
			problems["language"] = "must be a language tag such as en, sw or pt-BR"
		}
		row.Language = *r.Language
	}
	if r.QuietHoursStart != nil {
		row.QuietHoursStart = *r.QuietHoursStart
	}
	if r.QuietHoursEnd != nil {
		row.QuietHoursEnd = *r.QuietHoursEnd
	}
	for field, v := range map[string]string{"quiet_hours_start": row.QuietHoursStart, "quiet_hours_end": row.QuietHoursEnd} {
		if v != "" && !clockPattern.MatchString(v) {
			problems[field] = "must be a time of day HH:MM (00:00 to 23:59), or empty for none"
		}
	}
	if _, bad := problems["quiet_hours_start"]; !bad && problems["quiet_hours_end"] == "" {
		switch {
		case (row.QuietHoursStart == "") != (row.QuietHoursEnd == ""):
			problems["quiet_hours_end"] = "quiet hours need both a start and an end (or neither)"
		case row.QuietHoursStart != "" && row.QuietHoursStart == row.QuietHoursEnd:
			problems["quiet_hours_end"] = "must differ from quiet_hours_start"
		}
	}
	if r.TimeZone != nil {
		row.TimeZone = *r.TimeZone
		if msg := timeZoneProblem(*r.TimeZone); msg != "" {
			problems["time_zone"] = msg
		}
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	return nil
}

// timeZoneProblem says what is wrong with a time zone name ("" when it is an IANA zone).
func timeZoneProblem(name string) string {
	if len(name) > 64 || !timeZonePattern.MatchString(name) || name == "Local" {
		return "must be an IANA time zone such as UTC or Africa/Dar_es_Salaam"
	}
	if _, err := time.LoadLocation(name); err != nil {
		return "unknown time zone: use an IANA name such as UTC or Africa/Dar_es_Salaam"
	}
	return ""
}

// clip shortens text for an error message.
func clip(text string, n int) string {
	if !utf8.ValidString(text) {
		return "(not UTF-8)"
	}
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	return string([]rune(text)[:n]) + "…"
}

// preferenceOwner checks the path's actor type (a lookup's code) and user id. A recipient need
// not be in the directory (notification_user): a client may keep a user's preferences before
// the directory knows them, and an emit's explicit recipients are looked up when it runs.
func (s *Server) preferenceOwner(c *gin.Context) (actorType, userID string, lookups schema.Lookups, err error) {
	actorType, userID = c.Param("actor_type"), c.Param("user_id")
	if msg := userIDProblem(userID); msg != "" {
		return "", "", nil, fieldError("user_id", msg)
	}
	if !lookupCodePattern.MatchString(actorType) {
		return "", "", nil, fieldError("actor_type_code", "must be an actor type's code (USER, STAFF, ...)")
	}
	lookups, err = s.store.NotificationLookups(c.Request.Context())
	if err != nil {
		return "", "", nil, err
	}
	if !lookupCodes(lookups, lookupActorType)[actorType] {
		return "", "", nil, fieldError("actor_type_code", "no such actor type: see "+notificationRoute("lookups"))
	}
	return actorType, userID, lookups, nil
}

// getPreference answers a recipient's preferences, or the defaults (default: true) when none
// are stored.
func (s *Server) getPreference(c *gin.Context) {
	actorType, userID, _, err := s.preferenceOwner(c)
	if err != nil {
		writeError(c, err)
		return
	}
	row, err := s.store.GetPreference(c.Request.Context(), actorType, userID)
	if errors.Is(err, schema.ErrNotFound) {
		v := newPreferenceView(defaultPreference(actorType, userID))
		v.Default = true
		writeData(c, http.StatusOK, v)
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, newPreferenceView(row))
}

// putPreference writes a recipient's preferences (POST, seed 001's verb).
func (s *Server) putPreference(c *gin.Context) {
	var req PreferenceRequest
	if err := decodeCapped(c, maxPreferenceBody, &req); err != nil {
		writeError(c, err)
		return
	}
	actorType, userID, lookups, err := s.preferenceOwner(c)
	if err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	row, err := s.store.GetPreference(ctx, actorType, userID)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		row = defaultPreference(actorType, userID)
	case err != nil:
		writeError(c, err)
		return
	}
	if err := req.apply(&row, lookupCodes(lookups, lookupChannel)); err != nil {
		writeError(c, err)
		return
	}
	saved, err := s.store.PutPreference(ctx, row)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, newPreferenceView(saved))
}

// --- emit ------------------------------------------------------------------------------------

// EmitRequest tells the hub an event happened.
type EmitRequest struct {
	// EventCode names an event of the catalog.
	EventCode string `json:"event_code"`
	// Payload (a JSON object, at most 64 KiB) fills the templates' placeholders and names the
	// recipients of payload_user rules.
	Payload json.RawMessage `json:"payload"`
	// Recipients, when given, replace the rules' recipient policies.
	Recipients []workflows.Recipient `json:"recipients"`
	// IdempotencyKey (or the Idempotency-Key header) makes a repeat answer the first emit.
	IdempotencyKey string `json:"idempotency_key"`
}

// check validates the request, every problem named by field; header is the Idempotency-Key
// header.
func (r *EmitRequest) check(header string, actorTypes map[string]bool) error {
	problems := map[string]string{}
	if r.EventCode == "" {
		problems["event_code"] = "required"
	} else if !eventCodePattern.MatchString(r.EventCode) {
		problems["event_code"] = "must be an event code (letters, digits, _ . : -, at most 100 characters)"
	}
	if len(r.Payload) == 0 || string(r.Payload) == "null" {
		r.Payload = json.RawMessage(`{}`)
	}
	if len(r.Payload) > maxEmitPayload {
		problems["payload"] = "must be at most " + strconv.Itoa(maxEmitPayload) + " bytes"
	} else if msg := jsonProblem(r.Payload, true); msg != "" {
		problems["payload"] = msg
	}
	if len(r.Recipients) > maxEmitRecipients {
		problems["recipients"] = "at most " + strconv.Itoa(maxEmitRecipients) + " recipients"
	}
	seen := map[workflows.Recipient]bool{}
	for i, rc := range r.Recipients {
		field := "recipients[" + strconv.Itoa(i) + "]"
		switch {
		case !actorTypes[rc.ActorType]:
			problems[field+".actor_type"] = "must be an actor type's code (see " + notificationRoute("lookups") + ")"
		case userIDProblem(rc.UserID) != "":
			problems[field+".user_id"] = userIDProblem(rc.UserID)
		case seen[rc]:
			problems[field] = "names the same recipient twice"
		}
		seen[rc] = true
	}
	switch {
	case header != "" && r.IdempotencyKey != "" && header != r.IdempotencyKey:
		problems["idempotency_key"] = "differs from the Idempotency-Key header: send one or the same in both"
	case r.IdempotencyKey == "":
		r.IdempotencyKey = header
	}
	if r.IdempotencyKey != "" {
		if msg := textProblem(r.IdempotencyKey, maxIdempotencyKey); msg != "" || len(r.IdempotencyKey) > maxIdempotencyKey {
			problems["idempotency_key"] = "must be printable text of at most " + strconv.Itoa(maxIdempotencyKey) + " bytes"
		}
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	return nil
}

// emit records an emit and starts its Notify run (ID notification:<id>), then waits up to
// NOTIFICATION_EMIT_WAIT for the run's outcome: 200 with the disposition and messages, or 202
// with where to read them. A repeat of the client's idempotency key answers the first emit
// (nothing new is made); the same key with another event or payload is 422.
// hubEventPrefix starts the events only the hub emits.
const hubEventPrefix = "switchyard."

func (s *Server) emit(c *gin.Context) {
	var req EmitRequest
	if err := decodeCapped(c, maxEmitBody, &req); err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	lookups, err := s.store.NotificationLookups(ctx)
	if err != nil {
		writeError(c, err)
		return
	}
	if err := req.check(c.GetHeader("Idempotency-Key"), lookupCodes(lookups, lookupActorType)); err != nil {
		writeError(c, err)
		return
	}
	if strings.HasPrefix(req.EventCode, hubEventPrefix) {
		// The hub's own events (a transaction escalated: critical, to whoever is on call) are
		// the hub's to emit.
		writeError(c, newError(http.StatusForbidden, CodeForbidden, "events "+hubEventPrefix+"* are emitted by the hub only"))
		return
	}
	who := currentClient(c)
	id := uuid.NewString()
	row, created, err := s.store.CreateNotificationEvent(ctx, schema.NotificationEventRow{ID: id, ClientID: who.ID,
		EventCode: req.EventCode, Payload: req.Payload, IdempotencyKey: req.IdempotencyKey,
		WorkflowID: workflows.NotificationWorkflowID(id), Disposition: transaction.NotificationProcessing})
	if err != nil {
		writeError(c, err)
		return
	}
	if !created {
		if row.ClientID != who.ID || row.EventCode != req.EventCode || !sameJSON(row.Payload, req.Payload) {
			writeError(c, errKeyReused)
			return
		}
		if row.Disposition != transaction.NotificationProcessing {
			s.answerEmit(c, row)
			return
		}
	}
	in := workflows.NotifyInput{NotificationID: row.ID, ClientID: who.ID, EventCode: req.EventCode,
		Payload: req.Payload, Recipients: req.Recipients, IdempotencyKey: req.IdempotencyKey}
	route := notificationRoute("emit")
	body, _ := json.Marshal(map[string]any{"event_code": req.EventCode, "payload": req.Payload})
	opts := startOptions(row.WorkflowID, workflows.TaskQueueNotification, transaction.Memo{
		Kind: transaction.KindNotification, ClientID: who.ID, Label: labelNotify, Method: http.MethodPost, Path: route,
		Fingerprint: transaction.Fingerprint(transaction.KindNotification, http.MethodPost, route, body)})
	opts.TypedSearchAttributes = notificationSearchAttributes(transaction.KindNotification, who.ID, row.ID)
	run, err := s.temporal.ExecuteWorkflow(ctx, opts, workflows.WorkflowNotify, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		// A repeat whose first emit's run is already under way (or over): answer its state.
		run = s.temporal.GetWorkflow(ctx, row.WorkflowID, "")
	case err != nil:
		// The row stays processing; a repeat of the key starts the run again.
		writeError(c, unavailable(c, row.WorkflowID, err))
		return
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.emitWait())
	defer cancel()
	var result workflows.NotifyResult
	if err := run.Get(wctx, &result); err == nil && result.Disposition != "" {
		writeData(c, http.StatusOK, resultView(row, result))
		return
	}
	// Not finished in time (or the run failed: the store holds what it recorded).
	if latest, err := s.store.GetNotificationEvent(context.WithoutCancel(ctx), row.ID); err == nil {
		row = latest
	}
	s.answerEmit(c, row)
}

// resultView is an emit's view from its run's result.
func resultView(row schema.NotificationEventRow, result workflows.NotifyResult) emitView {
	v := newEmitView(row, nil)
	v.Disposition, v.Reason = result.Disposition, result.Reason
	for _, m := range result.Messages {
		v.Messages = append(v.Messages, emitMessageView{OutboxID: m.OutboxID, Channel: m.Channel,
			Recipient: recipientView{ActorType: m.Recipient.ActorType, UserID: m.Recipient.UserID}, Status: m.Status,
			Error: m.Error})
	}
	return v
}

// answerEmit answers an emit from the store: 202 with the status URL while it is processing,
// else 200 with its disposition and messages.
func (s *Server) answerEmit(c *gin.Context, row schema.NotificationEventRow) {
	ctx := context.WithoutCancel(c.Request.Context())
	if row.Disposition == transaction.NotificationProcessing {
		c.Header("Location", emitStatusURL(row.ID))
		writeData(c, http.StatusAccepted, newEmitView(row, nil))
		return
	}
	messages, err := s.store.MessagesOfNotification(ctx, row.ID)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, newEmitView(row, messages))
}

// sameJSON reports whether two JSON documents hold the same value (the database normalises
// jsonb, so bytes may differ).
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// notificationSearchAttributes are the search attributes a notification family run starts
// with, so the Web UI filter SwitchyardKind="notification" finds it at once.
func notificationSearchAttributes(kind transaction.Kind, clientID, correlationID string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(workflows.KindKey.ValueSet(string(kind)), workflows.ClientKey.ValueSet(clientID),
		workflows.CorrelationIDKey.ValueSet(correlationID))
}

// emitStatus answers the caller's emit with its messages; another client's is 404.
func (s *Server) emitStatus(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		writeError(c, errNoEmit)
		return
	}
	row, err := s.store.GetNotificationEvent(c.Request.Context(), id)
	if errors.Is(err, schema.ErrNotFound) || (err == nil && row.ClientID != currentClient(c).ID) {
		writeError(c, errNoEmit)
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	messages, err := s.store.MessagesOfNotification(c.Request.Context(), row.ID)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, newEmitView(row, messages))
}

// Not-found answers of the notification routes: an unknown id and another client's alike.
var (
	errNoEmit          = newError(http.StatusNotFound, CodeNotFound, "no such notification")
	errNoOutbox        = newError(http.StatusNotFound, CodeNotFound, "no such outbox message")
	errNoInboxMessage  = newError(http.StatusNotFound, CodeNotFound, "no such inbox message")
	errNoNotifyChannel = fieldError("channel", "must be a channel's code (SMS, EMAIL, IN_APP, PUSH)")
)

// --- outbox ------------------------------------------------------------------------------------

func (s *Server) listOutbox(c *gin.Context) {
	f := schema.OutboxFilter{ClientID: currentClient(c).ID, Status: c.Query("status"), Channel: c.Query("channel")}
	if f.Status != "" && !lookupCodePattern.MatchString(f.Status) {
		writeError(c, fieldError("status", "must be QUEUED, SENT, DELIVERED, FAILED or SUPPRESSED"))
		return
	}
	if f.Channel != "" && !lookupCodePattern.MatchString(f.Channel) {
		writeError(c, errNoNotifyChannel)
		return
	}
	due, err := boolQuery(c, "due")
	if err != nil {
		writeError(c, err)
		return
	}
	f.Due = due != nil && *due
	listed(c, func(p schema.Page) ([]schema.OutboxRow, error) {
		return s.store.ListOutbox(c.Request.Context(), f, p)
	}, newOutboxView)
}

// ownOutbox reads the caller's outbox message named by :id.
func (s *Server) ownOutbox(c *gin.Context) (schema.OutboxRow, error) {
	id, ok := pathID(c, "id")
	if !ok {
		return schema.OutboxRow{}, errNoOutbox
	}
	row, err := s.store.GetOutbox(c.Request.Context(), id)
	if errors.Is(err, schema.ErrNotFound) || (err == nil && row.ClientID != currentClient(c).ID) {
		return schema.OutboxRow{}, errNoOutbox
	}
	return row, err
}

func (s *Server) listDeliveryLogs(c *gin.Context) {
	row, err := s.ownOutbox(c)
	if err != nil {
		writeError(c, err)
		return
	}
	listed(c, func(p schema.Page) ([]schema.DeliveryLogRow, error) {
		return s.store.ListDeliveryLogs(c.Request.Context(), row.ID, p)
	}, newDeliveryLogView)
}

// processView is what a reconciliation pass did.
type processView struct {
	// Examined are the caller's queued messages not final that were looked at.
	Examined int `json:"examined"`
	// Restarted had no running delivery; theirs was started again.
	Restarted int `json:"restarted"`
	// Running already had a delivery under way (waiting out quiet hours, say).
	Running int `json:"running"`
	// Recent were queued less than a minute ago: their Notify run may be starting them.
	Recent int `json:"recent"`
	// Unknown could not be asked about (Temporal did not answer); a later pass tries again.
	Unknown int `json:"unknown"`
	// Restarts are the outbox ids whose delivery was started again.
	Restarts []string `json:"restarts"`
	// More is true when more queued messages remain than one pass examines.
	More bool `json:"more"`
}

// processOutbox reconciles the caller's queued messages with their deliveries: a message
// QUEUED and not final whose delivery workflow (outbox:<id>) is not running (unknown to
// Temporal, or closed without finishing the row, after a restore say) gets its delivery started
// again under the same ID. A running delivery is left alone, so the pass is idempotent.
func (s *Server) processOutbox(c *gin.Context) {
	if body, err := readCapped(c, 1<<10); err != nil {
		writeError(c, err)
		return
	} else if t := strings.TrimSpace(string(body)); t != "" && t != "{}" {
		writeError(c, newError(http.StatusBadRequest, CodeValidation, "process takes no body (or {})"))
		return
	}
	ctx := c.Request.Context()
	who := currentClient(c)
	view := processView{Restarts: []string{}}
	page := schema.Page{Limit: 101}
	for view.Examined < maxProcessRows {
		rows, err := s.store.ListOutbox(ctx, schema.OutboxFilter{ClientID: who.ID, Status: transaction.OutboxQueued}, page)
		if err != nil {
			writeError(c, err)
			return
		}
		more := len(rows) > 100
		if more {
			rows = rows[:100]
		}
		for _, row := range rows {
			if row.Final || row.Status != transaction.OutboxQueued {
				continue
			}
			if view.Examined == maxProcessRows {
				view.More = true
				break
			}
			view.Examined++
			s.reconcile(ctx, row, &view)
		}
		if !more || view.More {
			break
		}
		page.After = rows[len(rows)-1].ID
	}
	writeData(c, http.StatusOK, view)
}

// workflowRunning reports whether the workflow runs; known is false when Temporal could not
// tell (an unknown workflow is not running).
func (s *Server) workflowRunning(ctx context.Context, workflowID string) (running, known bool) {
	d, err := s.temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return false, true
	case err != nil:
		s.logger.Warn("Describing a message's workflow failed", "workflow_id", workflowID, "error", err.Error())
		return false, false
	}
	status := d.GetWorkflowExecutionInfo().GetStatus()
	return status == enums.WORKFLOW_EXECUTION_STATUS_RUNNING || status == enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, true
}

// reconcile restarts one queued message's delivery when neither it nor the message's
// escalation is running.
func (s *Server) reconcile(ctx context.Context, row schema.OutboxRow, view *processView) {
	if time.Since(row.CreatedAt) < processGrace {
		view.Recent++
		return
	}
	workflowID := workflows.OutboxWorkflowID(row.ID)
	// The message's delivery, or its escalation (whose retry sends the message itself), may be
	// at work: then nothing is restarted.
	for _, owner := range []string{workflowID, workflows.NotificationEscalationWorkflowID(row.ID)} {
		running, known := s.workflowRunning(ctx, owner)
		if !known {
			view.Unknown++
			return
		}
		if running {
			view.Running++
			return
		}
	}
	in := workflows.NotificationDeliveryInput{OutboxID: row.ID, ClientID: row.ClientID}
	if row.NextAttemptAt != nil && row.NextAttemptAt.After(time.Now()) {
		next := *row.NextAttemptAt
		in.NotBefore = &next
	}
	route := notificationRoute("outbox", "process")
	opts := startOptions(workflowID, workflows.TaskQueueNotification, transaction.Memo{Kind: transaction.KindOutbox,
		ClientID: row.ClientID, Label: labelOutboxProcessed, Method: http.MethodPost, Path: route,
		Fingerprint: transaction.Fingerprint(transaction.KindOutbox, http.MethodPost, route, []byte(row.ID))})
	// The same ID again once the earlier delivery closed; a running one refuses it.
	opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	opts.TypedSearchAttributes = notificationSearchAttributes(transaction.KindOutbox, row.ClientID, row.ID)
	_, err := s.temporal.ExecuteWorkflow(ctx, opts, workflows.WorkflowNotificationDelivery, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		view.Running++
	case err != nil:
		s.logger.Warn("Restarting a queued message's delivery failed", "outbox_id", row.ID, "error", err.Error())
		view.Unknown++
	default:
		s.logger.Info("Restarted a queued message's delivery", "outbox_id", row.ID, "workflow_id", workflowID)
		view.Restarted++
		view.Restarts = append(view.Restarts, row.ID)
	}
}

// --- inbox -------------------------------------------------------------------------------------

func (s *Server) listInbox(c *gin.Context) {
	userID := c.Param("user_id")
	if msg := userIDProblem(userID); msg != "" {
		writeError(c, fieldError("user_id", msg))
		return
	}
	unread, err := boolQuery(c, "unread")
	if err != nil {
		writeError(c, err)
		return
	}
	who := currentClient(c)
	listed(c, func(p schema.Page) ([]schema.InAppMessageRow, error) {
		return s.store.ListInbox(c.Request.Context(), who.ID, userID, unread != nil && *unread, p)
	}, newInboxView)
}

// markInboxRead marks the caller's inbox message read (the first read time stays). The route
// is seed 001's /inbox/<message_id>/read/; the message id takes the user id's place.
func (s *Server) markInboxRead(c *gin.Context) {
	id, ok := pathID(c, "user_id")
	if !ok {
		writeError(c, errNoInboxMessage)
		return
	}
	row, err := s.store.MarkInAppRead(c.Request.Context(), currentClient(c).ID, id)
	if errors.Is(err, schema.ErrNotFound) {
		writeError(c, errNoInboxMessage)
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, newInboxView(row))
}
