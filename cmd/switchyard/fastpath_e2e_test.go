package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/transaction"
)

// fastPathShape counts what a finished run cost the server: local activity markers, version
// markers, search-attribute upserts.
type fastPathShape struct{ markers, versions, upserts int }

func shapeOf(t *testing.T, workflowID string) fastPathShape {
	t.Helper()
	var s fastPathShape
	for _, e := range storedHistory(t, workflowID).GetEvents() {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if e.GetMarkerRecordedEventAttributes().GetMarkerName() == "Version" {
				s.versions++
			} else {
				s.markers++
			}
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			s.upserts++
		}
	}
	return s
}

// requireOneWrite checks a run logged its transaction with RecordFinished alone: its local
// activity markers (decoded, as an operator reads them) name no other log write.
func requireOneWrite(t *testing.T, workflowID string) {
	t.Helper()
	history := historyText(t, workflowID)
	require.Contains(t, history, "RecordFinished")
	require.NotContains(t, history, "RecordStart")
	require.NotContains(t, history, "RecordOutcome")
}

// TestFastPathWritesOnce: a request that never waits is logged in one write (RecordFinished,
// never RecordStart and RecordOutcome) that keeps its arrival time, and its run records one
// search-attribute upsert, the final status, and no version marker.
func TestFastPathWritesOnce(t *testing.T) {
	t.Parallel()
	t.Run("a proxied request", func(t *testing.T) {
		r := h.do(t, request{method: "GET", path: "/demo/env/ping"}.asClient(demoClient, demoSecret))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		id := r.Header.Get("X-Correlation-ID")
		row := h.row(t, id)
		require.Equal(t, transaction.StatusSuccessful, row.Status)
		require.True(t, row.CompletedAt.Valid)
		require.False(t, row.CreatedAt.After(row.CompletedAt.Time), "created_at is when it arrived")
		require.NotEmpty(t, row.RequestHeaders)
		requireOneWrite(t, "tx:"+id)
		require.Equal(t, fastPathShape{markers: 2, upserts: 1}, shapeOf(t, "tx:"+id), "forward and log, one upsert")
	})

	t.Run("a provider operation", func(t *testing.T) {
		from, _ := isoAccounts(t, 34)
		r := integration(t, "/account/balance", fmt.Sprintf(`{"account_number":%q}`, from))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		id := r.Header.Get("X-Correlation-ID")
		row := h.row(t, id)
		require.Equal(t, transaction.StatusSuccessful, row.Status)
		require.True(t, row.ResponseBodyMasked || len(row.ResponseBody) > 0)
		requireOneWrite(t, transaction.WorkflowID(transaction.KindOperation, id))
		shape := shapeOf(t, transaction.WorkflowID(transaction.KindOperation, id))
		require.Zero(t, shape.versions, "no version marker")
		require.Equal(t, 1, shape.upserts)
	})

	t.Run("a card transfer has no version markers", func(t *testing.T) {
		from, to := isoAccounts(t, 36)
		r := transfer(t, from, to, "1.00")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		id := r.Header.Get("X-Correlation-ID")
		shape := shapeOf(t, transaction.WorkflowID(transaction.KindISO, id))
		require.Zero(t, shape.versions, "no version marker")
		require.Equal(t, 1, shape.upserts)
		require.Equal(t, transaction.StatusSuccessful, h.row(t, id).Status, "logged before the send, finished after")
	})

	t.Run("a request that waits is logged before it waits", func(t *testing.T) {
		h.fixture(t, "fastpath-wait", "", `{"path_pattern":"/e2e/fastpath-wait","methods":["GET"],"retry_policy":`+
			`{"max_attempts": 2, "initial_interval": "2s", "backoff_coefficient": 2, "max_interval": "2s"}}`)
		r := h.do(t, request{method: "GET", path: "/e2e/fastpath-wait?async=true"}.asClient(demoClient, demoSecret).
			header(sim.HeaderStatus, "503", sim.HeaderFailTimes, "1"))
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
		id := r.data(t)["correlation_id"].(string)
		require.Eventually(t, func() bool {
			row, err := h.store.GetTransaction(context.Background(), id)
			return err == nil && row.Status == transaction.StatusProcessing
		}, 2*time.Second, 20*time.Millisecond, "the row is written while the retry waits")
		h.waitStatus(t, id, transaction.StatusSuccessful)
		row := h.row(t, id)
		require.Equal(t, 2, row.Attempts)
		require.True(t, row.UpdatedAt.After(row.CreatedAt))
	})
}
