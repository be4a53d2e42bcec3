package workflows

import (
	"net/http"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/transaction"
)

// TransferInput is one card transfer between two accounts through the switch. The worker
// gives the transfer its RRN and the switch's retry policies when it starts (see
// activities.PrepareTransfer).
type TransferInput struct {
	CorrelationID string
	ClientID      string
	FromAccount   string
	ToAccount     string
	Amount        int64  // minor units
	Currency      string // alphabetic, for the record
	Card          iso.Card
	// Fingerprint identifies the request (transaction.Fingerprint), for the log.
	Fingerprint string

	// Runs started before the worker owned the RRN and the policies carry them here; new runs
	// leave them empty.
	RRN            string
	Retry          transaction.RetryPolicy
	AttemptTimeout time.Duration
	ReversalRetry  transaction.RetryPolicy
	ReversalBudget time.Duration
	// WorkerPlan says the run takes its RRN, policies and references from the worker without
	// asking GetVersion (whose markers cost a search-attribute upsert each); runs started before
	// it existed ask (versionWorkerPolicy, versionTransferReferences).
	WorkerPlan bool
}

// Transfer statuses beyond the transaction log's.
const (
	// TransferReversing is the status query's value while reversals are being sent.
	TransferReversing = "reversing"
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
	plan   transferPlan
	res    TransferResult
	status *tracker
	logger log.Logger
}

// plan is the transfer's RRN and policies, whichever way the run got them.
type transferPlan = activities.TransferPlan

func (wf *transfer) setup(ctx workflow.Context) error {
	in := wf.in
	switch {
	case in.CorrelationID == "" || in.ClientID == "":
		return temporal.NewNonRetryableApplicationError("correlation id and client are required",
			transaction.ErrTypeInvalidInput, nil)
	case in.FromAccount == "" || in.ToAccount == "" || in.Amount <= 0:
		return temporal.NewNonRetryableApplicationError("two accounts and a positive amount are required",
			transaction.ErrTypeInvalidInput, nil)
	}
	logger := log.With(workflow.GetLogger(ctx), "correlation_id", in.CorrelationID, "client_id", in.ClientID)
	var err error
	if wf.status, err = track(ctx, logger, transaction.KindISO, in.ClientID, "transfer", in.CorrelationID); err != nil {
		return err
	}
	if wf.plan, err = wf.prepare(ctx); err != nil {
		return err
	}
	wf.logger = log.With(logger, "rrn", wf.plan.RRN)
	wf.status.fix(RRNKey.ValueSet(wf.plan.RRN))
	wf.res = TransferResult{CorrelationID: in.CorrelationID, RRN: wf.plan.RRN}
	return nil
}

// preSendOptions bounds the database steps before the 0200 is sent: a transfer the database
// holds up for longer fails with nothing sent, which its client can safely try again, rather
// than moving money much later than it was asked to.
func preSendOptions(ctx workflow.Context) workflow.Context { return storeWithin(ctx, time.Minute) }

// versionWorkerPolicy: from version 1 on, the worker allocates a transfer's RRN and resolves
// the switch's policies (a local activity at the start) instead of the API putting them in the
// input. Runs recorded before it read them from their input.
const versionWorkerPolicy = "worker-owned-policy"

// prepare gets the RRN and policies: from the worker, or from the input of a run started
// before the worker owned them.
func (wf *transfer) prepare(ctx workflow.Context) (transferPlan, error) {
	in := wf.in
	if !in.WorkerPlan &&
		workflow.GetVersion(ctx, versionWorkerPolicy, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		plan := transferPlan{RRN: in.RRN, Send: transaction.AttemptPolicy{Retry: in.Retry, Timeout: in.AttemptTimeout},
			Reversal: in.ReversalRetry, ReversalBudget: in.ReversalBudget}
		if len(plan.RRN) != 12 || plan.Send.Timeout <= 0 || plan.ReversalBudget <= 0 || plan.Send.Retry.MaxAttempts < 1 {
			return plan, temporal.NewNonRetryableApplicationError("an RRN, timeouts and a retry budget are required",
				transaction.ErrTypeInvalidInput, nil)
		}
		return plan, nil
	}
	var plan transferPlan
	err := workflow.ExecuteLocalActivity(preSendOptions(ctx), a.PrepareTransfer, in.CorrelationID).Get(ctx, &plan)
	if err == nil {
		plan.Send.Timeout += attemptGrace
	}
	return plan, err
}

