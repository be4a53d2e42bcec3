package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
)

// Escalation outcomes (NotificationEscalationResult.Outcome).
const (
	EscalationAcknowledged = "acknowledged"
	EscalationDelivered    = "delivered"
	EscalationAborted      = "aborted"
)

// escalationRoundsPerRun bounds the re-notify rounds of one run before it continues as new.
const escalationRoundsPerRun = 50

// NotificationEscalation tells every on-call recipient that a critical message failed for good,
// on the channels other than the failed one (child deliveries), and again every
// NOTIFICATION_ESCALATION_RENOTIFY until an operator signals: ack ends it acknowledged, abort
// aborted, retry sends the failed message again with a new attempt budget (delivered ends it;
// a failure keeps escalating). It shows SwitchyardStatus=escalated while it waits.
func NotificationEscalation(ctx workflow.Context, in NotificationEscalationInput) (NotificationEscalationResult, error) {
	if in.OutboxID == "" {
		return NotificationEscalationResult{}, temporal.NewNonRetryableApplicationError("outbox id is required",
			transaction.ErrTypeInvalidInput, nil)
	}
	logger := workflow.GetLogger(ctx)
	status, err := track(ctx, logger, transaction.KindOutbox, in.ClientID, "", in.OutboxID)
	if err != nil {
		return NotificationEscalationResult{}, err
	}
	var plan activities.DeliveryPlan
	if err := workflow.ExecuteLocalActivity(notifyStoreOptions(ctx), a.PrepareDelivery, in.OutboxID).Get(ctx, &plan); err != nil {
		return NotificationEscalationResult{}, err
	}
	res := NotificationEscalationResult{OutboxID: in.OutboxID, Notified: in.Notified}
	round := in.Round
	for rounds := 0; ; rounds++ {
		if rounds >= escalationRoundsPerRun && !signalsPending(ctx, SignalAck, SignalRetry, SignalAbort) {
			// Signals that came meanwhile are taken first: a new run would not see them.
			in.Round, in.Notified = round, res.Notified
			return NotificationEscalationResult{}, workflow.NewContinueAsNewError(ctx, WorkflowNotificationEscalation, in)
		}
		var msgs []activities.PlannedMessage
		if err := workflow.ExecuteLocalActivity(notifyStoreOptions(ctx), a.PlanEscalationRound,
			activities.EscalationRoundInput{OutboxID: in.OutboxID, Round: round}).Get(ctx, &msgs); err != nil {
			return NotificationEscalationResult{}, err
		}
		if err := startDeliveries(ctx, in.ClientID, msgs); err != nil {
			return NotificationEscalationResult{}, err
		}
		for _, m := range msgs {
			if m.New {
				res.Notified++
			}
		}
		status.show(ctx, StatusView{Status: transaction.StatusEscalated, Attempts: plan.AttemptCount},
			transaction.StatusEscalated)
		logger.Warn("Critical notification escalated: waiting for ack, retry or abort", "round", round)
		round++

		var got string
		var sig OperatorSignal
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		for _, name := range []string{SignalAck, SignalRetry, SignalAbort} {
			sel.AddReceive(workflow.GetSignalChannel(ctx, name), func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(ctx, &sig)
				got = name
			})
		}
		sel.AddFuture(workflow.NewTimer(timerCtx, max(plan.Renotify, time.Second)), func(workflow.Future) {})
		sel.Select(ctx)
		cancelTimer()
		res.By, res.Note = sig.By, sig.Note
		switch got {
		case SignalAck:
			res.Outcome = EscalationAcknowledged
		case SignalAbort:
			res.Outcome = EscalationAborted
		case SignalRetry:
			var now activities.DeliveryPlan
			if err := workflow.ExecuteLocalActivity(notifyStoreOptions(ctx), a.PrepareDelivery, in.OutboxID).
				Get(ctx, &now); err != nil {
				return NotificationEscalationResult{}, err
			}
			status.show(ctx, StatusView{Status: transaction.StatusProcessing, Attempts: now.AttemptCount},
				transaction.StatusProcessing)
			sent, err := sendNotification(ctx, in.OutboxID, now, true)
			if err != nil {
				return NotificationEscalationResult{}, err
			}
			plan.AttemptCount = sent.Attempt
			if sent.Status == transaction.OutboxSent || sent.Status == transaction.OutboxDelivered {
				res.Outcome = EscalationDelivered
			}
		}
		if res.Outcome != "" {
			final := transaction.StatusSuccessful
			if res.Outcome == EscalationAborted {
				final = transaction.StatusFailed
			}
			status.show(ctx, StatusView{Status: final, Attempts: plan.AttemptCount}, final)
			return res, nil
		}
	}
}

// signalsPending reports whether any of the named signals waits to be received.
func signalsPending(ctx workflow.Context, names ...string) bool {
	for _, name := range names {
		if workflow.GetSignalChannel(ctx, name).Len() > 0 {
			return true
		}
	}
	return false
}
