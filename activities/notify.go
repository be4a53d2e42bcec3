package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// Notification family constants the activities need to start workflows of their own (the hub's
// escalations emit through Notify); workflows/ names them for everyone else.
const (
	// NotificationTaskQueue is the notification family's task queue.
	NotificationTaskQueue = "notification"
	// NotifyWorkflowType is the workflow type of one emit.
	NotifyWorkflowType = "Notify"
	// EventNotificationEscalated is the event of the messages an escalation sends on call.
	EventNotificationEscalated = "switchyard.notification.escalated"
	// EventTransactionEscalated is emitted when a proxied transaction or a card transfer
	// escalates.
	EventTransactionEscalated = "switchyard.transaction.escalated"
)

// Notification channels (lk_channel).
const (
	ChannelSMS   = "SMS"
	ChannelEmail = "EMAIL"
	ChannelPush  = "PUSH"
	ChannelInApp = "IN_APP"
)

// Recipient policies of an event rule (event_rule.recipient_policy).
const (
	PolicyExplicit    = "explicit"
	PolicyRole        = "role"
	PolicyPayloadUser = "payload_user"
	PolicyOnCall      = "on_call"
)

// Reasons an emit made no message.
const (
	ReasonUnknownEvent  = "unknown_event"
	ReasonEventInactive = "event_inactive"
	ReasonNoActiveRule  = "no_active_rule"
	ReasonNoRecipient   = "no_recipient"
	ReasonNoChannel     = "no_channel"
)

// defaultActorType is the actor type of a recipient named without one.
const defaultActorType = "USER"

// maxNotifyRecipients bounds the recipients of one emit, all rules together: every message is
// a row and a child workflow.
const maxNotifyRecipients = 500

// NotificationStore is the part of schema.Store the notification family uses.
type NotificationStore interface {
	GetCatalogEvent(ctx context.Context, code string) (schema.EventCatalogRow, error)
	ActiveRules(ctx context.Context, eventCode string) ([]schema.RuleRow, error)
	GetNotificationUser(ctx context.Context, actorType, userID string) (schema.NotificationUserRow, error)
	UsersWithRole(ctx context.Context, role string) ([]schema.NotificationUserRow, error)
	OnCallUsers(ctx context.Context) ([]schema.NotificationUserRow, error)
	GetPreference(ctx context.Context, actorType, userID string) (schema.PreferenceRow, error)
	FindTemplate(ctx context.Context, eventCode, channel, language string) (schema.TemplateRow, error)
	CreateNotificationEvent(ctx context.Context, r schema.NotificationEventRow) (schema.NotificationEventRow, bool, error)
	FinishNotificationEvent(ctx context.Context, id, disposition, reason string, messages int) error
	InsertOutbox(ctx context.Context, r schema.OutboxRow) (schema.OutboxRow, bool, error)
	GetOutbox(ctx context.Context, id string) (schema.OutboxRow, error)
	SetOutboxWaiting(ctx context.Context, id string, next time.Time) error
	RecordNotificationAttempt(ctx context.Context, a schema.DeliveryAttempt) (schema.OutboxRow, error)
	CreateInAppMessage(ctx context.Context, r schema.InAppMessageRow) (schema.InAppMessageRow, error)
}

// Notifications is what the notification family needs: its tables, the transports of each
// channel, and a Temporal client (the hub's own escalations emit through Notify).
type Notifications struct {
	Store      NotificationStore
	Transports NotificationTransports
	Temporal   Starter
}

// Recipient names one person of the directory (notification_user).
type Recipient struct {
	ActorType string `json:"actor_type"`
	UserID    string `json:"user_id"`
}

// NotifyInput is one emit: the event, its payload and, optionally, explicit recipients that
// replace the rules' recipient policies.
type NotifyInput struct {
	NotificationID string
	ClientID       string
	EventCode      string
	Payload        json.RawMessage
	Recipients     []Recipient `json:",omitempty"`
	IdempotencyKey string
}

