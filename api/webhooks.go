package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// Webhook replay limits.
const (
	// maxReplayWindow bounds a replay by time window.
	maxReplayWindow = 31 * 24 * time.Hour
	// replayWait is how long a single event's replay is waited for before answering 202.
	replayWait = 5 * time.Second
)

// Reasons of switchyard_webhook_rejected_total.
const (
	rejectSignature   = "signature"
	rejectMalformed   = "malformed"
	rejectForbidden   = "forbidden"
	rejectUnsupported = "unsupported"
	rejectTooLarge    = "too_large"
)

func (s *Server) registerWebhooks(r gin.IRouter, with func(gin.HandlerFunc) []gin.HandlerFunc) {
	// Public: platforms authenticate by signing their requests. Addresses that fail too often
	// are refused first.
	limits := s.hub.failures
	both(r, http.MethodPost, WebhooksBase+"/:integration_id", limits.guard(s.receiveWebhook)...)
	both(r, http.MethodGet, WebhooksBase+"/:integration_id", limits.guard(s.webhookChallenge)...)

	both(r, http.MethodGet, WebhooksBase+"/events", with(s.listWebhookEvents)...)
	both(r, http.MethodPost, WebhooksBase+"/events/replay", with(s.replayWindow)...)
	both(r, http.MethodGet, WebhooksBase+"/events/:id", with(s.getWebhookEvent)...)
	both(r, http.MethodPost, WebhooksBase+"/events/:id/replay", with(s.replayEvent)...)
}

// isWebhookPath reports whether path is a platform's webhook route (not the events routes).
func isWebhookPath(path string) bool {
	rest, ok := strings.CutPrefix(path, WebhooksBase+"/")
	return ok && rest != "events" && !strings.HasPrefix(rest, "events/")
}

// webhookBodyLimit caps the bodies of platforms' webhooks at WEBHOOK_MAX_BODY, and every other
// request as general does.
func webhookBodyLimit(cfg Config, general gin.HandlerFunc) gin.HandlerFunc {
	webhook := limitBody(cfg.webhookMaxBody(), cfg.ReadTimeout, cfg.WriteTimeout)
	return func(c *gin.Context) {
		if c.Request.Method == http.MethodPost && isWebhookPath(c.Request.URL.Path) {
			webhook(c)
			return
		}
		general(c)
	}
}

// webhookFailures limits the webhooks for unknown or inactive integrations (404) a source
// address may send: WEBHOOK_FAILURE_IP_LIMIT per AUTH_FAILURE_WINDOW, coming back evenly over
// it, counted in the shared buckets (key webhook:ip:<address>, an IPv6 /64) so the limit holds
// across instances. Past it, a webhook from the address answers 429 TOO_MANY_FAILURES before
// anything is looked up, unless it names an integration this instance knows to be at work:
// platforms send every tenant's webhooks from a few shared addresses, and one tenant's stale
// integration must not stop the others'. Bad signatures are not counted (they cost no read and
// are counted in the rejection metric): one tenant's wrong secret must not either. Only failures touch the buckets: an address is refused
// from the in-process memo of when its bucket runs dry, so a verified webhook costs no extra
// round trip, and a flood from a refused address none at all. When the buckets do not answer,
// failures go uncounted (the limit protects capacity; a platform's deliveries must not fail
// with the database that counts).
type webhookFailures struct {
	// limits holds the buckets, the limit (perIP), the window and the refused memo.
	limits *failureLimits
	// atWork reports whether an integration id is known active here, without a read.
	atWork func(id string) bool
}

// webhookFailedKey marks, in a request's context, a webhook refused in a way that counts.
const webhookFailedKey = "switchyard.webhook_failed"

// newWebhookFailures returns nil when WEBHOOK_FAILURE_IP_LIMIT is 0.
func newWebhookFailures(cfg Config, buckets *sharedBuckets, logger *slog.Logger, atWork func(string) bool) *webhookFailures {
	if cfg.WebhookFailureIPLimit <= 0 {
		return nil
	}
	return &webhookFailures{limits: &failureLimits{buckets: buckets, perIP: cfg.WebhookFailureIPLimit,
		window: cfg.AuthFailureWindow, logger: logger, refused: map[string]time.Time{}}, atWork: atWork}
}

// guard puts handler behind the limit; without one, handler is all.
func (w *webhookFailures) guard(handler gin.HandlerFunc) []gin.HandlerFunc {
	if w == nil {
		return []gin.HandlerFunc{handler}
	}
	return []gin.HandlerFunc{w.check, handler}
}

