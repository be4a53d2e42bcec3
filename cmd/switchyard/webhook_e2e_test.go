package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/sim"
)

// subscriber is a subscription's endpoint on loopback: it checks every delivery's Standard
// Webhooks signature with the secret the hub gave, can fail on purpose, and keeps what it got.
type subscriber struct {
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	failNext int // answer 503 to this many deliveries
	got      []delivered
	bad      int // deliveries whose signature did not verify
	attempts int
}

type delivered struct {
	ID      string
	Type    string
	Payload map[string]any
}

func newSubscriber(t *testing.T) *subscriber {
	s := &subscriber{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.attempts++
		id, err := platform.VerifyStandard([]string{s.secret}, r.Header, body, time.Now(), 5*time.Minute)
		if err != nil {
			s.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if s.failNext > 0 {
			s.failNext--
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var p map[string]any
		_ = json.Unmarshal(body, &p)
		typ, _ := p["type"].(string)
		s.got = append(s.got, delivered{ID: id, Type: typ, Payload: p})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *subscriber) received() []delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivered(nil), s.got...)
}

// waitFor waits until the subscriber holds n deliveries.
func (s *subscriber) waitFor(t *testing.T, n int) []delivered {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.received()) >= n }, 20*time.Second, 50*time.Millisecond,
		"the subscriber got %d deliveries, want %d", len(s.received()), n)
	return s.received()
}

