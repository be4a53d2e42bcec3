package activities

import (
	"net/http"
	"strings"
	"time"

	"github.com/switchyard-hub/switchyard/schema"
)

// Channel is a snapshot of a channel and its mediator, taken when a transaction starts, so a
// transaction keeps the rules it started with.
type Channel struct {
	ID                    string
	Name                  string
	Kind                  string
	MediatorURN           string
	EndpointURL           string
	Timeout               time.Duration
	Retry                 RetrySettings
	HonoursIdempotencyKey bool
	EscalateOnFailure     bool
}

// RetrySettings is a channel's retry policy, applied as the Temporal activity retry policy.
type RetrySettings struct {
	MaxAttempts        int
	InitialInterval    time.Duration
	BackoffCoefficient float64
	MaxInterval        time.Duration
}

// ChannelFromRoute snapshots a route; channels without a timeout get defaultTimeout.
func ChannelFromRoute(r schema.RouteRow, defaultTimeout time.Duration) Channel {
	timeout := time.Duration(r.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return Channel{
		ID:          r.ID,
		Name:        r.Name,
		Kind:        r.Kind,
		MediatorURN: r.MediatorURN,
		EndpointURL: r.MediatorEndpointURL,
		Timeout:     timeout,
		Retry: RetrySettings{
			MaxAttempts:        r.RetryMaxAttempts,
			InitialInterval:    time.Duration(r.RetryInitialIntervalMS) * time.Millisecond,
			BackoffCoefficient: r.RetryBackoffCoefficient,
			MaxInterval:        time.Duration(r.RetryMaxIntervalMS) * time.Millisecond,
		},
		HonoursIdempotencyKey: r.HonoursIdempotencyKey,
		EscalateOnFailure:     r.EscalateOnFailure,
	}
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

// ForwardInput is one forward of a request to an upstream.
type ForwardInput struct {
	CorrelationID string
	EndpointURL   string
	Timeout       time.Duration
	Request       Request
}

// ForwardResult is an upstream's answer that is final (not 502/503/504) and which attempt got it.
type ForwardResult struct {
	Response Response
	Attempt  int32
}

// ForwardFailure travels as the details of a failed forward's application error: the attempt
// and, for a 502/503/504, the upstream's answer.
type ForwardFailure struct {
	Attempt  int32
	Response *Response
}

// AttemptNumber is the attempt that got the answer.
func (r ForwardResult) AttemptNumber() int32 { return r.Attempt }