// check refuses a webhook from an address known to have failed too often, and counts the
// failure of one it let through.
func (w *webhookFailures) check(c *gin.Context) {
	key := "webhook:ip:" + addressKey(c.ClientIP())
	if wait, refused := w.limits.refusedFor(key); refused && !w.atWork(c.Param("integration_id")) {
		writeError(c, tooManyWebhookFailures(wait))
		return
	}
	c.Next()
	if c.GetBool(webhookFailedKey) {
		w.count(c.Request.Context(), key)
	}
}

// count takes a token for a failure; once the bucket is empty, the address is refused until a
// token comes back.
func (w *webhookFailures) count(ctx context.Context, key string) {
	f := w.limits
	take, err := f.buckets.take(context.WithoutCancel(ctx), key, f.perIP, f.window)
	if err != nil {
		f.buckets.warn("Webhook failure limits unavailable: failures are not counted", err)
		return
	}
	state := bucketState{take: take, limit: f.perIP, period: f.window}
	if take.Taken && state.remaining() > 0 {
		return
	}
	wait := state.retryAfter()
	if _, known := f.refusedFor(key); !known {
		f.logger.Warn("Too many failed webhooks: refusing the address", "key", truncate(key, 160),
			"limit", f.perIP, "window", f.window.String(), "retry_after", wait.String())
	}
	f.refuse(key, wait)
}

// failedWebhook marks the request's failure as one webhookFailures counts.
func failedWebhook(c *gin.Context) { c.Set(webhookFailedKey, true) }

func tooManyWebhookFailures(wait time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyFailures,
		Message: "too many failed webhooks from this address: retry later",
		Header:  map[string]string{"Retry-After": retryAfterHeader(wait)}}
}

// webhookAccepted is the answer platforms get: at once, before any processing.
type webhookAccepted struct {
	Success   bool   `json:"success"`
	Accepted  bool   `json:"accepted"`
	Duplicate bool   `json:"duplicate,omitempty"`
	EventID   string `json:"event_id,omitempty"`
}

// receiveWebhook verifies a platform's webhook and starts WebhookIngest for it, answering as
// soon as the start returns. A repeated delivery starts nothing. Nothing is stored for a
// request that fails verification.
func (s *Server) receiveWebhook(c *gin.Context) {
	ctx := c.Request.Context()
	in, err := s.inboundIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	body, err := readCapped(c, s.cfg.webhookMaxBody())
	if err != nil {
		if toError(err).Status == http.StatusRequestEntityTooLarge {
			s.reject(in.Platform, rejectTooLarge)
		}
		writeError(c, err)
		return
	}
	now := time.Now()
	verified, err := platform.Verify(in.Integration, platform.Inbound{Method: c.Request.Method, Header: c.Request.Header,
		Query: c.Request.URL.Query(), Body: body, Now: now})
	if err != nil {
		writeError(c, s.verifyError(c, in.Platform, err))
		return
	}
	if verified.Challenge != nil {
		writeAnswer(c, *verified.Challenge)
		return
	}
	eventID := uuid.NewString()
	workflowID := workflows.WebhookWorkflowID(in.ID, verified.DeliveryID)
	input := workflows.WebhookInput{EventID: eventID, IntegrationID: in.ID, ClientID: in.owner,
		Platform: string(in.Platform), DeliveryID: verified.DeliveryID, EventType: verified.EventType,
		Headers: storedHeaders(in.Integration, c.Request.Header), Body: body, ReceivedAt: now, Ordered: in.Config.Ordered}
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	memo := transaction.Memo{Kind: transaction.KindWebhook, ClientID: in.owner, Label: labelWebhook,
		Method: http.MethodPost, Path: WebhooksBase + "/" + in.ID}
	if in.Config.Ordered {
		s.receiveOrdered(startCtx, c, in.Platform, verified.EventType, input, memo)
		return
	}
	_, err = s.startRun(startCtx, workflowID, workflows.TaskQueueWebhook, workflows.WorkflowWebhookIngest, input, memo)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		acceptWebhook(c, in.Platform, verified.EventType, webhookAccepted{Success: true, Accepted: true, Duplicate: true})
	case err != nil:
		writeError(c, unavailable(c, workflowID, err))
	default:
		acceptWebhook(c, in.Platform, verified.EventType, webhookAccepted{Success: true, Accepted: true, EventID: eventID})
	}
}

