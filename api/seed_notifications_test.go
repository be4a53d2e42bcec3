package api

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
)

// TestSeedNotifications runs the notification seed twice, then with reset, on a real database.
// It is not parallel: reset deletes every demo row of the shared database.
func TestSeedNotifications(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	cfg := SeedConfig{}

	// Reset first: another test of the package may have seeded already.
	first, err := SeedNotifications(ctx, s, cfg, true)
	require.NoError(t, err)
	require.Equal(t, NotificationSeedSummary{Events: len(demoEvents), Rules: len(demoRules),
		Templates: len(demoTemplates), Recipients: len(demoRecipients), Preferences: len(demoPreferences)}, first,
		"the migration wrote the lookups already")

	t.Run("a second run changes nothing", func(t *testing.T) {
		edited, err := s.UpdateTemplate(ctx, "demo-tpl-password-reset-sms-en", func(r *schema.TemplateRow) error {
			r.Body = "Code {{code}}"
			return nil
		})
		require.NoError(t, err)
		again, err := SeedNotifications(ctx, s, cfg, false)
		require.NoError(t, err)
		require.Zero(t, again)
		kept, err := s.GetTemplate(ctx, edited.ID)
		require.NoError(t, err)
		require.Equal(t, "Code {{code}}", kept.Body, "an operator's edit of a demo record stays")
	})

	t.Run("the rules carry their policies and channels", func(t *testing.T) {
		want := map[string]struct {
			policy   string
			channels []string
		}{
			DemoRuleUserRegistered:       {schema.PolicyPayloadUser, []string{"EMAIL", "IN_APP", "SMS"}},
			DemoRulePaymentReceived:      {schema.PolicyRole, []string{"EMAIL", "IN_APP"}},
			DemoRulePasswordReset:        {schema.PolicyExplicit, []string{"EMAIL", "SMS"}},
			DemoRuleTransactionEscalated: {schema.PolicyOnCall, []string{"EMAIL", "SMS"}},
		}
		for id, w := range want {
			r, err := s.GetRule(ctx, id)
			require.NoError(t, err)
			require.Equal(t, w.policy, r.RecipientPolicy, id)
			require.Equal(t, w.channels, r.Channels, id)
			require.True(t, r.IsDemo)
		}
		esc, err := s.GetRule(ctx, DemoRuleTransactionEscalated)
		require.NoError(t, err)
		require.True(t, esc.Critical)
		require.Equal(t, 3, esc.MaxAttempts)
		ev, err := s.GetCatalogEvent(ctx, DemoEventTransactionEscalated)
		require.NoError(t, err)
		require.Equal(t, "SWITCHYARD", ev.Module)
	})

	t.Run("recipients resolve by role and on call, and Swahili falls back to English", func(t *testing.T) {
		finance, err := s.UsersWithRole(ctx, "finance")
		require.NoError(t, err)
		var ids []string
		for _, u := range finance {
			ids = append(ids, u.UserID)
		}
		require.Subset(t, ids, []string{"s-2002", "s-2003"})
		onCall, err := s.OnCallUsers(ctx)
		require.NoError(t, err)
		ids = nil
		for _, u := range onCall {
			ids = append(ids, u.UserID)
		}
		require.Contains(t, ids, DemoOnCallStaff)
		u, err := s.GetNotificationUser(ctx, "USER", DemoUser)
		require.NoError(t, err)
		require.Equal(t, "+255700000001", u.Phone)

		pref, err := s.GetPreference(ctx, "USER", DemoSwahiliUser)
		require.NoError(t, err)
		require.Equal(t, "sw", pref.Language)
		sms, err := s.FindTemplate(ctx, DemoEventUserRegistered, "SMS", pref.Language)
		require.NoError(t, err)
		require.Equal(t, "sw", sms.Language)
		email, err := s.FindTemplate(ctx, DemoEventUserRegistered, "EMAIL", pref.Language)
		require.NoError(t, err)
		require.Equal(t, "en", email.Language)
	})

	t.Run("reset deletes the demo rows only and writes them again", func(t *testing.T) {
		_, err := s.CreateCatalogEvent(ctx, schema.EventCatalogRow{Code: "OPERATOR_EVENT", Module: "PAYMENTS", Active: true})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.DeleteCatalogEvent(context.Background(), "OPERATOR_EVENT") })
		_, err = s.CreateTemplate(ctx, schema.TemplateRow{ID: "operator-tpl", EventCode: DemoEventPaymentReceived,
			Channel: "SMS", Body: "{{amount}}", Active: true})
		require.NoError(t, err)
		_, err = s.UpsertNotificationUser(ctx, schema.NotificationUserRow{ActorType: "USER", UserID: "operator-u",
			Active: true})
		require.NoError(t, err)

		off := false
		gone, err := SeedNotifications(ctx, s, SeedConfig{Enabled: &off}, true)
		require.NoError(t, err)
		require.Zero(t, gone, "DEMO_SEED=false with reset only deletes")
		for _, id := range []string{DemoRuleUserRegistered, DemoRuleTransactionEscalated} {
			_, err = s.GetRule(ctx, id)
			require.ErrorIs(t, err, schema.ErrNotFound)
		}
		_, err = s.GetNotificationUser(ctx, "USER", DemoUser)
		require.ErrorIs(t, err, schema.ErrNotFound)
		_, err = s.GetPreference(ctx, "USER", DemoSwahiliUser)
		require.ErrorIs(t, err, schema.ErrNotFound)
		_, err = s.GetCatalogEvent(ctx, "OPERATOR_EVENT")
		require.NoError(t, err, "an operator's event stays")
		_, err = s.GetNotificationUser(ctx, "USER", "operator-u")
		require.NoError(t, err, "an operator's recipient stays")
		_, err = s.GetTemplate(ctx, "operator-tpl")
		require.ErrorIs(t, err, schema.ErrNotFound, "an operator's template of a demo event goes with the event")
		l, err := s.NotificationLookups(ctx)
		require.NoError(t, err)
		require.Len(t, l[schema.LookupChannel], 4, "lookups stay")

		back, err := SeedNotifications(ctx, s, cfg, true)
		require.NoError(t, err)
		require.Equal(t, first, back)
		tpl, err := s.GetTemplate(ctx, "demo-tpl-password-reset-sms-en")
		require.NoError(t, err)
		require.Contains(t, tpl.Body, "expires in", "reset brings the demo records back as seeded")
	})
}
