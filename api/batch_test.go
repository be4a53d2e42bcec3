package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

const batchPath = "/api/v1/integration/batch/"

// describedBatch is how Temporal describes a batch run: its memo and status.
func describedBatch(t *testing.T, workflowID, runID string, memo transaction.Memo,
	status enums.WorkflowExecutionStatus) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(memo)
	require.NoError(t, err)
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &common.WorkflowExecution{WorkflowId: workflowID, RunId: runID}, Status: status,
		Memo: &common.Memo{Fields: map[string]*common.Payload{transaction.MemoKey: p}}}}
}

func balance(account string) map[string]any {
	return map[string]any{"operation": provider.OpAccountBalance, "data": map[string]any{"account_number": account}}
}

func TestBatchIsCheckedItemByItemBeforeAnythingStarts(t *testing.T) {
	h := newHub(t, api.Config{MaxRequestBodyBytes: api.MaxRequestBodyCeiling})
	who := h.client(provider.OpAccountBalance, provider.OpSendSMS)
	h.onStart(nil)

	for _, tc := range []struct {
		name  string
		body  any
		code  int
		field string
		index any
	}{
		{"no operations", map[string]any{"operations": []any{}}, 400, "operations", nil},
		{"too many", map[string]any{"operations": func() []any {
			ops := make([]any, workflows.MaxBatchOperations+1)
			for i := range ops {
				ops[i] = balance("12345678")
			}
			return ops
		}()}, 400, "operations", nil},
		{"max_concurrent 0", map[string]any{"operations": []any{balance("12345678")}, "max_concurrent": 0}, 400, "max_concurrent", nil},
		{"max_concurrent 51", map[string]any{"operations": []any{balance("12345678")}, "max_concurrent": 51}, 400, "max_concurrent", nil},
		{"an unknown operation", map[string]any{"operations": []any{balance("12345678"), balance("12345679"),
			map[string]any{"operation": "launch_rocket", "data": map[string]any{}}}}, 400, "operations[2].operation", 2},
		{"a missing operation", map[string]any{"operations": []any{map[string]any{"data": map[string]any{}}}}, 400,
			"operations[0].operation", 0},
		{"an invalid request", map[string]any{"operations": []any{balance("12345678"), balance("12ab")}}, 400,
			"operations[1].data.account_number", 1},
		{"an unknown field", map[string]any{"operations": []any{map[string]any{"operation": provider.OpSendSMS,
			"data": map[string]any{"to": "+255700000001", "message": "hi", "color": "red"}}}}, 400, "operations[0].data.color", 0},
		{"an operation the client may not run", map[string]any{"operations": []any{balance("12345678"),
			map[string]any{"operation": provider.OpSendEmail, "data": map[string]any{}}}}, 403, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := h.do("POST", batchPath, who, tc.body)
			require.Equal(t, tc.code, a.code, a.raw)
			d := a.details()
			if tc.field != "" {
				require.Equal(t, tc.field, d["field"], a.raw)
			}
			if tc.index != nil {
				require.EqualValues(t, tc.index, d["index"], a.raw)
				require.Contains(t, a.body["error"], fmt.Sprintf("operations[%d]", tc.index))
			}
		})
	}
	require.Empty(t, h.started(), "nothing starts while an item is invalid")
	require.Equal(t, http.StatusUnauthorized, h.do("POST", batchPath, "", map[string]any{"operations": []any{balance("12345678")}}).code)
}

