package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
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
