package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/workflows"
)

// transactionView is a transaction as clients and operators read it.
type transactionView struct {
	CorrelationID string        `json:"correlation_id"`
	Kind          string        `json:"kind"`
	Operation     string        `json:"operation,omitempty"`
	ParentID      string        `json:"parent_id,omitempty"`
	Status        string        `json:"status"`
	ClientID      string        `json:"client_id"`
	Channel       string        `json:"channel,omitempty"`
	Method        string        `json:"method,omitempty"`
	Path          string        `json:"path,omitempty"`
	Attempts      int           `json:"attempts"`
	Response      *responseView `json:"response,omitempty"`
	// Result is a successful operation's typed response.
	Result         json.RawMessage `json:"result,omitempty"`
	Error          string          `json:"error,omitempty"`
	ErrorCode      string          `json:"error_code,omitempty"`
	ResolutionNote string          `json:"resolution_note,omitempty"`
	CreatedAt      *time.Time      `json:"created_at,omitempty"`
	UpdatedAt      *time.Time      `json:"updated_at,omitempty"`
	CompletedAt    *time.Time      `json:"completed_at,omitempty"`
	StatusURL      string          `json:"status_url"`
}

// responseView is an upstream answer. Bodies that are not UTF-8 text are base64-encoded.
type responseView struct {
	StatusCode    int                 `json:"status_code"`
	Headers       map[string][]string `json:"headers"`
	Body          string              `json:"body"`
	BodyEncoding  string              `json:"body_encoding,omitempty"`
	BodyTruncated bool                `json:"body_truncated,omitempty"`
}

func newResponseView(status int, headers map[string][]string, body []byte, truncated bool) *responseView {
	v := &responseView{StatusCode: status, Headers: headers, BodyTruncated: truncated}
	if v.Headers == nil {
		v.Headers = map[string][]string{}
	}
	if utf8.Valid(body) {
		v.Body = string(body)
	} else {
		v.Body, v.BodyEncoding = base64.StdEncoding.EncodeToString(body), "base64"
	}
	return v
}

func newTransactionView(row schema.TransactionRow) transactionView {
	v := transactionView{
		CorrelationID:  row.CorrelationID,
		Kind:           row.Kind,
		Operation:      row.Operation,
		ParentID:       row.ParentID.String,
		Status:         row.Status,
		ClientID:       row.ClientID,
		Channel:        row.ChannelName,
		Method:         row.Method,
		Path:           row.Path,
		Attempts:       row.Attempts,
		Error:          row.Error,
		ErrorCode:      row.ErrorCode,
		ResolutionNote: row.ResolutionNote,
		CreatedAt:      &row.CreatedAt,
		UpdatedAt:      &row.UpdatedAt,
		StatusURL:      statusURL(row.CorrelationID),
	}
	if row.CompletedAt.Valid {
		v.CompletedAt = &row.CompletedAt.Time
	}
	if row.ResponseStatus.Valid {
		v.Response = newResponseView(int(row.ResponseStatus.Int32), row.ResponseHeaders, row.ResponseBody,
			row.ResponseBodyTruncated)
	}
	return v
}

// transactionStatus answers GET /transactions/:id/ for the client that made the transaction.
// The log row is the fast path; a transaction whose first write has not landed yet is read
// from Temporal.
func (s *Server) transactionStatus(c *gin.Context) {
	client := currentClient(c)
	row, err := s.ownTransaction(c.Request.Context(), client, c.Param("id"))
	if errors.Is(err, schema.ErrNotFound) {
		view, werr := s.pendingTransaction(c.Request.Context(), client, c.Param("id"))
		if werr != nil {
			writeError(c, werr)
			return
		}
		writeData(c, http.StatusOK, view)
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	view := newTransactionView(row)
	if schema.TxFinal(row.Status) && row.ResponseBodyTruncated {
		s.fillFullResponse(c.Request.Context(), &view)
	}
	resultKind := (view.Kind == schema.TxKindOperation && view.Status == schema.TxSuccessful) ||
		(view.Kind == schema.TxKindISO && schema.TxFinal(view.Status))
	if resultKind && view.Response != nil && !view.Response.BodyTruncated && json.Valid([]byte(view.Response.Body)) {
		view.Result = json.RawMessage(view.Response.Body)
	}
	writeData(c, http.StatusOK, view)
}

var errNoTransaction = newError(http.StatusNotFound, CodeNotFound, "no such transaction")

// ownTransaction reads a transaction of client's; another client's reads as not found.
func (s *Server) ownTransaction(ctx context.Context, client Client, id string) (schema.TransactionRow, error) {
	if _, err := uuid.Parse(id); err != nil {
		return schema.TransactionRow{}, errNoTransaction
	}
	row, err := s.store.GetTransaction(ctx, id)
	if err != nil {
		return row, err
	}
	if row.ClientID != client.ID {
		return row, errNoTransaction
	}
	return row, nil
}

// pendingTransaction reads a transaction or operation that Temporal knows and the log does not
// yet (its first write lands within milliseconds of the start). Ownership is read from the
// workflow's input, since search attributes are only written once the work waits or finishes.
func (s *Server) pendingTransaction(ctx context.Context, client Client, id string) (transactionView, error) {
	for _, w := range []struct{ id, kind string }{
		{workflows.ProxyWorkflowID(id), schema.TxKindProxy},
		{workflows.OperationWorkflowID(id), schema.TxKindOperation},
		{workflows.TransferWorkflowID(iso.RRNFor(id)), schema.TxKindISO},
	} {
		var in startedInput
		err := s.startInput(ctx, w.id, "", &in)
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			continue
		}
		if err != nil {
			return transactionView{}, err
		}
		if in.ClientID != client.ID {
			return transactionView{}, errNoTransaction
		}
		return transactionView{CorrelationID: id, Kind: w.kind, Operation: in.Operation, Status: schema.TxPending,
			ClientID: in.ClientID, Channel: in.Channel.Name, Method: in.Request.Method, Path: in.Request.Path,
			StatusURL: statusURL(id)}, nil
	}
	return transactionView{}, errNoTransaction
}

