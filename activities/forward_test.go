package activities_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/transaction"
)

func forwardEnv(t *testing.T, maxResponse int64) (*testsuite.TestActivityEnvironment, *activities.Activities) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	acts := activities.New(nil, nil, activities.Config{MaxUpstreamResponseBytes: maxResponse, MaxIdleConnsPerHost: 4})
	env.RegisterActivity(acts)
	return env, acts
}

func forwardError(t *testing.T, err error) (*temporal.ApplicationError, activities.ForwardFailure) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	var failure activities.ForwardFailure
	if appErr.HasDetails() {
		require.NoError(t, appErr.Details(&failure))
	}
	return appErr, failure
}

func TestForward(t *testing.T) {
	var mu sync.Mutex
	var seen *http.Request
	var seenBody string
	last := func() (*http.Request, string) {
		mu.Lock()
		defer mu.Unlock()
		return seen, seenBody
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen, seenBody = r.Clone(context.Background()), string(b)
		mu.Unlock()
		switch r.URL.Path {
		case "/api/busy":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("busy"))
		case "/api/slow":
			time.Sleep(300 * time.Millisecond)
		case "/api/large":
			_, _ = w.Write([]byte(strings.Repeat("x", 2048)))
		case "/api/missing":
			w.Header().Set("Connection", "X-Private")
			w.Header().Set("X-Private", "hop")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"no such teacher"}`))
		default:
			w.Header().Set("X-Upstream", "yes")
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer upstream.Close()

	in := func(path string) activities.ForwardInput {
		return activities.ForwardInput{CorrelationID: "corr-1", EndpointURL: upstream.URL + "/api", Timeout: time.Second,
			Request: transaction.Request{Method: "POST", Path: path, RawQuery: "a=1",
				Header: map[string][]string{"Content-Type": {"application/json"}, "Connection": {"close"},
					"X-Trace": {"t1"}, "Idempotency-Key": {"client-chosen"}},
				Body: []byte(`{"n":1}`)}}
	}

	t.Run("forwards method, path, query, body and headers with correlation headers", func(t *testing.T) {
		env, acts := forwardEnv(t, 1024)
		v, err := env.ExecuteActivity(acts.Forward, in("/teachers"))
		require.NoError(t, err)
		var res activities.ForwardResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, 200, res.Response.StatusCode)
		require.Equal(t, "ok", string(res.Response.Body))
		require.Equal(t, []string{"yes"}, res.Response.Header["X-Upstream"])
		seen, seenBody := last()
		require.Equal(t, "/api/teachers", seen.URL.Path)
		require.Equal(t, "a=1", seen.URL.RawQuery)
		require.Equal(t, `{"n":1}`, seenBody)
		require.Equal(t, "t1", seen.Header.Get("X-Trace"))
		require.Equal(t, "corr-1", seen.Header.Get("X-Correlation-ID"))
		require.Equal(t, "corr-1", seen.Header.Get("Idempotency-Key"), "the hub's key replaces the client's")
	})

	t.Run("a 4xx is a result and hop-by-hop headers are dropped", func(t *testing.T) {
		env, acts := forwardEnv(t, 1024)
		v, err := env.ExecuteActivity(acts.Forward, in("/missing"))
		require.NoError(t, err)
		var res activities.ForwardResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, 404, res.Response.StatusCode)
		require.NotContains(t, res.Response.Header, "X-Private")
		require.NotContains(t, res.Response.Header, "Connection")
	})

	t.Run("a 503 is a retryable error carrying the answer and Retry-After", func(t *testing.T) {
		env, acts := forwardEnv(t, 1024)
		_, err := env.ExecuteActivity(acts.Forward, in("/busy"))
		appErr, failure := forwardError(t, err)
		require.Equal(t, transaction.ErrTypeUpstreamStatus, appErr.Type())
		require.False(t, appErr.NonRetryable())
		require.Equal(t, 7*time.Second, appErr.NextRetryDelay())
		require.Equal(t, 503, failure.Response.StatusCode)
		require.Equal(t, "busy", string(failure.Response.Body))
		require.Equal(t, int32(1), failure.Attempt)
	})

	t.Run("a timeout is classified as such", func(t *testing.T) {
		env, acts := forwardEnv(t, 1024)
		req := in("/slow")
		req.Timeout = 50 * time.Millisecond
		_, err := env.ExecuteActivity(acts.Forward, req)
		appErr, _ := forwardError(t, err)
		require.Equal(t, transaction.ErrTypeUpstreamTimeout, appErr.Type())
	})

	t.Run("an oversized answer fails without retry", func(t *testing.T) {
		env, acts := forwardEnv(t, 1024)
		_, err := env.ExecuteActivity(acts.Forward, in("/large"))
		appErr, _ := forwardError(t, err)
		require.Equal(t, transaction.ErrTypeResponseTooLarge, appErr.Type())
		require.True(t, appErr.NonRetryable())
	})

	t.Run("a closed port means nothing was sent", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		l.Close()
		env, acts := forwardEnv(t, 1024)
		req := in("/x")
		req.EndpointURL = "http://" + addr
		_, err = env.ExecuteActivity(acts.Forward, req)
		appErr, _ := forwardError(t, err)
		require.Equal(t, transaction.ErrTypeUpstreamUnreachable, appErr.Type())
	})

	t.Run("a non-http endpoint is refused before sending", func(t *testing.T) {
		env, acts := forwardEnv(t, 1024)
		req := in("/x")
		req.EndpointURL = "file:///etc/passwd"
		_, err := env.ExecuteActivity(acts.Forward, req)
		appErr, _ := forwardError(t, err)
		require.Equal(t, transaction.ErrTypeInvalidRequest, appErr.Type())
		require.True(t, appErr.NonRetryable())
	})
}

func TestUpstreamURL(t *testing.T) {
	for _, tc := range []struct{ endpoint, path, query, want string }{
		{"https://m.example.org/api", "/demo/env/ping", "", "https://m.example.org/api/demo/env/ping"},
		{"https://m.example.org/api/", "/x", "a=1&b=2", "https://m.example.org/api/x?a=1&b=2"},
		{"http://127.0.0.1:8090", "/integrations/teachers", "", "http://127.0.0.1:8090/integrations/teachers"},
		{"http://h/sim/status/503", "/pay", "", "http://h/sim/status/503/pay"},
	} {
		got, err := activities.UpstreamURL(tc.endpoint, tc.path, tc.query)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	for _, bad := range []string{"", "ftp://h/x", "http://", "not a url"} {
		_, err := activities.UpstreamURL(bad, "/x", "")
		require.Error(t, err, bad)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.Equal(t, 3*time.Second, provider.RetryAfter("3", now))
	require.Equal(t, 10*time.Second, provider.RetryAfter(now.Add(10*time.Second).Format(http.TimeFormat), now))
	require.Zero(t, provider.RetryAfter("", now))
	require.Zero(t, provider.RetryAfter("soon", now))
	require.Zero(t, provider.RetryAfter("-5", now))
	require.Equal(t, time.Hour, provider.RetryAfter("86400", now), "capped at an hour")
}

func TestChannelRetryRules(t *testing.T) {
	ch := transaction.Channel{}
	require.True(t, ch.MayRetry("POST", transaction.ErrTypeUpstreamUnreachable), "nothing was sent")
	require.False(t, ch.MayRetry("POST", transaction.ErrTypeUpstreamStatus))
	require.False(t, ch.MayRetry("PATCH", transaction.ErrTypeUpstreamTimeout))
	require.True(t, ch.MayRetry("PUT", transaction.ErrTypeUpstreamTimeout))
	require.False(t, ch.MayRetry("GET", transaction.ErrTypeResponseTooLarge))
	require.Contains(t, ch.NonRetryableErrorTypes("POST"), transaction.ErrTypeUpstreamStatus)
	require.NotContains(t, ch.NonRetryableErrorTypes("GET"), transaction.ErrTypeUpstreamStatus)

	ch.HonoursIdempotencyKey = true
	require.True(t, ch.MayRetry("POST", transaction.ErrTypeUpstreamStatus))
	require.NotContains(t, ch.NonRetryableErrorTypes("POST"), transaction.ErrTypeUpstreamStatus)
}

func TestRedactHeaders(t *testing.T) {
	got := activities.RedactHeaders(map[string][]string{
		"authorization": {"Bearer abc"}, "X-Api-Key": {"k"}, "X-Session-Token": {"t"}, "Content-Type": {"a/b"},
		"X-Hub-Signature-256": {"sig"},
	})
	require.Equal(t, []string{"[REDACTED]"}, got["Authorization"])
	require.Equal(t, []string{"[REDACTED]"}, got["X-Api-Key"])
	require.Equal(t, []string{"[REDACTED]"}, got["X-Session-Token"])
	require.Equal(t, []string{"[REDACTED]"}, got["X-Hub-Signature-256"])
	require.Equal(t, []string{"a/b"}, got["Content-Type"])
}

func TestUpstreamAnswerLimits(t *testing.T) {
	t.Run("headers past the cap fail the forward as too large, not retried", func(t *testing.T) {
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			for i := range 40 {
				w.Header().Set(fmt.Sprintf("X-Filler-%d", i), strings.Repeat("h", 4096))
			}
			_, _ = w.Write([]byte("ok"))
		}))
		defer upstream.Close()
		env, acts := forwardEnv(t, 1<<20)
		_, err := env.ExecuteActivity(acts.Forward, activities.ForwardInput{CorrelationID: "corr-h",
			EndpointURL: upstream.URL, Timeout: time.Second, Request: transaction.Request{Method: "GET", Path: "/"}})
		appErr, _ := forwardError(t, err)
		require.Equal(t, transaction.ErrTypeResponseTooLarge, appErr.Type())
		require.True(t, appErr.NonRetryable())
	})

	t.Run("the body cap has a ceiling under Temporal's payload limit", func(t *testing.T) {
		cfg := func(limit int64) activities.Config {
			var c activities.Config
			require.NoError(t, envconfig.Process("", &c))
			c.MaxUpstreamResponseBytes = limit
			return c
		}
		require.NoError(t, cfg(1<<20).Validate())
		require.Error(t, cfg(3<<20).Validate())
		require.Error(t, cfg(0).Validate())
	})
}
