package schema_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// notifyFixture is a module and an event of it with a unique code, so tests sharing the
// database never see each other's rows in a filtered listing.
type notifyFixture struct {
	module, event string
}

func newNotifyFixture(t *testing.T, s *schema.Store) notifyFixture {
	t.Helper()
	ctx := context.Background()
	tag := strings.ToUpper(uuid.NewString()[:8])
	f := notifyFixture{module: "MOD_" + tag, event: "event." + tag}
	_, err := s.PutLookups(ctx, schema.Lookups{schema.LookupModule: {{Code: f.module, Name: "Module " + tag}}})
	require.NoError(t, err)
	_, err = s.CreateCatalogEvent(ctx, schema.EventCatalogRow{Code: f.event, Module: f.module, Name: "Event",
		Active: true})
	require.NoError(t, err)
	return f
}

// emit records an emit of the fixture's event for client and queues one SMS message of it.
func (f notifyFixture) queue(t *testing.T, s *schema.Store, client string, change func(*schema.OutboxRow)) schema.OutboxRow {
	t.Helper()
	ctx := context.Background()
	ev, created, err := s.CreateNotificationEvent(ctx, schema.NotificationEventRow{ClientID: client, EventCode: f.event,
		Payload: json.RawMessage(`{"user_id":"u-1"}`)})
	require.NoError(t, err)
	require.True(t, created)
	r := schema.OutboxRow{NotificationID: ev.ID, ClientID: client, EventCode: f.event,
		IdempotencyKey: uuid.NewString(), ActorType: "USER", UserID: "u-1", Channel: "SMS",
		RecipientAddress: "+255700000001", Body: "hello", MaxAttempts: 3}
	if change != nil {
		change(&r)
	}
	row, created, err := s.InsertOutbox(ctx, r)
	require.NoError(t, err)
	require.True(t, created)
	return row
}

func TestNotificationLookupsHoldTheCodesTheHubUses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	l, err := s.NotificationLookups(ctx)
	require.NoError(t, err)
	codes := func(name string) []string {
		var out []string
		for _, r := range l[name] {
			out = append(out, r.Code)
		}
		return out
	}
	require.Subset(t, codes(schema.LookupChannel), []string{"SMS", "EMAIL", "IN_APP", "PUSH"})
	require.Subset(t, codes(schema.LookupStatus), []string{transaction.OutboxQueued, transaction.OutboxSent,
		transaction.OutboxDelivered, transaction.OutboxFailed, transaction.OutboxSuppressed})
	require.Subset(t, codes(schema.LookupActorType), []string{"USER", "STAFF", "CUSTOMER", "SYSTEM"})
	require.Subset(t, codes(schema.LookupModule), []string{"IDENTITY", "PAYMENTS", "SWITCHYARD", "SYNC"})
	prio := l[schema.LookupPriority]
	require.Equal(t, []string{"LOW", "NORMAL", "HIGH", "CRITICAL"}, codes(schema.LookupPriority), "priorities by rank")
	for i := 1; i < len(prio); i++ {
		require.Less(t, *prio[i-1].Rank, *prio[i].Rank)
	}
	require.Nil(t, l[schema.LookupChannel][0].Rank, "only priorities have a rank")

	t.Run("writing lookups adds the missing codes only", func(t *testing.T) {
		code := "MOD_" + strings.ToUpper(uuid.NewString()[:8])
		in := schema.Lookups{schema.LookupModule: {{Code: code, Name: "New"}, {Code: "SYNC", Name: "Renamed?"}}}
		n, err := s.PutLookups(ctx, in)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = s.PutLookups(ctx, in)
		require.NoError(t, err)
		require.Zero(t, n)
		_, err = s.PutLookups(ctx, schema.Lookups{"colour": {{Code: "RED", Name: "Red"}}})
		require.ErrorIs(t, err, schema.ErrInvalidNotification)
		_, err = s.PutLookups(ctx, schema.Lookups{schema.LookupPriority: {{Code: "URGENT", Name: "Urgent"}}})
		require.ErrorIs(t, err, schema.ErrInvalidNotification, "a priority needs its rank")
	})
}

func TestCatalogEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newNotifyFixture(t, s)

	got, err := s.GetCatalogEvent(ctx, f.event)
	require.NoError(t, err)
	require.JSONEq(t, `{}`, string(got.PayloadSchema), "no schema is stored as {}")
	_, err = s.CreateCatalogEvent(ctx, schema.EventCatalogRow{Code: f.event, Module: f.module, Name: "Again"})
	require.ErrorIs(t, err, schema.ErrConflict)
	_, err = s.CreateCatalogEvent(ctx, schema.EventCatalogRow{Code: f.event + ".x", Module: "NO_SUCH_MODULE"})
	require.ErrorIs(t, err, schema.ErrReference)
	for name, bad := range map[string]schema.EventCatalogRow{
		"no code":         {Module: f.module},
		"a long code":     {Code: strings.Repeat("e", schema.MaxNotificationKeyBytes+1), Module: f.module},
		"a control char":  {Code: "a\x00b", Module: f.module},
		"a schema array":  {Code: f.event + ".y", Module: f.module, PayloadSchema: json.RawMessage(`[1]`)},
		"a broken schema": {Code: f.event + ".z", Module: f.module, PayloadSchema: json.RawMessage(`{`)},
		"a long name":     {Code: f.event + ".n", Module: f.module, Name: strings.Repeat("n", schema.MaxNotificationTextBytes+1)},
	} {
		_, err := s.CreateCatalogEvent(ctx, bad)
		require.ErrorIs(t, err, schema.ErrInvalidNotification, name)
	}

	updated, err := s.UpdateCatalogEvent(ctx, f.event, func(r *schema.EventCatalogRow) error {
		r.Code = "ignored"
		r.Description = "Told when it happens"
		r.Active = false
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, f.event, updated.Code, "the code never changes")
	require.False(t, updated.Active)
	_, err = s.UpdateCatalogEvent(ctx, "no.such.event", func(*schema.EventCatalogRow) error { return nil })
	require.ErrorIs(t, err, schema.ErrNotFound)

	t.Run("the catalog pages by code, filtered by module and active", func(t *testing.T) {
		for i := range 4 {
			_, err := s.CreateCatalogEvent(ctx, schema.EventCatalogRow{Code: fmt.Sprintf("%s.%d", f.event, i),
				Module: f.module, Active: true})
			require.NoError(t, err)
		}
		list := func(p schema.Page) ([]schema.EventCatalogRow, error) {
			return s.ListCatalogEvents(ctx, schema.EventFilter{Module: f.module}, p)
		}
		keys := checkListing(t, 5, list)
		require.Equal(t, f.event, keys[0], "by code")
		badCursor(t, "no.such.event", list)
		active := true
		rows, err := s.ListCatalogEvents(ctx, schema.EventFilter{Module: f.module, Active: &active}, schema.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, rows, 4, "the inactive event is left out")
	})

	t.Run("deleting an event deletes its rules and templates", func(t *testing.T) {
		code := f.event + ".gone"
		_, err := s.CreateCatalogEvent(ctx, schema.EventCatalogRow{Code: code, Module: f.module})
		require.NoError(t, err)
		rule, err := s.CreateRule(ctx, schema.RuleRow{EventCode: code, RecipientPolicy: schema.PolicyOnCall,
			Channels: []string{"SMS"}, Active: true})
		require.NoError(t, err)
		tpl, err := s.CreateTemplate(ctx, schema.TemplateRow{EventCode: code, Channel: "SMS", Body: "b", Active: true})
		require.NoError(t, err)
		require.NoError(t, s.DeleteCatalogEvent(ctx, code))
		_, err = s.GetRule(ctx, rule.ID)
		require.ErrorIs(t, err, schema.ErrNotFound)
		_, err = s.GetTemplate(ctx, tpl.ID)
		require.ErrorIs(t, err, schema.ErrNotFound)
		require.ErrorIs(t, s.DeleteCatalogEvent(ctx, code), schema.ErrNotFound)
	})
}

