package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fault is an injected misbehaviour of one simulated provider: for the next Count requests (0:
// until cleared) answer Status (with Retry-After), after Latency, or drop the connection.
type Fault struct {
	Target     string `json:"target"` // cbs, bill, sms, push, oauth or smtp
	Status     int    `json:"status,omitempty"`
	Count      int    `json:"count,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
	Latency    string `json:"latency,omitempty"`
	Drop       bool   `json:"drop,omitempty"`

	latency time.Duration
}

// faults holds the injected faults, in the order they were added.
type faults struct {
	mu   sync.Mutex
	list []*Fault
}

// take consumes the first active fault of target, if any.
func (f *faults) take(target string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, ft := range f.list {
		if ft.Target != target {
			continue
		}
		out := *ft
		if ft.Count > 0 {
			ft.Count--
			if ft.Count == 0 {
				f.list = append(f.list[:i], f.list[i+1:]...)
			}
		}
		return &out
	}
	return nil
}

var faultTargets = map[string]bool{"cbs": true, "bill": true, "sms": true, "push": true, "oauth": true, "smtp": true}

// serveFaults handles /_sim/faults: POST adds one, GET lists, DELETE clears all.
func (f *faults) serve(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		f.mu.Lock()
		out := append([]*Fault{}, f.list...)
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	case http.MethodDelete:
		f.mu.Lock()
		f.list = nil
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPost:
		var ft Fault
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&ft); err != nil || !faultTargets[ft.Target] {
			http.Error(w, `body: {"target": "cbs|bill|sms|push|oauth|smtp", "status", "count", "retry_after", "latency", "drop"}`,
				http.StatusBadRequest)
			return
		}
		if ft.Latency != "" {
			d, err := time.ParseDuration(ft.Latency)
			if err != nil || d < 0 || d > maxSimLatency {
				http.Error(w, "latency must be a duration up to 1m", http.StatusBadRequest)
				return
			}
			ft.latency = d
		}
		if ft.Status != 0 && (ft.Status < 200 || ft.Status > 599) {
			http.Error(w, "status must be 200..599", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.list = append(f.list, &ft)
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// apply plays a fault (or the X-Sim-Status / X-Sim-Latency headers of a direct call) and
// reports whether it answered the request.
func (f *faults) apply(target string, w http.ResponseWriter, r *http.Request) bool {
	ft := f.take(target)
	if ft == nil {
		ft = &Fault{}
	}
	if d, err := time.ParseDuration(r.Header.Get(HeaderLatency)); err == nil && d <= maxSimLatency {
		ft.latency = d
	}
	if s, err := strconv.Atoi(r.Header.Get(HeaderStatus)); err == nil && s >= 200 && s <= 599 {
		ft.Status = s
	}
	if ft.latency > 0 {
		select {
		case <-time.After(ft.latency):
		case <-r.Context().Done():
			return true
		}
	}
	if ft.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
	}
	if ft.Status == 0 {
		return false
	}
	if ft.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ft.RetryAfter))
	}
	providerError(w, ft.Status, "SIMULATED_FAULT", "injected fault: "+http.StatusText(ft.Status))
	return true
}

// providerError answers in the simulated providers' error shape: {"error": {"code", "message"}}.
func providerError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}
