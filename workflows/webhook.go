package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/transaction"
)

// deliveryWorkflows names what the fan-out starts.
var deliveryWorkflows = activities.DeliveryWorkflows{TaskQueue: TaskQueueWebhook, Delivery: WorkflowDelivery,
	Ordered: WorkflowOrderedDelivery, Signal: SignalDeliverEvent}

// WebhookIngest records a verified inbound webhook, normalizes it into the platform's messages
// or events, and fans each out to the client's matching subscriptions. A partial failure is
// counted in the result ({messages, failed}), not fatal.
func WebhookIngest(ctx workflow.Context, in WebhookInput) (WebhookResult, error) {
	if in.EventID == "" || in.IntegrationID == "" || in.ClientID == "" || in.DeliveryID == "" {
		return WebhookResult{}, temporal.NewNonRetryableApplicationError("event, integration, client and delivery id are required",
			transaction.ErrTypeInvalidInput, nil)
	}
	logger := log.With(workflow.GetLogger(ctx), "integration_id", in.IntegrationID, "delivery_id", in.DeliveryID)
	status, err := track(ctx, logger, transaction.KindWebhook, in.ClientID, in.IntegrationID, in.EventID)
	if err != nil {
		return WebhookResult{}, err
	}
	res, errText, err := ingest(ctx, logger, in)
	if err != nil {
		return WebhookResult{}, err
	}
	status.show(ctx, StatusView{Status: res.Status, Error: errText}, res.Status)
	return res, nil
}

// ingest records, normalizes and fans out one webhook in one local activity; errText says what
// failed, if anything. When even its retries fail (the database or Temporal out for minutes), the
// webhook is recorded as failed: it can be replayed once they are back.
func ingest(ctx workflow.Context, logger log.Logger, in WebhookInput) (res WebhookResult, errText string, err error) {
	var out activities.IngestResult
	err = workflow.ExecuteLocalActivity(webhookStoreOptions(ctx), a.IngestWebhook, activities.IngestInput{
		ReceivedWebhook: activities.ReceivedWebhook{EventID: in.EventID, IntegrationID: in.IntegrationID,
			ClientID: in.ClientID, Platform: in.Platform, DeliveryID: in.DeliveryID, EventType: in.EventType,
			WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Headers: in.Headers, Body: in.Body,
			ReceivedAt: in.ReceivedAt, Recorded: in.Recorded},
		Ordered: in.Ordered, Workflows: deliveryWorkflows,
	}).Get(ctx, &out)
	if err != nil {
		logger.Error("Ingesting a webhook failed", "error", err)
		res = WebhookResult{Status: transaction.WebhookFailed, Failed: 1}
		if ferr := workflow.ExecuteLocalActivity(webhookStoreOptions(ctx), a.FinishWebhook, activities.FinishWebhookInput{
			ID: in.EventID, Status: res.Status, Failed: 1, Error: failureMessage(err)}).Get(ctx, nil); ferr != nil {
			// Not even recorded: the run's own result is the only trace.
			logger.Error("Recording a failed webhook failed", "error", ferr)
		}
		return res, failureMessage(err), nil
	}
	return WebhookResult{Status: out.Status, Duplicate: out.Duplicate, Messages: out.Messages, Failed: out.Failed,
		Events: out.Events, Deliveries: out.Deliveries}, out.Error, nil
}

// Ordered inboxes hand over to a new run after this many webhooks.
const orderedWebhooksPerRun = 100

// OrderedIngest is the inbox of an integration with config.ordered: the API signals each
// verified webhook to it (signal-with-start) in the order it received them, and the inbox
// ingests them one at a time, so the conversation queues (OrderedDelivery) get their events in
// arrival order. It continues as new every 100 webhooks and ends after a minute without one.
func OrderedIngest(ctx workflow.Context, in OrderedIngestInput) error {
	if in.IntegrationID == "" || in.ClientID == "" {
		return temporal.NewNonRetryableApplicationError("integration and client are required",
			transaction.ErrTypeInvalidInput, nil)
	}
	logger := log.With(workflow.GetLogger(ctx), "integration_id", in.IntegrationID)
	status, err := track(ctx, logger, transaction.KindWebhook, in.ClientID, in.IntegrationID, in.IntegrationID)
	if err != nil {
		return err
	}
	pol, err := policies(ctx)
	if err != nil {
		return err
	}
	rest, full, err := serveQueue(ctx, SignalWebhook, in.Pending, idleOf(pol), orderedWebhooksPerRun, status,
		func(next WebhookInput) {
			next.Ordered = true
			if _, _, err := ingest(ctx, logger, next); err != nil {
				// One webhook that cannot be ingested must not take the rest of the inbox with it.
				logger.Error("Ingesting a webhook failed", "event_id", next.EventID, "delivery_id", next.DeliveryID, "error", err)
			}
		})
	if err != nil || !full {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, OrderedIngest, OrderedIngestInput{IntegrationID: in.IntegrationID,
		ClientID: in.ClientID, Pending: rest})
}

