package transaction

import (
	"net/http"
	"strings"
	"time"
)

// Redacted replaces a secret's value wherever a request or response is kept (the transaction
// log, logs); a value equal to it is never forwarded again.
const Redacted = "[REDACTED]"

// Request is a client request as it will be forwarded: hub credentials already removed.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   map[string][]string
	Body     []byte
}

// Response is an upstream's answer.
type Response struct {
	StatusCode int
	Header     map[string][]string
	Body       []byte
}

// Channel is a snapshot of a channel and its mediator, taken when a transaction starts, so a
// transaction keeps the rules it started with.
type Channel struct {
	ID                    string
	Name                  string
	Kind                  string
	MediatorURN           string
	EndpointURL           string
	Timeout               time.Duration
	Retry                 RetryPolicy
	HonoursIdempotencyKey bool
	EscalateOnFailure     bool
	// ESB, when set, relays the request through the National ESB instead of the mediator
	// (Kind is then ChannelKindESB). Transactions started before the relay existed have none.
	ESB *ESBRoute `json:",omitempty"`
}

// ChannelKindESB is the Kind of a channel snapshot that relays through the National ESB.
const ChannelKindESB = "esb"

// ESB modes: which of a registration's codes the engine is called with.
const (
	ESBModeNormal = "normal" // apiCode: the engine answers with the system's response
	ESBModePush   = "push"   // pushCode: the engine pushes the data on
)

// ESBRoute is the organization a request is relayed for and the engine code it uses. It names
// no credentials: the worker holds those.
type ESBRoute struct {
	Organization string
	Mode         string // ESBModeNormal or ESBModePush
	Code         string // the registration's api_code or push_code
}

// Error codes and types of the ESB relay.
const (
	// ErrorCodeESBNotConfigured: the worker has no ESB settings (GOVESB_*, keys) to relay with.
	ErrorCodeESBNotConfigured = "ESB_NOT_CONFIGURED"
	// ErrorCodeESBAuthFailed: the ESB refused the hub's client credentials or token.
	ErrorCodeESBAuthFailed = "ESB_AUTH_FAILED"
	// ErrorCodeESBSignatureInvalid: the engine's answer is unsigned or its signature does not
	// verify with GOV_ESB_PUBLIC_KEY; it is never passed on.
	ErrorCodeESBSignatureInvalid = "ESB_SIGNATURE_INVALID"
	// ErrorCodeESBRequestFailed: the engine refused the request or answered success=false.
	ErrorCodeESBRequestFailed = "ESB_REQUEST_FAILED"

	ErrTypeESBNotConfigured    = "ESBNotConfigured"
	ErrTypeESBAuthFailed       = "ESBAuthFailed"
	ErrTypeESBSignatureInvalid = "ESBSignatureInvalid"
	ErrTypeESBRequestFailed    = "ESBRequestFailed"
)

// MayRetry reports whether a failed forward of method may be sent again. A failure that sent
// nothing may always be retried; after a request went out, only idempotent methods, or any method
// when the upstream honours Idempotency-Key, and never a relay through the ESB.
func (c Channel) MayRetry(method, errType string) bool {
	switch errType {
	case ErrTypeUpstreamUnreachable:
		return true
	case ErrTypeUpstreamFailed, ErrTypeUpstreamTimeout, ErrTypeUpstreamStatus:
		return c.resendable(method)
	}
	return false
}

// resendable reports whether a request of method that may have reached the upstream may be
// sent again. A relay through the National ESB never is: the engine gets a POST carrying the
// code whatever the client's method, and takes no Idempotency-Key.
func (c Channel) resendable(method string) bool {
	if c.ESB != nil {
		return false
	}
	return IdempotentMethod(method) || c.HonoursIdempotencyKey
}

// NonRetryableErrorTypes lists the error types Temporal must not retry for a forward of method.
func (c Channel) NonRetryableErrorTypes(method string) []string {
	types := []string{ErrTypeInvalidRequest, ErrTypeResponseTooLarge}
	if !c.resendable(method) {
		types = append(types, ErrTypeUpstreamFailed, ErrTypeUpstreamTimeout, ErrTypeUpstreamStatus)
	}
	return types
}

// IdempotentMethod reports whether sending method twice has the effect of sending it once (RFC 9110).
func IdempotentMethod(method string) bool {
	switch strings.ToUpper(method) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}
