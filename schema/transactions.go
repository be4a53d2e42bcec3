package schema

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-hub/switchyard/transaction"
)

// Headers is an HTTP header map stored as jsonb.
type Headers map[string][]string

// Value implements driver.Valuer.
func (h Headers) Value() (driver.Value, error) {
	if h == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(h)
}

// Scan implements sql.Scanner.
func (h *Headers) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*h = nil
		return nil
	case []byte:
		return json.Unmarshal(v, h)
	case string:
		return json.Unmarshal([]byte(v), h)
	}
	return fmt.Errorf("scanning headers from %T", src)
}

// TransactionRow is the log of one proxied request.
type TransactionRow struct {
	CorrelationID         string         `db:"correlation_id"`
	Kind                  string         `db:"kind"`
	Operation             string         `db:"operation"`
	ParentID              sql.NullString `db:"parent_id"`
	WorkflowID            string         `db:"workflow_id"`
	RequestFingerprint    string         `db:"request_fingerprint"` // transaction.Fingerprint of the request
	WorkflowRunID         string         `db:"workflow_run_id"`
	ClientID              string         `db:"client_id"`
	ChannelID             sql.NullString `db:"channel_id"`
	ChannelName           string         `db:"channel_name"`
	Method                string         `db:"method"`
	Path                  string         `db:"path"`
	Query                 string         `db:"query"`
	RequestHeaders        Headers        `db:"request_headers"`
	RequestBody           []byte         `db:"request_body"`
	RequestBodySize       int            `db:"request_body_size"`
	RequestBodyTruncated  bool           `db:"request_body_truncated"`
	RequestBodyMasked     bool           `db:"request_body_masked"` // account or card numbers masked
	ResponseStatus        sql.NullInt32  `db:"response_status"`
	ResponseHeaders       Headers        `db:"response_headers"`
	ResponseBody          []byte         `db:"response_body"`
	ResponseBodySize      int            `db:"response_body_size"`
	ResponseBodyTruncated bool           `db:"response_body_truncated"`
	ResponseBodyMasked    bool           `db:"response_body_masked"`
	Status                string         `db:"status"`
	Attempts              int            `db:"attempts"`
	Error                 string         `db:"error"`
	ErrorCode             string         `db:"error_code"`
	ResolutionNote        string         `db:"resolution_note"`
	IsDemo                bool           `db:"is_demo"`
	CreatedAt             time.Time      `db:"created_at"`
	UpdatedAt             time.Time      `db:"updated_at"`
	CompletedAt           sql.NullTime   `db:"completed_at"`
}

const transactionColumns = `correlation_id, kind, operation, parent_id, workflow_id, request_fingerprint,
	workflow_run_id, client_id,
	channel_id, channel_name, method, path, query, request_headers, request_body, request_body_size,
	request_body_truncated, request_body_masked, response_status, response_headers, response_body, response_body_size,
	response_body_truncated, response_body_masked,
	status, attempts, error, error_code, resolution_note, is_demo, created_at, updated_at, completed_at`

// InsertTransaction records a new transaction. When the correlation id is already recorded it
// writes nothing and returns the existing row with inserted=false.
func (s *Store) InsertTransaction(ctx context.Context, t TransactionRow) (row TransactionRow, inserted bool, err error) {
	if t.Kind == "" {
		t.Kind = transaction.KindProxy
	}
	err = s.db.GetContext(ctx, &row, `INSERT INTO transactions (correlation_id, kind, operation, parent_id,
		workflow_run_id, client_id, channel_id, channel_name, method, path, query, request_headers, request_body,
		request_body_size, request_body_truncated, status, attempts, is_demo, created_at, workflow_id,
		request_body_masked, request_fingerprint)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, COALESCE($19, now()),
		$20, $21, $22)
		ON CONFLICT (correlation_id) DO NOTHING RETURNING `+transactionColumns,
		t.CorrelationID, t.Kind, t.Operation, t.ParentID, t.WorkflowRunID, t.ClientID, t.ChannelID, t.ChannelName,
		t.Method, t.Path, t.Query, t.RequestHeaders, t.RequestBody, t.RequestBodySize, t.RequestBodyTruncated,
		t.Status, t.Attempts, t.IsDemo, nullTime(t.CreatedAt), t.WorkflowID, t.RequestBodyMasked,
		t.RequestFingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		row, err = s.GetTransaction(ctx, t.CorrelationID)
		return row, false, err
	}
	return row, err == nil, translate(err, "recording transaction")
}