// serveQueue handles the items signalled on signal (after pending, carried over from the run
// before) one at a time in arrival order. It returns when the queue has been idle for idle,
// having shown the run successful, or, full, after perRun items, with the ones still pending
// (every signal received) for continue-as-new.
func serveQueue[T any](ctx workflow.Context, signal string, pending []T, idle time.Duration, perRun int, status *tracker,
	handle func(T)) (rest []T, full bool, err error) {
	signals := workflow.GetSignalChannel(ctx, signal)
	drain := func() {
		for {
			var item T
			if !signals.ReceiveAsync(&item) {
				return
			}
			pending = append(pending, item)
		}
	}
	for done := 0; ; {
		drain()
		if len(pending) == 0 {
			got, err := workflow.AwaitWithTimeout(ctx, idle, func() bool { return signals.Len() > 0 })
			if err != nil {
				return nil, false, err
			}
			if !got {
				if drain(); len(pending) == 0 {
					status.show(ctx, StatusView{Status: transaction.StatusSuccessful, Attempts: done}, transaction.StatusSuccessful)
					return nil, false, nil
				}
			}
			continue
		}
		next := pending[0]
		pending = pending[1:]
		handle(next)
		if done++; done >= perRun {
			drain()
			return pending, true, nil
		}
	}
}

// webhookStoreOptions give the webhook family's writes minutes, not seconds: the platform was
// told its webhook was taken, so a database outage is waited out rather than failing the run.
func webhookStoreOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		// An ingestion starts a delivery per event and subscription: more than one write.
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2,
			MaximumInterval:        30 * time.Second,
			NonRetryableErrorTypes: []string{transaction.ErrTypeNotFound, transaction.ErrTypeInvalidRequest}},
	})
}

// fanOutOptions bound a fan-out: it starts workflows, so it may take longer than a write.
func fanOutOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: []string{transaction.ErrTypeNotFound, transaction.ErrTypeInvalidRequest}},
	})
}

// policies resolves the worker's delivery and send settings, recorded in history.
func policies(ctx workflow.Context) (activities.WebhookPolicies, error) {
	var p activities.WebhookPolicies
	err := workflow.ExecuteLocalActivity(webhookStoreOptions(ctx), a.Policies).Get(ctx, &p)
	return p, err
}

// Delivery delivers one event to one subscription: signed POSTs, retried by Temporal with
// backoff (the subscriber's Retry-After first) for up to DELIVERY_RETRY_BUDGET, every attempt
// recorded. A delivery that runs out of budget fails and counts towards disabling the
// subscription.
func Delivery(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	if in.EventID == "" || in.SubscriptionID == "" {
		return DeliveryResult{}, temporal.NewNonRetryableApplicationError("event and subscription are required",
			transaction.ErrTypeInvalidInput, nil)
	}
	logger := log.With(workflow.GetLogger(ctx), "event_id", in.EventID, "subscription_id", in.SubscriptionID)
	status, err := track(ctx, logger, transaction.KindDelivery, in.ClientID, in.SubscriptionID, in.EventID)
	if err != nil {
		return DeliveryResult{}, err
	}
	pol, err := policies(ctx)
	if err != nil {
		return DeliveryResult{}, err
	}
	res, err := deliver(ctx, pol, in, workflow.GetInfo(ctx).WorkflowExecution.ID)
	if err != nil {
		return DeliveryResult{}, err
	}
	status.show(ctx, StatusView{Status: res.Status, Error: res.Error}, res.Status)
	return res, nil
}

