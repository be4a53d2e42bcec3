package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is an injected misbehaviour of one simulated provider: for the next Count requests (0:
// until cleared) answer Status (with Retry-After), after Latency, drop the connection, or
// answer as usual with PadBytes more bytes.
type Fault struct {
	Target     string `json:"target"` // cbs, bill, sms, push, oauth or smtp
	Status     int    `json:"status,omitempty"`
	Count      int    `json:"count,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
	Latency    string `json:"latency,omitempty"`
	Drop       bool   `json:"drop,omitempty"`
	// PadBytes grows the usual answer (a hostile provider's oversized one): a JSON object's
	// first top-level string field, by name, gets that many more characters, so the typed
	// response keeps them; any other answer gets that many trailing spaces.
	PadBytes int `json:"pad_bytes,omitempty"`

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
			http.Error(w, `body: {"target": "cbs|bill|sms|push|oauth|smtp", "status", "count", "retry_after", "latency", "drop", "pad_bytes"}`,
				http.StatusBadRequest)
			return
		}
		if ft.PadBytes < 0 || ft.PadBytes > maxSimPadBytes {
			http.Error(w, "pad_bytes must be 0 to 16777216", http.StatusBadRequest)
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

// maxSimPadBytes bounds a fault's PadBytes.
const maxSimPadBytes = 16 << 20

// around plays target's next fault around h: a fault that answers the request itself, or h's
// usual answer (padded when the fault says so).
func (f *faults) around(target string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		answered, pad := f.play(target, w, r)
		switch {
		case answered:
		case pad > 0:
			padded(h, pad)(w, r)
		default:
			h(w, r)
		}
	}
}

// padded answers as h does, with pad more bytes (see Fault.PadBytes).
func padded(h http.HandlerFunc, pad int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		h(rec, r)
		body := rec.body.Bytes()
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&obj); err == nil {
			keys := make([]string, 0, len(obj))
			for k, v := range obj {
				if _, ok := v.(string); ok {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			if len(keys) > 0 {
				obj[keys[0]] = obj[keys[0]].(string) + strings.Repeat("x", pad)
				body, _ = json.Marshal(obj)
				pad = 0
			}
		}
		body = append(body, bytes.Repeat([]byte(" "), pad)...)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
	}
}

// recorder holds an answer for padded.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// apply plays a fault (or the X-Sim-Status / X-Sim-Latency headers of a direct call) and
// reports whether it answered the request. A fault that pads the answer is played by around.
func (f *faults) apply(target string, w http.ResponseWriter, r *http.Request) bool {
	answered, _ := f.play(target, w, r)
	return answered
}

// play is apply, also returning the bytes a fault adds to the usual answer.
func (f *faults) play(target string, w http.ResponseWriter, r *http.Request) (answered bool, pad int) {
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
			return true, 0
		}
	}
	if ft.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true, 0
			}
		}
	}
	if ft.Status == 0 {
		return false, ft.PadBytes
	}
	if ft.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ft.RetryAfter))
	}
	providerError(w, ft.Status, "SIMULATED_FAULT", "injected fault: "+http.StatusText(ft.Status))
	return true, 0
}

// providerError answers in the simulated providers' error shape: {"error": {"code", "message"}}.
func providerError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

// sleepFor sleeps for a simulated latency; false when the client gave up first.
func sleepFor(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
