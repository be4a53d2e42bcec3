package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// WebhookPolicies are the worker's settings for deliveries and sends, resolved once per run in a
// local activity so a replay keeps the settings the run started with.
type WebhookPolicies struct {
	Delivery transaction.RetryPolicy
	// DeliveryBudget bounds all attempts of one delivery (DELIVERY_RETRY_BUDGET).
	DeliveryBudget time.Duration
	// DeliveryAttemptTimeout bounds one attempt (DELIVERY_TIMEOUT plus the time to record it).
	DeliveryAttemptTimeout time.Duration
	Message                transaction.RetryPolicy
	MessageAttemptTimeout  time.Duration
	// MessageBudget bounds all attempts of one send (MESSAGE_SEND_BUDGET).
	MessageBudget time.Duration
	// OrderedIdle is how long an ordered inbox or conversation queue waits for more before it
	// ends (ORDERED_QUEUE_IDLE).
	OrderedIdle time.Duration
}

// Policies answers the worker's WebhookPolicies.
func (a *Activities) Policies(_ context.Context) (WebhookPolicies, error) {
	c := a.Config
	return WebhookPolicies{
		Delivery: transaction.RetryPolicy{InitialInterval: c.DeliveryRetryInitialInterval, BackoffCoefficient: 2,
			MaxInterval: c.DeliveryRetryMaxInterval},
		DeliveryBudget:         c.DeliveryRetryBudget,
		DeliveryAttemptTimeout: c.DeliveryTimeout + 5*time.Second,
		Message: transaction.RetryPolicy{MaxAttempts: c.MessageMaxAttempts, InitialInterval: c.MessageRetryInitialInterval,
			BackoffCoefficient: 2, MaxInterval: time.Minute},
		MessageAttemptTimeout: c.MessageTimeout + 5*time.Second,
		MessageBudget:         c.MessageSendBudget,
		OrderedIdle:           c.OrderedQueueIdle,
	}, nil
}

// SendInput is a message to send through an integration.
type SendInput struct {
	IntegrationID string
	Message       platform.Outbound
}

// openIntegration reads an integration and opens its credentials.
func (a *Activities) openIntegration(ctx context.Context, id string) (platform.Integration, error) {
	row, err := a.Messaging.Store.GetIntegration(ctx, id)
	if err != nil {
		return platform.Integration{}, err
	}
	in, err := a.Messaging.Vault.Open(row.ID, row.Name, row.Platform, row.Credentials, row.Config, row.IsActive)
	if err != nil {
		return platform.Integration{}, &InvalidRequestError{Reason: err.Error()}
	}
	return in, nil
}

// SendPlatformMessage sends a message through the integration's platform. A refusal (4xx) is final; a
// rate limit, 5xx or transport error is retried by Temporal, after the platform's own wait
// when it gave one (Retry-After, Telegram's retry_after, Discord's retry_after).
func (a *Activities) SendPlatformMessage(ctx context.Context, in SendInput) (SentMessage, error) {
	integration, err := a.openIntegration(ctx, in.IntegrationID)
	if err != nil {
		return SentMessage{}, classify(err)
	}
	if !integration.Active {
		return SentMessage{}, classify(&InvalidRequestError{Reason: "the integration is inactive"})
	}
	ctx, cancel := context.WithTimeout(ctx, a.Config.MessageTimeout)
	defer cancel()
	res, err := a.Messaging.Platforms.Send(ctx, integration, in.Message)
	attempt := int(activity.GetInfo(ctx).Attempt)
	return SentMessage{SendResult: res, Attempt: attempt}, classifyPlatform(err, attempt)
}

// SendFailure is the details of a failed send attempt: the platform's HTTP status (0 without an
// answer) and which attempt it was.
type SendFailure struct {
	Status  int `json:"status"`
	Attempt int `json:"attempt"`
}

// SentMessage is a platform's answer to a send and the attempt that got it.
type SentMessage struct {
	platform.SendResult
	Attempt int `json:"attempt"`
}

