package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/schema"
)

// Application error types. Workflows name these in NonRetryableErrorTypes and test them with
// ApplicationError.Type(); they are strings on purpose (a wrapped Go error's type name is not stable).
const (
	// ErrTypeInvalidRequest: the request or its configuration can never succeed as it is.
	ErrTypeInvalidRequest = "InvalidRequest"
	// ErrTypeUpstreamUnreachable: the connection failed before anything was sent.
	ErrTypeUpstreamUnreachable = "UpstreamUnreachable"
	// ErrTypeUpstreamFailed: the connection broke after the request may have been sent.
	ErrTypeUpstreamFailed = "UpstreamFailed"
	// ErrTypeUpstreamTimeout: the upstream did not answer within the channel's timeout.
	ErrTypeUpstreamTimeout = "UpstreamTimeout"
	// ErrTypeUpstreamStatus: the upstream answered 502, 503 or 504.
	ErrTypeUpstreamStatus = "UpstreamStatus"
	// ErrTypeResponseTooLarge: the upstream's answer exceeded MAX_UPSTREAM_RESPONSE_BYTES.
	ErrTypeResponseTooLarge = "ResponseTooLarge"
	// ErrTypeNotFound: a row the activity needs does not exist.
	ErrTypeNotFound = "NotFound"
	// ErrTypeStore: PostgreSQL failed; retried.
	ErrTypeStore = "StoreUnavailable"
)

// UpstreamError is a forward that did not produce a final answer.
type UpstreamError struct {
	Kind       string // one of the ErrType constants
	Reason     string
	Response   *Response     // the answer, for ErrTypeUpstreamStatus
	RetryAfter time.Duration // from the upstream's Retry-After header
}

func (e *UpstreamError) Error() string { return e.Reason }

// InvalidRequestError is input that no retry can fix.
type InvalidRequestError struct{ Reason string }

func (e *InvalidRequestError) Error() string { return "invalid request: " + e.Reason }

// classify maps an activity's Go error to a Temporal application error. details, when given,
// travel with the error so the workflow can read them after the last attempt.
func classify(err error, details ...any) error {
	if err == nil {
		return nil
	}
	opts := temporal.ApplicationErrorOptions{Details: details}
	var upstream *UpstreamError
	var invalid *InvalidRequestError
	switch {
	case errors.As(err, &upstream):
		opts.NonRetryable = upstream.Kind == ErrTypeResponseTooLarge
		opts.NextRetryDelay = upstream.RetryAfter
		return temporal.NewApplicationErrorWithOptions(upstream.Reason, upstream.Kind, opts)
	case errors.As(err, &invalid):
		opts.NonRetryable = true
		return temporal.NewApplicationErrorWithOptions(invalid.Error(), ErrTypeInvalidRequest, opts)
	case errors.Is(err, schema.ErrNotFound):
		opts.NonRetryable = true
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeNotFound, opts)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeStore, opts)
}

func responseOf(err error) *Response {
	var upstream *UpstreamError
	if errors.As(err, &upstream) {
		return upstream.Response
	}
	return nil
}
