package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// BatchRoute is where batches of provider operations are posted.
const BatchRoute = IntegrationBase + "/batch"

// labelBatch labels batch runs in their memo.
const labelBatch = "batch"

// registerBatch wires the batch routes. Each operation needs its own permission, checked
// item by item.
func (s *Server) registerBatch(r gin.IRouter) {
	both(r, http.MethodPost, BatchRoute, s.requireClient, s.postBatch)
	both(r, http.MethodGet, BatchRoute+"/:id", s.requireClient, s.getBatch)
}

// holds reports whether the client has the permission (or "*").
func (c Client) holds(perm string) bool {
	return slices.Contains(c.Permissions, perm) || slices.Contains(c.Permissions, "*")
}

// BatchRequest runs provider operations, at most max_concurrent at a time.
type BatchRequest struct {
	Operations []BatchItemRequest `json:"operations"`
	// MaxConcurrent is 1 to workflows.MaxBatchConcurrent; workflows.DefaultBatchConcurrent when
	// absent.
	MaxConcurrent *int `json:"max_concurrent"`
}

// BatchItemRequest is one operation: a catalogue key and its typed request (the body its
// typed route takes).
type BatchItemRequest struct {
	Operation string          `json:"operation"`
	Data      json.RawMessage `json:"data"`
}

// batchOperations checks every item as its typed route would (the operation, the client's
// permission for it, the request type's rules) and builds the batch's operations. The first
// invalid item fails the whole batch, named by its index.
func (s *Server) batchOperations(who Client, req BatchRequest) ([]workflows.BatchOperation, int, error) {
	concurrency, err := batchSize("operations", len(req.Operations), req.MaxConcurrent)
	if err != nil {
		return nil, 0, err
	}
	ops := make([]workflows.BatchOperation, len(req.Operations))
	for i, item := range req.Operations {
		op, params, err := s.batchItem(who, item)
		if err != nil {
			return nil, 0, itemError(i, item.Operation, err)
		}
		ops[i] = workflows.BatchOperation{Operation: op.Key, Issuer: op.Issuer, Route: routeOf(op), Params: params}
	}
	return ops, concurrency, nil
}

// batchSize checks a batch's item count (field names the items) and max_concurrent, and
// answers the concurrency it runs at (DefaultBatchConcurrent when not asked).
func batchSize(field string, items int, maxConcurrent *int) (int, error) {
	concurrency := workflows.DefaultBatchConcurrent
	if maxConcurrent != nil {
		concurrency = *maxConcurrent
	}
	switch {
	case items == 0:
		return 0, fieldError(field, "required: 1 to "+strconv.Itoa(workflows.MaxBatchOperations)+" "+field)
	case items > workflows.MaxBatchOperations:
		return 0, fieldError(field, "must have at most "+strconv.Itoa(workflows.MaxBatchOperations)+" "+field)
	case concurrency < 1 || concurrency > workflows.MaxBatchConcurrent:
		return 0, fieldError("max_concurrent", "must be 1 to "+strconv.Itoa(workflows.MaxBatchConcurrent))
	}
	return concurrency, nil
}

// batchItem checks one operation and answers its validated request as JSON.
func (s *Server) batchItem(who Client, item BatchItemRequest) (provider.Operation, json.RawMessage, error) {
	if item.Operation == "" {
		return provider.Operation{}, nil, fieldError("operation", "required: an operation of the catalogue")
	}
	op, ok := provider.Lookup(item.Operation)
	if !ok {
		keys := make([]string, 0, len(provider.Catalogue))
		for _, o := range provider.Catalogue {
			if !isConnector(o) {
				keys = append(keys, o.Key)
			}
		}
		return op, nil, fieldError("operation", "unknown operation; one of "+strings.Join(keys, ", "))
	}
	if isConnector(op) {
		// Their routes do what a batch item would skip: sealing card data, entity types, ids.
		return op, nil, fieldError("operation", "a connector operation: use "+ConnectorsBase+"/"+op.Issuer+
			"/… (an ERP batch: "+erpBatchRoute+")")
	}
	if err := who.require(op.Permission); err != nil {
		return op, nil, err
	}
	body := []byte(item.Data)
	if t := strings.TrimSpace(string(body)); t == "" || t == "null" {
		body = []byte("{}") // as the typed routes take an empty body
	}
	typed := op.NewRequest()
	if err := decodeStrict(body, typed); err != nil {
		return op, nil, err
	}
	if err := validationError(s.validate.Struct(typed)); err != nil {
		return op, nil, err
	}
	params, err := json.Marshal(typed)
	return op, params, err
}

