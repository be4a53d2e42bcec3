package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// WebhookStore is the part of schema.Store the webhook, delivery and messaging activities use.
type WebhookStore interface {
	GetIntegration(ctx context.Context, id string) (schema.IntegrationRow, error)
	RecordWebhookEvent(ctx context.Context, r schema.WebhookEventRow) (schema.WebhookEventRow, bool, error)
	GetWebhookEvent(ctx context.Context, id string) (schema.WebhookEventRow, error)
	ListWebhookEvents(ctx context.Context, f schema.WebhookEventFilter, page schema.Page) ([]schema.WebhookEventRow, error)
	FinishWebhookEvent(ctx context.Context, id, status string, messages, failed int, errText string) error
	InsertEvents(ctx context.Context, events []schema.EventRow) error
	GetEvent(ctx context.Context, id string) (schema.EventRow, error)
	EventsOfWebhook(ctx context.Context, webhookEventID string) ([]schema.EventRow, error)
	GetSubscription(ctx context.Context, id string) (schema.SubscriptionRow, error)
	ActiveSubscriptions(ctx context.Context, clientID, eventType string) ([]schema.SubscriptionRow, error)
	StartDelivery(ctx context.Context, eventID, subscriptionID, workflowID string) error
	GetDelivery(ctx context.Context, eventID, subscriptionID string) (schema.DeliveryRow, error)
	RecordDeliveryAttempt(ctx context.Context, a schema.DeliveryAttemptRow, delivered bool) error
	FinishDelivery(ctx context.Context, eventID, subscriptionID, status string, countFailure bool, disableAfter int) (bool, error)
}

// Starter starts and signals workflows; client.Client satisfies it. The fan-out uses it to
// start one delivery per event and subscription.
type Starter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
}

// Messaging is what the webhook family needs beyond the transaction log: its tables, the vault
// that opens credentials and secrets, the platforms' API client, and a Temporal client for the
// fan-out.
type Messaging struct {
	Store     WebhookStore
	Vault     *platform.Vault
	Platforms *platform.Sender
	Temporal  Starter
	// Deliveries posts events to subscriptions: no redirects followed, and (unless
	// WEBHOOK_ALLOW_PRIVATE_TARGETS) nothing inside the hub's network dialled. Activities.HTTP
	// when nil.
	Deliveries Doer
}

// ReceivedWebhook is a verified inbound webhook to record.
type ReceivedWebhook struct {
	EventID       string
	IntegrationID string
	ClientID      string
	Platform      string
	DeliveryID    string
	EventType     string
	WorkflowID    string
	Headers       map[string]string
	Body          []byte
	ReceivedAt    time.Time
	// Recorded: the API recorded it (an ordered integration's webhook, handed to its inbox by
	// id, without its headers and body).
	Recorded bool
}

// IngestInput is a verified webhook to record, normalize and fan out.
type IngestInput struct {
	ReceivedWebhook
	// Ordered sends events with a conversation key through their conversation's queue.
	Ordered   bool
	Workflows DeliveryWorkflows
}

// IngestResult is how ingesting a webhook ended: the seed's {messages, failed}.
type IngestResult struct {
	// Duplicate: the delivery id was received before; nothing was done again.
	Duplicate  bool
	Status     string
	Events     []string
	Messages   int
	Failed     int
	Deliveries int
	Error      string
}

