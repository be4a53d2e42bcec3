package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// syncPolicy is the worker's sync policy in these tests: quick retries, three attempts, a short
// heartbeat timeout (heartbeats are sent at most every 80 % of it: a pause reaches a chunk
// through one).
var syncPolicy = activities.SyncPolicy{
	Retry:            transaction.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, BackoffCoefficient: 2, MaxInterval: time.Minute},
	HeartbeatTimeout: 200 * time.Millisecond, ChunkTimeout: 30 * time.Minute, ChunkPages: 2, ContinueAsNewChunks: 10,
	ItemTimeout: 35 * time.Second,
}

// fakeSync scripts the sync activities and records what the workflow asked of them.
type fakeSync struct {
	mu       sync.Mutex
	plan     activities.SyncPlan
	beginErr error
	begins   []activities.SyncBeginInput
	pulls    []activities.SyncPullInput
	pushes   []activities.SyncPushInput
	statuses []activities.SyncStatusInput
	finished []activities.SyncFinishInput
	events   []activities.SyncEventInput
	// pull answers the n-th call (from 0) of SyncPull; push of SyncPush.
	pull func(ctx context.Context, n int, in activities.SyncPullInput) (activities.SyncPullResult, error)
	push func(ctx context.Context, n int, in activities.SyncPushInput) (activities.SyncPushResult, error)
}

func (f *fakeSync) env(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.OnActivity(a.SyncBegin, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SyncBeginInput) (activities.SyncPlan, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.begins = append(f.begins, in)
			return f.plan, f.beginErr
		})
	env.OnActivity(a.SyncPull, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.SyncPullInput) (activities.SyncPullResult, error) {
			f.mu.Lock()
			n := len(f.pulls)
			f.pulls = append(f.pulls, in)
			f.mu.Unlock()
			return f.pull(ctx, n, in)
		})
	env.OnActivity(a.SyncPush, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.SyncPushInput) (activities.SyncPushResult, error) {
			f.mu.Lock()
			n := len(f.pushes)
			f.pushes = append(f.pushes, in)
			f.mu.Unlock()
			return f.push(ctx, n, in)
		})
	env.OnActivity(a.UpdateSiteStructure, mock.Anything, mock.Anything).Return(platform.SiteStructure{
		PostTypes: []string{"post", "page"}, Taxonomies: []string{"category", "post_tag"}}, nil)
	env.OnActivity(a.SetSyncStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SyncStatusInput) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.statuses = append(f.statuses, in)
			return nil
		})
	env.OnActivity(a.FinishSync, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SyncFinishInput) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.finished = append(f.finished, in)
			return nil
		})
	env.OnActivity(a.RecordSyncEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SyncEventInput) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, in)
			return nil
		})
	return env
}

// afterPause sends signal once the run has recorded itself paused.
func (f *fakeSync) afterPause(env *testsuite.TestWorkflowEnvironment, signal string, sig workflows.OperatorSignal) {
	// A timer of the test environment's clock, not a goroutine: the clock only moves on once the
	// chunk has stopped and the run waits, paused, so the signal comes after the pause, always.
	env.RegisterDelayedCallback(func() {
		f.mu.Lock()
		paused := len(f.statuses) > 0
		f.mu.Unlock()
		if !paused {
			panic("the signal's time came before the sync was paused")
		}
		env.SignalWorkflow(signal, sig)
	}, time.Minute)
}

// untilCanceled heartbeats, as a chunk does, until the cancellation reaches the activity.
func untilCanceled(ctx context.Context) error {
	for range 500 {
		activity.RecordHeartbeat(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(10 * time.Millisecond):
		}
	}
	return errors.New("the cancellation never reached the chunk")
}

func newFakeSync() *fakeSync {
	return &fakeSync{plan: activities.SyncPlan{Platform: "wordpress", ContentTypes: []string{"post", "page"},
		Taxonomies: []string{"category", "tag"}, Policy: syncPolicy}}
}

// pages answers a pull of total pages, ChunkPages at a time, with one item each.
func pages(total int) func(context.Context, int, activities.SyncPullInput) (activities.SyncPullResult, error) {
	return func(_ context.Context, n int, in activities.SyncPullInput) (activities.SyncPullResult, error) {
		done := min((n+1)*in.ChunkPages, total)
		return activities.SyncPullResult{Done: done == total, Pages: done - n*in.ChunkPages, ContentType: "post",
			Counts: activities.SyncCounts{Pages: done, Items: done, Added: done}}, nil
	}
}