// receiveOrdered hands a webhook of an ordered integration to the integration's inbox
// (OrderedIngest, signal-with-start), so webhooks are ingested in the order this API received
// them. The webhook is recorded here first (once per delivery id: a repeat is a duplicate), and
// the signal carries its id, not its body: an inbox that falls behind a burst keeps its history
// and its continue-as-new input small. A webhook recorded but never handed over (Temporal was
// down; the platform retries) is handed over again.
func (s *Server) receiveOrdered(ctx context.Context, c *gin.Context, name platform.Name, eventType string,
	input workflows.WebhookInput, memo transaction.Memo) {
	integrationID, owner := input.IntegrationID, input.ClientID
	id := workflows.OrderedIngestWorkflowID(integrationID)
	row, created, err := s.store.RecordWebhookEvent(ctx, schema.WebhookEventRow{ID: input.EventID, IntegrationID: integrationID,
		ClientID: owner, Platform: input.Platform, DeliveryID: input.DeliveryID, EventType: input.EventType, WorkflowID: id,
		Headers: input.Headers, Body: input.Body, ReceivedAt: input.ReceivedAt})
	if err != nil {
		writeError(c, unavailable(c, id, err))
		return
	}
	if !created && row.Status != transaction.WebhookReceived {
		acceptWebhook(c, name, eventType, webhookAccepted{Success: true, Accepted: true, Duplicate: true})
		return
	}
	handover := input
	handover.EventID, handover.Headers, handover.Body, handover.Recorded = row.ID, nil, nil, true
	_, err = s.temporal.SignalWithStartWorkflow(ctx, id, workflows.SignalWebhook, handover,
		client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueueWebhook,
			Memo: map[string]any{transaction.MemoKey: memo}},
		workflows.WorkflowOrderedIngest, workflows.OrderedIngestInput{IntegrationID: integrationID, ClientID: owner})
	if err != nil {
		writeError(c, unavailable(c, id, err))
		return
	}
	acceptWebhook(c, name, eventType, webhookAccepted{Success: true, Accepted: true, EventID: row.ID})
}

// storedHeaders are the headers kept with a received webhook: platform.StoredHeaders, and never
// the integration's own signature header, whatever its name.
func storedHeaders(in platform.Integration, h http.Header) map[string]string {
	kept := platform.StoredHeaders(h)
	if in.Config.SignatureHeader != "" {
		delete(kept, http.CanonicalHeaderKey(in.Config.SignatureHeader))
	}
	return kept
}

// acceptWebhook answers a taken webhook: the event id in X-Switchyard-Event-Id, and the body
// the platform requires (Discord's deferred interaction answer) or the hub's own.
func acceptWebhook(c *gin.Context, name platform.Name, eventType string, body webhookAccepted) {
	if body.EventID != "" {
		c.Header(EventIDHeader, body.EventID)
	}
	if answer := platform.Accepted(name, eventType); answer != nil {
		writeAnswer(c, *answer)
		return
	}
	c.JSON(http.StatusOK, body)
}

// EventIDHeader names the received webhook's event id on the answer to its platform.
const EventIDHeader = "X-Switchyard-Event-Id"

// webhookChallenge answers a platform's GET verification of the webhook URL (WhatsApp's
// hub.challenge): the echo, 403 on a wrong token, 404 for platforms without one.
func (s *Server) webhookChallenge(c *gin.Context) {
	in, err := s.inboundIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	answer, err := platform.Challenge(in.Integration, c.Request.URL.Query())
	switch {
	case errors.Is(err, platform.ErrUnsupported):
		writeError(c, newError(http.StatusNotFound, CodeNotFound, "this platform sends no verification challenge"))
	case errors.Is(err, platform.ErrMalformed):
		writeError(c, fieldError("hub.challenge", "missing or too long"))
	case err != nil:
		writeError(c, s.verifyError(c, in.Platform, err))
	default:
		writeAnswer(c, answer)
	}
}

// inboundIntegration is the active integration the webhook route names; an unknown or inactive
// one is a failure webhookFailures counts.
func (s *Server) inboundIntegration(c *gin.Context) (inboundIntegration, error) {
	in, err := s.hub.inbound.get(c.Request.Context(), c.Param("integration_id"))
	if errors.Is(err, errNoIntegration) {
		failedWebhook(c)
	}
	return in, err
}

