// Package worker builds Temporal workers: which workflows and activities run on which task
// queue, with what tuning, and the Temporal client they share.
package worker

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/workflows"
)

// Config tunes a worker process.
type Config struct {
	// MaxConcurrentActivities bounds regular activities running at once in this process.
	MaxConcurrentActivities int `envconfig:"WORKER_MAX_CONCURRENT_ACTIVITIES" default:"200"`
	// MaxConcurrentLocalActivities bounds local activities (forwards, database writes).
	MaxConcurrentLocalActivities int `envconfig:"WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES" default:"500"`
	// MaxConcurrentWorkflowTasks bounds workflow tasks processed at once.
	MaxConcurrentWorkflowTasks int `envconfig:"WORKER_MAX_CONCURRENT_WORKFLOW_TASKS" default:"200"`
	// StopTimeout is how long a stopping worker lets running activities finish.
	StopTimeout Duration `envconfig:"WORKER_STOP_TIMEOUT" default:"30s"`
}

// NewProxy builds the worker of the proxy task queue: the ProxyTransaction workflow and the
// activities it runs. The API runs one (so its starts can be eager); standalone workers run
// more for retries, async work and scale-out.
func NewProxy(c client.Client, acts *activities.Activities, cfg Config) sdkworker.Worker {
	w := sdkworker.New(c, workflows.TaskQueueProxy, sdkworker.Options{
		MaxConcurrentActivityExecutionSize:      cfg.MaxConcurrentActivities,
		MaxConcurrentLocalActivityExecutionSize: cfg.MaxConcurrentLocalActivities,
		MaxConcurrentWorkflowTaskExecutionSize:  cfg.MaxConcurrentWorkflowTasks,
		WorkerStopTimeout:                       cfg.StopTimeout.Duration(),
	})
	Register(w, acts)
	return w
}

// Register adds the proxy workflow and activities to any registry (a worker or a test environment).
func Register(r interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
	RegisterActivityWithOptions(any, activity.RegisterOptions)
}, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.ProxyTransaction,
		workflow.RegisterOptions{Name: workflows.WorkflowProxyTransaction})
	r.RegisterActivityWithOptions(acts, activity.RegisterOptions{})
}