// IngestWebhook stores a received webhook once per integration and delivery id, normalizes it
// into the platform's messages or events (stored for subscriptions), starts a delivery of each
// to every matching subscription, and records how that went: the whole fast path in one local
// activity, one round of database work. A repeat of the delivery id (received again after
// Temporal forgot the first run, or while the first waited in an ordered inbox) does nothing.
// Every step is idempotent, so a retry after a failure (a fan-out Temporal did not take) redoes
// only what is missing; an item that can never be fanned out is counted as failed.
func (a *Activities) IngestWebhook(ctx context.Context, in IngestInput) (IngestResult, error) {
	st := a.Messaging.Store
	row, repeat, err := a.recordWebhook(ctx, in.ReceivedWebhook)
	if err != nil {
		return IngestResult{}, classify(err)
	}
	if repeat {
		return IngestResult{Duplicate: true, Status: transaction.WebhookDuplicate}, nil
	}
	norm, err := a.normalizeWebhook(ctx, row)
	if err != nil {
		return IngestResult{}, classify(err)
	}
	res := IngestResult{Status: transaction.WebhookProcessed, Messages: len(norm.Events), Error: norm.Error}
	if norm.Error != "" {
		res.Status, res.Failed = transaction.WebhookFailed, 1
	}
	fan := FanOutInput{ClientID: in.ClientID, IntegrationID: in.IntegrationID, Ordered: in.Ordered, Workflows: in.Workflows}
	for _, e := range norm.Events {
		res.Events = append(res.Events, e.ID)
		n, err := a.fanOutOne(ctx, fan, e)
		switch {
		case errors.Is(err, schema.ErrNotFound) || errors.As(err, new(*InvalidRequestError)):
			res.Failed++
			res.Error = err.Error()
		case err != nil:
			return IngestResult{}, classify(err) // retried: the events fanned out already start nothing twice
		default:
			res.Deliveries += n
		}
	}
	if res.Failed > 0 && res.Status != transaction.WebhookFailed {
		res.Status = transaction.WebhookPartial
	}
	if err := st.FinishWebhookEvent(ctx, in.EventID, res.Status, res.Messages, res.Failed, res.Error); err != nil {
		return IngestResult{}, classify(err)
	}
	return res, nil
}

// EmittedEvent is an event stored for subscriptions, as the fan-out needs it.
type EmittedEvent struct {
	ID   string
	Type string
	// Key orders the event among its conversation's; empty when it has no order.
	Key string
}

// NormalizeResult is what a received webhook became.
type NormalizeResult struct {
	Events []EmittedEvent
	// Error says why the body could not be normalized (then Events is empty).
	Error string
}

// recordWebhook stores a received webhook once per integration and delivery id, and says whether
// it is a repeat. A row with this event's own id is this run's earlier attempt, not a repeat. A
// webhook the API recorded (an ordered integration's, handed to its inbox by id) is read, and it
// is a repeat once it has been ingested.
func (a *Activities) recordWebhook(ctx context.Context, in ReceivedWebhook) (row schema.WebhookEventRow, repeat bool, err error) {
	st := a.Messaging.Store
	if in.Recorded {
		row, err = st.GetWebhookEvent(ctx, in.EventID)
		return row, err == nil && row.Status != transaction.WebhookReceived, err
	}
	row, created, err := st.RecordWebhookEvent(ctx, schema.WebhookEventRow{ID: in.EventID,
		IntegrationID: in.IntegrationID, ClientID: in.ClientID, Platform: in.Platform, DeliveryID: in.DeliveryID,
		EventType: in.EventType, WorkflowID: in.WorkflowID, Headers: in.Headers, Body: in.Body, ReceivedAt: in.ReceivedAt})
	return row, err == nil && !created && row.ID != in.EventID, err
}

// normalizeWebhook turns a recorded webhook into the platform's normalized messages or events
// and stores each as an event for subscriptions. Event ids derive from the webhook and the
// item, so a retry stores nothing twice. A body that does not normalize is a result (Error).
func (a *Activities) normalizeWebhook(ctx context.Context, row schema.WebhookEventRow) (NormalizeResult, error) {
	st := a.Messaging.Store
	integration, err := st.GetIntegration(ctx, row.IntegrationID)
	if err != nil {
		return NormalizeResult{}, err
	}
	in := platform.Integration{ID: integration.ID, Name: integration.Name, Platform: platform.Name(integration.Platform)}
	if len(integration.Config) > 0 {
		_ = json.Unmarshal(integration.Config, &in.Config) // validated when stored
	}
	header := http.Header{}
	for k, v := range row.Headers {
		header.Set(k, v)
	}
	items, err := platform.Normalize(in, header, row.Body)
	if err != nil {
		return NormalizeResult{Error: err.Error()}, nil
	}
	rows := make([]schema.EventRow, 0, len(items))
	out := NormalizeResult{Events: make([]EmittedEvent, 0, len(items))}
	for i, item := range items {
		payload, err := eventPayload(item.Type, row.ReceivedAt, map[string]any{
			"integration_id": row.IntegrationID, "platform": row.Platform, "webhook_event_id": row.ID,
			"message": item.Message, "event": eventBody(item)})
		if err != nil {
			return NormalizeResult{}, &InvalidRequestError{Reason: "event payload: " + err.Error()}
		}
		id := eventID(row.ID, strconv.Itoa(i), item.ID)
		rows = append(rows, schema.EventRow{ID: id, ClientID: row.ClientID, Type: item.Type, IntegrationID: row.IntegrationID,
			WebhookEventID: sql.NullString{String: row.ID, Valid: true}, OrderingKey: item.Key, Payload: payload})
		out.Events = append(out.Events, EmittedEvent{ID: id, Type: item.Type, Key: item.Key})
	}
	if err := st.InsertEvents(ctx, rows); err != nil {
		return NormalizeResult{}, err
	}
	return out, nil
}

