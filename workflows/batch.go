package workflows

import (
	"fmt"
	"net/http"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
)

// batchRoute is the API route of batches, for the log.
const batchRoute = "/api/v1/integration/batch/"

// Batch runs provider operations, each a child ProviderOperation (its own correlation id,
// BatchItemCorrelationID, and log row), at most MaxConcurrent at a time, and answers their
// outcomes in request order. An operation that fails is a result, not the batch's failure.
// The batch is logged like every transaction (kind batch), its outcome a summary of the items.
func Batch(ctx workflow.Context, in BatchInput) (BatchResult, error) {
	if in.MaxConcurrent == 0 {
		in.MaxConcurrent = DefaultBatchConcurrent
	}
	if err := in.validate(); err != nil {
		return BatchResult{}, temporal.NewNonRetryableApplicationError(err.Error(), transaction.ErrTypeInvalidInput, nil)
	}
	logger := log.With(workflow.GetLogger(ctx), "correlation_id", in.CorrelationID, "client_id", in.ClientID)
	status, err := track(ctx, logger, transaction.KindBatch, in.ClientID, "batch", in.CorrelationID)
	if err != nil {
		return BatchResult{}, err
	}
	info := workflow.GetInfo(ctx).WorkflowExecution
	names := make([]string, len(in.Operations))
	for i, op := range in.Operations {
		names[i] = op.Operation
	}
	var rec activities.RecordStartResult
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordStart, activities.RecordStartInput{
		CorrelationID: in.CorrelationID, Kind: transaction.KindBatch, Operation: "batch", Fingerprint: in.Fingerprint,
		WorkflowID: info.ID, WorkflowRunID: info.RunID, ClientID: in.ClientID, Channel: transaction.Channel{Name: "batch"},
		Request: transaction.Request{Method: http.MethodPost, Path: batchRoute},
		Summary: map[string]any{"operations": names, "max_concurrent": in.MaxConcurrent},
	}).Get(ctx, &rec); err != nil {
		return BatchResult{}, err
	}
	if rec.Existing != nil {
		// An earlier run finished this batch and its history is gone: the log has its summary.
		logger.Info("Batch already recorded as finished: answering with the stored status", "status", rec.Existing.Status)
		res := BatchResult{CorrelationID: in.CorrelationID, Status: rec.Existing.Status, Total: len(in.Operations)}
		status.show(ctx, StatusView{Status: res.Status, Error: rec.Existing.Error}, res.Status)
		return res, nil
	}
	// An earlier run that did not finish (InFlight) is simply run again: the operations are keyed
	// by their correlation ids, so none calls its provider twice.
	res := runBatch(ctx, in)
	outcome := activities.RecordOutcomeInput{CorrelationID: in.CorrelationID, Kind: transaction.KindBatch, Status: res.Status,
		Attempts: 1, Summary: batchSummary(res)}
	if res.Failed > 0 {
		outcome.Error = fmt.Sprintf("%d of %d operations failed", res.Failed, res.Total)
	}
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordOutcome, outcome).Get(ctx, nil); err != nil {
		return BatchResult{}, err
	}
	status.show(ctx, StatusView{Status: res.Status, Attempts: 1, Error: outcome.Error}, res.Status)
	return res, nil
}

func (in BatchInput) validate() error {
	switch {
	case in.CorrelationID == "" || in.ClientID == "":
		return fmt.Errorf("correlation id and client are required")
	case len(in.Operations) == 0 || len(in.Operations) > MaxBatchOperations:
		return fmt.Errorf("a batch has 1 to %d operations", MaxBatchOperations)
	case in.MaxConcurrent < 1 || in.MaxConcurrent > MaxBatchConcurrent:
		return fmt.Errorf("max_concurrent is 1 to %d", MaxBatchConcurrent)
	}
	for i, op := range in.Operations {
		if op.Operation == "" {
			return fmt.Errorf("operation %d names no operation", i)
		}
	}
	return nil
}

// runBatch runs the operations as children, at most MaxConcurrent in flight, and collects their
// outcomes by index.
func runBatch(ctx workflow.Context, in BatchInput) BatchResult {
	res := BatchResult{CorrelationID: in.CorrelationID, Total: len(in.Operations), Items: make([]BatchItem, len(in.Operations))}
	sel := workflow.NewSelector(ctx)
	next, running := 0, 0
	data := 0
	for done := 0; done < len(in.Operations); done++ {
		for running < in.MaxConcurrent && next < len(in.Operations) {
			i := next
			op := in.Operations[i]
			corr := BatchItemCorrelationID(in.CorrelationID, i)
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID: transaction.WorkflowID(transaction.KindOperation, corr),
				TaskQueue:  TaskQueueIntegration,
				// An operation that started finishes and records its outcome, whatever becomes of
				// the batch.
				ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
			})
			future := workflow.ExecuteChildWorkflow(cctx, WorkflowProviderOperation, OperationInput{CorrelationID: corr,
				ClientID: in.ClientID, Operation: op.Operation, Issuer: op.Issuer, Route: op.Route, Params: op.Params,
				Keyed: true, Fingerprint: in.Fingerprint})
			sel.AddFuture(future, func(f workflow.Future) {
				var out OperationResult
				item := batchItem(i, op, corr, f.Get(ctx, &out), out)
				if data+len(item.Data) > MaxBatchData {
					item.Data, item.DataOmitted = nil, true
				}
				data += len(item.Data)
				res.Items[i] = item
			})
			next++
			running++
		}
		sel.Select(ctx)
		running--
	}
	for _, item := range res.Items {
		if item.Success {
			res.Succeeded++
		} else {
			res.Failed++
		}
	}
	res.Status = transaction.StatusSuccessful
	if res.Failed > 0 {
		res.Status = transaction.StatusFailed
	}
	return res
}

// batchItem reads one operation's outcome: its result, or the error its run ended with.
func batchItem(i int, op BatchOperation, corr string, err error, out OperationResult) BatchItem {
	item := BatchItem{Index: i, Operation: op.Operation, CorrelationID: corr}
	if err != nil {
		item.ErrorCode, item.Error = operationError(err)
		return item
	}
	item.HTTPStatus = out.HTTPStatus
	switch {
	case out.Status == transaction.StatusSuccessful:
		item.Success, item.Data = true, out.Body
	case out.HTTPStatus >= 400:
		item.ErrorCode, item.Error, item.ProviderDetail = out.ProviderCode, out.Message, out.ProviderDetail
		if item.Error == "" {
			item.Error = http.StatusText(out.HTTPStatus)
		}
	default:
		item.ErrorCode, item.Error, item.ProviderStatus = out.ErrorCode, out.Error, out.ProviderStatus
	}
	return item
}

// batchSummary is what the log keeps of a batch's outcome: each item's status and codes, not
// its data (that is in the operation's own log row, masked there).
func batchSummary(res BatchResult) map[string]any {
	items := make([]map[string]any, len(res.Items))
	for i, it := range res.Items {
		m := map[string]any{"index": it.Index, "operation": it.Operation, "success": it.Success,
			"correlation_id": it.CorrelationID}
		if it.HTTPStatus != 0 {
			m["http_status"] = it.HTTPStatus
		}
		if !it.Success {
			m["error_code"], m["error"] = it.ErrorCode, it.Error
		}
		items[i] = m
	}
	return map[string]any{"total": res.Total, "succeeded": res.Succeeded, "failed": res.Failed, "items": items}
}