// subscribe creates a subscription for the demo client and keeps its secret in s.
func (s *subscriber) subscribe(t *testing.T, types ...string) string {
	t.Helper()
	typesJSON, _ := json.Marshal(types)
	resp := h.do(t, request{method: "POST", path: "/api/v1/integration/subscriptions/",
		body: fmt.Sprintf(`{"url":%q,"event_types":%s,"description":"e2e"}`, s.srv.URL, typesJSON)}.
		asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	d := resp.data(t)
	secret, _ := d["secret"].(string)
	require.True(t, strings.HasPrefix(secret, "whsec_"), "the secret is shown once: %s", resp.Body)
	s.mu.Lock()
	s.secret = secret
	s.mu.Unlock()
	id := d["id"].(string)
	t.Cleanup(func() {
		h.do(t, request{method: "DELETE", path: "/api/v1/integration/subscriptions/" + id + "/"}.asClient(demoClient, demoSecret))
	})
	return id
}

// messagingIntegration creates an integration of a simulated messaging platform with the
// simulator's credentials.
func messagingIntegration(t *testing.T, name string, config map[string]any) string {
	t.Helper()
	creds := h.env.Messaging.DemoCredentials()[name]
	if config == nil {
		config = map[string]any{}
	}
	config["api_base_url"] = h.env.Messaging.APIBase(h.simURL, name)
	body, _ := json.Marshal(map[string]any{"name": "e2e " + name, "platform": name, "credentials": creds, "config": config})
	resp := h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/", body: string(body)}.
		asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	d := resp.data(t)
	for field, secret := range creds {
		require.NotContains(t, string(resp.Body), secret, "credential %s is masked", field)
	}
	id := d["id"].(string)
	t.Cleanup(func() {
		h.do(t, request{method: "DELETE", path: "/api/v1/integration/integrations/" + id + "/"}.asClient(demoClient, demoSecret))
	})
	return id
}

// inbound has the simulator play the platform sending a message to the hub.
func inbound(t *testing.T, name string, in sim.InboundRequest) sim.InboundResponse {
	t.Helper()
	in.HubURL = h.apiURL
	body, _ := json.Marshal(in)
	resp, err := http.Post(h.simURL+"/_sim/"+name+"/inbound", "application/json", strings.NewReader(string(body)))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var out sim.InboundResponse
	require.NoError(t, json.Unmarshal(b, &out), "%s", b)
	return out
}

func hubBody(t *testing.T, a sim.HubAnswer) map[string]any {
	t.Helper()
	m, ok := a.Body.(map[string]any)
	require.True(t, ok, "hub answered %d %v", a.Status, a.Body)
	if d, ok := m["data"].(map[string]any); ok {
		return d
	}
	return m
}

// TestWebhookRoundTrip: each messaging platform's simulator sends a signed message; the hub
// verifies it, answers at once, normalizes it and delivers it, signed, to the subscription; the
// platform's retry of the same delivery is answered as a duplicate and delivered nowhere.
func TestWebhookRoundTrip(t *testing.T) {
	sub := newSubscriber(t)
	sub.subscribe(t, platform.EventMessageReceived)
	for i, name := range []string{"telegram", "whatsapp", "slack", "discord"} {
		t.Run(name, func(t *testing.T) {
			id := messagingIntegration(t, name, nil)
			before := h.count(t, "webhook_events")
			text := fmt.Sprintf("hello from %s %d", name, time.Now().UnixNano())
			out := inbound(t, name, sim.InboundRequest{IntegrationID: id, Text: text, Repeat: true})
			require.Equal(t, http.StatusOK, out.Status, "%v", out.Body)
			require.NotNil(t, out.Repeat)
			require.Equal(t, http.StatusOK, out.Repeat.Status)
			var eventID string
			if name == "discord" {
				// Discord wants its deferred interaction answer within 3 s, not the hub's.
				require.EqualValues(t, 5, hubBody(t, out.HubAnswer)["type"], "%v", out.Body)
				require.EqualValues(t, 5, hubBody(t, *out.Repeat)["type"], "%v", out.Repeat.Body)
				require.Eventually(t, func() bool {
					return h.store.DB().Get(&eventID, `SELECT id FROM webhook_events WHERE integration_id = $1`, id) == nil
				}, 10*time.Second, 20*time.Millisecond)
			} else {
				first := hubBody(t, out.HubAnswer)
				require.Equal(t, true, first["accepted"], "%v", first)
				eventID, _ = first["event_id"].(string)
				require.NotEmpty(t, eventID)
				require.Equal(t, true, hubBody(t, *out.Repeat)["duplicate"], "%v", out.Repeat.Body)
			}

			got := sub.waitFor(t, i+1)[i]
			require.Equal(t, platform.EventMessageReceived, got.Type)
			data := got.Payload["data"].(map[string]any)
			require.Equal(t, id, data["integration_id"])
			msg := data["message"].(map[string]any)
			require.Contains(t, msg["content"].(map[string]any)["text"], text)
			require.Equal(t, name, msg["platform"])
			require.Equal(t, before+1, h.count(t, "webhook_events"), "the repeat stored nothing")

			// The event shows its message and its delivery (recorded once the subscriber's 2xx is in).
			waitWebhookEvent(t, eventID, "processed")
			require.Eventually(t, func() bool {
				ev := waitWebhookEvent(t, eventID, "processed")
				events := ev["events"].([]any)
				require.Len(t, events, 1)
				deliveries := events[0].(map[string]any)["deliveries"].([]any)
				return len(deliveries) == 1 && deliveries[0].(map[string]any)["status"] == "delivered"
			}, 10*time.Second, 50*time.Millisecond)
		})
	}
	time.Sleep(300 * time.Millisecond)
	require.Len(t, sub.received(), 4, "one delivery per message, none for the repeats")
	require.Zero(t, sub.bad)
}

// waitWebhookEvent reads a received webhook until its status is want.
func waitWebhookEvent(t *testing.T, id, want string) map[string]any {
	t.Helper()
	var last map[string]any
	require.Eventually(t, func() bool {
		resp := h.do(t, request{method: "GET", path: "/api/v1/integration/webhooks/events/" + id + "/"}.
			asClient(demoClient, demoSecret))
		if resp.Status != http.StatusOK {
			return false
		}
		last = resp.data(t)
		return last["status"] == want
	}, 20*time.Second, 50*time.Millisecond, "webhook event %s: %v", id, last)
	return last
}

// TestWebhookRefusesWhatItCannotTrust: a bad signature, a stale timestamp and an oversized body
// are refused and store nothing; an unknown integration is 404.
func TestWebhookRefusesWhatItCannotTrust(t *testing.T) {
	id := messagingIntegration(t, "slack", nil)
	before := h.count(t, "webhook_events")
	path := "/api/v1/integration/webhooks/" + id
	body := `{"type":"event_callback","event_id":"EvBAD","event":{"type":"message","channel":"C1","user":"U1","text":"x","ts":"1.2"}}`
	ts := fmt.Sprint(time.Now().Unix())

	bad := h.do(t, request{method: "POST", path: path, body: body}.header("Content-Type", "application/json",
		"X-Slack-Request-Timestamp", ts, "X-Slack-Signature", "v0="+strings.Repeat("0", 64)))
	require.Equal(t, http.StatusUnauthorized, bad.Status, "%s", bad.Body)

	old := fmt.Sprint(time.Now().Add(-10 * time.Minute).Unix())
	secret := h.env.Messaging.DemoCredentials()["slack"]["signing_secret"]
	stale := h.do(t, request{method: "POST", path: path, body: body}.header("Content-Type", "application/json",
		"X-Slack-Request-Timestamp", old, "X-Slack-Signature", slackSignature(secret, old, body)))
	require.Equal(t, http.StatusUnauthorized, stale.Status, "a signature over a stale timestamp: %s", stale.Body)

	good := h.do(t, request{method: "POST", path: path, body: "{not json"}.header("Content-Type", "application/json",
		"X-Slack-Request-Timestamp", ts, "X-Slack-Signature", slackSignature(secret, ts, "{not json")))
	require.Equal(t, http.StatusBadRequest, good.Status, "signed but malformed: %s", good.Body)

	huge := strings.Repeat("x", int(h.env.API.WebhookMaxBody)+1)
	tooLarge := h.do(t, request{method: "POST", path: path, body: huge}.header("Content-Type", "application/json"))
	require.Equal(t, http.StatusRequestEntityTooLarge, tooLarge.Status)

	unknown := h.do(t, request{method: "POST", path: "/api/v1/integration/webhooks/nope", body: body})
	require.Equal(t, http.StatusNotFound, unknown.Status)
	require.Equal(t, before, h.count(t, "webhook_events"), "nothing refused was stored")
}

func slackSignature(secret, ts, body string) string {
	return "v0=" + hmacSHA256Hex(secret, "v0:"+ts+":"+body)
}

// TestDeliveryRetriesUntilTheSubscriberRecovers: a subscriber that is down for a while gets the
// event exactly once when it comes back, under the same webhook-id; every attempt is recorded.
func TestDeliveryRetriesUntilTheSubscriberRecovers(t *testing.T) {
	sub := newSubscriber(t)
	subID := sub.subscribe(t, platform.EventMessageReceived)
	sub.mu.Lock()
	sub.failNext = 3
	sub.mu.Unlock()
	id := messagingIntegration(t, "telegram", nil)
	out := inbound(t, "telegram", sim.InboundRequest{IntegrationID: id, Text: "are you there?"})
	eventID := hubBody(t, out.HubAnswer)["event_id"].(string)

	got := sub.waitFor(t, 1)
	require.Len(t, got, 1)
	ev := waitWebhookEvent(t, eventID, "processed")
	emitted := ev["events"].([]any)[0].(map[string]any)
	require.Equal(t, emitted["id"], got[0].ID, "webhook-id is the event id")
	var attempts int
	require.Eventually(t, func() bool {
		require.NoError(t, h.store.DB().Get(&attempts, `SELECT count(*) FROM delivery_attempts WHERE subscription_id = $1`, subID))
		return attempts == 4
	}, 10*time.Second, 20*time.Millisecond, "three refused attempts and the one that got through: %d", attempts)
	time.Sleep(300 * time.Millisecond)
	require.Len(t, sub.received(), 1, "delivered exactly once")
}

// TestSendMessage: a message sent through each platform reaches the simulator, answers with the
// platform's message id, is logged as a transaction and announced as integration.message.sent;
// a rate limit is waited out; a refusal is a failed send announced as .failed.
func TestSendMessage(t *testing.T) {
	sub := newSubscriber(t)
	sub.subscribe(t, "integration.message.*")
	n := 0
	for _, tc := range []struct{ platform, to string }{{"telegram", "424242"}, {"whatsapp", "255700000001"},
		{"slack", "C0DEMO"}, {"discord", "900000000000000001"}} {
		t.Run(tc.platform, func(t *testing.T) {
			id := messagingIntegration(t, tc.platform, nil)
			resp := h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/" + id + "/messages/",
				body: fmt.Sprintf(`{"to":%q,"content":{"type":"TEXT","text":"hi from the hub"}}`, tc.to)}.
				asClient(demoClient, demoSecret))
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			d := resp.data(t)
			require.NotEmpty(t, d["message_id"], "%s", resp.Body)
			row := h.row(t, d["correlation_id"].(string))
			require.Equal(t, "message", row.Kind)
			require.Equal(t, "successful", row.Status)
			n++
			got := sub.waitFor(t, n)[n-1]
			require.Equal(t, platform.EventMessageSent, got.Type)
			require.Equal(t, d["message_id"], got.Payload["data"].(map[string]any)["message_id"])
		})
	}

	t.Run("rate limited, then sent", func(t *testing.T) {
		id := messagingIntegration(t, "telegram", nil)
		putMessagingFault(t, `{"platform":"telegram","rate_limit":1,"retry_after":"1s"}`)
		resp := h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/" + id + "/messages/",
			body: `{"to":"424242","content":{"type":"TEXT","text":"after the wait"}}`}.asClient(demoClient, demoSecret))
		require.Contains(t, []int{http.StatusOK, http.StatusAccepted}, resp.Status, "%s", resp.Body)
		corr := resp.json(t)
		id2, _ := corr["data"].(map[string]any)["correlation_id"].(string)
		require.NotEmpty(t, id2, "%s", resp.Body)
		h.waitStatus(t, id2, "successful")
	})

	t.Run("refused", func(t *testing.T) {
		id := messagingIntegration(t, "slack", nil)
		resp := h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/" + id + "/messages/",
			body: `{"to":"no-such-channel","content":{"type":"TEXT","text":"lost"}}`}.asClient(demoClient, demoSecret))
		require.Equal(t, http.StatusBadGateway, resp.Status, "%s", resp.Body)
		require.Equal(t, "PLATFORM_ERROR", resp.errorCode(t))
		require.Eventually(t, func() bool {
			for _, d := range sub.received() {
				if d.Type == platform.EventMessageFailed {
					return true
				}
			}
			return false
		}, 10*time.Second, 50*time.Millisecond)
	})
}