// TransactionOutcome is what the end of a transaction (or a status change on the way) writes.
type TransactionOutcome struct {
	CorrelationID         string
	Status                string
	Attempts              int
	ResponseStatus        int // 0: no response
	ResponseHeaders       Headers
	ResponseBody          []byte
	ResponseBodySize      int
	ResponseBodyTruncated bool
	ResponseBodyMasked    bool
	Error                 string
	ErrorCode             string
	ResolutionNote        string
}

// response is the outcome's answer as its columns take it: no status (NULL) without one, and
// then no headers; with one, its headers ({} when it had none).
func (o TransactionOutcome) response() (sql.NullInt32, Headers) {
	if o.ResponseStatus == 0 {
		return sql.NullInt32{}, nil
	}
	if o.ResponseHeaders == nil {
		return sql.NullInt32{Int32: int32(o.ResponseStatus), Valid: true}, Headers{}
	}
	return sql.NullInt32{Int32: int32(o.ResponseStatus), Valid: true}, o.ResponseHeaders
}

// UpdateTransaction writes a status change and, when the status is final, the outcome.
func (s *Store) UpdateTransaction(ctx context.Context, o TransactionOutcome) error {
	respStatus, respHeaders := o.response()
	res, err := s.db.ExecContext(ctx, `UPDATE transactions SET status = $2, attempts = $3,
		response_status = COALESCE($4, response_status),
		response_headers = CASE WHEN $4::integer IS NULL THEN response_headers ELSE $5::jsonb END,
		response_body = CASE WHEN $4::integer IS NULL THEN response_body ELSE $6 END,
		response_body_size = CASE WHEN $4::integer IS NULL THEN response_body_size ELSE $7 END,
		response_body_truncated = CASE WHEN $4::integer IS NULL THEN response_body_truncated ELSE $8 END,
		response_body_masked = CASE WHEN $4::integer IS NULL THEN response_body_masked ELSE $12 END,
		error = $9, error_code = $10, resolution_note = $11, updated_at = now(),
		completed_at = CASE WHEN $2 IN ('successful', 'failed', 'resolved', 'reversed') THEN now() ELSE NULL END
		WHERE correlation_id = $1`,
		o.CorrelationID, o.Status, o.Attempts, respStatus, nullHeaders(respHeaders), o.ResponseBody,
		o.ResponseBodySize, o.ResponseBodyTruncated, o.Error, o.ErrorCode, o.ResolutionNote, o.ResponseBodyMasked)
	if err != nil {
		return translate(err, "updating transaction")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("updating transaction %s: %w", o.CorrelationID, ErrNotFound)
	}
	return nil
}

