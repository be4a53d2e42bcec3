package sim

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-hub/switchyard/provider"
)

// PaymentsConfig is the payment provider simulator's environment: where its signed webhooks
// go (none: they are only recorded) and the endpoint secret they are signed with.
type PaymentsConfig struct {
	WebhookURL    string `envconfig:"SIM_PAYMENTS_WEBHOOK_URL"`
	WebhookSecret string `envconfig:"SIM_PAYMENTS_WEBHOOK_SECRET" default:"whsec_demo_payments"`
}

// DemoPaymentsKey is the API key the payment simulator accepts when the hub has none configured.
const DemoPaymentsKey = "sk_test_switchyard_demo"

// Bounds of the payment simulator's inputs and memory.
const (
	maxPaymentsForm      = 64 << 10
	maxIdempotencyKey    = 255
	maxIdempotencyStored = 100000
	maxChargeKeysCounted = 10000
	maxWebhooksKept      = 10000
	maxMetadataKeys      = 50
	maxMetadataKey       = 40
	maxMetadataValue     = 500
	maxPaymentsString    = 5000
)

// PaymentsFaults make the payment simulator misbehave: the next RateLimit API requests answer
// 429, the next ServerError 500, and the next DelayCount requests are processed, then answered
// after Delay (a client that times out has been charged all the same).
type PaymentsFaults struct {
	RateLimit   int    `json:"rate_limit"`
	ServerError int    `json:"server_error"`
	Delay       string `json:"delay,omitempty"`
	DelayCount  int    `json:"delay_count"`

	delay time.Duration
}

// PaymentsStats is what the payment simulator saw. ChargesByIdempotencyKey counts the charges
// created under each Idempotency-Key: a client retrying with its key never makes it above 1. It
// holds at most 10 000 keys: a charge under a key past them is counted in ChargesCreated only.
type PaymentsStats struct {
	Requests                int            `json:"requests"`
	ChargesCreated          int            `json:"charges_created"`
	RefundsCreated          int            `json:"refunds_created"`
	PaymentMethodsCreated   int            `json:"payment_methods_created"`
	SubscriptionsCreated    int            `json:"subscriptions_created"`
	IdempotentReplays       int            `json:"idempotent_replays"`
	RateLimited             int            `json:"rate_limited"`
	ChargesByIdempotencyKey map[string]int `json:"charges_by_idempotency_key"`
}

// Payments simulates a Stripe-shaped payment provider under /payments (charges, refunds, payment
// methods, subscriptions), in memory: Bearer API keys, form-encoded requests, Idempotency-Key
// replay, test cards that decline, injected faults (/_sim/payments/faults) and signed webhooks
// to the hub (/_sim/payments/webhook_endpoint, /_sim/payments/webhooks).
type Payments struct {
	key    string
	now    func() time.Time
	client *http.Client
	// retryWait is the pause between a webhook's tries.
	retryWait time.Duration

	mu         sync.Mutex // guards everything below, so a request's processing is atomic
	charges    map[string]*charge
	methods    map[string]*paymentMethod
	subs       map[string]*subscription
	idem       idempotencyStore
	faults     PaymentsFaults
	stats      PaymentsStats
	webhookURL string
	secret     string

	hooksMu sync.Mutex // guards hooks
	hooks   []*PaymentsWebhook
}

