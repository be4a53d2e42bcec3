package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// workflowStart is a workflow the API starts for a request.
type workflowStart struct {
	kind                    transaction.Kind
	correlationID           string
	taskQueue, workflowType string
	input                   any
	memo                    transaction.Memo
	keyed                   bool // the correlation id derives from the client's Idempotency-Key
}

func (w workflowStart) id() string { return transaction.WorkflowID(w.kind, w.correlationID) }

// errKeyReused answers a repeated Idempotency-Key that comes with another request.
var errKeyReused = newError(http.StatusUnprocessableEntity, CodeIdempotencyKeyReused,
	"this Idempotency-Key was used for a different request")

// startWorkflow starts the workflow eagerly (its first task runs in this process), with its
// memo. When the ID is taken, the request joins the existing run, provided that run is the same
// client's and the same request: a repeat never does the work twice, and never gets another
// request's outcome. Workflows set their own search attributes.
func (s *Server) startWorkflow(ctx context.Context, w workflowStart) (client.WorkflowRun, error) {
	w.memo.Kind = w.kind
	if w.keyed {
		if err := s.checkLoggedKey(ctx, w); err != nil {
			return nil, err
		}
	}
	run, err := s.temporal.ExecuteWorkflow(ctx, startOptions(w.id(), w.taskQueue, w.memo), w.workflowType, w.input)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &started) {
		return run, err
	}
	memo, found, err := s.memoOf(ctx, w.id(), started.RunId)
	if err != nil {
		return nil, err
	}
	switch {
	case !found:
		// A run started before runs carried a memo: the correlation id is the client's own.
	case memo.ClientID != w.memo.ClientID || memo.Kind != w.kind:
		return nil, newError(http.StatusConflict, CodeConflict, "the correlation id belongs to another transaction")
	case memo.Fingerprint != w.memo.Fingerprint:
		return nil, errKeyReused
	}
	return s.temporal.GetWorkflow(ctx, w.id(), started.RunId), nil
}

// startOptions are the options of every start the API makes: eager (the first task runs in this
// process), with the memo, and a taken ID refused (never a second run); it comes back as an
// error, so the caller checks the run it names before joining it or calling it a repeat.
func startOptions(workflowID, taskQueue string, memo transaction.Memo) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       workflowID,
		TaskQueue:                                taskQueue,
		EnableEagerStart:                         true,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     map[string]any{transaction.MemoKey: memo},
	}
}

// keyedCorrelationID is the correlation id of a request of kind on route: scoped by kind and
// route, or, for a key a client first used before keys were scoped, the one that release
// derived (client and key) when the log holds a transaction of this kind under it. A retry that
// spans the upgrade so joins, or is answered from, the transaction it repeats.
func (s *Server) keyedCorrelationID(ctx context.Context, clientID string, kind transaction.Kind, route, key string) (string, error) {
	id, err := scopedCorrelationID(clientID, kind, route, key)
	if err != nil || key == "" {
		return id, err
	}
	legacy := KeyedCorrelationID(clientID, "", "", key)
	row, err := s.store.GetTransaction(ctx, legacy)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return id, nil
	case err != nil:
		return "", err
	case row.ClientID == clientID && row.Kind == kind:
		return legacy, nil
	}
	return id, nil
}

// checkLoggedKey refuses a keyed request when the log already holds another request under its
// correlation id (of another kind, or with another fingerprint): the key was reused, and the
// run that logged it may be long gone from Temporal.
func (s *Server) checkLoggedKey(ctx context.Context, w workflowStart) error {
	row, err := s.store.GetTransaction(ctx, w.correlationID)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return nil
	case err != nil:
		return err
	case row.ClientID != w.memo.ClientID:
		return newError(http.StatusConflict, CodeConflict, "the correlation id belongs to another transaction")
	case row.Kind != w.kind, row.RequestFingerprint != "" && row.RequestFingerprint != w.memo.Fingerprint:
		return errKeyReused
	}
	return nil
}

// keyReused reports whether a run failed because its log refused a reused Idempotency-Key.
func keyReused(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == transaction.ErrTypeIdempotencyKeyReused
}

// memoOf reads a run's memo with DescribeWorkflowExecution; found is false for a run without one.
func (s *Server) memoOf(ctx context.Context, workflowID, runID string) (memo transaction.Memo, found bool, err error) {
	d, err := s.temporal.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		return memo, false, err
	}
	payload, ok := d.GetWorkflowExecutionInfo().GetMemo().GetFields()[transaction.MemoKey]
	if !ok {
		return memo, false, nil
	}
	if err := s.converter.FromPayload(payload, &memo); err != nil {
		return memo, false, err
	}
	return memo, true, nil
}

// runOf is where a logged transaction's workflow is. Rows written before transactions recorded
// their workflow ID read under the ID their kind implied (transfers under the hash of the
// correlation id).
func runOf(row schema.TransactionRow) (workflowID, runID string) {
	switch {
	case row.WorkflowID != "":
		return row.WorkflowID, row.WorkflowRunID
	case row.Kind == transaction.KindISO:
		return transaction.LegacyTransferWorkflowID(row.CorrelationID), row.WorkflowRunID
	}
	return transaction.WorkflowID(row.Kind, row.CorrelationID), row.WorkflowRunID
}

// startedRun is a run Temporal knows and the log does not yet show.
type startedRun struct {
	workflowID string
	memo       transaction.Memo
	status     workflows.StatusView
}

// findStarted looks for the run of a correlation id under each kind's workflow ID, with
// DescribeWorkflowExecution (no history read), and asks a running one for its status.
func (s *Server) findStarted(ctx context.Context, correlationID string) (startedRun, error) {
	var notFound *serviceerror.NotFound
	for _, kind := range transaction.Kinds {
		id := transaction.WorkflowID(kind, correlationID)
		memo, found, err := s.memoOf(ctx, id, "")
		if errors.As(err, &notFound) {
			continue
		}
		if err != nil {
			return startedRun{}, err
		}
		if !found {
			continue
		}
		run := startedRun{workflowID: id, memo: memo, status: workflows.StatusView{Status: transaction.StatusPending}}
		// A run no worker takes answers no query: the status stays pending after a short wait.
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if v, err := s.temporal.QueryWorkflow(qctx, id, "", workflows.QueryStatus); err == nil {
			_ = v.Get(&run.status)
		}
		cancel()
		return run, nil
	}
	return startedRun{}, errNoTransaction
}
