package activities

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"go.temporal.io/sdk/temporal"
)

// RecordStartInput is the transaction a workflow is about to process.
type RecordStartInput struct {
	CorrelationID string
	Kind          string // transaction.KindProxy (default) or transaction.KindOperation
	Operation     string
	ParentID      string
	WorkflowID    string
	WorkflowRunID string
	ClientID      string
	Channel       transaction.Channel
	Request       transaction.Request
	// Fingerprint identifies the request (transaction.Fingerprint). A row already logged under
	// the correlation id by another run, of another kind or with another fingerprint, refuses
	// this one: its Idempotency-Key was reused for a different request.
	Fingerprint string
	// Summary, when set, is written as the request body (JSON) instead of Request.Body: what a
	// workflow keeps of its input (workflows do not encode JSON themselves).
	Summary any
	// StartedAt is when the transaction arrived (its run's start), written as created_at; zero
	// writes the time of the write. A row written once at the end keeps its arrival time.
	StartedAt time.Time
}

// StoredOutcome is a final outcome already in the transaction log.
type StoredOutcome struct {
	Status         string
	Attempts       int
	Response       *transaction.Response
	Truncated      bool
	Error          string
	ErrorCode      string
	ResolutionNote string
	// Transfer is a card transfer's stored outcome, read from the log's response body.
	Transfer *TransferOutcome
	// Message is a sent message's stored outcome, read from the log's response body.
	Message *MessageOutcome
}

// MessageOutcome is what the log keeps of a sent message.
type MessageOutcome struct {
	MessageID string `json:"message_id"`
	EventID   string `json:"event_id"`
}

// TransferOutcome is what the log keeps of a card transfer's outcome: its references and
// codes (no account or card number), and what a status read shows as its result.
type TransferOutcome struct {
	RRN          string `json:"rrn"`
	STAN         int64  `json:"stan"`
	ResponseCode string `json:"response_code"`
	Meaning      string `json:"meaning"`
	AuthCode     string `json:"auth_code"`
	Reversals    int    `json:"reversals"`
}

// RecordStartResult tells the workflow whether the transaction was already finished by an
// earlier run with the same correlation id (one whose history has since been deleted).
type RecordStartResult struct {
	Existing *StoredOutcome
	// InFlight says an earlier run recorded the transaction and did not finish it.
	InFlight bool
}

// RecordStart writes the transaction row with status processing. Secrets in headers are
// redacted and the body is capped at TRANSACTION_BODY_MAX_LENGTH.
func (a *Activities) RecordStart(ctx context.Context, in RecordStartInput) (RecordStartResult, error) {
	if in.Kind == "" {
		in.Kind = transaction.KindProxy
	}
	row, err := a.startRow(in)
	if err != nil {
		return RecordStartResult{}, err
	}
	existing, inserted, err := a.Store.InsertTransaction(ctx, row)
	if err != nil {
		return RecordStartResult{}, classify(err)
	}
	if inserted || existing.WorkflowRunID == in.WorkflowRunID {
		return RecordStartResult{}, nil
	}
	if existing.Kind != in.Kind || (existing.RequestFingerprint != "" && in.Fingerprint != "" &&
		existing.RequestFingerprint != in.Fingerprint) {
		return RecordStartResult{}, temporal.NewNonRetryableApplicationError(
			"the Idempotency-Key was used for a different request", transaction.ErrTypeIdempotencyKeyReused, nil)
	}
	if !transaction.Final(existing.Status) {
		return RecordStartResult{InFlight: true}, nil
	}
	out := &StoredOutcome{Status: existing.Status, Attempts: existing.Attempts, Error: existing.Error,
		ErrorCode: existing.ErrorCode, ResolutionNote: existing.ResolutionNote,
		Truncated: existing.ResponseBodyTruncated}
	if existing.ResponseStatus.Valid {
		out.Response = &transaction.Response{StatusCode: int(existing.ResponseStatus.Int32), Header: existing.ResponseHeaders,
			Body: existing.ResponseBody}
	}
	if existing.Kind == transaction.KindISO && len(existing.ResponseBody) > 0 {
		var t TransferOutcome
		if json.Unmarshal(existing.ResponseBody, &t) == nil {
			out.Transfer = &t
		}
	}
	if existing.Kind == transaction.KindMessage && len(existing.ResponseBody) > 0 {
		var m MessageOutcome
		if json.Unmarshal(existing.ResponseBody, &m) == nil {
			out.Message = &m
		}
	}
	return RecordStartResult{Existing: out}, nil
}