// NewPayments builds the payment simulator. It accepts the hub's payments API key (the
// issuer's bearer token), or DemoPaymentsKey when the hub has none.
func NewPayments(cfg PaymentsConfig, issuers map[string]provider.Config) *Payments {
	key := issuers[provider.IssuerPayments].Auth.Token
	if key == "" {
		key = DemoPaymentsKey
	}
	return &Payments{key: key, now: time.Now, retryWait: time.Second,
		client: &http.Client{Timeout: inboundTimeout,
			// Payment providers do not follow a webhook endpoint's redirects.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		charges: map[string]*charge{}, methods: map[string]*paymentMethod{}, subs: map[string]*subscription{},
		stats:      PaymentsStats{ChargesByIdempotencyKey: map[string]int{}},
		webhookURL: cfg.WebhookURL, secret: cfg.WebhookSecret}
}

// Register mounts the payment provider's API and its control routes on mux.
func (p *Payments) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /payments/v1/charges", p.api(p.createCharge))
	mux.HandleFunc("GET /payments/v1/charges/{id}", p.api(p.getCharge))
	mux.HandleFunc("POST /payments/v1/refunds", p.api(p.createRefund))
	mux.HandleFunc("POST /payments/v1/payment_methods", p.api(p.createPaymentMethod))
	mux.HandleFunc("POST /payments/v1/subscriptions", p.api(p.createSubscription))
	mux.HandleFunc("POST /payments/v1/subscriptions/{id}", p.api(p.updateSubscription))
	mux.HandleFunc("DELETE /payments/v1/subscriptions/{id}", p.api(p.cancelSubscription))
	mux.HandleFunc("/payments/", p.api(func(c *payCall) payAnswer {
		return payFail(http.StatusNotFound, stripeError{Type: errInvalidRequest,
			Message: "Unrecognized request URL (" + c.r.Method + ": " + strings.TrimPrefix(c.r.URL.Path, "/payments") + ")."}, nil)
	}))

	mux.HandleFunc("PUT /_sim/payments/faults", p.setFaults)
	mux.HandleFunc("DELETE /_sim/payments/faults", func(w http.ResponseWriter, _ *http.Request) {
		p.mu.Lock()
		p.faults = PaymentsFaults{}
		p.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/payments/stats", func(w http.ResponseWriter, _ *http.Request) {
		p.mu.Lock()
		out := p.stats
		out.ChargesByIdempotencyKey = maps.Clone(p.stats.ChargesByIdempotencyKey)
		p.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("PUT /_sim/payments/webhook_endpoint", p.setWebhookEndpoint)
	mux.HandleFunc("GET /_sim/payments/webhooks", p.webhooks)
	mux.HandleFunc("POST /_sim/payments/subscriptions/{id}/end_period", p.endPeriod)
}

// Error types of the provider's error answers.
const (
	errInvalidRequest = "invalid_request_error"
	errCard           = "card_error"
	errIdempotency    = "idempotency_error"
	errRateLimit      = "rate_limit_error"
	errAPI            = "api_error"
)

// stripeError is the provider's error: {"error": {...}}.
type stripeError struct {
	Type        string `json:"type"`
	Code        string `json:"code,omitempty"`
	DeclineCode string `json:"decline_code,omitempty"`
	Message     string `json:"message"`
	Param       string `json:"param,omitempty"`
	Charge      string `json:"charge,omitempty"`
}

// payCall is one API request being processed.
type payCall struct {
	r    *http.Request
	form url.Values
	// key is the request's Idempotency-Key ("" when none).
	key string
	now time.Time
}

// payAnswer is what an API handler answers, and the events it sends.
type payAnswer struct {
	status int
	body   any
	events []*pendingEvent
}

func payOK(body any, events ...*pendingEvent) payAnswer {
	return payAnswer{status: http.StatusOK, body: body, events: events}
}

func payFail(status int, e stripeError, events []*pendingEvent) payAnswer {
	return payAnswer{status: status, body: map[string]stripeError{"error": e}, events: events}
}

// idempotentAnswer is the first answer given under an Idempotency-Key, and the request it
// answered.
type idempotentAnswer struct {
	fingerprint string
	status      int
	body        []byte
}

// idempotencyStore keeps the answers given under Idempotency-Keys, by slot (the API key and the
// Idempotency-Key), at most maxIdempotencyStored of them: past that the oldest is forgotten. The
// zero value is empty; its owner's lock guards it.
type idempotencyStore struct {
	answers map[string]*idempotentAnswer
	order   []string
}

func (s *idempotencyStore) get(slot string) (*idempotentAnswer, bool) {
	a, ok := s.answers[slot]
	return a, ok
}

func (s *idempotencyStore) put(slot string, a *idempotentAnswer) {
	if s.answers == nil {
		s.answers = map[string]*idempotentAnswer{}
	}
	if _, ok := s.answers[slot]; !ok {
		s.order = append(s.order, slot)
	}
	s.answers[slot] = a
	if len(s.order) > maxIdempotencyStored {
		delete(s.answers, s.order[0])
		s.order = s.order[1:]
	}
}

// api serves one API route: auth, then a pending fault, then the form, then the Idempotency-Key
// (a replay, or a refusal of the key reused with other parameters), then h under the lock, the
// answer stored under the key before a delay fault holds it back, and the events sent once
// answered.
func (p *Payments) api(h func(*payCall) payAnswer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.stats.Requests++
		p.mu.Unlock()
		if !p.authorized(r) {
			writePayError(w, http.StatusUnauthorized, stripeError{Type: errInvalidRequest, Code: "api_key_invalid",
				Message: "Invalid API Key provided"})
			return
		}
		status, delay := p.takeFault()
		switch status {
		case http.StatusTooManyRequests:
			w.Header().Set("Retry-After", "1")
			writePayError(w, status, stripeError{Type: errRateLimit, Code: "rate_limit",
				Message: "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests."})
			return
		case http.StatusInternalServerError:
			writePayError(w, status, stripeError{Type: errAPI,
				Message: "Something went wrong on the payment provider's end."})
			return
		}
		c := &payCall{r: r, form: url.Values{}}
		if r.Method == http.MethodPost {
			form, status, e := readPaymentsForm(r)
			if status != 0 {
				writePayError(w, status, e)
				return
			}
			c.form = form
			c.key = r.Header.Get("Idempotency-Key")
			if len(c.key) > maxIdempotencyKey {
				writePayError(w, http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "idempotency_key_too_long",
					Message: "Invalid Idempotency-Key: it must be at most 255 characters long."})
				return
			}
		}
		status, body, replayed, events := p.process(c, h)
		if !sleepFor(r, delay) {
			// The client gave up; what was processed stays processed.
			p.dispatch(events)
			return
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		if c.key != "" {
			w.Header().Set("Idempotency-Key", c.key)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
		p.dispatch(events)
	}
}

// process answers c with h under the lock, or with the answer stored for its Idempotency-Key.
func (p *Payments) process(c *payCall, h func(*payCall) payAnswer) (status int, body []byte, replayed bool,
	events []*pendingEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var slot, fingerprint string
	if c.key != "" {
		// The key is the API key's; url.Values.Encode sorts the parameters by name.
		slot = p.key + "\x00" + c.key
		fingerprint = c.r.Method + " " + c.r.URL.Path + "?" + c.form.Encode()
		if prev, ok := p.idem.get(slot); ok {
			if prev.fingerprint != fingerprint {
				b, _ := json.Marshal(map[string]stripeError{"error": {Type: errIdempotency,
					Message: "Keys for idempotent requests can only be used with the same parameters they were first used with. " +
						"Try using a key other than '" + c.key + "' if you meant to execute a different request."}})
				return http.StatusBadRequest, append(b, '\n'), false, nil
			}
			p.stats.IdempotentReplays++
			return prev.status, prev.body, true, nil
		}
	}
	c.now = p.now()
	a := h(c)
	body, err := json.Marshal(a.body)
	if err != nil {
		body, _ = json.Marshal(map[string]stripeError{"error": {Type: errAPI, Message: "the simulator could not encode its answer"}})
		a.status = http.StatusInternalServerError
	}
	body = append(body, '\n')
	// What an endpoint carried out (a success or a card's refusal) is kept for the key;
	// refused parameters are not, as with the real provider, so the key can be used again.
	if slot != "" && (a.status == http.StatusOK || a.status == http.StatusPaymentRequired) {
		p.idem.put(slot, &idempotentAnswer{fingerprint: fingerprint, status: a.status, body: body})
	}
	return a.status, body, false, a.events
}

// authorized reports whether r carries the API key: as a Bearer token, or as the HTTP Basic
// user name with an empty password, as the real provider also takes it.
func (p *Payments) authorized(r *http.Request) bool {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		var password string
		key, password, ok = r.BasicAuth()
		ok = ok && password == ""
	}
	return ok && equal(key, p.key)
}

// takeFault consumes one request of the pending faults: 429, 500, or 0 and how long to hold
// the answer back.
func (p *Payments) takeFault() (status int, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := &p.faults
	switch {
	case f.RateLimit > 0:
		f.RateLimit--
		p.stats.RateLimited++
		return http.StatusTooManyRequests, 0
	case f.ServerError > 0:
		f.ServerError--
		return http.StatusInternalServerError, 0
	case f.DelayCount > 0:
		f.DelayCount--
		return 0, f.delay
	}
	return 0, 0
}

// setFaults handles PUT /_sim/payments/faults, replacing the pending faults. A delay without a
// count holds back one answer.
func (p *Payments) setFaults(w http.ResponseWriter, r *http.Request) {
	var f PaymentsFaults
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&f); err != nil {
		http.Error(w, `body: {"rate_limit", "server_error", "delay", "delay_count"}`, http.StatusBadRequest)
		return
	}
	if f.RateLimit < 0 || f.ServerError < 0 || f.DelayCount < 0 {
		http.Error(w, "rate_limit, server_error and delay_count must be counts of requests", http.StatusBadRequest)
		return
	}
	if f.Delay != "" {
		d, err := time.ParseDuration(f.Delay)
		if err != nil || d < 0 || d > maxSimLatency {
			http.Error(w, "delay must be a duration up to 1m", http.StatusBadRequest)
			return
		}
		f.delay = d
		if f.DelayCount == 0 {
			f.DelayCount = 1
		}
	}
	if f.delay == 0 {
		f.DelayCount = 0
	}
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// readPaymentsForm reads a POST's form-encoded body (at most 64 KiB); a failure is the status
// and error to answer.
func readPaymentsForm(r *http.Request) (url.Values, int, stripeError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPaymentsForm+1))
	if err != nil {
		return nil, http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "parameter_invalid_string",
			Message: "The request body could not be read."}
	}
	if len(body) > maxPaymentsForm {
		return nil, http.StatusRequestEntityTooLarge, stripeError{Type: errInvalidRequest, Code: "request_too_large",
			Message: "The request body is larger than 64 KiB."}
	}
	if len(body) == 0 {
		return url.Values{}, 0, stripeError{}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "parameter_invalid_string",
			Message: "Invalid request: the body must be application/x-www-form-urlencoded."}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "parameter_invalid_string",
			Message: "Invalid request: the form-encoded body could not be parsed."}
	}
	return form, 0, stripeError{}
}

