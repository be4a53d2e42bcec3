package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/sim"
)

// Test credentials of the connectors (see testProviderEnv); never in logs or history.
const (
	paymentsAPIKey = "sk_test_e2e_payments_4c1d"
	erpAPIKey      = "erp_e2e_key_9a7b"
)

// connector calls a connector route as the demo integrator.
func connector(t *testing.T, method, route, body string, headers ...string) response {
	t.Helper()
	return h.do(t, request{method: method, path: "/api/v1/connectors" + route, body: body}.
		asClient(demoClient, demoSecret).header(headers...))
}

// simSend sends a control request to the simulators and checks its status.
func simSend(t *testing.T, method, path, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, h.simURL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, buf.String())
	return buf.Bytes()
}

// paymentStats are the payment simulator's counters.
type paymentStats struct {
	Requests        int            `json:"requests"`
	ChargesCreated  int            `json:"charges_created"`
	RefundsCreated  int            `json:"refunds_created"`
	Replays         int            `json:"idempotent_replays"`
	RateLimited     int            `json:"rate_limited"`
	ChargesByKey    map[string]int `json:"charges_by_idempotency_key"`
	SubscriptionsOK int            `json:"subscriptions_created"`
}

func payments(t *testing.T) paymentStats {
	t.Helper()
	var s paymentStats
	simJSON(t, "/_sim/payments/stats", &s)
	return s
}

type erpStats struct {
	Requests    int            `json:"requests"`
	MaxInFlight int            `json:"max_in_flight"`
	PagesServed int            `json:"pages_served"`
	Records     map[string]int `json:"records"`
}

func erp(t *testing.T) erpStats {
	t.Helper()
	var s erpStats
	simJSON(t, "/_sim/erp/stats", &s)
	return s
}

func num(t *testing.T, v any) int {
	t.Helper()
	f, ok := v.(float64)
	require.True(t, ok, "%v is not a number", v)
	return int(f)
}

func details(t *testing.T, r response) map[string]any {
	t.Helper()
	d, _ := r.json(t)["details"].(map[string]any)
	require.NotNil(t, d, "no details: %s", r.Body)
	return d
}

