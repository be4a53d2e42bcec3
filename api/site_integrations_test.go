package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/api/apitest"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/workflows"
)

const testConnectionPath = "/api/v1/integration/integrations/test_connection/"

// address is a source address of its own (an IPv6 /64), so failure limits start afresh.
func address() string {
	u := uuid.New()
	return fmt.Sprintf("2001:db8:%x:%x::1", u[0:2], u[2:4])
}

// doFrom sends a request without client credentials from ip, checked against the OpenAPI
// document as do does.
func (h *hub) doFrom(ip, method, path string, body any, header ...string) answer {
	h.t.Helper()
	raw, isText := body.(string)
	if !isText {
		b, err := json.Marshal(body)
		require.NoError(h.t, err)
		raw = string(b)
	}
	req := httptest.NewRequest(method, path, strings.NewReader(raw))
	req.RemoteAddr = "[" + ip + "]:40000"
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.server.Handler().ServeHTTP(rec, req)
	apitest.CheckResponse(h.t, method, path, rec.Code, rec.Header(), rec.Body.Bytes())
	a := answer{code: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &a.body)
	return a
}

// checkAnswers makes every IntegrationCheck answer health.
func (h *hub) checkAnswers(health platform.Health) {
	h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
		return fakeRun{id: opts.ID, result: health}, nil
	})
}

func TestTestConnectionOfAnIntegration(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)
	siteID, _ := h.site(owner, "Blog")
	created := h.do("POST", integrationsPath, owner, wordPress(siteID))
	require.Equal(t, http.StatusCreated, created.code, created.raw)
	id := created.data()["id"].(string)
	path := integrationsPath + id + "/test_connection/"

	t.Run("a working site", func(t *testing.T) {
		h.checkAnswers(platform.Health{OK: true, LatencyMS: 12, Details: map[string]any{"message": "Connected to Blog",
			"site_name": "Blog"}})
		a := h.do("POST", path, owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, true, a.body["success"])
		require.Equal(t, "Connected to Blog", a.body["message"])
		details := a.body["details"].(map[string]any)
		require.Equal(t, "Blog", details["site_name"])
		require.InDelta(t, 12, details["latency_ms"], 0.001)
		s := h.started()
		require.Len(t, s, 1)
		require.Equal(t, workflows.WorkflowIntegrationCheck, s[0].workflowType)
		require.Equal(t, workflows.CheckInput{IntegrationID: id}, s[0].input)
		require.True(t, strings.HasPrefix(s[0].opts.ID, "check:"+id+":"))
	})

	t.Run("a refusing site is still a 200, success false with the reason", func(t *testing.T) {
		h.checkAnswers(platform.Health{OK: false, Error: "the site refused the credentials (401)"})
		a := h.do("POST", path, owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, false, a.body["success"])
		require.Equal(t, "the site refused the credentials (401)", a.body["message"])
	})

	t.Run("a check that cannot run is a 502", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, err: errors.New("workflow failed")}, nil
		})
		a := h.do("POST", path, owner, nil)
		require.Equal(t, http.StatusBadGateway, a.code, a.raw)
	})

	t.Run("another client's is not found", func(t *testing.T) {
		h.onStart(nil)
		require.Equal(t, http.StatusNotFound, h.do("POST", path, other, nil).code)
		require.Empty(t, h.started())
	})
}

