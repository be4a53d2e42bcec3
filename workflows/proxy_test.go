package workflows_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

var a *activities.Activities

// fakeUpstream scripts the Forward activity: one answer (or error kind) per call.
type fakeUpstream struct {
	mu       sync.Mutex
	script   []int // status per call; 0 means a dial failure; the last entry repeats
	calls    int
	attempts []int32
	recorded []activities.RecordOutcomeInput
}

func (f *fakeUpstream) forward(ctx context.Context, in activities.ForwardInput) (activities.ForwardResult, error) {
	f.mu.Lock()
	status := f.script[min(f.calls, len(f.script)-1)]
	f.calls++
	attempt := activity.GetInfo(ctx).Attempt
	f.attempts = append(f.attempts, attempt)
	f.mu.Unlock()
	resp := transaction.Response{StatusCode: status, Header: map[string][]string{"Content-Type": {"text/plain"}},
		Body: []byte(http.StatusText(status))}
	switch status {
	case 0:
		return activities.ForwardResult{}, temporal.NewApplicationErrorWithOptions("upstream unreachable",
			transaction.ErrTypeUpstreamUnreachable, temporal.ApplicationErrorOptions{
				Details: []any{activities.ForwardFailure{Attempt: attempt}}})
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return activities.ForwardResult{}, temporal.NewApplicationErrorWithOptions("upstream answered 503",
			transaction.ErrTypeUpstreamStatus, temporal.ApplicationErrorOptions{
				Details: []any{activities.ForwardFailure{Attempt: attempt, Response: &resp}}})
	}
	return activities.ForwardResult{Response: resp, Attempt: attempt}, nil
}

func (f *fakeUpstream) setScript(script ...int) {
	f.mu.Lock()
	f.script = script
	f.mu.Unlock()
}

func (f *fakeUpstream) record(_ context.Context, in activities.RecordOutcomeInput) error {
	f.mu.Lock()
	f.recorded = append(f.recorded, in)
	f.mu.Unlock()
	return nil
}

func (f *fakeUpstream) statuses() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.recorded {
		out = append(out, r.Status)
	}
	return out
}

func newEnv(t *testing.T, up *fakeUpstream) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.OnActivity(a.RecordStart, mock.Anything, mock.Anything).Return(activities.RecordStartResult{}, nil)
	env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(up.record)
	env.OnActivity(a.Forward, mock.Anything, mock.Anything).Return(up.forward)
	env.OnActivity(a.LoadChannel, mock.Anything, mock.Anything).Return(
		func(context.Context, string) (transaction.Channel, error) { return input("GET", false).Channel, nil })
	return env
}

func input(method string, escalate bool) workflows.ProxyInput {
	return workflows.ProxyInput{
		CorrelationID: "c0ffee00-0000-4000-8000-000000000001",
		ClientID:      "client-a",
		Channel: transaction.Channel{ID: "ch-1", Name: "orders", EndpointURL: "http://upstream.invalid",
			Timeout: 10 * time.Second, EscalateOnFailure: escalate,
			Retry: transaction.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, BackoffCoefficient: 2,
				MaxInterval: 10 * time.Second}},
		Request: transaction.Request{Method: method, Path: "/orders"},
	}
}