func writePayError(w http.ResponseWriter, status int, e stripeError) {
	writeJSON(w, status, map[string]stripeError{"error": e})
}

// --- parameters -----------------------------------------------------------------------------

func missingParam(name string) payAnswer {
	return payFail(http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "parameter_missing",
		Message: "Missing required param: " + name + ".", Param: name}, nil)
}

func invalidInteger(name, value string) payAnswer {
	return payFail(http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "parameter_invalid_integer",
		Message: "Invalid positive integer: " + strconv.Quote(truncate(value, 40)), Param: name}, nil)
}

func invalidString(name, message string) payAnswer {
	return payFail(http.StatusBadRequest, stripeError{Type: errInvalidRequest, Code: "parameter_invalid_string",
		Message: message, Param: name}, nil)
}

func resourceMissing(status int, param, what, id string) payAnswer {
	return payFail(status, stripeError{Type: errInvalidRequest, Code: "resource_missing",
		Message: "No such " + what + ": '" + truncate(id, 100) + "'", Param: param}, nil)
}

// positiveInt reads a positive integer parameter up to limit; ok false comes with the answer.
func positiveInt(form url.Values, name string, limit int64) (n int64, present bool, fail payAnswer, ok bool) {
	if !form.Has(name) {
		return 0, false, payAnswer{}, true
	}
	v := form.Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > limit {
		return 0, true, invalidInteger(name, v), false
	}
	return n, true, payAnswer{}, true
}

