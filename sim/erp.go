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
// ServerError 503, and every request waits Delay until the faults are cleared.
type ERPFaults struct {
	ServerError int    `json:"server_error"`
	RateLimit   int    `json:"rate_limit"`
	Delay       string `json:"delay,omitempty"`

	delay time.Duration
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
// updated_since filter, injected faults (/_sim/erp/faults) and counters (/_sim/erp/stats). It
// starts with fixed demo data, so a sync of it is repeatable.
type ERP struct {
	key string
	now func() time.Time

	mu     sync.Mutex // guards everything below
	tables map[string]*erpTable
	faults ERPFaults
	stats  ERPStats
}

// NewERP builds the ERP simulator with its demo data. It accepts the hub's ERP API key (the
// issuer's token, else its HMAC key id, else its user name), or DemoERPKey when the hub has
// none.
func NewERP(issuers map[string]provider.Config) *ERP {
	a := issuers[provider.IssuerERP].Auth
	key := a.Token
	for _, k := range []string{a.HMACKeyID, a.Username, DemoERPKey} {
		if key == "" {
			key = k
		}
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
	mux.HandleFunc("/erp/", e.api(func(w http.ResponseWriter, r *http.Request, _ *erpTable) {
		erpError(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+strings.TrimPrefix(r.URL.Path, "/erp"), nil)
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

// erpError answers in the ERP's error shape: {"error": {"code", "message", "fields"?}}.
func erpError(w http.ResponseWriter, status int, code, message string, fields map[string]string) {
	body := map[string]any{"code": code, "message": message}
	if fields != nil {
		body["fields"] = fields
	}
	writeJSON(w, status, map[string]any{"error": body})
}

// api serves one API route: counted and in flight from arrival, then auth, then a pending
// 429 or 503, then the delay (a client that gives up meanwhile changes nothing), then h with
// the route's entity table (nil for a route without one).
func (e *ERP) api(h func(http.ResponseWriter, *http.Request, *erpTable)) http.HandlerFunc {
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
			erpError(w, http.StatusUnauthorized, "unauthorized", "invalid API key", nil)
			return
		}
		status, delay := e.takeFault()
		switch status {
		case http.StatusTooManyRequests:
			w.Header().Set("Retry-After", "1")
			erpError(w, status, "rate_limited", "too many requests, retry after 1 second", nil)
			return
		case http.StatusServiceUnavailable:
			erpError(w, status, "unavailable", "the ERP is unavailable", nil)
			return
		}
		if !sleepFor(r, delay) {
			return
		}
		var table *erpTable
		if types := r.PathValue("types"); types != "" {
			typ, ok := strings.CutSuffix(types, "s")
			if table = e.tables[typ]; !ok || table == nil {
				erpError(w, http.StatusNotFound, "not_found", "no entity type "+truncate(types, 40), nil)
				return
			}
		}
		h(w, r, table)
	}
}

// takeFault consumes one request of the pending faults: 429, 503, or 0; and the delay.
func (e *ERP) takeFault() (status int, delay time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.faults.RateLimit > 0:
		e.faults.RateLimit--
		return http.StatusTooManyRequests, 0
	case e.faults.ServerError > 0:
		e.faults.ServerError--
		return http.StatusServiceUnavailable, 0
	}
	return 0, e.faults.delay
}

// setFaults handles PUT /_sim/erp/faults, replacing the pending faults.
func (e *ERP) setFaults(w http.ResponseWriter, r *http.Request) {
	var f ERPFaults
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&f); err != nil {
		http.Error(w, `body: {"server_error", "rate_limit", "delay"}`, http.StatusBadRequest)
		return
	}
	if f.ServerError < 0 || f.RateLimit < 0 {
		http.Error(w, "server_error and rate_limit must be counts of requests", http.StatusBadRequest)
		return
	}
	if f.Delay != "" {
		d, err := time.ParseDuration(f.Delay)
		if err != nil || d < 0 || d > maxSimLatency {
			http.Error(w, "delay must be a duration up to 1m", http.StatusBadRequest)
			return
		}
		f.delay = d
	}
	e.mu.Lock()
	e.faults = f
	e.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