// A charge, read back, refunded in part and then in full; a refund beyond what is left and a
// refund of a charge refunded in full are refused by the provider, and nothing more is refunded.
func TestPaymentsChargeAndRefunds(t *testing.T) {
	before := payments(t)
	resp := connector(t, "POST", "/payments/charges",
		`{"amount": 2000, "currency": "USD", "source": "tok_visa", "description": "order 42", "metadata": {"order": "42"}}`,
		"Idempotency-Key", "charge-"+uuid.NewString())
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		require.NotEmpty(t, resp.Header.Get(h), "connector answers carry %s", h)
	}
	charge := resp.data(t)
	id := charge["id"].(string)
	require.True(t, strings.HasPrefix(id, "ch_"), id)
	require.Equal(t, "succeeded", charge["status"])
	require.Equal(t, 2000, num(t, charge["amount"]))
	require.Equal(t, "usd", charge["currency"])
	require.Equal(t, "order 42", charge["description"])
	require.Equal(t, map[string]any{"order": "42"}, charge["metadata"])
	require.Equal(t, 0, num(t, charge["amount_refunded"]))
	require.NotEmpty(t, charge["created_at"])
	require.Equal(t, 1, payments(t).ChargesCreated-before.ChargesCreated)

	got := connector(t, "GET", "/payments/charges/"+id, "")
	require.Equal(t, http.StatusOK, got.Status, "%s", got.Body)
	require.Equal(t, id, got.data(t)["id"])

	part := connector(t, "POST", "/payments/refunds", fmt.Sprintf(`{"charge_id": %q, "amount": 500, "reason": "requested_by_customer"}`, id))
	require.Equal(t, http.StatusOK, part.Status, "%s", part.Body)
	refund := part.data(t)
	require.Equal(t, 500, num(t, refund["amount"]))
	require.Equal(t, id, refund["charge_id"])
	after := connector(t, "GET", "/payments/charges/"+id, "").data(t)
	require.Equal(t, 500, num(t, after["amount_refunded"]))
	require.Equal(t, "partially_refunded", after["status"])

	over := connector(t, "POST", "/payments/refunds", fmt.Sprintf(`{"charge_id": %q, "amount": 1600}`, id))
	require.Equal(t, http.StatusBadRequest, over.Status, "%s", over.Body)
	require.Equal(t, "PAYMENT_ERROR", over.errorCode(t))
	require.Equal(t, "amount_too_large", details(t, over)["code"])

	rest := connector(t, "POST", "/payments/refunds", fmt.Sprintf(`{"charge_id": %q}`, id))
	require.Equal(t, http.StatusOK, rest.Status, "%s", rest.Body)
	require.Equal(t, 1500, num(t, rest.data(t)["amount"]))
	full := connector(t, "GET", "/payments/charges/"+id, "").data(t)
	require.Equal(t, 2000, num(t, full["amount_refunded"]))
	require.Equal(t, "refunded", full["status"])
	require.Len(t, full["refunds"], 2)

	again := connector(t, "POST", "/payments/refunds", fmt.Sprintf(`{"charge_id": %q, "amount": 1}`, id))
	require.Equal(t, http.StatusBadRequest, again.Status, "%s", again.Body)
	require.Equal(t, "charge_already_refunded", details(t, again)["code"])
	require.Equal(t, 2, payments(t).RefundsCreated-before.RefundsCreated, "only the two good refunds were made")

	missing := connector(t, "GET", "/payments/charges/ch_doesnotexist", "")
	require.Equal(t, http.StatusNotFound, missing.Status, "%s", missing.Body)
	require.Equal(t, "PAYMENT_ERROR", missing.errorCode(t))

	status := connector(t, "GET", "/payments/status", "")
	require.Equal(t, http.StatusOK, status.Status, "%s", status.Body)
	st := status.data(t)
	require.Equal(t, true, st["is_initialized"])
	require.Nil(t, st["last_sync"], "payments do not sync")
	calls := map[string]float64{}
	for _, m := range st["metrics"].(map[string]any)["metrics"].([]any) {
		m := m.(map[string]any)
		tags, _ := m["tags"].(map[string]any)
		if m["name"] == "requests_total" {
			calls[tags["operation"].(string)+"/"+tags["outcome"].(string)] += m["value"].(float64)
		}
	}
	require.GreaterOrEqual(t, calls["payment_refund_create/ok"], 2.0, "%v", calls)
	require.GreaterOrEqual(t, calls["payment_refund_create/client_error"], 2.0, "%v", calls)
	require.NotContains(t, string(status.Body), paymentsAPIKey)
}

// A decline is a result, answered 402 PAYMENT_ERROR with the decline code, and never retried.
func TestPaymentsDeclineIsAResult(t *testing.T) {
	before := payments(t)
	resp := connector(t, "POST", "/payments/charges",
		`{"amount": 1000, "currency": "eur", "source": "tok_chargeDeclinedInsufficientFunds"}`)
	require.Equal(t, http.StatusPaymentRequired, resp.Status, "%s", resp.Body)
	require.Equal(t, "PAYMENT_ERROR", resp.errorCode(t))
	d := details(t, resp)
	require.Equal(t, "insufficient_funds", d["decline_code"])
	require.Equal(t, "card_declined", d["code"])
	require.Equal(t, 1, num(t, d["attempts"]))
	require.Equal(t, 1, payments(t).Requests-before.Requests, "a decline is not retried")
}

// The provider takes the request, then answers after the attempt's timeout: the retry carries
// the same Idempotency-Key, the provider answers the first result, and the card is charged once.
func TestPaymentsTimeoutAfterSendIsRetriedWithTheSameKey(t *testing.T) {
	before := payments(t)
	simSend(t, "PUT", "/_sim/payments/faults", `{"delay": "2500ms", "delay_count": 1}`, http.StatusNoContent)
	t.Cleanup(func() { simSend(t, "DELETE", "/_sim/payments/faults", "", http.StatusNoContent) })
	resp := connector(t, "POST", "/payments/charges", `{"amount": 700, "currency": "usd", "source": "tok_mastercard"}`,
		"Idempotency-Key", "timeout-"+uuid.NewString())
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	charge := resp.data(t)
	require.Equal(t, "succeeded", charge["status"])
	meta := resp.json(t)["metadata"].(map[string]any)
	require.Equal(t, 2, num(t, meta["attempts"]), "the first attempt timed out after sending")
	correlationID := resp.Header.Get("X-Correlation-ID")
	after := payments(t)
	require.Equal(t, 1, after.ChargesCreated-before.ChargesCreated, "charged once")
	require.Equal(t, 1, after.ChargesByKey[correlationID], "the provider saw one key: the correlation id")
	require.GreaterOrEqual(t, after.Replays-before.Replays, 1, "the retry was answered from the first result")
}

