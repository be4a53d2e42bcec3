package transaction

// Status is where a transaction stands, as clients and operators see it: the
// transactions.status column, the SwitchyardStatus search attribute and the status query.
type Status = string

// Statuses.
const (
	StatusPending    Status = "pending"    // started; nothing recorded yet
	StatusProcessing Status = "processing" // being attempted, or waiting for a retry
	StatusSuccessful Status = "successful"
	StatusFailed     Status = "failed"
	StatusEscalated  Status = "escalated" // retries exhausted: waiting for an operator's signal
	StatusResolved   Status = "resolved"  // an operator fixed it by hand
	StatusReversed   Status = "reversed"  // a card transfer whose outcome was unknown, reversed at the switch
)

// Statuses lists every status a transaction shows.
var Statuses = []Status{StatusPending, StatusProcessing, StatusSuccessful, StatusFailed, StatusEscalated,
	StatusResolved, StatusReversed}

// Final reports whether a status will not change again.
func Final(status Status) bool {
	switch status {
	case StatusSuccessful, StatusFailed, StatusResolved, StatusReversed:
		return true
	}
	return false
}

// Statuses of a received webhook (webhook_events.status).
const (
	WebhookReceived  = "received"
	WebhookProcessed = "processed"
	// WebhookPartial: some of its messages could not be fanned out.
	WebhookPartial = "partial"
	WebhookFailed  = "failed"
	// WebhookDuplicate is never stored: a delivery id received before ends its run with it.
	WebhookDuplicate = "duplicate"
)

// Statuses of one event's delivery to one subscription (deliveries.status).
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Statuses of a site integration's sync (integrations.sync_status, sync_runs.status), as the
// seed's SiteIntegration shows them. An integration that never synced has "".
const (
	SyncRunning = "RUNNING"
	SyncPaused  = "PAUSED"
	SyncSuccess = "SUCCESS"
	SyncError   = "ERROR"
	// SyncCanceled ends a run an operator or client canceled; the integration keeps the status
	// of its previous run.
	SyncCanceled = "CANCELED"
)

// SyncActive reports whether a sync run in this status holds its integration's one slot.
func SyncActive(status string) bool { return status == SyncRunning || status == SyncPaused }

// Statuses of an outbox message (outbox.status, seed 001's lk_status).
const (
	OutboxQueued     = "QUEUED"
	OutboxSent       = "SENT"
	OutboxDelivered  = "DELIVERED"
	OutboxFailed     = "FAILED"
	OutboxSuppressed = "SUPPRESSED"
)

// Dispositions of an emitted notification event (notification_events.disposition).
const (
	NotificationProcessing = "processing"
	// NotificationQueued: its messages are in the outbox.
	NotificationQueued = "queued"
	// NotificationSuppressed: no message was made (no active rule, no recipient, no channel).
	NotificationSuppressed = "suppressed"
	NotificationFailed     = "failed"
)
