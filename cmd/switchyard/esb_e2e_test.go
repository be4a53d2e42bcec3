package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/transaction"
)

// esbStats reads the engine simulator's counters.
func esbStats(t *testing.T) sim.ESBStats {
	t.Helper()
	resp, err := http.Get(h.simURL + "/_sim/esb/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	var stats sim.ESBStats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	return stats
}

// esbFaults sets the engine simulator's faults; "" clears them.
func esbFaults(t *testing.T, body string) {
	t.Helper()
	method := http.MethodPut
	if body == "" {
		method = http.MethodDelete
	}
	req, err := http.NewRequest(method, h.simURL+"/_sim/esb/faults", strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

// registerESB creates a registration through the admin API and returns its id.
func registerESB(t *testing.T, body string) string {
	t.Helper()
	r := h.do(t, request{method: "POST", path: "/api/v1/admin/esb/registrations", body: body}.asAdmin())
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	return r.data(t)["id"].(string)
}

func TestESBRelay(t *testing.T) {
	channelID := h.fixture(t, "esb-relay", "", `{"path_pattern":"/e2e/esb/**","methods":["POST","GET"],"retry_policy":`+channelRetry+`}`)
	registerESB(t, fmt.Sprintf(`{"organization":"ORG-E2E","name":"E2E Organization","api_code":"API-E2E","push_code":"PUSH-E2E","channel_id":%q}`, channelID))
	send := func(path string, kv ...string) response {
		return h.do(t, request{method: "POST", path: path, body: `{"nin":"N-1"}`}.asClient(demoClient, demoSecret).header(kv...))
	}

	t.Run("a channel with registrations needs an organization", func(t *testing.T) {
		r := send("/e2e/esb/citizens")
		require.Equal(t, http.StatusBadRequest, r.Status)
		require.Equal(t, api.CodeOrganizationRequired, r.errorCode(t))
	})
	t.Run("an unknown organization is a 404", func(t *testing.T) {
		r := send("/e2e/esb/citizens", "X-Organization", "ORG-NOBODY")
		require.Equal(t, http.StatusNotFound, r.Status)
		require.Equal(t, api.CodeOrganizationNotFound, r.errorCode(t))
	})
	t.Run("another mode than normal or push is a 400", func(t *testing.T) {
		r := send("/e2e/esb/citizens?esb_mode=turbo", "X-Organization", "ORG-E2E")
		require.Equal(t, http.StatusBadRequest, r.Status)
		require.Equal(t, api.CodeValidation, r.errorCode(t))
	})

	t.Run("hybrid: relayed with api_code, signed and verified both ways", func(t *testing.T) {
		before := esbStats(t)
		r := send("/e2e/esb/citizens?keep=1", "X-Organization", "ORG-E2E")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.JSONEq(t, `{"apiCode":"API-E2E","received":{"nin":"N-1"}}`, string(r.Body))
		require.NotEmpty(t, r.Header.Get("X-ESB-Request-Id"))
		after := esbStats(t)
		require.Equal(t, before.Verified+1, after.Verified, "the engine verified the hub's signature")
		require.Equal(t, "API-E2E", after.Last.APICode)

		id := r.Header.Get("X-Correlation-ID")
		status := h.waitStatus(t, id, transaction.StatusSuccessful)
		require.Equal(t, "esb-relay", status["channel"])
		require.EqualValues(t, 200, status["response"].(map[string]any)["status_code"])
		row := h.row(t, id)
		require.Equal(t, "esb-relay", row.ChannelName)
		require.Equal(t, "keep=1", row.Query, "organization and esb_mode never travel on")
		_, hasOrg := row.RequestHeaders["X-Organization"]
		require.False(t, hasOrg)
	})
	t.Run("hybrid: X-ESB-Mode push relays with push_code", func(t *testing.T) {
		r := send("/e2e/esb/citizens", "X-Organization", "ORG-E2E", "X-ESB-Mode", "push")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.JSONEq(t, `{"pushCode":"PUSH-E2E","received":{"nin":"N-1"}}`, string(r.Body))
		require.Equal(t, "PUSH-E2E", esbStats(t).Last.PushCode)
		r = send("/e2e/esb/citizens?organization=ORG-E2E&esb_mode=push")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Contains(t, string(r.Body), "PUSH-E2E")
	})
	t.Run("an expired token is renewed and the request succeeds", func(t *testing.T) {
		before := esbStats(t)
		esbFaults(t, `{"expire_tokens": true}`)
		r := send("/e2e/esb/citizens", "X-Organization", "ORG-E2E")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		after := esbStats(t)
		require.Equal(t, before.TokensIssued+1, after.TokensIssued)
		require.Equal(t, before.Rejected+1, after.Rejected, "the expired token was refused once")
	})
	t.Run("a tampered answer signature fails the transaction", func(t *testing.T) {
		esbFaults(t, `{"tamper_signature": true}`)
		defer esbFaults(t, "")
		r := send("/e2e/esb/citizens", "X-Organization", "ORG-E2E")
		require.Equal(t, http.StatusBadGateway, r.Status, "%s", r.Body)
		require.Equal(t, transaction.ErrorCodeESBSignatureInvalid, r.errorCode(t))
		require.NotContains(t, string(r.Body), "API-E2E", "the unverified answer is never passed on")
		id := r.Header.Get("X-Correlation-ID")
		status := h.waitStatus(t, id, transaction.StatusFailed)
		require.Equal(t, transaction.ErrorCodeESBSignatureInvalid, status["error_code"])
		require.EqualValues(t, 1, status["attempts"], "a bad signature is not retried")
	})
	t.Run("a channel without registrations still goes to its mediator", func(t *testing.T) {
		r := h.do(t, request{method: "GET", path: "/demo/env/ping"}.asClient(demoClient, demoSecret).header("X-Organization", "ORG-E2E"))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.NotContains(t, string(r.Body), "API-E2E")
	})
	t.Run("a channel that does not relay passes organization and esb_mode to its mediator", func(t *testing.T) {
		h.fixture(t, "esb-plain", "", `{"path_pattern":"/e2e/esb-plain/**","methods":["GET"]}`)
		r := h.do(t, request{method: "GET", path: "/e2e/esb-plain/crm/accounts?organization=acme&esb_mode=push&async=false"}.
			asClient(demoClient, demoSecret).header("X-Organization", "acme", "X-ESB-Mode", "push"))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var echo sim.EchoResponse
		require.NoError(t, json.Unmarshal(r.Body, &echo))
		require.Equal(t, "organization=acme&esb_mode=push", echo.Query)
		require.Equal(t, []string{"acme"}, echo.Headers["X-Organization"])
		require.Equal(t, []string{"push"}, echo.Headers["X-Esb-Mode"])
	})
	t.Run("an Idempotency-Key reused for another organization or mode is refused", func(t *testing.T) {
		registerESB(t, fmt.Sprintf(`{"organization":"ORG-E2E-2","name":"E2E Organization 2","api_code":"API-E2E-2","push_code":"PUSH-E2E-2","channel_id":%q}`, channelID))
		key := "esb-key-" + uuid.NewString()
		first := send("/e2e/esb/citizens", "X-Organization", "ORG-E2E", "Idempotency-Key", key)
		require.Equal(t, http.StatusOK, first.Status, "%s", first.Body)
		for _, kv := range [][]string{{"X-Organization", "ORG-E2E-2"}, {"X-Organization", "ORG-E2E", "X-ESB-Mode", "push"}} {
			r := send("/e2e/esb/citizens", append(kv, "Idempotency-Key", key)...)
			require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%v: %s", kv, r.Body)
			require.Equal(t, api.CodeIdempotencyKeyReused, r.errorCode(t))
			require.NotContains(t, string(r.Body), "API-E2E", "the other organization's answer is never replayed")
		}
		again := send("/e2e/esb/citizens", "X-Organization", "ORG-E2E", "Idempotency-Key", key)
		require.Equal(t, http.StatusOK, again.Status, "%s", again.Body)
		require.Equal(t, first.Header.Get("X-Correlation-ID"), again.Header.Get("X-Correlation-ID"))
	})
	t.Run("a POST relay that may have reached the engine is not sent again, whatever the channel honours", func(t *testing.T) {
		honours := h.fixture(t, "esb-honours", "", `{"path_pattern":"/e2e/esb-honours/**","methods":["POST"],"honours_idempotency_key":true,"retry_policy":`+channelRetry+`}`)
		registerESB(t, fmt.Sprintf(`{"organization":"ORG-E2E","name":"E2E Organization","push_code":"PUSH-HONOURS","channel_id":%q}`, honours))
		esbFaults(t, `{"fail_status": 503, "fail_count": 1}`)
		defer esbFaults(t, "")
		before := esbStats(t)
		r := send("/e2e/esb-honours/push", "X-Organization", "ORG-E2E")
		require.Equal(t, http.StatusBadGateway, r.Status, "%s", r.Body)
		require.EqualValues(t, 1, r.json(t)["details"].(map[string]any)["attempts"])
		require.Equal(t, before.Requests+1, esbStats(t).Requests, "the engine had the push once")
	})

	t.Run("pure_esb: every request relays for its organization", func(t *testing.T) {
		inactive := h.fixture(t, "esb-inactive", "", `{"path_pattern":"/e2e/esb-inactive/**","methods":["POST"]}`)
		registerESB(t, fmt.Sprintf(`{"organization":"ORG-INACTIVE","name":"Inactive","api_code":"API-INACTIVE","channel_id":%q}`, inactive))
		r := h.do(t, request{method: "DELETE", path: "/api/v1/admin/channels/" + inactive}.asAdmin())
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		pure := pureESBHub(t) // its caches are read at its first request, after the changes above

		// A registration on an inactive channel serves no one.
		r = pure.do(t, request{method: "POST", path: "/any", body: `{}`}.asClient(demoClient, demoSecret).header("X-Organization", "ORG-INACTIVE"))
		require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
		require.Equal(t, api.CodeOrganizationNotFound, r.errorCode(t))
		registerESB(t, `{"organization":"ORG-GLOBAL","name":"Global Organization","api_code":"API-GLOBAL"}`)
		// This instance's cache has not read the new registration yet: it expires within the TTL.
		require.Eventually(t, func() bool {
			r = pure.do(t, request{method: "POST", path: "/any/path/at/all", body: `{"q":1}`}.asClient(demoClient, demoSecret).
				header("X-Organization", "ORG-GLOBAL"))
			return r.Status == http.StatusOK
		}, 5*time.Second, 100*time.Millisecond, "last: %d %s", r.Status, r.Body)
		require.JSONEq(t, `{"apiCode":"API-GLOBAL","received":{"q":1}}`, string(r.Body))
		id := r.Header.Get("X-Correlation-ID")
		h.waitStatus(t, id, transaction.StatusSuccessful)
		require.Equal(t, "esb:ORG-GLOBAL", h.row(t, id).ChannelName)

		// Without a global registration, the organization's channel registration serves.
		r = pure.do(t, request{method: "GET", path: "/whatever"}.asClient(demoClient, demoSecret).header("X-Organization", "ORG-E2E",
			"X-ESB-Mode", "push"))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.JSONEq(t, `{"pushCode":"PUSH-E2E","received":{}}`, string(r.Body))

		r = pure.do(t, request{method: "GET", path: "/whatever"}.asClient(demoClient, demoSecret))
		require.Equal(t, http.StatusBadRequest, r.Status)
		require.Equal(t, api.CodeOrganizationRequired, r.errorCode(t))
		r = pure.do(t, request{method: "GET", path: "/whatever?organization=ORG-NOBODY"}.asClient(demoClient, demoSecret))
		require.Equal(t, http.StatusNotFound, r.Status)
		require.Equal(t, api.CodeOrganizationNotFound, r.errorCode(t))
	})
}

// pureESBHub is a second API on the harness's database and Temporal, in MEDIATOR_MODE=pure_esb
// (the harness's worker runs its transactions).
func pureESBHub(t *testing.T) *harness {
	t.Helper()
	cfg := h.env.API
	cfg.MediatorMode = api.ModePureESB
	registry := prometheus.NewRegistry()
	srv, err := api.New(cfg, api.Deps{Store: h.store, Temporal: h.temporal, Registry: registry, Gatherer: registry,
		Converter: h.st.converter, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	pure := *h
	pure.apiURL = ts.URL
	return &pure
}

func TestESBRegistrationsAdmin(t *testing.T) {
	admin := func(method, path, body string) response {
		return h.do(t, request{method: method, path: path, body: body}.asAdmin())
	}
	id := registerESB(t, `{"organization":"ORG-ADMIN","name":"Admin Org","push_code":"P-1"}`)
	t.Run("one global registration per organization", func(t *testing.T) {
		r := admin("POST", "/api/v1/admin/esb/registrations", `{"organization":"ORG-ADMIN","name":"Again","api_code":"A"}`)
		require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
	})
	t.Run("bad input is a 400 naming the field", func(t *testing.T) {
		for body, field := range map[string]string{
			`{"organization":"ORG X","name":"n","api_code":"A"}`:                                                     "organization",
			`{"organization":"ORG-B","name":"n"}`:                                                                    "api_code",
			`{"organization":"ORG-B","name":"n","api_code":"A","channel_id":"nope"}`:                                 "channel_id",
			`{"organization":"ORG-B","name":"n","api_code":"A","channel_id":"7d3c1a9b-0000-4c59-9a0e-2f7d3c1a9b61"}`: "channel_id",
		} {
			r := admin("POST", "/api/v1/admin/esb/registrations", body)
			require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", body, r.Body)
			require.Equal(t, field, r.json(t)["details"].(map[string]any)["field"], body)
		}
	})
	t.Run("read, update, list, delete", func(t *testing.T) {
		r := admin("GET", "/api/v1/admin/esb/registrations/"+id, "")
		require.Equal(t, http.StatusOK, r.Status)
		require.Nil(t, r.data(t)["channel_id"])
		r = admin("PATCH", "/api/v1/admin/esb/registrations/"+id, `{"api_code":"A-2","is_active":false}`)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, "A-2", r.data(t)["api_code"])
		require.Equal(t, "P-1", r.data(t)["push_code"])
		require.Equal(t, false, r.data(t)["is_active"])
		r = admin("PATCH", "/api/v1/admin/esb/registrations/"+id, `{"api_code":"","push_code":""}`)
		require.Equal(t, http.StatusBadRequest, r.Status)
		r = admin("GET", "/api/v1/admin/esb/registrations?organization=ORG-ADMIN&limit=1", "")
		require.Equal(t, http.StatusOK, r.Status)
		require.Len(t, r.json(t)["data"], 1)
		r = admin("DELETE", "/api/v1/admin/esb/registrations/"+id, "")
		require.Equal(t, http.StatusOK, r.Status)
		r = admin("GET", "/api/v1/admin/esb/registrations/"+id, "")
		require.Equal(t, http.StatusNotFound, r.Status)
		r = admin("GET", "/api/v1/admin/esb/registrations/not-a-uuid", "")
		require.Equal(t, http.StatusNotFound, r.Status)
	})
}

func TestESBDemoRegistrationIsSeeded(t *testing.T) {
	org := api.DemoOrganization(h.env.Seed)
	r := h.do(t, request{method: "POST", path: "/integrations/citizens", body: `{"nin":"19900101-00001-00001-11"}`}.
		asClient(demoClient, demoSecret).header("X-Organization", org))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "DEMO-CITIZEN-LOOKUP")
}

func TestESBSecretsStayOutOfLogs(t *testing.T) {
	r := h.do(t, request{method: "POST", path: "/integrations/citizens", body: `{"nin":"N-2"}`}.
		asClient(demoClient, demoSecret).header("X-Organization", api.DemoOrganization(h.env.Seed)))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	cfg := h.env.Activities.ESB
	logs := hubLogs.String()
	require.NotContains(t, logs, cfg.ClientSecret)
	for _, key := range []string{cfg.ClientPrivateKey, h.env.ESBSim.PrivateKey} {
		lines := strings.Split(strings.TrimSpace(key), "\n")
		require.Greater(t, len(lines), 2)
		require.NotContains(t, logs, lines[1], "a line of a private key")
	}
}

func TestDevESBKeysAreMadeOnceAndKeptPrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := devESBKeys(dir)
	require.NoError(t, err)
	for _, name := range []string{devESBClientKeyFile, devESBEngineKeyFile} {
		info, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), name)
	}
	again, err := devESBKeys(dir)
	require.NoError(t, err)
	require.Equal(t, first, again, "the second run reuses the keys")
	require.NotEqual(t, first.client.PublicPEM, first.engine.PublicPEM)

	t.Run("settings the environment gives win", func(t *testing.T) {
		var e env
		e.Activities.ESB.EngineURL = "https://esb.example.org/engine"
		e.Activities.ESB.ClientID, e.ESBSim.ClientID = "given", "given"
		e.Activities.ESB.ClientPrivateKey = first.client.PrivatePEM
		e.ESBSim.ClientPublicKey = first.client.PublicPEM
		require.NoError(t, wireLocalESB(&e, "http://127.0.0.1:1/", func() (esbKeys, error) { return again, nil }))
		require.Equal(t, "https://esb.example.org/engine", e.Activities.ESB.EngineURL)
		require.Equal(t, "http://127.0.0.1:1/esb/token", e.Activities.ESB.TokenURL)
		require.Equal(t, "given", e.Activities.ESB.ClientID)
		require.Equal(t, "", e.Activities.ESB.ClientSecret, "credentials are left as given")
		require.Equal(t, first.client.PrivatePEM, e.Activities.ESB.ClientPrivateKey)
		require.Equal(t, again.engine.PublicPEM, e.Activities.ESB.PublicKey)
		require.Equal(t, again.engine.PrivatePEM, e.ESBSim.PrivateKey)
	})
}

func TestESBRerunNamesTheOrganizationAgain(t *testing.T) {
	org := api.DemoOrganization(h.env.Seed)
	r := h.do(t, request{method: "POST", path: "/integrations/citizens", body: `{"nin":"N-3"}`}.
		asClient(demoClient, demoSecret).header("X-Organization", org))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	id := r.Header.Get("X-Correlation-ID")
	h.waitStatus(t, id, transaction.StatusSuccessful)

	r = h.do(t, request{method: "POST", path: "/transactions/" + id + "/rerun"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Equal(t, api.CodeOrganizationRequired, r.errorCode(t))

	r = h.do(t, request{method: "POST", path: "/transactions/" + id + "/rerun"}.asClient(demoClient, demoSecret).
		header("X-Organization", org, "X-ESB-Mode", "push"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.JSONEq(t, `{"pushCode":"DEMO-CITIZEN-PUSH","received":{"nin":"N-3"}}`, string(r.Body))
	require.Equal(t, id, h.row(t, r.Header.Get("X-Correlation-ID")).ParentID.String)
}
