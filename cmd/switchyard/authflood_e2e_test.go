package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/schema"
)

// instance serves another API instance on the end-to-end database and Temporal, wired as
// `switchyard api` wires it, with cfg, and returns a harness that talks to it.
func instance(t *testing.T, cfg api.Config) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	srv, err := api.New(cfg, api.Deps{Store: h.store, Temporal: h.temporal, Registry: reg, Gatherer: reg,
		Logger: slog.New(slog.NewJSONHandler(&hubLogs, nil))})
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveWith(ctx, l, apiServer(cfg, srv.Handler()), 15*time.Second) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	other := *h
	other.apiURL = "http://" + l.Addr().String()
	return &other
}

// floodClient stores an integrator whose secret is hashed at bcrypt's lowest cost, so the
// flood below costs milliseconds under -race (what is counted matters here, not the cost).
func floodClient(t *testing.T, secret string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	require.NoError(t, err)
	id := "flood-" + uuid.NewString()
	_, err = h.store.CreateClient(t.Context(), schema.ClientRow{ClientID: id, Name: id, SecretHash: string(hash),
		Roles: pq.StringArray{"integrator"}, IsActive: true})
	require.NoError(t, err)
	return id
}

// Not parallel: the flood would slow the other tests' sync waits.
func TestAuthenticationFloods(t *testing.T) {
	cfg := h.env.API
	// The defaults, and the loopback proxy may say where each sender is.
	cfg.AuthFailureLimit, cfg.AuthFailureIPLimit, cfg.AuthFailureWindow = 10, 50, time.Minute
	cfg.TrustedProxies = []string{"127.0.0.1"}
	hub := instance(t, cfg)
	victim, bystander := floodClient(t, "victim-secret"), floodClient(t, "bystander-secret")
	ping := request{method: "GET", path: "/demo/env/ping"}
	from := func(r request, ip string) request { return r.header("X-Forwarded-For", ip) }
	require.Equal(t, http.StatusOK, hub.do(t, from(ping.asClient(victim, "victim-secret"), "10.7.0.1")).Status,
		"the victim is at work before the flood")

	// 64 senders, each from its own address, two wrong secrets each; the bystander's first
	// authentication comes in the middle of it.
	start := time.Now()
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 2 {
				r := hub.do(t, from(ping.asClient(victim, fmt.Sprintf("guess-%d-%d", i, j)), fmt.Sprintf("10.8.0.%d", i)))
				var envelope struct {
					ErrorCode string `json:"error_code"`
				}
				_ = json.Unmarshal(r.Body, &envelope) // no require outside the test's goroutine
				answer := strconv.Itoa(r.Status) + " " + envelope.ErrorCode
				if r.Status == http.StatusTooManyRequests {
					wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
					if err != nil || wait < 1 || wait > 6 {
						answer += " with Retry-After " + r.Header.Get("Retry-After")
					}
				}
				mu.Lock()
				answers[answer]++
				mu.Unlock()
			}
		}()
	}
	bystanderAnswer := make(chan int, 1)
	go func() {
		time.Sleep(5 * time.Millisecond)
		bystanderAnswer <- hub.do(t, from(ping.asClient(bystander, "bystander-secret"), "10.9.0.1")).Status
	}()
	wg.Wait()
	require.Equal(t, http.StatusOK, <-bystanderAnswer, "another client is not refused")
	// One failure comes back every 6 s (10 a minute).
	allowed := 10 + int(time.Since(start)/(6*time.Second))
	require.LessOrEqual(t, answers["401 INVALID_CREDENTIALS"], allowed, "answers: %v", answers)
	require.Equal(t, 128, answers["401 INVALID_CREDENTIALS"]+answers["429 TOO_MANY_FAILURES"],
		"every other answer is 429 TOO_MANY_FAILURES with a Retry-After of at most 6 s: %v", answers)

	t.Run("the victim keeps working where its secret was verified", func(t *testing.T) {
		require.Equal(t, http.StatusOK, hub.do(t, from(ping.asClient(victim, "victim-secret"), "10.7.0.1")).Status)
	})

	t.Run("another instance holds the same limit", func(t *testing.T) {
		other := instance(t, cfg)
		r := other.do(t, from(ping.asClient(victim, "victim-secret"), "10.7.0.2"))
		require.Equal(t, http.StatusTooManyRequests, r.Status, "%s", r.Body)
		require.Equal(t, "TOO_MANY_FAILURES", r.errorCode(t))
		require.NotEmpty(t, r.Header.Get("Retry-After"))
		require.Equal(t, http.StatusOK, other.do(t, from(ping.asClient(bystander, "bystander-secret"), "10.9.0.2")).Status)
	})

	t.Run("an unknown id answers as a wrong secret does", func(t *testing.T) {
		known := floodClient(t, "known-secret")
		wrong := hub.do(t, from(ping.asClient(known, "not-it"), "10.10.0.1"))
		unknown := hub.do(t, from(ping.asClient("flood-"+uuid.NewString(), "not-it"), "10.10.0.1"))
		require.Equal(t, http.StatusUnauthorized, wrong.Status)
		require.Equal(t, wrong.Status, unknown.Status)
		require.Equal(t, string(wrong.Body), string(unknown.Body))
	})
}

// TestRateLimitHoldsAcrossInstances: a client's rate_limit_per_minute is one bucket however
// many API instances serve it. Not parallel, so the three requests come well within the 20 s
// a token takes to come back.
func TestRateLimitHoldsAcrossInstances(t *testing.T) {
	r := h.do(t, request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"limited-twice",
		"name":"Limited twice","client_secret":"limited-twice-secret","roles":["integrator"],"rate_limit_per_minute":3}`}.asAdmin())
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	other := instance(t, h.env.API)
	ping := request{method: "GET", path: "/demo/env/ping"}.asClient("limited-twice", "limited-twice-secret")
	for i, hub := range []*harness{h, other, h} {
		r := hub.do(t, ping)
		require.Equal(t, http.StatusOK, r.Status, "request %d: %s", i, r.Body)
		require.Equal(t, "3", r.Header.Get("X-RateLimit-Limit"))
		require.Equal(t, strconv.Itoa(2-i), r.Header.Get("X-RateLimit-Remaining"), "request %d", i)
		reset, err := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64)
		require.NoError(t, err)
		require.Greater(t, reset, time.Now().Unix())
	}
	for _, hub := range []*harness{other, h} {
		limited := hub.do(t, ping)
		require.Equal(t, http.StatusTooManyRequests, limited.Status)
		require.Equal(t, "RATE_LIMITED", limited.errorCode(t))
		require.Equal(t, "0", limited.Header.Get("X-RateLimit-Remaining"))
		wait, err := strconv.Atoi(limited.Header.Get("Retry-After"))
		require.NoError(t, err)
		require.True(t, wait >= 1 && wait <= 20, "the next token is at most 20 s away: %d", wait)
	}
}
