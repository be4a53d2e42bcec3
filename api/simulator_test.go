package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/api/apitest"
	"github.com/switchyard-hub/switchyard/schema"
)

// oneReport is a simulator store with one row of accounts.
type oneReport struct{}

func (oneReport) Export(_ context.Context, _ string, _ int, emit func([]string) error) error {
	if err := emit([]string{"account_number", "bank_code"}); err != nil {
		return err
	}
	return emit([]string{"011001000001", "SWYD"})
}

func TestSimulatorDownloadNeedsThePermissionAndSimulation(t *testing.T) {
	store := api.OpenTestStore(t)
	client := func(permissions ...string) string {
		hash, err := api.HashSecret("secret")
		require.NoError(t, err)
		id := "reports-" + uuid.NewString()
		_, err = store.CreateClient(context.Background(), schema.ClientRow{ClientID: id, Name: "r", SecretHash: hash,
			Permissions: pq.StringArray(permissions), IsActive: true})
		require.NoError(t, err)
		return id
	}
	server := func(reports api.SimulatorReports) *api.Server {
		reg := prometheus.NewRegistry()
		s, err := api.New(api.Config{MediatorMode: api.ModeHybrid, ForwardTimeout: 1e9, IntegrationTimeout: time.Second,
			MaxRequestBodyBytes: 1 << 10, ConfigCacheTTL: time.Minute},
			api.Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: reg, Gatherer: reg,
				Providers: noProviders{}, SimulatorReports: reports})
		require.NoError(t, err)
		return s
	}
	get := func(s *api.Server, clientID string) *httptest.ResponseRecorder {
		const path = "/api/v1/integration/simulator/download"
		req := httptest.NewRequest(http.MethodGet, path+"?report=accounts&limit=1", nil)
		req.Header.Set("X-Client-Id", clientID)
		req.Header.Set("X-Client-Secret", "secret")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		apitest.CheckResponse(t, http.MethodGet, path, rec.Code, rec.Header(), rec.Body.Bytes())
		return rec
	}
	allowed := client(api.PermissionSimulatorReports)

	t.Run("a client without the permission is refused", func(t *testing.T) {
		rec := get(server(oneReport{}), client("account_balance"))
		require.Equal(t, http.StatusForbidden, rec.Code)
		require.Contains(t, rec.Body.String(), `"permission":"simulator_reports"`)
	})

	t.Run("without simulation there is no report", func(t *testing.T) {
		rec := get(server(nil), allowed)
		require.Equal(t, http.StatusNotFound, rec.Code)
		require.Contains(t, rec.Body.String(), `"error_code":"NOT_FOUND"`)
	})

	t.Run("with simulation and the permission, the CSV", func(t *testing.T) {
		rec := get(server(oneReport{}), allowed)
		require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
		require.Equal(t, "account_number,bank_code\n011001000001,SWYD\n", rec.Body.String())
	})
}