// verifyError maps a verification failure to its answer and counts it in the rejection metric. Whatever it is, it is the sender's doing: never a 5xx.
func (s *Server) verifyError(c *gin.Context, name platform.Name, err error) *Error {
	switch {
	case errors.Is(err, platform.ErrSignature):
		s.reject(name, rejectSignature)
		return newError(http.StatusUnauthorized, CodeInvalidSignature, "webhook signature verification failed")
	case errors.Is(err, platform.ErrForbidden):
		s.reject(name, rejectForbidden)
		return newError(http.StatusForbidden, CodeForbidden, "verification token mismatch")
	case errors.Is(err, platform.ErrMalformed):
		s.reject(name, rejectMalformed)
		return newError(http.StatusBadRequest, CodeMalformedJSON, malformedMessage(err))
	}
	s.reject(name, rejectUnsupported)
	logger(c).Warn("Webhook refused", "platform", string(name), "error", err.Error())
	return newError(http.StatusBadRequest, CodeValidation, "this request is not a webhook the platform sends")
}

// malformedMessage is what a client sees of a malformed body: the platform's reason, which
// never holds a secret.
func malformedMessage(err error) string {
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	if !utf8.ValidString(msg) {
		return platform.ErrMalformed.Error()
	}
	return msg
}

func (s *Server) reject(name platform.Name, reason string) {
	s.hub.rejected.WithLabelValues(string(name), reason).Inc()
}

// writeAnswer writes a platform's expected answer verbatim.
func writeAnswer(c *gin.Context, a platform.Answer) {
	status, contentType := a.Status, a.ContentType
	if status == 0 {
		status = http.StatusOK
	}
	if status == http.StatusNoContent {
		c.Status(status)
		return
	}
	if contentType == "" {
		contentType = "text/plain; charset=utf-8"
	}
	c.Data(status, contentType, a.Body)
}

// --- received webhooks --------------------------------------------------------------------

// webhookEventView is a received webhook as its client reads it.
type webhookEventView struct {
	ID            string     `json:"id"`
	IntegrationID string     `json:"integration_id"`
	Platform      string     `json:"platform"`
	DeliveryID    string     `json:"delivery_id"`
	EventType     string     `json:"event_type"`
	WorkflowID    string     `json:"workflow_id"`
	Status        string     `json:"status"`
	Messages      int        `json:"messages"`
	Failed        int        `json:"failed"`
	Error         string     `json:"error,omitempty"`
	ReceivedAt    time.Time  `json:"received_at"`
	ProcessedAt   *time.Time `json:"processed_at,omitempty"`
}

// webhookEventDetail is the single read of a received webhook: what the list shows, the
// request as received, and the events it produced.
type webhookEventDetail struct {
	webhookEventView
	Headers map[string]string `json:"headers"`
	// Body is the JSON body as JSON, another body as a string (base64 when BodyEncoding says so).
	Body         any         `json:"body"`
	BodyEncoding string      `json:"body_encoding,omitempty"`
	Events       []eventView `json:"events"`
}

func newWebhookEventView(r schema.WebhookEventRow) webhookEventView {
	v := webhookEventView{ID: r.ID, IntegrationID: r.IntegrationID, Platform: r.Platform, DeliveryID: r.DeliveryID,
		EventType: r.EventType, WorkflowID: r.WorkflowID, Status: r.Status, Messages: r.Messages, Failed: r.Failed,
		Error: r.Error, ReceivedAt: r.ReceivedAt}
	if r.ProcessedAt.Valid {
		v.ProcessedAt = &r.ProcessedAt.Time
	}
	return v
}

// bodyValue is a received body as JSON when it parses, else as a string (base64 when it is
// not UTF-8).
func bodyValue(body []byte) (value any, encoding string) {
	switch {
	case json.Valid(body):
		return json.RawMessage(body), ""
	case utf8.Valid(body):
		return string(body), ""
	}
	return base64.StdEncoding.EncodeToString(body), "base64"
}

// eventView is an event the hub emitted from a received webhook.
type eventView struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	OrderingKey string          `json:"ordering_key"`
	Payload     json.RawMessage `json:"payload"`
	CreatedAt   time.Time       `json:"created_at"`
	Deliveries  []deliveryView  `json:"deliveries"`
}

// deliveryView is an event's delivery to one subscription.
type deliveryView struct {
	SubscriptionID string     `json:"subscription_id"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastStatus     *int32     `json:"last_status,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
	WorkflowID     string     `json:"workflow_id"`
	// AttemptLog lists every HTTP attempt (?attempts=true).
	AttemptLog []attemptView `json:"attempt_log,omitempty"`
}

