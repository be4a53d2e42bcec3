// Package platform knows the external platforms an integration links to: which credentials and
// settings each needs, how its inbound webhooks are verified (signatures over the raw body,
// timestamp tolerance, delivery ids, verification challenges) and normalized, how the hub signs
// the events it delivers to subscribers (Standard Webhooks), and how messages are sent through a
// messaging platform's API; and how content is read from and written to the sites a site
// integration syncs with (WordPress, Shopify, a custom site, the hub's ERP connector). It does
// no storage and knows nothing of Temporal: the API verifies with it, activities normalize,
// deliver, send and sync with it.
package platform

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// Name is a platform an integration links to.
type Name string

// Platforms.
const (
	WhatsApp Name = "whatsapp"
	Telegram Name = "telegram"
	Slack    Name = "slack"
	Discord  Name = "discord"
	GitHub   Name = "github"
	Stripe   Name = "stripe"
	// Standard is Standard Webhooks (Svix and compatible senders).
	Standard Name = "standard"
	// HMAC is a generic HMAC-signed webhook, configured per integration.
	HMAC Name = "hmac"
)

// Names lists every platform: those that send webhooks, then the sites (SiteNames).
var Names = []Name{WhatsApp, Telegram, Slack, Discord, GitHub, Stripe, Standard, HMAC, WordPress, Shopify, Custom, ERP}

// Messaging reports whether the platform carries conversations (it normalizes to messages and
// can send); the others deliver events.
func (n Name) Messaging() bool {
	switch n {
	case WhatsApp, Telegram, Slack, Discord:
		return true
	}
	return false
}

// Integration is one tenant's configured link to a platform, with its credentials in clear. It
// lives only in memory: the database holds the credentials sealed, Temporal never sees them.
type Integration struct {
	ID          string
	Name        string
	Platform    Name
	Credentials Credentials
	Config      Config
	Active      bool
}

// Credentials are an integration's secrets: the platform's fields (access_token, app_secret,
// webhook_secret, ...) and, for rotation, earlier signing secrets still accepted until they
// expire.
type Credentials struct {
	Fields map[string]string `json:"fields"`
	// Rotated are further signing secrets accepted alongside the platform's own field (the
	// secret a webhook is verified with), each until its optional expiry.
	Rotated []RotatedSecret `json:"rotated,omitempty"`
}