func putMessagingFault(t *testing.T, spec string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, h.simURL+"/_sim/messaging/faults", strings.NewReader(spec))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)
}

// TestOrderedDeliveryAndReplay: an ordered integration's conversation reaches the subscriber in
// the order it was received even while the subscriber stumbles; a replay delivers the event again
// under the same webhook-id.
func TestOrderedDeliveryAndReplay(t *testing.T) {
	sub := newSubscriber(t)
	sub.subscribe(t, platform.EventMessageReceived)
	id := messagingIntegration(t, "telegram", map[string]any{"ordered": true})
	sub.mu.Lock()
	sub.failNext = 2
	sub.mu.Unlock()
	var first string
	for i := range 5 {
		out := inbound(t, "telegram", sim.InboundRequest{IntegrationID: id, Text: fmt.Sprintf("ordered %d", i), Chat: "777"})
		require.Equal(t, http.StatusOK, out.Status, "%v", out.Body)
		if i == 0 {
			first = hubBody(t, out.HubAnswer)["event_id"].(string)
		}
	}
	got := sub.waitFor(t, 5)
	for i, d := range got {
		text := d.Payload["data"].(map[string]any)["message"].(map[string]any)["content"].(map[string]any)["text"]
		require.Equal(t, fmt.Sprintf("ordered %d", i), text)
	}

	waitWebhookEvent(t, first, "processed")
	resp := h.do(t, request{method: "POST", path: "/api/v1/integration/webhooks/events/" + first + "/replay/"}.
		asClient(demoClient, demoSecret))
	require.Contains(t, []int{http.StatusOK, http.StatusAccepted}, resp.Status, "%s", resp.Body)
	again := sub.waitFor(t, 6)
	require.Equal(t, got[0].ID, again[5].ID, "a replay keeps the webhook-id")
}

