package main

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
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

// TestIdempotencyKeyAcrossKinds: one key used on a proxied request and on a transfer names two
// transactions; neither touches the other's log row.
func TestIdempotencyKeyAcrossKinds(t *testing.T) {
	key := "cross-" + uuid.NewString()
	proxied := h.do(t, request{method: "POST", path: "/integrations/teachers", body: `{"teacher_id":"T-cross"}`}.
		asClient(demoClient, demoSecret).header("Idempotency-Key", key))
	require.Equal(t, http.StatusOK, proxied.Status, "%s", proxied.Body)
	from, to := isoAccounts(t, 26)
	before := ledger(t, from)
	moved := transfer(t, from, to, "3.00", "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, moved.Status, "%s", moved.Body)

	proxyID, transferID := proxied.Header.Get("X-Correlation-ID"), moved.Header.Get("X-Correlation-ID")
	require.NotEqual(t, proxyID, transferID)
	require.Equal(t, transaction.KindProxy, h.row(t, proxyID).Kind)
	require.EqualValues(t, 200, h.row(t, proxyID).ResponseStatus.Int32, "the proxy's log row keeps its own outcome")
	require.Equal(t, transaction.KindISO, h.row(t, transferID).Kind)
	require.Equal(t, before-3_00, ledger(t, from))
}

// TestTransferRepeatAfterHistoryIsGone: a transfer logged by an earlier run that Temporal no
// longer holds (retention removed it) is answered from the log when its key comes again, and
// nothing is sent to the switch; another request under the key answers 422.
func TestTransferRepeatAfterHistoryIsGone(t *testing.T) {
	from, to := isoAccounts(t, 28)
	key := "gone-" + uuid.NewString()
	route := api.ISOBase + "/transfer"
	id := api.KeyedCorrelationID(demoClient, transaction.KindISO, route, key)
	// The earlier run: the same transfer, logged under the key's correlation id by a run whose
	// workflow ID is free again (as when retention has removed it).
	first := earlierTransfer(t, "earlier-"+id, id, from, to, 4_00)
	balance := ledger(t, from)

	other := transfer(t, from, to, "5.00", "Idempotency-Key", key)
	require.Equal(t, http.StatusUnprocessableEntity, other.Status, "%s", other.Body)
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", other.errorCode(t))

	sent := switchStats(t)
	again := transfer(t, from, to, "4.00", "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, again.Status, "%s", again.Body)
	require.Equal(t, id, again.Header.Get("X-Correlation-ID"))
	require.Equal(t, first.RRN, again.data(t)["rrn"], "the stored outcome answers")
	require.Equal(t, first.AuthCode, again.data(t)["auth_code"])
	require.Equal(t, balance, ledger(t, from), "no second 0200 moved money")
	require.Equal(t, sent.Financial, switchStats(t).Financial, "no 0200 reached the switch")
}

// TestOperationRepeatAfterHistoryIsGone: an operation logged under a key by a run Temporal no
// longer holds answers its stored outcome when the key comes again; the provider is not called.
func TestOperationRepeatAfterHistoryIsGone(t *testing.T) {
	account := simAccount(t)
	key := "gone-op-" + uuid.NewString()
	route := api.IntegrationBase + "/account/balance"
	id := api.KeyedCorrelationID(demoClient, transaction.KindOperation, route, key)
	params := fmt.Sprintf(`{"account_number":%q}`, account.AccountNumber)
	earlier, err := h.temporal.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{
		ID: "earlier-" + id, TaskQueue: workflows.TaskQueueIntegration}, workflows.WorkflowProviderOperation,
		workflows.OperationInput{CorrelationID: id, ClientID: demoClient, Operation: "account_balance", Issuer: "cbs",
			Route: route, Params: []byte(params), Keyed: true,
			Fingerprint: transaction.Fingerprint(transaction.KindOperation, http.MethodPost, route, []byte(params))})
	require.NoError(t, err)
	var first workflows.OperationResult
	require.NoError(t, earlier.Get(t.Context(), &first))
	require.Equal(t, transaction.StatusSuccessful, first.Status)
	calls := len(audit(t, id))

	again := integration(t, "/account/balance", params, "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, again.Status, "%s", again.Body)
	require.Equal(t, id, again.Header.Get("X-Correlation-ID"))
	require.Len(t, audit(t, id), calls, "the provider was not called again")
}

// TestKeysFromBeforeScopingStillFindTheirTransaction: a transfer logged under the correlation
// id the previous release derived (client and key) is found by its key after the upgrade.
func TestKeysFromBeforeScopingStillFindTheirTransaction(t *testing.T) {
	from, to := isoAccounts(t, 30)
	key := "legacy-" + uuid.NewString()
	legacy := api.KeyedCorrelationID(demoClient, "", "", key)
	first := earlierTransfer(t, transaction.LegacyTransferWorkflowID(legacy), legacy, from, to, 2_00)
	balance := ledger(t, from)

	again := transfer(t, from, to, "2.00", "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, again.Status, "%s", again.Body)
	require.Equal(t, legacy, again.Header.Get("X-Correlation-ID"))
	require.Equal(t, first.RRN, again.data(t)["rrn"])
	require.Equal(t, balance, ledger(t, from), "the repeat moved no money")
}

// earlierTransfer runs a transfer of the demo client under workflowID and correlation id id, as
// an earlier run would have, and returns its approved result.
func earlierTransfer(t *testing.T, workflowID, id, from, to string, amount int64) workflows.TransferResult {
	t.Helper()
	route := api.ISOBase + "/transfer"
	run, err := h.temporal.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: workflowID,
		TaskQueue: workflows.TaskQueueISO}, workflows.WorkflowCardTransfer,
		workflows.TransferInput{CorrelationID: id, ClientID: demoClient, FromAccount: from, ToAccount: to, Amount: amount,
			Fingerprint: transaction.Fingerprint(transaction.KindISO, http.MethodPost, route,
				[]byte(from+"\x00"+to+"\x00"+strconv.FormatInt(amount, 10)))})
	require.NoError(t, err)
	var res workflows.TransferResult
	require.NoError(t, run.Get(t.Context(), &res))
	require.Equal(t, transaction.StatusSuccessful, res.Status)
	return res
}