// result is the result of a workflow that completed without error.
func result[T any](t *testing.T, env *testsuite.TestWorkflowEnvironment) T {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res T
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func TestProxyTransaction(t *testing.T) {
	t.Run("an answer on the first attempt is the result", func(t *testing.T) {
		up := &fakeUpstream{script: []int{200}}
		env := newEnv(t, up)
		env.ExecuteWorkflow(workflows.ProxyTransaction, input("GET", false))
		res := result[workflows.ProxyResult](t, env)
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.Equal(t, 200, res.Response.StatusCode)
		require.Equal(t, 1, res.Attempts)
		require.Equal(t, []string{transaction.StatusSuccessful}, up.statuses())
	})

	t.Run("the fast path upserts every search attribute once, with the final status", func(t *testing.T) {
		up := &fakeUpstream{script: []int{200}}
		env := newEnv(t, up)
		var upserts []temporal.SearchAttributes
		env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
			upserts = append(upserts, args.Get(0).(temporal.SearchAttributes))
		}).Return(nil)
		env.ExecuteWorkflow(workflows.ProxyTransaction, input("GET", false))
		result[workflows.ProxyResult](t, env)
		require.Len(t, upserts, 1)
		sa := upserts[0]
		for key, want := range map[temporal.SearchAttributeKeyKeyword]string{
			workflows.KindKey: transaction.KindProxy, workflows.StatusKey: transaction.StatusSuccessful,
			workflows.ClientKey: "client-a", workflows.ChannelKey: "orders",
			workflows.CorrelationIDKey: "c0ffee00-0000-4000-8000-000000000001",
		} {
			got, ok := sa.GetKeyword(key)
			require.True(t, ok, key.GetName())
			require.Equal(t, want, got, key.GetName())
		}
	})

	t.Run("an upstream 500 is passed through and the transaction is failed", func(t *testing.T) {
		up := &fakeUpstream{script: []int{500}}
		env := newEnv(t, up)
		env.ExecuteWorkflow(workflows.ProxyTransaction, input("GET", false))
		res := result[workflows.ProxyResult](t, env)
		require.Equal(t, transaction.StatusFailed, res.Status)
		require.Equal(t, 500, res.Response.StatusCode)
		require.Empty(t, res.ErrorCode, "an upstream answer is a result, not a hub error")
		require.Equal(t, 1, up.calls, "a 500 is not retried")
	})

	t.Run("a 503 is retried under the channel's policy until the upstream answers", func(t *testing.T) {
		up := &fakeUpstream{script: []int{503, 503, 200}}
		env := newEnv(t, up)
		env.ExecuteWorkflow(workflows.ProxyTransaction, input("GET", false))
		res := result[workflows.ProxyResult](t, env)
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.Equal(t, 3, res.Attempts)
		require.Equal(t, 3, up.calls)
		require.Equal(t, []int32{1, 1, 2}, up.attempts, "one local attempt, then the regular activity's own attempts")
	})

	t.Run("exhausted retries without escalation end failed with the last answer", func(t *testing.T) {
		up := &fakeUpstream{script: []int{503}}
		env := newEnv(t, up)
		env.ExecuteWorkflow(workflows.ProxyTransaction, input("GET", false))
		res := result[workflows.ProxyResult](t, env)
		require.Equal(t, transaction.StatusFailed, res.Status)
		require.Equal(t, 3, up.calls)
		require.Equal(t, 3, res.Attempts)
		require.Equal(t, 503, res.Response.StatusCode)
		require.Equal(t, transaction.ErrorCodeUpstreamUnavailable, res.ErrorCode)
	})

	t.Run("a POST is not retried unless the upstream honours Idempotency-Key", func(t *testing.T) {
		up := &fakeUpstream{script: []int{503, 200}}
		env := newEnv(t, up)
		env.ExecuteWorkflow(workflows.ProxyTransaction, input("POST", false))
		res := result[workflows.ProxyResult](t, env)
		require.Equal(t, 1, up.calls)
		require.Equal(t, transaction.StatusFailed, res.Status)

		up = &fakeUpstream{script: []int{503, 200}}
		env = newEnv(t, up)
		in := input("POST", false)
		in.Channel.HonoursIdempotencyKey = true
		env.ExecuteWorkflow(workflows.ProxyTransaction, in)
		res = result[workflows.ProxyResult](t, env)
		require.Equal(t, 2, up.calls)
		require.Equal(t, transaction.StatusSuccessful, res.Status)
	})

	t.Run("a POST whose connection failed before sending is retried", func(t *testing.T) {
		up := &fakeUpstream{script: []int{0, 201}}
		env := newEnv(t, up)
		env.ExecuteWorkflow(workflows.ProxyTransaction, input("POST", false))
		res := result[workflows.ProxyResult](t, env)
		require.Equal(t, 2, up.calls)
		require.Equal(t, 201, res.Response.StatusCode)
	})

	t.Run("invalid input fails the workflow with a typed error", func(t *testing.T) {
		env := newEnv(t, &fakeUpstream{script: []int{200}})
		in := input("GET", false)
		in.Channel.Timeout = 0
		env.ExecuteWorkflow(workflows.ProxyTransaction, in)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(env.GetWorkflowError(), &appErr))
		require.Equal(t, transaction.ErrTypeInvalidInput, appErr.Type())
	})
}