// PlanNotificationInput is an emit to plan and the workflow's time, for quiet hours.
type PlanNotificationInput struct {
	Notify NotifyInput
	At     time.Time
}

// PlannedMessage is one outbox message an emit made (or found made by an earlier run).
type PlannedMessage struct {
	OutboxID  string
	Channel   string
	Recipient Recipient
	Status    string
	Final     bool
	Error     string `json:",omitempty"`
	// New: this run inserted it.
	New bool
	// NotBefore is the end of the recipient's quiet hours when the message must wait.
	NotBefore *time.Time `json:",omitempty"`
	// Escalate: a critical message that failed for good at planning; its escalation starts.
	Escalate bool `json:",omitempty"`
}

// NotificationPlan is what an emit comes to: a disposition and reason when it ends here
// (failed or suppressed, already recorded), else its messages; Skipped says why recipients or
// channels made no message.
type NotificationPlan struct {
	Disposition string `json:",omitempty"`
	Reason      string `json:",omitempty"`
	Messages    []PlannedMessage
	Skipped     []string `json:",omitempty"`
}

// PlanNotification takes an emit through the catalogue, its active rules, their recipients,
// the recipients' preferences, the channels and the templates, and queues its messages in the
// outbox. An unknown or inactive event fails the emit, an event without an active rule (or
// without any recipient or channel) is suppressed; both are recorded here. A message whose
// template is missing or does not render is queued FAILED and final with the reason. Every
// message's outbox id derives from its idempotency key, so a repeat creates nothing new.
func (a *Activities) PlanNotification(ctx context.Context, in PlanNotificationInput) (NotificationPlan, error) {
	plan, err := a.planNotification(ctx, in)
	return plan, classify(err)
}

func (a *Activities) planNotification(ctx context.Context, in PlanNotificationInput) (NotificationPlan, error) {
	st := a.Notifications.Store
	n := in.Notify
	if n.NotificationID == "" || n.EventCode == "" {
		return NotificationPlan{}, &InvalidRequestError{Reason: "a notification needs an id and an event code"}
	}
	end := func(disposition, reason string) (NotificationPlan, error) {
		if err := st.FinishNotificationEvent(ctx, n.NotificationID, disposition, reason, 0); err != nil {
			return NotificationPlan{}, fmt.Errorf("recording the notification's disposition: %w", err)
		}
		return NotificationPlan{Disposition: disposition, Reason: reason}, nil
	}
	event, err := st.GetCatalogEvent(ctx, n.EventCode)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return end(transaction.NotificationFailed, ReasonUnknownEvent)
	case err != nil:
		return NotificationPlan{}, fmt.Errorf("reading event %s: %w", n.EventCode, err)
	case !event.Active:
		return end(transaction.NotificationFailed, ReasonEventInactive)
	}
	rules, err := st.ActiveRules(ctx, n.EventCode)
	if err != nil {
		return NotificationPlan{}, fmt.Errorf("reading the rules of %s: %w", n.EventCode, err)
	}
	if len(rules) == 0 {
		return end(transaction.NotificationSuppressed, ReasonNoActiveRule)
	}
	payload, err := decodePayload(n.Payload)
	if err != nil {
		return NotificationPlan{}, &InvalidRequestError{Reason: err.Error()}
	}
	var plan NotificationPlan
	recipientsSeen := 0
	for _, rule := range rules {
		users, skipped, err := a.ruleRecipients(ctx, rule, n.Recipients, payload)
		if err != nil {
			return NotificationPlan{}, err
		}
		plan.Skipped = append(plan.Skipped, skipped...)
		recipientsSeen += len(users)
		if recipientsSeen > maxNotifyRecipients {
			return NotificationPlan{}, &InvalidRequestError{Reason: fmt.Sprintf("more than %d recipients", maxNotifyRecipients)}
		}
		for _, user := range users {
			msgs, skipped, err := a.planRecipient(ctx, in, rule, user, payload)
			if err != nil {
				return NotificationPlan{}, err
			}
			plan.Messages = append(plan.Messages, msgs...)
			plan.Skipped = append(plan.Skipped, skipped...)
		}
	}
	if len(plan.Messages) == 0 {
		reason := ReasonNoChannel
		if recipientsSeen == 0 {
			reason = ReasonNoRecipient
		}
		out, err := end(transaction.NotificationSuppressed, reason)
		out.Skipped = plan.Skipped
		return out, err
	}
	return plan, nil
}

