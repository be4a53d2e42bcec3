package workflows

import (
	"net/http"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/schema"
)

// TransferInput is one card transfer between two accounts through the switch.
type TransferInput struct {
	CorrelationID string
	ClientID      string
	RRN           string
	FromAccount   string
	ToAccount     string
	Amount        int64  // minor units
	Currency      string // alphabetic, for the record
	Card          iso.Card
	// Retry spaces resends of a 0200 that was never sent (no signed-on connection);
	// AttemptTimeout bounds one exchange.
	Retry          activities.RetrySettings
	AttemptTimeout time.Duration
	// ReversalRetry spaces the reversal's repeats (0421); ReversalBudget is how long they go
	// on before the transfer is escalated.
	ReversalRetry  activities.RetrySettings
	ReversalBudget time.Duration
}

// Transfer statuses beyond the transaction log's.
const (
	// TransferReversing is the status query's value while reversals are being sent.
	TransferReversing = "reversing"
)

// Error codes of a transfer that was not approved.
const (
	ErrorCodeDeclined       = "DECLINED"
	ErrorCodeReversed       = "TRANSFER_REVERSED"
	ErrorCodeISOUnavailable = "SWITCH_UNAVAILABLE"
	ErrorCodeISOInvalid     = "ISO_INVALID_MESSAGE"
)

// TransferResult is how a transfer ended: approved (successful), declined (failed, with the
// ISO code), reversed (the outcome was unknown and the reversal went through), resolved or
// aborted by an operator (failed).
type TransferResult struct {
	CorrelationID  string
	RRN            string
	STAN           int64
	Status         string
	ResponseCode   string
	Meaning        string
	AuthCode       string
	Attempts       int
	Reversals      int
	Error          string
	ErrorCode      string
	ResolutionNote string
}

// CardTransfer sends a 0200 transfer. A decline is a result. When the outcome is unknown (no
// answer, or the connection lost after the write) it never resends: it reverses, sending 0420
// and then 0421 repeats under Temporal's backoff until a 0430 arrives, and ends reversed. If the
// reversal cannot complete within its budget, the transfer is escalated and waits for an
// operator's retry, resolve or abort.
func CardTransfer(ctx workflow.Context, in TransferInput) (TransferResult, error) {
	wf := &transfer{in: in}
	if err := wf.setup(ctx); err != nil {
		return TransferResult{}, err
	}
	return wf.run(ctx)
}

type transfer struct {
	in     TransferInput
	res    TransferResult
	status *tracker
	logger log.Logger
}

func (wf *transfer) setup(ctx workflow.Context) error {
	in := wf.in
	switch {
	case in.CorrelationID == "" || in.ClientID == "" || len(in.RRN) != 12:
		return temporal.NewNonRetryableApplicationError("correlation id, client and a 12-character RRN are required",
			ErrTypeInvalidInput, nil)
	case in.FromAccount == "" || in.ToAccount == "" || in.Amount <= 0:
		return temporal.NewNonRetryableApplicationError("two accounts and a positive amount are required",
			ErrTypeInvalidInput, nil)
	case in.AttemptTimeout <= 0 || in.ReversalBudget <= 0 || in.Retry.MaxAttempts < 1:
		return temporal.NewNonRetryableApplicationError("timeouts and a retry budget are required", ErrTypeInvalidInput, nil)
	}
	wf.logger = log.With(workflow.GetLogger(ctx), "correlation_id", in.CorrelationID, "client_id", in.ClientID, "rrn", in.RRN)
	wf.res = TransferResult{CorrelationID: in.CorrelationID, RRN: in.RRN}
	var err error
	wf.status, err = track(ctx, wf.logger, KindISO, in.ClientID, "transfer", in.CorrelationID, RRNKey.ValueSet(in.RRN))
	return err
}

