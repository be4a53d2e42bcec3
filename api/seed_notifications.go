package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchyard-hub/switchyard/schema"
)

// The demo notification records' fixed ids, so the README and the examples can name them.
const (
	// DemoEventUserRegistered goes to the user the payload names (payload_user: user_id) by SMS,
	// e-mail and in-app; it has a Swahili SMS template beside the English ones.
	DemoEventUserRegistered = "USER_REGISTERED"
	// DemoEventPaymentReceived goes to every active recipient with the role "finance".
	DemoEventPaymentReceived = "PAYMENT_RECEIVED"
	// DemoEventPasswordReset goes to the recipients its rule lists (explicit: u-1001).
	DemoEventPasswordReset = "PASSWORD_RESET"
	// DemoEventTransactionEscalated is the hub's own event when a transaction escalates: it
	// goes to whoever is on call, critical, by SMS and e-mail.
	DemoEventTransactionEscalated = "switchyard.transaction.escalated"
	// DemoEventNotificationEscalated names the messages an escalation of a failed critical
	// message sends on call (they are planned by the escalation, not by a rule).
	DemoEventNotificationEscalated = "switchyard.notification.escalated"
)

// The demo rules' ids, one per recipient policy.
const (
	DemoRuleUserRegistered       = "demo-rule-user-registered"
	DemoRulePaymentReceived      = "demo-rule-payment-received"
	DemoRulePasswordReset        = "demo-rule-password-reset"
	DemoRuleTransactionEscalated = "demo-rule-transaction-escalated"
)

// The demo recipients the examples name.
const (
	// DemoUser is the demo user most examples emit for (+255700000001, amina.juma@example.org).
	DemoUser = "u-1001"
	// DemoSwahiliUser prefers Swahili: USER_REGISTERED reaches them by SMS in Swahili and, with
	// no Swahili e-mail template, by e-mail in English.
	DemoSwahiliUser = "u-1002"
	// DemoNoSMSUser switched SMS off.
	DemoNoSMSUser = "u-1003"
	// DemoOnCallStaff is the on-call engineer escalations reach.
	DemoOnCallStaff = "s-2001"
)

// NotificationSeedSummary counts what SeedNotifications created; a second run counts zeros.
type NotificationSeedSummary struct {
	Lookups, Events, Rules, Templates, Recipients, Preferences int
}

// demoLookups are seed 001's lookup rows; the migration writes the same rows, the seed adds
// any an operator deleted.
func demoLookups() schema.Lookups {
	rank := func(n int) *int { return &n }
	return schema.Lookups{
		schema.LookupModule: {{Code: "IDENTITY", Name: "Identity"}, {Code: "PAYMENTS", Name: "Payments"},
			{Code: "SWITCHYARD", Name: "Switchyard"}, {Code: "SYNC", Name: "Content sync"}},
		schema.LookupChannel: {{Code: "SMS", Name: "SMS"}, {Code: "EMAIL", Name: "E-mail"},
			{Code: "IN_APP", Name: "In-app"}, {Code: "PUSH", Name: "Push"}},
		schema.LookupStatus: {{Code: "QUEUED", Name: "Queued"}, {Code: "SENT", Name: "Sent"},
			{Code: "DELIVERED", Name: "Delivered"}, {Code: "FAILED", Name: "Failed"},
			{Code: "SUPPRESSED", Name: "Suppressed"}},
		schema.LookupPriority: {{Code: "LOW", Name: "Low", Rank: rank(10)}, {Code: "NORMAL", Name: "Normal", Rank: rank(20)},
			{Code: "HIGH", Name: "High", Rank: rank(30)}, {Code: "CRITICAL", Name: "Critical", Rank: rank(40)}},
		schema.LookupActorType: {{Code: "USER", Name: "User"}, {Code: "STAFF", Name: "Staff"},
			{Code: "CUSTOMER", Name: "Customer"}, {Code: "SYSTEM", Name: "System"}},
	}
}

var demoEvents = []schema.EventCatalogRow{
	{Code: DemoEventUserRegistered, Module: "IDENTITY", Name: "User registered",
		Description: "A user signed up. Payload: user_id."},
	{Code: DemoEventPasswordReset, Module: "IDENTITY", Name: "Password reset",
		Description: "A user asked to reset their password. Payload: code, expires_in_minutes."},
	{Code: DemoEventPaymentReceived, Module: "PAYMENTS", Name: "Payment received",
		Description: "A payment arrived. Payload: amount, currency, reference, payer.name."},
	{Code: DemoEventTransactionEscalated, Module: "SWITCHYARD", Name: "Transaction escalated",
		Description: "A proxied transaction or card transfer failed its last retry and waits for an operator. " +
			"Payload: correlation_id, kind, status, attempts, error, error_code."},
	{Code: DemoEventNotificationEscalated, Module: "SWITCHYARD", Name: "Notification escalated",
		Description: "A critical message failed for good; its escalation tells whoever is on call until acknowledged."},
}

