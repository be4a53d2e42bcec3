package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// fakeOperations stands in for ProviderOperation: each operation takes as many seconds as its
// route's last segment says, and its name says how it ends (ok, declined, broken). It counts how many run at
// once.
type fakeOperations struct {
	running, most int
	inputs        []workflows.OperationInput
	ids           []string
}

func (f *fakeOperations) run(ctx workflow.Context, in workflows.OperationInput) (workflows.OperationResult, error) {
	f.inputs = append(f.inputs, in)
	f.ids = append(f.ids, workflow.GetInfo(ctx).WorkflowExecution.ID)
	f.running++
	f.most = max(f.most, f.running)
	defer func() { f.running-- }()
	seconds, _ := strconv.Atoi(path.Base(in.Route))
	if err := workflow.Sleep(ctx, time.Duration(seconds)*time.Second); err != nil {
		return workflows.OperationResult{}, err
	}
	switch {
	case strings.HasPrefix(in.Operation, "declined"):
		return workflows.OperationResult{CorrelationID: in.CorrelationID, Status: transaction.StatusFailed, HTTPStatus: 404,
			ProviderCode: "ACCOUNT_NOT_FOUND", Message: "no such account"}, nil
	case strings.HasPrefix(in.Operation, "broken"):
		return workflows.OperationResult{}, temporal.NewNonRetryableApplicationError("the provider's answer does not match",
			transaction.ErrTypeProviderInvalidResponse, nil)
	case strings.HasPrefix(in.Operation, "down"):
		return workflows.OperationResult{CorrelationID: in.CorrelationID, Status: transaction.StatusFailed,
			ErrorCode: transaction.ErrorCodeProviderUnavailable, Error: "provider answered 503"}, nil
	}
	return workflows.OperationResult{CorrelationID: in.CorrelationID, Status: transaction.StatusSuccessful, HTTPStatus: 200,
		Body: json.RawMessage(fmt.Sprintf(`{"op":%q}`, in.Operation))}, nil
}

func runBatch(t *testing.T, in workflows.BatchInput, f *fakeOperations) (*testsuite.TestWorkflowEnvironment,
	*[]activities.RecordOutcomeInput) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.RegisterWorkflowWithOptions(f.run, workflow.RegisterOptions{Name: workflows.WorkflowProviderOperation})
	env.OnActivity(a.RecordStart, mock.Anything, mock.Anything).Return(
		func(_ context.Context, rec activities.RecordStartInput) (activities.RecordStartResult, error) {
			require.Equal(t, transaction.KindBatch, rec.Kind)
			require.Equal(t, in.CorrelationID, rec.CorrelationID)
			return activities.RecordStartResult{}, nil
		})
	var outcomes []activities.RecordOutcomeInput
	env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
		func(_ context.Context, o activities.RecordOutcomeInput) error {
			outcomes = append(outcomes, o)
			return nil
		})
	env.ExecuteWorkflow(workflows.Batch, in)
	return env, &outcomes
}

func batchOf(names []string, seconds []int, maxConcurrent int) workflows.BatchInput {
	in := workflows.BatchInput{CorrelationID: "0e0e0e0e-0000-4000-8000-0000000000b1", ClientID: "client-a", Fingerprint: "fp",
		MaxConcurrent: maxConcurrent}
	for i, n := range names {
		in.Operations = append(in.Operations, workflows.BatchOperation{Operation: n, Issuer: "cbs",
			Route: "/api/v1/integration/account/balance/" + strconv.Itoa(seconds[i]), Params: json.RawMessage(`{}`)})
	}
	return in
}

