package workflows_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/workflows"
)

// fakeRerunSet stands in for the store and StartRerun: a set of n transactions; those whose
// index is in skip are skipped. It records when each rerun started and every progress saved.
type fakeRerunSet struct {
	n       int
	skip    map[int]bool
	started []time.Time
	ids     []string
	saved   []activities.RerunProgressInput
}

func (f *fakeRerunSet) env(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.OnActivity(a.RerunPage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RerunPageInput) ([]schema.RerunCandidate, error) {
			from := 0
			if in.After.CorrelationID != "" {
				_, _ = fmt.Sscanf(in.After.CorrelationID, "tx-%d", &from)
				from++
			}
			var out []schema.RerunCandidate
			for i := from; i < f.n && len(out) < in.Limit; i++ {
				out = append(out, schema.RerunCandidate{CorrelationID: fmt.Sprintf("tx-%d", i),
					CreatedAt: time.Unix(int64(i), 0)})
			}
			return out, nil
		})
	env.OnActivity(a.StartRerun, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.StartRerunInput) (activities.StartRerunResult, error) {
			var i int
			_, _ = fmt.Sscanf(in.CorrelationID, "tx-%d", &i)
			f.ids = append(f.ids, in.CorrelationID)
			if f.skip[i] {
				return activities.StartRerunResult{Outcome: activities.RerunSkipped, Reason: "not finished"}, nil
			}
			f.started = append(f.started, env.Now())
			return activities.StartRerunResult{Outcome: activities.RerunStarted, RerunID: "rerun-" + in.CorrelationID}, nil
		})
	env.OnActivity(a.SaveRerunProgress, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RerunProgressInput) error {
			f.saved = append(f.saved, in)
			return nil
		})
	return env
}

func rerunInput(limit int, rate float64) workflows.RerunInput {
	return workflows.RerunInput{TaskID: "task-1", Filter: activities.RerunFilter{Status: []string{"failed"}},
		Before: time.Unix(1000, 0), Rate: rate, Limit: limit, PageSize: 3,
		Progress: workflows.RerunProgress{RerunCounts: schema.RerunCounts{Total: limit}}}
}

