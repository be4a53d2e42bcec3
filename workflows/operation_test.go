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

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/workflows"
)

func operationInput() workflows.OperationInput {
	return workflows.OperationInput{CorrelationID: "0e0e0e0e-0000-4000-8000-000000000002", ClientID: "client-a",
		Operation: "account_balance", Issuer: "cbs", Route: "/api/v1/integration/account/balance",
		Params:         json.RawMessage(`{"account_number":"0110010000001"}`),
		Retry:          activities.RetrySettings{MaxAttempts: 3, InitialInterval: time.Second, BackoffCoefficient: 2, MaxInterval: 5 * time.Second},
		AttemptTimeout: 15 * time.Second}
}

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
		temporal.ApplicationErrorOptions{NonRetryable: step == activities.ErrTypeCircuitOpen,
			Details: []any{activities.OperationFailure{Attempt: attempt}}})
}

func runOperation(t *testing.T, p *scriptedProvider, in workflows.OperationInput) (workflows.OperationResult, []string) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	var statuses []string
	env.OnActivity(a.RecordStart, mock.Anything, mock.Anything).Return(activities.RecordStartResult{}, nil)
	env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordOutcomeInput) error {
			statuses = append(statuses, in.Status)
			require.Equal(t, schema.TxKindOperation, in.Kind)
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
		require.Equal(t, schema.TxSuccessful, res.Status)
		require.JSONEq(t, `{"balance":"10.00"}`, string(res.Body))
		require.Equal(t, 1, res.Attempts)
		require.Equal(t, []string{schema.TxSuccessful}, statuses)
	})

	t.Run("a provider's 4xx is a result, not retried", func(t *testing.T) {
		p := &scriptedProvider{script: []string{"404"}}
		res, _ := runOperation(t, p, operationInput())
		require.Equal(t, 1, p.calls)
		require.Equal(t, schema.TxFailed, res.Status)
		require.Equal(t, 404, res.HTTPStatus)
		require.Equal(t, "ACCOUNT_NOT_FOUND", res.ProviderCode)
		require.Empty(t, res.ErrorCode)
	})

	t.Run("unavailability is retried under the issuer's policy", func(t *testing.T) {
		p := &scriptedProvider{script: []string{activities.ErrTypeProviderUnavailable, activities.ErrTypeProviderTimeout, ""}}
		res, _ := runOperation(t, p, operationInput())
		require.Equal(t, schema.TxSuccessful, res.Status)
		require.Equal(t, 3, res.Attempts)
	})

	t.Run("an exhausted budget ends failed with the hub's code", func(t *testing.T) {
		p := &scriptedProvider{script: []string{activities.ErrTypeProviderTimeout}}
		res, _ := runOperation(t, p, operationInput())
		require.Equal(t, 3, p.calls)
		require.Equal(t, schema.TxFailed, res.Status)
		require.Equal(t, workflows.ErrorCodeProviderTimeout, res.ErrorCode)
	})

	t.Run("an open breaker fails fast", func(t *testing.T) {
		p := &scriptedProvider{script: []string{activities.ErrTypeCircuitOpen}}
		res, _ := runOperation(t, p, operationInput())
		require.Equal(t, 1, p.calls)
		require.Equal(t, workflows.ErrorCodeCircuitOpen, res.ErrorCode)
	})

	t.Run("invalid input fails the workflow with a typed error", func(t *testing.T) {
		in := operationInput()
		in.AttemptTimeout = 0
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		env.RegisterActivity(a)
		env.ExecuteWorkflow(workflows.ProviderOperation, in)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(env.GetWorkflowError(), &appErr))
		require.Equal(t, workflows.ErrTypeInvalidInput, appErr.Type())
	})
}
