package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// PaymentsWebhook is one event the payment simulator sent (or only recorded, with no endpoint
// set): the hub's last HTTP status (0: none reached it), the last error and the tries made.
type PaymentsWebhook struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	ObjectID string `json:"object_id"`
	Status   int    `json:"status"`
	Error    string `json:"error"`
	Attempts int    `json:"attempts"`
}

// Webhook events the payment simulator sends.
const (
	webhookAPIVersion = "2024-06-20"
	// webhookTries is how many times an event is posted while the hub answers 5xx or cannot
	// be reached.
	webhookTries = 3
)

// pendingEvent is an event made while a request was processed, sent once it is answered.
type pendingEvent struct {
	record   *PaymentsWebhook
	body     []byte
	endpoint string
	secret   string
}

// event makes an event about obj (its JSON as it is now) and records it. Called under p.mu.
func (p *Payments) event(typ, objectID string, obj any, now time.Time) *pendingEvent {
	data, err := json.Marshal(obj)
	if err != nil {
		data = []byte("{}")
	}
	id := payID("evt")
	body, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": webhookAPIVersion,
		"created": now.Unix(), "type": typ, "livemode": false,
		"data": map[string]json.RawMessage{"object": data}})
	ev := &pendingEvent{record: &PaymentsWebhook{ID: id, Type: typ, ObjectID: objectID}, body: body,
		endpoint: p.webhookURL, secret: p.secret}
	p.hooksMu.Lock()
	p.hooks = append(p.hooks, ev.record)
	if len(p.hooks) > maxWebhooksKept {
		p.hooks = p.hooks[len(p.hooks)-maxWebhooksKept:]
	}
	p.hooksMu.Unlock()
	return ev
}

// dispatch sends the events in the background, each on its own.
func (p *Payments) dispatch(events []*pendingEvent) {
	for _, ev := range events {
		if ev.endpoint != "" {
			go p.deliver(ev)
		}
	}
}

// deliver posts one event, signed, until the hub answers below 500 or the tries run out.
func (p *Payments) deliver(ev *pendingEvent) {
	for try := 1; try <= webhookTries; try++ {
		status, err := p.post(ev)
		p.hooksMu.Lock()
		ev.record.Attempts, ev.record.Status, ev.record.Error = try, status, ""
		if err != nil {
			ev.record.Error = err.Error()
		}
		p.hooksMu.Unlock()
		if err == nil && status < http.StatusInternalServerError {
			return
		}
		if try < webhookTries {
			time.Sleep(p.retryWait)
		}
	}
}

// post sends the event once, signed now: Stripe-Signature is t=<unix>,v1=<hex HMAC-SHA256 of
// "<t>.<body>" under the endpoint secret>.
func (p *Payments) post(ev *pendingEvent) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), inboundTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ev.endpoint, bytes.NewReader(ev.body))
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(p.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", "t="+ts+",v1="+hmacHex(ev.secret, []byte(ts+"."), ev.body))
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHubAnswer))
	return resp.StatusCode, nil
}

// setWebhookEndpoint handles PUT /_sim/payments/webhook_endpoint {"url", "secret"}: where the
// next events go (an empty url: nowhere, they are only recorded) and the secret they are
// signed with (unchanged when empty).
func (p *Payments) setWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	var in struct {
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil {
		http.Error(w, `body: {"url": "http://…/api/v1/integration/webhooks/<integration id>", "secret": "whsec_…"}`,
			http.StatusBadRequest)
		return
	}
	if in.URL != "" {
		u, err := url.Parse(in.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			http.Error(w, "url must be an http(s) URL", http.StatusBadRequest)
			return
		}
	}
	p.mu.Lock()
	p.webhookURL = in.URL
	if in.Secret != "" {
		p.secret = in.Secret
	}
	p.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// webhooks handles GET /_sim/payments/webhooks: the events, in the order they were made.
func (p *Payments) webhooks(w http.ResponseWriter, _ *http.Request) {
	p.hooksMu.Lock()
	out := make([]PaymentsWebhook, len(p.hooks))
	for i, h := range p.hooks {
		out[i] = *h
	}
	p.hooksMu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
