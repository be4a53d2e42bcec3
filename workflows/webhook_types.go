package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/transaction"
)

// WebhookInput is one verified inbound webhook, as the API received it.
type WebhookInput struct {
	// EventID names the webhook_events row (a UUID the API picks).
	EventID       string
	IntegrationID string
	ClientID      string
	Platform      string
	DeliveryID    string
	EventType     string
	// Headers are the request's headers minus signatures, tokens and cookies.
	Headers    map[string]string
	Body       []byte
	ReceivedAt time.Time
	// Ordered delivers one conversation's events in arrival order (the integration's
	// config.ordered).
	Ordered bool
	// Recorded: the API recorded the webhook and hands it over by id, without its headers and
	// body (an ordered integration's inbox).
	Recorded bool
}

// WebhookResult is how processing a webhook ended: the seed's {messages, failed}.
type WebhookResult struct {
	Status string `json:"status"`
	// Duplicate: the delivery id had been received before (beyond Temporal's retention); nothing
	// was done again.
	Duplicate  bool     `json:"duplicate,omitempty"`
	Messages   int      `json:"messages"`
	Failed     int      `json:"failed"`
	Events     []string `json:"events,omitempty"`
	Deliveries int      `json:"deliveries"`
}

// OrderedIngestInput is an ordered integration's inbox (webhooks signalled with SignalWebhook).
type OrderedIngestInput struct {
	IntegrationID string
	ClientID      string
	// Pending are webhooks received and not yet ingested (carried over continue-as-new).
	Pending []WebhookInput
}

// OrderedIngestWorkflowID is webhook:<integration>, the inbox of an integration with
// config.ordered (a webhook's own ID always has a delivery id after the integration's).
func OrderedIngestWorkflowID(integrationID string) string {
	return transaction.WorkflowID(transaction.KindWebhook, integrationID)
}

// maxDeliveryIDInWorkflowID bounds the delivery id kept as is in a workflow ID; longer ones
// (WhatsApp's joined message ids) are hashed.
const maxDeliveryIDInWorkflowID = 200

// WebhookWorkflowID is webhook:<integration>:<delivery id>: one run per delivery, so a
// platform's retry of the same delivery joins the first.
func WebhookWorkflowID(integrationID, deliveryID string) string {
	if len(deliveryID) > maxDeliveryIDInWorkflowID {
		sum := sha256.Sum256([]byte(deliveryID))
		deliveryID = "sha256:" + hex.EncodeToString(sum[:])
	}
	return transaction.WorkflowID(transaction.KindWebhook, integrationID+":"+deliveryID)
}

// DeliveryInput is one event to deliver to one subscription. The fan-out activity starts
// deliveries, so the type is the activities'.
type DeliveryInput = activities.DeliveryInput

// DeliveryResult is a delivery's outcome.
type DeliveryResult struct {
	Status     string `json:"status"` // delivered, failed
	Attempts   int    `json:"attempts"`
	StatusCode int    `json:"status_code,omitempty"`
	Error      string `json:"error,omitempty"`
	// Disabled: this failure disabled the subscription.
	Disabled bool `json:"disabled,omitempty"`
}

// DeliveryWorkflowID is delivery:<event>:<subscription>, with the replay's id after a replay.
var DeliveryWorkflowID = activities.DeliveryWorkflowID

// OrderedDeliveryInput is the queue of one conversation's events for one subscription.
type OrderedDeliveryInput = activities.OrderedDeliveryInput

// OrderedDeliveryWorkflowID is one conversation's delivery queue for one subscription.
var OrderedDeliveryWorkflowID = activities.OrderedDeliveryWorkflowID

// SendMessageInput is a message to send through an integration.
type SendMessageInput struct {
	CorrelationID string
	ClientID      string
	IntegrationID string
	Platform      string
	Message       platform.Outbound
	Fingerprint   string
	Keyed         bool
}

// SendMessageResult is a send's outcome.
type SendMessageResult struct {
	Status string `json:"status"` // successful, failed
	// MessageID is the platform's id of the sent message.
	MessageID string `json:"message_id,omitempty"`
	Attempts  int    `json:"attempts"`
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
	// EventID is the integration.message.sent / .failed event emitted.
	EventID string `json:"event_id,omitempty"`
}

// CheckInput asks for a real call that proves an integration's credentials.
type CheckInput = activities.CheckInput

// ReplayInput re-delivers the events of received webhooks: the listed ones, or every one of the
// client's in [Since, Until) (of one integration when IntegrationID is set).
type ReplayInput struct {
	ReplayID        string
	ClientID        string
	WebhookEventIDs []string
	IntegrationID   string
	Since, Until    time.Time
}

// ReplayResult counts what a replay started.
type ReplayResult = activities.ReplayResult
