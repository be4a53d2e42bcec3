package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// NotificationConfig is the notification family's settings: its own SMS gateway and SMTP relay
// (seed 001's NOTIFICATION_* variables; unset, the hub's SMS_ and EMAIL_ issuers serve),
// a second gateway and relay used while the first's circuit breaker is open, and the pace of
// retries and escalations.
type NotificationConfig struct {
	SMTPHost     string        `envconfig:"NOTIFICATION_SMTP_HOST"`
	SMTPPort     int           `envconfig:"NOTIFICATION_SMTP_PORT" default:"587"`
	SMTPUsername string        `envconfig:"NOTIFICATION_SMTP_USERNAME"`
	SMTPPassword string        `envconfig:"NOTIFICATION_SMTP_PASSWORD"`
	SMTPUseTLS   bool          `envconfig:"NOTIFICATION_SMTP_USE_TLS" default:"true"`
	SMTPUseSSL   bool          `envconfig:"NOTIFICATION_SMTP_USE_SSL"`
	SMTPTimeout  time.Duration `envconfig:"NOTIFICATION_SMTP_TIMEOUT" default:"10s"`
	FromEmail    string        `envconfig:"NOTIFICATION_FROM_EMAIL"`
	// SMTPFallbackHost (and its port) is a second relay, same credentials and TLS.
	SMTPFallbackHost string `envconfig:"NOTIFICATION_SMTP_FALLBACK_HOST"`
	SMTPFallbackPort int    `envconfig:"NOTIFICATION_SMTP_FALLBACK_PORT" default:"587"`

	// SMSURL is the gateway's send endpoint (POST, JSON {to, message, sender_id}).
	SMSURL   string `envconfig:"NOTIFICATION_SMS_URL"`
	SMSToken string `envconfig:"NOTIFICATION_SMS_TOKEN"`
	// SMSAuthHeader is a raw Authorization header; it wins over SMSToken.
	SMSAuthHeader string        `envconfig:"NOTIFICATION_SMS_AUTH_HEADER"`
	SMSTimeout    time.Duration `envconfig:"NOTIFICATION_SMS_TIMEOUT" default:"10s"`
	SMSSenderID   string        `envconfig:"NOTIFICATION_SMS_SENDER_ID"`
	// SMSFallbackURL is a second gateway (its own token or header).
	SMSFallbackURL        string `envconfig:"NOTIFICATION_SMS_FALLBACK_URL"`
	SMSFallbackToken      string `envconfig:"NOTIFICATION_SMS_FALLBACK_TOKEN"`
	SMSFallbackAuthHeader string `envconfig:"NOTIFICATION_SMS_FALLBACK_AUTH_HEADER"`

	// RetryInitialInterval is the first wait between a message's attempts (doubling, at most
	// RetryMaxInterval); a rule's max_attempts bounds them.
	RetryInitialInterval time.Duration `envconfig:"NOTIFICATION_RETRY_INITIAL_INTERVAL" default:"2s"`
	RetryMaxInterval     time.Duration `envconfig:"NOTIFICATION_RETRY_MAX_INTERVAL" default:"5m"`
	// EscalationRenotify is how often an escalation tells the on-call recipients again.
	EscalationRenotify time.Duration `envconfig:"NOTIFICATION_ESCALATION_RENOTIFY" default:"15m"`
}

// Validate rejects settings the transports cannot use.
func (c NotificationConfig) Validate() error {
	for name, u := range map[string]string{"NOTIFICATION_SMS_URL": c.SMSURL, "NOTIFICATION_SMS_FALLBACK_URL": c.SMSFallbackURL} {
		if u == "" {
			continue
		}
		if _, _, err := splitEndpoint(u); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if c.RetryInitialInterval <= 0 || c.RetryMaxInterval < c.RetryInitialInterval || c.EscalationRenotify < time.Second {
		return errors.New("NOTIFICATION_RETRY_INITIAL_INTERVAL must be positive, NOTIFICATION_RETRY_MAX_INTERVAL at least " +
			"it, NOTIFICATION_ESCALATION_RENOTIFY at least 1s")
	}
	return nil
}

// splitEndpoint cuts a send endpoint into the base URL and the path the provider stack routes.
func splitEndpoint(raw string) (base, path string, err error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", errors.New("not an http(s) URL")
	}
	path = u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	return u.Scheme + "://" + u.Host, path, nil
}