// metadata reads the metadata[key] parameters: at most 50 keys of up to 40 characters, values
// of up to 500; an empty value sets nothing.
func metadata(form url.Values) (map[string]string, payAnswer, bool) {
	out := map[string]string{}
	for k, vs := range form {
		key, ok := strings.CutPrefix(k, "metadata[")
		if !ok {
			continue
		}
		key, ok = strings.CutSuffix(key, "]")
		if !ok || key == "" || strings.ContainsAny(key, "[]") || len(key) > maxMetadataKey {
			return nil, invalidString("metadata", "Invalid metadata key: keys are 1 to 40 characters without brackets."), false
		}
		if len(vs[0]) > maxMetadataValue {
			return nil, invalidString("metadata["+key+"]", "Metadata values can have up to 500 characters."), false
		}
		if vs[0] != "" {
			out[key] = vs[0]
		}
	}
	if len(out) > maxMetadataKeys {
		return nil, invalidString("metadata", "Metadata can have up to 50 keys."), false
	}
	return out, payAnswer{}, true
}

// optionalText reads a free-text parameter of up to 5000 characters (nil when absent or empty).
func optionalText(form url.Values, name string) (*string, payAnswer, bool) {
	v := form.Get(name)
	if v == "" {
		return nil, payAnswer{}, true
	}
	if len(v) > maxPaymentsString {
		return nil, invalidString(name, "Invalid "+name+": it can be at most 5000 characters long."), false
	}
	return &v, payAnswer{}, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// --- ids ------------------------------------------------------------------------------------

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// payID is prefix, "_" and 24 random base62 characters, as the provider's ids are.
func payID(prefix string) string {
	out := make([]byte, 0, len(prefix)+25)
	out = append(out, prefix...)
	out = append(out, '_')
	buf := make([]byte, 32)
	for len(out) < cap(out) {
		_, _ = rand.Read(buf)
		for _, b := range buf {
			// 248 = 4 * 62: rejecting the rest keeps every character equally likely.
			if b < 248 && len(out) < cap(out) {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}
