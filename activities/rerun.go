package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// Names Temporal sees that rerun activities start by (workflows names the same).
const (
	// ProxyWorkflowType is workflows.WorkflowProxyTransaction.
	ProxyWorkflowType = "ProxyTransaction"
	// ProxyTaskQueue is workflows.TaskQueueProxy: proxied transactions and rerun tasks.
	ProxyTaskQueue = "proxy"
	// RerunWorkflowType is a rerun task: a bulk rerun, or one channel's auto-retry.
	RerunWorkflowType = "Rerun"
)

// RerunStore is the part of schema.Store rerun tasks read and write.
type RerunStore interface {
	GetTransaction(ctx context.Context, correlationID string) (schema.TransactionRow, error)
	GetClient(ctx context.Context, clientID string) (schema.ClientRow, error)
	RerunCandidates(ctx context.Context, f schema.RerunFilter, before time.Time, after schema.RerunCandidate,
		limit int) ([]schema.RerunCandidate, error)
	SaveRerunProgress(ctx context.Context, id, status string, c schema.RerunCounts, note string, final bool) error
	AutoRetryOf(ctx context.Context, correlationID string) (schema.AutoRetry, error)
	ChannelRelaysESB(ctx context.Context, channelID string) (bool, error)
}

// RerunClient starts reruns and reads the request of the transaction each repeats;
// client.Client satisfies it.
type RerunClient interface {
	schema.RequestQuerier
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// Reruns is what rerun tasks need beyond the store: a Temporal client. The worker sets its own
// when none is given.
type Reruns struct {
	Temporal RerunClient
}

// RerunFilter selects a bulk rerun's transactions.
type RerunFilter = schema.RerunFilter

// RerunInput starts a Rerun workflow: a bulk rerun task (TaskID, Filter up to Before) or the
// auto-retry of one failed transaction (AutoRetryOf).
type RerunInput struct {
	TaskID string
	// AutoRetryOf is the failed transaction an auto-retry reruns; empty for a bulk task.
	AutoRetryOf string
	Filter      RerunFilter
	// Before bounds the set: transactions created up to the task's creation.
	Before time.Time
	// Rate is reruns per second.
	Rate float64
	// Limit caps how many transactions the task handles.
	Limit int
	// PageSize is how many transactions one read fetches; ItemsPerRun how many one run
	// handles before it continues as new. Zero: the defaults.
	PageSize    int
	ItemsPerRun int
	// Carried across continue-as-new: where the set goes on, and the counts so far.
	After    schema.RerunCandidate
	Progress RerunProgress
}

// RerunProgress answers a rerun task's progress query.
type RerunProgress struct {
	TaskID string `json:"task_id"`
	Status string `json:"status"`
	schema.RerunCounts
	Note string `json:"note,omitempty"`
}

// RerunPageInput reads the next transactions of a task's set.
type RerunPageInput struct {
	Filter RerunFilter
	Before time.Time
	After  schema.RerunCandidate
	Limit  int
}

// RerunCandidate is one transaction of a rerun task's frozen set: its key in the set's order.
type RerunCandidate = schema.RerunCandidate

// RerunPage reads the next transactions of a bulk rerun's set, in (created_at, correlation_id)
// order after in.After.
func (a *Activities) RerunPage(ctx context.Context, in RerunPageInput) ([]schema.RerunCandidate, error) {
	rows, err := a.Store.RerunCandidates(ctx, in.Filter, in.Before, in.After, in.Limit)
	return rows, classify(err)
}

// RerunProgressInput records a task's status and counts.
type RerunProgressInput struct {
	Progress RerunProgress
	Final    bool
}

// SaveRerunProgress writes a bulk rerun's status and counts to its row.
func (a *Activities) SaveRerunProgress(ctx context.Context, in RerunProgressInput) error {
	p := in.Progress
	return classify(a.Store.SaveRerunProgress(ctx, p.TaskID, p.Status, p.RerunCounts, p.Note, in.Final))
}

// Outcomes of one StartRerun.
const (
	RerunStarted = "started"
	RerunSkipped = "skipped"
	RerunFailed  = "failed"
)

// StartRerunInput is one transaction of a rerun task.
type StartRerunInput struct {
	TaskID        string
	CorrelationID string
}

// StartRerunResult says what became of it: started (RerunID is the new transaction), skipped
// or failed (Reason says why).
type StartRerunResult struct {
	Outcome string
	RerunID string
	Reason  string
}

// rerunNamespace derives a rerun's correlation id from its task and the transaction it repeats.
var rerunNamespace = uuid.MustParse("0d6f3c1e-5a7b-4e8f-9c2d-1b3a5e7f9d04")

// RerunCorrelationID is the correlation id of the rerun that task makes of correlationID: the
// same for every attempt, so a retried start starts it once.
func RerunCorrelationID(taskID, correlationID string) string {
	return uuid.NewSHA1(rerunNamespace, []byte(taskID+"\x00"+correlationID)).String()
}

// ProxyStart is the input of a ProxyTransaction (the fields of workflows.ProxyInput a rerun
// sets; the others keep their zero value): a rerun is started with it from here, where the
// workflows package cannot be named.
type ProxyStart struct {
	CorrelationID string
	Keyed         bool
	ParentID      string
	ClientID      string
	Fingerprint   string
	Channel       transaction.Channel
	Request       transaction.Request
}

// StartRerun starts a new proxied transaction that repeats a finished one, linked to it by
// parent_id, through its channel as the channel is now, as its client. A transaction that is
// not a finished proxied one is skipped. One fails, with the reason, when the single rerun
// (POST /transactions/{id}/rerun) would be refused: its channel gone, off or no longer
// admitting the client (allowed_clients / allowed_roles), its client gone or deactivated, its
// request no longer held or its path one a request is refused for. The rerun's request stays
// out of the task's history: this activity reads and starts it.
func (a *Activities) StartRerun(ctx context.Context, in StartRerunInput) (StartRerunResult, error) {
	row, err := a.Store.GetTransaction(ctx, in.CorrelationID)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return StartRerunResult{Outcome: RerunSkipped, Reason: "no such transaction"}, nil
	case err != nil:
		return StartRerunResult{}, classify(err)
	case row.Kind != transaction.KindProxy:
		return StartRerunResult{Outcome: RerunSkipped, Reason: "a " + row.Kind + " transaction is not rerun"}, nil
	case !transaction.Final(row.Status):
		return StartRerunResult{Outcome: RerunSkipped, Reason: "the transaction is " + row.Status}, nil
	case !row.ChannelID.Valid:
		return StartRerunResult{Outcome: RerunFailed, Reason: "the transaction has no channel"}, nil
	}
	route, err := a.Store.GetRoute(ctx, row.ChannelID.String)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return StartRerunResult{Outcome: RerunFailed, Reason: "its channel is gone"}, nil
	case err != nil:
		return StartRerunResult{}, classify(err)
	case !route.IsActive:
		return StartRerunResult{Outcome: RerunFailed, Reason: "channel " + route.Name + " is inactive"}, nil
	case !route.MediatorOnline:
		return StartRerunResult{Outcome: RerunFailed, Reason: "mediator " + route.MediatorURN + " is offline"}, nil
	}
	switch reason, err := a.rerunRefusedClient(ctx, row.ClientID, route); {
	case err != nil:
		return StartRerunResult{}, err
	case reason != "":
		return StartRerunResult{Outcome: RerunFailed, Reason: reason}, nil
	}
	// A relayed transaction's organization came with its request and was never kept.
	relays, err := a.Store.ChannelRelaysESB(ctx, route.ID)
	switch {
	case err != nil:
		return StartRerunResult{}, classify(err)
	case relays:
		return StartRerunResult{Outcome: RerunFailed, Reason: "channel " + route.Name + " relays through the National ESB:" +
			" rerun it with POST /transactions/{id}/rerun and X-Organization"}, nil
	}
	if a.Reruns.Temporal == nil {
		return StartRerunResult{}, classify(errors.New("no Temporal client to start reruns with"))
	}
	req, err := schema.OriginalRequest(ctx, a.Reruns.Temporal, row)
	switch {
	case errors.Is(err, schema.ErrRerunUnavailable):
		return StartRerunResult{Outcome: RerunFailed, Reason: err.Error()}, nil
	case err != nil:
		return StartRerunResult{}, classify(err)
	}
	// A row logged before paths were checked is checked now, as a new request would be.
	if err := transaction.CheckLoggedPath(req.Path); err != nil {
		return StartRerunResult{Outcome: RerunFailed, Reason: err.Error()}, nil
	}
	// An admin who took a method off the channel (to stop writes, say) stops its reruns too.
	if !slices.ContainsFunc(route.Methods, func(m string) bool { return strings.EqualFold(m, req.Method) }) {
		return StartRerunResult{Outcome: RerunFailed, Reason: "channel " + route.Name + " no longer accepts " + req.Method}, nil
	}
	id := RerunCorrelationID(in.TaskID, row.CorrelationID)
	fingerprint := transaction.Fingerprint(transaction.KindProxy, req.Method, req.Path+"?"+req.RawQuery, req.Body)
	channel := route.Channel(a.Config.DefaultTimeout)
	_, err = a.Reruns.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       transaction.WorkflowID(transaction.KindProxy, id),
		TaskQueue:                                ProxyTaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo: map[string]any{transaction.MemoKey: transaction.Memo{Kind: transaction.KindProxy, ClientID: row.ClientID,
			Fingerprint: fingerprint, Label: channel.Name, Method: req.Method, Path: req.Path}},
	}, ProxyWorkflowType, ProxyStart{CorrelationID: id, ParentID: row.CorrelationID, ClientID: row.ClientID,
		Fingerprint: fingerprint, Channel: channel, Request: req})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) { // started: an earlier attempt of this activity started it
		return StartRerunResult{}, classify(fmt.Errorf("starting the rerun of %s: %w", row.CorrelationID, err))
	}
	return StartRerunResult{Outcome: RerunStarted, RerunID: id}, nil
}