// NotificationTransports are the senders of each channel; a fallback serves an attempt when the
// first one's circuit breaker is open. In-app messages need none: they are rows.
type NotificationTransports struct {
	SMS, SMSFallback     provider.Caller
	Email, EmailFallback provider.Caller
	Push                 provider.Caller
	// SenderID goes with every SMS (NOTIFICATION_SMS_SENDER_ID).
	SenderID string
}

// IssuerCallers gives the hub's issuers' callers; *provider.Set satisfies it.
type IssuerCallers interface {
	Caller(issuer string) (provider.Caller, error)
}

// NewNotificationTransports builds the channels' senders on the provider stack: the
// NOTIFICATION_* gateway and relay when set, else the hub's sms and email issuers (which
// `switchyard dev` and the tests point at the simulators); push is always the hub's issuer.
func NewNotificationTransports(cfg NotificationConfig, hub IssuerCallers, metrics *provider.Metrics) (NotificationTransports, error) {
	t := NotificationTransports{SenderID: cfg.SMSSenderID}
	var err error
	sms := func(issuer, endpoint, token, header string) (provider.Caller, error) {
		base, path, err := splitEndpoint(endpoint)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", issuer, err)
		}
		pc := provider.Config{Issuer: issuer, Prefix: "NOTIFICATION_SMS", BaseURL: base, Timeout: cfg.SMSTimeout,
			StrictTLS: true, RejectUnauthorized: true, ResponseFormat: provider.FormatJSON, Transport: "http",
			URIMap:          map[string]provider.Route{provider.OpSendSMS: {Method: "POST", Path: path}},
			Auth:            provider.Auth{Type: provider.AuthNone},
			BreakerFailures: 5, BreakerOpenTimeout: 30 * time.Second, MaxResponseBytes: 64 << 10,
			Retry: transaction.RetryPolicy{MaxAttempts: 1}}
		switch {
		case header != "":
			pc.Headers = map[string]string{"Authorization": header}
		case token != "":
			pc.Auth = provider.Auth{Type: provider.AuthBearer, Token: token}
		}
		return provider.NewClient(pc, metrics)
	}
	mailer := func(issuer, host string, port int) (provider.Caller, error) {
		mode := "none"
		switch {
		case cfg.SMTPUseSSL:
			mode = "tls"
		case cfg.SMTPUseTLS:
			mode = "starttls"
		}
		from := cfg.FromEmail
		if from == "" {
			from = "Switchyard <no-reply@switchyard.local>"
		}
		return provider.NewMailer(provider.Config{Issuer: issuer, Prefix: "NOTIFICATION_SMTP", Timeout: cfg.SMTPTimeout,
			StrictTLS: true, BreakerFailures: 5, BreakerOpenTimeout: 30 * time.Second,
			SMTP: provider.SMTP{Addr: fmt.Sprintf("%s:%d", host, port), Username: cfg.SMTPUsername,
				Password: cfg.SMTPPassword, TLS: mode, From: from}}, metrics)
	}
	if cfg.SMSURL != "" {
		if t.SMS, err = sms("notification_sms", cfg.SMSURL, cfg.SMSToken, cfg.SMSAuthHeader); err != nil {
			return t, err
		}
	} else if hub != nil {
		if t.SMS, err = hub.Caller(provider.IssuerSMS); err != nil {
			return t, err
		}
	}
	if cfg.SMSFallbackURL != "" {
		if t.SMSFallback, err = sms("notification_sms_fallback", cfg.SMSFallbackURL, cfg.SMSFallbackToken,
			cfg.SMSFallbackAuthHeader); err != nil {
			return t, err
		}
	}
	if cfg.SMTPHost != "" {
		if t.Email, err = mailer("notification_email", cfg.SMTPHost, cfg.SMTPPort); err != nil {
			return t, err
		}
	} else if hub != nil {
		if t.Email, err = hub.Caller(provider.IssuerEmail); err != nil {
			return t, err
		}
	}
	if cfg.SMTPFallbackHost != "" {
		if t.EmailFallback, err = mailer("notification_email_fallback", cfg.SMTPFallbackHost, cfg.SMTPFallbackPort); err != nil {
			return t, err
		}
	}
	if hub != nil {
		if t.Push, err = hub.Caller(provider.IssuerPush); err != nil {
			return t, err
		}
	}
	return t, nil
}