func TestRulesCarryTheirChannels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newNotifyFixture(t, s)

	rule, err := s.CreateRule(ctx, schema.RuleRow{EventCode: f.event, Name: "Tell the user",
		RecipientPolicy: schema.PolicyPayloadUser, RecipientConfig: json.RawMessage(`{"field":"user_id"}`),
		Channels: []string{"SMS", "EMAIL", "SMS"}, Active: true})
	require.NoError(t, err)
	require.NotEmpty(t, rule.ID)
	require.Equal(t, []string{"EMAIL", "SMS"}, rule.Channels, "each channel once")
	require.Equal(t, "NORMAL", rule.Priority)
	require.Equal(t, 3, rule.MaxAttempts)

	_, err = s.CreateRule(ctx, schema.RuleRow{ID: rule.ID, EventCode: f.event, RecipientPolicy: schema.PolicyOnCall,
		Channels: []string{"SMS"}})
	require.ErrorIs(t, err, schema.ErrConflict)
	_, err = s.CreateRule(ctx, schema.RuleRow{EventCode: f.event, RecipientPolicy: schema.PolicyOnCall,
		Channels: []string{"FAX"}})
	require.ErrorIs(t, err, schema.ErrReference, "an unknown channel")
	_, err = s.CreateRule(ctx, schema.RuleRow{EventCode: "no.such.event", RecipientPolicy: schema.PolicyOnCall,
		Channels: []string{"SMS"}})
	require.ErrorIs(t, err, schema.ErrReference, "an unknown event")
	_, err = s.CreateRule(ctx, schema.RuleRow{EventCode: f.event, RecipientPolicy: schema.PolicyOnCall,
		Channels: []string{"SMS"}, Priority: "URGENT"})
	require.ErrorIs(t, err, schema.ErrReference, "an unknown priority")
	for name, bad := range map[string]schema.RuleRow{
		"no channel":     {EventCode: f.event, RecipientPolicy: schema.PolicyOnCall},
		"a bad policy":   {EventCode: f.event, RecipientPolicy: "everyone", Channels: []string{"SMS"}},
		"many attempts":  {EventCode: f.event, RecipientPolicy: schema.PolicyOnCall, Channels: []string{"SMS"}, MaxAttempts: 51},
		"a config array": {EventCode: f.event, RecipientPolicy: schema.PolicyRole, Channels: []string{"SMS"}, RecipientConfig: json.RawMessage(`["finance"]`)},
	} {
		_, err := s.CreateRule(ctx, bad)
		require.ErrorIs(t, err, schema.ErrInvalidNotification, name)
	}

	updated, err := s.UpdateRule(ctx, rule.ID, func(r *schema.RuleRow) error {
		r.Channels = []string{"IN_APP"}
		r.Critical = true
		r.EventCode = "moved.elsewhere"
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"IN_APP"}, updated.Channels, "the channels are replaced")
	require.True(t, updated.Critical)
	require.Equal(t, f.event, updated.EventCode, "a rule stays with its event")
	_, err = s.UpdateRule(ctx, rule.ID, func(r *schema.RuleRow) error { r.Channels = []string{"FAX"}; return nil })
	require.ErrorIs(t, err, schema.ErrReference)
	again, err := s.GetRule(ctx, rule.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"IN_APP"}, again.Channels, "a refused update changes nothing")

	for i := range 4 {
		_, err := s.CreateRule(ctx, schema.RuleRow{ID: fmt.Sprintf("%s-rule-%d", f.event, i), EventCode: f.event,
			RecipientPolicy: schema.PolicyRole, RecipientConfig: json.RawMessage(`{"role":"finance"}`),
			Channels: []string{"EMAIL", "SMS"}, Active: i%2 == 0})
		require.NoError(t, err)
	}
	active, err := s.ActiveRules(ctx, f.event)
	require.NoError(t, err)
	require.Len(t, active, 3)
	for _, r := range active {
		require.True(t, r.Active)
		require.NotEmpty(t, r.Channels)
	}
	list := func(p schema.Page) ([]schema.RuleRow, error) {
		return s.ListRules(ctx, schema.RuleFilter{EventCode: f.event}, p)
	}
	checkListing(t, 5, list)
	rows, err := list(schema.Page{Limit: 10})
	require.NoError(t, err)
	for _, r := range rows {
		require.NotEmpty(t, r.Channels, "a page of rules carries each rule's channels")
	}
	badCursor(t, "no-such-rule", list)

	require.NoError(t, s.DeleteRule(ctx, rule.ID))
	require.ErrorIs(t, s.DeleteRule(ctx, rule.ID), schema.ErrNotFound)
}