// TestFailingSubscriptionIsDisabled: deliveries that run out of budget count against their
// subscription, which is disabled after DELIVERY_DISABLE_AFTER failures in a row and says so.
func TestFailingSubscriptionIsDisabled(t *testing.T) {
	sub := newSubscriber(t)
	subID := sub.subscribe(t, platform.EventMessageReceived)
	sub.mu.Lock()
	sub.failNext = 1 << 30
	sub.mu.Unlock()
	id := messagingIntegration(t, "telegram", nil)
	for i := range h.env.Activities.DeliveryDisableAfter {
		inbound(t, "telegram", sim.InboundRequest{IntegrationID: id, Text: fmt.Sprintf("into the void %d", i)})
	}
	require.Eventually(t, func() bool {
		resp := h.do(t, request{method: "GET", path: "/api/v1/integration/subscriptions/" + subID + "/"}.
			asClient(demoClient, demoSecret))
		return resp.Status == http.StatusOK && resp.data(t)["is_active"] == false
	}, 30*time.Second, 100*time.Millisecond)
	resp := h.do(t, request{method: "GET", path: "/api/v1/integration/subscriptions/" + subID + "/"}.
		asClient(demoClient, demoSecret))
	require.NotEmpty(t, resp.data(t)["disabled_reason"])
}

