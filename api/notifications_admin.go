package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/lib/pq"
	"go.temporal.io/api/serviceerror"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/workflows"
)

// NotificationsAdminBase is the root of the notification module's admin routes, under the
// admin API.
const NotificationsAdminBase = "/notifications"

// Limits of the notification admin routes.
const (
	maxNotificationAdminBody = 64 << 10
	maxPayloadSchema         = 16 << 10
	maxDescription           = 2000
	maxSubject               = 500
	maxTemplateBody          = 16 << 10
	maxExplicitUsers         = 100
	maxRoles                 = 50
	maxPushToken             = 4096
)

// Recipient policies of an event rule (event_rule.recipient_policy).
const (
	policyExplicit    = "explicit"
	policyRole        = "role"
	policyPayloadUser = "payload_user"
	policyOnCall      = "on_call"
)

var (
	// ruleIDPattern is a rule's or template's id.
	ruleIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$`)
	// roleName is a recipient's role.
	roleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)
	// payloadField is a dotted path into an emit's payload.
	payloadField = regexp.MustCompile(`^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+){0,9}$`)
	// placeholderName is what a template's {{ placeholder }} may name.
	placeholderName = regexp.MustCompile(`^\s*[A-Za-z0-9_.\-]+\s*$`)
	// phonePattern is a phone number: digits, an optional leading +.
	phonePattern = regexp.MustCompile(`^\+?[0-9]{6,20}$`)
)

// registerAdminNotifications wires the notification module's admin routes: CRUD of the event
// catalog, rules (with their channels), templates and the recipient directory, and the
// escalation signals of a failed critical message.
func (s *Server) registerAdminNotifications(g gin.IRouter) {
	base := NotificationsAdminBase
	both(g, http.MethodGet, base+"/events", s.listNotificationEvents)
	both(g, http.MethodPost, base+"/events", s.createCatalogEvent)
	both(g, http.MethodGet, base+"/events/:code", s.getCatalogEvent)
	both(g, http.MethodPatch, base+"/events/:code", s.updateCatalogEvent)
	both(g, http.MethodDelete, base+"/events/:code", s.deleteCatalogEvent)

	both(g, http.MethodGet, base+"/rules", s.listNotificationRules)
	both(g, http.MethodPost, base+"/rules", s.createRule)
	both(g, http.MethodGet, base+"/rules/:id", s.getRule)
	both(g, http.MethodPatch, base+"/rules/:id", s.updateRule)
	both(g, http.MethodDelete, base+"/rules/:id", s.deleteRule)

	both(g, http.MethodGet, base+"/templates", s.listNotificationTemplates)
	both(g, http.MethodPost, base+"/templates", s.createTemplate)
	both(g, http.MethodGet, base+"/templates/:id", s.getTemplate)
	both(g, http.MethodPatch, base+"/templates/:id", s.updateTemplate)
	both(g, http.MethodDelete, base+"/templates/:id", s.deleteTemplate)

	both(g, http.MethodGet, base+"/recipients", s.listRecipients)
	both(g, http.MethodPost, base+"/recipients", s.createRecipient)
	both(g, http.MethodGet, base+"/recipients/:actor_type/:user_id", s.getRecipient)
	both(g, http.MethodPatch, base+"/recipients/:actor_type/:user_id", s.updateRecipient)
	both(g, http.MethodDelete, base+"/recipients/:actor_type/:user_id", s.deactivateRecipient)

	both(g, http.MethodPost, base+"/outbox/:id/signals/:signal", s.signalNotificationEscalation)
}

// storeRefusal maps the store's refusals of a record to the API's answers: a malformed record
// is a 400 (the API checks first, so this is a backstop), a missing reference a 400 on field.
func storeRefusal(err error, field string) error {
	switch {
	case errors.Is(err, schema.ErrInvalidNotification):
		return newError(http.StatusBadRequest, CodeValidation, "the record was refused: "+strings.TrimSuffix(
			err.Error(), ": "+schema.ErrInvalidNotification.Error()))
	case errors.Is(err, schema.ErrReference):
		return fieldError(field, "names nothing that exists")
	}
	return err
}

// adminLookups reads the lookups for a check.
func (s *Server) adminLookups(c *gin.Context) (schema.Lookups, bool) {
	l, err := s.store.NotificationLookups(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return nil, false
	}
	return l, true
}

// adminRequest is the body of an admin create or update of a notification record: it applies
// itself to the record's row (absent fields kept on update), checking codes against the
// lookups.
type adminRequest[R any] interface {
	apply(row *R, create bool, l schema.Lookups) error
}

// newAdminRow reads a create body and builds the row it describes; false when it has answered
// an error.
func newAdminRow[Req adminRequest[R], R any](s *Server, c *gin.Context) (R, bool) {
	var req Req
	var row R
	if err := decodeCapped(c, maxNotificationAdminBody, &req); err != nil {
		writeError(c, err)
		return row, false
	}
	l, ok := s.adminLookups(c)
	if !ok {
		return row, false
	}
	if err := req.apply(&row, true, l); err != nil {
		writeError(c, err)
		return row, false
	}
	return row, true
}

// adminChange reads an update body, then checks the route's key (key), and answers the change
// the body makes to a row; false when it has answered an error.
func adminChange[Req adminRequest[R], R any](s *Server, c *gin.Context, key func() error) (func(*R) error, bool) {
	var req Req
	if err := decodeCapped(c, maxNotificationAdminBody, &req); err != nil {
		writeError(c, err)
		return nil, false
	}
	if err := key(); err != nil {
		writeError(c, err)
		return nil, false
	}
	l, ok := s.adminLookups(c)
	if !ok {
		return nil, false
	}
	return func(r *R) error { return req.apply(r, false, l) }, true
}

// keepField refuses a PATCH that tries to change a record's key.
func keepField(problems map[string]string, field string, given *string, current string) {
	if given != nil && *given != current {
		problems[field] = "cannot be changed; create a new record instead"
	}
}

// --- events ----------------------------------------------------------------------------------

// CatalogEventRequest creates (code and module required) or updates (absent fields kept) an
// event of the catalog.
type CatalogEventRequest struct {
	Code          *string         `json:"code"`
	Module        *string         `json:"module"`
	Name          *string         `json:"name"`
	Description   *string         `json:"description"`
	Active        *bool           `json:"active"`
	PayloadSchema json.RawMessage `json:"payload_schema"`
}

func (r CatalogEventRequest) apply(row *schema.EventCatalogRow, create bool, l schema.Lookups) error {
	problems := map[string]string{}
	if create {
		switch {
		case r.Code == nil || *r.Code == "":
			problems["code"] = "required"
		case !eventCodePattern.MatchString(*r.Code):
			problems["code"] = "must be an event code (letters, digits, _ . : -, at most 100 characters)"
		default:
			row.Code = *r.Code
		}
		if r.Module == nil {
			problems["module"] = "required"
		}
	} else {
		keepField(problems, "code", r.Code, row.Code)
	}
	if r.Module != nil {
		if !lookupCodes(l, lookupModule)[*r.Module] {
			problems["module"] = "must be a module's code (see " + notificationRoute("lookups") + ")"
		}
		row.Module = *r.Module
	}
	if r.Name != nil {
		if msg := textProblem(*r.Name, maxNameLength); msg != "" {
			problems["name"] = msg
		}
		row.Name = strings.TrimSpace(*r.Name)
	}
	if create && row.Name == "" {
		row.Name = row.Code
	}
	if r.Description != nil {
		if msg := bodyTextProblem(*r.Description, maxDescription); msg != "" {
			problems["description"] = msg
		}
		row.Description = *r.Description
	}
	if r.Active != nil {
		row.Active = *r.Active
	} else if create {
		row.Active = true
	}
	if r.PayloadSchema != nil {
		switch {
		case len(r.PayloadSchema) > maxPayloadSchema:
			problems["payload_schema"] = "must be at most " + strconv.Itoa(maxPayloadSchema) + " bytes"
		case jsonProblem(r.PayloadSchema, true) != "":
			problems["payload_schema"] = jsonProblem(r.PayloadSchema, true)
		default:
			row.PayloadSchema = r.PayloadSchema
		}
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	return nil
}

// eventCode reads :code; a malformed one names nothing.
func eventCode(c *gin.Context) (string, error) {
	code := c.Param("code")
	if !eventCodePattern.MatchString(code) {
		return "", errNoCatalogEvent
	}
	return code, nil
}

var (
	errNoCatalogEvent = newError(http.StatusNotFound, CodeNotFound, "no such event")
	errNoRule         = newError(http.StatusNotFound, CodeNotFound, "no such rule")
	errNoTemplate     = newError(http.StatusNotFound, CodeNotFound, "no such template")
	errNoRecipient    = newError(http.StatusNotFound, CodeNotFound, "no such recipient")
)

func (s *Server) createCatalogEvent(c *gin.Context) {
	row, ok := newAdminRow[CatalogEventRequest, schema.EventCatalogRow](s, c)
	if !ok {
		return
	}
	created, err := s.store.CreateCatalogEvent(c.Request.Context(), row)
	if err != nil {
		writeError(c, conflictAs(storeRefusal(err, "module"), "code", "an event with this code already exists"))
		return
	}
	writeData(c, http.StatusCreated, newCatalogEventView(created))
}

func (s *Server) getCatalogEvent(c *gin.Context) {
	code, err := eventCode(c)
	if err == nil {
		var row schema.EventCatalogRow
		if row, err = s.store.GetCatalogEvent(c.Request.Context(), code); err == nil {
			writeData(c, http.StatusOK, newCatalogEventView(row))
			return
		}
	}
	writeError(c, notFoundAs(err, "event"))
}

func (s *Server) updateCatalogEvent(c *gin.Context) {
	var code string
	change, ok := adminChange[CatalogEventRequest, schema.EventCatalogRow](s, c, func() (err error) {
		code, err = eventCode(c)
		return err
	})
	if !ok {
		return
	}
	row, err := s.store.UpdateCatalogEvent(c.Request.Context(), code, change)
	if err != nil {
		writeError(c, notFoundAs(storeRefusal(err, "module"), "event"))
		return
	}
	writeData(c, http.StatusOK, newCatalogEventView(row))
}

// deleteCatalogEvent removes an event with its rules and templates.
func (s *Server) deleteCatalogEvent(c *gin.Context) {
	code, err := eventCode(c)
	if err == nil {
		err = s.store.DeleteCatalogEvent(c.Request.Context(), code)
	}
	if err != nil {
		writeError(c, notFoundAs(err, "event"))
		return
	}
	writeData(c, http.StatusOK, gin.H{"code": code, "deleted": true})
}

// --- rules -----------------------------------------------------------------------------------

// RuleRequest creates (event_code, recipient_policy and channels required) or updates (absent
// fields kept) an event rule.
type RuleRequest struct {
	// ID is made when absent.
	ID              *string `json:"id"`
	EventCode       *string `json:"event_code"`
	Name            *string `json:"name"`
	RecipientPolicy *string `json:"recipient_policy"`
	// RecipientConfig is the policy's: explicit {users: [{actor_type, user_id}]}, role {role,
	// actor_type?}, payload_user {field?, actor_type?}, on_call {actor_type?}.
	RecipientConfig json.RawMessage `json:"recipient_config"`
	Priority        *string         `json:"priority"`
	MaxAttempts     *int            `json:"max_attempts"`
	Critical        *bool           `json:"critical"`
	Active          *bool           `json:"active"`
	Channels        *[]string       `json:"channels"`
}

// recipientConfig is a rule's recipient_config as the flow reads it.
type recipientConfig struct {
	Users     []workflows.Recipient `json:"users,omitempty"`
	Role      string                `json:"role,omitempty"`
	ActorType string                `json:"actor_type,omitempty"`
	Field     string                `json:"field,omitempty"`
}

func (r RuleRequest) apply(row *schema.RuleRow, create bool, l schema.Lookups) error {
	problems := map[string]string{}
	if create {
		switch {
		case r.ID == nil || *r.ID == "":
			row.ID = uuid.NewString()
		case !ruleIDPattern.MatchString(*r.ID):
			problems["id"] = "must be letters, digits, _ . : - (at most 100 characters)"
		default:
			row.ID = *r.ID
		}
		switch {
		case r.EventCode == nil || *r.EventCode == "":
			problems["event_code"] = "required"
		case !eventCodePattern.MatchString(*r.EventCode):
			problems["event_code"] = "must be an event code"
		default:
			row.EventCode = *r.EventCode
		}
		if r.RecipientPolicy == nil {
			problems["recipient_policy"] = "required: explicit, role, payload_user or on_call"
		}
		if r.Channels == nil {
			problems["channels"] = "required: at least one channel"
		}
		row.Active, row.MaxAttempts, row.Priority = true, 3, "NORMAL"
	} else {
		keepField(problems, "id", r.ID, row.ID)
		keepField(problems, "event_code", r.EventCode, row.EventCode)
	}
	if r.Name != nil {
		if msg := textProblem(*r.Name, maxNameLength); msg != "" {
			problems["name"] = msg
		}
		row.Name = strings.TrimSpace(*r.Name)
	}
	if row.Name == "" {
		row.Name = row.EventCode
	}
	if r.RecipientPolicy != nil {
		switch *r.RecipientPolicy {
		case policyExplicit, policyRole, policyPayloadUser, policyOnCall:
			row.RecipientPolicy = *r.RecipientPolicy
		default:
			problems["recipient_policy"] = "must be explicit, role, payload_user or on_call"
		}
	}
	if r.RecipientConfig != nil {
		row.RecipientConfig = r.RecipientConfig
	}
	if _, bad := problems["recipient_policy"]; !bad && row.RecipientPolicy != "" {
		config, msg := checkRecipientConfig(row.RecipientPolicy, row.RecipientConfig, lookupCodes(l, lookupActorType))
		if msg != "" {
			problems["recipient_config"] = msg
		} else {
			row.RecipientConfig = config
		}
	}
	if r.Priority != nil {
		if !lookupCodes(l, lookupPriority)[*r.Priority] {
			problems["priority"] = "must be a priority's code (see " + notificationRoute("lookups") + ")"
		}
		row.Priority = *r.Priority
	}
	if r.MaxAttempts != nil {
		if *r.MaxAttempts < 1 || *r.MaxAttempts > 50 {
			problems["max_attempts"] = "must be 1 to 50"
		}
		row.MaxAttempts = *r.MaxAttempts
	}
	if r.Critical != nil {
		row.Critical = *r.Critical
	}
	if r.Active != nil {
		row.Active = *r.Active
	}
	if r.Channels != nil {
		if msg := channelsProblem(*r.Channels, lookupCodes(l, lookupChannel)); msg != "" {
			problems["channels"] = msg
		}
		row.Channels = *r.Channels
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	return nil
}

// channelsProblem says what is wrong with a rule's channels.
func channelsProblem(channels []string, known map[string]bool) string {
	if len(channels) == 0 {
		return "at least one channel"
	}
	seen := map[string]bool{}
	for _, ch := range channels {
		switch {
		case !known[ch]:
			return "unknown channel " + strconv.Quote(clip(ch, 50)) + ": channels are the lookup's codes (SMS, EMAIL, IN_APP, PUSH)"
		case seen[ch]:
			return "names " + ch + " twice"
		}
		seen[ch] = true
	}
	return ""
}

// checkRecipientConfig checks a rule's recipient_config for its policy and answers it
// normalised.
func checkRecipientConfig(policy string, raw json.RawMessage, actorTypes map[string]bool) (json.RawMessage, string) {
	var cfg recipientConfig
	if len(raw) > 0 && string(raw) != "null" {
		if len(raw) > maxPayloadSchema {
			return nil, "must be at most " + strconv.Itoa(maxPayloadSchema) + " bytes"
		}
		if err := decodeStrict(raw, &cfg); err != nil {
			return nil, "must be an object with users, role, actor_type or field: " + err.Error()
		}
	}
	if cfg.ActorType != "" && !actorTypes[cfg.ActorType] {
		return nil, "actor_type must be an actor type's code"
	}
	switch policy {
	case policyExplicit:
		if len(cfg.Users) == 0 || len(cfg.Users) > maxExplicitUsers {
			return nil, "the explicit policy needs users: 1 to " + strconv.Itoa(maxExplicitUsers) + " of {actor_type, user_id}"
		}
		for i, u := range cfg.Users {
			if u.ActorType != "" && !actorTypes[u.ActorType] {
				return nil, "users[" + strconv.Itoa(i) + "].actor_type must be an actor type's code"
			}
			if msg := userIDProblem(u.UserID); msg != "" {
				return nil, "users[" + strconv.Itoa(i) + "].user_id: " + msg
			}
		}
		if cfg.Role != "" || cfg.Field != "" {
			return nil, "the explicit policy takes users (and actor_type) only"
		}
	case policyRole:
		if !roleName.MatchString(cfg.Role) {
			return nil, "the role policy needs role: letters, digits, _ . : - (at most 64 characters)"
		}
		if len(cfg.Users) > 0 || cfg.Field != "" {
			return nil, "the role policy takes role (and actor_type) only"
		}
	case policyPayloadUser:
		if cfg.Field != "" && !payloadField.MatchString(cfg.Field) {
			return nil, "field must be a dotted path into the payload, such as user_id or customer.id"
		}
		if len(cfg.Users) > 0 || cfg.Role != "" {
			return nil, "the payload_user policy takes field and actor_type only"
		}
	case policyOnCall:
		if len(cfg.Users) > 0 || cfg.Role != "" || cfg.Field != "" {
			return nil, "the on_call policy takes actor_type only"
		}
	}
	out, _ := json.Marshal(cfg)
	return out, ""
}

// ruleID reads :id; a malformed one names nothing.
func ruleID(c *gin.Context, missing error) (string, error) {
	id := c.Param("id")
	if !ruleIDPattern.MatchString(id) {
		return "", missing
	}
	return id, nil
}

// eventExists answers a 400 on event_code when the catalog has no such event.
func (s *Server) eventExists(ctx context.Context, code string) error {
	_, err := s.store.GetCatalogEvent(ctx, code)
	if errors.Is(err, schema.ErrNotFound) {
		return fieldError("event_code", "no such event in the catalog")
	}
	return err
}

func (s *Server) createRule(c *gin.Context) {
	row, ok := newAdminRow[RuleRequest, schema.RuleRow](s, c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if err := s.eventExists(ctx, row.EventCode); err != nil {
		writeError(c, err)
		return
	}
	created, err := s.store.CreateRule(ctx, row)
	if err != nil {
		writeError(c, conflictAs(storeRefusal(err, "event_code"), "id", "a rule with this id already exists"))
		return
	}
	writeData(c, http.StatusCreated, newRuleView(created))
}

func (s *Server) getRule(c *gin.Context) {
	id, err := ruleID(c, errNoRule)
	if err == nil {
		var row schema.RuleRow
		if row, err = s.store.GetRule(c.Request.Context(), id); err == nil {
			writeData(c, http.StatusOK, newRuleView(row))
			return
		}
	}
	writeError(c, notFoundAs(err, "rule"))
}

func (s *Server) updateRule(c *gin.Context) {
	var id string
	change, ok := adminChange[RuleRequest, schema.RuleRow](s, c, func() (err error) {
		id, err = ruleID(c, errNoRule)
		return err
	})
	if !ok {
		return
	}
	row, err := s.store.UpdateRule(c.Request.Context(), id, change)
	if err != nil {
		writeError(c, notFoundAs(storeRefusal(err, "channels"), "rule"))
		return
	}
	writeData(c, http.StatusOK, newRuleView(row))
}

func (s *Server) deleteRule(c *gin.Context) {
	id, err := ruleID(c, errNoRule)
	if err == nil {
		err = s.store.DeleteRule(c.Request.Context(), id)
	}
	if err != nil {
		writeError(c, notFoundAs(err, "rule"))
		return
	}
	writeData(c, http.StatusOK, gin.H{"id": id, "deleted": true})
}

// --- templates -------------------------------------------------------------------------------

// TemplateRequest creates (event_code, channel and body required) or updates (absent fields
// kept) a message template. Placeholders are {{ name }}: a payload path (order.id), or
// recipient.* and event.code.
type TemplateRequest struct {
	// ID is made when absent.
	ID        *string `json:"id"`
	EventCode *string `json:"event_code"`
	Channel   *string `json:"channel"`
	// Language defaults to en (the fallback of every recipient).
	Language *string `json:"language"`
	Subject  *string `json:"subject"`
	Body     *string `json:"body"`
	Active   *bool   `json:"active"`
}

func (r TemplateRequest) apply(row *schema.TemplateRow, create bool, l schema.Lookups) error {
	problems := map[string]string{}
	if create {
		switch {
		case r.ID == nil || *r.ID == "":
			row.ID = uuid.NewString()
		case !ruleIDPattern.MatchString(*r.ID):
			problems["id"] = "must be letters, digits, _ . : - (at most 100 characters)"
		default:
			row.ID = *r.ID
		}
		switch {
		case r.EventCode == nil || *r.EventCode == "":
			problems["event_code"] = "required"
		case !eventCodePattern.MatchString(*r.EventCode):
			problems["event_code"] = "must be an event code"
		default:
			row.EventCode = *r.EventCode
		}
		if r.Channel == nil {
			problems["channel"] = "required"
		}
		if r.Body == nil {
			problems["body"] = "required"
		}
		row.Language, row.Active = "en", true
	} else {
		keepField(problems, "id", r.ID, row.ID)
		keepField(problems, "event_code", r.EventCode, row.EventCode)
	}
	if r.Channel != nil {
		if !lookupCodes(l, lookupChannel)[*r.Channel] {
			problems["channel"] = "must be a channel's code (SMS, EMAIL, IN_APP, PUSH)"
		}
		row.Channel = *r.Channel
	}
	if r.Language != nil {
		if !languagePattern.MatchString(*r.Language) {
			problems["language"] = "must be a language tag such as en, sw or pt-BR"
		}
		row.Language = *r.Language
	}
	if r.Subject != nil {
		if msg := textProblem(*r.Subject, maxSubject); msg != "" {
			problems["subject"] = msg
		} else if msg := placeholderProblem(*r.Subject); msg != "" {
			problems["subject"] = msg
		}
		row.Subject = *r.Subject
	}
	if r.Body != nil {
		switch {
		case strings.TrimSpace(*r.Body) == "":
			problems["body"] = "required"
		case bodyTextProblem(*r.Body, maxTemplateBody) != "":
			problems["body"] = bodyTextProblem(*r.Body, maxTemplateBody)
		case placeholderProblem(*r.Body) != "":
			problems["body"] = placeholderProblem(*r.Body)
		}
		row.Body = *r.Body
	}
	if r.Active != nil {
		row.Active = *r.Active
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	return nil
}

// placeholderProblem checks a template's placeholders: every {{ is closed by }} around one name
// (letters, digits, _ . -).
func placeholderProblem(text string) string {
	rest := text
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			return ""
		}
		rest = rest[open+2:]
		end := strings.Index(rest, "}}")
		if end < 0 {
			return "a placeholder opened with {{ is never closed with }}"
		}
		if name := rest[:end]; !placeholderName.MatchString(name) {
			return "placeholder {{" + clip(name, 40) + "}} must name one value: letters, digits, _ . - (such as {{ order.id }})"
		}
		rest = rest[end+2:]
	}
}

func (s *Server) createTemplate(c *gin.Context) {
	row, ok := newAdminRow[TemplateRequest, schema.TemplateRow](s, c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if err := s.eventExists(ctx, row.EventCode); err != nil {
		writeError(c, err)
		return
	}
	created, err := s.store.CreateTemplate(ctx, row)
	if err != nil {
		writeError(c, conflictAs(storeRefusal(err, "event_code"), "id",
			"a template with this id, or for this event, channel and language, already exists"))
		return
	}
	writeData(c, http.StatusCreated, newTemplateView(created))
}

func (s *Server) getTemplate(c *gin.Context) {
	id, err := ruleID(c, errNoTemplate)
	if err == nil {
		var row schema.TemplateRow
		if row, err = s.store.GetTemplate(c.Request.Context(), id); err == nil {
			writeData(c, http.StatusOK, newTemplateView(row))
			return
		}
	}
	writeError(c, notFoundAs(err, "template"))
}

func (s *Server) updateTemplate(c *gin.Context) {
	var id string
	change, ok := adminChange[TemplateRequest, schema.TemplateRow](s, c, func() (err error) {
		id, err = ruleID(c, errNoTemplate)
		return err
	})
	if !ok {
		return
	}
	row, err := s.store.UpdateTemplate(c.Request.Context(), id, change)
	if err != nil {
		writeError(c, notFoundAs(conflictAs(storeRefusal(err, "channel"), "language",
			"a template for this event, channel and language already exists"), "template"))
		return
	}
	writeData(c, http.StatusOK, newTemplateView(row))
}

func (s *Server) deleteTemplate(c *gin.Context) {
	id, err := ruleID(c, errNoTemplate)
	if err == nil {
		err = s.store.DeleteTemplate(c.Request.Context(), id)
	}
	if err != nil {
		writeError(c, notFoundAs(err, "template"))
		return
	}
	writeData(c, http.StatusOK, gin.H{"id": id, "deleted": true})
}

// --- recipients ------------------------------------------------------------------------------

// RecipientRequest creates (actor_type and user_id required) or updates (absent fields kept) a
// recipient of the directory (notification_user).
type RecipientRequest struct {
	ActorType *string `json:"actor_type"`
	UserID    *string `json:"user_id"`
	Name      *string `json:"name"`
	Email     *string `json:"email"`
	// Phone is digits with an optional leading + (E.164: +255700000001).
	Phone     *string   `json:"phone"`
	PushToken *string   `json:"push_token"`
	Roles     *[]string `json:"roles"`
	// OnCall puts the recipient on the on-call rota (escalations, policy on_call).
	OnCall *bool `json:"on_call"`
	Active *bool `json:"active"`
}

func (r RecipientRequest) apply(row *schema.NotificationUserRow, create bool, l schema.Lookups) error {
	problems := map[string]string{}
	if create {
		if r.ActorType == nil || !lookupCodes(l, lookupActorType)[*r.ActorType] {
			problems["actor_type"] = "required: an actor type's code (see " + notificationRoute("lookups") + ")"
		} else {
			row.ActorType = *r.ActorType
		}
		if r.UserID == nil {
			problems["user_id"] = "required"
		} else if msg := userIDProblem(*r.UserID); msg != "" {
			problems["user_id"] = msg
		} else {
			row.UserID = *r.UserID
		}
		row.Active, row.Roles = true, pq.StringArray{}
	} else {
		keepField(problems, "actor_type", r.ActorType, row.ActorType)
		keepField(problems, "user_id", r.UserID, row.UserID)
	}
	if r.Name != nil {
		if msg := textProblem(*r.Name, maxNameLength); msg != "" {
			problems["name"] = msg
		}
		row.Name = strings.TrimSpace(*r.Name)
	}
	if r.Email != nil {
		row.Email = strings.TrimSpace(*r.Email)
		if row.Email != "" {
			if a, err := mail.ParseAddress(row.Email); err != nil || a.Address != row.Email || len(row.Email) > 254 ||
				hasControl(row.Email) {
				problems["email"] = "must be an e-mail address such as ops@example.com"
			}
		}
	}
	if r.Phone != nil {
		row.Phone = strings.TrimSpace(*r.Phone)
		if row.Phone != "" && !phonePattern.MatchString(row.Phone) {
			problems["phone"] = "must be a phone number: digits with an optional leading + (6 to 20 digits)"
		}
	}
	if r.PushToken != nil {
		if msg := textProblem(*r.PushToken, maxPushToken); msg != "" {
			problems["push_token"] = msg
		}
		row.PushToken = *r.PushToken
	}
	if r.Roles != nil {
		if len(*r.Roles) > maxRoles {
			problems["roles"] = "at most " + strconv.Itoa(maxRoles) + " roles"
		}
		for _, role := range *r.Roles {
			if !roleName.MatchString(role) {
				problems["roles"] = "roles are names of letters, digits, _ . : - (at most 64 characters)"
			}
		}
		row.Roles = pq.StringArray(*r.Roles)
	}
	if r.OnCall != nil {
		row.OnCall = *r.OnCall
	}
	if r.Active != nil {
		row.Active = *r.Active
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	return nil
}

// recipientView is a recipient of the directory as operators read it.
type directoryRecipientView struct {
	ActorType string    `json:"actor_type"`
	UserID    string    `json:"user_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	PushToken string    `json:"push_token"`
	Roles     []string  `json:"roles"`
	OnCall    bool      `json:"on_call"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newDirectoryRecipientView(r schema.NotificationUserRow) directoryRecipientView {
	return directoryRecipientView{ActorType: r.ActorType, UserID: r.UserID, Name: r.Name, Email: r.Email, Phone: r.Phone,
		PushToken: r.PushToken, Roles: nonNil(r.Roles), OnCall: r.OnCall, Active: r.Active, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt}
}

// recipientKey reads :actor_type and :user_id; malformed ones name nobody.
func recipientKey(c *gin.Context) (string, string, error) {
	actorType, userID := c.Param("actor_type"), c.Param("user_id")
	if !lookupCodePattern.MatchString(actorType) || userIDProblem(userID) != "" {
		return "", "", errNoRecipient
	}
	return actorType, userID, nil
}

func (s *Server) listRecipients(c *gin.Context) {
	listedBy(c, func(p schema.Page) ([]schema.NotificationUserRow, error) {
		return s.store.ListNotificationUsers(c.Request.Context(), p)
	}, func(r schema.NotificationUserRow) string { return r.ActorType + "/" + r.UserID }, newDirectoryRecipientView)
}

func (s *Server) createRecipient(c *gin.Context) {
	row, ok := newAdminRow[RecipientRequest, schema.NotificationUserRow](s, c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	_, err := s.store.GetNotificationUser(ctx, row.ActorType, row.UserID)
	switch {
	case err == nil:
		writeError(c, &Error{Status: http.StatusConflict, Code: CodeConflict,
			Message: "this recipient already exists; PATCH it instead", Details: map[string]any{"field": "user_id"}})
		return
	case !errors.Is(err, schema.ErrNotFound):
		writeError(c, err)
		return
	}
	saved, err := s.store.UpsertNotificationUser(ctx, row)
	if err != nil {
		writeError(c, storeRefusal(err, "actor_type"))
		return
	}
	writeData(c, http.StatusCreated, newDirectoryRecipientView(saved))
}

func (s *Server) getRecipient(c *gin.Context) {
	actorType, userID, err := recipientKey(c)
	if err == nil {
		var row schema.NotificationUserRow
		if row, err = s.store.GetNotificationUser(c.Request.Context(), actorType, userID); err == nil {
			writeData(c, http.StatusOK, newDirectoryRecipientView(row))
			return
		}
	}
	writeError(c, notFoundAs(err, "recipient"))
}

// changeRecipient reads a recipient, applies change and writes it back.
func (s *Server) changeRecipient(c *gin.Context, change func(*schema.NotificationUserRow, schema.Lookups) error) {
	actorType, userID, err := recipientKey(c)
	if err != nil {
		writeError(c, err)
		return
	}
	l, ok := s.adminLookups(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	row, err := s.store.GetNotificationUser(ctx, actorType, userID)
	if err != nil {
		writeError(c, notFoundAs(err, "recipient"))
		return
	}
	if err := change(&row, l); err != nil {
		writeError(c, err)
		return
	}
	saved, err := s.store.UpsertNotificationUser(ctx, row)
	if err != nil {
		writeError(c, storeRefusal(err, "actor_type"))
		return
	}
	writeData(c, http.StatusOK, newDirectoryRecipientView(saved))
}

func (s *Server) updateRecipient(c *gin.Context) {
	var req RecipientRequest
	if err := decodeCapped(c, maxNotificationAdminBody, &req); err != nil {
		writeError(c, err)
		return
	}
	s.changeRecipient(c, func(r *schema.NotificationUserRow, l schema.Lookups) error { return req.apply(r, false, l) })
}

// deactivateRecipient takes a recipient out of every policy (active false), as the admin API
// does with clients and channels: their messages' history keeps naming them.
func (s *Server) deactivateRecipient(c *gin.Context) {
	s.changeRecipient(c, func(r *schema.NotificationUserRow, _ schema.Lookups) error {
		r.Active, r.OnCall = false, false
		return nil
	})
}

// --- escalation signals ----------------------------------------------------------------------

// notificationSignals are the signals an escalation of a failed critical message takes.
var notificationSignals = map[string]bool{workflows.SignalAck: true, workflows.SignalRetry: true,
	workflows.SignalAbort: true}

// signalNotificationEscalation sends ack, retry or abort to the escalation of a failed critical
// message (workflow notification-escalation:<outbox id>): the same signals as `temporal
// workflow signal`, for operators without the CLI.
func (s *Server) signalNotificationEscalation(c *gin.Context) {
	name := c.Param("signal")
	if !notificationSignals[name] {
		writeError(c, fieldError("signal", "must be ack, retry or abort"))
		return
	}
	req, err := readSignalRequest(c)
	if err != nil {
		writeError(c, err)
		return
	}
	id, ok := pathID(c, "id")
	if !ok {
		writeError(c, errNoOutbox)
		return
	}
	ctx := c.Request.Context()
	row, err := s.store.GetOutbox(ctx, id)
	if err != nil {
		writeError(c, notFoundAs(err, "outbox message"))
		return
	}
	if !row.EscalationRequired {
		writeError(c, newError(http.StatusConflict, CodeNotEscalated,
			"the message is "+row.Status+" and was not escalated: only a critical message that failed for good takes these signals"))
		return
	}
	workflowID := workflows.NotificationEscalationWorkflowID(row.ID)
	err = s.temporal.SignalWorkflow(ctx, workflowID, "", name, workflows.OperatorSignal{Note: req.Note, By: "admin"})
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		writeError(c, newError(http.StatusConflict, CodeNotEscalated, "the message's escalation is not running (it ended)"))
		return
	case err != nil:
		writeError(c, unavailable(c, workflowID, err))
		return
	}
	writeData(c, http.StatusAccepted, gin.H{"outbox_id": row.ID, "workflow_id": workflowID, "signal": name})
}