// rerunRefusedClient says why the transaction's client may not rerun through route now ("" when
// it may): the client must still exist, be active and be admitted by the channel.
func (a *Activities) rerunRefusedClient(ctx context.Context, clientID string, route schema.RouteRow) (string, error) {
	client, err := a.Store.GetClient(ctx, clientID)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return "its client " + clientID + " is gone", nil
	case err != nil:
		return "", classify(err)
	case !client.IsActive:
		return "its client " + clientID + " is deactivated", nil
	case !route.Admits(client.ClientID, client.Roles):
		return "channel " + route.Name + " no longer admits client " + clientID + " (allowed_clients / allowed_roles)", nil
	}
	return "", nil
}

// AutoRetryTaskID names the auto-retry of a failed transaction (its Rerun workflow is
// RerunWorkflowID of it).
func AutoRetryTaskID(correlationID string) string { return "auto-retry-" + correlationID }

// RerunWorkflowID is the workflow ID of a rerun task.
func RerunWorkflowID(taskID string) string { return "rerun:" + taskID }

// scheduleAutoRetry starts, after its channel's auto_retry interval, the rerun of a proxied
// transaction that failed, unless its chain already holds auto_retry max reruns. The workflow
// ID derives from the transaction: a retried RecordOutcome starts it once.
func (a *Activities) scheduleAutoRetry(ctx context.Context, correlationID string) error {
	if a.Reruns.Temporal == nil {
		return nil // a helper worker without a client: the API's and standalone workers have one
	}
	ar, err := a.Store.AutoRetryOf(ctx, correlationID)
	if err != nil || ar.Max == 0 || ar.Depth >= ar.Max {
		return err
	}
	taskID := AutoRetryTaskID(correlationID)
	_, err = a.Reruns.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       RerunWorkflowID(taskID),
		TaskQueue:                                ProxyTaskQueue,
		StartDelay:                               time.Duration(ar.IntervalMS) * time.Millisecond,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, RerunWorkflowType, RerunInput{TaskID: taskID, AutoRetryOf: correlationID})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	if err == nil {
		activity.GetLogger(ctx).Info("Failed transaction will be rerun by its channel's auto_retry",
			"correlation_id", correlationID, "after", time.Duration(ar.IntervalMS)*time.Millisecond,
			"rerun", ar.Depth+1, "of", ar.Max)
	}
	return err
}