// A provider that rate-limits every attempt: 429 RATE_LIMIT_ERROR with Retry-After.
func TestPaymentsRateLimitedByTheProvider(t *testing.T) {
	simSend(t, "PUT", "/_sim/payments/faults", `{"rate_limit": 20}`, http.StatusNoContent)
	t.Cleanup(func() { simSend(t, "DELETE", "/_sim/payments/faults", "", http.StatusNoContent) })
	resp := connector(t, "POST", "/payments/charges", `{"amount": 100, "currency": "usd", "source": "tok_visa"}`)
	require.Equal(t, http.StatusTooManyRequests, resp.Status, "%s", resp.Body)
	require.Equal(t, "RATE_LIMIT_ERROR", resp.errorCode(t))
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.GreaterOrEqual(t, num(t, details(t, resp)["retry_after"]), 1)
}

// A payment method: the card's brand and last four digits come back; the number is never in
// the log, the workflow's history (decrypted, as the Web UI shows it) or the hub's logs.
func TestPaymentMethodCardNumberNeverInClear(t *testing.T) {
	const number = "4242424242424242"
	resp := connector(t, "POST", "/payments/payment-methods",
		`{"type": "card", "card": {"number": "`+number+`", "exp_month": 12, "exp_year": 2031, "cvc": "314"}, "metadata": {"who": "e2e"}}`)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	pm := resp.data(t)
	require.Equal(t, "visa", pm["brand"])
	require.Equal(t, "4242", pm["last4"])
	require.Equal(t, 12, num(t, pm["exp_month"]))
	require.NotContains(t, string(resp.Body), number)
	correlationID := resp.Header.Get("X-Correlation-ID")
	row := h.row(t, correlationID)
	require.NotContains(t, string(row.RequestBody), number, "the log keeps the number sealed")
	require.NotContains(t, string(row.RequestBody), `"314"`, "and the CVC")
	require.Contains(t, string(row.RequestBody), "4242", "the last four digits stay readable")
	hist, err := json.Marshal(decodedHistory(t, "op:"+correlationID))
	require.NoError(t, err)
	require.NotContains(t, string(hist), number, "the decrypted history keeps the number sealed")
	require.NotContains(t, hubLogs.String(), number)

	// The same card under the same key joins the first run; another card under it is refused.
	key := "pm-" + uuid.NewString()
	body := func(n string) string {
		return `{"type": "card", "card": {"number": "` + n + `", "exp_month": 1, "exp_year": 2030}}`
	}
	first := connector(t, "POST", "/payments/payment-methods", body("5555555555554444"), "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Body)
	repeat := connector(t, "POST", "/payments/payment-methods", body("5555555555554444"), "Idempotency-Key", key)
	require.Equal(t, first.data(t)["id"], repeat.data(t)["id"])
	other := connector(t, "POST", "/payments/payment-methods", body("4000056655665556"), "Idempotency-Key", key)
	require.Equal(t, http.StatusUnprocessableEntity, other.Status, "%s", other.Body)
	require.Equal(t, "VALIDATION_ERROR", other.errorCode(t))
	// Another card with the same last four digits and expiry is another request too.
	twinKey := "pm-" + uuid.NewString()
	require.Equal(t, http.StatusOK, connector(t, "POST", "/payments/payment-methods", body("5555555555554444"),
		"Idempotency-Key", twinKey).Status)
	sameTail := connector(t, "POST", "/payments/payment-methods", body("5105105105184444"), "Idempotency-Key", twinKey)
	require.Equal(t, http.StatusUnprocessableEntity, sameTail.Status, "same last4 and expiry, another card: %s", sameTail.Body)

	bad := connector(t, "POST", "/payments/payment-methods", `{"type": "card", "card": {"number": "12ab", "exp_month": 13, "exp_year": 2030}}`)
	require.Equal(t, http.StatusBadRequest, bad.Status, "%s", bad.Body)
	require.Equal(t, "VALIDATION_ERROR", bad.errorCode(t))
}

// A subscription canceled at the end of its period stays active until the period ends; then
// the provider's customer.subscription.deleted webhook reaches the hub's ingestion, as
// charge.succeeded and charge.refunded do.
func TestPaymentsSubscriptionCancelAtPeriodEndAndWebhooks(t *testing.T) {
	integrationID := stripeIntegration(t)
	created := connector(t, "POST", "/payments/subscriptions",
		`{"customer": "cus_e2e", "items": [{"price": "price_basic_monthly", "quantity": 2}], "metadata": {"plan": "basic"}}`)
	require.Equal(t, http.StatusOK, created.Status, "%s", created.Body)
	sub := created.data(t)
	id := sub["id"].(string)
	require.Equal(t, "active", sub["status"])
	require.Equal(t, "cus_e2e", sub["customer_id"])
	require.Equal(t, 3000, num(t, sub["amount"]))
	require.Equal(t, "month", sub["interval"])

	canceled := connector(t, "POST", "/payments/subscriptions/"+id+"/cancel", `{}`)
	require.Equal(t, http.StatusOK, canceled.Status, "%s", canceled.Body)
	c := canceled.data(t)
	require.Equal(t, "active", c["status"], "at period end: still active")
	require.Equal(t, true, c["cancel_at_period_end"])
	require.Nil(t, c["ended_at"])

	simSend(t, "POST", "/_sim/payments/subscriptions/"+id+"/end_period", "", http.StatusOK)

	charge := connector(t, "POST", "/payments/charges", `{"amount": 900, "currency": "usd", "source": "tok_visa"}`).data(t)
	require.Equal(t, http.StatusOK,
		connector(t, "POST", "/payments/refunds", fmt.Sprintf(`{"charge_id": %q}`, charge["id"])).Status)

	for _, want := range []string{"customer.subscription.deleted", "charge.succeeded", "charge.refunded"} {
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, h.store.DB().Get(&n, `SELECT count(*) FROM webhook_events
				WHERE integration_id = $1 AND event_type = $2 AND status = 'processed'`, integrationID, want))
			return n > 0
		}, 20*time.Second, 100*time.Millisecond, "the hub ingested %s", want)
	}
	var events []struct {
		Type     string `json:"type"`
		ObjectID string `json:"object_id"`
		Status   int    `json:"status"`
	}
	simJSON(t, "/_sim/payments/webhooks", &events)
	delivered := 0
	for _, ev := range events {
		if ev.ObjectID == id || ev.ObjectID == charge["id"] {
			require.Equal(t, http.StatusOK, ev.Status, "the hub accepted %s", ev.Type)
			delivered++
		}
	}
	require.Equal(t, 3, delivered, "charge.succeeded, charge.refunded and customer.subscription.deleted: %v", events)
}