// DeliveryPlan is a message's state when its delivery starts, and the worker's retry settings
// for it (resolved once, so a replay keeps them).
type DeliveryPlan struct {
	Status       string
	Final        bool
	Critical     bool
	AttemptCount int
	MaxAttempts  int
	// RetryInitial and RetryMax shape the backoff between attempts.
	RetryInitial time.Duration
	RetryMax     time.Duration
	// Renotify is the escalation's re-notify period.
	Renotify time.Duration
}

// PrepareDelivery reads a message's state for its delivery.
func (a *Activities) PrepareDelivery(ctx context.Context, outboxID string) (DeliveryPlan, error) {
	row, err := a.Notifications.Store.GetOutbox(ctx, outboxID)
	if err != nil {
		return DeliveryPlan{}, classify(fmt.Errorf("reading message %s: %w", outboxID, err))
	}
	c := a.Config.Notification
	return DeliveryPlan{Status: row.Status, Final: row.Final, Critical: row.Critical, AttemptCount: row.AttemptCount,
		MaxAttempts: max(row.MaxAttempts, 1), RetryInitial: c.RetryInitialInterval, RetryMax: c.RetryMaxInterval,
		Renotify: c.EscalationRenotify}, nil
}

// WaitingInput is a message that waits until At (its recipient's quiet hours).
type WaitingInput struct {
	OutboxID string
	At       time.Time
}

// MarkOutboxWaiting records that a message waits out its recipient's quiet hours.
func (a *Activities) MarkOutboxWaiting(ctx context.Context, in WaitingInput) error {
	return classify(a.Notifications.Store.SetOutboxWaiting(ctx, in.OutboxID, in.At))
}

// SendNotificationInput is one attempt at a message.
type SendNotificationInput struct {
	OutboxID    string
	MaxAttempts int
	// AttemptOffset is added to Temporal's attempt number: the attempts made before (an
	// escalation's retry gets a new budget after them).
	AttemptOffset int
	// Reopen sends a message that failed for good (an operator's retry).
	Reopen bool
	// RetryInitial and RetryMax are the backoff, for the next_attempt_at the row shows.
	RetryInitial time.Duration
	RetryMax     time.Duration
}

// SendNotificationResult is how a message's delivery stands after an attempt.
type SendNotificationResult struct {
	OutboxID           string
	Status             string
	Attempt            int
	Final              bool
	EscalationRequired bool
	Provider           string `json:",omitempty"`
	Error              string `json:",omitempty"`
}

// sendError is a failed send: retryable unless the provider refused it for good.
type sendError struct {
	reason    string
	retryable bool
	provider  string
}

func (e *sendError) Error() string { return e.reason }