var demoRules = []schema.RuleRow{
	{ID: DemoRuleUserRegistered, EventCode: DemoEventUserRegistered, Name: "Welcome the new user",
		RecipientPolicy: schema.PolicyPayloadUser, RecipientConfig: json.RawMessage(`{"field":"user_id","actor_type":"USER"}`),
		Priority: "NORMAL", MaxAttempts: 3, Channels: []string{"SMS", "EMAIL", "IN_APP"}},
	{ID: DemoRulePaymentReceived, EventCode: DemoEventPaymentReceived, Name: "Tell finance",
		RecipientPolicy: schema.PolicyRole, RecipientConfig: json.RawMessage(`{"role":"finance"}`),
		Priority: "HIGH", MaxAttempts: 3, Channels: []string{"EMAIL", "IN_APP"}},
	{ID: DemoRulePasswordReset, EventCode: DemoEventPasswordReset, Name: "Send the reset code",
		RecipientPolicy: schema.PolicyExplicit,
		RecipientConfig: json.RawMessage(`{"users":[{"actor_type":"USER","user_id":"` + DemoUser + `"}]}`),
		Priority:        "HIGH", MaxAttempts: 3, Channels: []string{"SMS", "EMAIL"}},
	{ID: DemoRuleTransactionEscalated, EventCode: DemoEventTransactionEscalated, Name: "Page whoever is on call",
		RecipientPolicy: schema.PolicyOnCall, Priority: "CRITICAL", MaxAttempts: 3, Critical: true,
		Channels: []string{"SMS", "EMAIL"}},
}

var demoTemplates = []schema.TemplateRow{
	{ID: "demo-tpl-user-registered-sms-en", EventCode: DemoEventUserRegistered, Channel: "SMS", Language: "en",
		Body: "Welcome to Switchyard, {{recipient.name}}! Your account {{user_id}} is ready."},
	{ID: "demo-tpl-user-registered-sms-sw", EventCode: DemoEventUserRegistered, Channel: "SMS", Language: "sw",
		Body: "Karibu Switchyard, {{recipient.name}}! Akaunti yako {{user_id}} iko tayari."},
	{ID: "demo-tpl-user-registered-email-en", EventCode: DemoEventUserRegistered, Channel: "EMAIL", Language: "en",
		Subject: "Welcome to Switchyard, {{recipient.name}}",
		Body:    "Hello {{recipient.name}},\n\nYour account {{user_id}} is ready. Sign in with {{recipient.email}}.\n"},
	{ID: "demo-tpl-user-registered-in-app-en", EventCode: DemoEventUserRegistered, Channel: "IN_APP", Language: "en",
		Subject: "Welcome", Body: "Your account {{user_id}} is ready, {{recipient.name}}."},
	{ID: "demo-tpl-payment-received-email-en", EventCode: DemoEventPaymentReceived, Channel: "EMAIL", Language: "en",
		Subject: "Payment {{reference}} received",
		Body: "{{recipient.name}}, a payment of {{amount}} {{currency}} from {{payer.name}} arrived " +
			"(reference {{reference}}).\n"},
	{ID: "demo-tpl-payment-received-in-app-en", EventCode: DemoEventPaymentReceived, Channel: "IN_APP", Language: "en",
		Subject: "Payment received", Body: "{{amount}} {{currency}} from {{payer.name}} ({{reference}})."},
	{ID: "demo-tpl-password-reset-sms-en", EventCode: DemoEventPasswordReset, Channel: "SMS", Language: "en",
		Body: "{{recipient.name}}, your Switchyard reset code is {{code}}. It expires in {{expires_in_minutes}} minutes."},
	{ID: "demo-tpl-password-reset-email-en", EventCode: DemoEventPasswordReset, Channel: "EMAIL", Language: "en",
		Subject: "Your password reset code",
		Body: "Hello {{recipient.name}},\n\nYour reset code is {{code}}; it expires in {{expires_in_minutes}} minutes. " +
			"If you did not ask for it, ignore this message.\n"},
	{ID: "demo-tpl-transaction-escalated-sms-en", EventCode: DemoEventTransactionEscalated, Channel: "SMS", Language: "en",
		Body: "Switchyard: {{kind}} transaction {{correlation_id}} escalated ({{status}}) after {{attempts}} attempt(s)."},
	{ID: "demo-tpl-transaction-escalated-email-en", EventCode: DemoEventTransactionEscalated, Channel: "EMAIL", Language: "en",
		Subject: "Escalated: {{kind}} transaction {{correlation_id}}",
		Body: "{{recipient.name}},\n\nThe {{kind}} transaction {{correlation_id}} escalated with status {{status}} " +
			"after {{attempts}} attempt(s).\nError: {{error}}\n\nRetry or abort it from the operator API.\n"},
}