// startedInput is what the status endpoint reads of either workflow's input.
type startedInput struct {
	ClientID  string
	Operation string
	Channel   struct{ Name string }
	Request   struct{ Method, Path string }
}

// startInput decodes a workflow's input from the first event of its history into out.
func (s *Server) startInput(ctx context.Context, workflowID, runID string, out any) error {
	iter := s.temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !iter.HasNext() {
		return serviceerror.NewNotFound("no history")
	}
	event, err := iter.Next()
	if err != nil {
		return err
	}
	attrs := event.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return serviceerror.NewNotFound("no start event")
	}
	return s.converter.FromPayloads(attrs.GetInput(), out)
}

// fillFullResponse replaces a capped (or masked) body by the full one from the workflow's
// result, while Temporal still holds it.
func (s *Server) fillFullResponse(ctx context.Context, view *transactionView) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if view.Kind == schema.TxKindOperation {
		var res workflows.OperationResult
		if err := s.temporal.GetWorkflow(ctx, workflows.OperationWorkflowID(view.CorrelationID), "").Get(ctx, &res); err == nil &&
			len(res.Body) > 0 {
			view.Response = newResponseView(res.HTTPStatus, view.Response.Headers, res.Body, false)
		}
		return
	}
	var res workflows.ProxyResult
	if err := s.temporal.GetWorkflow(ctx, workflows.ProxyWorkflowID(view.CorrelationID), "").Get(ctx, &res); err != nil {
		return
	}
	if res.Response != nil && !res.ResponseTruncated {
		view.Response = newResponseView(res.Response.StatusCode, view.Response.Headers, res.Response.Body, false)
	}
}

// rerun starts a new transaction that repeats a finished one (POST /transactions/:id/rerun),
// linked to it by parent_id. The channel is matched again, so configuration fixes apply.
func (s *Server) rerun(c *gin.Context) {
	client := currentClient(c)
	row, err := s.ownTransaction(c.Request.Context(), client, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	if row.Kind != schema.TxKindProxy {
		writeError(c, newError(http.StatusConflict, CodeConflict,
			"only proxied transactions can be rerun: call the integration route again"))
		return
	}
	if !schema.TxFinal(row.Status) {
		writeError(c, newError(http.StatusConflict, CodeConflict,
			"transaction is "+row.Status+": only a finished transaction can be rerun"))
		return
	}
	async, err := asyncRequested(c.Request)
	if err != nil {
		writeError(c, err)
		return
	}
	req, err := s.originalRequest(c.Request.Context(), row)
	if err != nil {
		writeError(c, err)
		return
	}
	rt, err := s.resolveChannel(c.Request.Context(), client, req.Path, req.Method)
	if err != nil {
		writeError(c, err)
		return
	}
	s.startThrough(c, client, rt, req, row.CorrelationID, async)
}

// originalRequest recovers the full request of a transaction: from its workflow's history
// while Temporal keeps it, else from the log when the body there is complete.
func (s *Server) originalRequest(ctx context.Context, row schema.TransactionRow) (activities.Request, error) {
	var in workflows.ProxyInput
	err := s.startInput(ctx, workflows.ProxyWorkflowID(row.CorrelationID), row.WorkflowRunID, &in)
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return in.Request, nil
	case !errors.As(err, &notFound):
		return activities.Request{}, err
	}
	if row.RequestBodyTruncated {
		return activities.Request{}, newError(http.StatusConflict, CodeRerunUnavailable,
			"the original request is no longer held in full: its history has expired and the log keeps a capped body")
	}
	header := http.Header{}
	for name, values := range row.RequestHeaders {
		if len(values) == 1 && values[0] == "[REDACTED]" {
			continue
		}
		header[name] = values
	}
	return activities.Request{Method: row.Method, Path: row.Path, RawQuery: row.Query, Header: header,
		Body: row.RequestBody}, nil
}