// stripeIntegration is a Stripe integration of the demo integrator whose endpoint secret the
// payment simulator signs its events with, and the simulator's endpoint pointed at it.
func stripeIntegration(t *testing.T) string {
	t.Helper()
	const secret = "whsec_e2e_payments_webhooks"
	resp := h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/",
		body: `{"name": "e2e payments", "platform": "stripe", "credentials": {"webhook_secret": "` + secret + `"}}`}.
		asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	id := resp.data(t)["id"].(string)
	endpoint, _ := json.Marshal(map[string]string{"url": h.apiURL + sim.WebhookPath + id, "secret": secret})
	simSend(t, "PUT", "/_sim/payments/webhook_endpoint", string(endpoint), http.StatusNoContent)
	t.Cleanup(func() {
		simSend(t, "PUT", "/_sim/payments/webhook_endpoint", `{"url": ""}`, http.StatusNoContent)
		h.do(t, request{method: "DELETE", path: "/api/v1/integration/integrations/" + id + "/"}.asClient(demoClient, demoSecret))
	})
	return id
}

// ERP entities: created, updated and deleted through durable operations; a record the ERP
// refuses answers its validation error; an unknown entity type never reaches it.
func TestERPEntities(t *testing.T) {
	created := connector(t, "POST", "/erp/customer", `{"name": "Ada Lovelace", "email": "ada@example.com"}`)
	require.Equal(t, http.StatusCreated, created.Status, "%s", created.Body)
	rec := created.data(t)
	id := rec["id"].(string)
	require.True(t, strings.HasPrefix(id, "cus_"), id)
	require.NotEmpty(t, created.json(t)["metadata"].(map[string]any)["correlation_id"])

	updated := connector(t, "PUT", "/erp/customer/"+id, `{"name": "Ada King"}`)
	require.Equal(t, http.StatusOK, updated.Status, "%s", updated.Body)
	require.Equal(t, "Ada King", updated.data(t)["name"])
	require.Equal(t, "ada@example.com", updated.data(t)["email"])

	deleted := connector(t, "DELETE", "/erp/customer/"+id, "")
	require.Equal(t, http.StatusOK, deleted.Status, "%s", deleted.Body)
	require.Equal(t, true, deleted.data(t)["deleted"])
	gone := connector(t, "PUT", "/erp/customer/"+id, `{"name": "again"}`)
	require.Equal(t, http.StatusNotFound, gone.Status, "%s", gone.Body)
	require.Equal(t, "ERP_ERROR", gone.errorCode(t))

	invalid := connector(t, "POST", "/erp/customer", `{"email": "not an e-mail"}`)
	require.Equal(t, http.StatusUnprocessableEntity, invalid.Status, "%s", invalid.Body)
	require.Equal(t, "VALIDATION_ERROR", invalid.errorCode(t))
	fields, _ := details(t, invalid)["fields"].(map[string]any)
	require.Contains(t, fields, "name", "the ERP's field problems reach the client: %s", invalid.Body)
	require.Contains(t, fields, "email")
	require.Contains(t, invalid.json(t)["error"], "name", "and its message names them")

	before := erp(t).Requests
	unknown := connector(t, "POST", "/erp/spaceship", `{"name": "x"}`)
	require.Equal(t, http.StatusNotFound, unknown.Status, "%s", unknown.Body)
	require.Equal(t, "VALIDATION_ERROR", unknown.errorCode(t))
	notObject := connector(t, "POST", "/erp/customer", `["x"]`)
	require.Equal(t, http.StatusBadRequest, notObject.Status, "%s", notObject.Body)
	require.Equal(t, "VALIDATION_ERROR", notObject.errorCode(t))
	require.Equal(t, before, erp(t).Requests, "nothing invalid reached the ERP")

	unauth := h.do(t, request{method: "POST", path: "/api/v1/connectors/erp/customer", body: `{"name": "x"}`})
	require.Equal(t, http.StatusUnauthorized, unauth.Status)
	require.Equal(t, "AUTHENTICATION_ERROR", unauth.errorCode(t))
}

