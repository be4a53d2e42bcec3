package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// health is liveness: the process answers.
func (s *Server) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// Check states in /ready.
const (
	checkOK          = "ok"
	checkUnavailable = "unavailable"
)

type checkResult struct {
	Status string `json:"status"`
	// Error is the failure's own text, for operators only: it may name hosts, ports and users.
	Error string `json:"error,omitempty"`
}

// ready checks PostgreSQL, Temporal and any extra checks in parallel; 503 names what failed.
// Everyone sees ok or unavailable per check; why a check failed is shown with the admin token
// only (and logged).
func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]func(context.Context) error{
		"postgres": s.store.Ping,
		"temporal": func(ctx context.Context) error { _, err := s.temporal.CheckHealth(ctx, nil); return err },
	}
	results := make(map[string]checkResult, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := checkResult{Status: checkOK}
			if err := check(ctx); err != nil {
				r = checkResult{Status: checkUnavailable, Error: err.Error()}
			}
			mu.Lock()
			results[name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	var failed []string
	for name, r := range results {
		if r.Status != checkOK {
			failed = append(failed, name)
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		errs := make(map[string]string, len(failed))
		for _, name := range failed {
			errs[name] = results[name].Error
		}
		logger(c).Warn("Not ready", "failed", failed, "errors", errs)
	}
	if !s.isAdmin(c) {
		for name, r := range results {
			r.Error = ""
			results[name] = r
		}
	}
	if len(failed) > 0 {
		c.JSON(http.StatusServiceUnavailable, envelope{Error: "not ready: " + strings.Join(failed, ", "),
			ErrorCode: CodeUnavailable, Details: map[string]any{"checks": results, "providers": s.breakers()}})
		return
	}
	// A provider whose breaker is open, or a switch that is down, does not make the hub unready:
	// they are shown, not failed.
	out := gin.H{"status": "ready", "checks": results, "providers": s.breakers()}
	for name, detail := range s.details {
		out[name] = detail()
	}
	c.JSON(http.StatusOK, out)
}

// isAdmin reports whether the request carries the admin token (compared in constant time).
func (s *Server) isAdmin(c *gin.Context) bool {
	got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || s.cfg.AdminToken == "" {
		return false
	}
	want, digest := sha256.Sum256([]byte(s.cfg.AdminToken)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(digest[:], want[:]) == 1
}

// breakers are the provider breakers of the embedded worker, if the API runs one.
func (s *Server) breakers() map[string]string {
	if s.providers == nil {
		return map[string]string{}
	}
	return s.providers.Breakers()
}
