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
	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

func transferInput() workflows.TransferInput {
	return workflows.TransferInput{CorrelationID: "5a5a5a5a-0000-4000-8000-000000000003", ClientID: "client-a",
		FromAccount: "011000000001", ToAccount: "011000000002", Amount: 1_000_00, Currency: "TZS",
		Card: iso.Card{PAN: "4111111111111111"}}
}

// transferPlan is what the worker gives a transfer at its start.
func transferPlan() activities.TransferPlan {
	return activities.TransferPlan{RRN: "000000000777",
		Send: transaction.AttemptPolicy{Timeout: 10 * time.Second,
			Retry: transaction.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, BackoffCoefficient: 2, MaxInterval: 5 * time.Second}},
		Reversal:       transaction.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaxInterval: 10 * time.Second},
		ReversalBudget: time.Minute}
}

// switchScript scripts the ISO activities: transfer answers per attempt ("00", "51",
// "unknown", "unavailable") and whether reversals are answered.
type switchScript struct {
	transfers  []string
	reversalOK bool
	plan       *activities.TransferPlan // the worker's plan; transferPlan() when nil
	sent       []activities.TransferSend
	reversals  []int32
	recorded   []string
}

func (s *switchScript) transfer(ctx context.Context, in activities.TransferSend) (activities.TransferAnswer, error) {
	step := s.transfers[min(len(s.sent), len(s.transfers)-1)]
	s.sent = append(s.sent, in)
	attempt := activity.GetInfo(ctx).Attempt
	switch step {
	case "unknown":
		return activities.TransferAnswer{}, temporal.NewApplicationErrorWithOptions("no answer", transaction.ErrTypeOutcomeUnknown,
			temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{activities.ISOFailure{Attempt: attempt}}})
	case "unavailable":
		return activities.TransferAnswer{}, temporal.NewApplicationErrorWithOptions("no connection", transaction.ErrTypeISOUnavailable,
			temporal.ApplicationErrorOptions{Details: []any{activities.ISOFailure{Attempt: attempt}}})
	}
	return activities.TransferAnswer{ResponseCode: step, AuthCode: "123456", Attempt: attempt}, nil
}

func (s *switchScript) reverse(ctx context.Context, in activities.ReversalSend) (activities.ReversalAnswer, error) {
	attempt := activity.GetInfo(ctx).Attempt
	s.reversals = append(s.reversals, attempt)
	if !s.reversalOK {
		return activities.ReversalAnswer{}, temporal.NewApplicationErrorWithOptions("no 0430", transaction.ErrTypeISOUnavailable,
			temporal.ApplicationErrorOptions{Details: []any{activities.ISOFailure{Attempt: attempt}}})
	}
	return activities.ReversalAnswer{ResponseCode: "00", Attempt: attempt}, nil
}

func transferEnv(t *testing.T, s *switchScript) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	plan := transferPlan()
	if s.plan != nil {
		plan = *s.plan
	}
	env.OnActivity(a.PrepareTransfer, mock.Anything, mock.Anything).Return(plan, nil)
	stan := int64(0)
	env.OnActivity(a.AllocateSTAN, mock.Anything).Return(func(context.Context) (int64, error) { stan++; return stan, nil })
	env.OnActivity(a.RecordStart, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordStartInput) (activities.RecordStartResult, error) {
			logged, err := json.Marshal(in)
			require.NoError(t, err)
			require.Contains(t, string(logged), "011000000001")
			require.NotContains(t, string(logged), "4111111111111111", "the card never reaches the log")
			return activities.RecordStartResult{}, nil
		})
	env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordOutcomeInput) error {
			s.recorded = append(s.recorded, in.Status)
			return nil
		})
	env.OnActivity(a.ISOTransfer, mock.Anything, mock.Anything).Return(s.transfer)
	env.OnActivity(a.ISOReverse, mock.Anything, mock.Anything).Return(s.reverse)
	return env
}

