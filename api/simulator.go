package api

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// PermissionSimulatorReports lets a client download the simulators' reports.
const PermissionSimulatorReports = "simulator_reports"

// SimulatorReports exports the simulated core banking system's tables as rows of strings,
// header first; sim.Store satisfies it. The API gets one only while simulation is on.
type SimulatorReports interface {
	Export(ctx context.Context, report string, limit int, emit func(row []string) error) error
}

// simulatorDownload serves the simulated core banking report as CSV:
// ?report=transactions|customers|accounts&limit=1..10000. Without simulation there is nothing
// to report: 404.
func (s *Server) simulatorDownload(c *gin.Context) {
	if s.reports == nil {
		writeError(c, newError(http.StatusNotFound, CodeNotFound,
			"no simulator reports: the core banking system is not simulated (CBS_SIMULATE, ISO_SIMULATE)"))
		return
	}
	report := c.DefaultQuery("report", "transactions")
	if report != "transactions" && report != "customers" && report != "accounts" {
		writeError(c, fieldError("report", "must be transactions, customers or accounts"))
		return
	}
	limit := 1000
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(c, fieldError("limit", "must be 1 to 10000"))
			return
		}
		limit = n
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="cbs-%s.csv"`, report))
	w := csv.NewWriter(c.Writer)
	started := false
	err := s.reports.Export(c.Request.Context(), report, limit, func(row []string) error {
		if !started {
			c.Status(http.StatusOK)
			started = true
		}
		return w.Write(row)
	})
	w.Flush()
	if err != nil && !started {
		c.Header("Content-Type", "application/json")
		c.Header("Content-Disposition", "")
		writeError(c, err)
	}
}
