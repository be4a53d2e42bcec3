package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAdminClients(t *testing.T) {
	t.Parallel()
	r := h.do(t, request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"acme","name":"Acme",
		"allowed_ips":["127.0.0.0/8"],"roles":["integrator"],"is_active":true}`}.asAdmin())
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	secret, _ := r.data(t)["client_secret"].(string)
	require.GreaterOrEqual(t, len(secret), 32, "a generated secret is returned once")

	got := h.do(t, request{method: "GET", path: "/api/v1/admin/clients/acme"}.asAdmin())
	require.Equal(t, http.StatusOK, got.Status)
	require.NotContains(t, string(got.Body), secret, "the secret is never shown again")
	require.NotContains(t, string(got.Body), "secret_hash")

	row, err := h.store.GetClient(t.Context(), "acme")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(row.SecretHash, "$2"), "stored as a bcrypt hash")

	ping := request{method: "GET", path: "/demo/env/ping"}
	require.Equal(t, http.StatusOK, h.do(t, ping.asClient("acme", secret)).Status)
	wrong := h.do(t, ping.asClient("acme", secret+"x"))
	require.Equal(t, http.StatusUnauthorized, wrong.Status)
	require.Equal(t, "INVALID_CREDENTIALS", wrong.errorCode(t))

	t.Run("rotation replaces the secret at once", func(t *testing.T) {
		r := h.do(t, request{method: "POST", path: "/api/v1/admin/clients/acme/secret",
			body: `{"client_secret":"a-new-secret-1"}`}.asAdmin())
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, "a-new-secret-1", r.data(t)["client_secret"])
		require.Equal(t, http.StatusUnauthorized, h.do(t, ping.asClient("acme", secret)).Status)
		require.Equal(t, http.StatusOK, h.do(t, ping.asClient("acme", "a-new-secret-1")).Status)
		secret = "a-new-secret-1"
	})

	t.Run("an IP outside allowed_ips is refused", func(t *testing.T) {
		r := h.do(t, request{method: "PATCH", path: "/api/v1/admin/clients/acme", body: `{"allowed_ips":["10.9.9.9"]}`}.asAdmin())
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		denied := h.do(t, ping.asClient("acme", secret))
		require.Equal(t, http.StatusForbidden, denied.Status)
		require.Equal(t, "IP_NOT_ALLOWED", denied.errorCode(t))
		h.do(t, request{method: "PATCH", path: "/api/v1/admin/clients/acme", body: `{"allowed_ips":[]}`}.asAdmin())
	})

	t.Run("a channel's allowed_roles keep other clients out", func(t *testing.T) {
		r := h.do(t, request{method: "POST", path: "/integrations/payments", body: `{"amount":"1"}`}.
			asClient("demo-partner", "partner-secret"))
		require.Equal(t, http.StatusForbidden, r.Status)
		require.Equal(t, "FORBIDDEN", r.errorCode(t))
	})

	t.Run("a deactivated client is refused", func(t *testing.T) {
		r := h.do(t, request{method: "DELETE", path: "/api/v1/admin/clients/acme"}.asAdmin())
		require.Equal(t, http.StatusOK, r.Status)
		require.Equal(t, false, r.data(t)["is_active"])
		denied := h.do(t, ping.asClient("acme", secret))
		require.Equal(t, http.StatusForbidden, denied.Status)
		require.Equal(t, "CLIENT_INACTIVE", denied.errorCode(t))
	})

	t.Run("a duplicate client_id conflicts", func(t *testing.T) {
		r := h.do(t, request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"acme","name":"Again"}`}.asAdmin())
		require.Equal(t, http.StatusConflict, r.Status)
	})
}