// RecordOutcomeInput is a status change of a transaction, with its outcome when final.
type RecordOutcomeInput struct {
	CorrelationID  string
	Kind           string
	Status         string
	Attempts       int
	Response       *transaction.Response
	Error          string
	ErrorCode      string
	ResolutionNote string
	// Summary, when set, is written as a 200 JSON response body instead of Response.
	Summary any
}

// RecordOutcome writes a transaction's status and, when there is one, the upstream's answer
// (body capped at TRANSACTION_BODY_MAX_LENGTH).
func (a *Activities) RecordOutcome(ctx context.Context, in RecordOutcomeInput) error {
	o, err := a.outcomeRow(in)
	if err != nil {
		return err
	}
	if err := a.Store.UpdateTransaction(ctx, o); err != nil {
		return classify(err)
	}
	return a.outcomeRecorded(ctx, in)
}

// RecordFinishedInput is a transaction logged once, when it is over: its start and its outcome.
type RecordFinishedInput struct {
	Start   RecordStartInput
	Outcome RecordOutcomeInput
}

// RecordFinished writes a finished transaction's row, start and outcome, in one statement: the
// fast path of a transaction that never had to wait. A retry after the row went in writes the
// outcome again.
func (a *Activities) RecordFinished(ctx context.Context, in RecordFinishedInput) error {
	row, err := a.startRow(in.Start)
	if err != nil {
		return err
	}
	o, err := a.outcomeRow(in.Outcome)
	if err != nil {
		return err
	}
	if err := a.Store.InsertFinishedTransaction(ctx, row, o); err != nil {
		return classify(err)
	}
	return a.outcomeRecorded(ctx, in.Outcome)
}

// outcomeRecorded runs what follows a recorded status: the hub's escalation event, the
// channel's auto-retry of a failed transaction.
func (a *Activities) outcomeRecorded(ctx context.Context, in RecordOutcomeInput) error {
	if in.Kind == "" {
		in.Kind = transaction.KindProxy // proxied transactions name no kind
	}
	if in.Status == transaction.StatusEscalated &&
		(in.Kind == transaction.KindProxy || in.Kind == transaction.KindISO) {
		a.emitTransactionEscalated(ctx, in)
	}
	if in.Kind == transaction.KindProxy && in.Status == transaction.StatusFailed && in.ErrorCode != transaction.ErrorCodeAborted {
		if err := a.scheduleAutoRetry(ctx, in.CorrelationID); err != nil {
			return classify(fmt.Errorf("scheduling the channel's auto-retry: %w", err))
		}
	}
	return nil
}

// startRow is the log row of a transaction about to be processed: secrets in headers redacted,
// the body capped at TRANSACTION_BODY_MAX_LENGTH (and masked where it may hold account or card
// numbers).
func (a *Activities) startRow(in RecordStartInput) (schema.TransactionRow, error) {
	if in.Kind == "" {
		in.Kind = transaction.KindProxy
	}
	if in.Summary != nil {
		b, err := json.Marshal(in.Summary)
		if err != nil {
			return schema.TransactionRow{}, classify(&InvalidRequestError{Reason: "summary: " + err.Error()})
		}
		in.Request.Body = b
	}
	body, truncated, masked := a.logBody(in.Request.Body, in.Kind == transaction.KindOperation || in.Kind == transaction.KindISO)
	redact := newRedactor(a.Config.RedactNamePatterns)
	return schema.TransactionRow{
		CorrelationID:        in.CorrelationID,
		Kind:                 in.Kind,
		Operation:            in.Operation,
		ParentID:             nullString(in.ParentID),
		WorkflowID:           in.WorkflowID,
		WorkflowRunID:        in.WorkflowRunID,
		ClientID:             in.ClientID,
		ChannelID:            nullString(in.Channel.ID),
		ChannelName:          in.Channel.Name,
		Method:               in.Request.Method,
		Path:                 in.Request.Path,
		Query:                redact.query(in.Request.RawQuery),
		RequestHeaders:       redact.headers(in.Request.Header),
		RequestBody:          body,
		RequestBodySize:      len(in.Request.Body),
		RequestBodyTruncated: truncated,
		RequestBodyMasked:    masked,
		RequestFingerprint:   in.Fingerprint,
		Status:               transaction.StatusProcessing,
		CreatedAt:            in.StartedAt,
	}, nil
}

