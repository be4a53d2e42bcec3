package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

func operationInput() workflows.OperationInput {
	return workflows.OperationInput{CorrelationID: "0e0e0e0e-0000-4000-8000-000000000002", ClientID: "client-a",
		Operation: "account_balance", Issuer: "cbs", Route: "/api/v1/integration/account/balance",
		Params: json.RawMessage(`{"account_number":"0110010000001"}`)}
}

// issuerPolicy is what the worker resolves for the operation's issuer.
var issuerPolicy = transaction.AttemptPolicy{Timeout: 10 * time.Second,
	Retry: transaction.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, BackoffCoefficient: 2, MaxInterval: 5 * time.Second}}

// scriptedProvider answers CallProvider per attempt: an error type, or "" for success, or "404".
type scriptedProvider struct {
	script []string
	calls  int
}

func (p *scriptedProvider) call(ctx context.Context, in activities.OperationCall) (activities.OperationAnswer, error) {
	step := p.script[min(p.calls, len(p.script)-1)]
	p.calls++
	attempt := activity.GetInfo(ctx).Attempt
	switch step {
	case "":
		return activities.OperationAnswer{Status: 200, Body: json.RawMessage(`{"balance":"10.00"}`), Attempt: attempt}, nil
	case "404":
		return activities.OperationAnswer{Status: 404, ProviderCode: "ACCOUNT_NOT_FOUND", Message: "no such account",
			Attempt: attempt}, nil
	}
	return activities.OperationAnswer{}, temporal.NewApplicationErrorWithOptions("provider says "+step, step,
		temporal.ApplicationErrorOptions{NonRetryable: step == transaction.ErrTypeCircuitOpen,
			Details: []any{activities.OperationFailure{Attempt: attempt}}})
}

func runOperation(t *testing.T, p *scriptedProvider, in workflows.OperationInput) (workflows.OperationResult, []string) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.OnActivity(a.OperationPolicy, mock.Anything, mock.Anything).Return(issuerPolicy, nil)
	var statuses []string
	env.OnActivity(a.RecordStart, mock.Anything, mock.Anything).Return(activities.RecordStartResult{}, nil)
	env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordOutcomeInput) error {
			statuses = append(statuses, in.Status)
			require.Equal(t, transaction.KindOperation, in.Kind)
			return nil
		})
	env.OnActivity(a.CallProvider, mock.Anything, mock.Anything).Return(p.call)
	env.ExecuteWorkflow(workflows.ProviderOperation, in)
	require.True(t, env.IsWorkflowCompleted())
	if err := env.GetWorkflowError(); err != nil {
		return workflows.OperationResult{}, []string{err.Error()}
	}
	var res workflows.OperationResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res, statuses
}

func TestProviderOperation(t *testing.T) {
	t.Run("the typed answer is the result", func(t *testing.T) {
		res, statuses := runOperation(t, &scriptedProvider{script: []string{""}}, operationInput())
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.JSONEq(t, `{"balance":"10.00"}`, string(res.Body))
		require.Equal(t, 1, res.Attempts)
		require.Equal(t, []string{transaction.StatusSuccessful}, statuses)
	})

	t.Run("a provider's 4xx is a result, not retried", func(t *testing.T) {
		p := &scriptedProvider{script: []string{"404"}}
		res, _ := runOperation(t, p, operationInput())
		require.Equal(t, 1, p.calls)
		require.Equal(t, transaction.StatusFailed, res.Status)
		require.Equal(t, 404, res.HTTPStatus)
		require.Equal(t, "ACCOUNT_NOT_FOUND", res.ProviderCode)
		require.Empty(t, res.ErrorCode)
	})

	t.Run("unavailability is retried under the issuer's policy", func(t *testing.T) {
		p := &scriptedProvider{script: []string{transaction.ErrTypeProviderUnavailable, transaction.ErrTypeProviderTimeout, ""}}
		res, _ := runOperation(t, p, operationInput())
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.Equal(t, 3, res.Attempts)
	})

	t.Run("an exhausted budget ends failed with the hub's code", func(t *testing.T) {
		p := &scriptedProvider{script: []string{transaction.ErrTypeProviderTimeout}}
		res, _ := runOperation(t, p, operationInput())
		require.Equal(t, 3, p.calls)
		require.Equal(t, transaction.StatusFailed, res.Status)
		require.Equal(t, transaction.ErrorCodeProviderTimeout, res.ErrorCode)
	})

	t.Run("an open breaker fails fast", func(t *testing.T) {
		p := &scriptedProvider{script: []string{transaction.ErrTypeCircuitOpen}}
		res, _ := runOperation(t, p, operationInput())
		require.Equal(t, 1, p.calls)
		require.Equal(t, transaction.ErrorCodeCircuitOpen, res.ErrorCode)
	})

	t.Run("invalid input fails the workflow with a typed error", func(t *testing.T) {
		in := operationInput()
		in.ClientID = ""
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		env.RegisterActivity(a)
		env.ExecuteWorkflow(workflows.ProviderOperation, in)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(env.GetWorkflowError(), &appErr))
		require.Equal(t, transaction.ErrTypeInvalidInput, appErr.Type())
	})
}