func TestAdminChannelsAndMediators(t *testing.T) {
	t.Parallel()
	id := h.fixture(t, "admin-ch", "", `{"path_pattern":"/e2e/admin-ch/*","methods":["get","Post"],"priority":5}`)
	r := h.do(t, request{method: "GET", path: "/api/v1/admin/channels/" + id}.asAdmin())
	require.Equal(t, http.StatusOK, r.Status)
	d := r.data(t)
	require.Equal(t, []any{"GET", "POST"}, d["methods"], "methods are stored upper case")
	require.EqualValues(t, 3, d["retry_policy"].(map[string]any)["max_attempts"], "the default retry policy")

	ok := h.do(t, request{method: "GET", path: "/e2e/admin-ch/x"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, ok.Status)
	notAllowed := h.do(t, request{method: "DELETE", path: "/e2e/admin-ch/x"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusMethodNotAllowed, notAllowed.Status)
	require.Equal(t, "GET, POST", notAllowed.Header.Get("Allow"))
	deeper := h.do(t, request{method: "GET", path: "/e2e/admin-ch/x/y"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusNotFound, deeper.Status, "* matches one segment")
	require.Equal(t, "NO_CHANNEL", deeper.errorCode(t))

	t.Run("an offline mediator answers 503", func(t *testing.T) {
		r := h.do(t, request{method: "PATCH", path: "/api/v1/admin/mediators/urn:test:admin-ch", body: `{"is_online":false}`}.asAdmin())
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		off := h.do(t, request{method: "GET", path: "/e2e/admin-ch/x"}.asClient(demoClient, demoSecret))
		require.Equal(t, http.StatusServiceUnavailable, off.Status)
		require.Equal(t, "MEDIATOR_OFFLINE", off.errorCode(t))
	})

	t.Run("a deactivated channel no longer matches", func(t *testing.T) {
		r := h.do(t, request{method: "DELETE", path: "/api/v1/admin/channels/" + id}.asAdmin())
		require.Equal(t, http.StatusOK, r.Status)
		gone := h.do(t, request{method: "GET", path: "/e2e/admin-ch/x"}.asClient(demoClient, demoSecret))
		require.Equal(t, http.StatusNotFound, gone.Status)
	})

	t.Run("listings page", func(t *testing.T) {
		r := h.do(t, request{method: "GET", path: "/api/v1/admin/channels?limit=1"}.asAdmin())
		require.Equal(t, http.StatusOK, r.Status)
		meta := r.json(t)["metadata"].(map[string]any)
		require.Equal(t, true, meta["has_more"])
		require.Len(t, r.json(t)["data"], 1)
		last := r.json(t)["data"].([]any)[0].(map[string]any)["id"]
		require.Equal(t, last, meta["next_page"], "the cursor of the next page is the last item's id")
		require.Equal(t, last, r.json(t)["next_page"])
		require.Contains(t, meta["next_url"], "starting_after=")
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	r := h.do(t, request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"limited","name":"Limited",
		"client_secret":"limited-secret","rate_limit_per_minute":2}`}.asAdmin())
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	ping := request{method: "GET", path: "/demo/env/ping"}.asClient("limited", "limited-secret")
	for i := range 2 {
		r := h.do(t, ping)
		require.Equal(t, http.StatusOK, r.Status)
		require.Equal(t, "2", r.Header.Get("X-RateLimit-Limit"))
		require.Equal(t, fmt.Sprint(1-i), r.Header.Get("X-RateLimit-Remaining"))
	}
	limited := h.do(t, ping)
	require.Equal(t, http.StatusTooManyRequests, limited.Status)
	require.Equal(t, "RATE_LIMITED", limited.errorCode(t))
	require.NotEmpty(t, limited.Header.Get("Retry-After"))
	require.NotEmpty(t, limited.Header.Get("X-RateLimit-Reset"))
}

func TestOperationsEndpoints(t *testing.T) {
	t.Parallel()
	require.Equal(t, http.StatusOK, h.do(t, request{method: "GET", path: "/health"}).Status)
	ready := h.do(t, request{method: "GET", path: "/ready"})
	require.Equal(t, http.StatusOK, ready.Status, "%s", ready.Body)
	checks := ready.json(t)["checks"].(map[string]any)
	require.Contains(t, checks, "postgres")
	require.Contains(t, checks, "temporal")

	h.do(t, request{method: "GET", path: "/demo/env/ping"}.asClient(demoClient, demoSecret))
	metrics := h.do(t, request{method: "GET", path: "/metrics"})
	require.Equal(t, http.StatusOK, metrics.Status)
	body := string(metrics.Body)
	require.Contains(t, body, `switchyard_http_requests_total{method="GET",route="proxy",status="200"}`)
	require.Contains(t, body, `switchyard_http_request_duration_seconds_bucket{method="GET",route="/health"`)
	require.Contains(t, body, "temporal_", "the Temporal SDK's metrics are served too")

	doc := h.do(t, request{method: "GET", path: "/api/docs/openapi.json"})
	require.Equal(t, http.StatusOK, doc.Status)
	require.Equal(t, "3.0.3", doc.json(t)["openapi"])
	ui := h.do(t, request{method: "GET", path: "/api/docs/swagger/index.html"})
	require.Equal(t, http.StatusOK, ui.Status)
	require.Contains(t, string(ui.Body), "swagger")
	init := h.do(t, request{method: "GET", path: "/api/docs/swagger/swagger-initializer.js"})
	require.Contains(t, string(init.Body), "/api/docs/openapi.json")
}
