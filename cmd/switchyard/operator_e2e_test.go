package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/switchyard-hub/switchyard/transaction"
)

// Issue 8, holes 5, 12, 13 and 15: what a hostile provider, an oversized amount and a careless
// operator must not get away with, end to end.

// stanTotal sums every terminal's STAN counter: a transfer that took a STAN moves it.
func stanTotal(t *testing.T) int64 {
	t.Helper()
	var n int64
	require.NoError(t, h.store.DB().Get(&n, `SELECT coalesce(sum(value), 0) FROM iso_stan`))
	return n
}

func TestISOAmountThatOverflowsField4IsRefusedBeforeAnythingStarts(t *testing.T) {
	// Not parallel: it counts transaction rows, STANs and 0200s, which other tests move.
	from, to := isoAccounts(t, 40)
	rows, stans, sent := h.count(t, "transactions"), stanTotal(t), switchStats(t).Financial

	for _, amount := range []string{"999999999999.99", "10000000000.00"} {
		r := transfer(t, from, to, amount)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", amount, r.Body)
		require.Equal(t, "VALIDATION_ERROR", r.errorCode(t))
		require.Equal(t, "amount", r.json(t)["details"].(map[string]any)["field"])
		require.Contains(t, r.json(t)["error"], "amount")
	}
	require.Equal(t, rows, h.count(t, "transactions"), "no transaction row")
	require.Equal(t, stans, stanTotal(t), "no STAN taken")
	require.Equal(t, sent, switchStats(t).Financial, "nothing reached the switch")

	t.Run("the largest amount field 4 holds still passes validation", func(t *testing.T) {
		r := transfer(t, from, to, "9999999999.99")
		require.Equal(t, http.StatusPaymentRequired, r.Status, "packed, sent and declined by the switch: %s", r.Body)
	})
}

func TestHostileProviderAnswerTooLargeToCarryFailsOnce(t *testing.T) {
	// Not parallel: it injects faults into the core banking simulator.
	acct := simAccount(t)
	body := fmt.Sprintf(`{"account_number":%q}`, acct.AccountNumber)
	defer clearFaults(t)

	// 3 MB: under the 4 MB the provider stack used to read, over Temporal's 2 MB payload
	// limit, and kept by the typed response (the account number grows).
	fault(t, `{"target":"cbs","pad_bytes":3000000}`) // until cleared
	r := integration(t, "/account/balance", body)
	require.Equal(t, http.StatusBadGateway, r.Status, "%.300s", r.Body)
	require.Equal(t, transaction.ErrorCodeProviderResponseTooLarge, r.errorCode(t))
	require.Contains(t, r.json(t)["error"], "PROVIDER_MAX_RESPONSE_BYTES")
	require.EqualValues(t, 1, r.json(t)["details"].(map[string]any)["attempts"])
	id := r.Header.Get("X-Correlation-ID")

	row := h.row(t, id)
	require.Equal(t, transaction.StatusFailed, row.Status, "the log never says successful")
	require.Equal(t, transaction.ErrorCodeProviderResponseTooLarge, row.ErrorCode)
	d, err := h.temporal.DescribeWorkflowExecution(context.Background(),
		transaction.WorkflowID(transaction.KindOperation, id), "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, d.GetWorkflowExecutionInfo().GetStatus(),
		"the run finished: no workflow task failing over and over")
	time.Sleep(time.Second) // a wedged run would go on calling the provider
	rows := audit(t, id)
	require.Len(t, rows, 1, "the provider was called once")
	require.Equal(t, "too_large", rows[0].Outcome)
	st := h.do(t, request{method: "GET", path: "/transactions/" + id + "/"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, st.Status, "%.300s", st.Body)
	require.Equal(t, transaction.StatusFailed, st.data(t)["status"])

	t.Run("a large answer under the limit is served", func(t *testing.T) {
		clearFaults(t)
		fault(t, `{"target":"cbs","pad_bytes":200000,"count":1}`)
		r := integration(t, "/account/balance", body)
		require.Equal(t, http.StatusOK, r.Status, "%.300s", r.Body)
		require.Len(t, r.data(t)["account_number"], len(acct.AccountNumber)+200000)
	})
}

func TestAPIRefusesAShortAdminTokenOutsideDevelopment(t *testing.T) {
	// Not parallel: it sets the environment.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Setenv("API_ADDR", "127.0.0.1:0")
	for _, token := range []string{"change-me", "dev-admin-token", strings.Repeat("x", 31)} {
		t.Setenv("ADMIN_TOKEN", token)
		e, err := loadEnv()
		require.NoError(t, err)
		// Bounded: an API that did start would serve until the context ends.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = runAPI(ctx, e, quiet)
		cancel()
		require.ErrorContains(t, err, "ADMIN_TOKEN", "`switchyard api` refuses to start")
		require.NotContains(t, err.Error(), token)
	}

	t.Run("/ready tells the public only ok or unavailable", func(t *testing.T) {
		for _, r := range []request{{method: "GET", path: "/ready"}, request{method: "GET", path: "/ready"}.asAdmin()} {
			ready := h.do(t, r)
			require.Equal(t, http.StatusOK, ready.Status, "%s", ready.Body)
			for name, check := range ready.json(t)["checks"].(map[string]any) {
				require.Equal(t, map[string]any{"status": "ok"}, check, name)
			}
		}
	})
}