// ruleRecipients resolves a rule's recipients (explicit ones replace the policy), active
// directory entries only; the ones left out are named in skipped.
func (a *Activities) ruleRecipients(ctx context.Context, rule schema.RuleRow, explicit []Recipient,
	payload map[string]any) (users []schema.NotificationUserRow, skipped []string, err error) {
	st := a.Notifications.Store
	var cfg struct {
		Users     []Recipient `json:"users"`
		Role      string      `json:"role"`
		ActorType string      `json:"actor_type"`
		Field     string      `json:"field"`
	}
	if len(rule.RecipientConfig) > 0 {
		if err := json.Unmarshal(rule.RecipientConfig, &cfg); err != nil {
			return nil, nil, &InvalidRequestError{Reason: fmt.Sprintf("rule %s: recipient_config: %v", rule.ID, err)}
		}
	}
	named := explicit
	if len(named) == 0 {
		switch rule.RecipientPolicy {
		case PolicyExplicit:
			named = cfg.Users
		case PolicyPayloadUser:
			field := cfg.Field
			if field == "" {
				field = "user_id"
			}
			v, ok := lookupPath(payload, field)
			id := ""
			if ok {
				id = formatValue(v)
			}
			if id == "" {
				return nil, []string{fmt.Sprintf("rule %s: the payload has no %s", rule.ID, field)}, nil
			}
			named = []Recipient{{ActorType: cfg.ActorType, UserID: id}}
		case PolicyRole, PolicyOnCall:
			var rows []schema.NotificationUserRow
			if rule.RecipientPolicy == PolicyRole {
				if cfg.Role == "" {
					return nil, []string{fmt.Sprintf("rule %s: recipient_config has no role", rule.ID)}, nil
				}
				rows, err = st.UsersWithRole(ctx, cfg.Role)
			} else {
				rows, err = st.OnCallUsers(ctx)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("rule %s: listing recipients: %w", rule.ID, err)
			}
			for _, u := range rows {
				if u.Active && (cfg.ActorType == "" || u.ActorType == cfg.ActorType) {
					users = append(users, u)
				}
			}
			return users, nil, nil
		default:
			return nil, []string{fmt.Sprintf("rule %s: unknown recipient policy %q", rule.ID, rule.RecipientPolicy)}, nil
		}
	}
	seen := map[Recipient]bool{}
	for _, r := range named {
		if r.ActorType == "" {
			r.ActorType = defaultActorType
		}
		if r.UserID == "" || seen[r] {
			continue
		}
		seen[r] = true
		u, err := st.GetNotificationUser(ctx, r.ActorType, r.UserID)
		switch {
		case errors.Is(err, schema.ErrNotFound):
			skipped = append(skipped, fmt.Sprintf("%s %s: not in the directory", r.ActorType, r.UserID))
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("reading recipient %s %s: %w", r.ActorType, r.UserID, err)
		case !u.Active:
			skipped = append(skipped, fmt.Sprintf("%s %s: inactive", r.ActorType, r.UserID))
			continue
		}
		users = append(users, u)
	}
	return users, skipped, nil
}

