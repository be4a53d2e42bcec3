package activities

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// ProviderSet gives the caller of each issuer; *provider.Set satisfies it.
type ProviderSet interface {
	For(op provider.Operation) (provider.Caller, error)
}

// OperationCall is one attempt at a provider operation.
type OperationCall struct {
	CorrelationID string
	Operation     string
	// Params is the typed request as JSON, validated by the API.
	Params json.RawMessage
}

// OperationAnswer is a provider's final answer: the typed response (Status 2xx) or a 4xx result
// with the provider's code and message.
type OperationAnswer struct {
	Status       int
	Body         json.RawMessage
	ProviderCode string
	Message      string
	// ProviderDetail is a 4xx answer's error object (type, code, decline_code, param), when
	// the provider gives one: a card decline's reason travels here.
	ProviderDetail map[string]string `json:",omitempty"`
	Attempt        int32
}

// OperationFailure travels as the details of a failed attempt's application error.
type OperationFailure struct {
	Attempt int32
	Status  int
}

// CallProvider makes one attempt of an operation through its issuer's provider stack and
// audits it. Retries are Temporal's (the issuer's retry policy); nothing here loops.
func (a *Activities) CallProvider(ctx context.Context, in OperationCall) (OperationAnswer, error) {
	attemptNo := activity.GetInfo(ctx).Attempt
	op, ok := provider.Lookup(in.Operation)
	if !ok {
		return OperationAnswer{}, classify(&InvalidRequestError{Reason: "unknown operation " + in.Operation})
	}
	req := op.NewRequest()
	// Numbers stay as written (an ERP record's untyped fields: integers beyond 2^53).
	dec := json.NewDecoder(bytes.NewReader(in.Params))
	dec.UseNumber()
	if err := dec.Decode(req); err != nil {
		return OperationAnswer{}, classify(&InvalidRequestError{Reason: "operation parameters: " + err.Error()})
	}
	if err := a.openSealed(req); err != nil {
		return OperationAnswer{}, classify(err)
	}
	caller, err := a.Providers.For(op)
	if err != nil {
		return OperationAnswer{}, classify(&InvalidRequestError{Reason: err.Error()})
	}
	if err := a.takeProviderToken(ctx, caller.Config()); err != nil {
		return OperationAnswer{}, err
	}
	resp, attempt, err := caller.Call(ctx, op, req, in.CorrelationID)
	a.audit(ctx, in.CorrelationID, op.Issuer, op.Key, attempt, attemptNo)
	if err != nil {
		return OperationAnswer{}, providerError(err, attemptNo)
	}
	if resp.Status >= 400 {
		return OperationAnswer{Status: resp.Status, ProviderCode: resp.ProviderCode, Message: providerMessage(resp.Body),
			ProviderDetail: detailMap(resp.Detail), Attempt: attemptNo}, nil
	}
	typed, err := provider.DecodeResponse(op, resp.Body, caller.Config().ResponseFormat)
	if err != nil {
		return OperationAnswer{}, temporal.NewApplicationErrorWithOptions("the provider's answer does not match "+
			op.Key, transaction.ErrTypeProviderInvalidResponse, temporal.ApplicationErrorOptions{NonRetryable: true,
			Details: []any{OperationFailure{Attempt: attemptNo, Status: resp.Status}}})
	}
	body, err := json.Marshal(typed)
	if err != nil {
		return OperationAnswer{}, classify(err)
	}
	// Re-encoding may grow an answer (XML into JSON, "<" into "\u003c"): the result the
	// workflow records is held to the same limit as what was read.
	if int64(len(body)) > caller.Config().ResponseLimit() {
		return OperationAnswer{}, providerError(provider.TooLarge(caller.Config(), resp.Status), attemptNo)
	}
	return OperationAnswer{Status: resp.Status, Body: body, Attempt: attemptNo}, nil
}

// audit records one attempt at a provider or one exchange with the card switch in
// provider_audit. A failed audit write is logged in full instead: failing the activity would
// call the provider (or the switch) again.
func (a *Activities) audit(ctx context.Context, correlationID, issuer, operation string, at provider.Attempt, attemptNo int32) {
	row := schema.ProviderAuditRow{
		CorrelationID: sql.NullString{String: correlationID, Valid: correlationID != ""},
		Issuer:        issuer, Operation: operation, Method: at.Method, Host: at.Host, Path: at.Path,
		Outcome: at.Outcome, LatencyMS: float64(at.Latency.Microseconds()) / 1000, Attempt: int(attemptNo),
	}
	if at.Status != 0 {
		row.Status = sql.NullInt32{Int32: int32(at.Status), Valid: true}
	}
	writeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := a.Store.InsertProviderAudit(writeCtx, row); err != nil {
		activity.GetLogger(ctx).Error("Provider audit write failed; the attempt was", "error", err.Error(),
			"issuer", row.Issuer, "operation", row.Operation, "method", row.Method, "host", row.Host, "path", row.Path,
			"status", at.Status, "outcome", row.Outcome, "attempt", attemptNo, "correlation_id", correlationID)
	}
}

// providerError maps a failed attempt to its application error.
func providerError(err error, attemptNo int32) error {
	var ce *provider.CallError
	if !errors.As(err, &ce) {
		return classify(err)
	}
	opts := temporal.ApplicationErrorOptions{Details: []any{OperationFailure{Attempt: attemptNo, Status: ce.Status}}}
	errType := transaction.ErrTypeProviderUnavailable
	switch ce.Kind {
	case provider.KindTimeout:
		errType = transaction.ErrTypeProviderTimeout
	case provider.KindStatus:
		opts.NextRetryDelay = ce.RetryAfter
	case provider.KindBreakerOpen:
		errType, opts.NonRetryable = transaction.ErrTypeCircuitOpen, true
	case provider.KindRejected, provider.KindMisconfigured, provider.KindNotConfigured, provider.KindAuthRejected:
		errType, opts.NonRetryable = transaction.ErrTypeProviderMisconfigured, true
	case provider.KindTooLarge:
		errType, opts.NonRetryable = transaction.ErrTypeProviderResponseTooLarge, true
	}
	return temporal.NewApplicationErrorWithOptions(ce.Reason, errType, opts)
}

// providerMessage reads a provider's error message: error.message, message or error.
func providerMessage(body []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	var nested struct {
		Message string `json:"message"`
	}
	if len(v.Error) > 0 && json.Unmarshal(v.Error, &nested) == nil && nested.Message != "" {
		return truncateText(nested.Message, 500)
	}
	if v.Message != "" {
		return truncateText(v.Message, 500)
	}
	var s string
	if json.Unmarshal(v.Error, &s) == nil {
		return truncateText(s, 500)
	}
	return ""
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// AttemptNumber is the attempt that got the answer.
func (r OperationAnswer) AttemptNumber() int32 { return r.Attempt }