// classifyPlatform maps a platform's answer onto the retry contract.
func classifyPlatform(err error, attempt int) error {
	if err == nil {
		return nil
	}
	var apiErr *platform.APIError
	switch {
	case errors.As(err, &apiErr):
		return temporal.NewApplicationErrorWithOptions(apiErr.Error(), platformErrType(apiErr),
			temporal.ApplicationErrorOptions{NonRetryable: !apiErr.Temporary, NextRetryDelay: apiErr.RetryAfter,
				Details: []any{SendFailure{Status: apiErr.Status, Attempt: attempt}}})
	case errors.Is(err, platform.ErrUnsupported), errors.Is(err, platform.ErrInvalid):
		return classify(&InvalidRequestError{Reason: err.Error()}, SendFailure{Attempt: attempt})
	case errors.Is(err, context.DeadlineExceeded):
		return temporal.NewApplicationErrorWithOptions("the platform did not answer in time", transaction.ErrTypePlatformUnavailable,
			temporal.ApplicationErrorOptions{Details: []any{SendFailure{Attempt: attempt}}})
	}
	return classify(err, SendFailure{Attempt: attempt})
}

func platformErrType(e *platform.APIError) string {
	if e.Temporary {
		return transaction.ErrTypePlatformUnavailable
	}
	return transaction.ErrTypePlatformRejected
}

// MessageEventInput is a sent or failed message to announce to subscriptions.
type MessageEventInput struct {
	CorrelationID string
	ClientID      string
	IntegrationID string
	Platform      string
	Type          string // platform.EventMessageSent or platform.EventMessageFailed
	To            string
	MessageID     string
	Error         string
	ErrorCode     string
	At            time.Time
}

// EmitMessageEvent stores integration.message.sent / .failed for a send; its id derives from the
// send, so a retried activity stores it once.
func (a *Activities) EmitMessageEvent(ctx context.Context, in MessageEventInput) (EmittedEvent, error) {
	data := map[string]any{"integration_id": in.IntegrationID, "platform": in.Platform, "correlation_id": in.CorrelationID,
		"to": in.To}
	if in.MessageID != "" {
		data["message_id"] = in.MessageID
	}
	if in.Error != "" {
		data["error"], data["error_code"] = in.Error, in.ErrorCode
	}
	payload, err := eventPayload(in.Type, in.At, data)
	if err != nil {
		return EmittedEvent{}, classify(&InvalidRequestError{Reason: err.Error()})
	}
	id := eventID(in.CorrelationID, in.Type)
	if err := a.Messaging.Store.InsertEvents(ctx, []schema.EventRow{{ID: id, ClientID: in.ClientID, Type: in.Type,
		IntegrationID: in.IntegrationID, Payload: payload}}); err != nil {
		return EmittedEvent{}, classify(err)
	}
	return EmittedEvent{ID: id, Type: in.Type}, nil
}

// CheckInput asks for a real call proving an integration's credentials: a stored integration,
// or credentials being validated (sealed: they never travel in clear).
type CheckInput struct {
	IntegrationID     string
	Platform          string
	SealedCredentials string
	Config            platform.Config
}

// CheckIntegration makes the platform's cheapest authenticated call (WhatsApp's phone number,
// Telegram getMe, Slack auth.test, Discord users/@me; a site's connection test, recorded as a
// test_connection sync event for a stored integration) and reports how it went.
func (a *Activities) CheckIntegration(ctx context.Context, in CheckInput) (platform.Health, error) {
	var integration platform.Integration
	if in.IntegrationID != "" {
		var err error
		if integration, err = a.openIntegration(ctx, in.IntegrationID); err != nil {
			return platform.Health{}, classify(err)
		}
	} else {
		creds, err := a.Messaging.Vault.OpenCredentials(in.SealedCredentials)
		if err != nil {
			return platform.Health{}, classify(&InvalidRequestError{Reason: err.Error()})
		}
		integration = platform.Integration{Platform: platform.Name(in.Platform), Credentials: creds, Config: in.Config,
			Active: true}
	}
	if integration.Platform.Site() {
		return a.checkSite(ctx, in.IntegrationID, integration)
	}
	ctx, cancel := context.WithTimeout(ctx, a.Config.MessageTimeout)
	defer cancel()
	return a.Messaging.Platforms.Health(ctx, integration), nil
}