// eventBody is a non-message event's {type, data}; nil for messages.
func eventBody(item platform.Event) any {
	if item.Message != nil {
		return nil
	}
	return map[string]any{"type": item.Kind, "data": item.Data}
}

// eventPayload is the body subscribers receive: Standard Webhooks' {type, timestamp, data},
// without the data's empty members.
func eventPayload(eventType string, at time.Time, data map[string]any) (json.RawMessage, error) {
	for k, v := range data {
		if v == nil || v == (*platform.NormalizedMessage)(nil) {
			delete(data, k)
		}
	}
	return json.Marshal(map[string]any{"type": eventType, "timestamp": at.UTC().Format(time.RFC3339Nano), "data": data})
}

// eventID is "evt_" and a hash of what makes the event unique.
func eventID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "evt_" + hex.EncodeToString(h.Sum(nil))[:32]
}

// FinishWebhookInput is how processing a received webhook ended.
type FinishWebhookInput struct {
	ID       string
	Status   string
	Messages int
	Failed   int
	Error    string
}

// FinishWebhook records it.
func (a *Activities) FinishWebhook(ctx context.Context, in FinishWebhookInput) error {
	return classify(a.Messaging.Store.FinishWebhookEvent(ctx, in.ID, in.Status, in.Messages, in.Failed, in.Error))
}

// DeliveryWorkflows names what the fan-out starts; the workflows package fills it in.
type DeliveryWorkflows struct {
	TaskQueue string
	// Delivery delivers one event to one subscription (input DeliveryInput).
	Delivery string
	// Ordered is a conversation's delivery queue (input OrderedDeliveryInput, signal Signal
	// with a DeliveryInput).
	Ordered string
	Signal  string
}

// DeliveryInput is one event to deliver to one subscription.
type DeliveryInput struct {
	EventID        string
	SubscriptionID string
	ClientID       string
	// Replay is set on a replayed delivery (its own workflow, the same webhook-id).
	Replay string
}

// OrderedDeliveryInput is the queue of one conversation's events for one subscription.
type OrderedDeliveryInput struct {
	SubscriptionID string
	ClientID       string
	Key            string
	// Pending are events received and not yet delivered (carried over continue-as-new).
	Pending []DeliveryInput
}

// DeliveryWorkflowID is delivery:<event>:<subscription>, with the replay's id after a replay.
func DeliveryWorkflowID(eventID, subscriptionID, replay string) string {
	id := eventID + ":" + subscriptionID
	if replay != "" {
		id += ":replay-" + replay
	}
	return transaction.WorkflowID(transaction.KindDelivery, id)
}

// OrderedDeliveryWorkflowID is delivery:<subscription>:ordered:<hash of integration and key>:
// one queue per conversation and subscription.
func OrderedDeliveryWorkflowID(subscriptionID, integrationID, key string) string {
	sum := sha256.Sum256([]byte(integrationID + "\x00" + key))
	return transaction.WorkflowID(transaction.KindDelivery, subscriptionID+":ordered:"+hex.EncodeToString(sum[:12]))
}

// FanOutInput is a set of events to deliver to the client's matching subscriptions.
type FanOutInput struct {
	ClientID      string
	IntegrationID string
	Events        []EmittedEvent
	// Ordered delivers events with a key through their conversation's queue.
	Ordered   bool
	Replay    string
	Workflows DeliveryWorkflows
}

