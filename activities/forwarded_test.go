package activities_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
)

func TestForwardKeepsTheHubsForwardingHeaders(t *testing.T) {
	var mu sync.Mutex
	var seen http.Header
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Header.Clone()
		mu.Unlock()
	}))
	defer upstream.Close()
	env, acts := forwardEnv(t, 1024)
	_, err := env.ExecuteActivity(acts.Forward, activities.ForwardInput{CorrelationID: "c", EndpointURL: upstream.URL,
		Timeout: time.Second, Request: transaction.Request{Method: "GET", Path: "/x", Header: map[string][]string{
			"Connection":      {"close, X-Forwarded-For, X-Forwarded-Proto, X-Private"},
			"X-Forwarded-For": {"203.0.113.9"}, "X-Forwarded-Proto": {"http"}, "X-Private": {"p"},
			"X-Upstream-Api-Key": {"real-key"}}}})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, "203.0.113.9", seen.Get("X-Forwarded-For"), "a Connection header cannot remove them")
	require.Equal(t, "http", seen.Get("X-Forwarded-Proto"))
	require.Empty(t, seen.Get("X-Private"), "other headers a Connection header names are still dropped")
	require.Equal(t, "real-key", seen.Get("X-Upstream-Api-Key"), "upstreams get the real credentials")
}