// planRecipient queues one rule's messages to one recipient.
func (a *Activities) planRecipient(ctx context.Context, in PlanNotificationInput, rule schema.RuleRow,
	user schema.NotificationUserRow, payload map[string]any) (msgs []PlannedMessage, skipped []string, err error) {
	st := a.Notifications.Store
	n := in.Notify
	pref, err := st.GetPreference(ctx, user.ActorType, user.UserID)
	if errors.Is(err, schema.ErrNotFound) {
		pref, err = schema.PreferenceRow{Language: "en", TimeZone: "UTC"}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the preferences of %s %s: %w", user.ActorType, user.UserID, err)
	}
	channels, off := selectChannels(rule.Channels, pref.Channels, rule.Critical)
	for _, c := range off {
		skipped = append(skipped, fmt.Sprintf("%s %s: %s switched off", user.ActorType, user.UserID, c))
	}
	var notBefore *time.Time
	if !rule.Critical {
		if end, inside, err := quietHoursEnd(pref, in.At); err != nil {
			skipped = append(skipped, fmt.Sprintf("%s %s: quiet hours ignored: %v", user.ActorType, user.UserID, err))
		} else if inside {
			notBefore = &end
		}
	}
	language := pref.Language
	if language == "" {
		language = "en"
	}
	vars := templateVars{payload: payload, eventCode: n.EventCode, user: user}
	for _, channel := range channels {
		address := addressFor(user, channel)
		if address == "" {
			skipped = append(skipped, fmt.Sprintf("%s %s: no address for %s", user.ActorType, user.UserID, channel))
			continue
		}
		key := MessageIdempotencyKey(n.NotificationID, rule.ID, user.ActorType, user.UserID, channel)
		row := schema.OutboxRow{ID: OutboxIDFor(key), NotificationID: n.NotificationID, ClientID: n.ClientID,
			EventCode: n.EventCode, RuleID: rule.ID, IdempotencyKey: key, ActorType: user.ActorType, UserID: user.UserID,
			Channel: channel, RecipientAddress: address, Language: language, Priority: rule.Priority,
			Status: transaction.OutboxQueued, MaxAttempts: rule.MaxAttempts, Critical: rule.Critical,
			WorkflowID: transaction.WorkflowID(transaction.KindOutbox, OutboxIDFor(key))}
		if row.MaxAttempts < 1 {
			row.MaxAttempts = 1
		}
		tpl, err := st.FindTemplate(ctx, n.EventCode, channel, language)
		switch {
		case errors.Is(err, schema.ErrNotFound):
			row.Status, row.Final, row.Error = transaction.OutboxFailed, true,
				fmt.Sprintf("no template for %s %s in %s or en", n.EventCode, channel, language)
		case err != nil:
			return nil, nil, fmt.Errorf("reading the template of %s %s: %w", n.EventCode, channel, err)
		default:
			row.Language = tpl.Language
			row.Subject, err = render(tpl.Subject, vars)
			if err == nil {
				row.Body, err = render(tpl.Body, vars)
			}
			if err != nil {
				row.Subject, row.Body = "", ""
				row.Status, row.Final, row.Error = transaction.OutboxFailed, true, err.Error()
			}
		}
		if row.Final && rule.Critical {
			// A critical message that can never go (no template, a missing placeholder) failed
			// for good as surely as one whose gateway stayed down: on-call hears of it.
			row.EscalationRequired = true
		}
		if notBefore != nil && !row.Final {
			row.NextAttemptAt = notBefore
		}
		saved, created, err := st.InsertOutbox(ctx, row)
		if err != nil {
			return nil, nil, fmt.Errorf("queueing a message: %w", err)
		}
		msg := PlannedMessage{OutboxID: saved.ID, Channel: saved.Channel,
			Recipient: Recipient{ActorType: saved.ActorType, UserID: saved.UserID}, Status: saved.Status,
			Final: saved.Final, Error: saved.Error, New: created,
			Escalate: saved.Final && saved.EscalationRequired && saved.Status == transaction.OutboxFailed}
		if !saved.Final && saved.Status == transaction.OutboxQueued {
			// A plan run again (a retry, a worker that died before its result was recorded)
			// finds its rows made: their wait is the row's, so quiet hours hold either way.
			switch {
			case created:
				msg.NotBefore = notBefore
			case saved.NextAttemptAt != nil:
				next := *saved.NextAttemptAt
				msg.NotBefore = &next
			}
		}
		msgs = append(msgs, msg)
	}
	return msgs, skipped, nil
}