// FanOutResult counts the deliveries started and the events that could not be fanned out.
type FanOutResult struct {
	Deliveries int
	Failed     int
}

// FanOut starts a delivery per event and matching active subscription (or, for an ordered
// integration, adds the event to its conversation's queue). Deliveries are workflows with IDs
// of their own, so a retried fan-out starts nothing twice.
func (a *Activities) FanOut(ctx context.Context, in FanOutInput) (FanOutResult, error) {
	var out FanOutResult
	for _, e := range in.Events {
		n, err := a.fanOutOne(ctx, in, e)
		if err != nil {
			return out, classify(err)
		}
		out.Deliveries += n
	}
	return out, nil
}

func (a *Activities) fanOutOne(ctx context.Context, in FanOutInput, e EmittedEvent) (int, error) {
	m := a.Messaging
	subs, err := m.Store.ActiveSubscriptions(ctx, in.ClientID, e.Type)
	if err != nil {
		return 0, err
	}
	for _, sub := range subs {
		d := DeliveryInput{EventID: e.ID, SubscriptionID: sub.ID, ClientID: in.ClientID, Replay: in.Replay}
		if in.Ordered && e.Key != "" && in.Replay == "" {
			id := OrderedDeliveryWorkflowID(sub.ID, in.IntegrationID, e.Key)
			if err := m.Store.StartDelivery(ctx, e.ID, sub.ID, id); err != nil {
				return 0, err
			}
			_, err := m.Temporal.SignalWithStartWorkflow(ctx, id, in.Workflows.Signal, d,
				client.StartWorkflowOptions{ID: id, TaskQueue: in.Workflows.TaskQueue},
				in.Workflows.Ordered, OrderedDeliveryInput{SubscriptionID: sub.ID, ClientID: in.ClientID, Key: e.Key})
			if err != nil {
				return 0, err
			}
			continue
		}
		id := DeliveryWorkflowID(e.ID, sub.ID, in.Replay)
		if err := m.Store.StartDelivery(ctx, e.ID, sub.ID, id); err != nil {
			return 0, err
		}
		// Eager: this worker runs the delivery's first task (and its first attempt) at once.
		_, err := m.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: in.Workflows.TaskQueue,
			EnableEagerStart:                         true,
			WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
			WorkflowExecutionErrorWhenAlreadyStarted: true,
		}, in.Workflows.Delivery, d)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if err != nil && !errors.As(err, &started) {
			return 0, err
		}
	}
	return len(subs), nil
}

// DeliverInput is one attempt to deliver an event to a subscription.
type DeliverInput struct {
	EventID        string
	SubscriptionID string
	// WorkflowID is the delivering workflow's: an event already delivered by it is not sent again.
	WorkflowID string
	// AttemptOffset is added to Temporal's attempt number in the record: the attempts made before
	// this activity was scheduled (the first, a local activity).
	AttemptOffset int
}

// DeliverResult is the subscriber's answer.
type DeliverResult struct {
	StatusCode int
	// Finished is set when this workflow finished the event before (delivered or failed: it was
	// handed over twice); nothing was sent.
	Finished string
}

// maxSubscriberAnswer is how much of a subscriber's answer is read (and discarded).
const maxSubscriberAnswer = 64 << 10