func TestProxyEscalation(t *testing.T) {
	// escalated runs a transaction whose upstream is down until it is escalated, then sends
	// signal and returns the result.
	escalated := func(t *testing.T, up *fakeUpstream, signal string, payload any) workflows.ProxyResult {
		env := newEnv(t, up)
		env.RegisterDelayedCallback(func() {
			// Sent before the escalation: must be ignored.
			env.SignalWorkflow(workflows.SignalAbort, workflows.OperatorSignal{Note: "stale"})
		}, time.Millisecond)
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(workflows.QueryStatus)
			require.NoError(t, err)
			var view workflows.StatusView
			require.NoError(t, v.Get(&view))
			require.Equal(t, transaction.StatusEscalated, view.Status)
			require.Equal(t, 3, view.Attempts)
			up.setScript(200)
			env.SignalWorkflow(signal, payload)
		}, time.Hour)
		env.ExecuteWorkflow(workflows.ProxyTransaction, input("GET", true))
		require.Contains(t, up.statuses(), transaction.StatusEscalated)
		return result[workflows.ProxyResult](t, env)
	}

	t.Run("retry forwards again with a fresh retry budget", func(t *testing.T) {
		up := &fakeUpstream{script: []int{503}}
		res := escalated(t, up, workflows.SignalRetry, nil)
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.Equal(t, 4, res.Attempts)
		require.Equal(t, []string{transaction.StatusEscalated, transaction.StatusSuccessful}, up.statuses())
	})

	t.Run("resolve records the operator's note", func(t *testing.T) {
		up := &fakeUpstream{script: []int{503}}
		res := escalated(t, up, workflows.SignalResolve, workflows.OperatorSignal{Note: "posted by hand", By: "ops"})
		require.Equal(t, transaction.StatusResolved, res.Status)
		require.Equal(t, "posted by hand", res.ResolutionNote)
		require.Equal(t, 3, up.calls, "resolve does not forward again")
	})

	t.Run("abort fails the transaction", func(t *testing.T) {
		up := &fakeUpstream{script: []int{503}}
		res := escalated(t, up, workflows.SignalAbort, workflows.OperatorSignal{Note: "customer cancelled"})
		require.Equal(t, transaction.StatusFailed, res.Status)
		require.Equal(t, transaction.ErrorCodeAborted, res.ErrorCode)
		require.Equal(t, "customer cancelled", res.ResolutionNote)
		require.Equal(t, 3, up.calls)
	})
}

