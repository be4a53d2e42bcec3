package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
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
	// BodyMasked says account or card numbers in the body were masked for the log.
	BodyMasked bool `json:"body_masked,omitempty"`
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
		v.Response.BodyMasked = row.ResponseBodyMasked
	}
	return v
}

// transactionStatus answers GET /transactions/:id/ for the client that made the transaction.
// The log row is the fast path; a transaction whose first write has not landed yet is read
// from Temporal (Describe and the status query, never its history).
func (s *Server) transactionStatus(c *gin.Context) {
	ctx, client, id := c.Request.Context(), currentClient(c), c.Param("id")
	row, err := s.ownTransaction(ctx, client, id)
	if errors.Is(err, schema.ErrNotFound) {
		view, werr := s.pendingTransaction(ctx, client, id)
		if werr != nil {
			writeError(c, werr)
			return
		}
		// A query waits for the run's current workflow task, which may have written the log
		// meanwhile: the row, when there is one now, says more.
		if row, err = s.ownTransaction(ctx, client, id); err != nil {
			writeData(c, http.StatusOK, view)
			return
		}
	}
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, http.StatusOK, s.rowView(ctx, row))
}

// rowView is a logged transaction as its client reads it, with the full response or result
// from the run when the log keeps a capped or masked one.
func (s *Server) rowView(ctx context.Context, row schema.TransactionRow) transactionView {
	view := newTransactionView(row)
	if transaction.Final(row.Status) && (row.ResponseBodyTruncated || row.ResponseBodyMasked) {
		s.fillFullResponse(ctx, row, &view)
	}
	resultKind := (view.Kind == transaction.KindOperation && view.Status == transaction.StatusSuccessful) ||
		(view.Kind == transaction.KindISO && transaction.Final(view.Status))
	if resultKind && view.Response != nil && !view.Response.BodyTruncated && !view.Response.BodyMasked &&
		json.Valid([]byte(view.Response.Body)) {
		view.Result = json.RawMessage(view.Response.Body)
	}
	return view
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

// pendingTransaction reads a transaction that Temporal knows and the log does not yet (its
// first write lands within milliseconds of the start). Ownership comes from the run's memo.
func (s *Server) pendingTransaction(ctx context.Context, client Client, id string) (transactionView, error) {
	run, err := s.findStarted(ctx, id)
	if err != nil {
		return transactionView{}, err
	}
	if run.memo.ClientID != client.ID {
		return transactionView{}, errNoTransaction
	}
	status := run.status.Status
	if !slices.Contains(transaction.Statuses, status) {
		status = transaction.StatusProcessing // a workflow's own step, such as a transfer reversing
	}
	v := transactionView{CorrelationID: id, Kind: run.memo.Kind, Status: status, ClientID: run.memo.ClientID,
		Method: run.memo.Method, Path: run.memo.Path, Attempts: run.status.Attempts, Error: run.status.Error,
		ErrorCode: run.status.ErrorCode, StatusURL: statusURL(id)}
	if run.memo.Kind == transaction.KindProxy {
		v.Channel = run.memo.Label
	} else {
		v.Operation = run.memo.Label
	}
	return v, nil
}

// fillFullResponse replaces a capped or masked body by the full one from the workflow's
// result, while Temporal still holds it.
func (s *Server) fillFullResponse(ctx context.Context, row schema.TransactionRow, view *transactionView) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	workflowID, runID := runOf(row)
	run := s.temporal.GetWorkflow(ctx, workflowID, runID)
	switch row.Kind {
	case transaction.KindOperation:
		var res workflows.OperationResult
		if err := run.Get(ctx, &res); err == nil && len(res.Body) > 0 {
			view.Response = newResponseView(res.HTTPStatus, view.Response.Headers, res.Body, false)
		}
	case transaction.KindISO:
		var res workflows.TransferResult
		if err := run.Get(ctx, &res); err == nil {
			if body, err := json.Marshal(res.Outcome()); err == nil {
				view.Response = newResponseView(http.StatusOK, view.Response.Headers, body, false)
			}
		}
	default:
		var res workflows.ProxyResult
		if err := run.Get(ctx, &res); err == nil && res.Response != nil && !res.ResponseTruncated {
			view.Response = newResponseView(res.Response.StatusCode, view.Response.Headers, res.Response.Body, false)
		}
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
	if row.Kind != transaction.KindProxy {
		writeError(c, newError(http.StatusConflict, CodeConflict,
			"only proxied transactions can be rerun: call the integration route again"))
		return
	}
	if !transaction.Final(row.Status) {
		writeError(c, newError(http.StatusConflict, CodeConflict,
			"transaction is "+row.Status+": only a finished transaction can be rerun"))
		return
	}
	async, err := asyncRequested(c.Request)
	if err != nil {
		writeError(c, err)
		return
	}
	req, err := schema.OriginalRequest(c.Request.Context(), s.temporal, row)
	if errors.Is(err, schema.ErrRerunUnavailable) {
		err = newError(http.StatusConflict, CodeRerunUnavailable, err.Error())
	}
	if err != nil {
		writeError(c, err)
		return
	}
	// A row logged before paths were checked is checked now, as a new request would be.
	if err := checkPath(&url.URL{Path: req.Path, RawPath: req.Path}); err != nil {
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

// withoutRedacted is the rule a rerun from the log applies to the logged query string.
var withoutRedacted = schema.WithoutRedacted