func TestRerun(t *testing.T) {
	t.Parallel()

	t.Run("it reruns the whole set at the rate, counting skipped ones, and ends completed", func(t *testing.T) {
		f := &fakeRerunSet{n: 7, skip: map[int]bool{2: true}}
		env := f.env(t)
		env.ExecuteWorkflow(workflows.Rerun, rerunInput(100, 2))
		require.NoError(t, env.GetWorkflowError())
		var res workflows.RerunProgress
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, workflows.RerunCompleted, res.Status)
		require.Equal(t, schema.RerunCounts{Total: 100, Done: 7, Started: 6, Skipped: 1}, res.RerunCounts)
		require.Equal(t, []string{"tx-0", "tx-1", "tx-2", "tx-3", "tx-4", "tx-5", "tx-6"}, f.ids)
		for i := 1; i < len(f.started); i++ {
			require.GreaterOrEqual(t, f.started[i].Sub(f.started[i-1]), 500*time.Millisecond, "2 per second at most")
		}
		last := f.saved[len(f.saved)-1]
		require.True(t, last.Final)
		require.Equal(t, workflows.RerunCompleted, last.Progress.Status)
	})

	t.Run("it stops at its limit", func(t *testing.T) {
		f := &fakeRerunSet{n: 10}
		env := f.env(t)
		env.ExecuteWorkflow(workflows.Rerun, rerunInput(4, 50))
		var res workflows.RerunProgress
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, 4, res.Done)
		require.Len(t, f.ids, 4)
	})

	t.Run("pause holds it and resume goes on; the progress query shows both", func(t *testing.T) {
		f := &fakeRerunSet{n: 6}
		env := f.env(t)
		var whilePaused workflows.RerunProgress
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalPause, workflows.OperatorSignal{Note: "upstream maintenance"})
		}, 1500*time.Millisecond)
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(workflows.QueryProgress)
			require.NoError(t, err)
			require.NoError(t, v.Get(&whilePaused))
			env.SignalWorkflow(workflows.SignalResume, nil)
		}, time.Hour)
		env.ExecuteWorkflow(workflows.Rerun, rerunInput(100, 1))
		var res workflows.RerunProgress
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, workflows.RerunPaused, whilePaused.Status)
		require.Equal(t, "upstream maintenance", whilePaused.Note)
		require.Equal(t, 2, whilePaused.Done, "reruns at 0 s and 1 s, then the pause at 1.5 s")
		require.Equal(t, workflows.RerunCompleted, res.Status)
		require.Equal(t, 6, res.Done)
		require.GreaterOrEqual(t, f.started[2].Sub(f.started[1]), 59*time.Minute, "nothing ran while paused")
	})

	t.Run("cancel stops it part-way and records it canceled", func(t *testing.T) {
		f := &fakeRerunSet{n: 50}
		env := f.env(t)
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalCancel, workflows.OperatorSignal{Note: "wrong filter", By: "admin"})
		}, 2500*time.Millisecond)
		env.ExecuteWorkflow(workflows.Rerun, rerunInput(100, 1))
		var res workflows.RerunProgress
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, workflows.RerunCanceled, res.Status)
		require.Equal(t, 3, res.Done)
		last := f.saved[len(f.saved)-1]
		require.True(t, last.Final)
		require.Equal(t, workflows.RerunCanceled, last.Progress.Status)
		require.Equal(t, "wrong filter", last.Progress.Note)
	})

	t.Run("it continues as new after its share, carrying the position and counts", func(t *testing.T) {
		f := &fakeRerunSet{n: 10, skip: map[int]bool{1: true}}
		env := f.env(t)
		in := rerunInput(100, 50)
		in.ItemsPerRun = 4
		env.ExecuteWorkflow(workflows.Rerun, in)
		var can *workflow.ContinueAsNewError
		require.ErrorAs(t, env.GetWorkflowError(), &can)
		require.Equal(t, workflows.WorkflowRerun, can.WorkflowType.Name)
		var next workflows.RerunInput
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
		require.Equal(t, "tx-3", next.After.CorrelationID)
		require.Equal(t, schema.RerunCounts{Total: 100, Done: 4, Started: 3, Skipped: 1}, next.Progress.RerunCounts)
		require.True(t, in.Before.Equal(next.Before), "the set stays frozen")
		require.False(t, f.saved[len(f.saved)-1].Final)

		next.ItemsPerRun = 100
		f2 := &fakeRerunSet{n: 10, skip: map[int]bool{1: true}}
		env2 := f2.env(t)
		env2.ExecuteWorkflow(workflows.Rerun, next)
		var res workflows.RerunProgress
		require.NoError(t, env2.GetWorkflowResult(&res))
		require.Equal(t, "tx-4", f2.ids[0], "the next run goes on where the last stopped")
		require.Equal(t, schema.RerunCounts{Total: 100, Done: 10, Started: 9, Skipped: 1}, res.RerunCounts)
	})

	t.Run("an auto-retry reruns its one transaction and records no task", func(t *testing.T) {
		f := &fakeRerunSet{n: 0}
		env := f.env(t)
		env.ExecuteWorkflow(workflows.Rerun, workflows.RerunInput{TaskID: activities.AutoRetryTaskID("tx-9"),
			AutoRetryOf: "tx-9"})
		var res workflows.RerunProgress
		require.NoError(t, env.GetWorkflowResult(&res))
		require.Equal(t, []string{"tx-9"}, f.ids)
		require.Equal(t, 1, res.Started)
		require.Empty(t, f.saved)
	})

	t.Run("a bulk task without rate, limit or end of set is refused", func(t *testing.T) {
		f := &fakeRerunSet{}
		env := f.env(t)
		env.ExecuteWorkflow(workflows.Rerun, workflows.RerunInput{TaskID: "task-1"})
		require.Error(t, env.GetWorkflowError())
		require.Empty(t, f.ids)
	})
}

// A rerun is started from an activity with activities.ProxyStart: each of its fields must be
// the ProxyTransaction input's (fields it leaves out start a rerun with their zero value), and
// the names it starts by must be the workflows'.
func TestProxyStartIsProxyInput(t *testing.T) {
	t.Parallel()
	start, input := reflect.TypeOf(activities.ProxyStart{}), reflect.TypeOf(workflows.ProxyInput{})
	for i := range start.NumField() {
		f, ok := input.FieldByName(start.Field(i).Name)
		require.True(t, ok, "ProxyInput has no %s", start.Field(i).Name)
		require.Equal(t, f.Type, start.Field(i).Type, start.Field(i).Name)
	}
	require.Equal(t, workflows.WorkflowProxyTransaction, activities.ProxyWorkflowType)
	require.Equal(t, workflows.TaskQueueProxy, activities.ProxyTaskQueue)
	require.Equal(t, workflows.QueryRequest, schema.QueryRequest)
	require.Contains(t, workflows.Types, workflows.WorkflowRerun)
}
