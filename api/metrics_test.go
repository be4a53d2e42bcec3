package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestMetricsNeverLabelAClientsMethod(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newHTTPMetrics(reg)
	require.NoError(t, err)
	var logs bytes.Buffer
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(requestID(slog.New(slog.NewJSONHandler(&logs, nil))), m.observe)
	r.NoRoute(func(c *gin.Context) { c.Status(http.StatusNotFound) })

	long := strings.Repeat("A", 100<<10)
	for _, method := range []string{"GET", "PATCH", "PURGE", long, long + "B"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, "/x", nil))
	}

	families, err := reg.Gather()
	require.NoError(t, err)
	methods := map[string]bool{}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "method" {
					methods[truncate(l.GetValue(), 20)] = true
				}
			}
		}
	}
	require.Equal(t, map[string]bool{"GET": true, "PATCH": true, "OTHER": true}, methods,
		"unknown methods share one label value")
	require.False(t, strings.Contains(logs.String(), strings.Repeat("A", maxLoggedMethod+1)), "logs keep a method's first bytes only")
	require.Contains(t, logs.String(), `"method":"`+strings.Repeat("A", maxLoggedMethod)+`"`)
}