func TestProxyReplaysAStoredOutcome(t *testing.T) {
	up := &fakeUpstream{script: []int{200}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.OnActivity(a.RecordStart, mock.Anything, mock.Anything).Return(activities.RecordStartResult{
		Existing: &activities.StoredOutcome{Status: transaction.StatusSuccessful, Attempts: 2,
			Response: &transaction.Response{StatusCode: 201, Body: []byte("first")}, Truncated: true}}, nil)
	env.OnActivity(a.Forward, mock.Anything, mock.Anything).Return(up.forward)
	in := input("POST", false)
	in.Keyed = true
	env.ExecuteWorkflow(workflows.ProxyTransaction, in)
	res := result[workflows.ProxyResult](t, env)
	require.Zero(t, up.calls, "an outcome already recorded is never forwarded again")
	require.Equal(t, 201, res.Response.StatusCode)
	require.True(t, res.ResponseTruncated)
}

// TestProxyLogsOnce checks the log writes of a transaction started with LogOnce: one row
// written with its outcome when nothing waits; the start written before the first wait, then
// updated, when something does.
func TestProxyLogsOnce(t *testing.T) {
	// logEnv is newEnv with the log writes listed in order: start, finished:<status>, or the
	// status of an outcome.
	logEnv := func(t *testing.T, up *fakeUpstream, in workflows.ProxyInput) (*testsuite.TestWorkflowEnvironment, func() []string) {
		var mu sync.Mutex
		var writes []string
		write := func(w string) {
			mu.Lock()
			writes = append(writes, w)
			mu.Unlock()
		}
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		env.RegisterActivity(a)
		env.OnActivity(a.Forward, mock.Anything, mock.Anything).Return(up.forward)
		env.OnActivity(a.RecordStart, mock.Anything, mock.Anything).Return(
			func(context.Context, activities.RecordStartInput) (activities.RecordStartResult, error) {
				write("start")
				return activities.RecordStartResult{}, nil
			})
		env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
			func(_ context.Context, o activities.RecordOutcomeInput) error {
				write(o.Status)
				return nil
			})
		env.OnActivity(a.RecordFinished, mock.Anything, mock.Anything).Return(
			func(_ context.Context, f activities.RecordFinishedInput) error {
				if f.Start.CorrelationID != in.CorrelationID || f.Start.Request.Path != in.Request.Path {
					return errors.New("the finished row is not the transaction's")
				}
				write("finished:" + f.Outcome.Status)
				return nil
			})
		return env, func() []string {
			mu.Lock()
			defer mu.Unlock()
			return writes
		}
	}
	logOnce := func(method string, escalate bool) workflows.ProxyInput {
		in := input(method, escalate)
		in.LogOnce = true
		return in
	}
	run := func(t *testing.T, script []int, in workflows.ProxyInput) (workflows.ProxyResult, []string) {
		env, writes := logEnv(t, &fakeUpstream{script: script}, in)
		env.ExecuteWorkflow(workflows.ProxyTransaction, in)
		return result[workflows.ProxyResult](t, env), writes()
	}

	t.Run("an answer on the first attempt is logged in one write", func(t *testing.T) {
		res, writes := run(t, []int{200}, logOnce("GET", false))
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.Equal(t, []string{"finished:" + transaction.StatusSuccessful}, writes)
	})

	t.Run("a failure without retries is logged in one write", func(t *testing.T) {
		res, writes := run(t, []int{503}, logOnce("POST", false))
		require.Equal(t, transaction.StatusFailed, res.Status)
		require.Equal(t, []string{"finished:" + transaction.StatusFailed}, writes)
	})

	t.Run("a retry logs the start before the wait", func(t *testing.T) {
		res, writes := run(t, []int{503, 200}, logOnce("GET", false))
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.Equal(t, 2, res.Attempts)
		require.Equal(t, []string{"start", transaction.StatusSuccessful}, writes)
	})

	t.Run("an escalation without retries logs the start first", func(t *testing.T) {
		in := logOnce("POST", true)
		env, writes := logEnv(t, &fakeUpstream{script: []int{503}}, in)
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalAbort, workflows.OperatorSignal{Note: "given up"})
		}, time.Hour)
		env.ExecuteWorkflow(workflows.ProxyTransaction, in)
		res := result[workflows.ProxyResult](t, env)
		require.Equal(t, transaction.StatusFailed, res.Status)
		require.Equal(t, []string{"start", transaction.StatusEscalated, transaction.StatusFailed}, writes())
	})

	t.Run("a keyed transaction still looks for its key first", func(t *testing.T) {
		in := logOnce("GET", false)
		in.Keyed = true
		_, writes := run(t, []int{200}, in)
		require.Equal(t, []string{"start", transaction.StatusSuccessful}, writes)
	})

	t.Run("without LogOnce the start is written as before", func(t *testing.T) {
		_, writes := run(t, []int{200}, input("GET", false))
		require.Equal(t, []string{"start", transaction.StatusSuccessful}, writes)
	})
}
