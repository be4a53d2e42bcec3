package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// EscalationRoundInput is one round of an escalation: tell every on-call recipient.
type EscalationRoundInput struct {
	OutboxID string
	Round    int
}

// PlanEscalationRound queues, for every active on-call recipient, a message on each channel
// other than the failed message's one that reaches them (SMS, e-mail, push, in-app), under the
// event switchyard.notification.escalated and the failed message's emit. Keys derive from the
// failed message, the round, the recipient and the channel: a repeated round queues nothing new.
func (a *Activities) PlanEscalationRound(ctx context.Context, in EscalationRoundInput) ([]PlannedMessage, error) {
	st := a.Notifications.Store
	failed, err := st.GetOutbox(ctx, in.OutboxID)
	if err != nil {
		return nil, classify(fmt.Errorf("reading message %s: %w", in.OutboxID, err))
	}
	users, err := st.OnCallUsers(ctx)
	if err != nil {
		return nil, classify(fmt.Errorf("listing on-call recipients: %w", err))
	}
	subject := "Escalation: a critical notification failed"
	body := fmt.Sprintf("The critical %s message %s of event %s to %s %s failed after %d attempt(s): %s",
		failed.Channel, failed.ID, failed.EventCode, failed.ActorType, failed.UserID, failed.AttemptCount, failed.Error)
	var out []PlannedMessage
	for _, u := range users {
		if !u.Active {
			continue
		}
		for _, channel := range []string{ChannelSMS, ChannelEmail, ChannelPush, ChannelInApp} {
			address := addressFor(u, channel)
			if channel == failed.Channel || address == "" {
				continue
			}
			key := MessageIdempotencyKey(failed.ID, "escalation:"+strconv.Itoa(in.Round), u.ActorType, u.UserID, channel)
			id := OutboxIDFor(key)
			// Filed under the hub's own client: on-call staff's addresses and messages are not
			// the failed message's client's to read.
			row := schema.OutboxRow{ID: id, NotificationID: failed.NotificationID, ClientID: hubClientID,
				EventCode: EventNotificationEscalated, IdempotencyKey: key, ActorType: u.ActorType, UserID: u.UserID,
				Channel: channel, RecipientAddress: address, Language: "en", Subject: subject, Body: body,
				Priority: "CRITICAL", Status: transaction.OutboxQueued, MaxAttempts: max(failed.MaxAttempts, 1),
				WorkflowID: transaction.WorkflowID(transaction.KindOutbox, id)}
			saved, created, err := st.InsertOutbox(ctx, row)
			if err != nil {
				return nil, classify(fmt.Errorf("queueing an escalation message: %w", err))
			}
			out = append(out, PlannedMessage{OutboxID: saved.ID, Channel: channel,
				Recipient: Recipient{ActorType: u.ActorType, UserID: u.UserID}, Status: saved.Status, Final: saved.Final,
				New: created})
		}
	}
	return out, nil
}

// emitTransactionEscalated tells the notification family that a transaction escalated: it
// records the emit and starts its Notify run (ID from the correlation id, so a repeat is one
// emit). Best effort: a failure is logged, never the caller's.
func (a *Activities) emitTransactionEscalated(ctx context.Context, in RecordOutcomeInput) {
	n := a.Notifications
	if n.Store == nil || n.Temporal == nil {
		return
	}
	logger := activity.GetLogger(ctx)
	id := "escalated-" + in.CorrelationID
	payload, _ := json.Marshal(map[string]any{"correlation_id": in.CorrelationID, "kind": in.Kind, "status": in.Status,
		"attempts": in.Attempts, "error": strings.ToValidUTF8(truncateText(in.Error, 500), ""), "error_code": in.ErrorCode})
	row, _, err := n.Store.CreateNotificationEvent(ctx, schema.NotificationEventRow{ID: id, ClientID: hubClientID,
		EventCode: EventTransactionEscalated, Payload: payload, IdempotencyKey: id,
		WorkflowID: transaction.WorkflowID(transaction.KindNotification, id), Disposition: transaction.NotificationProcessing})
	if err != nil {
		logger.Error("Recording the escalation's notification failed", "correlation_id", in.CorrelationID, "error", err.Error())
		return
	}
	_, err = n.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: row.WorkflowID, TaskQueue: NotificationTaskQueue},
		NotifyWorkflowType, NotifyInput{NotificationID: row.ID, ClientID: hubClientID, EventCode: EventTransactionEscalated,
			Payload: row.Payload, IdempotencyKey: id})
	if err != nil {
		logger.Error("Starting the escalation's notification failed", "correlation_id", in.CorrelationID, "error", err.Error())
	}
}

// hubClientID is the client the hub's own emits are recorded under.
const hubClientID = "switchyard"
