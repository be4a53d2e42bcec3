package workflows

import (
	"errors"
	"time"

	"github.com/switchyard-hub/switchyard/transaction"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// attemptPlan is how a workflow calls the outside world: the first attempt as a local
// activity inside the current workflow task (no task-queue hop: the fast path), and after a
// retryable failure the rest of the budget as a regular activity that any worker can take, with
// Temporal's retry policy doing the backoff.
type attemptPlan struct {
	timeout      time.Duration // start-to-close of one attempt
	retry        transaction.RetryPolicy
	nonRetryable []string
	// mayRetry says whether a failure of this error type may be attempted again.
	mayRetry func(errType string) bool
}

// attempted is an activity result that knows which attempt produced it.
type attempted interface{ AttemptNumber() int32 }

// run makes the attempts and returns how many it made. beforeWait runs once, before the
// first backoff, so the workflow can publish that it is waiting.
func (p attemptPlan) run(ctx workflow.Context, fn, arg any, result attempted, beforeWait func(error)) (int, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: p.timeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	err := workflow.ExecuteLocalActivity(lctx, fn, arg).Get(ctx, result)
	if err == nil {
		return 1, nil
	}
	errType, retryAfter := errorInfo(err)
	if p.retry.MaxAttempts <= 1 || !p.mayRetry(errType) {
		return 1, err
	}
	beforeWait(err)
	delay := retryAfter
	if delay <= 0 {
		delay = p.retry.InitialInterval
	}
	if err := workflow.Sleep(ctx, delay); err != nil {
		return 1, err
	}
	// The sleep was the first backoff step, so the activity's own policy starts one step on.
	next := time.Duration(float64(p.retry.InitialInterval) * p.retry.BackoffCoefficient)
	if p.retry.MaxInterval > 0 {
		next = min(next, p.retry.MaxInterval)
	}
	n, err := p.retryN(ctx, fn, arg, result, p.retry.MaxAttempts-1, next)
	return 1 + n, err
}

// retryN runs fn as a regular activity with up to attempts tries, the first backoff being
// initial, and returns how many it made.
func (p attemptPlan) retryN(ctx workflow.Context, fn, arg any, result attempted, attempts int, initial time.Duration) (int, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: p.timeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        max(initial, time.Millisecond),
			BackoffCoefficient:     max(p.retry.BackoffCoefficient, 1),
			MaximumInterval:        p.retry.MaxInterval,
			MaximumAttempts:        int32(attempts),
			NonRetryableErrorTypes: p.nonRetryable,
		},
	})
	err := workflow.ExecuteActivity(actx, fn, arg).Get(ctx, result)
	if err == nil {
		return int(result.AttemptNumber()), nil
	}
	var appErr *temporal.ApplicationError
	var failure struct{ Attempt int32 }
	if errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(&failure) == nil && failure.Attempt > 0 {
		return int(failure.Attempt), err
	}
	return attempts, err
}

// errorInfo reads an activity error's type and the retry delay it asks for. A start-to-close
// timeout counts as the given timeout type.
func errorInfo(err error) (errType string, retryAfter time.Duration) {
	var appErr *temporal.ApplicationError
	var timeoutErr *temporal.TimeoutError
	switch {
	case errors.As(err, &appErr):
		return appErr.Type(), appErr.NextRetryDelay()
	case errors.As(err, &timeoutErr):
		return errTypeActivityTimeout, 0
	}
	return "", 0
}

// errTypeActivityTimeout stands for a start-to-close timeout in errorInfo.
const errTypeActivityTimeout = "ActivityTimeout"

func asApplicationError(err error) (*temporal.ApplicationError, bool) {
	var appErr *temporal.ApplicationError
	ok := errors.As(err, &appErr)
	return appErr, ok
}