// An ERP sync pulls every record through the Sync family, page by page, with counts; the
// connector's status then shows the sync and the client's calls in seed 003's metrics format.
func TestERPSyncAndStatus(t *testing.T) {
	require.Equal(t, http.StatusCreated, connector(t, "POST", "/erp/customer", `{"name": "Synced Customer"}`).Status)
	stats := erp(t)
	total := 0
	for _, n := range stats.Records {
		total += n
	}
	started := connector(t, "POST", "/erp/sync", `{}`)
	require.Equal(t, http.StatusAccepted, started.Status, "%s", started.Body)
	statusURL := started.data(t)["status_url"].(string)
	syncID := started.data(t)["sync_id"].(string)
	var run map[string]any
	require.Eventually(t, func() bool {
		resp := h.do(t, request{method: "GET", path: statusURL}.asClient(demoClient, demoSecret))
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		last, _ := resp.data(t)["last_run"].(map[string]any)
		if last == nil || last["sync_id"] != syncID {
			return false
		}
		run = last
		return true
	}, 60*time.Second, 200*time.Millisecond)
	require.Equal(t, "SUCCESS", run["status"], "%v", run)
	counts := run
	require.Equal(t, total, num(t, counts["items"]), "every record was pulled")
	require.Equal(t, total, num(t, counts["added"]))
	require.GreaterOrEqual(t, num(t, counts["pages"]), 3, "in pages")

	// The integration the sync made is the connector's: it only pulls, and its records are read-only.
	integrationID := strings.Split(strings.TrimPrefix(statusURL, "/api/v1/integration/integrations/"), "/")[0]
	push := h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/" + integrationID + "/sync/",
		body: `{"direction": "to_external"}`}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusBadRequest, push.Status, "%s", push.Body)
	edit := h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/" + integrationID + "/contents/",
		body: `{"content_type": "customer", "title": "x", "body": "{}"}`}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusConflict, edit.Status, "%s", edit.Body)
	made := h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/",
		body: `{"name": "mine", "platform": "erp", "credentials": {}}`}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusBadRequest, made.Status, "erp integrations are the connector's: %s", made.Body)
	bare := h.do(t, request{method: "POST", path: "/api/v1/connectors/erp/sync"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusAccepted, bare.Status, "no body is {}: %s", bare.Body)
	bareID := bare.data(t)["sync_id"].(string)
	require.Eventually(t, func() bool { // it ends before the next test counts requests at the ERP
		last, _ := h.do(t, request{method: "GET", path: statusURL}.asClient(demoClient, demoSecret)).data(t)["last_run"].(map[string]any)
		return last != nil && last["sync_id"] == bareID
	}, 60*time.Second, 200*time.Millisecond)

	again := connector(t, "POST", "/erp/sync", `{"since": "`+time.Now().UTC().Add(time.Hour).Format(time.RFC3339)+`"}`)
	require.Equal(t, http.StatusBadRequest, again.Status, "a since in the future is refused: %s", again.Body)
	require.Equal(t, "VALIDATION_ERROR", again.errorCode(t))
	badFilter := connector(t, "POST", "/erp/sync", `{"filters": {"entity_types": "spaceship"}}`)
	require.Equal(t, http.StatusBadRequest, badFilter.Status, "%s", badFilter.Body)

	status := connector(t, "GET", "/erp/status", "")
	require.Equal(t, http.StatusOK, status.Status, "%s", status.Body)
	d := status.data(t)
	require.Equal(t, true, d["is_initialized"])
	require.NotNil(t, d["last_sync"], "the sync is the connector's last")
	metrics := d["metrics"].(map[string]any)
	require.Equal(t, "switchyard", metrics["source"])
	require.NotEmpty(t, metrics["timestamp"])
	found := false
	for _, m := range metrics["metrics"].([]any) {
		m := m.(map[string]any)
		tags, _ := m["tags"].(map[string]any)
		if m["name"] == "requests_total" && tags["operation"] == "erp_entity_create" {
			found = true
		}
	}
	require.True(t, found, "the client's ERP creates are counted: %s", status.Body)

	unknown := connector(t, "GET", "/nosuch/status", "")
	require.Equal(t, http.StatusNotFound, unknown.Status)
	require.Equal(t, "CONNECTOR_ERROR", unknown.errorCode(t))
}

