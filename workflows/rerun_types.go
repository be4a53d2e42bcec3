package workflows

import (
	"time"

	"github.com/switchyard-hub/switchyard/activities"
)

// WorkflowRerun is a rerun task: a bulk rerun of logged transactions, or one channel's
// auto-retry of a failed transaction. It runs on TaskQueueProxy.
const WorkflowRerun = activities.RerunWorkflowType

// Statuses of a rerun task (its progress query and its rerun_tasks row).
const (
	RerunRunning   = "running"
	RerunPaused    = "paused"
	RerunCompleted = "completed"
	RerunCanceled  = "canceled"
)

// Rerun task sizes: reads of the set, and how many transactions one run handles before it
// continues as new (each takes a timer and an activity: about ten history events).
const (
	DefaultRerunPageSize    = 100
	DefaultRerunItemsPerRun = 500
	// MaxRerunRate is the highest pace, in reruns per second.
	MaxRerunRate = 100
)

// RerunInput starts or continues a Rerun workflow (activities.RerunInput).
type RerunInput = activities.RerunInput

// RerunProgress answers a rerun task's QueryProgress.
type RerunProgress = activities.RerunProgress

// RerunWorkflowID is the workflow ID of rerun task taskID.
func RerunWorkflowID(taskID string) string { return activities.RerunWorkflowID(taskID) }

// rerunInterval is the time between two reruns at rate per second.
func rerunInterval(rate float64) time.Duration {
	return time.Duration(float64(time.Second) / min(rate, MaxRerunRate))
}