func TestTestConnectionOnboardsAWordPressSite(t *testing.T) {
	h := newHub(t, api.Config{WebhookFailureIPLimit: 3, AuthFailureWindow: 10 * time.Minute})
	owner := h.client(api.PermissionIntegrations)
	from := address()
	public := func(body map[string]any) answer { return h.doFrom(from, "POST", testConnectionPath, body) }
	siteID, key := h.site(owner, "Blog")
	onboarding := func(apiKey string) map[string]any {
		return map[string]any{"site_id": siteID, "api_key": apiKey, "site_url": "https://blog.example.com",
			"username": "editor", "application_password": "abcd efgh ijkl mnop qrst uvwx"}
	}
	noIntegration := func(t *testing.T) {
		t.Helper()
		_, err := h.store.SiteIntegration(context.Background(), owner, siteID, "wordpress")
		require.ErrorIs(t, err, schema.ErrNotFound, "nothing was left behind")
	}

	t.Run("a wrong key or site is refused without a hint, and nothing is made", func(t *testing.T) {
		h.onStart(nil)
		wrong := public(onboarding("wpk_" + strings.Repeat("A", 40)))
		require.Equal(t, http.StatusUnauthorized, wrong.code, wrong.raw)
		body := onboarding(key)
		body["site_id"] = "2f0e6f0a-1d7e-4c1b-9b35-7f3d1d0a9e11"
		unknown := public(body)
		require.Equal(t, http.StatusUnauthorized, unknown.code, unknown.raw)
		require.Equal(t, wrong.body["error"], unknown.body["error"])
		require.NotContains(t, wrong.raw, key)
		noIntegration(t)
		require.Empty(t, h.started())

		a := public(map[string]any{"site_url": "https://blog.example.com"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "site_id")
		require.Contains(t, a.fields(), "api_key")
	})

	t.Run("bad credentials are named and nothing is made", func(t *testing.T) {
		body := onboarding(key)
		delete(body, "application_password")
		a := public(body)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "credentials.application_password")
		noIntegration(t)
	})

	t.Run("a failing test deletes the integration it made", func(t *testing.T) {
		h.checkAnswers(platform.Health{OK: false, Error: "the site refused the credentials (401)"})
		a := public(onboarding(key))
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, false, a.body["success"])
		require.Contains(t, a.body["message"], "did not accept the connection test")
		require.NotContains(t, a.raw, "refused the credentials",
			"the public answer does not relay what the site answered (the owner reads it in the sync events)")
		require.NotContains(t, a.body, "integration_id")
		require.Len(t, h.started(), 1)
		noIntegration(t)
	})

	t.Run("a failed test counts against the address like a bad key", func(t *testing.T) {
		// wrong key, unknown site, failed test: the third failure of this address.
		h.checkAnswers(platform.Health{OK: true, LatencyMS: 3})
		a := public(onboarding(key))
		require.Equal(t, http.StatusTooManyRequests, a.code, a.raw)
		noIntegration(t)
		from = address()
	})

	t.Run("a check that cannot be started leaves nothing either", func(t *testing.T) {
		h.onStart(func(client.StartWorkflowOptions, string, any) (client.WorkflowRun, error) {
			return nil, errors.New("temporal is down")
		})
		a := public(onboarding(key))
		require.Equal(t, http.StatusServiceUnavailable, a.code, a.raw)
		noIntegration(t)
	})

	var id string
	t.Run("a passing test keeps it and names it", func(t *testing.T) {
		h.checkAnswers(platform.Health{OK: true, LatencyMS: 3})
		a := public(onboarding(key))
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, true, a.body["success"])
		id = a.body["integration_id"].(string)
		row, err := h.store.SiteIntegration(context.Background(), owner, siteID, "wordpress")
		require.NoError(t, err)
		require.Equal(t, id, row.ID)
		require.Equal(t, "WordPress Blog", row.Name)
		s := h.started()
		require.Equal(t, workflows.CheckInput{IntegrationID: id}, s[0].input)
	})

	t.Run("an existing integration is tested, never deleted", func(t *testing.T) {
		h.checkAnswers(platform.Health{OK: false, Error: "timeout"})
		a := public(onboarding(key))
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, id, a.body["integration_id"])
		_, err := h.store.GetIntegration(context.Background(), id)
		require.NoError(t, err)
	})

	t.Run("an address failing too often is refused", func(t *testing.T) {
		h.onStart(nil)
		elsewhere := address()
		var last answer
		for range 4 {
			last = h.doFrom(elsewhere, "POST", testConnectionPath, onboarding("wpk_wrong"))
		}
		require.Equal(t, http.StatusTooManyRequests, last.code, last.raw)
		require.Equal(t, api.CodeTooManyFailures, last.errorCode())
		require.NotEmpty(t, last.header.Get("Retry-After"))
		require.Equal(t, http.StatusTooManyRequests, h.doFrom(elsewhere, "POST", testConnectionPath, onboarding(key)).code,
			"refused before any lookup, even with the right key")
		require.Equal(t, http.StatusTooManyRequests,
			h.doFrom(elsewhere, "POST", "/api/v1/integration/webhooks/wordpress/status/", map[string]any{"site_id": siteID}).code,
			"the WordPress callbacks share the limit")
	})
}