// A batch sync: per-record results in request order, failed records among them, and never
// more records in flight at the ERP than max_concurrent.
func TestERPBatchSyncWithPartialFailuresAndTheConcurrencyCap(t *testing.T) {
	simSend(t, "PUT", "/_sim/erp/faults", `{"delay": "150ms"}`, http.StatusNoContent)
	t.Cleanup(func() { simSend(t, "DELETE", "/_sim/erp/faults", "", http.StatusNoContent) })
	simSend(t, "DELETE", "/_sim/erp/stats", "", http.StatusNoContent)
	records := []map[string]any{}
	for i := range 9 {
		r := map[string]any{"sku": fmt.Sprintf("E2E-%s-%d", uuid.NewString()[:8], i), "name": fmt.Sprintf("Widget %d", i), "price": 100 + i}
		if i == 3 || i == 7 {
			delete(r, "name") // refused by the ERP
		}
		records = append(records, r)
	}
	body, _ := json.Marshal(map[string]any{"entity_type": "product", "records": records, "max_concurrent": 3})
	resp := connector(t, "POST", "/erp/batch_sync", string(body))
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	d := resp.data(t)
	require.Equal(t, 7, num(t, d["succeeded"]))
	require.Equal(t, 2, num(t, d["failed"]))
	results := d["results"].([]any)
	require.Len(t, results, 9)
	for i, r := range results {
		r := r.(map[string]any)
		require.Equal(t, i, num(t, r["index"]))
		if i == 3 || i == 7 {
			require.Equal(t, false, r["success"])
			require.Equal(t, "VALIDATION_ERROR", r["error"].(map[string]any)["code"])
			require.Contains(t, r["error"].(map[string]any)["fields"], "name", "the ERP's field problem: %v", r)
			continue
		}
		require.Equal(t, true, r["success"], "%v", r)
		require.Equal(t, records[i]["sku"], r["data"].(map[string]any)["sku"])
	}
	max := erp(t).MaxInFlight
	require.LessOrEqual(t, max, 3, "max_concurrent holds")
	require.GreaterOrEqual(t, max, 2, "the batch did run records side by side")

	tooMany := connector(t, "POST", "/erp/batch_sync", `{"entity_type": "product", "records": [{"sku": "x"}], "max_concurrent": 51}`)
	require.Equal(t, http.StatusBadRequest, tooMany.Status)
	require.Equal(t, "VALIDATION_ERROR", tooMany.errorCode(t))
}