// SendNotification makes one attempt at a message on its channel and records it (delivery_log
// and the outbox mirror). A failure while attempts remain is recorded QUEUED with the next
// attempt's time and returned as a retryable error; the last one, or a refusal no retry can
// fix, is recorded FAILED and final (escalation_required for a critical message) and returned
// as the result.
func (a *Activities) SendNotification(ctx context.Context, in SendNotificationInput) (SendNotificationResult, error) {
	st := a.Notifications.Store
	row, err := st.GetOutbox(ctx, in.OutboxID)
	if err != nil {
		return SendNotificationResult{}, classify(fmt.Errorf("reading message %s: %w", in.OutboxID, err))
	}
	done := func(r schema.OutboxRow) SendNotificationResult {
		return SendNotificationResult{OutboxID: r.ID, Status: r.Status, Attempt: r.AttemptCount, Final: r.Final,
			EscalationRequired: r.EscalationRequired, Provider: r.Provider, Error: r.Error}
	}
	if row.Status == transaction.OutboxSent || row.Status == transaction.OutboxDelivered || (row.Final && !in.Reopen) {
		return done(row), nil
	}
	try := int(activity.GetInfo(ctx).Attempt)
	attempt := in.AttemptOffset + try
	started := time.Now()
	prov, messageID, sendErr := a.deliver(ctx, row)
	rec := schema.DeliveryAttempt{Log: schema.DeliveryLogRow{OutboxID: row.ID, Attempt: attempt, Provider: prov,
		ProviderMessageID: messageID, LatencyMS: float64(time.Since(started).Microseconds()) / 1000}}
	var se *sendError
	switch {
	case sendErr == nil:
		rec.Status = transaction.OutboxSent
		if row.Channel == ChannelInApp {
			rec.Status = transaction.OutboxDelivered
		}
		rec.Log.Status = rec.Status
	case errors.As(sendErr, &se) && se.retryable && try < in.MaxAttempts:
		rec.Status, rec.Log.Status, rec.Log.Error = transaction.OutboxQueued, transaction.OutboxFailed, se.reason
		next := time.Now().Add(backoff(in.RetryInitial, in.RetryMax, try))
		rec.NextAttemptAt = &next
	default:
		rec.Status, rec.Log.Status, rec.Log.Error = transaction.OutboxFailed, transaction.OutboxFailed, sendErr.Error()
		rec.Final, rec.EscalationRequired = true, row.Critical
	}
	saved, err := st.RecordNotificationAttempt(ctx, rec)
	if err != nil {
		return SendNotificationResult{}, classify(fmt.Errorf("recording attempt %d of %s: %w", attempt, row.ID, err))
	}
	if rec.Status == transaction.OutboxQueued {
		return SendNotificationResult{}, temporal.NewApplicationError(se.reason, transaction.ErrTypeProviderUnavailable,
			SendNotificationResult{OutboxID: row.ID, Status: rec.Status, Attempt: attempt, Provider: prov, Error: se.reason})
	}
	out := done(saved)
	out.Attempt = attempt
	return out, nil
}

// RecordNotificationFailureInput ends a message whose attempts ran out without being recorded
// (the last one timed out).
type RecordNotificationFailureInput struct {
	OutboxID string
	Attempt  int
	Error    string
}

// RecordNotificationFailure records a message FAILED and final (escalation_required when
// critical) after its last attempt.
func (a *Activities) RecordNotificationFailure(ctx context.Context, in RecordNotificationFailureInput) (SendNotificationResult, error) {
	st := a.Notifications.Store
	row, err := st.GetOutbox(ctx, in.OutboxID)
	if err != nil {
		return SendNotificationResult{}, classify(err)
	}
	attempt := max(in.Attempt, row.AttemptCount+1)
	saved, err := st.RecordNotificationAttempt(ctx, schema.DeliveryAttempt{
		Log:    schema.DeliveryLogRow{OutboxID: row.ID, Attempt: attempt, Status: transaction.OutboxFailed, Error: in.Error},
		Status: transaction.OutboxFailed, Final: true, EscalationRequired: row.Critical})
	if err != nil {
		return SendNotificationResult{}, classify(err)
	}
	return SendNotificationResult{OutboxID: saved.ID, Status: saved.Status, Attempt: saved.AttemptCount, Final: true,
		EscalationRequired: saved.EscalationRequired, Error: saved.Error}, nil
}

// backoff is the wait before attempt try+1: initial doubled per attempt, at most maxWait.
func backoff(initial, maxWait time.Duration, try int) time.Duration {
	if initial <= 0 {
		initial = time.Second
	}
	d := initial
	for i := 1; i < try && (maxWait <= 0 || d < maxWait); i++ {
		d *= 2
	}
	if maxWait > 0 && d > maxWait {
		d = maxWait
	}
	return d
}