// ReplayInput re-delivers the events of received webhooks: the listed ones, or every one of the
// client's in [Since, Until) (of one integration when IntegrationID is set).
type ReplayInput struct {
	ReplayID        string
	ClientID        string
	WebhookEventIDs []string
	IntegrationID   string
	Since, Until    time.Time
	Workflows       DeliveryWorkflows
}

// ReplayResult counts what a replay started.
type ReplayResult struct {
	Webhooks   int `json:"webhooks"`
	Events     int `json:"events"`
	Deliveries int `json:"deliveries"`
}

// replayPage is how many received webhooks a replay reads at a time.
const replayPage = 200

// ReplayWebhooks starts a new delivery (its own workflow, the same webhook-id) of every event of
// the selected webhooks to the client's matching subscriptions as they are now. It heartbeats
// its progress; a retried attempt resumes after the last page it finished.
func (a *Activities) ReplayWebhooks(ctx context.Context, in ReplayInput) (ReplayResult, error) {
	var out ReplayResult
	offset := 0
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &out, &offset)
	}
	st := a.Messaging.Store
	for {
		// A retried attempt resumes at the page it was in, with the counts from before it.
		pageOffset, pageBase := offset, out
		var rows []schema.WebhookEventRow
		if len(in.WebhookEventIDs) > 0 {
			if offset >= len(in.WebhookEventIDs) {
				return out, nil
			}
			for _, id := range in.WebhookEventIDs[offset:min(offset+replayPage, len(in.WebhookEventIDs))] {
				row, err := st.GetWebhookEvent(ctx, id)
				if errors.Is(err, schema.ErrNotFound) {
					continue
				}
				if err != nil {
					return out, classify(err)
				}
				rows = append(rows, row)
			}
			offset = min(offset+replayPage, len(in.WebhookEventIDs))
		} else {
			page, err := st.ListWebhookEvents(ctx, schema.WebhookEventFilter{ClientID: in.ClientID,
				IntegrationID: in.IntegrationID, Since: in.Since, Until: in.Until}, schema.Page{Limit: replayPage, Offset: offset})
			if err != nil {
				return out, classify(err)
			}
			if len(page) == 0 {
				return out, nil
			}
			rows, offset = page, offset+len(page)
		}
		for _, row := range rows {
			if row.ClientID != in.ClientID {
				continue
			}
			if row.Status == transaction.WebhookReceived {
				// Never ingested (its run gave up, or its handover to an ordered inbox was
				// lost): ingest it now, which delivers its events for the first time.
				res, err := a.IngestWebhook(ctx, IngestInput{ReceivedWebhook: ReceivedWebhook{EventID: row.ID,
					IntegrationID: row.IntegrationID, ClientID: row.ClientID, Platform: row.Platform,
					DeliveryID: row.DeliveryID, EventType: row.EventType, WorkflowID: row.WorkflowID, Recorded: true},
					Workflows: in.Workflows})
				if err != nil {
					return out, err
				}
				out.Webhooks++
				out.Events += res.Messages
				out.Deliveries += res.Deliveries
				activity.RecordHeartbeat(ctx, pageBase, pageOffset)
				continue
			}
			events, err := st.EventsOfWebhook(ctx, row.ID)
			if err != nil {
				return out, classify(err)
			}
			emitted := make([]EmittedEvent, len(events))
			for i, e := range events {
				emitted[i] = EmittedEvent{ID: e.ID, Type: e.Type, Key: e.OrderingKey}
			}
			res, err := a.FanOut(ctx, FanOutInput{ClientID: in.ClientID, IntegrationID: row.IntegrationID, Events: emitted,
				Replay: in.ReplayID, Workflows: in.Workflows})
			if err != nil {
				return out, err
			}
			out.Webhooks++
			out.Events += len(events)
			out.Deliveries += res.Deliveries
			activity.RecordHeartbeat(ctx, pageBase, pageOffset)
		}
		activity.RecordHeartbeat(ctx, out, offset)
	}
}
