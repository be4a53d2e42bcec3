// Package sim holds Switchyard's provider simulators: upstreams that behave like the real
// systems the hub talks to, with knobs for latency and failure. They are part of the product
// (demos, load tests, integrators' own tests), served by `switchyard sim` and `switchyard dev`.
package sim

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// UpstreamConfig is the upstream simulator's environment.
type UpstreamConfig struct {
	// Addr is where `switchyard sim` serves the upstream simulator.
	Addr string `envconfig:"SIM_ADDR" default:":8090"`
	// Latency delays every answer.
	Latency time.Duration `envconfig:"SIM_LATENCY" default:"0s"`
	// FailureRatio is the share of requests (0..1) answered with FailureStatus.
	FailureRatio float64 `envconfig:"SIM_FAILURE_RATIO" default:"0"`
	// FailureStatus is the status of injected failures.
	FailureStatus int `envconfig:"SIM_FAILURE_STATUS" default:"503"`
	// OAuthTokenTTL is the lifetime of the access tokens the OAuth2 simulator issues.
	OAuthTokenTTL time.Duration `envconfig:"SIM_OAUTH_TOKEN_TTL" default:"1h"`
}

// Per-request controls, as headers (the hub forwards the client's headers, so a client can
// steer the simulator through the hub).
const (
	HeaderStatus     = "X-Sim-Status"      // answer with this status
	HeaderLatency    = "X-Sim-Latency"     // delay the answer ("250ms")
	HeaderFailTimes  = "X-Sim-Fail-Times"  // fail the first N requests of an Idempotency-Key, then succeed
	HeaderRetryAfter = "X-Sim-Retry-After" // Retry-After on failures (seconds)
	HeaderDrop       = "X-Sim-Drop"        // "true": close the connection without answering
)

const maxSimLatency = time.Minute

// Upstream is the mediator simulator: it echoes requests, fails on demand, and counts requests
// per Idempotency-Key so tests and demos can prove there were no duplicate effects.
type Upstream struct {
	mu     sync.Mutex
	cfg    UpstreamConfig
	counts map[string]int
	total  int
}

// NewUpstream builds the simulator.
func NewUpstream(cfg UpstreamConfig) *Upstream {
	if cfg.FailureStatus == 0 {
		cfg.FailureStatus = http.StatusServiceUnavailable
	}
	return &Upstream{cfg: cfg, counts: map[string]int{}}
}

// EchoResponse is the body of an echoed request.
type EchoResponse struct {
	Method         string              `json:"method"`
	Path           string              `json:"path"`
	Query          string              `json:"query"`
	Headers        map[string][]string `json:"headers"`
	Body           string              `json:"body"`
	IdempotencyKey string              `json:"idempotency_key"`
	CorrelationID  string              `json:"correlation_id"`
	Count          int                 `json:"count"`
}

// RequestCounts is the body of GET /_sim/requests.
type RequestCounts struct {
	Total            int            `json:"total"`
	ByIdempotencyKey map[string]int `json:"by_idempotency_key"`
}

// Handler serves the simulator:
//
//	GET  /_sim/requests        counts per Idempotency-Key
//	GET  /_sim/requests/{key}  the count of one key
//	POST /_sim/reset           forget the counts
//	GET|PUT /_sim/config       latency, failure_ratio, failure_status
//	ANY  /sim/status/{code}/** answer with that status (503 and 429 carry Retry-After)
//	ANY  anything else         echo the request as JSON
func (u *Upstream) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/requests", u.listCounts)
	mux.HandleFunc("GET /_sim/requests/{key}", u.oneCount)
	mux.HandleFunc("POST /_sim/reset", u.reset)
	mux.HandleFunc("GET /_sim/config", u.getConfig)
	mux.HandleFunc("PUT /_sim/config", u.putConfig)
	mux.HandleFunc("/", u.serve)
	return mux
}