// attemptView is one HTTP attempt of a delivery.
type attemptView struct {
	Attempt    int       `json:"attempt"`
	StatusCode *int32    `json:"status_code,omitempty"`
	LatencyMS  float64   `json:"latency_ms"`
	Error      string    `json:"error,omitempty"`
	WorkflowID string    `json:"workflow_id"`
	At         time.Time `json:"at"`
}

func (s *Server) listWebhookEvents(c *gin.Context) {
	f := schema.WebhookEventFilter{ClientID: currentClient(c).ID, IntegrationID: c.Query("integration_id")}
	if f.IntegrationID != "" {
		if _, err := uuid.Parse(f.IntegrationID); err != nil {
			writeError(c, fieldError("integration_id", "must be an integration id"))
			return
		}
	}
	var err error
	if f.Since, err = timeParam(c, "since"); err != nil {
		writeError(c, err)
		return
	}
	if f.Until, err = timeParam(c, "until"); err != nil {
		writeError(c, err)
		return
	}
	listed(c, func(p schema.Page) ([]schema.WebhookEventRow, error) {
		return s.store.ListWebhookEvents(c.Request.Context(), f, p)
	}, newWebhookEventView)
}

// timeParam reads an optional RFC 3339 query parameter.
func timeParam(c *gin.Context, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fieldError(name, "must be an RFC 3339 time such as 2025-01-31T12:00:00Z")
	}
	return t, nil
}

// ownWebhookEvent reads the caller's received webhook named by :id; another client's is not
// found.
func (s *Server) ownWebhookEvent(c *gin.Context) (schema.WebhookEventRow, error) {
	notFound := newError(http.StatusNotFound, CodeNotFound, "no such webhook event")
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return schema.WebhookEventRow{}, notFound
	}
	row, err := s.store.GetWebhookEvent(c.Request.Context(), id)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return row, notFound
	case err != nil:
		return row, err
	case row.ClientID != currentClient(c).ID:
		return schema.WebhookEventRow{}, notFound
	}
	return row, nil
}

// getWebhookEvent answers a received webhook with the events it produced and their
// deliveries (and, with ?attempts=true, every delivery attempt).
func (s *Server) getWebhookEvent(c *gin.Context) {
	withAttempts := c.Query("attempts") == "true"
	row, err := s.ownWebhookEvent(c)
	if err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	events, err := s.store.EventsOfWebhook(ctx, row.ID)
	if err != nil {
		writeError(c, err)
		return
	}
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	deliveries := map[string][]deliveryView{}
	if len(ids) > 0 {
		rows, err := s.store.DeliveriesOf(ctx, ids)
		if err != nil {
			writeError(c, err)
			return
		}
		for _, d := range rows {
			dv := deliveryView{SubscriptionID: d.SubscriptionID, Status: d.Status, Attempts: d.Attempts,
				LastError: d.LastError, WorkflowID: d.WorkflowID}
			if d.LastStatus.Valid {
				dv.LastStatus = &d.LastStatus.Int32
			}
			if d.DeliveredAt.Valid {
				dv.DeliveredAt = &d.DeliveredAt.Time
			}
			if withAttempts {
				attempts, err := s.store.DeliveryAttempts(ctx, d.EventID, d.SubscriptionID)
				if err != nil {
					writeError(c, err)
					return
				}
				dv.AttemptLog = make([]attemptView, 0, len(attempts))
				for _, a := range attempts {
					av := attemptView{Attempt: a.Attempt, LatencyMS: a.LatencyMS, Error: a.Error, WorkflowID: a.WorkflowID,
						At: a.CreatedAt}
					if a.StatusCode.Valid {
						av.StatusCode = &a.StatusCode.Int32
					}
					dv.AttemptLog = append(dv.AttemptLog, av)
				}
			}
			deliveries[d.EventID] = append(deliveries[d.EventID], dv)
		}
	}
	v := webhookEventDetail{webhookEventView: newWebhookEventView(row), Headers: row.Headers,
		Events: make([]eventView, 0, len(events))}
	if v.Headers == nil {
		v.Headers = map[string]string{}
	}
	v.Body, v.BodyEncoding = bodyValue(row.Body)
	for _, e := range events {
		payload := e.Payload
		if len(payload) == 0 {
			payload = json.RawMessage(`{}`)
		}
		ds := deliveries[e.ID]
		if ds == nil {
			ds = []deliveryView{}
		}
		v.Events = append(v.Events, eventView{ID: e.ID, Type: e.Type, OrderingKey: e.OrderingKey, Payload: payload,
			CreatedAt: e.CreatedAt, Deliveries: ds})
	}
	writeData(c, http.StatusOK, v)
}