// Deliver POSTs the event to the subscription's URL, signed with Standard Webhooks headers
// (webhook-id is the event id, the same on every attempt, so receivers can deduplicate), and
// records the attempt. A non-2xx answer or a transport error is retried by Temporal, after the
// subscriber's Retry-After when it sent one.
func (a *Activities) Deliver(ctx context.Context, in DeliverInput) (DeliverResult, error) {
	st := a.Messaging.Store
	if d, err := st.GetDelivery(ctx, in.EventID, in.SubscriptionID); err == nil && d.WorkflowID == in.WorkflowID &&
		(d.Status == transaction.DeliveryDelivered || d.Status == transaction.DeliveryFailed) {
		return DeliverResult{StatusCode: int(d.LastStatus.Int32), Finished: d.Status}, nil
	}
	sub, err := st.GetSubscription(ctx, in.SubscriptionID)
	if errors.Is(err, schema.ErrNotFound) || (err == nil && !sub.IsActive) {
		return DeliverResult{}, temporal.NewNonRetryableApplicationError("the subscription is disabled or deleted",
			transaction.ErrTypeSubscriptionDisabled, nil)
	}
	if err != nil {
		return DeliverResult{}, classify(err)
	}
	event, err := st.GetEvent(ctx, in.EventID)
	if err != nil {
		return DeliverResult{}, classify(err)
	}
	secret, err := a.Messaging.Vault.OpenSecret(sub.Secret)
	if err != nil {
		return DeliverResult{}, classify(&InvalidRequestError{Reason: err.Error()})
	}
	status, retryAfter, latency, sendErr := a.post(ctx, sub.URL, secret, event)
	attempt := schema.DeliveryAttemptRow{EventID: in.EventID, SubscriptionID: in.SubscriptionID, WorkflowID: in.WorkflowID,
		Attempt: in.AttemptOffset + int(activity.GetInfo(ctx).Attempt), LatencyMS: float64(latency.Microseconds()) / 1000}
	if status > 0 {
		attempt.StatusCode = sql.NullInt32{Int32: int32(status), Valid: true}
	}
	delivered := sendErr == nil && status >= 200 && status < 300
	if !delivered {
		attempt.Error = subscriberError(status, sendErr)
	}
	if err := st.RecordDeliveryAttempt(ctx, attempt, delivered); err != nil {
		return DeliverResult{}, classify(err)
	}
	if errors.Is(sendErr, platform.ErrPrivateAddress) {
		// Retrying cannot help: the subscription points inside the hub's network.
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(attempt.Error, transaction.ErrTypeInvalidRequest, nil)
	}
	if !delivered {
		return DeliverResult{}, temporal.NewApplicationErrorWithOptions(attempt.Error, transaction.ErrTypeSubscriberUnavailable,
			temporal.ApplicationErrorOptions{NextRetryDelay: retryAfter, Details: []any{status}})
	}
	return DeliverResult{StatusCode: status}, nil
}

// post sends one signed delivery.
func (a *Activities) post(ctx context.Context, url, secret string, event schema.EventRow) (status int,
	retryAfter, latency time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, a.Config.DeliveryTimeout)
	defer cancel()
	now := time.Now()
	header, err := platform.StandardHeaders(secret, event.ID, now, event.Payload)
	if err != nil {
		return 0, 0, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(event.Payload))
	if err != nil {
		return 0, 0, 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchyard-Webhooks/1")
	client := a.Messaging.Deliveries
	if client == nil {
		client = a.HTTP
	}
	resp, err := client.Do(req)
	latency = time.Since(now)
	if err != nil {
		return 0, 0, latency, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxSubscriberAnswer))
	return resp.StatusCode, provider.RetryAfter(resp.Header.Get("Retry-After"), time.Now()), latency, nil
}

// subscriberError describes a failed attempt without the subscriber's body.
func subscriberError(status int, err error) string {
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "the subscriber did not answer in time"
		}
		return "could not reach the subscriber: " + truncateError(err.Error())
	}
	return fmt.Sprintf("the subscriber answered %d", status)
}

func truncateError(s string) string {
	if len(s) > 300 {
		return s[:300]
	}
	return s
}

// FinishDeliveryInput is a delivery's final outcome.
type FinishDeliveryInput struct {
	EventID        string
	SubscriptionID string
	Status         string
	// CountFailure: a failed delivery counts towards disabling the subscription (not when the
	// subscription was already disabled or the event is gone).
	CountFailure bool
}

// FinishDelivery records it and keeps the subscription's run of failures; it reports whether
// this failure disabled the subscription (DELIVERY_DISABLE_AFTER failures in a row).
func (a *Activities) FinishDelivery(ctx context.Context, in FinishDeliveryInput) (disabled bool, err error) {
	disabled, err = a.Messaging.Store.FinishDelivery(ctx, in.EventID, in.SubscriptionID, in.Status, in.CountFailure,
		a.Config.DeliveryDisableAfter)
	return disabled, classify(err)
}
