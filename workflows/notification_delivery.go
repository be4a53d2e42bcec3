package workflows

import (
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
)

// notificationAttemptTimeout bounds one send attempt (the transports' own timeouts are shorter).
const notificationAttemptTimeout = time.Minute

// NotificationDelivery delivers one outbox message: it waits out the recipient's quiet hours
// on a durable timer, then sends with Temporal's retries (the rule's max_attempts, backoff from
// NOTIFICATION_RETRY_*), every attempt recorded by the activity. A message that fails for good
// is a result (FAILED, final); a critical one starts its NotificationEscalation, which outlives
// the delivery.
func NotificationDelivery(ctx workflow.Context, in NotificationDeliveryInput) (NotificationDeliveryResult, error) {
	if in.OutboxID == "" {
		return NotificationDeliveryResult{}, temporal.NewNonRetryableApplicationError("outbox id is required",
			transaction.ErrTypeInvalidInput, nil)
	}
	logger := workflow.GetLogger(ctx)
	status, err := track(ctx, logger, transaction.KindOutbox, in.ClientID, "", in.OutboxID)
	if err != nil {
		return NotificationDeliveryResult{}, err
	}
	var plan activities.DeliveryPlan
	if err := workflow.ExecuteLocalActivity(notifyStoreOptions(ctx), a.PrepareDelivery, in.OutboxID).Get(ctx, &plan); err != nil {
		return NotificationDeliveryResult{}, err
	}
	res := NotificationDeliveryResult{OutboxID: in.OutboxID, Status: plan.Status, Attempts: plan.AttemptCount, Final: plan.Final}
	if plan.Final || plan.Status != transaction.OutboxQueued {
		return res, nil
	}
	if in.NotBefore != nil && in.NotBefore.After(workflow.Now(ctx)) {
		if err := workflow.ExecuteLocalActivity(notifyStoreOptions(ctx), a.MarkOutboxWaiting,
			activities.WaitingInput{OutboxID: in.OutboxID, At: *in.NotBefore}).Get(ctx, nil); err != nil {
			return NotificationDeliveryResult{}, err
		}
		status.show(ctx, StatusView{Status: transaction.StatusPending}, transaction.StatusPending)
		if err := workflow.Sleep(ctx, in.NotBefore.Sub(workflow.Now(ctx))); err != nil {
			return NotificationDeliveryResult{}, err
		}
	}
	sent, err := sendNotification(ctx, in.OutboxID, plan, false)
	if err != nil {
		return NotificationDeliveryResult{}, err
	}
	res = NotificationDeliveryResult{OutboxID: in.OutboxID, Status: sent.Status, Attempts: sent.Attempt, Final: sent.Final,
		EscalationRequired: sent.EscalationRequired, Error: sent.Error}
	if sent.Status == transaction.OutboxFailed && sent.EscalationRequired {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:        NotificationEscalationWorkflowID(in.OutboxID),
			TaskQueue:         TaskQueueNotification,
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		})
		f := workflow.ExecuteChildWorkflow(cctx, WorkflowNotificationEscalation,
			NotificationEscalationInput{OutboxID: in.OutboxID, ClientID: in.ClientID})
		if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return NotificationDeliveryResult{}, err
		}
	}
	final := transaction.StatusSuccessful
	if sent.Status == transaction.OutboxFailed {
		final = transaction.StatusFailed
	}
	status.show(ctx, StatusView{Status: final, Attempts: sent.Attempt, Error: sent.Error}, final)
	return res, nil
}

// sendNotification runs SendNotification with the message's attempt budget, after the
// attempts already made (an operator's retry reopens a failed message with a new budget).
// Attempts that ran out without recording the last one (it timed out) end the message FAILED
// through RecordNotificationFailure.
func sendNotification(ctx workflow.Context, outboxID string, plan activities.DeliveryPlan, reopen bool) (
	activities.SendNotificationResult, error) {
	in := activities.SendNotificationInput{OutboxID: outboxID, MaxAttempts: plan.MaxAttempts, AttemptOffset: plan.AttemptCount,
		Reopen: reopen, RetryInitial: plan.RetryInitial, RetryMax: plan.RetryMax}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: notificationAttemptTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: max(in.RetryInitial, time.Millisecond), BackoffCoefficient: 2,
			MaximumInterval: max(in.RetryMax, in.RetryInitial, time.Millisecond), MaximumAttempts: int32(max(in.MaxAttempts, 1)),
			NonRetryableErrorTypes: []string{transaction.ErrTypeNotFound, transaction.ErrTypeInvalidRequest}},
	})
	var sent activities.SendNotificationResult
	err := workflow.ExecuteActivity(actx, a.SendNotification, in).Get(ctx, &sent)
	if err == nil {
		return sent, nil
	}
	var failed activities.SendNotificationResult
	if err := workflow.ExecuteLocalActivity(notifyStoreOptions(ctx), a.RecordNotificationFailure,
		activities.RecordNotificationFailureInput{OutboxID: outboxID, Attempt: in.AttemptOffset + max(in.MaxAttempts, 1),
			Error: errorText(err)}).Get(ctx, &failed); err != nil {
		return activities.SendNotificationResult{}, err
	}
	return failed, nil
}

// errorText is an activity error's own message, without Temporal's wrapping.
func errorText(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