// deliver sends a message on its channel: the provider used, its message id, or why not.
func (a *Activities) deliver(ctx context.Context, row schema.OutboxRow) (string, string, error) {
	t := a.Notifications.Transports
	switch row.Channel {
	case ChannelInApp:
		msg, err := a.Notifications.Store.CreateInAppMessage(ctx, schema.InAppMessageRow{ID: "in_" + row.ID,
			OutboxID: row.ID, ClientID: row.ClientID, ActorType: row.ActorType, UserID: row.UserID, Title: row.Subject,
			Body: row.Body})
		if err != nil {
			return "in_app", "", &sendError{reason: "writing the inbox message: " + err.Error(), retryable: true}
		}
		return "in_app", msg.ID, nil
	case ChannelSMS:
		return callWithFallback(ctx, t.SMS, t.SMSFallback, provider.OpSendSMS, func() any {
			return &provider.SendSMSRequest{To: row.RecipientAddress, Message: row.Body, SenderID: t.SenderID}
		}, row.IdempotencyKey)
	case ChannelEmail:
		return callWithFallback(ctx, t.Email, t.EmailFallback, provider.OpSendEmail, func() any {
			return &provider.SendEmailRequest{To: []string{row.RecipientAddress}, Subject: row.Subject, Text: row.Body}
		}, row.IdempotencyKey)
	case ChannelPush:
		return callWithFallback(ctx, t.Push, nil, provider.OpSendPush, func() any {
			return &provider.SendPushRequest{Token: row.RecipientAddress, Title: row.Subject, Body: row.Body}
		}, row.IdempotencyKey)
	}
	return "", "", &sendError{reason: "unknown channel " + row.Channel}
}

// callWithFallback makes one attempt through first, or through fallback when first's circuit
// breaker is open. The idempotency key goes as Idempotency-Key (and X-Correlation-ID).
func callWithFallback(ctx context.Context, first, fallback provider.Caller, opKey string, req func() any,
	key string) (string, string, error) {
	if first == nil {
		return "", "", &sendError{reason: "no transport is configured for " + opKey}
	}
	prov, id, err := callOnce(ctx, first, opKey, req(), key)
	var se *sendError
	if fallback != nil && errors.As(err, &se) && se.provider == provider.KindBreakerOpen {
		return callOnce(ctx, fallback, opKey, req(), key)
	}
	return prov, id, err
}

func callOnce(ctx context.Context, c provider.Caller, opKey string, req any, key string) (string, string, error) {
	op, _ := provider.Lookup(opKey)
	issuer := c.Config().Issuer
	resp, _, err := c.Call(ctx, op, req, key)
	if err != nil {
		var ce *provider.CallError
		if errors.As(err, &ce) {
			retryable := true
			switch ce.Kind {
			case provider.KindRejected, provider.KindMisconfigured, provider.KindNotConfigured, provider.KindAuthRejected,
				provider.KindTooLarge:
				retryable = false
			}
			return issuer, "", &sendError{reason: issuer + ": " + ce.Reason, retryable: retryable, provider: ce.Kind}
		}
		return issuer, "", &sendError{reason: issuer + ": " + err.Error(), retryable: true}
	}
	if resp.Status >= 400 {
		msg := providerMessage(resp.Body)
		if msg == "" {
			msg = fmt.Sprintf("refused with status %d", resp.Status)
		}
		return issuer, "", &sendError{reason: issuer + ": " + msg, retryable: resp.Status == 408 || resp.Status == 429}
	}
	typed, err := provider.DecodeResponse(op, resp.Body, c.Config().ResponseFormat)
	if err != nil {
		return issuer, "", nil // sent; the receipt is unreadable but the message went
	}
	switch r := typed.(type) {
	case *provider.SendSMSResponse:
		return issuer, r.MessageID, nil
	case *provider.SendEmailResponse:
		return issuer, r.MessageID, nil
	case *provider.SendPushResponse:
		return issuer, r.MessageID, nil
	}
	return issuer, "", nil
}
