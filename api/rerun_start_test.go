package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/workflows"
)

const rerunPath = "/api/v1/admin/transactions/rerun"

// A bulk rerun whose start timed out after the server took it is one task: the start is made
// again with the same ID, finds the run, and the admin gets 202 with the row still running.
func TestBulkRerunStartThatTimedOutAfterItWasTakenIsOneTask(t *testing.T) {
	h := newHub(t, api.Config{})
	filter := map[string]any{"filter": map[string]any{"client_id": "nobody-reruns-this"}}

	t.Run("the run the lost start made answers 202", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			if len(h.starts) == 1 {
				return nil, serviceerror.NewDeadlineExceeded("context deadline exceeded")
			}
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "run-1")
		})
		a := h.do("POST", rerunPath, "admin", filter)
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		id, _ := a.data()["task_id"].(string)
		starts := h.started()
		require.Len(t, starts, 2)
		require.Equal(t, workflows.RerunWorkflowID(id), starts[0].opts.ID)
		require.Equal(t, starts[0].opts.ID, starts[1].opts.ID, "started again under the same ID")
		row, err := h.store.GetRerunTask(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, workflows.RerunRunning, row.Status)
		require.False(t, row.CompletedAt.Valid)
	})

	t.Run("a task with no run is failed and answers 503", func(t *testing.T) {
		h.onStart(func(client.StartWorkflowOptions, string, any) (client.WorkflowRun, error) {
			return nil, serviceerror.NewUnavailable("connection refused")
		})
		h.temporal.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").
			Return(nil, serviceerror.NewNotFound("workflow not found")).Once()
		a := h.do("POST", rerunPath, "admin", filter)
		require.Equal(t, http.StatusServiceUnavailable, a.code, a.raw)
		starts := h.started()
		require.Len(t, starts, 2)
		in, ok := starts[0].input.(workflows.RerunInput)
		require.True(t, ok)
		row, err := h.store.GetRerunTask(context.Background(), in.TaskID)
		require.NoError(t, err)
		require.Equal(t, "failed", row.Status)
		require.True(t, row.CompletedAt.Valid)
	})

	t.Run("a run found after both starts failed answers 202", func(t *testing.T) {
		h := newHub(t, api.Config{})
		h.onStart(func(client.StartWorkflowOptions, string, any) (client.WorkflowRun, error) {
			return nil, serviceerror.NewDeadlineExceeded("context deadline exceeded")
		})
		h.temporal.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").Return(
			&workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
				Status: enums.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil).Once()
		a := h.do("POST", rerunPath, "admin", filter)
		require.Equal(t, http.StatusAccepted, a.code, a.raw)
		row, err := h.store.GetRerunTask(context.Background(), a.data()["task_id"].(string))
		require.NoError(t, err)
		require.Equal(t, workflows.RerunRunning, row.Status, "the row is left to the run")
	})
}
