package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-hub/switchyard/provider"
)

// DemoERPKey is the API key the ERP simulator accepts when the hub has none configured.
const DemoERPKey = "erp_demo_key"

// ERPFaults make the ERP simulator misbehave: the next RateLimit requests answer 429, the next
// ServerError 503, every request waits Delay before it is processed until the faults are
// cleared, and the next DelayAfterCount requests are processed, then answered after DelayAfter
// (a client that times out meanwhile has made its change all the same).
type ERPFaults struct {
	ServerError     int    `json:"server_error"`
	RateLimit       int    `json:"rate_limit"`
	Delay           string `json:"delay,omitempty"`
	DelayAfter      string `json:"delay_after,omitempty"`
	DelayAfterCount int    `json:"delay_after_count"`

	delay, delayAfter time.Duration
}

// ERPStats is what the ERP simulator saw: API requests, those being served now and the most
// ever served at once, list pages answered, and the records of each entity type.
type ERPStats struct {
	Requests    int            `json:"requests"`
	InFlight    int            `json:"in_flight"`
	MaxInFlight int            `json:"max_in_flight"`
	PagesServed int            `json:"pages_served"`
	Records     map[string]int `json:"records"`
}

// ERP simulates a generic REST ERP under /erp: customers, invoices and products as JSON
// records with sequential ids, API-key auth, validation errors, cursor pagination with an
// updated_since filter, Idempotency-Key replay of changes, injected faults (/_sim/erp/faults) and
// counters (/_sim/erp/stats). It starts with fixed demo data, so a sync of it is repeatable.
type ERP struct {
	key string
	now func() time.Time

	mu     sync.Mutex // guards everything below, so a request's processing is atomic
	tables map[string]*erpTable
	idem   idempotencyStore
	faults ERPFaults
	stats  ERPStats
}

// NewERP builds the ERP simulator with its demo data. It accepts the hub's ERP API key (the
// issuer's token), or DemoERPKey when the hub has none.
func NewERP(issuers map[string]provider.Config) *ERP {
	key := issuers[provider.IssuerERP].Auth.Token
	if key == "" {
		key = DemoERPKey
	}
	e := &ERP{key: key, now: time.Now, tables: map[string]*erpTable{}}
	for _, typ := range erpTypes {
		e.tables[typ] = newERPTable(typ)
	}
	e.seed()
	return e
}