func TestBatchRunsAsOneWorkflowAndAnswersInRequestOrder(t *testing.T) {
	h := newHub(t, api.Config{})
	who := h.client(provider.OpAccountBalance, provider.OpSendSMS)
	other := h.client("*")
	sms := map[string]any{"operation": provider.OpSendSMS, "data": map[string]any{"to": "+255700000001", "message": "hi"}}

	t.Run("done within the wait: 200 with every outcome, a partial failure included", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, input any) (client.WorkflowRun, error) {
			in := input.(workflows.BatchInput)
			return fakeRun{id: opts.ID, result: workflows.BatchResult{CorrelationID: in.CorrelationID,
				Status: transaction.StatusFailed, Total: 3, Succeeded: 2, Failed: 1, Items: []workflows.BatchItem{
					{Index: 2, Operation: provider.OpSendSMS, Success: true, HTTPStatus: 200, Data: json.RawMessage(`{"message_id":"m-1"}`)},
					{Index: 0, Operation: provider.OpAccountBalance, Success: true, HTTPStatus: 200, Data: json.RawMessage(`{"balance":"10.00"}`)},
					{Index: 1, Operation: provider.OpAccountBalance, HTTPStatus: 404, Error: "no such account"},
				}}}, nil
		})
		a := h.do("POST", batchPath, who, map[string]any{"operations": []any{balance("12345678"), balance("87654321"), sms},
			"max_concurrent": 2})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		s := h.started()
		require.Len(t, s, 1)
		require.Equal(t, workflows.WorkflowBatch, s[0].workflowType)
		require.Equal(t, workflows.TaskQueueIntegration, s[0].opts.TaskQueue)
		in := s[0].input.(workflows.BatchInput)
		require.Equal(t, transaction.WorkflowID(transaction.KindBatch, in.CorrelationID), s[0].opts.ID)
		require.Equal(t, 2, in.MaxConcurrent)
		require.Equal(t, who, in.ClientID)
		require.NotEmpty(t, in.Fingerprint)
		require.Len(t, in.Operations, 3)
		require.Equal(t, workflows.BatchOperation{Operation: provider.OpAccountBalance, Issuer: provider.IssuerCBS,
			Route: "/api/v1/integration/account/balance", Params: json.RawMessage(`{"account_number":"87654321"}`)}, in.Operations[1])
		memo := s[0].opts.Memo[transaction.MemoKey].(transaction.Memo)
		require.Equal(t, transaction.KindBatch, memo.Kind)

		d := a.data()
		require.Equal(t, in.CorrelationID, d["batch_id"])
		require.Equal(t, "failed", d["status"])
		require.EqualValues(t, 2, d["succeeded"])
		results := d["results"].([]any)
		require.Len(t, results, 3)
		for i, r := range results {
			require.EqualValues(t, i, r.(map[string]any)["index"], "request order")
		}
		require.Equal(t, map[string]any{"balance": "10.00"}, results[0].(map[string]any)["data"])
		require.Equal(t, map[string]any{"code": "NOT_FOUND", "message": "no such account"}, results[1].(map[string]any)["error"])
		require.Equal(t, in.CorrelationID, a.header.Get("X-Correlation-ID"))
	})

	t.Run("max_concurrent defaults to 10", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, result: workflows.BatchResult{Status: transaction.StatusSuccessful}}, nil
		})
		a := h.do("POST", batchPath, who, map[string]any{"operations": []any{sms}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, workflows.DefaultBatchConcurrent, h.started()[0].input.(workflows.BatchInput).MaxConcurrent)
	})

	t.Run("longer than the wait, or async: 202 with where to poll", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, never: true}, nil
		})
		a := h.do("POST", batchPath, who, map[string]any{"operations": []any{sms}})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		id := a.data()["batch_id"].(string)
		require.Equal(t, "processing", a.data()["status"])
		require.Equal(t, batchPath+id+"/", a.data()["status_url"])
		require.Equal(t, batchPath+id+"/", a.header.Get("Location"))

		a = h.do("POST", batchPath+"?async=true", who, map[string]any{"operations": []any{sms}})
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
	})

	t.Run("an Idempotency-Key names the batch; reused with another batch it is refused", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, result: workflows.BatchResult{Status: transaction.StatusSuccessful}}, nil
		})
		first := h.do("POST", batchPath, who, map[string]any{"operations": []any{sms}}, "Idempotency-Key", "nightly-1")
		again := h.do("POST", batchPath, who, map[string]any{"operations": []any{sms}}, "Idempotency-Key", "nightly-1")
		require.Equal(t, http.StatusOK, first.code, first.raw)
		require.Equal(t, first.data()["batch_id"], again.data()["batch_id"])
		theirs := h.do("POST", batchPath, other, map[string]any{"operations": []any{sms}}, "Idempotency-Key", "nightly-1")
		require.NotEqual(t, first.data()["batch_id"], theirs.data()["batch_id"])

		id := first.data()["batch_id"].(string)
		workflowID := transaction.WorkflowID(transaction.KindBatch, id)
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "run-1")
		})
		h.temporal.On("DescribeWorkflowExecution", mock.Anything, workflowID, "run-1").Return(describedBatch(t, workflowID,
			"run-1", transaction.Memo{Kind: transaction.KindBatch, ClientID: who, Fingerprint: "another batch"},
			enums.WORKFLOW_EXECUTION_STATUS_RUNNING), nil)
		a := h.do("POST", batchPath, who, map[string]any{"operations": []any{sms, sms}}, "Idempotency-Key", "nightly-1")
		require.Equal(t, http.StatusUnprocessableEntity, a.code, a.raw)
		require.Equal(t, api.CodeIdempotencyKeyReused, a.errorCode())
	})
}

func TestBatchStatusIsTheOwnersOnly(t *testing.T) {
	h := newHub(t, api.Config{})
	who, other := h.client(provider.OpSendSMS), h.client(provider.OpSendSMS)
	id := uuid.NewString()
	workflowID := transaction.WorkflowID(transaction.KindBatch, id)
	memo := transaction.Memo{Kind: transaction.KindBatch, ClientID: who}

	require.Equal(t, http.StatusNotFound, h.do("GET", batchPath+"not-a-uuid/", who, nil).code)
	missing := uuid.NewString()
	h.temporal.On("DescribeWorkflowExecution", mock.Anything, transaction.WorkflowID(transaction.KindBatch, missing), "").Return(
		nil, serviceerror.NewNotFound("workflow not found"))
	require.Equal(t, http.StatusNotFound, h.do("GET", batchPath+missing+"/", who, nil).code)

	h.temporal.On("DescribeWorkflowExecution", mock.Anything, workflowID, "").Return(
		describedBatch(t, workflowID, "run-1", memo, enums.WORKFLOW_EXECUTION_STATUS_RUNNING), nil).Twice()
	a := h.do("GET", batchPath+id+"/", who, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	require.Equal(t, "processing", a.data()["status"])
	require.Equal(t, http.StatusNotFound, h.do("GET", batchPath+id, other, nil).code, "another client's batch")

	h.temporal.On("DescribeWorkflowExecution", mock.Anything, workflowID, "").Return(
		describedBatch(t, workflowID, "run-1", memo, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED), nil)
	h.temporal.On("GetWorkflow", mock.Anything, workflowID, "run-1").Return(fakeRun{id: workflowID,
		result: workflows.BatchResult{CorrelationID: id, Status: transaction.StatusSuccessful, Total: 1, Succeeded: 1,
			Items: []workflows.BatchItem{{Index: 0, Operation: provider.OpSendSMS, Success: true, HTTPStatus: 200,
				Data: json.RawMessage(`{"message_id":"m-9"}`)}}}})
	a = h.do("GET", batchPath+id+"/", who, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	require.Equal(t, "successful", a.data()["status"])
	require.Equal(t, map[string]any{"message_id": "m-9"}, a.data()["results"].([]any)[0].(map[string]any)["data"])
}
