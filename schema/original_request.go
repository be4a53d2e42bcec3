package schema

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/switchyard-hub/switchyard/transaction"
)

// QueryRequest is the query a proxied transaction answers with its request
// (transaction.Request); workflows.QueryRequest names the same.
const QueryRequest = "request"

// ErrRerunUnavailable means a transaction's request can no longer be recovered in full: its
// history has expired and the log keeps a capped body.
var ErrRerunUnavailable = errors.New(
	"the original request is no longer held in full: its history has expired and the log keeps a capped body")

// RequestQuerier queries a workflow; client.Client satisfies it.
type RequestQuerier interface {
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
}

// originalQueryWait bounds the request query: a run whose history is gone does not answer.
const originalQueryWait = 5 * time.Second

// OriginalRequest recovers the full request of a proxied transaction, for a rerun: from its
// workflow's request query while Temporal retains the run, else from the log when the log
// keeps the body whole (without the headers and query parameters it redacted).
// ErrRerunUnavailable when neither holds it.
func OriginalRequest(ctx context.Context, q RequestQuerier, row TransactionRow) (transaction.Request, error) {
	workflowID := row.WorkflowID
	if workflowID == "" {
		workflowID = transaction.WorkflowID(transaction.KindProxy, row.CorrelationID)
	}
	if q != nil {
		qctx, cancel := context.WithTimeout(ctx, originalQueryWait)
		defer cancel()
		v, err := q.QueryWorkflow(qctx, workflowID, row.WorkflowRunID, QueryRequest)
		if err == nil {
			var req transaction.Request
			return req, v.Get(&req)
		}
		if ctx.Err() != nil {
			return transaction.Request{}, ctx.Err()
		}
	}
	if row.RequestBodyTruncated {
		return transaction.Request{}, ErrRerunUnavailable
	}
	header := http.Header{}
	for name, values := range row.RequestHeaders {
		if len(values) == 1 && values[0] == transaction.Redacted {
			continue
		}
		header[name] = values
	}
	return transaction.Request{Method: row.Method, Path: row.Path, RawQuery: WithoutRedacted(row.Query), Header: header,
		Body: row.RequestBody}, nil
}

// WithoutRedacted drops the query parameters the log redacted from a logged query string,
// keeping the rest in order.
func WithoutRedacted(raw string) string {
	var keep []string
	for _, part := range strings.Split(raw, "&") {
		_, value, _ := strings.Cut(part, "=")
		if v, err := url.QueryUnescape(value); part == "" || (err == nil && v == transaction.Redacted) {
			continue
		}
		keep = append(keep, part)
	}
	return strings.Join(keep, "&")
}
