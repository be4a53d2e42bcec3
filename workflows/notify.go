package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
)

// Notify takes one emitted event through the catalogue, its active rules, their recipients,
// the recipients' preferences, the channels and the templates (one local activity: short
// database reads and writes), then starts a NotificationDelivery per queued message and ends
// once they have started: deliveries outlive the emit (a quiet-hours wait, retries). An
// unknown or inactive event ends failed, one without an active rule suppressed: results, not
// errors.
func Notify(ctx workflow.Context, in NotifyInput) (NotifyResult, error) {
	if in.NotificationID == "" || in.EventCode == "" {
		return NotifyResult{}, temporal.NewNonRetryableApplicationError("notification id and event code are required",
			transaction.ErrTypeInvalidInput, nil)
	}
	logger := workflow.GetLogger(ctx)
	status, err := track(ctx, logger, transaction.KindNotification, in.ClientID, "", in.NotificationID)
	if err != nil {
		return NotifyResult{}, err
	}
	// An emit that cannot be planned or started is recorded failed with the reason, so it never
	// stays "processing" (its repeat would only find the failed run).
	failed := func(err error) (NotifyResult, error) {
		status.show(ctx, StatusView{Status: transaction.StatusFailed, Error: err.Error()}, transaction.StatusFailed)
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		if ferr := workflow.ExecuteLocalActivity(notifyStoreOptions(dctx), a.FinishNotification,
			activities.FinishNotificationInput{NotificationID: in.NotificationID, Disposition: transaction.NotificationFailed,
				Reason: errorText(err)}).Get(dctx, nil); ferr != nil {
			logger.Error("Recording a failed emit failed", "notification_id", in.NotificationID, "error", ferr)
		}
		return NotifyResult{}, err
	}
	var plan activities.NotificationPlan
	if err := workflow.ExecuteLocalActivity(notifyStoreOptions(ctx), a.PlanNotification,
		activities.PlanNotificationInput{Notify: in, At: workflow.Now(ctx)}).Get(ctx, &plan); err != nil {
		return failed(err)
	}
	res := NotifyResult{NotificationID: in.NotificationID, Disposition: plan.Disposition, Reason: plan.Reason}
	for _, m := range plan.Messages {
		res.Messages = append(res.Messages, NotifyMessage{OutboxID: m.OutboxID, Channel: m.Channel, Recipient: m.Recipient,
			Status: m.Status, Error: m.Error})
	}
	if plan.Disposition != "" {
		status.show(ctx, StatusView{Status: transaction.StatusSuccessful}, transaction.StatusSuccessful)
		return res, nil
	}
	if err := startDeliveries(ctx, in.ClientID, plan.Messages); err != nil {
		return failed(err)
	}
	if err := startEscalations(ctx, in.ClientID, plan.Messages); err != nil {
		return failed(err)
	}
	res.Disposition = transaction.NotificationQueued
	if err := workflow.ExecuteLocalActivity(notifyStoreOptions(ctx), a.FinishNotification, activities.FinishNotificationInput{
		NotificationID: in.NotificationID, Disposition: res.Disposition, Messages: len(plan.Messages)}).Get(ctx, nil); err != nil {
		return NotifyResult{}, err
	}
	status.show(ctx, StatusView{Status: transaction.StatusSuccessful}, transaction.StatusSuccessful)
	return res, nil
}

// startDeliveries starts a NotificationDelivery (abandoned on close) per message still to
// deliver, and waits until each has started. A delivery already started (a repeated emit, a
// repeated escalation round) is left as it is.
func startDeliveries(ctx workflow.Context, clientID string, msgs []activities.PlannedMessage) error {
	var starts []childStart
	for _, m := range msgs {
		if m.Status == transaction.OutboxQueued && !m.Final {
			starts = append(starts, childStart{OutboxWorkflowID(m.OutboxID), WorkflowNotificationDelivery,
				NotificationDeliveryInput{OutboxID: m.OutboxID, ClientID: clientID, NotBefore: m.NotBefore}})
		}
	}
	return startAbandoned(ctx, starts)
}

// startEscalations starts the escalation (abandoned on close) of each critical message that
// failed for good at planning, and waits until each has started; one already started (a
// repeated emit) is left as it is.
func startEscalations(ctx workflow.Context, clientID string, msgs []activities.PlannedMessage) error {
	var starts []childStart
	for _, m := range msgs {
		if m.Escalate {
			starts = append(starts, childStart{NotificationEscalationWorkflowID(m.OutboxID), WorkflowNotificationEscalation,
				NotificationEscalationInput{OutboxID: m.OutboxID, ClientID: clientID}})
		}
	}
	return startAbandoned(ctx, starts)
}

// childStart is one child workflow to start.
type childStart struct {
	id, workflowType string
	input            any
}

// startAbandoned starts children on the notification queue that outlive this run (ABANDON),
// each once (REJECT_DUPLICATE: one already started is left as it is), and waits until all
// have started.
func startAbandoned(ctx workflow.Context, starts []childStart) error {
	futures := make([]workflow.ChildWorkflowFuture, 0, len(starts))
	for _, c := range starts {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            c.id,
			TaskQueue:             TaskQueueNotification,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		})
		futures = append(futures, workflow.ExecuteChildWorkflow(cctx, c.workflowType, c.input))
	}
	for _, f := range futures {
		if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return err
		}
	}
	return nil
}

// notifyStoreOptions are the local activity options of the family's database steps.
func notifyStoreOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 24 * time.Hour, // retried until PostgreSQL is back, as storeOptions
		StartToCloseTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{transaction.ErrTypeNotFound, transaction.ErrTypeInvalidRequest}},
	})
}