// itemError names the batch item an error is about: its index in the message and details, and
// its field under operations[i].
func itemError(index int, operation string, err error) error {
	e := toError(err)
	prefix := "operations[" + strconv.Itoa(index) + "]"
	details := map[string]any{"index": index, "operation": operation}
	for k, v := range e.Details {
		details[k] = v
	}
	if field, ok := e.Details["field"].(string); ok {
		if field == "operation" {
			details["field"] = prefix + ".operation"
		} else {
			details["field"] = prefix + ".data." + field
		}
	}
	return &Error{Status: e.Status, Code: e.Code, Message: prefix + ": " + e.Message, Details: details}
}

// batchItemView is one operation's outcome.
type batchItemView struct {
	Index         int             `json:"index"`
	Operation     string          `json:"operation"`
	Success       bool            `json:"success"`
	HTTPStatus    int             `json:"http_status,omitempty"`
	Data          json.RawMessage `json:"data,omitempty"`
	Error         *batchItemError `json:"error,omitempty"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	// DataOmitted: the batch's answers were too large to carry them all; this one's is in the
	// operation's own transaction (correlation_id).
	DataOmitted bool `json:"data_omitted,omitempty"`
	// providerStatus is the provider's last status when no answer came (a connector batch names
	// 429 and 401 in the seed's codes), providerDetail a refusal's error object (its fields).
	providerStatus int
	providerDetail map[string]string
}

// batchItemError is a failed operation's error, as the envelope names it.
type batchItemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Fields are a connector's validation problems by field (an ERP batch sync's).
	Fields map[string]string `json:"fields,omitempty"`
}

// batchView is a batch: while it runs its status (processing) and where to poll; once done
// its counts and every operation's outcome, in request order.
type batchView struct {
	BatchID   string          `json:"batch_id"`
	Status    string          `json:"status"`
	Total     int             `json:"total,omitempty"`
	Succeeded int             `json:"succeeded"`
	Failed    int             `json:"failed"`
	Results   []batchItemView `json:"results,omitempty"`
	StatusURL string          `json:"status_url"`
}

func batchStatusURL(batchID string) string { return BatchRoute + "/" + batchID + "/" }

func newBatchView(batchID string, res workflows.BatchResult) batchView {
	v := batchView{BatchID: batchID, Status: res.Status, Total: res.Total, Succeeded: res.Succeeded, Failed: res.Failed,
		Results: make([]batchItemView, 0, len(res.Items)), StatusURL: batchStatusURL(batchID)}
	items := append([]workflows.BatchItem(nil), res.Items...)
	sort.SliceStable(items, func(i, j int) bool { return items[i].Index < items[j].Index })
	for _, it := range items {
		iv := batchItemView{Index: it.Index, Operation: it.Operation, Success: it.Success, HTTPStatus: it.HTTPStatus,
			CorrelationID: it.CorrelationID, DataOmitted: it.DataOmitted, providerStatus: it.ProviderStatus,
			providerDetail: it.ProviderDetail}
		if it.Success {
			iv.Data = it.Data
		} else {
			iv.Error = &batchItemError{Code: it.ErrorCode, Message: it.Error}
			if iv.Error.Code == "" && it.HTTPStatus >= 400 {
				iv.Error.Code = providerStatusCode(it.HTTPStatus)
			}
			if iv.Error.Code == "" {
				iv.Error.Code = CodeTransactionFailed
			}
			if iv.Error.Message == "" {
				iv.Error.Message = "the operation failed"
				if it.HTTPStatus >= 400 {
					iv.Error.Message = "the provider answered " + strconv.Itoa(it.HTTPStatus) + " " + http.StatusText(it.HTTPStatus)
				}
			}
		}
		v.Results = append(v.Results, iv)
	}
	if v.Total == 0 {
		v.Total = len(v.Results)
	}
	return v
}

// batchWait is how long a batch request waits for its outcome: BATCH_SYNC_WAIT, or the typed
// routes' INTEGRATION_TIMEOUT when unset.
func (s *Server) batchWait() time.Duration {
	if s.cfg.BatchWait > 0 {
		return s.cfg.BatchWait
	}
	return s.cfg.IntegrationTimeout
}

// postBatch starts a Batch workflow (ID batch:<correlation id>) that runs each operation as a
// child ProviderOperation, and answers its outcome (partial failure included) when it is done
// within the wait, else 202 with where to poll. An Idempotency-Key makes a repeat join or
// answer the first batch.
func (s *Server) postBatch(c *gin.Context) {
	who := currentClient(c)
	async, err := asyncRequested(c.Request)
	if err != nil {
		writeError(c, err)
		return
	}
	var req BatchRequest
	if err := decodeCapped(c, s.cfg.MaxRequestBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	ops, concurrency, err := s.batchOperations(who, req)
	if err != nil {
		writeError(c, err)
		return
	}
	s.runBatch(c, BatchRoute, ops, concurrency, async, func(v batchView) batchView { return v })
}

// runBatch starts (or, under the same Idempotency-Key, joins) a Batch of the checked ops
// posted to route, and answers its outcome as view makes it, or 202 in async mode or after
// the wait.
func (s *Server) runBatch(c *gin.Context, route string, ops []workflows.BatchOperation, concurrency int, async bool,
	view func(batchView) batchView) {
	who := currentClient(c)
	ctx := c.Request.Context()
	key := c.GetHeader("Idempotency-Key")
	correlationID, err := s.keyedCorrelationID(ctx, who.ID, transaction.KindBatch, route, key)
	if err != nil {
		writeError(c, err)
		return
	}
	canonical, _ := json.Marshal(struct {
		Operations    []workflows.BatchOperation
		MaxConcurrent int
	}{ops, concurrency})
	in := workflows.BatchInput{CorrelationID: correlationID, ClientID: who.ID, Operations: ops, MaxConcurrent: concurrency,
		Fingerprint: transaction.Fingerprint(transaction.KindBatch, http.MethodPost, route, canonical)}
	c.Header("X-Correlation-ID", correlationID)
	run, err := s.startWorkflow(ctx, workflowStart{kind: transaction.KindBatch, correlationID: correlationID,
		keyed: key != "", taskQueue: workflows.TaskQueueIntegration, workflowType: workflows.WorkflowBatch, input: in,
		memo: transaction.Memo{ClientID: who.ID, Label: labelBatch, Method: http.MethodPost, Path: route,
			Fingerprint: in.Fingerprint}})
	if err != nil {
		writeError(c, err)
		return
	}
	if async {
		writeBatchAccepted(c, correlationID)
		return
	}
	waitCtx, cancel := context.WithTimeout(ctx, s.batchWait())
	defer cancel()
	var res workflows.BatchResult
	err = run.Get(waitCtx, &res)
	switch {
	case err == nil:
		writeData(c, http.StatusOK, view(newBatchView(correlationID, res)))
	case ctx.Err() != nil:
		logger(c).Info("Client left before the batch finished; it carries on", "correlation_id", correlationID)
	case waitExpired(waitCtx, err):
		writeBatchAccepted(c, correlationID)
	case keyReused(err):
		writeError(c, errKeyReused)
	default:
		writeError(c, batchFailed(c, correlationID, err))
	}
}

func writeBatchAccepted(c *gin.Context, batchID string) {
	c.Header("Location", batchStatusURL(batchID))
	writeData(c, http.StatusAccepted, batchView{BatchID: batchID, Status: transaction.StatusProcessing,
		StatusURL: batchStatusURL(batchID)})
}

// batchFailed is the answer to a batch whose workflow failed (the hub, not an operation).
func batchFailed(c *gin.Context, batchID string, err error) error {
	logger(c).Error("Batch failed", "workflow_id", transaction.WorkflowID(transaction.KindBatch, batchID), "error", err.Error())
	return &Error{Status: http.StatusBadGateway, Code: CodeTransactionFailed, Message: "the batch could not be completed",
		Details: map[string]any{"batch_id": batchID}}
}

// errNoBatch answers an unknown batch id and another client's alike.
var errNoBatch = newError(http.StatusNotFound, CodeNotFound, "no such batch")

// getBatch answers a batch: processing while it runs, its outcome once done. Another client's
// batch is not found.
func (s *Server) getBatch(c *gin.Context) {
	batchID := c.Param("id")
	if _, err := uuid.Parse(batchID); err != nil {
		writeError(c, errNoBatch)
		return
	}
	ctx := c.Request.Context()
	workflowID := transaction.WorkflowID(transaction.KindBatch, batchID)
	d, err := s.temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		writeError(c, errNoBatch)
		return
	case err != nil:
		writeError(c, unavailable(c, workflowID, err))
		return
	}
	var memo transaction.Memo
	payload, ok := d.GetWorkflowExecutionInfo().GetMemo().GetFields()[transaction.MemoKey]
	if !ok || s.converter.FromPayload(payload, &memo) != nil || memo.ClientID != currentClient(c).ID ||
		memo.Kind != transaction.KindBatch {
		writeError(c, errNoBatch)
		return
	}
	switch d.GetWorkflowExecutionInfo().GetStatus() {
	case enums.WORKFLOW_EXECUTION_STATUS_RUNNING, enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		writeData(c, http.StatusOK, batchView{BatchID: batchID, Status: transaction.StatusProcessing,
			StatusURL: batchStatusURL(batchID)})
		return
	}
	var res workflows.BatchResult
	runID := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	if err := s.temporal.GetWorkflow(ctx, workflowID, runID).Get(ctx, &res); err != nil {
		writeError(c, batchFailed(c, batchID, err))
		return
	}
	view := newBatchView(batchID, res)
	if memo.Path == erpBatchRoute {
		view = erpBatchView(view) // an ERP batch sync's records in the seed's codes, as its answer had them
	}
	writeData(c, http.StatusOK, view)
}
