package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/transaction"
)

// TestFinishedTransferStatusCarriesItsResult reads a finished transfer's status: the log keeps
// its outcome (references and codes) and the status shows it as the result.
func TestFinishedTransferStatusCarriesItsResult(t *testing.T) {
	from, to := isoAccounts(t, 20)
	r := transfer(t, from, to, "12.00")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	d := r.data(t)
	id := r.Header.Get("X-Correlation-ID")

	status := h.do(t, request{method: "GET", path: "/transactions/" + id + "/"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, status.Status, "%s", status.Body)
	view := status.data(t)
	require.Equal(t, transaction.StatusSuccessful, view["status"])
	result, ok := view["result"].(map[string]any)
	require.True(t, ok, "a finished transfer's status has its result: %s", status.Body)
	require.Equal(t, d["rrn"], result["rrn"])
	require.Equal(t, "00", result["response_code"])
	require.Equal(t, d["auth_code"], result["auth_code"])

	row := h.row(t, id)
	require.Equal(t, transaction.WorkflowID(transaction.KindISO, id), row.WorkflowID)
	require.True(t, row.RequestBodyMasked, "the request's account numbers are masked")
	require.False(t, row.RequestBodyTruncated, "masking is not truncation")
}

// TestIdempotencyKeyWithAnotherRequest: a repeated Idempotency-Key joins the first run only
// with the same request; another request answers 422 and does nothing.
func TestIdempotencyKeyWithAnotherRequest(t *testing.T) {
	from, to := isoAccounts(t, 22)
	key := "contract-" + uuid.NewString()
	first := transfer(t, from, to, "10.00", "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Body)
	balance := ledger(t, from)

	again := transfer(t, from, to, "10.00", "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, again.Status, "%s", again.Body)
	require.Equal(t, first.data(t)["rrn"], again.data(t)["rrn"], "the same request joins the first transfer")

	other := transfer(t, to, from, "10.00", "Idempotency-Key", key)
	require.Equal(t, http.StatusUnprocessableEntity, other.Status, "%s", other.Body)
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", other.errorCode(t))
	require.Equal(t, balance, ledger(t, from), "the refused request moved no money")

	t.Run("for provider operations too", func(t *testing.T) {
		key := "contract-op-" + uuid.NewString()
		r := integration(t, "/account/balance", fmt.Sprintf(`{"account_number":%q}`, from), "Idempotency-Key", key)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		r = integration(t, "/account/balance", fmt.Sprintf(`{"account_number":%q}`, to), "Idempotency-Key", key)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
		require.Equal(t, "IDEMPOTENCY_KEY_REUSED", r.errorCode(t))
	})
}

// TestTwoClientsTransfersNeverShareARun: the same Idempotency-Key from two clients makes two
// transfers, each with its own run and RRN.
func TestTwoClientsTransfersNeverShareARun(t *testing.T) {
	created := h.do(t, request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"contract-b",
		"name":"Contract B","permissions":["iso_transfer"],"is_active":true}`}.asAdmin())
	require.Equal(t, http.StatusCreated, created.Status, "%s", created.Body)
	secret := created.data(t)["client_secret"].(string)

	from, to := isoAccounts(t, 24)
	before := ledger(t, from)
	key := "shared-" + uuid.NewString()
	a := transfer(t, from, to, "1.00", "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, a.Status, "%s", a.Body)
	b := h.do(t, request{method: "POST", path: "/api/v1/iso/transfer",
		body: fmt.Sprintf(`{"from_account":%q,"to_account":%q,"amount":"1.00"}`, from, to)}.
		asClient("contract-b", secret).header("Idempotency-Key", key))
	require.Equal(t, http.StatusOK, b.Status, "%s", b.Body)

	require.NotEqual(t, a.Header.Get("X-Correlation-ID"), b.Header.Get("X-Correlation-ID"))
	require.NotEqual(t, a.data(t)["rrn"], b.data(t)["rrn"])
	require.Equal(t, before-2_00, ledger(t, from), "two transfers were made")
	other := h.do(t, request{method: "GET", path: "/transactions/" + a.Header.Get("X-Correlation-ID") + "/"}.
		asClient("contract-b", secret))
	require.Equal(t, http.StatusNotFound, other.Status, "a client never reads another's transfer")
}
