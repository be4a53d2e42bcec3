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
}

// MayRetry reports whether a failed forward of method may be sent again. A failure that sent
// nothing may always be retried; after a request went out, only idempotent methods, or any method
// when the upstream honours Idempotency-Key.
func (c Channel) MayRetry(method, errType string) bool {
	switch errType {
	case ErrTypeUpstreamUnreachable:
		return true
	case ErrTypeUpstreamFailed, ErrTypeUpstreamTimeout, ErrTypeUpstreamStatus:
		return IdempotentMethod(method) || c.HonoursIdempotencyKey
	}
	return false
}

// NonRetryableErrorTypes lists the error types Temporal must not retry for a forward of method.
func (c Channel) NonRetryableErrorTypes(method string) []string {
	types := []string{ErrTypeInvalidRequest, ErrTypeResponseTooLarge}
	if !IdempotentMethod(method) && !c.HonoursIdempotencyKey {
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