func (wf *transfer) run(ctx workflow.Context) (TransferResult, error) {
	in := wf.in
	// What the log keeps: the accounts and amount, never the card.
	var rec activities.RecordStartResult
	if err := workflow.ExecuteLocalActivity(preSendOptions(ctx), a.RecordStart, activities.RecordStartInput{
		CorrelationID: in.CorrelationID, Kind: transaction.KindISO, Operation: "transfer", Fingerprint: in.Fingerprint,
		WorkflowID:    workflow.GetInfo(ctx).WorkflowExecution.ID,
		WorkflowRunID: workflow.GetInfo(ctx).WorkflowExecution.RunID, ClientID: in.ClientID,
		Channel: transaction.Channel{Name: "iso"},
		Request: transaction.Request{Method: http.MethodPost, Path: "/api/v1/iso/transfer"},
		Summary: transferSummary{RRN: wf.plan.RRN, FromAccount: in.FromAccount, ToAccount: in.ToAccount, Amount: in.Amount,
			Currency: in.Currency},
	}).Get(ctx, &rec); err != nil {
		return TransferResult{}, err
	}
	// An earlier run under the same key (its history since gone) is never sent again.
	switch {
	case rec.Existing != nil:
		return wf.replay(ctx, rec.Existing), nil
	case rec.InFlight:
		wf.logger.Warn("An earlier run of this transfer did not finish: sending nothing")
		wf.res.Status = transaction.StatusFailed
		wf.res.ErrorCode = transaction.ErrorCodeTransferInDoubt
		wf.res.Error = "an earlier run of this transfer did not finish: nothing was sent again; check it at the switch"
		wf.setStatus(ctx, transaction.StatusFailed)
		return wf.res, nil
	}
	transmission, err := wf.references(ctx)
	if err != nil {
		return TransferResult{}, err
	}
	send := activities.TransferSend{CorrelationID: in.CorrelationID, RRN: wf.plan.RRN, STAN: wf.res.STAN,
		TransmissionDateTime: transmission, FromAccount: in.FromAccount,
		ToAccount: in.ToAccount, Amount: in.Amount, Card: in.Card}
	plan := attemptPlan{
		timeout:      wf.plan.Send.Timeout,
		retry:        wf.plan.Send.Retry,
		nonRetryable: []string{transaction.ErrTypeOutcomeUnknown, transaction.ErrTypeISOInvalid},
		// Only a request that was never sent may be sent again.
		mayRetry: func(errType string) bool { return errType == transaction.ErrTypeISOUnavailable },
	}
	var answer activities.TransferAnswer
	n, err := plan.run(ctx, a.ISOTransfer, send, &answer, func(error) { wf.setStatus(ctx, transaction.StatusProcessing) })
	wf.res.Attempts = n
	errType, _ := errorInfo(err)
	switch {
	case err == nil && answer.ResponseCode == iso.CodeApproved:
		wf.res.ResponseCode, wf.res.AuthCode, wf.res.Meaning = answer.ResponseCode, answer.AuthCode, iso.Meaning(answer.ResponseCode)
		return wf.finish(ctx, transaction.StatusSuccessful)
	case err == nil:
		wf.res.ResponseCode, wf.res.Meaning = answer.ResponseCode, iso.Meaning(answer.ResponseCode)
		wf.res.ErrorCode, wf.res.Error = transaction.ErrorCodeDeclined, "declined: "+iso.Meaning(answer.ResponseCode)
		return wf.finish(ctx, transaction.StatusFailed)
	case errType == transaction.ErrTypeOutcomeUnknown || errType == errTypeActivityTimeout:
		wf.logger.Warn("Transfer outcome unknown: reversing", "stan", wf.res.STAN)
		return wf.reverse(ctx, send)
	case errType == transaction.ErrTypeISOUnavailable:
		wf.res.ErrorCode, wf.res.Error = transaction.ErrorCodeISOUnavailable, "the switch could not be reached: nothing was sent"
	default:
		wf.res.ErrorCode, wf.res.Error = transaction.ErrorCodeISOInvalid, err.Error()
	}
	return wf.finish(ctx, transaction.StatusFailed)
}

// versionTransferReferences: from version 1 on, the 0200's STAN and transmission time come
// with the worker's plan, allocated once per correlation id, so a run re-executed from its
// start (its first workflow task never completed) sends the same 0200. Runs recorded before
// allocate the STAN in a local activity and take the time of their first task.
const versionTransferReferences = "transfer-references"