func TestCardTransfer(t *testing.T) {
	t.Run("approved", func(t *testing.T) {
		s := &switchScript{transfers: []string{"00"}}
		env := transferEnv(t, s)
		env.ExecuteWorkflow(workflows.CardTransfer, transferInput())
		res := result[workflows.TransferResult](t, env)
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.Equal(t, "123456", res.AuthCode)
		require.Equal(t, int64(1), res.STAN)
		require.Empty(t, s.reversals)
	})

	t.Run("a decline is a result with its code", func(t *testing.T) {
		s := &switchScript{transfers: []string{iso.CodeInsufficientFunds}}
		env := transferEnv(t, s)
		env.ExecuteWorkflow(workflows.CardTransfer, transferInput())
		res := result[workflows.TransferResult](t, env)
		require.Equal(t, transaction.StatusFailed, res.Status)
		require.Equal(t, transaction.ErrorCodeDeclined, res.ErrorCode)
		require.Equal(t, iso.CodeInsufficientFunds, res.ResponseCode)
		require.Equal(t, "insufficient funds", res.Meaning)
		require.Len(t, s.sent, 1)
	})

	t.Run("nothing sent is sent again, with the same STAN and RRN", func(t *testing.T) {
		s := &switchScript{transfers: []string{"unavailable", "unavailable", "00"}}
		env := transferEnv(t, s)
		env.ExecuteWorkflow(workflows.CardTransfer, transferInput())
		res := result[workflows.TransferResult](t, env)
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.Len(t, s.sent, 3)
		require.Equal(t, s.sent[0], s.sent[2], "the same message each time")
		require.Equal(t, 3, res.Attempts)
	})

	t.Run("an unknown outcome is reversed, never resent", func(t *testing.T) {
		s := &switchScript{transfers: []string{"unknown"}, reversalOK: true}
		env := transferEnv(t, s)
		env.ExecuteWorkflow(workflows.CardTransfer, transferInput())
		res := result[workflows.TransferResult](t, env)
		require.Equal(t, transaction.StatusReversed, res.Status)
		require.Equal(t, transaction.ErrorCodeReversed, res.ErrorCode)
		require.Len(t, s.sent, 1)
		require.Equal(t, []int32{1}, s.reversals)
		require.Equal(t, []string{transaction.StatusReversed}, s.recorded)
	})
}

func TestCardTransferEscalation(t *testing.T) {
	escalated := func(t *testing.T, signal string, payload any) (workflows.TransferResult, *switchScript) {
		s := &switchScript{transfers: []string{"unknown"}}
		env := transferEnv(t, s)
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(workflows.QueryStatus)
			require.NoError(t, err)
			var view workflows.StatusView
			require.NoError(t, v.Get(&view))
			require.Equal(t, transaction.StatusEscalated, view.Status)
			require.Greater(t, len(s.reversals), 3, "repeated within the budget")
			require.Equal(t, int32(1), s.reversals[0])
			s.reversalOK = true
			env.SignalWorkflow(signal, payload)
		}, 2*time.Hour)
		env.ExecuteWorkflow(workflows.CardTransfer, transferInput())
		return result[workflows.TransferResult](t, env), s
	}

	t.Run("retry reverses again", func(t *testing.T) {
		res, s := escalated(t, workflows.SignalRetry, nil)
		require.Equal(t, transaction.StatusReversed, res.Status)
		require.Equal(t, []string{transaction.StatusEscalated, transaction.StatusReversed}, s.recorded)
		require.Equal(t, int32(1), s.reversals[len(s.reversals)-1], "a new round of reversals")
	})

	t.Run("resolve", func(t *testing.T) {
		res, _ := escalated(t, workflows.SignalResolve, workflows.OperatorSignal{Note: "reversed at the switch by hand"})
		require.Equal(t, transaction.StatusResolved, res.Status)
		require.Equal(t, "reversed at the switch by hand", res.ResolutionNote)
	})

	t.Run("abort", func(t *testing.T) {
		res, _ := escalated(t, workflows.SignalAbort, nil)
		require.Equal(t, transaction.StatusFailed, res.Status)
		require.Equal(t, transaction.ErrorCodeAborted, res.ErrorCode)
	})
}

func TestCardTransferRefusesInvalidInput(t *testing.T) {
	in := transferInput()
	in.Amount = 0
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.ExecuteWorkflow(workflows.CardTransfer, in)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, transaction.ErrTypeInvalidInput, appErr.Type())
}

func TestCardTransferStartedBeforeWorkersOwnedThePolicy(t *testing.T) {
	// A run recorded before the worker allocated RRNs carries its RRN and policies in its input.
	in := transferInput()
	plan := transferPlan()
	in.RRN, in.Retry, in.AttemptTimeout = "000000000999", plan.Send.Retry, plan.Send.Timeout
	in.ReversalRetry, in.ReversalBudget = plan.Reversal, plan.ReversalBudget
	s := &switchScript{transfers: []string{"00"}}
	env := transferEnv(t, s)
	env.OnGetVersion("worker-owned-policy", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.ExecuteWorkflow(workflows.CardTransfer, in)
	require.NoError(t, env.GetWorkflowError())
	var res workflows.TransferResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "000000000999", res.RRN)
	require.Equal(t, "000000000999", s.sent[0].RRN)
	env.AssertNotCalled(t, "PrepareTransfer", mock.Anything, mock.Anything)
}

func TestCardTransferSendsThePlannedReferences(t *testing.T) {
	// The worker's plan carries the STAN and transmission time, allocated once per correlation
	// id: a run re-executed from its start sends the same 0200.
	plan := transferPlan()
	plan.STAN, plan.Transmission = 4242, "1122133700"
	s := &switchScript{transfers: []string{"00"}, plan: &plan}
	env := transferEnv(t, s)
	env.ExecuteWorkflow(workflows.CardTransfer, transferInput())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, int64(4242), s.sent[0].STAN)
	require.Equal(t, "1122133700", s.sent[0].TransmissionDateTime)
	env.AssertNotCalled(t, "AllocateSTAN", mock.Anything)
}