func (wf *transfer) run(ctx workflow.Context) (TransferResult, error) {
	in := wf.in
	// What the log keeps: the accounts and amount, never the card.
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordStart, activities.RecordStartInput{
		CorrelationID: in.CorrelationID, Kind: schema.TxKindISO, Operation: "transfer",
		WorkflowRunID: workflow.GetInfo(ctx).WorkflowExecution.RunID, ClientID: in.ClientID,
		Channel: activities.Channel{Name: "iso"},
		Request: activities.Request{Method: http.MethodPost, Path: "/api/v1/iso/transfer"},
		Summary: transferSummary{RRN: in.RRN, FromAccount: in.FromAccount, ToAccount: in.ToAccount, Amount: in.Amount,
			Currency: in.Currency},
	}).Get(ctx, nil); err != nil {
		return TransferResult{}, err
	}
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.AllocateSTAN).Get(ctx, &wf.res.STAN); err != nil {
		return TransferResult{}, err
	}
	send := activities.TransferSend{CorrelationID: in.CorrelationID, RRN: in.RRN, STAN: wf.res.STAN,
		TransmissionDateTime: iso.TransmissionTime(workflow.Now(ctx)), FromAccount: in.FromAccount,
		ToAccount: in.ToAccount, Amount: in.Amount, Card: in.Card}
	plan := attemptPlan{
		timeout:      in.AttemptTimeout,
		retry:        in.Retry,
		nonRetryable: []string{activities.ErrTypeOutcomeUnknown, activities.ErrTypeISOInvalid},
		// Only a request that was never sent may be sent again.
		mayRetry: func(errType string) bool { return errType == activities.ErrTypeISOUnavailable },
	}
	var answer activities.TransferAnswer
	n, err := plan.run(ctx, a.ISOTransfer, send, &answer, func(error) { wf.setStatus(ctx, schema.TxProcessing) })
	wf.res.Attempts = n
	errType, _ := errorInfo(err)
	switch {
	case err == nil && answer.ResponseCode == iso.CodeApproved:
		wf.res.ResponseCode, wf.res.AuthCode, wf.res.Meaning = answer.ResponseCode, answer.AuthCode, iso.Meaning(answer.ResponseCode)
		return wf.finish(ctx, schema.TxSuccessful)
	case err == nil:
		wf.res.ResponseCode, wf.res.Meaning = answer.ResponseCode, iso.Meaning(answer.ResponseCode)
		wf.res.ErrorCode, wf.res.Error = ErrorCodeDeclined, "declined: "+iso.Meaning(answer.ResponseCode)
		return wf.finish(ctx, schema.TxFailed)
	case errType == activities.ErrTypeOutcomeUnknown || errType == errTypeActivityTimeout:
		wf.logger.Warn("Transfer outcome unknown: reversing", "stan", wf.res.STAN)
		return wf.reverse(ctx, send)
	case errType == activities.ErrTypeISOUnavailable:
		wf.res.ErrorCode, wf.res.Error = ErrorCodeISOUnavailable, "the switch could not be reached: nothing was sent"
	default:
		wf.res.ErrorCode, wf.res.Error = ErrorCodeISOInvalid, err.Error()
	}
	return wf.finish(ctx, schema.TxFailed)
}