func hmacSHA256Hex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// TestIntegrationChecks: health makes a real call to the platform with the stored credentials;
// validate checks unsaved credentials' formats and, when they are well formed, makes the same
// call without storing anything; status names the platform's capabilities.
func TestIntegrationChecks(t *testing.T) {
	id := messagingIntegration(t, "telegram", nil)
	health := h.do(t, request{method: "GET", path: "/api/v1/integration/integrations/" + id + "/health/"}.
		asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, health.Status, "%s", health.Body)
	require.Equal(t, true, health.data(t)["ok"], "%s", health.Body)

	status := h.do(t, request{method: "GET", path: "/api/v1/integration/integrations/" + id + "/status/"}.
		asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, status.Status, "%s", status.Body)
	require.Contains(t, status.data(t)["capabilities"], "SEND_MESSAGE")

	before := h.count(t, "integrations")
	wrong := h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/validate/",
		body: fmt.Sprintf(`{"platform":"telegram","credentials":{"bot_token":"7000000001:not-the-real-token","secret_token":"abc"},
			"config":{"api_base_url":%q}}`, h.env.Messaging.APIBase(h.simURL, "telegram"))}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, wrong.Status, "%s", wrong.Body)
	d := wrong.data(t)
	require.Equal(t, false, d["health"].(map[string]any)["ok"], "the platform refused the token: %s", wrong.Body)
	require.NotContains(t, string(wrong.Body), "not-the-real-token")

	malformed := h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/validate/",
		body: `{"platform":"discord","credentials":{"bot_token":"x","public_key":"not hex"}}`}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, malformed.Status, "%s", malformed.Body)
	require.Equal(t, false, malformed.data(t)["valid"])
	require.Contains(t, malformed.data(t)["errors"], "credentials.public_key")
	require.Equal(t, before, h.count(t, "integrations"), "validate stores nothing")
}

// TestWebhookChallengeAndWindowReplay: WhatsApp's subscription challenge is echoed only with the
// right verify token; a replay by time window re-delivers every event of the window.
func TestWebhookChallengeAndWindowReplay(t *testing.T) {
	id := messagingIntegration(t, "whatsapp", nil)
	token := h.env.Messaging.DemoCredentials()["whatsapp"]["verify_token"]
	ok := h.do(t, request{method: "GET", path: "/api/v1/integration/webhooks/" + id +
		"?hub.mode=subscribe&hub.verify_token=" + token + "&hub.challenge=1158201444"})
	require.Equal(t, http.StatusOK, ok.Status, "%s", ok.Body)
	require.Equal(t, "1158201444", string(ok.Body))
	wrong := h.do(t, request{method: "GET", path: "/api/v1/integration/webhooks/" + id +
		"?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444"})
	require.Equal(t, http.StatusForbidden, wrong.Status)

	sub := newSubscriber(t)
	sub.subscribe(t, platform.EventMessageReceived)
	since := time.Now().Add(-time.Second).UTC()
	for i := range 2 {
		inbound(t, "whatsapp", sim.InboundRequest{IntegrationID: id, Text: fmt.Sprintf("window %d", i)})
	}
	first := sub.waitFor(t, 2)
	resp := h.do(t, request{method: "POST", path: "/api/v1/integration/webhooks/events/replay/",
		body: fmt.Sprintf(`{"since":%q,"integration_id":%q}`, since.Format(time.RFC3339Nano), id)}.
		asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusAccepted, resp.Status, "%s", resp.Body)
	again := sub.waitFor(t, 4)
	ids := map[string]int{}
	for _, d := range again {
		ids[d.ID]++
	}
	require.Equal(t, 2, ids[first[0].ID])
	require.Equal(t, 2, ids[first[1].ID])
}

// TestDemoIntegrationsWork: the integrations the demo seed links to the simulators carry the
// simulators' credentials: the README's round trip, message in and reply out.
func TestDemoIntegrationsWork(t *testing.T) {
	const telegram = "de000000-0000-4000-8000-000000000002"
	out := inbound(t, "telegram", sim.InboundRequest{IntegrationID: telegram, Text: "hi from the README"})
	require.Equal(t, http.StatusOK, out.Status, "%v", out.Body)
	require.Equal(t, true, hubBody(t, out.HubAnswer)["accepted"])
	resp := h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/" + telegram + "/messages/",
		body: `{"to":"424242","content":{"type":"TEXT","text":"hello back"}}`}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.NotEmpty(t, resp.data(t)["message_id"])
}