// references sets the 0200's STAN and returns its transmission time (DE 7).
func (wf *transfer) references(ctx workflow.Context) (string, error) {
	current := wf.in.WorkerPlan || workflow.GetVersion(ctx, versionTransferReferences, workflow.DefaultVersion, 1) == 1
	if current && wf.plan.STAN > 0 {
		wf.res.STAN = wf.plan.STAN
		return wf.plan.Transmission, nil
	}
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.AllocateSTAN).Get(ctx, &wf.res.STAN); err != nil {
		return "", err
	}
	return iso.TransmissionTime(workflow.Now(ctx)), nil
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
	retry := wf.plan.Reversal
	for {
		wf.setStatus(ctx, TransferReversing)
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout:    wf.plan.Send.Timeout,
			ScheduleToCloseTimeout: wf.plan.ReversalBudget,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: retry.InitialInterval,
				BackoffCoefficient: max(retry.BackoffCoefficient, 1), MaximumInterval: retry.MaxInterval,
				NonRetryableErrorTypes: []string{transaction.ErrTypeISOInvalid}},
		})
		var answer activities.ReversalAnswer
		err := workflow.ExecuteActivity(actx, a.ISOReverse, reversal).Get(ctx, &answer)
		if err == nil {
			wf.res.Reversals += int(answer.Attempt)
			wf.res.ResponseCode, wf.res.Meaning = "", "reversed"
			wf.res.ErrorCode, wf.res.Error = transaction.ErrorCodeReversed, "the outcome was unknown: the transfer was reversed"
			return wf.finish(ctx, transaction.StatusReversed)
		}
		wf.res.Reversals += failedAttempts(err)
		wf.res.ErrorCode, wf.res.Error = transaction.ErrorCodeReversed, "the reversal did not complete: "+err.Error()

		dropStaleSignals(ctx, wf.logger)
		wf.setStatus(ctx, transaction.StatusEscalated)
		if err := wf.record(ctx, transaction.StatusEscalated, ""); err != nil {
			return TransferResult{}, err
		}
		wf.logger.Warn("Transfer escalated: the reversal did not complete; waiting for an operator to signal retry, "+
			"resolve or abort", "reversals", wf.res.Reversals)
		name, sig := awaitOperator(ctx)
		switch name {
		case SignalResolve:
			wf.res.ResolutionNote = sig.Note
			return wf.finish(ctx, transaction.StatusResolved)
		case SignalAbort:
			wf.res.ResolutionNote = sig.Note
			wf.res.ErrorCode, wf.res.Error = transaction.ErrorCodeAborted, "aborted by an operator: the reversal did not complete"
			return wf.finish(ctx, transaction.StatusFailed)
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
		status = transaction.StatusProcessing
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

// replay answers with the outcome an earlier run recorded under the same correlation id.
func (wf *transfer) replay(ctx workflow.Context, stored *activities.StoredOutcome) TransferResult {
	wf.logger.Info("Transfer already recorded as finished: answering with the stored outcome", "status", stored.Status)
	res := TransferResult{CorrelationID: wf.in.CorrelationID, Status: stored.Status, Attempts: stored.Attempts,
		Error: stored.Error, ErrorCode: stored.ErrorCode, ResolutionNote: stored.ResolutionNote}
	if t := stored.Transfer; t != nil {
		res.RRN, res.STAN, res.ResponseCode, res.Meaning, res.AuthCode, res.Reversals =
			t.RRN, t.STAN, t.ResponseCode, t.Meaning, t.AuthCode, t.Reversals
	}
	wf.res = res
	wf.setStatus(ctx, stored.Status)
	return res
}

// Outcome is the transfer's outcome as the log keeps it.
func (r TransferResult) Outcome() activities.TransferOutcome {
	return activities.TransferOutcome{RRN: r.RRN, STAN: r.STAN, ResponseCode: r.ResponseCode, Meaning: r.Meaning,
		AuthCode: r.AuthCode, Reversals: r.Reversals}
}

func (wf *transfer) record(ctx workflow.Context, status, note string) error {
	return workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordOutcome, activities.RecordOutcomeInput{
		CorrelationID: wf.res.CorrelationID, Kind: transaction.KindISO, Status: status, Attempts: wf.res.Attempts,
		Summary: wf.res.Outcome(),
		Error:   wf.res.Error, ErrorCode: wf.res.ErrorCode, ResolutionNote: note,
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
