package workflows_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/switchyard-hub/switchyard/worker"
	"github.com/switchyard-hub/switchyard/workflows"
)

// TestReplayRecordedHistories replays the histories recorded from the end-to-end runs
// (testdata/histories, refreshed by `make histories`) against today's workflow code: a change
// that would break a run in flight (an escalation waits for days) fails here. Such a change
// goes behind workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	replayer := sdkworker.NewWorkflowReplayer()
	worker.RegisterWorkflows(replayer)

	covered := map[string]int{}
	for _, f := range files {
		wfType, _, _ := strings.Cut(filepath.Base(f), "-")
		covered[wfType]++
		t.Run(filepath.Base(f), func(t *testing.T) {
			require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
	for _, wfType := range workflows.Types {
		require.NotZero(t, covered[wfType], "no recorded history of %s: run `make histories`", wfType)
	}
}
