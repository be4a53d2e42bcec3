package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// UpstreamError is a forward that did not produce a final answer.
type UpstreamError struct {
	Kind       string // one of the ErrType constants
	Reason     string
	Response   *transaction.Response // the answer, for transaction.ErrTypeUpstreamStatus
	RetryAfter time.Duration         // from the upstream's Retry-After header
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
		opts.NonRetryable = upstream.Kind == transaction.ErrTypeResponseTooLarge
		opts.NextRetryDelay = upstream.RetryAfter
		return temporal.NewApplicationErrorWithOptions(upstream.Reason, upstream.Kind, opts)
	case errors.As(err, &invalid):
		opts.NonRetryable = true
		return temporal.NewApplicationErrorWithOptions(invalid.Error(), transaction.ErrTypeInvalidRequest, opts)
	case errors.Is(err, schema.ErrNotFound):
		opts.NonRetryable = true
		return temporal.NewApplicationErrorWithOptions(err.Error(), transaction.ErrTypeNotFound, opts)
	case errors.Is(err, schema.ErrInvalidNotification), errors.Is(err, schema.ErrInvalidContent),
		errors.Is(err, schema.ErrRefused):
		// The store refused what it was given (too long, malformed): asking again is no use.
		opts.NonRetryable = true
		return temporal.NewApplicationErrorWithOptions(err.Error(), transaction.ErrTypeInvalidRequest, opts)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), transaction.ErrTypeStore, opts)
}

func responseOf(err error) *transaction.Response {
	var upstream *UpstreamError
	if errors.As(err, &upstream) {
		return upstream.Response
	}
	return nil
}
