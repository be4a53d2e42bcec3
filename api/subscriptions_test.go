package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/schema"
)

const subscriptionsPath = "/api/v1/integration/subscriptions/"

func TestSubscriptionSecretsAreShownOnce(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)

	t.Run("urls and event types are checked", func(t *testing.T) {
		for _, bad := range []map[string]any{
			{"event_types": []string{"*"}},
			{"url": "ftp://example.com", "event_types": []string{"*"}},
			{"url": "/relative", "event_types": []string{"*"}},
			{"url": "https://example.com/" + strings.Repeat("x", 2048), "event_types": []string{"*"}},
			{"url": "https://example.com"},
			{"url": "https://example.com", "event_types": []string{}},
			{"url": "https://example.com", "event_types": []string{"integration.message.deleted"}},
			{"url": "https://example.com", "event_types": []string{"billing.*"}},
			{"url": "https://example.com", "event_types": []string{"*"}, "rotate_secret": true},
		} {
			a := h.do("POST", subscriptionsPath, owner, bad)
			require.Equal(t, http.StatusBadRequest, a.code, "%v: %s", bad, a.raw)
			require.Equal(t, "VALIDATION_ERROR", a.errorCode())
		}
	})

	created := h.do("POST", subscriptionsPath, owner, map[string]any{"url": "https://example.com/hooks",
		"event_types": []string{"integration.message.*", "integration.event.received"}, "description": "CRM"})
	require.Equal(t, http.StatusCreated, created.code, created.raw)
	id := created.data()["id"].(string)
	secret := created.data()["secret"].(string)
	require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
	require.Equal(t, true, created.data()["is_active"])

	t.Run("the secret is stored sealed and never read back", func(t *testing.T) {
		row, err := h.store.GetSubscription(context.Background(), id)
		require.NoError(t, err)
		require.NotEqual(t, secret, row.Secret)
		opened, err := h.vault.OpenSecret(row.Secret)
		require.NoError(t, err)
		require.Equal(t, secret, opened)
		for _, a := range []answer{h.do("GET", subscriptionsPath+id, owner, nil), h.do("GET", subscriptionsPath, owner, nil)} {
			require.Equal(t, http.StatusOK, a.code, a.raw)
			require.NotContains(t, a.raw, secret)
			require.NotContains(t, a.raw, `"secret"`)
		}
	})

	t.Run("another client's subscription is not found", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, h.do("GET", subscriptionsPath+id+"/", other, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("PATCH", subscriptionsPath+id, other, map[string]any{"rotate_secret": true}).code)
		require.Equal(t, http.StatusNotFound, h.do("DELETE", subscriptionsPath+id, other, nil).code)
		require.Empty(t, h.do("GET", subscriptionsPath, other, nil).body["data"])
	})

	t.Run("rotating answers the new secret once", func(t *testing.T) {
		a := h.do("PATCH", subscriptionsPath+id+"/", owner, map[string]any{"rotate_secret": true})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		rotated := a.data()["secret"].(string)
		require.NotEqual(t, secret, rotated)
		a = h.do("PATCH", subscriptionsPath+id, owner, map[string]any{"description": "CRM v2"})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.NotContains(t, a.raw, `"secret"`)
		require.Equal(t, "CRM v2", a.data()["description"])
	})

	t.Run("re-enabling clears the failure run", func(t *testing.T) {
		_, err := h.store.UpdateSubscription(context.Background(), id, func(r *schema.SubscriptionRow) error {
			r.IsActive, r.ConsecutiveFailures, r.DisabledReason = false, 5, "disabled after 5 failed deliveries in a row"
			return nil
		})
		require.NoError(t, err)
		a := h.do("GET", subscriptionsPath+id, owner, nil)
		require.Equal(t, false, a.data()["is_active"])
		require.EqualValues(t, 5, a.data()["consecutive_failures"])
		a = h.do("PATCH", subscriptionsPath+id, owner, map[string]any{"is_active": true})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, true, a.data()["is_active"])
		require.EqualValues(t, 0, a.data()["consecutive_failures"])
		require.Equal(t, "", a.data()["disabled_reason"])
	})

	t.Run("delete", func(t *testing.T) {
		require.Equal(t, http.StatusOK, h.do("DELETE", subscriptionsPath+id, owner, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", subscriptionsPath+id, owner, nil).code)
	})
}