// FinishNotificationInput is an emit's end.
type FinishNotificationInput struct {
	NotificationID string
	Disposition    string
	Reason         string
	Messages       int
}

// FinishNotification records an emit's disposition and message count.
func (a *Activities) FinishNotification(ctx context.Context, in FinishNotificationInput) error {
	return classify(a.Notifications.Store.FinishNotificationEvent(ctx, in.NotificationID, in.Disposition, in.Reason,
		in.Messages))
}

// MessageIdempotencyKey is one message's key: a hash of the emit, the rule, the recipient and
// the channel. The SMS gateway gets it as Idempotency-Key.
func MessageIdempotencyKey(notificationID, ruleID, actorType, userID, channel string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{notificationID, ruleID, actorType, userID, channel}, "\x00")))
	return hex.EncodeToString(sum[:])
}

// OutboxIDFor is the outbox id of the message with an idempotency key.
func OutboxIDFor(key string) string {
	if len(key) > 32 {
		key = key[:32]
	}
	return "ob_" + key
}

// selectChannels is a rule's channels a recipient takes: the ones their preferences do not
// switch off (false), every one for a critical rule. off lists the ones left out.
func selectChannels(ruleChannels []string, prefs json.RawMessage, critical bool) (on, off []string) {
	switched := map[string]bool{}
	if len(prefs) > 0 {
		_ = json.Unmarshal(prefs, &switched) // a malformed preference leaves every channel on
	}
	seen := map[string]bool{}
	for _, c := range ruleChannels {
		c = strings.ToUpper(c)
		if seen[c] {
			continue
		}
		seen[c] = true
		if v, ok := switched[c]; ok && !v && !critical {
			off = append(off, c)
			continue
		}
		on = append(on, c)
	}
	sort.Strings(on)
	return on, off
}

// addressFor is where a channel reaches a recipient; "" when it cannot.
func addressFor(u schema.NotificationUserRow, channel string) string {
	switch channel {
	case ChannelSMS:
		return u.Phone
	case ChannelEmail:
		return u.Email
	case ChannelPush:
		return u.PushToken
	case ChannelInApp:
		return u.UserID
	}
	return ""
}

// quietHoursEnd reports whether at falls inside a recipient's quiet hours ("HH:MM" to
// "HH:MM" in their time zone, possibly across midnight) and when they end.
func quietHoursEnd(p schema.PreferenceRow, at time.Time) (time.Time, bool, error) {
	if p.QuietHoursStart == "" || p.QuietHoursEnd == "" {
		return time.Time{}, false, nil
	}
	tz := p.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("unknown time zone %q", tz)
	}
	start, err1 := clockMinutes(p.QuietHoursStart)
	end, err2 := clockMinutes(p.QuietHoursEnd)
	if err := errors.Join(err1, err2); err != nil {
		return time.Time{}, false, err
	}
	if start == end {
		return time.Time{}, false, nil
	}
	local := at.In(loc)
	now := local.Hour()*60 + local.Minute()
	// Clock time, not elapsed time: on a day the clocks change, 07:00 is still 07:00.
	endToday := time.Date(local.Year(), local.Month(), local.Day(), end/60, end%60, 0, 0, loc)
	switch {
	case start < end && now >= start && now < end:
		return endToday.UTC(), true, nil
	case start > end && now >= start:
		return time.Date(local.Year(), local.Month(), local.Day()+1, end/60, end%60, 0, 0, loc).UTC(), true, nil
	case start > end && now < end:
		return endToday.UTC(), true, nil
	}
	return time.Time{}, false, nil
}

func clockMinutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("quiet hours %q: want HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}
