package workflows_test

import (
	"context"
	"errors"
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

var na *activities.Activities

func notifyEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.Notify, workflow.RegisterOptions{Name: workflows.WorkflowNotify})
	env.RegisterWorkflowWithOptions(workflows.NotificationDelivery, workflow.RegisterOptions{Name: workflows.WorkflowNotificationDelivery})
	env.RegisterWorkflowWithOptions(workflows.NotificationEscalation,
		workflow.RegisterOptions{Name: workflows.WorkflowNotificationEscalation})
	env.RegisterActivity(na)
	return env
}

func TestNotify(t *testing.T) {
	t.Run("an event without an active rule ends suppressed and starts nothing", func(t *testing.T) {
		env := notifyEnv(t)
		env.OnActivity(na.PlanNotification, mock.Anything, mock.Anything).Return(activities.NotificationPlan{
			Disposition: transaction.NotificationSuppressed, Reason: activities.ReasonNoActiveRule}, nil)
		env.ExecuteWorkflow(workflows.WorkflowNotify, workflows.NotifyInput{NotificationID: "n1", ClientID: "c", EventCode: "e"})
		require.NoError(t, env.GetWorkflowError())
		var res workflows.NotifyResult
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, transaction.NotificationSuppressed, res.Disposition)
		require.Equal(t, activities.ReasonNoActiveRule, res.Reason)
		env.AssertNotCalled(t, "FinishNotification", mock.Anything, mock.Anything)
	})

	t.Run("queued messages each start a delivery; sent or failed ones do not", func(t *testing.T) {
		env := notifyEnv(t)
		until := time.Date(2030, 1, 1, 7, 0, 0, 0, time.UTC)
		env.OnActivity(na.PlanNotification, mock.Anything, mock.Anything).Return(activities.NotificationPlan{Messages: []activities.PlannedMessage{
			{OutboxID: "ob_1", Channel: "SMS", Status: transaction.OutboxQueued, New: true, NotBefore: &until},
			{OutboxID: "ob_2", Channel: "EMAIL", Status: transaction.OutboxSent},
			{OutboxID: "ob_3", Channel: "PUSH", Status: transaction.OutboxFailed, Final: true, Error: "missing placeholder: amount"},
		}}, nil)
		var started []workflows.NotificationDeliveryInput
		env.OnWorkflow(workflows.WorkflowNotificationDelivery, mock.Anything, mock.Anything).Return(
			func(_ workflow.Context, in workflows.NotificationDeliveryInput) (workflows.NotificationDeliveryResult, error) {
				started = append(started, in)
				return workflows.NotificationDeliveryResult{OutboxID: in.OutboxID, Status: transaction.OutboxSent}, nil
			})
		var finished activities.FinishNotificationInput
		env.OnActivity(na.FinishNotification, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.FinishNotificationInput) error { finished = in; return nil })
		env.ExecuteWorkflow(workflows.WorkflowNotify, workflows.NotifyInput{NotificationID: "n1", ClientID: "c", EventCode: "e"})
		require.NoError(t, env.GetWorkflowError())
		var res workflows.NotifyResult
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, transaction.NotificationQueued, res.Disposition)
		require.Len(t, res.Messages, 3)
		require.Equal(t, "missing placeholder: amount", res.Messages[2].Error)
		require.Len(t, started, 1)
		require.Equal(t, "ob_1", started[0].OutboxID)
		require.True(t, started[0].NotBefore.Equal(until))
		require.Equal(t, activities.FinishNotificationInput{NotificationID: "n1", Disposition: transaction.NotificationQueued,
			Messages: 3}, finished)
	})

	t.Run("a duplicate emit whose messages exist starts nothing new", func(t *testing.T) {
		env := notifyEnv(t)
		env.OnActivity(na.PlanNotification, mock.Anything, mock.Anything).Return(activities.NotificationPlan{Messages: []activities.PlannedMessage{
			{OutboxID: "ob_1", Channel: "SMS", Status: transaction.OutboxSent}}}, nil)
		env.OnActivity(na.FinishNotification, mock.Anything, mock.Anything).Return(nil)
		env.ExecuteWorkflow(workflows.WorkflowNotify, workflows.NotifyInput{NotificationID: "n1", ClientID: "c", EventCode: "e"})
		require.NoError(t, env.GetWorkflowError())
	})

	t.Run("a critical message that failed at planning starts its escalation", func(t *testing.T) {
		env := notifyEnv(t)
		env.OnActivity(na.PlanNotification, mock.Anything, mock.Anything).Return(activities.NotificationPlan{Messages: []activities.PlannedMessage{
			{OutboxID: "ob_9", Channel: "SMS", Status: transaction.OutboxFailed, Final: true, Escalate: true,
				Error: "missing placeholder: code"},
			{OutboxID: "ob_8", Channel: "EMAIL", Status: transaction.OutboxFailed, Final: true, Error: "missing placeholder: code"},
		}}, nil)
		var escalated []workflows.NotificationEscalationInput
		env.OnWorkflow(workflows.WorkflowNotificationEscalation, mock.Anything, mock.Anything).Return(
			func(_ workflow.Context, in workflows.NotificationEscalationInput) (workflows.NotificationEscalationResult, error) {
				escalated = append(escalated, in)
				return workflows.NotificationEscalationResult{OutboxID: in.OutboxID, Outcome: "acknowledged"}, nil
			})
		env.OnActivity(na.FinishNotification, mock.Anything, mock.Anything).Return(nil)
		env.ExecuteWorkflow(workflows.WorkflowNotify, workflows.NotifyInput{NotificationID: "n1", ClientID: "c", EventCode: "e"})
		require.NoError(t, env.GetWorkflowError())
		require.Equal(t, []workflows.NotificationEscalationInput{{OutboxID: "ob_9", ClientID: "c"}}, escalated,
			"the critical one only")
	})

	t.Run("an emit that cannot be planned is recorded failed with the reason, not left processing", func(t *testing.T) {
		env := notifyEnv(t)
		env.OnActivity(na.PlanNotification, mock.Anything, mock.Anything).Return(activities.NotificationPlan{},
			temporal.NewNonRetryableApplicationError("a rendered body over 256 KiB", transaction.ErrTypeInvalidRequest, nil))
		var finished activities.FinishNotificationInput
		env.OnActivity(na.FinishNotification, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.FinishNotificationInput) error { finished = in; return nil })
		env.ExecuteWorkflow(workflows.WorkflowNotify, workflows.NotifyInput{NotificationID: "n1", ClientID: "c", EventCode: "e"})
		require.Error(t, env.GetWorkflowError())
		require.Equal(t, "n1", finished.NotificationID)
		require.Equal(t, transaction.NotificationFailed, finished.Disposition)
		require.Contains(t, finished.Reason, "256 KiB")
	})

	t.Run("an emit without an id is refused", func(t *testing.T) {
		env := notifyEnv(t)
		env.ExecuteWorkflow(workflows.WorkflowNotify, workflows.NotifyInput{EventCode: "e"})
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(env.GetWorkflowError(), &appErr))
		require.Equal(t, transaction.ErrTypeInvalidInput, appErr.Type())
	})
}