func syncInput(direction string) workflows.SyncInput {
	return workflows.SyncInput{SyncID: "sync-1", IntegrationID: "int-1", ClientID: "client-a", Direction: direction,
		Trigger: workflows.TriggerAPI}
}

func TestSync(t *testing.T) {
	t.Run("a pull runs chunk by chunk and the counts are the result", func(t *testing.T) {
		f := newFakeSync()
		f.pull = pages(5)
		env := f.env(t)
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.SyncWorkflowID("int-1")})
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, transaction.SyncSuccess, res.Status)
		require.Equal(t, 5, res.Pages)
		require.Equal(t, 5, res.Added)
		require.Equal(t, workflows.PhasePull, res.Phase)
		require.Len(t, f.pulls, 3, "two pages per chunk")
		require.Equal(t, []string{"post", "page"}, f.pulls[0].ContentTypes)
		require.Equal(t, "sync:int-1", f.begins[0].WorkflowID)
		require.False(t, f.begins[0].Continued)
		require.Len(t, f.finished, 1)
		require.Equal(t, transaction.SyncSuccess, f.finished[0].Status)
		require.Equal(t, 5, f.finished[0].Counts.Items)
		require.Empty(t, f.pushes)
	})

	t.Run("both pulls, then pushes", func(t *testing.T) {
		f := newFakeSync()
		f.pull = pages(1)
		f.push = func(_ context.Context, n int, in activities.SyncPushInput) (activities.SyncPushResult, error) {
			require.Equal(t, 2*activities.PushItemsPerPage, in.MaxItems)
			return activities.SyncPushResult{Pushed: 3, Failed: 1, Done: true,
				Counts: activities.SyncCounts{Pages: 1, Items: 1, Added: 1, Pushed: 3, Failed: 1}}, nil
		}
		env := f.env(t)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionBoth))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, transaction.SyncSuccess, res.Status)
		require.Equal(t, 3, res.Pushed)
		require.Equal(t, 1, res.Failed)
		require.Equal(t, 1, res.Items)
		require.Len(t, f.pulls, 1)
		require.Len(t, f.pushes, 1)
		require.Equal(t, 3, f.finished[0].Counts.Pushed)
		require.Equal(t, 1, f.finished[0].Counts.Failed)
	})

	t.Run("metadata reads the structure and pulls the taxonomies", func(t *testing.T) {
		f := newFakeSync()
		f.pull = pages(1)
		env := f.env(t)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionMetadata))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, transaction.SyncSuccess, res.Status)
		require.Equal(t, []string{"category", "tag"}, f.pulls[0].ContentTypes)
	})

	t.Run("a filtered incremental pull carries its since and status", func(t *testing.T) {
		f := newFakeSync()
		f.pull = pages(1)
		env := f.env(t)
		in := syncInput(platform.DirectionFromExternal)
		since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		in.Since, in.Filters, in.Reset = &since, map[string]string{"status": "publish"}, true
		env.ExecuteWorkflow(workflows.Sync, in)
		result[workflows.SyncProgress](t, env)
		require.Equal(t, since, *f.pulls[0].Since)
		require.Equal(t, "publish", f.pulls[0].Status)
		require.True(t, f.pulls[0].Reset)
	})

	t.Run("it continues as new after its share of chunks, carrying the counts", func(t *testing.T) {
		f := newFakeSync()
		f.plan.Policy.ContinueAsNewChunks = 2
		f.pull = pages(100)
		env := f.env(t)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionBoth))
		require.True(t, env.IsWorkflowCompleted())
		var can *workflow.ContinueAsNewError
		require.ErrorAs(t, env.GetWorkflowError(), &can)
		require.Equal(t, workflows.WorkflowSync, can.WorkflowType.Name)
		var next workflows.SyncInput
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
		require.True(t, next.Continued)
		require.Equal(t, "sync-1", next.SyncID)
		require.Equal(t, workflows.PhasePull, next.Progress.Phase)
		require.Equal(t, 4, next.Progress.Pages)
		require.False(t, next.Progress.StartedAt.IsZero())
		require.Len(t, f.pulls, 2)
		require.Empty(t, f.finished, "the run goes on")
	})

	t.Run("a continued run picks up its phase without starting the run again", func(t *testing.T) {
		f := newFakeSync()
		f.push = func(context.Context, int, activities.SyncPushInput) (activities.SyncPushResult, error) {
			return activities.SyncPushResult{Pushed: 1, Done: true, Counts: activities.SyncCounts{Pages: 7, Items: 7, Pushed: 1}}, nil
		}
		env := f.env(t)
		in := syncInput(platform.DirectionBoth)
		in.Continued = true
		in.Progress = workflows.SyncProgress{Phase: workflows.PhasePush, Pages: 7, Items: 7,
			StartedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		env.ExecuteWorkflow(workflows.Sync, in)
		res := result[workflows.SyncProgress](t, env)
		require.True(t, f.begins[0].Continued)
		require.Empty(t, f.pulls)
		require.Equal(t, 7, res.Pages)
		require.Equal(t, 1, res.Pushed)
		require.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), res.StartedAt)
	})

	t.Run("a chunk that runs out of retries ends the sync ERROR, as a result", func(t *testing.T) {
		f := newFakeSync()
		f.pull = func(context.Context, int, activities.SyncPullInput) (activities.SyncPullResult, error) {
			return activities.SyncPullResult{}, temporal.NewApplicationError("wordpress answered 503", transaction.ErrTypeSiteUnavailable)
		}
		env := f.env(t)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, transaction.SyncError, res.Status)
		require.Equal(t, transaction.ErrorCodeSiteUnavailable, res.ErrorCode)
		require.Equal(t, "wordpress answered 503", res.Error)
		require.Len(t, f.pulls, 3, "SYNC_MAX_ATTEMPTS")
		require.Equal(t, transaction.SyncError, f.finished[0].Status)
		require.Equal(t, "wordpress answered 503", f.finished[0].Error)
	})

	t.Run("a refusal is not retried", func(t *testing.T) {
		f := newFakeSync()
		f.pull = func(context.Context, int, activities.SyncPullInput) (activities.SyncPullResult, error) {
			return activities.SyncPullResult{}, temporal.NewNonRetryableApplicationError("wordpress answered 401",
				transaction.ErrTypeSiteRejected, nil)
		}
		env := f.env(t)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, transaction.ErrorCodeSiteRejected, res.ErrorCode)
		require.Len(t, f.pulls, 1)
	})

	t.Run("escalated, an operator's retry runs the chunk again from the checkpoint", func(t *testing.T) {
		f := newFakeSync()
		f.plan.EscalateOnFailure = true
		failing := true
		f.pull = func(ctx context.Context, n int, in activities.SyncPullInput) (activities.SyncPullResult, error) {
			if failing {
				return activities.SyncPullResult{}, temporal.NewApplicationError("shopify answered 500", transaction.ErrTypeSiteUnavailable)
			}
			return pages(2)(ctx, 0, in)
		}
		env := f.env(t)
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalAbort, workflows.OperatorSignal{Note: "stale"})
		}, time.Second)
		env.RegisterDelayedCallback(func() {
			var view workflows.StatusView
			v, err := env.QueryWorkflow(workflows.QueryStatus)
			require.NoError(t, err)
			require.NoError(t, v.Get(&view))
			require.Equal(t, transaction.StatusEscalated, view.Status)
			require.Equal(t, transaction.ErrorCodeSiteUnavailable, view.ErrorCode)
			failing = false
			env.SignalWorkflow(workflows.SignalRetry, workflows.OperatorSignal{By: "ops"})
		}, time.Hour)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, transaction.SyncSuccess, res.Status, "the stale abort was dropped")
		require.Empty(t, res.Error)
		require.Len(t, f.pulls, 4, "three attempts, then the operator's retry")
		require.Equal(t, activities.SyncActionEscalated, f.events[0].Action)
	})

	t.Run("escalated, an operator's abort ends the sync ERROR; resolve ends it SUCCESS", func(t *testing.T) {
		for _, tc := range []struct {
			signal, status, code string
		}{
			{workflows.SignalAbort, transaction.SyncError, transaction.ErrorCodeAborted},
			{workflows.SignalResolve, transaction.SyncSuccess, ""},
			{workflows.SignalCancel, transaction.SyncCanceled, transaction.ErrorCodeSiteUnavailable},
		} {
			f := newFakeSync()
			f.plan.EscalateOnFailure = true
			f.pull = func(context.Context, int, activities.SyncPullInput) (activities.SyncPullResult, error) {
				return activities.SyncPullResult{}, temporal.NewApplicationError("down", transaction.ErrTypeSiteUnavailable)
			}
			env := f.env(t)
			env.RegisterDelayedCallback(func() {
				env.SignalWorkflow(tc.signal, workflows.OperatorSignal{Note: "fixed by hand", By: "ops"})
			}, time.Hour)
			env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
			res := result[workflows.SyncProgress](t, env)
			require.Equal(t, tc.status, res.Status, tc.signal)
			require.Equal(t, tc.code, res.ErrorCode, tc.signal)
			require.Equal(t, "fixed by hand", res.Note)
			require.Equal(t, tc.status, f.finished[0].Status)
			require.Equal(t, "ops", f.finished[0].By)
		}
	})

	t.Run("pause stops the running chunk; resume goes on from the checkpoint", func(t *testing.T) {
		f := newFakeSync()
		var env *testsuite.TestWorkflowEnvironment
		canceled := false
		f.pull = func(ctx context.Context, n int, in activities.SyncPullInput) (activities.SyncPullResult, error) {
			if n == 0 {
				env.SignalWorkflow(workflows.SignalPause, workflows.OperatorSignal{Note: "maintenance", By: "ops"})
				if err := untilCanceled(ctx); err != nil {
					return activities.SyncPullResult{}, err
				}
				canceled = true
				f.afterPause(env, workflows.SignalResume, workflows.OperatorSignal{By: "ops"})
				return activities.SyncPullResult{}, ctx.Err()
			}
			return pages(3)(ctx, 1, in)
		}
		env = f.env(t)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		res := result[workflows.SyncProgress](t, env)
		require.True(t, canceled, "the chunk's context was canceled")
		require.Equal(t, transaction.SyncSuccess, res.Status)
		require.Len(t, f.pulls, 2)
		require.Equal(t, f.pulls[0], f.pulls[1], "the same chunk again: the activity resumes from the stored checkpoint")
		require.Len(t, f.statuses, 2)
		require.Equal(t, transaction.SyncPaused, f.statuses[0].Status)
		require.Equal(t, "maintenance", f.statuses[0].Note)
		require.Equal(t, transaction.SyncRunning, f.statuses[1].Status)
	})

	t.Run("cancel while paused ends the sync CANCELED", func(t *testing.T) {
		f := newFakeSync()
		var env *testsuite.TestWorkflowEnvironment
		f.pull = func(ctx context.Context, n int, in activities.SyncPullInput) (activities.SyncPullResult, error) {
			env.SignalWorkflow(workflows.SignalPause, nil)
			if err := untilCanceled(ctx); err != nil {
				return activities.SyncPullResult{}, err
			}
			f.afterPause(env, workflows.SignalCancel, workflows.OperatorSignal{Note: "not needed", By: "ops"})
			return activities.SyncPullResult{}, ctx.Err()
		}
		env = f.env(t)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, transaction.SyncCanceled, res.Status)
		require.Len(t, f.pulls, 1)
		require.Equal(t, transaction.SyncCanceled, f.finished[0].Status)
		require.Equal(t, "not needed", f.finished[0].Note)
	})

	t.Run("cancel during a chunk stops it and ends the sync CANCELED", func(t *testing.T) {
		f := newFakeSync()
		var env *testsuite.TestWorkflowEnvironment
		f.pull = func(ctx context.Context, n int, in activities.SyncPullInput) (activities.SyncPullResult, error) {
			env.SignalWorkflow(workflows.SignalCancel, workflows.OperatorSignal{By: "ops"})
			if err := untilCanceled(ctx); err != nil {
				return activities.SyncPullResult{}, err
			}
			return activities.SyncPullResult{}, ctx.Err()
		}
		env = f.env(t)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, transaction.SyncCanceled, res.Status)
		require.Empty(t, f.statuses)
	})

	t.Run("a pause that reaches a chunk as it finishes pauses the sync", func(t *testing.T) {
		f := newFakeSync()
		var env *testsuite.TestWorkflowEnvironment
		f.pull = func(ctx context.Context, n int, in activities.SyncPullInput) (activities.SyncPullResult, error) {
			if n == 0 {
				env.SignalWorkflow(workflows.SignalPause, nil)
			}
			return pages(4)(ctx, n, in)
		}
		env = f.env(t)
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(workflows.QueryProgress)
			require.NoError(t, err)
			var p workflows.SyncProgress
			require.NoError(t, v.Get(&p))
			require.Equal(t, transaction.SyncPaused, p.Status)
			env.SignalWorkflow(workflows.SignalResume, nil)
		}, time.Hour)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, transaction.SyncSuccess, res.Status)
		require.Equal(t, 4, res.Pages)
		require.Len(t, f.pulls, 2)
		require.Len(t, f.statuses, 2)
	})

	t.Run("items a pull could not store are counted failed, in the result and the run's row", func(t *testing.T) {
		f := newFakeSync()
		f.pull = func(_ context.Context, n int, in activities.SyncPullInput) (activities.SyncPullResult, error) {
			return activities.SyncPullResult{Done: n == 1, Pages: 2, Failed: 2, ContentType: "post",
				Counts: activities.SyncCounts{Pages: 2 * (n + 1), Items: 5 * (n + 1), Added: 5 * (n + 1), Failed: 2 * (n + 1)}}, nil
		}
		env := f.env(t)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, 4, res.Failed)
		require.Equal(t, 4, f.finished[0].Counts.Failed)
	})

	t.Run("a run refused at its start ends its row ERROR with the reason", func(t *testing.T) {
		for _, trigger := range []string{workflows.TriggerAPI, workflows.TriggerSchedule} {
			f := newFakeSync()
			f.beginErr = temporal.NewNonRetryableApplicationError("invalid request: filters.colour: unknown filter",
				transaction.ErrTypeInvalidRequest, nil)
			env := f.env(t)
			in := syncInput(platform.DirectionFromExternal)
			in.Trigger = trigger
			env.ExecuteWorkflow(workflows.Sync, in)
			require.True(t, env.IsWorkflowCompleted())
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, env.GetWorkflowError(), &appErr, trigger)
			require.Equal(t, transaction.ErrTypeInvalidRequest, appErr.Type())
			require.Len(t, f.finished, 1, "the row the API inserted (adopted by SyncBegin) does not hold the slot")
			require.Equal(t, "sync-1", f.finished[0].SyncID)
			require.Equal(t, transaction.SyncError, f.finished[0].Status)
			require.Equal(t, "invalid request: filters.colour: unknown filter", f.finished[0].Error)
			require.Equal(t, transaction.ErrorCodeSiteRejected, f.finished[0].ErrorCode)
			require.Empty(t, f.pulls)
		}
	})

	t.Run("a scheduled run of an integration whose syncs are turned off is skipped", func(t *testing.T) {
		f := newFakeSync()
		f.plan = activities.SyncPlan{Disabled: true}
		env := f.env(t)
		in := syncInput(platform.DirectionFromExternal)
		in.SyncID, in.Trigger = "", workflows.TriggerSchedule
		env.ExecuteWorkflow(workflows.Sync, in)
		res := result[workflows.SyncProgress](t, env)
		require.True(t, res.Skipped)
		require.Contains(t, res.Note, "sync_enabled is false")
		require.Empty(t, f.pulls)
		require.Empty(t, f.finished, "nothing was recorded, nothing is ended")
	})

	t.Run("a resume sent while a pause is stopping the chunk withdraws the pause", func(t *testing.T) {
		f := newFakeSync()
		var env *testsuite.TestWorkflowEnvironment
		f.pull = func(ctx context.Context, n int, in activities.SyncPullInput) (activities.SyncPullResult, error) {
			if n == 0 {
				if err := untilCanceled(ctx); err != nil {
					return activities.SyncPullResult{}, err
				}
				return activities.SyncPullResult{}, ctx.Err()
			}
			return pages(3)(ctx, 1, in)
		}
		env = f.env(t)
		env.SetTestTimeout(10 * time.Second)
		// Both signals are queued at once, while the chunk runs: the pause cancels the chunk, and
		// the resume is taken before the chunk's cancellation comes back.
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalPause, workflows.OperatorSignal{By: "ops"})
			env.SignalWorkflow(workflows.SignalResume, workflows.OperatorSignal{By: "ops"})
		}, 50*time.Millisecond)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, transaction.SyncSuccess, res.Status)
		require.Len(t, f.pulls, 2, "the chunk ran again from the checkpoint")
		require.Equal(t, f.pulls[0], f.pulls[1])
		require.Empty(t, f.statuses, "the pause was withdrawn before it was taken")
	})

	t.Run("a pause and a resume that reach a chunk as it finishes leave the sync running", func(t *testing.T) {
		f := newFakeSync()
		var env *testsuite.TestWorkflowEnvironment
		f.pull = func(ctx context.Context, n int, in activities.SyncPullInput) (activities.SyncPullResult, error) {
			if n == 0 {
				// Delivered with the chunk's result: the run sees all three in one task.
				env.SignalWorkflowSkippingWorkflowTask(workflows.SignalPause, workflows.OperatorSignal{By: "ops"})
				env.SignalWorkflowSkippingWorkflowTask(workflows.SignalResume, workflows.OperatorSignal{By: "ops"})
			}
			return pages(4)(ctx, n, in)
		}
		env = f.env(t)
		env.SetTestTimeout(10 * time.Second)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		res := result[workflows.SyncProgress](t, env)
		require.Equal(t, transaction.SyncSuccess, res.Status)
		require.Equal(t, 4, res.Pages)
		require.Len(t, f.pulls, 2)
		require.Empty(t, f.statuses, "the pause was withdrawn before it was taken")
	})

	t.Run("a scheduled run that finds another active is skipped quietly", func(t *testing.T) {
		f := newFakeSync()
		f.plan = activities.SyncPlan{Busy: &activities.SyncBusy{SyncID: "sync-0", Status: transaction.SyncPaused}}
		env := f.env(t)
		in := syncInput(platform.DirectionFromExternal)
		in.SyncID, in.Trigger = "", workflows.TriggerSchedule
		env.ExecuteWorkflow(workflows.Sync, in)
		res := result[workflows.SyncProgress](t, env)
		require.True(t, res.Skipped)
		require.Equal(t, "sync-0", res.SyncID)
		require.Equal(t, transaction.SyncPaused, res.Status)
		require.NotEmpty(t, f.begins[0].SyncID, "a scheduled run's sync id is its run id")
		require.Empty(t, f.pulls)
		require.Empty(t, f.finished)
	})

	t.Run("a requested run that finds another active fails SyncBusy", func(t *testing.T) {
		f := newFakeSync()
		f.plan = activities.SyncPlan{Busy: &activities.SyncBusy{SyncID: "sync-0", Status: transaction.SyncRunning}}
		env := f.env(t)
		env.ExecuteWorkflow(workflows.Sync, syncInput(platform.DirectionFromExternal))
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, env.GetWorkflowError(), &appErr)
		require.Equal(t, transaction.ErrTypeSyncBusy, appErr.Type())
		var busy activities.SyncBusy
		require.NoError(t, appErr.Details(&busy))
		require.Equal(t, "sync-0", busy.SyncID)
		require.Empty(t, f.finished, "the active run's row is not this run's to end")
	})

	t.Run("invalid input fails at once", func(t *testing.T) {
		f := newFakeSync()
		env := f.env(t)
		in := syncInput("sideways")
		env.ExecuteWorkflow(workflows.Sync, in)
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, env.GetWorkflowError(), &appErr)
		require.Equal(t, transaction.ErrTypeInvalidInput, appErr.Type())
		require.Empty(t, f.begins)
	})
}