// Count returns how many requests carried this Idempotency-Key.
func (u *Upstream) Count(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[key]
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	u.mu.Lock()
	u.total++
	u.counts[key]++
	count := u.counts[key]
	cfg := u.cfg
	u.mu.Unlock()

	delay := cfg.Latency
	if d, err := time.ParseDuration(r.Header.Get(HeaderLatency)); err == nil {
		delay = d
	}
	if delay = min(delay, maxSimLatency); delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if r.Header.Get(HeaderDrop) == "true" {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}

	if status, ok := fixedStatus(r.URL.Path); ok {
		u.fail(w, r, status)
		return
	}
	failStatus := cfg.FailureStatus
	if s, err := strconv.Atoi(r.Header.Get(HeaderStatus)); err == nil && s >= 200 && s <= 599 {
		failStatus = s
		if n, err := strconv.Atoi(r.Header.Get(HeaderFailTimes)); err != nil || n <= 0 {
			u.fail(w, r, s)
			return
		}
	}
	if n, err := strconv.Atoi(r.Header.Get(HeaderFailTimes)); err == nil && count <= n {
		u.fail(w, r, failStatus)
		return
	}
	if cfg.FailureRatio > 0 && rand.Float64() < cfg.FailureRatio {
		u.fail(w, r, failStatus)
		return
	}
	writeJSON(w, http.StatusOK, EchoResponse{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Headers: r.Header, Body: string(body),
		IdempotencyKey: key, CorrelationID: r.Header.Get("X-Correlation-ID"), Count: count,
	})
}

// fixedStatus reads /sim/status/{code}/...
func fixedStatus(path string) (int, bool) {
	rest, ok := strings.CutPrefix(path, "/sim/status/")
	if !ok {
		return 0, false
	}
	code, _, _ := strings.Cut(rest, "/")
	status, err := strconv.Atoi(code)
	if err != nil || status < 200 || status > 599 {
		return 0, false
	}
	return status, true
}

func (u *Upstream) fail(w http.ResponseWriter, r *http.Request, status int) {
	if ra := r.Header.Get(HeaderRetryAfter); ra != "" {
		w.Header().Set("Retry-After", ra)
	} else if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, map[string]any{"status": status, "error": http.StatusText(status),
		"idempotency_key": r.Header.Get("Idempotency-Key")})
}

func (u *Upstream) listCounts(w http.ResponseWriter, _ *http.Request) {
	u.mu.Lock()
	out := RequestCounts{Total: u.total, ByIdempotencyKey: make(map[string]int, len(u.counts))}
	for k, v := range u.counts {
		out.ByIdempotencyKey[k] = v
	}
	u.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (u *Upstream) oneCount(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	writeJSON(w, http.StatusOK, map[string]any{"idempotency_key": key, "count": u.Count(key)})
}

func (u *Upstream) reset(w http.ResponseWriter, _ *http.Request) {
	u.mu.Lock()
	u.counts, u.total = map[string]int{}, 0
	u.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

type simConfigView struct {
	Latency       string   `json:"latency"`
	FailureRatio  *float64 `json:"failure_ratio"`
	FailureStatus *int     `json:"failure_status"`
}

func (u *Upstream) getConfig(w http.ResponseWriter, _ *http.Request) {
	u.mu.Lock()
	cfg := u.cfg
	u.mu.Unlock()
	writeJSON(w, http.StatusOK, simConfigView{Latency: cfg.Latency.String(), FailureRatio: &cfg.FailureRatio,
		FailureStatus: &cfg.FailureStatus})
}

// putConfig changes latency and failure injection at run time, e.g. to take the upstream
// "down" for a demo of retries and escalation, and bring it back.
func (u *Upstream) putConfig(w http.ResponseWriter, r *http.Request) {
	var in simConfigView
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil {
		http.Error(w, "body must be JSON: {latency, failure_ratio, failure_status}", http.StatusBadRequest)
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	next := u.cfg
	if in.Latency != "" {
		d, err := time.ParseDuration(in.Latency)
		if err != nil || d < 0 || d > maxSimLatency {
			http.Error(w, "latency must be a duration up to 1m", http.StatusBadRequest)
			return
		}
		next.Latency = d
	}
	if in.FailureRatio != nil {
		if *in.FailureRatio < 0 || *in.FailureRatio > 1 {
			http.Error(w, "failure_ratio must be 0..1", http.StatusBadRequest)
			return
		}
		next.FailureRatio = *in.FailureRatio
	}
	if in.FailureStatus != nil {
		if *in.FailureStatus < 200 || *in.FailureStatus > 599 {
			http.Error(w, "failure_status must be 200..599", http.StatusBadRequest)
			return
		}
		next.FailureStatus = *in.FailureStatus
	}
	u.cfg = next
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