func deliveryPlan(critical bool) activities.DeliveryPlan {
	return activities.DeliveryPlan{Status: transaction.OutboxQueued, Critical: critical, MaxAttempts: 3,
		RetryInitial: time.Second, RetryMax: time.Minute, Renotify: 15 * time.Minute}
}

func TestNotificationDelivery(t *testing.T) {
	t.Run("a message in quiet hours waits for their end, then is sent", func(t *testing.T) {
		env := notifyEnv(t)
		start := env.Now()
		until := start.Add(8 * time.Hour)
		env.OnActivity(na.PrepareDelivery, mock.Anything, "ob_1").Return(deliveryPlan(false), nil)
		env.OnActivity(na.MarkOutboxWaiting, mock.Anything, mock.MatchedBy(func(in activities.WaitingInput) bool {
			return in.OutboxID == "ob_1" && in.At.Equal(until)
		})).Return(nil).Once()
		var sentAt time.Time
		env.OnActivity(na.SendNotification, mock.Anything, mock.Anything).Return(
			func(ctx context.Context, in activities.SendNotificationInput) (activities.SendNotificationResult, error) {
				sentAt = env.Now()
				return activities.SendNotificationResult{OutboxID: in.OutboxID, Status: transaction.OutboxSent, Attempt: 1}, nil
			})
		env.ExecuteWorkflow(workflows.WorkflowNotificationDelivery, workflows.NotificationDeliveryInput{OutboxID: "ob_1",
			ClientID: "c", NotBefore: &until})
		require.NoError(t, env.GetWorkflowError())
		require.False(t, sentAt.Before(until), "sent at %v, before the quiet hours ended at %v", sentAt, until)
		env.AssertExpectations(t)
	})

	t.Run("failed attempts are retried until one is sent", func(t *testing.T) {
		env := notifyEnv(t)
		env.OnActivity(na.PrepareDelivery, mock.Anything, "ob_1").Return(deliveryPlan(false), nil)
		calls := 0
		env.OnActivity(na.SendNotification, mock.Anything, mock.Anything).Return(
			func(ctx context.Context, in activities.SendNotificationInput) (activities.SendNotificationResult, error) {
				calls++
				if calls < 3 {
					return activities.SendNotificationResult{}, temporal.NewApplicationError("gateway 503",
						transaction.ErrTypeProviderUnavailable)
				}
				return activities.SendNotificationResult{OutboxID: in.OutboxID, Status: transaction.OutboxSent, Attempt: calls}, nil
			})
		env.ExecuteWorkflow(workflows.WorkflowNotificationDelivery, workflows.NotificationDeliveryInput{OutboxID: "ob_1", ClientID: "c"})
		require.NoError(t, env.GetWorkflowError())
		var res workflows.NotificationDeliveryResult
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, transaction.OutboxSent, res.Status)
		require.Equal(t, 3, res.Attempts)
	})

	t.Run("a critical message that fails for good starts its escalation", func(t *testing.T) {
		env := notifyEnv(t)
		env.OnActivity(na.PrepareDelivery, mock.Anything, "ob_1").Return(deliveryPlan(true), nil)
		env.OnActivity(na.SendNotification, mock.Anything, mock.Anything).Return(activities.SendNotificationResult{
			OutboxID: "ob_1", Status: transaction.OutboxFailed, Attempt: 3, Final: true, EscalationRequired: true,
			Error: "sms: gateway down"}, nil)
		var escalated []workflows.NotificationEscalationInput
		env.OnWorkflow(workflows.WorkflowNotificationEscalation, mock.Anything, mock.Anything).Return(
			func(_ workflow.Context, in workflows.NotificationEscalationInput) (workflows.NotificationEscalationResult, error) {
				escalated = append(escalated, in)
				return workflows.NotificationEscalationResult{OutboxID: in.OutboxID, Outcome: workflows.EscalationAcknowledged}, nil
			})
		env.ExecuteWorkflow(workflows.WorkflowNotificationDelivery, workflows.NotificationDeliveryInput{OutboxID: "ob_1", ClientID: "c"})
		require.NoError(t, env.GetWorkflowError())
		var res workflows.NotificationDeliveryResult
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, transaction.OutboxFailed, res.Status)
		require.True(t, res.Final && res.EscalationRequired)
		require.Equal(t, []workflows.NotificationEscalationInput{{OutboxID: "ob_1", ClientID: "c"}}, escalated)
	})

	t.Run("attempts that time out end the message FAILED", func(t *testing.T) {
		env := notifyEnv(t)
		env.OnActivity(na.PrepareDelivery, mock.Anything, "ob_1").Return(deliveryPlan(false), nil)
		env.OnActivity(na.SendNotification, mock.Anything, mock.Anything).Return(activities.SendNotificationResult{},
			temporal.NewApplicationError("gateway 503", transaction.ErrTypeProviderUnavailable))
		env.OnActivity(na.RecordNotificationFailure, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.RecordNotificationFailureInput) (activities.SendNotificationResult, error) {
				require.Equal(t, 3, in.Attempt)
				require.Equal(t, "gateway 503", in.Error)
				return activities.SendNotificationResult{OutboxID: in.OutboxID, Status: transaction.OutboxFailed, Attempt: 3,
					Final: true, Error: in.Error}, nil
			})
		env.ExecuteWorkflow(workflows.WorkflowNotificationDelivery, workflows.NotificationDeliveryInput{OutboxID: "ob_1", ClientID: "c"})
		require.NoError(t, env.GetWorkflowError())
		var res workflows.NotificationDeliveryResult
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, transaction.OutboxFailed, res.Status)
	})
}