func TestFindTemplateFallsBackToEnglish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newNotifyFixture(t, s)

	_, err := s.FindTemplate(ctx, f.event, "SMS", "sw")
	require.ErrorIs(t, err, schema.ErrNotFound, "no template at all")
	en, err := s.CreateTemplate(ctx, schema.TemplateRow{EventCode: f.event, Channel: "SMS", Body: "Hello {{recipient.name}}",
		Active: true})
	require.NoError(t, err)
	require.Equal(t, "en", en.Language, "English unless told")
	sw, err := s.CreateTemplate(ctx, schema.TemplateRow{EventCode: f.event, Channel: "SMS", Language: "sw",
		Body: "Habari {{recipient.name}}", Active: true})
	require.NoError(t, err)

	for lang, want := range map[string]string{"sw": sw.ID, "fr": en.ID, "en": en.ID, "": en.ID} {
		got, err := s.FindTemplate(ctx, f.event, "SMS", lang)
		require.NoError(t, err)
		require.Equal(t, want, got.ID, "language %q", lang)
	}
	_, err = s.FindTemplate(ctx, f.event, "EMAIL", "en")
	require.ErrorIs(t, err, schema.ErrNotFound, "another channel's template is not this one's")

	_, err = s.UpdateTemplate(ctx, sw.ID, func(r *schema.TemplateRow) error { r.Active = false; return nil })
	require.NoError(t, err)
	got, err := s.FindTemplate(ctx, f.event, "SMS", "sw")
	require.NoError(t, err)
	require.Equal(t, en.ID, got.ID, "an inactive template is not used")
	_, err = s.UpdateTemplate(ctx, en.ID, func(r *schema.TemplateRow) error { r.Active = false; return nil })
	require.NoError(t, err)
	_, err = s.FindTemplate(ctx, f.event, "SMS", "sw")
	require.ErrorIs(t, err, schema.ErrNotFound)

	_, err = s.CreateTemplate(ctx, schema.TemplateRow{EventCode: f.event, Channel: "SMS", Language: "sw", Body: "x"})
	require.ErrorIs(t, err, schema.ErrConflict, "one template per event, channel and language")
	_, err = s.UpdateTemplate(ctx, sw.ID, func(r *schema.TemplateRow) error { r.Language = "en"; return nil })
	require.ErrorIs(t, err, schema.ErrConflict)
	_, err = s.CreateTemplate(ctx, schema.TemplateRow{EventCode: f.event, Channel: "EMAIL", Body: ""})
	require.ErrorIs(t, err, schema.ErrInvalidNotification, "a template needs a body")
	_, err = s.CreateTemplate(ctx, schema.TemplateRow{EventCode: f.event, Channel: "EMAIL",
		Body: strings.Repeat("b", schema.MaxTemplateBodyBytes+1)})
	require.ErrorIs(t, err, schema.ErrInvalidNotification, "a template's body is bounded")

	for _, c := range []string{"EMAIL", "PUSH", "IN_APP"} {
		_, err := s.CreateTemplate(ctx, schema.TemplateRow{EventCode: f.event, Channel: c, Subject: "s", Body: "b",
			Active: true})
		require.NoError(t, err)
	}
	list := func(p schema.Page) ([]schema.TemplateRow, error) {
		return s.ListTemplates(ctx, schema.TemplateFilter{EventCode: f.event}, p)
	}
	checkListing(t, 5, list)
	badCursor(t, "no-such-template", list)
	active := true
	rows, err := s.ListTemplates(ctx, schema.TemplateFilter{EventCode: f.event, Active: &active}, schema.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, rows, 3)

	require.NoError(t, s.DeleteTemplate(ctx, sw.ID))
	require.ErrorIs(t, s.DeleteTemplate(ctx, sw.ID), schema.ErrNotFound)
}

func TestRecipientsAndPreferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	role := "role-" + uuid.NewString()[:8]
	id := "u-" + uuid.NewString()[:8]

	u, err := s.UpsertNotificationUser(ctx, schema.NotificationUserRow{ActorType: "STAFF", UserID: id, Name: "Asha",
		Email: "asha@example.org", Phone: "+255700000009", Roles: []string{role}, OnCall: true, Active: true})
	require.NoError(t, err)
	require.Equal(t, "Asha", u.Name)
	u, err = s.UpsertNotificationUser(ctx, schema.NotificationUserRow{ActorType: "STAFF", UserID: id, Name: "Asha M.",
		Roles: []string{role}, OnCall: true, Active: true})
	require.NoError(t, err)
	require.Equal(t, "Asha M.", u.Name, "a second write replaces the first")
	_, err = s.UpsertNotificationUser(ctx, schema.NotificationUserRow{ActorType: "ROBOT", UserID: id})
	require.ErrorIs(t, err, schema.ErrReference)
	_, err = s.UpsertNotificationUser(ctx, schema.NotificationUserRow{ActorType: "USER", UserID: ""})
	require.ErrorIs(t, err, schema.ErrInvalidNotification)
	_, err = s.UpsertNotificationUser(ctx, schema.NotificationUserRow{ActorType: "USER", UserID: id + "-x",
		Roles: make([]string, schema.MaxRecipientRoles+1)})
	require.ErrorIs(t, err, schema.ErrInvalidNotification)
	_, err = s.GetNotificationUser(ctx, "USER", id)
	require.ErrorIs(t, err, schema.ErrNotFound)

	_, err = s.UpsertNotificationUser(ctx, schema.NotificationUserRow{ActorType: "USER", UserID: id + "-off",
		Roles: []string{role}, OnCall: true, Active: false})
	require.NoError(t, err)
	holders, err := s.UsersWithRole(ctx, role)
	require.NoError(t, err)
	require.Len(t, holders, 1, "inactive recipients are left out")
	require.Equal(t, id, holders[0].UserID)
	onCall, err := s.OnCallUsers(ctx)
	require.NoError(t, err)
	var ids []string
	for _, r := range onCall {
		ids = append(ids, r.UserID)
	}
	require.Contains(t, ids, id)
	require.NotContains(t, ids, id+"-off")

	_, err = s.GetPreference(ctx, "STAFF", id)
	require.ErrorIs(t, err, schema.ErrNotFound)
	p, err := s.PutPreference(ctx, schema.PreferenceRow{ActorType: "STAFF", UserID: id,
		Channels: json.RawMessage(`{"SMS": false}`), Language: "sw", QuietHoursStart: "22:00", QuietHoursEnd: "07:00",
		TimeZone: "Africa/Dar_es_Salaam"})
	require.NoError(t, err)
	require.JSONEq(t, `{"SMS": false}`, string(p.Channels))
	p, err = s.PutPreference(ctx, schema.PreferenceRow{ActorType: "STAFF", UserID: id})
	require.NoError(t, err)
	require.Equal(t, "en", p.Language)
	require.Equal(t, "UTC", p.TimeZone)
	require.JSONEq(t, `{}`, string(p.Channels))
	for name, bad := range map[string]schema.PreferenceRow{
		"channels not booleans": {Channels: json.RawMessage(`{"SMS": "no"}`)},
		"channels an array":     {Channels: json.RawMessage(`["SMS"]`)},
		"half quiet hours":      {QuietHoursStart: "22:00"},
		"bad quiet hours":       {QuietHoursStart: "25:00", QuietHoursEnd: "07:00"},
		"short quiet hours":     {QuietHoursStart: "7:00", QuietHoursEnd: "08:00"},
		"unknown zone":          {TimeZone: "Mars/Olympus"},
	} {
		bad.ActorType, bad.UserID = "STAFF", id
		_, err := s.PutPreference(ctx, bad)
		require.ErrorIs(t, err, schema.ErrInvalidNotification, name)
	}
}

func TestEmitsAndOutboxAreIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newNotifyFixture(t, s)
	client := "notify-" + uuid.NewString()[:8]

	first, created, err := s.CreateNotificationEvent(ctx, schema.NotificationEventRow{ClientID: client,
		EventCode: f.event, Payload: json.RawMessage(`{"user_id":"u-1001","note":"a\u0000b"}`), IdempotencyKey: "k-1"})
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, "notification:"+first.ID, first.WorkflowID)
	require.Equal(t, transaction.NotificationProcessing, first.Disposition)
	require.JSONEq(t, `{"user_id":"u-1001","note":"ab"}`, string(first.Payload), "jsonb takes no NUL: it is cleaned")

	again, created, err := s.CreateNotificationEvent(ctx, schema.NotificationEventRow{ClientID: client,
		EventCode: f.event, Payload: json.RawMessage(`{}`), IdempotencyKey: "k-1"})
	require.NoError(t, err)
	require.False(t, created, "the same key is the same emit")
	require.Equal(t, first.ID, again.ID)
	retried, created, err := s.CreateNotificationEvent(ctx, schema.NotificationEventRow{ID: first.ID, ClientID: client,
		EventCode: f.event})
	require.NoError(t, err)
	require.False(t, created, "the same id is the same emit")
	require.Equal(t, first.ID, retried.ID)
	other, created, err := s.CreateNotificationEvent(ctx, schema.NotificationEventRow{ClientID: "another-" + client,
		EventCode: f.event, IdempotencyKey: "k-1"})
	require.NoError(t, err)
	require.True(t, created, "keys are the client's own")
	require.NotEqual(t, first.ID, other.ID)
	for range 2 {
		_, created, err := s.CreateNotificationEvent(ctx, schema.NotificationEventRow{ClientID: client, EventCode: f.event})
		require.NoError(t, err)
		require.True(t, created, "no key, no deduplication")
	}
	_, _, err = s.CreateNotificationEvent(ctx, schema.NotificationEventRow{ClientID: client, EventCode: f.event,
		Payload: json.RawMessage(`{"big":"` + strings.Repeat("x", schema.MaxNotificationDocBytes) + `"}`)})
	require.ErrorIs(t, err, schema.ErrInvalidNotification, "a payload is bounded")
	_, _, err = s.CreateNotificationEvent(ctx, schema.NotificationEventRow{ClientID: client, EventCode: f.event,
		Payload: json.RawMessage(`{`)})
	require.ErrorIs(t, err, schema.ErrInvalidNotification)

	msg := schema.OutboxRow{NotificationID: first.ID, ClientID: client, EventCode: f.event,
		IdempotencyKey: first.ID + ":rule:USER:u-1001:SMS", ActorType: "USER", UserID: "u-1001", Channel: "SMS",
		RecipientAddress: "+255700000001", Body: "Welcome", Critical: true}
	out, created, err := s.InsertOutbox(ctx, msg)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, transaction.OutboxQueued, out.Status)
	require.Equal(t, "outbox:"+out.ID, out.WorkflowID)
	require.Equal(t, 3, out.MaxAttempts)
	require.True(t, out.Critical)
	require.False(t, out.EscalationRequired)
	failedKey := schema.OutboxRow{NotificationID: first.ID, ClientID: client, EventCode: f.event,
		IdempotencyKey: first.ID + ":rule:USER:u-1001:EMAIL", ActorType: "USER", UserID: "u-1001", Channel: "EMAIL",
		Status: transaction.OutboxFailed, Final: true, Critical: true, EscalationRequired: true,
		Error: "missing placeholder: code"}
	failed, _, err := s.InsertOutbox(ctx, failedKey)
	require.NoError(t, err)
	require.True(t, failed.EscalationRequired, "a message queued failed for good keeps its escalation mark")
	dup, created, err := s.InsertOutbox(ctx, msg)
	require.NoError(t, err)
	require.False(t, created, "the same key makes no second message")
	require.Equal(t, out.ID, dup.ID)
	msg.ID = out.ID
	msg.IdempotencyKey += ":other"
	dup, created, err = s.InsertOutbox(ctx, msg)
	require.NoError(t, err)
	require.False(t, created, "nor does the same id")
	require.Equal(t, out.ID, dup.ID)

	_, _, err = s.InsertOutbox(ctx, schema.OutboxRow{NotificationID: "no-such-emit", ClientID: client, EventCode: f.event,
		IdempotencyKey: uuid.NewString(), ActorType: "USER", UserID: "u", Channel: "SMS"})
	require.ErrorIs(t, err, schema.ErrReference)
	_, _, err = s.InsertOutbox(ctx, schema.OutboxRow{NotificationID: first.ID, ClientID: client, EventCode: f.event,
		IdempotencyKey: uuid.NewString(), ActorType: "USER", UserID: "u", Channel: "SMS",
		Body: strings.Repeat("b", schema.MaxMessageBodyBytes+1)})
	require.ErrorIs(t, err, schema.ErrInvalidNotification, "a message's body is bounded")

	msgs, err := s.MessagesOfNotification(ctx, first.ID)
	require.NoError(t, err)
	require.Len(t, msgs, 2, "the SMS and the failed e-mail")
	require.NoError(t, s.FinishNotificationEvent(ctx, first.ID, transaction.NotificationQueued, "", 1))
	done, err := s.GetNotificationEvent(ctx, first.ID)
	require.NoError(t, err)
	require.Equal(t, transaction.NotificationQueued, done.Disposition)
	require.Equal(t, 1, done.Messages)
	require.ErrorIs(t, s.FinishNotificationEvent(ctx, "no-such-emit", transaction.NotificationFailed, "x", 0),
		schema.ErrNotFound)
	require.ErrorIs(t, s.FinishNotificationEvent(ctx, first.ID, "lost", "", 0), schema.ErrInvalidNotification)
}

func TestAnAttemptIsRecordedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newNotifyFixture(t, s)
	msg := f.queue(t, s, "notify-"+uuid.NewString()[:8], nil)

	next := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
	failed := schema.DeliveryAttempt{Log: schema.DeliveryLogRow{OutboxID: msg.ID, Attempt: 1, Provider: "sms",
		Status: transaction.OutboxFailed, Error: "gateway answered 503", LatencyMS: 12.5},
		Status: transaction.OutboxQueued, NextAttemptAt: &next}
	row, err := s.RecordNotificationAttempt(ctx, failed)
	require.NoError(t, err)
	require.Equal(t, 1, row.AttemptCount)
	require.Equal(t, transaction.OutboxQueued, row.Status)
	require.Equal(t, "gateway answered 503", row.Error)
	require.True(t, next.Equal(*row.NextAttemptAt))
	require.Nil(t, row.SentAt)

	changed := failed
	changed.Log.Error = "something else"
	changed.Status = transaction.OutboxFailed
	changed.Final = true
	row, err = s.RecordNotificationAttempt(ctx, changed)
	require.NoError(t, err)
	require.Equal(t, transaction.OutboxQueued, row.Status, "an attempt logged already changes nothing")
	require.Equal(t, "gateway answered 503", row.Error)

	sent := schema.DeliveryAttempt{Log: schema.DeliveryLogRow{OutboxID: msg.ID, Attempt: 2, Provider: "sms",
		ProviderMessageID: "sim-42", Status: transaction.OutboxSent}, Status: transaction.OutboxSent, Final: true}
	row, err = s.RecordNotificationAttempt(ctx, sent)
	require.NoError(t, err)
	require.Equal(t, 2, row.AttemptCount)
	require.Equal(t, transaction.OutboxSent, row.Status)
	require.True(t, row.Final)
	require.Empty(t, row.Error)
	require.Nil(t, row.NextAttemptAt)
	require.Equal(t, "sim-42", row.ProviderMessageID)
	require.NotNil(t, row.SentAt)
	sentAt := *row.SentAt

	// A late repeat of the first attempt, with another outcome, finds its log row.
	row, err = s.RecordNotificationAttempt(ctx, failed)
	require.NoError(t, err)
	require.Equal(t, transaction.OutboxSent, row.Status)
	require.True(t, sentAt.Equal(*row.SentAt))

	// A later attempt that failed (a second sender, a failure recorded after the send) is
	// logged, but a message that went out is never reopened.
	row, err = s.RecordNotificationAttempt(ctx, schema.DeliveryAttempt{Log: schema.DeliveryLogRow{OutboxID: msg.ID,
		Attempt: 3, Status: transaction.OutboxFailed, Error: strings.Repeat("é", 10_000)}, Status: transaction.OutboxFailed,
		Final: true, EscalationRequired: true})
	require.NoError(t, err)
	require.Equal(t, transaction.OutboxSent, row.Status)
	require.Equal(t, 2, row.AttemptCount)
	require.False(t, row.EscalationRequired, "a late failure does not escalate a message that went out")
	require.True(t, sentAt.Equal(*row.SentAt), "the first send time stays")
	late, err := s.ListDeliveryLogs(ctx, msg.ID, schema.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, late, 3)
	require.LessOrEqual(t, len(late[2].Error), 4<<10, "error texts are cut")

	for name, bad := range map[string]schema.DeliveryAttempt{
		"attempt 0":     {Log: schema.DeliveryLogRow{OutboxID: msg.ID, Status: transaction.OutboxSent}, Status: transaction.OutboxSent},
		"a log QUEUED":  {Log: schema.DeliveryLogRow{OutboxID: msg.ID, Attempt: 3, Status: transaction.OutboxQueued}, Status: transaction.OutboxQueued},
		"a status LOST": {Log: schema.DeliveryLogRow{OutboxID: msg.ID, Attempt: 3, Status: transaction.OutboxSent}, Status: "LOST"},
		"no message id": {Log: schema.DeliveryLogRow{Attempt: 3, Status: transaction.OutboxSent}, Status: transaction.OutboxSent},
	} {
		_, err := s.RecordNotificationAttempt(ctx, bad)
		require.ErrorIs(t, err, schema.ErrInvalidNotification, name)
	}
	_, err = s.RecordNotificationAttempt(ctx, schema.DeliveryAttempt{Log: schema.DeliveryLogRow{OutboxID: "no-such-message",
		Attempt: 1, Status: transaction.OutboxSent}, Status: transaction.OutboxSent})
	require.ErrorIs(t, err, schema.ErrNotFound)

	for i := 4; i <= 5; i++ {
		_, err := s.RecordNotificationAttempt(ctx, schema.DeliveryAttempt{Log: schema.DeliveryLogRow{OutboxID: msg.ID,
			Attempt: i, Status: transaction.OutboxFailed}, Status: transaction.OutboxFailed, Final: true})
		require.NoError(t, err)
	}
	list := func(p schema.Page) ([]schema.DeliveryLogRow, error) { return s.ListDeliveryLogs(ctx, msg.ID, p) }
	keys := checkListing(t, 5, list)
	logs, err := list(schema.Page{Limit: 10})
	require.NoError(t, err)
	for i, l := range logs {
		require.Equal(t, i+1, l.Attempt, "oldest first, one row per attempt")
		require.Equal(t, keys[i], l.PageKey())
	}
	require.Equal(t, "gateway answered 503", logs[0].Error)
	require.Equal(t, 12.5, logs[0].LatencyMS)
	other := f.queue(t, s, "notify-"+uuid.NewString()[:8], nil)
	badCursor(t, keys[0], func(p schema.Page) ([]schema.DeliveryLogRow, error) { return s.ListDeliveryLogs(ctx, other.ID, p) })
	badCursor(t, "x", list)
}

func TestOutboxDueFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newNotifyFixture(t, s)
	client := "notify-" + uuid.NewString()[:8]
	past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)

	fresh := f.queue(t, s, client, nil)
	retry := f.queue(t, s, client, func(r *schema.OutboxRow) { r.NextAttemptAt = &past })
	f.queue(t, s, client, func(r *schema.OutboxRow) { r.NextAttemptAt = &future }) // waiting
	done := f.queue(t, s, client, func(r *schema.OutboxRow) { r.Channel = "EMAIL" })
	_, err := s.RecordNotificationAttempt(ctx, schema.DeliveryAttempt{Log: schema.DeliveryLogRow{OutboxID: done.ID,
		Attempt: 1, Status: transaction.OutboxSent}, Status: transaction.OutboxSent, Final: true})
	require.NoError(t, err)
	quiet := f.queue(t, s, client, nil)
	require.NoError(t, s.SetOutboxWaiting(ctx, quiet.ID, future))
	require.NoError(t, s.SetOutboxWaiting(ctx, done.ID, future), "a final message is left as it is")
	require.ErrorIs(t, s.SetOutboxWaiting(ctx, "no-such-message", future), schema.ErrNotFound)
	got, err := s.GetOutbox(ctx, done.ID)
	require.NoError(t, err)
	require.Nil(t, got.NextAttemptAt)

	ids := func(f schema.OutboxFilter) []string {
		rows, err := s.ListOutbox(ctx, f, schema.Page{Limit: 100})
		require.NoError(t, err)
		return keysOf(rows)
	}
	require.ElementsMatch(t, []string{fresh.ID, retry.ID}, ids(schema.OutboxFilter{ClientID: client, Due: true}))
	require.ElementsMatch(t, []string{done.ID}, ids(schema.OutboxFilter{ClientID: client, Status: transaction.OutboxSent}))
	require.ElementsMatch(t, []string{done.ID}, ids(schema.OutboxFilter{ClientID: client, Channel: "EMAIL"}))
	require.Len(t, ids(schema.OutboxFilter{ClientID: client}), 5)
	require.Empty(t, ids(schema.OutboxFilter{ClientID: "nobody-" + client}))

	list := func(p schema.Page) ([]schema.OutboxRow, error) {
		return s.ListOutbox(ctx, schema.OutboxFilter{ClientID: client}, p)
	}
	keys := checkListing(t, 5, list)
	require.Equal(t, quiet.ID, keys[0], "newest first")
	other := f.queue(t, s, "other-"+client, nil)
	badCursor(t, other.ID, list)
	everyone, err := s.ListOutbox(ctx, schema.OutboxFilter{}, schema.Page{Limit: 1, After: other.ID})
	require.NoError(t, err, "an operator's listing takes any client's cursor")
	require.Len(t, everyone, 1)
}

func TestInbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newNotifyFixture(t, s)
	client := "notify-" + uuid.NewString()[:8]

	var ids []string
	for i := range 5 {
		msg := f.queue(t, s, client, func(r *schema.OutboxRow) { r.Channel = "IN_APP" })
		in, err := s.CreateInAppMessage(ctx, schema.InAppMessageRow{OutboxID: msg.ID, ClientID: client,
			ActorType: "USER", UserID: "u-1", Title: fmt.Sprint("Note ", i), Body: "hello"})
		require.NoError(t, err)
		again, err := s.CreateInAppMessage(ctx, schema.InAppMessageRow{OutboxID: msg.ID, ClientID: client,
			ActorType: "USER", UserID: "u-1", Title: "again"})
		require.NoError(t, err)
		require.Equal(t, in.ID, again.ID, "one inbox message per outbox message")
		require.Equal(t, in.Title, again.Title)
		ids = append(ids, in.ID)
	}
	_, err := s.CreateInAppMessage(ctx, schema.InAppMessageRow{OutboxID: "no-such-message", ClientID: client,
		ActorType: "USER", UserID: "u-1"})
	require.ErrorIs(t, err, schema.ErrReference)

	read, err := s.MarkInAppRead(ctx, client, ids[0])
	require.NoError(t, err)
	require.NotNil(t, read.ReadAt)
	time.Sleep(5 * time.Millisecond)
	again, err := s.MarkInAppRead(ctx, client, ids[0])
	require.NoError(t, err)
	require.True(t, read.ReadAt.Equal(*again.ReadAt), "the first read time stays")
	_, err = s.MarkInAppRead(ctx, "another-"+client, ids[1])
	require.ErrorIs(t, err, schema.ErrNotFound, "another client's message is not found")

	unread, err := s.ListInbox(ctx, client, "u-1", true, schema.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, unread, 4)
	require.NotContains(t, keysOf(unread), ids[0])
	list := func(p schema.Page) ([]schema.InAppMessageRow, error) {
		return s.ListInbox(ctx, client, "u-1", false, p)
	}
	keys := checkListing(t, 5, list)
	require.Equal(t, ids[4], keys[0], "newest first")
	none, err := s.ListInbox(ctx, client, "u-2", false, schema.Page{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, none)
	badCursor(t, ids[0], func(p schema.Page) ([]schema.InAppMessageRow, error) {
		return s.ListInbox(ctx, client, "u-2", false, p)
	})
}