// InsertFinishedTransaction records a transaction that is already over, its start t and its
// outcome o in one statement. When the correlation id is recorded already (the same run's write
// retried) the outcome is written over it.
func (s *Store) InsertFinishedTransaction(ctx context.Context, t TransactionRow, o TransactionOutcome) error {
	if t.Kind == "" {
		t.Kind = transaction.KindProxy
	}
	respStatus, respHeaders := o.response()
	_, err := s.db.ExecContext(ctx, `INSERT INTO transactions (correlation_id, kind, operation, parent_id,
		workflow_run_id, client_id, channel_id, channel_name, method, path, query, request_headers, request_body,
		request_body_size, request_body_truncated, is_demo, created_at, workflow_id, request_body_masked,
		request_fingerprint, status, attempts, response_status, response_headers, response_body, response_body_size,
		response_body_truncated, response_body_masked, error, error_code, resolution_note, completed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, COALESCE($17, now()), $18,
		$19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31,
		CASE WHEN $21 IN ('successful', 'failed', 'resolved', 'reversed') THEN now() END)
		ON CONFLICT (correlation_id) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts,
		response_status = EXCLUDED.response_status, response_headers = EXCLUDED.response_headers,
		response_body = EXCLUDED.response_body, response_body_size = EXCLUDED.response_body_size,
		response_body_truncated = EXCLUDED.response_body_truncated,
		response_body_masked = EXCLUDED.response_body_masked, error = EXCLUDED.error,
		error_code = EXCLUDED.error_code, resolution_note = EXCLUDED.resolution_note, updated_at = now(),
		completed_at = EXCLUDED.completed_at
		WHERE transactions.workflow_run_id = EXCLUDED.workflow_run_id`,
		t.CorrelationID, t.Kind, t.Operation, t.ParentID, t.WorkflowRunID, t.ClientID, t.ChannelID, t.ChannelName,
		t.Method, t.Path, t.Query, t.RequestHeaders, t.RequestBody, t.RequestBodySize, t.RequestBodyTruncated,
		t.IsDemo, nullTime(t.CreatedAt), t.WorkflowID, t.RequestBodyMasked, t.RequestFingerprint,
		o.Status, o.Attempts, respStatus, nullHeaders(respHeaders), o.ResponseBody, o.ResponseBodySize,
		o.ResponseBodyTruncated, o.ResponseBodyMasked, o.Error, o.ErrorCode, o.ResolutionNote)
	return translate(err, "recording transaction")
}

// GetTransaction reads one transaction by correlation id.
func (s *Store) GetTransaction(ctx context.Context, correlationID string) (TransactionRow, error) {
	var out TransactionRow
	err := s.db.GetContext(ctx, &out, `SELECT `+transactionColumns+` FROM transactions WHERE correlation_id = $1`,
		correlationID)
	return out, translate(err, "reading transaction")
}

// TransactionFilter narrows a transaction listing; empty fields match everything.
type TransactionFilter struct {
	ClientID  string
	Status    string
	ParentID  string
	Kind      string
	Operation string
}

// ListTransactions pages through transactions, newest first. A cursor must name a transaction
// of the filter's client (any client's when the filter names none); the other filters narrow
// the rows, not the cursor.
func (s *Store) ListTransactions(ctx context.Context, f TransactionFilter, page Page) ([]TransactionRow, error) {
	const what = "listing transactions"
	if err := uuidCursor(what, page); err != nil {
		return nil, err
	}
	out := []TransactionRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+transactionColumns+` FROM transactions
		WHERE ($1 = '' OR client_id = $1) AND ($2 = '' OR status = $2)
		AND ($3 = '' OR parent_id = NULLIF($3, '')::uuid) AND ($4 = '' OR kind = $4) AND ($5 = '' OR operation = $5)
		AND ($8 = '' OR (created_at, correlation_id) < (SELECT created_at, correlation_id FROM transactions
			WHERE correlation_id = NULLIF($8, '')::uuid AND ($1 = '' OR client_id = $1)))
		ORDER BY created_at DESC, correlation_id DESC LIMIT $6 OFFSET $7`,
		f.ClientID, f.Status, f.ParentID, f.Kind, f.Operation, page.Limit, page.Offset, page.After)
	if err != nil {
		return nil, translate(err, what)
	}
	return out, s.checkCursor(ctx, what, page, len(out), `SELECT EXISTS (SELECT 1 FROM transactions
		WHERE correlation_id = $1::uuid AND ($2 = '' OR client_id = $2))`, page.After, f.ClientID)
}

func nullTime(t time.Time) sql.NullTime {
	return sql.NullTime{Time: t, Valid: !t.IsZero()}
}

func nullHeaders(h Headers) any {
	if h == nil {
		return nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil
	}
	return string(b)
}