func TestNotificationEscalation(t *testing.T) {
	setup := func(t *testing.T) (*testsuite.TestWorkflowEnvironment, *[]int) {
		env := notifyEnv(t)
		failed := deliveryPlan(true)
		failed.Status, failed.Final, failed.AttemptCount = transaction.OutboxFailed, true, 3
		env.OnActivity(na.PrepareDelivery, mock.Anything, "ob_1").Return(failed, nil)
		var rounds []int
		env.OnActivity(na.PlanEscalationRound, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.EscalationRoundInput) ([]activities.PlannedMessage, error) {
				rounds = append(rounds, in.Round)
				return []activities.PlannedMessage{{OutboxID: "ob_esc_" + string(rune('a'+in.Round)), Channel: "EMAIL",
					Status: transaction.OutboxQueued, New: true}}, nil
			})
		env.OnWorkflow(workflows.WorkflowNotificationDelivery, mock.Anything, mock.Anything).Return(
			workflows.NotificationDeliveryResult{Status: transaction.OutboxSent}, nil)
		return env, &rounds
	}
	run := func(env *testsuite.TestWorkflowEnvironment) workflows.NotificationEscalationResult {
		env.ExecuteWorkflow(workflows.WorkflowNotificationEscalation, workflows.NotificationEscalationInput{OutboxID: "ob_1", ClientID: "c"})
		require.NoError(t, env.GetWorkflowError())
		var res workflows.NotificationEscalationResult
		require.NoError(t, env.GetWorkflowResult(&res))
		return res
	}

	t.Run("ack after a re-notify round ends it acknowledged", func(t *testing.T) {
		env, rounds := setup(t)
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalAck, workflows.OperatorSignal{By: "ops", Note: "on it"})
		}, 20*time.Minute)
		res := run(env)
		require.Equal(t, workflows.EscalationAcknowledged, res.Outcome)
		require.Equal(t, "ops", res.By)
		require.Equal(t, []int{0, 1}, *rounds)
		require.Equal(t, 2, res.Notified)
	})

	t.Run("abort ends it aborted", func(t *testing.T) {
		env, _ := setup(t)
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalAbort, workflows.OperatorSignal{}) }, time.Minute)
		require.Equal(t, workflows.EscalationAborted, run(env).Outcome)
	})

	t.Run("retry sends the message again with a new budget and ends delivered", func(t *testing.T) {
		env, _ := setup(t)
		var got activities.SendNotificationInput
		env.OnActivity(na.SendNotification, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.SendNotificationInput) (activities.SendNotificationResult, error) {
				got = in
				return activities.SendNotificationResult{OutboxID: in.OutboxID, Status: transaction.OutboxSent, Attempt: 4}, nil
			})
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalRetry, workflows.OperatorSignal{}) }, time.Minute)
		require.Equal(t, workflows.EscalationDelivered, run(env).Outcome)
		require.True(t, got.Reopen)
		require.Equal(t, 3, got.AttemptOffset)
		require.Equal(t, 3, got.MaxAttempts)
	})

	t.Run("a retry that fails keeps escalating", func(t *testing.T) {
		env, rounds := setup(t)
		env.OnActivity(na.SendNotification, mock.Anything, mock.Anything).Return(activities.SendNotificationResult{
			OutboxID: "ob_1", Status: transaction.OutboxFailed, Attempt: 6, Final: true}, nil)
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalRetry, workflows.OperatorSignal{}) }, time.Minute)
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalAck, workflows.OperatorSignal{}) }, 2*time.Minute)
		require.Equal(t, workflows.EscalationAcknowledged, run(env).Outcome)
		require.Equal(t, []int{0, 1}, *rounds)
	})
}