// reverse sends the reversal until the switch acknowledges it; past its budget it escalates.
func (wf *transfer) reverse(ctx workflow.Context, sent activities.TransferSend) (TransferResult, error) {
	var stan int64
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.AllocateSTAN).Get(ctx, &stan); err != nil {
		return TransferResult{}, err
	}
	reversal := activities.ReversalSend{CorrelationID: sent.CorrelationID, RRN: sent.RRN, STAN: stan,
		OriginalSTAN: sent.STAN, OriginalTransmission: sent.TransmissionDateTime, FromAccount: sent.FromAccount,
		ToAccount: sent.ToAccount, Amount: sent.Amount, Card: sent.Card}
	retry := wf.in.ReversalRetry
	for {
		wf.setStatus(ctx, TransferReversing)
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout:    wf.in.AttemptTimeout,
			ScheduleToCloseTimeout: wf.in.ReversalBudget,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: retry.InitialInterval,
				BackoffCoefficient: max(retry.BackoffCoefficient, 1), MaximumInterval: retry.MaxInterval,
				NonRetryableErrorTypes: []string{activities.ErrTypeISOInvalid}},
		})
		var answer activities.ReversalAnswer
		err := workflow.ExecuteActivity(actx, a.ISOReverse, reversal).Get(ctx, &answer)
		if err == nil {
			wf.res.Reversals += int(answer.Attempt)
			wf.res.ResponseCode, wf.res.Meaning = "", "reversed"
			wf.res.ErrorCode, wf.res.Error = ErrorCodeReversed, "the outcome was unknown: the transfer was reversed"
			return wf.finish(ctx, schema.TxReversed)
		}
		wf.res.Reversals += failedAttempts(err)
		wf.res.ErrorCode, wf.res.Error = ErrorCodeReversed, "the reversal did not complete: "+err.Error()

		dropStaleSignals(ctx, wf.logger)
		wf.setStatus(ctx, schema.TxEscalated)
		if err := wf.record(ctx, schema.TxEscalated, ""); err != nil {
			return TransferResult{}, err
		}
		wf.logger.Warn("Transfer escalated: the reversal did not complete; waiting for an operator to signal retry, "+
			"resolve or abort", "reversals", wf.res.Reversals)
		name, sig := awaitOperator(ctx)
		switch name {
		case SignalResolve:
			wf.res.ResolutionNote = sig.Note
			return wf.finish(ctx, schema.TxResolved)
		case SignalAbort:
			wf.res.ResolutionNote = sig.Note
			wf.res.ErrorCode, wf.res.Error = ErrorCodeAborted, "aborted by an operator: the reversal did not complete"
			return wf.finish(ctx, schema.TxFailed)
		}
		// retry: another round of reversals, with the full budget.
	}
}

// failedAttempts reads how many attempts a failed activity made.
func failedAttempts(err error) int {
	var failure struct{ Attempt int32 }
	if appErr, ok := asApplicationError(err); ok && appErr.HasDetails() && appErr.Details(&failure) == nil {
		return int(failure.Attempt)
	}
	return 0
}

func (wf *transfer) setStatus(ctx workflow.Context, status string) {
	view := StatusView{Status: status, Attempts: wf.res.Attempts, Error: wf.res.Error, ErrorCode: wf.res.ErrorCode}
	if status == TransferReversing {
		// Still processing as far as the log and search attributes go.
		status = schema.TxProcessing
	}
	wf.status.show(ctx, view, status)
}

// transferSummary is what the log keeps of a transfer's request.
type transferSummary struct {
	RRN         string `json:"rrn"`
	FromAccount string `json:"from_account"`
	ToAccount   string `json:"to_account"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
}

// transferOutcome is what the log keeps of a transfer's outcome.
type transferOutcome struct {
	RRN          string `json:"rrn"`
	STAN         int64  `json:"stan"`
	ResponseCode string `json:"response_code"`
	Meaning      string `json:"meaning"`
	AuthCode     string `json:"auth_code"`
	Reversals    int    `json:"reversals"`
}

func (wf *transfer) record(ctx workflow.Context, status, note string) error {
	return workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordOutcome, activities.RecordOutcomeInput{
		CorrelationID: wf.res.CorrelationID, Kind: schema.TxKindISO, Status: status, Attempts: wf.res.Attempts,
		Summary: transferOutcome{RRN: wf.res.RRN, STAN: wf.res.STAN, ResponseCode: wf.res.ResponseCode,
			Meaning: wf.res.Meaning, AuthCode: wf.res.AuthCode, Reversals: wf.res.Reversals},
		Error: wf.res.Error, ErrorCode: wf.res.ErrorCode, ResolutionNote: note,
	}).Get(ctx, nil)
}

func (wf *transfer) finish(ctx workflow.Context, status string) (TransferResult, error) {
	wf.res.Status = status
	if err := wf.record(ctx, status, wf.res.ResolutionNote); err != nil {
		return TransferResult{}, err
	}
	wf.setStatus(ctx, status)
	return wf.res, nil
}