var demoRecipients = []schema.NotificationUserRow{
	{ActorType: "USER", UserID: DemoUser, Name: "Amina Juma", Email: "amina.juma@example.org", Phone: "+255700000001",
		PushToken: "demo-push-u-1001"},
	{ActorType: "USER", UserID: DemoSwahiliUser, Name: "Baraka Mwita", Email: "baraka.mwita@example.org",
		Phone: "+255700000002"},
	{ActorType: "USER", UserID: DemoNoSMSUser, Name: "Neema Said", Email: "neema.said@example.org",
		Phone: "+255700000003"},
	{ActorType: "STAFF", UserID: DemoOnCallStaff, Name: "Juma Ally (on call)", Email: "oncall@example.org",
		Phone: "+255700000101", Roles: []string{"engineering"}, OnCall: true},
	{ActorType: "STAFF", UserID: "s-2002", Name: "Rehema Kweka", Email: "finance@example.org", Phone: "+255700000102",
		Roles: []string{"finance"}},
	{ActorType: "STAFF", UserID: "s-2003", Name: "Said Omari", Email: "said.omari@example.org", Phone: "+255700000103",
		Roles: []string{"finance", "engineering"}},
}

var demoPreferences = []schema.PreferenceRow{
	{ActorType: "USER", UserID: DemoSwahiliUser, Language: "sw", Channels: json.RawMessage(`{}`)},
	{ActorType: "USER", UserID: DemoNoSMSUser, Language: "en", Channels: json.RawMessage(`{"SMS":false}`)},
}

// SeedNotifications writes seed 001's notification data: the lookups, demo catalog events,
// one rule per recipient policy, templates (English, and Swahili for one to show the
// fallback), demo recipients and two preferences. Records are created when absent and left
// alone when present, so a second run changes nothing; with reset the earlier demo records
// (never an operator's) are deleted first. DEMO_SEED=false writes nothing (reset still deletes).
func SeedNotifications(ctx context.Context, store *schema.Store, cfg SeedConfig, reset bool) (NotificationSeedSummary, error) {
	var sum NotificationSeedSummary
	if reset {
		if err := store.DeleteNotificationDemo(ctx); err != nil {
			return sum, err
		}
	}
	if cfg.Enabled != nil && !*cfg.Enabled {
		return sum, nil
	}
	n, err := store.PutLookups(ctx, demoLookups())
	if err != nil {
		return sum, err
	}
	sum.Lookups = n
	for _, e := range demoEvents {
		e.Active, e.IsDemo = true, true
		created, err := createAbsent(store.GetCatalogEvent(ctx, e.Code))(func() error {
			_, err := store.CreateCatalogEvent(ctx, e)
			return err
		})
		if err != nil {
			return sum, fmt.Errorf("seeding event %s: %w", e.Code, err)
		}
		sum.Events += created
	}
	for _, r := range demoRules {
		r.Active, r.IsDemo = true, true
		created, err := createAbsent(store.GetRule(ctx, r.ID))(func() error {
			_, err := store.CreateRule(ctx, r)
			return err
		})
		if err != nil {
			return sum, fmt.Errorf("seeding rule %s: %w", r.ID, err)
		}
		sum.Rules += created
	}
	for _, t := range demoTemplates {
		t.Active, t.IsDemo = true, true
		created, err := createAbsent(store.GetTemplate(ctx, t.ID))(func() error {
			_, err := store.CreateTemplate(ctx, t)
			return err
		})
		if err != nil {
			return sum, fmt.Errorf("seeding template %s: %w", t.ID, err)
		}
		sum.Templates += created
	}
	for _, u := range demoRecipients {
		u.Active, u.IsDemo = true, true
		created, err := createAbsent(store.GetNotificationUser(ctx, u.ActorType, u.UserID))(func() error {
			_, err := store.UpsertNotificationUser(ctx, u)
			return err
		})
		if err != nil {
			return sum, fmt.Errorf("seeding recipient %s %s: %w", u.ActorType, u.UserID, err)
		}
		sum.Recipients += created
	}
	for _, p := range demoPreferences {
		created, err := createAbsent(store.GetPreference(ctx, p.ActorType, p.UserID))(func() error {
			_, err := store.PutPreference(ctx, p)
			return err
		})
		if err != nil {
			return sum, fmt.Errorf("seeding preferences of %s %s: %w", p.ActorType, p.UserID, err)
		}
		sum.Preferences += created
	}
	return sum, nil
}

// createAbsent takes a read's answer and, when it found nothing, runs create: 1 when create
// made the record, 0 when it was there (read, or made meanwhile: ErrConflict). Any other
// error is the answer.
func createAbsent[R any](_ R, readErr error) func(create func() error) (int, error) {
	return func(create func() error) (int, error) {
		if readErr == nil {
			return 0, nil
		}
		if !errors.Is(readErr, schema.ErrNotFound) {
			return 0, readErr
		}
		err := create()
		if errors.Is(err, schema.ErrConflict) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		return 1, nil
	}
}