// outcomeRow is what the log keeps of a status change: the answer's headers redacted, its
// body capped (and masked for operations); a Summary is written as a 200 JSON answer.
func (a *Activities) outcomeRow(in RecordOutcomeInput) (schema.TransactionOutcome, error) {
	o := schema.TransactionOutcome{CorrelationID: in.CorrelationID, Status: in.Status, Attempts: in.Attempts,
		Error: in.Error, ErrorCode: in.ErrorCode, ResolutionNote: in.ResolutionNote}
	if in.Summary != nil {
		b, err := json.Marshal(in.Summary)
		if err != nil {
			return schema.TransactionOutcome{}, classify(&InvalidRequestError{Reason: "summary: " + err.Error()})
		}
		in.Response = &transaction.Response{StatusCode: http.StatusOK, Header: map[string][]string{"Content-Type": {"application/json"}},
			Body: b}
	}
	if in.Response != nil {
		o.ResponseStatus = in.Response.StatusCode
		o.ResponseHeaders = newRedactor(a.Config.RedactNamePatterns).headers(in.Response.Header)
		// A transfer's outcome is its references and codes: no account or card number to mask.
		o.ResponseBody, o.ResponseBodyTruncated, o.ResponseBodyMasked = a.logBody(in.Response.Body,
			in.Kind == transaction.KindOperation)
		o.ResponseBodySize = len(in.Response.Body)
	}
	return o, nil
}

// LoadChannel reads a channel as it is now, so an operator's fix (a new endpoint, say) applies
// when an escalated transaction is retried.
func (a *Activities) LoadChannel(ctx context.Context, channelID string) (transaction.Channel, error) {
	route, err := a.Store.GetRoute(ctx, channelID)
	if err != nil {
		return transaction.Channel{}, classify(err)
	}
	return route.Channel(a.Config.DefaultTimeout), nil
}

// secretHeaders are never written to the transaction log in clear, whatever
// REDACT_NAME_PATTERNS says.
var secretHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"X-Client-Secret": true, "X-Api-Key": true, "X-Auth-Token": true,
}

// DefaultRedactNamePatterns are REDACT_NAME_PATTERNS' default: names that carry credentials.
var DefaultRedactNamePatterns = []string{"key", "token", "secret", "auth", "signature", "password", "session", "cookie"}

// redactor decides which header and query parameter names the log keeps only as
// transaction.Redacted.
type redactor []string

func newRedactor(patterns []string) redactor {
	if patterns == nil {
		patterns = DefaultRedactNamePatterns
	}
	var r redactor
	for _, p := range patterns {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			r = append(r, p)
		}
	}
	return r
}

// secret reports whether a header or parameter called name holds a credential.
func (r redactor) secret(name string) bool {
	if secretHeaders[http.CanonicalHeaderKey(name)] {
		return true
	}
	lower := strings.ToLower(name)
	for _, p := range r {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

// headers copies h, replacing the values of credential-like headers with transaction.Redacted.
func (r redactor) headers(h map[string][]string) schema.Headers {
	out := make(schema.Headers, len(h))
	for name, values := range h {
		canonical := http.CanonicalHeaderKey(name)
		if r.secret(name) {
			out[canonical] = []string{transaction.Redacted}
			continue
		}
		out[canonical] = append([]string(nil), values...)
	}
	return out
}

// query rewrites a raw query string, keeping its order and encoding, with the value of every
// credential-like parameter replaced by transaction.Redacted ("access_token=[REDACTED]").
func (r redactor) query(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, part := range parts {
		key, _, _ := strings.Cut(part, "=")
		name, err := url.QueryUnescape(key)
		if err != nil {
			name = key
		}
		if r.secret(name) {
			parts[i] = key + "=" + transaction.Redacted
		}
	}
	return strings.Join(parts, "&")
}

// RedactHeaders copies h, replacing the values of credential-like headers (by
// DefaultRedactNamePatterns) with transaction.Redacted.
func RedactHeaders(h map[string][]string) schema.Headers { return newRedactor(nil).headers(h) }

// logBody is what the log keeps of a body: capped at TRANSACTION_BODY_MAX_LENGTH and, with
// mask, with account and card numbers masked (the full answer stays with the workflow's result
// while Temporal retains it). Truncation and masking are reported apart.
func (a *Activities) logBody(body []byte, mask bool) (kept []byte, truncated, masked bool) {
	kept, truncated = capBody(body, a.Config.TransactionBodyMaxLength)
	if !mask {
		return kept, truncated, false
	}
	m := []byte(provider.MaskDigits(string(kept)))
	return m, truncated, !bytes.Equal(m, kept)
}

// capBody keeps at most limit bytes, never splitting a UTF-8 sequence of text bodies.
func capBody(body []byte, limit int) ([]byte, bool) {
	if limit < 0 || len(body) <= limit {
		return body, false
	}
	cut := limit
	if utf8.Valid(body[:min(len(body), limit+utf8.UTFMax)]) {
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
	}
	return body[:cut], true
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