// deliver runs the delivery's attempts and records how it ended.
func deliver(ctx workflow.Context, pol activities.WebhookPolicies, in DeliveryInput, workflowID string) (DeliveryResult, error) {
	r := pol.Delivery
	nonRetryable := []string{transaction.ErrTypeSubscriptionDisabled, transaction.ErrTypeNotFound, transaction.ErrTypeInvalidRequest}
	attempt := activities.DeliverInput{EventID: in.EventID, SubscriptionID: in.SubscriptionID, WorkflowID: workflowID}
	started := workflow.Now(ctx)
	// The first attempt runs as a local activity inside this workflow task (no task-queue hop);
	// after a retryable failure the rest of the budget goes to a regular activity that any
	// worker takes, Temporal's retry policy doing the backoff.
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: pol.DeliveryAttemptTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var out activities.DeliverResult
	err := workflow.ExecuteLocalActivity(lctx, a.Deliver, attempt).Get(ctx, &out)
	remaining := func() time.Duration { return pol.DeliveryBudget - workflow.Now(ctx).Sub(started) }
	// A wait the subscriber asks for that outlasts the budget ends the delivery now.
	if errType, retryAfter := errorInfo(err); err != nil && !slices.Contains(nonRetryable, errType) &&
		max(retryAfter, r.InitialInterval) < remaining() {
		if err := workflow.Sleep(ctx, max(retryAfter, r.InitialInterval)); err != nil {
			return DeliveryResult{}, err
		}
		next := time.Duration(float64(r.InitialInterval) * max(r.BackoffCoefficient, 1))
		if r.MaxInterval > 0 {
			next = min(next, r.MaxInterval)
		}
		attempt.AttemptOffset = 1
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout:    pol.DeliveryAttemptTimeout,
			ScheduleToCloseTimeout: remaining(),
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: max(next, time.Millisecond),
				BackoffCoefficient: max(r.BackoffCoefficient, 1), MaximumInterval: r.MaxInterval,
				NonRetryableErrorTypes: nonRetryable},
		})
		err = workflow.ExecuteActivity(actx, a.Deliver, attempt).Get(ctx, &out)
	}
	if out.Finished != "" {
		// This workflow finished the event before (it was handed over twice): nothing to record.
		return DeliveryResult{Status: out.Finished, StatusCode: out.StatusCode}, nil
	}
	res := DeliveryResult{Status: transaction.DeliveryDelivered, StatusCode: out.StatusCode}
	countFailure := false
	if err != nil {
		res.Status, res.Error = transaction.DeliveryFailed, failureMessage(err)
		if appErr, ok := asApplicationError(err); ok && appErr.HasDetails() {
			_ = appErr.Details(&res.StatusCode)
		}
		errType, _ := errorInfo(err)
		countFailure = errType != transaction.ErrTypeSubscriptionDisabled && errType != transaction.ErrTypeNotFound
	}
	if err := workflow.ExecuteLocalActivity(webhookStoreOptions(ctx), a.FinishDelivery, activities.FinishDeliveryInput{
		EventID: in.EventID, SubscriptionID: in.SubscriptionID, Status: res.Status,
		CountFailure: countFailure}).Get(ctx, &res.Disabled); err != nil {
		return DeliveryResult{}, err
	}
	return res, nil
}

// failureMessage is the innermost message of an activity failure.
func failureMessage(err error) string {
	if appErr, ok := asApplicationError(err); ok {
		return appErr.Error()
	}
	return err.Error()
}

// Ordered delivery queues hand over to a new run after this many events, and end after this
// long without one.
const (
	orderedEventsPerRun = 100
	// orderedIdleDefault applies when the worker's policy names none.
	orderedIdleDefault = time.Minute
)

// idleOf is the worker's ORDERED_QUEUE_IDLE.
func idleOf(p activities.WebhookPolicies) time.Duration {
	if p.OrderedIdle > 0 {
		return p.OrderedIdle
	}
	return orderedIdleDefault
}

// OrderedDelivery delivers one conversation's events to one subscription strictly in the order
// they were received: the fan-out signals each event (signal-with-start) and the queue delivers
// one at a time, the next waiting for the one before to be delivered or to run out of budget.
func OrderedDelivery(ctx workflow.Context, in OrderedDeliveryInput) error {
	if in.SubscriptionID == "" {
		return temporal.NewNonRetryableApplicationError("subscription is required", transaction.ErrTypeInvalidInput, nil)
	}
	logger := log.With(workflow.GetLogger(ctx), "subscription_id", in.SubscriptionID)
	status, err := track(ctx, logger, transaction.KindDelivery, in.ClientID, in.SubscriptionID, in.Key)
	if err != nil {
		return err
	}
	pol, err := policies(ctx)
	if err != nil {
		return err
	}
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	rest, full, err := serveQueue(ctx, SignalDeliverEvent, in.Pending, idleOf(pol), orderedEventsPerRun, status,
		func(next DeliveryInput) {
			res, err := deliver(ctx, pol, next, id)
			if err != nil {
				// Recording the outcome failed: the queue goes on rather than holding the others.
				logger.Error("Recording an ordered delivery failed", "event_id", next.EventID, "error", err)
			} else if res.Status == transaction.DeliveryFailed {
				logger.Warn("An ordered delivery failed; the queue goes on", "event_id", next.EventID, "error", res.Error)
			}
		})
	if err != nil || !full {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, OrderedDelivery, OrderedDeliveryInput{SubscriptionID: in.SubscriptionID,
		ClientID: in.ClientID, Key: in.Key, Pending: rest})
}

// IntegrationCheck makes one real call that proves an integration's credentials.
func IntegrationCheck(ctx workflow.Context, in CheckInput) (platform.Health, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
	var health platform.Health
	err := workflow.ExecuteLocalActivity(lctx, a.CheckIntegration, in).Get(ctx, &health)
	return health, err
}

// WebhookReplay re-delivers the events of received webhooks to the subscriptions as they are
// now, each delivery a new workflow with the original webhook-id.
func WebhookReplay(ctx workflow.Context, in ReplayInput) (ReplayResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{transaction.ErrTypeInvalidRequest}},
	})
	var out activities.ReplayResult
	err := workflow.ExecuteActivity(actx, a.ReplayWebhooks, activities.ReplayInput{ReplayID: in.ReplayID,
		ClientID: in.ClientID, WebhookEventIDs: in.WebhookEventIDs, IntegrationID: in.IntegrationID, Since: in.Since,
		Until: in.Until, Workflows: deliveryWorkflows}).Get(ctx, &out)
	return out, err
}
