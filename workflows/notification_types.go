package workflows

import (
	"time"

	"github.com/switchyard-hub/switchyard/activities"
)

// TaskQueueNotification carries the notification family: emits, deliveries and escalations.
const TaskQueueNotification = activities.NotificationTaskQueue

// Workflow types of the notification family.
const (
	// WorkflowNotify takes one emitted event through rules, recipients, preferences, channels
	// and templates into outbox messages, and starts a delivery per message.
	WorkflowNotify = activities.NotifyWorkflowType
	// WorkflowNotificationDelivery delivers one outbox message (waiting out quiet hours).
	WorkflowNotificationDelivery = "NotificationDelivery"
	// WorkflowNotificationEscalation tells the on-call recipients of a critical message that
	// failed for good, again on a timer, until acknowledged.
	WorkflowNotificationEscalation = "NotificationEscalation"
)

// SignalAck acknowledges a notification escalation (payload: OperatorSignal). The escalation
// also takes SignalRetry (deliver the message again) and SignalAbort (stop re-notifying).
const SignalAck = "ack"

// NotificationWorkflowID is the ID of an emit's Notify run.
func NotificationWorkflowID(notificationID string) string { return "notification:" + notificationID }

// OutboxWorkflowID is the ID of one outbox message's delivery.
func OutboxWorkflowID(outboxID string) string { return "outbox:" + outboxID }

// NotificationEscalationWorkflowID is the ID of a failed message's escalation.
func NotificationEscalationWorkflowID(outboxID string) string {
	return "notification-escalation:" + outboxID
}

// Recipient names one person of the directory (notification_user).
type Recipient = activities.Recipient

// NotifyInput is one emit: the event, its payload and, optionally, explicit recipients that
// replace the rules' recipient policies. The activities own it: the hub's own escalations start
// Notify from an activity.
type NotifyInput = activities.NotifyInput

// NotifyMessage is one outbox message an emit made.
type NotifyMessage struct {
	OutboxID  string
	Channel   string
	Recipient Recipient
	Status    string // transaction.Outbox*
	Error     string `json:",omitempty"`
}

// NotifyResult is how an emit ended: its disposition (transaction.Notification*), the reason
// when suppressed or failed, and its messages.
type NotifyResult struct {
	NotificationID string
	Disposition    string
	Reason         string `json:",omitempty"`
	Messages       []NotifyMessage
}

// NotificationDeliveryInput delivers one outbox message; the row holds everything else.
type NotificationDeliveryInput struct {
	OutboxID string
	ClientID string
	// NotBefore is the end of the recipient's quiet hours for a message that must wait.
	NotBefore *time.Time `json:",omitempty"`
}

// NotificationDeliveryResult is how a delivery ended.
type NotificationDeliveryResult struct {
	OutboxID           string
	Status             string // SENT, DELIVERED or FAILED
	Attempts           int
	Final              bool
	EscalationRequired bool
	Error              string `json:",omitempty"`
}

// NotificationEscalationInput escalates one critical message that failed for good.
type NotificationEscalationInput struct {
	OutboxID string
	ClientID string
	// Round and Notified carry an escalation over continue-as-new.
	Round    int `json:",omitempty"`
	Notified int `json:",omitempty"`
}

// NotificationEscalationResult is how an escalation ended: acknowledged, retried (the message
// was delivered on a retry), or aborted.
type NotificationEscalationResult struct {
	OutboxID string
	Outcome  string // acknowledged, delivered, aborted
	Notified int    // on-call messages sent, rounds included
	By       string `json:",omitempty"`
	Note     string `json:",omitempty"`
}
