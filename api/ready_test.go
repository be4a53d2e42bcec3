package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/mocks"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/api/apitest"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
)

// noProviders is a provider stack with no issuers.
type noProviders struct{}

func (noProviders) Caller(issuer string) (provider.Caller, error) {
	return nil, errors.New("no " + issuer)
}
func (noProviders) Breakers() map[string]string { return map[string]string{} }

// brokenStore fails its health check.
type brokenStore struct{ *schema.Store }

func (brokenStore) Ping(context.Context) error { return errors.New("connection refused") }

func newTestServer(t *testing.T, store api.Store, temporal *mocks.Client) *api.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := api.New(api.Config{MediatorMode: api.ModeHybrid, ForwardTimeout: 1e9, IntegrationTimeout: time.Second, MaxRequestBodyBytes: 1 << 10,
		ConfigCacheTTL: time.Minute, AdminToken: "t"},
		api.Deps{Store: store, Temporal: temporal, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Registry: reg, Gatherer: reg, Providers: noProviders{}})
	require.NoError(t, err)
	return s
}

func TestReadyNamesWhatFailed(t *testing.T) {
	store := api.OpenTestStore(t)
	get := func(s *api.Server, header ...string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/ready", nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		s.Handler().ServeHTTP(rec, req)
		apitest.CheckResponse(t, "GET", "/ready", rec.Code, rec.Header(), rec.Body.Bytes())
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		return rec.Code, body
	}

	healthy := &mocks.Client{}
	healthy.On("CheckHealth", mock.Anything, mock.Anything).Return(nil, nil)
	code, _ := get(newTestServer(t, store, healthy))
	require.Equal(t, http.StatusOK, code)

	down := &mocks.Client{}
	down.On("CheckHealth", mock.Anything, mock.Anything).Return(nil, errors.New("temporal unreachable"))
	broken := newTestServer(t, brokenStore{store}, down)
	code, body := get(broken)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "not ready: postgres, temporal", body["error"])
	checks := body["details"].(map[string]any)["checks"].(map[string]any)
	require.Equal(t, map[string]any{"status": "unavailable"}, checks["temporal"], "no error strings in public")
	require.Equal(t, map[string]any{"status": "unavailable"}, checks["postgres"])

	for _, wrong := range []string{"Bearer nope", "t", "Basic dDp0"} {
		_, body = get(broken, "Authorization", wrong)
		checks = body["details"].(map[string]any)["checks"].(map[string]any)
		require.NotContains(t, checks["temporal"], "error", wrong)
	}
	_, body = get(broken, "Authorization", "Bearer t")
	checks = body["details"].(map[string]any)["checks"].(map[string]any)
	require.Equal(t, "temporal unreachable", checks["temporal"].(map[string]any)["error"], "operators see why")
	require.Equal(t, "connection refused", checks["postgres"].(map[string]any)["error"])
}
