package provider_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/provider"
)

func TestResponseLimitIsReadFromTheEnvironment(t *testing.T) {
	cfg, err := provider.Load(provider.IssuerCBS, provider.SimConfig{})
	require.NoError(t, err)
	require.EqualValues(t, provider.DefaultMaxResponseBytes, cfg.ResponseLimit(), "1 MiB unless configured")
	require.EqualValues(t, 1<<20, provider.DefaultMaxResponseBytes)

	t.Setenv("PROVIDER_MAX_RESPONSE_BYTES", "65536")
	for _, issuer := range provider.Issuers {
		cfg, err := provider.Load(issuer, provider.SimConfig{})
		require.NoError(t, err)
		require.EqualValues(t, 65536, cfg.ResponseLimit(), issuer)
	}
	for _, bad := range []string{"0", "-1", strconv.Itoa(provider.MaxResponseBytesCeiling + 1), "4194304"} {
		t.Setenv("PROVIDER_MAX_RESPONSE_BYTES", bad)
		_, err := provider.Load(provider.IssuerCBS, provider.SimConfig{})
		require.ErrorContains(t, err, "PROVIDER_MAX_RESPONSE_BYTES", bad)
	}
}

// Issue 8, hole 5: an answer over the limit is refused, whatever the provider says its length is.
func TestAnAnswerOverTheLimitIsRefused(t *testing.T) {
	t.Parallel()
	const limit = 1000
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		n, _ := strconv.Atoi(r.URL.Query().Get("size"))
		status, _ := strconv.Atoi(r.URL.Query().Get("status"))
		body := `{"account_number":"` + strings.Repeat("9", n-len(`{"account_number":""}`)) + `"}`
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}))
	t.Cleanup(srv.Close)
	call := func(size, status int, chunked bool) (provider.Response, provider.Attempt, error) {
		q := "?size=" + strconv.Itoa(size) + "&status=" + strconv.Itoa(status)
		if chunked {
			q += "&chunked=1"
		}
		c := client(t, config(t, srv.URL, func(cfg *provider.Config) {
			cfg.MaxResponseBytes = limit
			cfg.URIMap[provider.OpAccountBalance] = provider.Route{Method: "GET", Path: "/balance" + q}
		}))
		return c.Call(context.Background(), op(provider.OpAccountBalance), &provider.AccountRequest{AccountNumber: "1"}, "c")
	}

	t.Run("an answer of exactly the limit is taken", func(t *testing.T) {
		for _, chunked := range []bool{false, true} {
			resp, _, err := call(limit, 200, chunked)
			require.NoError(t, err)
			require.Len(t, resp.Body, limit)
		}
	})
	for _, tc := range []struct {
		name    string
		status  int
		chunked bool
	}{
		{"a 2xx one byte over, with its length", 200, false},
		{"a 2xx one byte over, chunked (no length)", 200, true},
		{"a 4xx result one byte over", 404, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, attempt, err := call(limit+1, tc.status, tc.chunked)
			var ce *provider.CallError
			require.True(t, errors.As(err, &ce), "%v", err)
			require.Equal(t, provider.KindTooLarge, ce.Kind)
			require.Equal(t, tc.status, ce.Status)
			require.Contains(t, ce.Reason, "PROVIDER_MAX_RESPONSE_BYTES")
			require.Equal(t, provider.KindTooLarge, attempt.Outcome, "the audit says why")
		})
	}
	t.Run("a 5xx stays retryable whatever its size", func(t *testing.T) {
		_, _, err := call(10*limit, 503, false)
		var ce *provider.CallError
		require.True(t, errors.As(err, &ce))
		require.Equal(t, provider.KindStatus, ce.Kind)
	})
	t.Run("oversized answers do not open the breaker", func(t *testing.T) {
		c := client(t, config(t, srv.URL, func(cfg *provider.Config) {
			cfg.MaxResponseBytes = limit
			cfg.URIMap[provider.OpAccountBalance] = provider.Route{Method: "GET", Path: "/balance?size=5000&status=200"}
		}))
		for range 5 {
			_, _, err := c.Call(context.Background(), op(provider.OpAccountBalance), &provider.AccountRequest{AccountNumber: "1"}, "c")
			var ce *provider.CallError
			require.True(t, errors.As(err, &ce))
			require.Equal(t, provider.KindTooLarge, ce.Kind)
		}
		require.Equal(t, "closed", c.BreakerState())
	})
}