// --- replays ------------------------------------------------------------------------------

// ReplayRequest re-delivers the events of the caller's webhooks received in [since, until).
type ReplayRequest struct {
	// Since and Until are RFC 3339 times; Until defaults to now.
	Since         string `json:"since"`
	Until         string `json:"until"`
	IntegrationID string `json:"integration_id"`
}

// replayView names a started replay, and once it finished what it did.
type replayView struct {
	ReplayID   string `json:"replay_id"`
	WorkflowID string `json:"workflow_id"`
	*workflows.ReplayResult
}

// replayEvent re-delivers one received webhook's events to the subscriptions that want them,
// answering the counts when the replay finishes within replayWait and 202 otherwise.
func (s *Server) replayEvent(c *gin.Context) {
	row, err := s.ownWebhookEvent(c)
	if err != nil {
		writeError(c, err)
		return
	}
	who := currentClient(c)
	replayID := uuid.NewString()
	workflowID := "replay:" + replayID
	run, err := s.startRun(c.Request.Context(), workflowID, workflows.TaskQueueWebhook, workflows.WorkflowWebhookReplay,
		workflows.ReplayInput{ReplayID: replayID, ClientID: who.ID, WebhookEventIDs: []string{row.ID}},
		transaction.Memo{Kind: transaction.KindWebhook, ClientID: who.ID, Label: labelReplay, Method: http.MethodPost,
			Path: WebhooksBase + "/events/" + row.ID + "/replay"})
	if err != nil {
		writeError(c, unavailable(c, workflowID, err))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), replayWait)
	defer cancel()
	var res workflows.ReplayResult
	err = run.Get(ctx, &res)
	switch {
	case err == nil:
		writeData(c, http.StatusOK, replayView{ReplayID: replayID, WorkflowID: workflowID, ReplayResult: &res})
	case waitExpired(ctx, err):
		writeData(c, http.StatusAccepted, replayView{ReplayID: replayID, WorkflowID: workflowID})
	default:
		logger(c).Error("Replay failed", "workflow_id", workflowID, "error", err.Error())
		writeError(c, &Error{Status: http.StatusBadGateway, Code: CodeReplayFailed, Message: "the replay could not be completed",
			Details: map[string]any{"replay_id": replayID, "workflow_id": workflowID}})
	}
}

// replayWindow re-delivers the events of every webhook the caller received in a window (of one
// of its integrations when integration_id is given), answering 202 at once.
func (s *Server) replayWindow(c *gin.Context) {
	var req ReplayRequest
	if err := decodeJSON(c, s.cfg.MaxRequestBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	if req.Since == "" {
		writeError(c, fieldError("since", "required (RFC 3339)"))
		return
	}
	since, err := time.Parse(time.RFC3339, req.Since)
	if err != nil {
		writeError(c, fieldError("since", "must be an RFC 3339 time such as 2025-01-31T12:00:00Z"))
		return
	}
	until := time.Now()
	if req.Until != "" {
		if until, err = time.Parse(time.RFC3339, req.Until); err != nil {
			writeError(c, fieldError("until", "must be an RFC 3339 time such as 2025-01-31T12:00:00Z"))
			return
		}
	}
	switch {
	case !since.Before(until):
		writeError(c, fieldError("since", "must be before until"))
		return
	case until.Sub(since) > maxReplayWindow:
		writeError(c, fieldError("until", "the window must be at most 31 days"))
		return
	}
	who := currentClient(c)
	if req.IntegrationID != "" {
		row, err := s.anyIntegration(c.Request.Context(), req.IntegrationID)
		if err == nil && row.ClientID != who.ID {
			err = errNoIntegration
		}
		if err != nil {
			writeError(c, err)
			return
		}
	}
	replayID := uuid.NewString()
	workflowID := "replay:" + replayID
	_, err = s.startRun(c.Request.Context(), workflowID, workflows.TaskQueueWebhook, workflows.WorkflowWebhookReplay,
		workflows.ReplayInput{ReplayID: replayID, ClientID: who.ID, IntegrationID: req.IntegrationID,
			Since: since.UTC(), Until: until.UTC()},
		transaction.Memo{Kind: transaction.KindWebhook, ClientID: who.ID, Label: labelReplay, Method: http.MethodPost,
			Path: WebhooksBase + "/events/replay"})
	if err != nil {
		writeError(c, unavailable(c, workflowID, err))
		return
	}
	writeData(c, http.StatusAccepted, replayView{ReplayID: replayID, WorkflowID: workflowID})
}
