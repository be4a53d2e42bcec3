// Package workflows holds Switchyard's deterministic workflow code and everything Temporal sees
// by name: task queues, workflow ID helpers, signal and query names, search attribute keys and
// the input/result types.
package workflows

import (
	"go.temporal.io/sdk/temporal"
)

// Task queues. Workers scale out per queue.
const (
	// TaskQueueProxy carries proxied transactions. The API runs a worker on it for eager start.
	TaskQueueProxy = "proxy"
	// TaskQueueIntegration carries provider operations; the API runs a worker on it too.
	TaskQueueIntegration = "integration"
	// TaskQueueISO carries card transfers over ISO 8583.
	TaskQueueISO = "iso"
	// TaskQueueWebhook carries inbound webhooks, deliveries to subscriptions, message sends and
	// integration checks.
	TaskQueueWebhook = "webhook"
)

// Workflow type names, as registered and as shown in the Web UI.
const (
	WorkflowProxyTransaction  = "ProxyTransaction"
	WorkflowProviderOperation = "ProviderOperation"
	WorkflowCardTransfer      = "CardTransfer"
	WorkflowWebhookIngest     = "WebhookIngest"
	WorkflowOrderedIngest     = "OrderedIngest"
	WorkflowDelivery          = "Delivery"
	WorkflowOrderedDelivery   = "OrderedDelivery"
	WorkflowSendMessage       = "SendMessage"
	WorkflowIntegrationCheck  = "IntegrationCheck"
	WorkflowWebhookReplay     = "WebhookReplay"
)

// Types lists every workflow type a worker registers.
var Types = []string{WorkflowProxyTransaction, WorkflowProviderOperation, WorkflowCardTransfer,
	WorkflowWebhookIngest, WorkflowOrderedIngest, WorkflowDelivery, WorkflowOrderedDelivery, WorkflowSendMessage, WorkflowIntegrationCheck,
	WorkflowWebhookReplay, WorkflowSync, WorkflowSyncContent, WorkflowSyncStructure, WorkflowBatch, WorkflowNotify,
	WorkflowNotificationDelivery, WorkflowNotificationEscalation, WorkflowRerun}

// Operator signals of the escalation contract.
const (
	// SignalRetry runs the failed step again.
	SignalRetry = "retry"
	// SignalResolve records that an operator fixed the matter by hand (payload: OperatorSignal).
	SignalResolve = "resolve"
	// SignalAbort gives up and marks the work failed (payload: OperatorSignal).
	SignalAbort = "abort"
	// SignalDeliverEvent adds an event (DeliveryInput) to an ordered delivery queue.
	SignalDeliverEvent = "event"
	// SignalWebhook adds a verified webhook (WebhookInput) to an ordered integration's inbox.
	SignalWebhook = "webhook"
)

// Queries.
const (
	// QueryStatus answers a workflow's current status (StatusView).
	QueryStatus = "status"
	// QueryRequest answers a proxied transaction's request (transaction.Request), for reruns.
	QueryRequest = "request"
)

// Search attribute keys every Switchyard workflow sets, so the Web UI and
// `temporal workflow list --query` can filter on them.
var (
	KindKey          = temporal.NewSearchAttributeKeyKeyword("SwitchyardKind")
	StatusKey        = temporal.NewSearchAttributeKeyKeyword("SwitchyardStatus")
	ClientKey        = temporal.NewSearchAttributeKeyKeyword("SwitchyardClient")
	ChannelKey       = temporal.NewSearchAttributeKeyKeyword("SwitchyardChannel")
	CorrelationIDKey = temporal.NewSearchAttributeKeyKeyword("SwitchyardCorrelationId")
	// RRNKey is the Retrieval Reference Number of card transfers.
	RRNKey = temporal.NewSearchAttributeKeyKeyword("SwitchyardRRN")
)

// SearchAttributeKeys lists the custom search attributes a namespace must have.
func SearchAttributeKeys() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{KindKey, StatusKey, ClientKey, ChannelKey, CorrelationIDKey, RRNKey}
}

// OperatorSignal is the payload of retry, resolve and abort. All fields are optional.
type OperatorSignal struct {
	Note string `json:"note,omitempty"`
	By   string `json:"by,omitempty"`
}

// StatusView answers QueryStatus.
type StatusView struct {
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
}