// RotatedSecret is an additional signing secret.
type RotatedSecret struct {
	Secret    string     `json:"secret"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Config is an integration's non-secret settings. Empty fields take the platform's defaults.
type Config struct {
	// APIBaseURL is the messaging platform's API (default: the real one).
	APIBaseURL string `json:"api_base_url,omitempty"`
	// Tolerance bounds the age of a signed timestamp (default 5 minutes), as a Go duration.
	Tolerance string `json:"tolerance,omitempty"`
	// Ordered processes one conversation's events strictly in arrival order.
	Ordered bool `json:"ordered,omitempty"`

	// Generic HMAC settings (platform hmac).
	SignatureHeader string `json:"signature_header,omitempty"`
	Algorithm       string `json:"algorithm,omitempty"` // sha1, sha256 (default), sha512
	Encoding        string `json:"encoding,omitempty"`  // hex (default), base64
	Prefix          string `json:"prefix,omitempty"`    // e.g. "sha256="
	TimestampHeader string `json:"timestamp_header,omitempty"`
	SignedPayload   string `json:"signed_payload,omitempty"` // body (default) or timestamp.body
	IDHeader        string `json:"id_header,omitempty"`
	IDJSONPath      string `json:"id_json_path,omitempty"` // dotted path into the body, e.g. "event.id"
}

// Inbound is one webhook request as received, before anything trusts it.
type Inbound struct {
	Method string
	Header http.Header
	Query  url.Values
	Body   []byte
	// Now is the time timestamps are checked against.
	Now time.Time
}

// Verified is what a verified webhook request is.
type Verified struct {
	// DeliveryID is the platform's id of this delivery (webhook-id, X-GitHub-Delivery, the
	// Stripe event id, Slack event_id, Telegram update_id, WhatsApp message ids, Discord
	// interaction id), else "sha256:" and the hex SHA-256 of the body. Repeats share it.
	DeliveryID string
	// EventType is the platform's name for the event, when it has one.
	EventType string
	// Challenge, when set, is the whole answer (Slack url_verification, Discord PING): the
	// request is answered with it and nothing is started.
	Challenge *Answer
}

// Answer is an HTTP answer a platform expects verbatim.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
}

// Errors of inbound verification. The API maps them to its envelope.
var (
	// ErrSignature: the signature (or secret token) is missing or wrong, or the signed
	// timestamp is outside the tolerance. 401.
	ErrSignature = errors.New("webhook signature verification failed")
	// ErrForbidden: a verification challenge's token does not match. 403.
	ErrForbidden = errors.New("verification token mismatch")
	// ErrMalformed: the body is signed correctly but is not what the platform sends. 400.
	ErrMalformed = errors.New("malformed webhook body")
	// ErrUnsupported: the request is not something this platform sends (a GET challenge to a
	// platform without one). 404 or 405 at the API.
	ErrUnsupported = errors.New("not supported by this platform")
	// ErrInvalid: credentials or config are missing fields or malformed. 400 with details.
	ErrInvalid = errors.New("invalid integration settings")
)

// NormalizedMessage is a message received on a messaging platform, in one shape for all.
type NormalizedMessage struct {
	ID             string         `json:"id"`
	ConversationID string         `json:"conversationId"`
	From           Party          `json:"from"`
	To             Party          `json:"to"`
	Content        Content        `json:"content"`
	Timestamp      time.Time      `json:"timestamp"`
	Platform       Name           `json:"platform"`
	Metadata       map[string]any `json:"metadata,omitempty"`
}

// Party is a sender or recipient.
type Party struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Content types.
const (
	ContentText     = "TEXT"
	ContentImage    = "IMAGE"
	ContentFile     = "FILE"
	ContentAudio    = "AUDIO"
	ContentVideo    = "VIDEO"
	ContentLocation = "LOCATION"
	ContentOther    = "OTHER"
)

// Content is a message's content.
type Content struct {
	Type  string `json:"type"`
	Text  string `json:"text,omitempty"`
	Media *Media `json:"media,omitempty"`
}

// Media is an attachment.
type Media struct {
	URL      string `json:"url"`
	MimeType string `json:"mimeType,omitempty"`
}

// Event types the hub emits to subscriptions.
const (
	EventMessageReceived = "integration.message.received"
	EventEventReceived   = "integration.event.received"
	EventMessageSent     = "integration.message.sent"
	EventMessageFailed   = "integration.message.failed"
)

// Event is one normalized item of an inbound webhook. Messaging platforms give messages
// (Type EventMessageReceived, Message set); the others give their event as {type, data}
// (Type EventEventReceived, Kind and Data set).
type Event struct {
	Type    string             `json:"type"`
	Message *NormalizedMessage `json:"message,omitempty"`
	// Kind is the platform's event name (GitHub's X-GitHub-Event, Stripe's type, ...).
	Kind string          `json:"kind,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
	// Key orders events: a conversation id (or another stable per-thread key); empty when
	// the event has no order.
	Key string `json:"key,omitempty"`
	// ID is the item's own id (a message id, the event id), unique within the delivery.
	ID string `json:"id"`
}

// Outbound is a message to send through a messaging platform.
type Outbound struct {
	To      string  `json:"to"`
	Content Content `json:"content"`
}

// SendResult is the platform's answer to a sent message.
type SendResult struct {
	MessageID string `json:"message_id"`
	// Status is the platform's HTTP status.
	Status int `json:"status"`
}

// Health is the answer of a real call that proves the credentials work.
type Health struct {
	OK        bool           `json:"ok"`
	LatencyMS float64        `json:"latency_ms"`
	Details   map[string]any `json:"details,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// APIError is a platform's refusal or failure.
type APIError struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the platform's rate-limit wait (Retry-After, Telegram's
	// parameters.retry_after, Discord's retry_after); zero when it gave none.
	RetryAfter time.Duration
	// Temporary is true for answers worth retrying: 429, 5xx, transport errors.
	Temporary bool
	// cause is the sentinel behind the error, when there is one (ErrPrivateAddress).
	cause error
}

// Unwrap gives the sentinel behind the error, so errors.Is(err, ErrPrivateAddress) holds.
func (e *APIError) Unwrap() error { return e.cause }

func (e *APIError) Error() string {
	if e.Code != "" {
		return e.Message + " (" + e.Code + ")"
	}
	return e.Message
}
