// Package worker builds Temporal workers: which workflows and activities run on which task
// queue, with what tuning, and the Temporal client they share.
package worker

import (
	"fmt"
	"slices"
	"time"

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
	StopTimeout time.Duration `envconfig:"WORKER_STOP_TIMEOUT" default:"30s"`
	// HeartbeatThrottle is the longest an activity's heartbeat waits to be sent (the SDK sends at
	// most one per 80 % of the heartbeat timeout otherwise). A cancellation reaches an activity
	// in a heartbeat's answer: a paused sync's chunk stops within about this long.
	HeartbeatThrottle time.Duration `envconfig:"WORKER_HEARTBEAT_THROTTLE" default:"2s"`
	// PollerAutoscaling lets each worker grow and shrink its task pollers with the backlog the
	// server reports (the SDK's autoscaling poller behaviour) instead of polling with a fixed two:
	// a standalone worker takes every task through its pollers, and two cap its throughput. The
	// API's embedded workers never scale theirs (their work comes with eager starts).
	PollerAutoscaling bool `envconfig:"WORKER_POLLER_AUTOSCALING" default:"true"`
	// TaskQueues are the queues a `switchyard worker` process serves.
	TaskQueues []string `envconfig:"WORKER_TASK_QUEUES" default:"proxy,integration,iso,webhook,sync,notification"`
}

// Queues lists every task queue and what runs on it.
var Queues = []string{workflows.TaskQueueProxy, workflows.TaskQueueIntegration, workflows.TaskQueueISO,
	workflows.TaskQueueWebhook, workflows.TaskQueueSync, workflows.TaskQueueNotification}

// New builds one worker per task queue in queues, each with every workflow and activity
// registered (a queue only ever receives its own). The API runs them for eager starts;
// standalone workers run more for retries, async work and scale-out.
func New(c client.Client, queues []string, acts *activities.Activities, cfg Config) ([]sdkworker.Worker, error) {
	if acts.Reruns.Temporal == nil {
		acts.Reruns.Temporal = c // reruns and auto-retries start their transactions with the worker's client
	}
	var out []sdkworker.Worker
	for _, q := range queues {
		if !slices.Contains(Queues, q) {
			return nil, fmt.Errorf("WORKER_TASK_QUEUES: unknown task queue %q (have %v)", q, Queues)
		}
		opts := sdkworker.Options{
			MaxConcurrentActivityExecutionSize:      cfg.MaxConcurrentActivities,
			MaxConcurrentLocalActivityExecutionSize: cfg.MaxConcurrentLocalActivities,
			MaxConcurrentWorkflowTaskExecutionSize:  cfg.MaxConcurrentWorkflowTasks,
			WorkerStopTimeout:                       cfg.StopTimeout,
			MaxHeartbeatThrottleInterval:            cfg.HeartbeatThrottle,
		}
		if cfg.PollerAutoscaling {
			opts.WorkflowTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{})
			opts.ActivityTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{})
		}
		w := sdkworker.New(c, q, opts)
		Register(w, acts)
		out = append(out, w)
	}
	return out, nil
}

// Register adds Switchyard's workflows and activities to any registry (a worker or a test environment).
func Register(r interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
	RegisterActivityWithOptions(any, activity.RegisterOptions)
}, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivityWithOptions(acts, activity.RegisterOptions{})
}

// RegisterWorkflows adds Switchyard's workflows under their type names to any registry: a
// worker, a test environment or a replayer.
func RegisterWorkflows(r interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
}) {
	for name, fn := range map[string]any{
		workflows.WorkflowProxyTransaction:  workflows.ProxyTransaction,
		workflows.WorkflowProviderOperation: workflows.ProviderOperation,
		workflows.WorkflowCardTransfer:      workflows.CardTransfer,
		workflows.WorkflowWebhookIngest:     workflows.WebhookIngest,
		workflows.WorkflowOrderedIngest:     workflows.OrderedIngest,
		workflows.WorkflowDelivery:          workflows.Delivery,
		workflows.WorkflowOrderedDelivery:   workflows.OrderedDelivery,
		workflows.WorkflowSendMessage:       workflows.SendMessage,
		workflows.WorkflowIntegrationCheck:  workflows.IntegrationCheck,
		workflows.WorkflowWebhookReplay:     workflows.WebhookReplay,
		workflows.WorkflowSync:              workflows.Sync,
		workflows.WorkflowSyncContent:       workflows.SyncContent,
		workflows.WorkflowSyncStructure:     workflows.SyncStructure,
		workflows.WorkflowBatch:             workflows.Batch,
		workflows.WorkflowNotify:            workflows.Notify,

		workflows.WorkflowNotificationDelivery:   workflows.NotificationDelivery,
		workflows.WorkflowNotificationEscalation: workflows.NotificationEscalation,
		workflows.WorkflowRerun:                  workflows.Rerun,
	} {
		r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	}
}