func TestSyncContent(t *testing.T) {
	run := func(t *testing.T, in workflows.SyncContentInput, item func(activities.SyncItemInput) (activities.SyncItemResult, error)) (
		*testsuite.TestWorkflowEnvironment, *[]activities.SyncEventInput) {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		env.RegisterActivity(a)
		env.OnActivity(a.SyncPolicies, mock.Anything).Return(syncPolicy, nil)
		env.OnActivity(a.SyncItem, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.SyncItemInput) (activities.SyncItemResult, error) {
				return item(in)
			})
		var events []activities.SyncEventInput
		env.OnActivity(a.RecordSyncEvent, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.SyncEventInput) error {
				events = append(events, in)
				return nil
			})
		env.ExecuteWorkflow(workflows.SyncContent, in)
		return env, &events
	}

	t.Run("a pulled item's action is the result", func(t *testing.T) {
		var got activities.SyncItemInput
		env, events := run(t, workflows.SyncContentInput{SyncID: "s-1", IntegrationID: "int-1", ClientID: "client-a",
			ContentType: "post", ExternalID: "42"}, func(in activities.SyncItemInput) (activities.SyncItemResult, error) {
			got = in
			return activities.SyncItemResult{Action: activities.ContentUpdated, ContentID: "c-1", ExternalID: "42"}, nil
		})
		res := result[workflows.SyncContentResult](t, env)
		require.Equal(t, workflows.SyncContentResult{SyncID: "s-1", Action: activities.ContentUpdated, ContentID: "c-1"}, res)
		require.Equal(t, "42", got.ExternalID)
		require.Equal(t, "post", got.ContentType)
		require.Empty(t, *events)
	})

	t.Run("an unavailable site is retried, then the failure is a result with an event", func(t *testing.T) {
		calls := 0
		env, events := run(t, workflows.SyncContentInput{IntegrationID: "int-1", ClientID: "client-a", ContentID: "c-9"},
			func(activities.SyncItemInput) (activities.SyncItemResult, error) {
				calls++
				return activities.SyncItemResult{}, temporal.NewApplicationError("wordpress answered 502", transaction.ErrTypeSiteUnavailable)
			})
		res := result[workflows.SyncContentResult](t, env)
		require.Equal(t, 3, calls)
		require.Equal(t, transaction.ErrorCodeSiteUnavailable, res.ErrorCode)
		require.Equal(t, "c-9", res.ContentID)
		require.NotEmpty(t, res.SyncID, "the run's id")
		require.Len(t, *events, 1)
		require.Equal(t, activities.SyncActionFailed, (*events)[0].Action)
		require.Equal(t, "c-9", (*events)[0].ContentID)
	})

	t.Run("a refusal is final", func(t *testing.T) {
		calls := 0
		env, _ := run(t, workflows.SyncContentInput{IntegrationID: "int-1", ClientID: "client-a", ContentType: "post",
			ExternalID: "1"}, func(activities.SyncItemInput) (activities.SyncItemResult, error) {
			calls++
			return activities.SyncItemResult{}, temporal.NewNonRetryableApplicationError("forbidden", transaction.ErrTypeSiteRejected, nil)
		})
		res := result[workflows.SyncContentResult](t, env)
		require.Equal(t, 1, calls)
		require.Equal(t, transaction.ErrorCodeSiteRejected, res.ErrorCode)
	})

	t.Run("one of external id and content id is required", func(t *testing.T) {
		env, _ := run(t, workflows.SyncContentInput{IntegrationID: "int-1", ClientID: "client-a", ExternalID: "1", ContentID: "c"},
			func(activities.SyncItemInput) (activities.SyncItemResult, error) { panic("not called") })
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, env.GetWorkflowError(), &appErr)
		require.Equal(t, transaction.ErrTypeInvalidInput, appErr.Type())
	})
}

func TestSyncStructure(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.OnActivity(a.SyncPolicies, mock.Anything).Return(syncPolicy, nil)
	given := &platform.SiteStructure{PostTypes: []string{"post"}, Taxonomies: []string{"category"},
		Plugins: map[string]bool{"woocommerce": true}, Timestamp: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)}
	env.OnActivity(a.UpdateSiteStructure, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SiteStructureInput) (platform.SiteStructure, error) {
			require.Equal(t, given, in.Structure)
			return *in.Structure, nil
		})
	env.ExecuteWorkflow(workflows.SyncStructure, workflows.SyncStructureInput{SyncID: "s-2", IntegrationID: "int-1",
		ClientID: "client-a", Structure: given, Trigger: workflows.TriggerCallback})
	res := result[workflows.SyncStructureResult](t, env)
	require.Equal(t, "s-2", res.SyncID)
	require.Equal(t, *given, res.Structure)
}