func TestBatch(t *testing.T) {
	t.Run("results come in request order, with at most max_concurrent in flight", func(t *testing.T) {
		f := &fakeOperations{}
		names := []string{"ok-0", "ok-1", "ok-2", "ok-3", "ok-4", "ok-5", "ok-6"}
		in := batchOf(names, []int{7, 1, 5, 2, 6, 3, 1}, 3)
		env, outcomes := runBatch(t, in, f)
		res := result[workflows.BatchResult](t, env)
		require.Equal(t, 3, f.most, "the cap is reached and never passed")
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.Equal(t, 7, res.Total)
		require.Equal(t, 7, res.Succeeded)
		for i, item := range res.Items {
			require.Equal(t, i, item.Index)
			require.Equal(t, names[i], item.Operation)
			require.True(t, item.Success)
			require.JSONEq(t, fmt.Sprintf(`{"op":%q}`, names[i]), string(item.Data))
			require.Equal(t, workflows.BatchItemCorrelationID(in.CorrelationID, i), item.CorrelationID)
		}
		require.Len(t, *outcomes, 1)
		require.Equal(t, transaction.StatusSuccessful, (*outcomes)[0].Status)
		require.Equal(t, transaction.KindBatch, (*outcomes)[0].Kind)
	})

	t.Run("each operation is a keyed child with a deterministic id", func(t *testing.T) {
		f := &fakeOperations{}
		in := batchOf([]string{"ok-a", "ok-b"}, []int{0, 0}, 0)
		env, _ := runBatch(t, in, f)
		result[workflows.BatchResult](t, env)
		require.Len(t, f.inputs, 2)
		started := map[string]workflows.OperationInput{}
		for i, op := range f.inputs {
			require.Equal(t, transaction.WorkflowID(transaction.KindOperation, op.CorrelationID), f.ids[i])
			started[op.CorrelationID] = op
		}
		for i, name := range []string{"ok-a", "ok-b"} {
			op, ok := started[workflows.BatchItemCorrelationID(in.CorrelationID, i)]
			require.True(t, ok, "operation %d started under its own correlation id", i)
			require.Equal(t, name, op.Operation)
			require.True(t, op.Keyed, "a batch run again finds its operations in the log")
			require.Equal(t, "client-a", op.ClientID)
			require.Equal(t, "cbs", op.Issuer)
		}
		require.Equal(t, workflows.BatchItemCorrelationID(in.CorrelationID, 0), workflows.BatchItemCorrelationID(in.CorrelationID, 0))
		require.NotEqual(t, workflows.BatchItemCorrelationID(in.CorrelationID, 0), workflows.BatchItemCorrelationID("other", 0))
	})

	t.Run("a partial failure is a result", func(t *testing.T) {
		f := &fakeOperations{}
		in := batchOf([]string{"ok-0", "declined-1", "broken-2", "down-3"}, []int{1, 1, 1, 1}, 10)
		env, outcomes := runBatch(t, in, f)
		res := result[workflows.BatchResult](t, env)
		require.Equal(t, transaction.StatusFailed, res.Status)
		require.Equal(t, 1, res.Succeeded)
		require.Equal(t, 3, res.Failed)
		require.True(t, res.Items[0].Success)
		require.Equal(t, workflows.BatchItem{Index: 1, Operation: "declined-1", HTTPStatus: 404, ErrorCode: "ACCOUNT_NOT_FOUND",
			Error: "no such account", CorrelationID: res.Items[1].CorrelationID}, res.Items[1])
		require.False(t, res.Items[2].Success)
		require.Equal(t, transaction.ErrorCodeProviderInvalidResponse, res.Items[2].ErrorCode, "the child's error")
		require.Equal(t, transaction.ErrorCodeProviderUnavailable, res.Items[3].ErrorCode)
		require.Equal(t, "3 of 4 operations failed", (*outcomes)[0].Error)
		require.Equal(t, transaction.StatusFailed, (*outcomes)[0].Status)
	})

	t.Run("invalid batches fail at once", func(t *testing.T) {
		for _, in := range []workflows.BatchInput{
			batchOf(nil, nil, 1),
			batchOf([]string{"ok"}, []int{0}, workflows.MaxBatchConcurrent+1),
			{CorrelationID: "c", Operations: []workflows.BatchOperation{{Operation: "ok"}}},
		} {
			env, _ := runBatch(t, in, &fakeOperations{})
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, env.GetWorkflowError(), &appErr)
			require.Equal(t, transaction.ErrTypeInvalidInput, appErr.Type())
		}
	})
}