func TestProviderOperationStartedBeforeWorkersOwnedThePolicy(t *testing.T) {
	// A run recorded before the worker resolved the issuer's policy carries it in its input
	// and never asks the worker.
	in := operationInput()
	in.Retry, in.AttemptTimeout = transaction.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Second, BackoffCoefficient: 2}, 15*time.Second
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.OnGetVersion("worker-owned-policy", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.OnActivity(a.RecordStart, mock.Anything, mock.Anything).Return(activities.RecordStartResult{}, nil)
	env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(nil)
	p := &scriptedProvider{script: []string{transaction.ErrTypeProviderUnavailable}}
	env.OnActivity(a.CallProvider, mock.Anything, mock.Anything).Return(p.call)
	env.ExecuteWorkflow(workflows.ProviderOperation, in)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 2, p.calls, "the input's policy: two attempts")
	env.AssertNotCalled(t, "OperationPolicy", mock.Anything, mock.Anything)
}

// TestProviderOperationLogsOnce checks the log writes of a LogOnce operation: one row written
// with the outcome when nothing waits; the start before the first backoff when something does.
func TestProviderOperationLogsOnce(t *testing.T) {
	writes := func(t *testing.T, script []string, keyed bool) (workflows.OperationResult, []string) {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		env.RegisterActivity(a)
		env.OnActivity(a.OperationPolicy, mock.Anything, mock.Anything).Return(issuerPolicy, nil)
		var got []string
		env.OnActivity(a.RecordStart, mock.Anything, mock.Anything).Return(
			func(context.Context, activities.RecordStartInput) (activities.RecordStartResult, error) {
				got = append(got, "start")
				return activities.RecordStartResult{}, nil
			})
		env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.RecordOutcomeInput) error {
				got = append(got, in.Status)
				return nil
			})
		env.OnActivity(a.RecordFinished, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.RecordFinishedInput) error {
				require.Equal(t, transaction.KindOperation, in.Start.Kind)
				require.Equal(t, "/api/v1/integration/account/balance", in.Start.Request.Path)
				got = append(got, "finished:"+in.Outcome.Status)
				return nil
			})
		env.OnActivity(a.CallProvider, mock.Anything, mock.Anything).Return((&scriptedProvider{script: script}).call)
		in := operationInput()
		in.LogOnce, in.Keyed = true, keyed
		env.ExecuteWorkflow(workflows.ProviderOperation, in)
		require.True(t, env.IsWorkflowCompleted())
		require.NoError(t, env.GetWorkflowError())
		var res workflows.OperationResult
		require.NoError(t, env.GetWorkflowResult(&res))
		return res, got
	}
	res, got := writes(t, []string{""}, false)
	require.Equal(t, transaction.StatusSuccessful, res.Status)
	require.Equal(t, []string{"finished:" + transaction.StatusSuccessful}, got)

	res, got = writes(t, []string{"404"}, false)
	require.Equal(t, transaction.StatusFailed, res.Status)
	require.Equal(t, []string{"finished:" + transaction.StatusFailed}, got)

	res, got = writes(t, []string{transaction.ErrTypeProviderUnavailable, ""}, false)
	require.Equal(t, transaction.StatusSuccessful, res.Status)
	require.Equal(t, 2, res.Attempts)
	require.Equal(t, []string{"start", transaction.StatusSuccessful}, got)

	_, got = writes(t, []string{""}, true)
	require.Equal(t, []string{"start", transaction.StatusSuccessful}, got, "a keyed operation looks for its key first")
}