// Register mounts the ERP's API and its control routes on mux.
func (e *ERP) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /erp/v1/{types}", e.api(e.list))
	mux.HandleFunc("POST /erp/v1/{types}", e.api(e.create))
	mux.HandleFunc("GET /erp/v1/{types}/{id}", e.api(e.get))
	mux.HandleFunc("PUT /erp/v1/{types}/{id}", e.api(e.update))
	mux.HandleFunc("DELETE /erp/v1/{types}/{id}", e.api(e.delete))
	mux.HandleFunc("/erp/", e.api(func(c *erpRequest) erpAnswer {
		return erpFail(http.StatusNotFound, "not_found", "no route "+c.r.Method+" "+strings.TrimPrefix(c.r.URL.Path, "/erp"), nil)
	}))

	mux.HandleFunc("PUT /_sim/erp/faults", e.setFaults)
	mux.HandleFunc("DELETE /_sim/erp/faults", func(w http.ResponseWriter, _ *http.Request) {
		e.mu.Lock()
		e.faults = ERPFaults{}
		e.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/erp/stats", func(w http.ResponseWriter, _ *http.Request) {
		e.mu.Lock()
		out := e.stats
		out.Records = map[string]int{}
		for typ, t := range e.tables {
			out.Records[typ] = len(t.records)
		}
		e.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE /_sim/erp/stats", func(w http.ResponseWriter, _ *http.Request) {
		e.mu.Lock()
		e.stats = ERPStats{InFlight: e.stats.InFlight, MaxInFlight: e.stats.InFlight}
		e.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
}

// erpRequest is one API request being processed: the route's entity table (nil for a route
// without one) and, for a POST or PUT of a record, the record sent.
type erpRequest struct {
	r     *http.Request
	table *erpTable
	rec   map[string]any
}

// erpAnswer is an API answer: its status and JSON body.
type erpAnswer struct {
	status int
	body   []byte
}

// erpJSON is an answer of v as JSON.
func erpJSON(status int, v any) erpAnswer {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"the answer could not be encoded"}}`)
	}
	return erpAnswer{status: status, body: append(body, '\n')}
}

// erpFail is an answer in the ERP's error shape: {"error": {"code", "message", "fields"?}}.
func erpFail(status int, code, message string, fields map[string]string) erpAnswer {
	body := map[string]any{"code": code, "message": message}
	if fields != nil {
		body["fields"] = fields
	}
	return erpJSON(status, map[string]any{"error": body})
}

func (a erpAnswer) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// erpKeeps reports whether an answer is kept for its Idempotency-Key: what was carried out and
// what the records refused. A 429 or 503 is not, so the request can be retried under the key.
func erpKeeps(status int) bool {
	return status/100 == 2 || status == http.StatusNotFound || status == http.StatusConflict ||
		status == http.StatusUnprocessableEntity
}

// api serves one API route: counted and in flight from arrival, then auth, then a pending
// 429 or 503, then the delay (a client that gives up meanwhile changes nothing), then the
// record sent, then h under the lock, or the answer kept for the request's Idempotency-Key,
// then a delay_after fault holding the answer back (the change is made and its answer kept).
func (e *ERP) api(h func(*erpRequest) erpAnswer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.stats.Requests++
		e.stats.InFlight++
		e.stats.MaxInFlight = max(e.stats.MaxInFlight, e.stats.InFlight)
		e.mu.Unlock()
		defer func() {
			e.mu.Lock()
			e.stats.InFlight--
			e.mu.Unlock()
		}()
		key := r.Header.Get("X-API-Key")
		if key == "" {
			key, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		if !equal(key, e.key) {
			erpFail(http.StatusUnauthorized, "unauthorized", "invalid API key", nil).write(w)
			return
		}
		status, delay, delayAfter := e.takeFault()
		switch status {
		case http.StatusTooManyRequests:
			w.Header().Set("Retry-After", "1")
			erpFail(status, "rate_limited", "too many requests, retry after 1 second", nil).write(w)
			return
		case http.StatusServiceUnavailable:
			erpFail(status, "unavailable", "the ERP is unavailable", nil).write(w)
			return
		}
		if !sleepFor(r, delay) {
			return
		}
		a, replayed := e.serve(r, h)
		if !sleepFor(r, delayAfter) {
			// The client gave up; what was processed stays processed.
			return
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		a.write(w)
	}
}

// serve answers r: a refusal of its route or body, or h's answer under the lock. A POST, PUT
// or DELETE with an Idempotency-Key answers what the key's first request answered (replayed),
// or 409 when the key came with another request.
func (e *ERP) serve(r *http.Request, h func(*erpRequest) erpAnswer) (a erpAnswer, replayed bool) {
	c := &erpRequest{r: r}
	if types := r.PathValue("types"); types != "" {
		typ, ok := strings.CutSuffix(types, "s")
		if c.table = e.tables[typ]; !ok || c.table == nil {
			return erpFail(http.StatusNotFound, "not_found", "no entity type "+truncate(types, 40), nil), false
		}
	}
	var canonical []byte
	if c.table != nil && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		var fail erpAnswer
		if c.rec, canonical, fail = readRecord(r); c.rec == nil {
			return fail, false
		}
	}
	var slot, fingerprint string
	if idemKey := r.Header.Get("Idempotency-Key"); idemKey != "" &&
		(r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodDelete) {
		if len(idemKey) > maxIdempotencyKey {
			return erpFail(http.StatusBadRequest, "invalid_idempotency_key", "the Idempotency-Key is longer than 255 characters", nil), false
		}
		slot = e.key + "\x00" + idemKey
		fingerprint = r.Method + " " + r.URL.Path + "\n" + string(canonical)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if slot != "" {
		if prev, ok := e.idem.get(slot); ok {
			if prev.fingerprint != fingerprint {
				return erpFail(http.StatusConflict, "idempotency_key_reused",
					"the Idempotency-Key "+truncate(r.Header.Get("Idempotency-Key"), 100)+" was used with another request", nil), false
			}
			return erpAnswer{status: prev.status, body: prev.body}, true
		}
	}
	a = h(c)
	if slot != "" && erpKeeps(a.status) {
		e.idem.put(slot, &idempotentAnswer{fingerprint: fingerprint, status: a.status, body: a.body})
	}
	return a, false
}

// takeFault consumes one request of the pending faults: 429, 503, or 0; the delay before
// processing, and the delay after.
func (e *ERP) takeFault() (status int, delay, delayAfter time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := &e.faults
	switch {
	case f.RateLimit > 0:
		f.RateLimit--
		return http.StatusTooManyRequests, 0, 0
	case f.ServerError > 0:
		f.ServerError--
		return http.StatusServiceUnavailable, 0, 0
	}
	if f.DelayAfterCount > 0 {
		f.DelayAfterCount--
		delayAfter = f.delayAfter
	}
	return 0, f.delay, delayAfter
}

// setFaults handles PUT /_sim/erp/faults, replacing the pending faults. A delay_after without a
// count holds back one answer.
func (e *ERP) setFaults(w http.ResponseWriter, r *http.Request) {
	var f ERPFaults
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&f); err != nil {
		http.Error(w, `body: {"server_error", "rate_limit", "delay", "delay_after", "delay_after_count"}`, http.StatusBadRequest)
		return
	}
	if f.ServerError < 0 || f.RateLimit < 0 || f.DelayAfterCount < 0 {
		http.Error(w, "server_error, rate_limit and delay_after_count must be counts of requests", http.StatusBadRequest)
		return
	}
	for _, d := range []struct {
		name, value string
		to          *time.Duration
	}{{"delay", f.Delay, &f.delay}, {"delay_after", f.DelayAfter, &f.delayAfter}} {
		if d.value == "" {
			continue
		}
		v, err := time.ParseDuration(d.value)
		if err != nil || v < 0 || v > maxSimLatency {
			http.Error(w, d.name+" must be a duration up to 1m", http.StatusBadRequest)
			return
		}
		*d.to = v
	}
	switch {
	case f.delayAfter == 0:
		f.DelayAfterCount = 0
	case f.DelayAfterCount == 0:
		f.DelayAfterCount = 1
	}
	e.mu.Lock()
	e.faults = f
	e.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