// One Idempotency-Key never joins two different requests that share a route: a cancel at
// period end and a cancel at once are two requests.
func TestPaymentsKeyNeverJoinsAnotherCancel(t *testing.T) {
	sub := connector(t, "POST", "/payments/subscriptions", `{"customer": "cus_key", "items": [{"price": "price_pro_monthly"}]}`).data(t)
	key := "cancel-" + uuid.NewString()
	first := connector(t, "POST", "/payments/subscriptions/"+sub["id"].(string)+"/cancel", `{"at_period_end": true}`,
		"Idempotency-Key", key)
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Body)
	other := connector(t, "POST", "/payments/subscriptions/"+sub["id"].(string)+"/cancel", `{"at_period_end": false}`,
		"Idempotency-Key", key)
	require.Equal(t, http.StatusUnprocessableEntity, other.Status, "%s", other.Body)
	require.Equal(t, "VALIDATION_ERROR", other.errorCode(t))
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", details(t, other)["hub_code"])
	same := connector(t, "POST", "/payments/subscriptions/"+sub["id"].(string)+"/cancel", `{"at_period_end": true}`,
		"Idempotency-Key", key)
	require.Equal(t, http.StatusOK, same.Status)
	require.Equal(t, first.data(t)["id"], same.data(t)["id"])
}

// The generic batch route runs no connector operation: a card number sent there is refused
// before anything starts, and is nowhere in the hub.
func TestBatchRefusesConnectorOperations(t *testing.T) {
	const number = "4000002500003155"
	resp := h.do(t, request{method: "POST", path: "/api/v1/integration/batch/",
		body: `{"operations": [{"operation": "payment_method_create", "data": {"type": "card", "card": {"number": "` + number +
			`", "exp_month": 1, "exp_year": 2030, "cvc": "123"}}}]}`}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
	var n int
	require.NoError(t, h.store.DB().Get(&n, `SELECT count(*) FROM transactions WHERE position(convert_to($1, 'UTF8') in request_body) > 0`, number))
	require.Zero(t, n)
	require.NotContains(t, hubLogs.String(), number)
}

// An ERP create whose answer comes after the attempt's timeout is retried under the same
// Idempotency-Key: the ERP answers its first result, and the record is made once.
func TestERPCreateTimeoutAfterSendMakesOneRecord(t *testing.T) {
	before := erp(t).Records["customer"]
	simSend(t, "PUT", "/_sim/erp/faults", `{"delay_after": "2500ms", "delay_after_count": 1}`, http.StatusNoContent)
	t.Cleanup(func() { simSend(t, "DELETE", "/_sim/erp/faults", "", http.StatusNoContent) })
	resp := connector(t, "POST", "/erp/customer", `{"name": "Slow Answer Ltd"}`)
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	require.Equal(t, 2, num(t, resp.json(t)["metadata"].(map[string]any)["attempts"]), "the first attempt timed out")
	require.Equal(t, before+1, erp(t).Records["customer"], "one record")
}
