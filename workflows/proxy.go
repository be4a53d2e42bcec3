package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
)

// ProxyInput is one client request to forward through a channel.
type ProxyInput struct {
	CorrelationID string
	// Keyed says the correlation id derives from the client's Idempotency-Key, so an earlier
	// run may have recorded it already (see run).
	Keyed    bool
	ParentID string // set on a rerun: the transaction it repeats
	// LogOnce lets a transaction without an Idempotency-Key write its log row once, with the
	// outcome, when it never has to wait (see run). Runs started before it existed write the row
	// at the start and again at the end.
	LogOnce  bool
	ClientID string
	// Fingerprint identifies the request (transaction.Fingerprint), for the log.
	Fingerprint string
	Channel     transaction.Channel
	Request     transaction.Request
}

// ProxyResult is how a transaction ended. An upstream's answer, whatever its status, is a
// result; Error and ErrorCode are set when the hub could not get a usable answer.
type ProxyResult struct {
	CorrelationID string
	Status        string // successful, failed or resolved
	Response      *transaction.Response
	// ResponseTruncated is set only when the outcome was read back from the transaction log,
	// which keeps TRANSACTION_BODY_MAX_LENGTH bytes of the body.
	ResponseTruncated bool
	Error             string
	ErrorCode         string
	Attempts          int
	ResolutionNote    string
}

// attemptGrace lets an attempt's own deadline (a forward's, a provider call's, a switch
// exchange's) fire and report a classified timeout before Temporal's start-to-close does.
const attemptGrace = 5 * time.Second

// ProxyTransaction forwards one client request to its channel's upstream and records the
// outcome. The first attempt runs as a local activity inside the first workflow task (the fast
// path); retries run as a regular activity under the channel's retry policy. When they are
// exhausted on a channel that escalates, it waits for an operator's retry, resolve or abort.
func ProxyTransaction(ctx workflow.Context, in ProxyInput) (ProxyResult, error) {
	wf := &proxyTx{in: in}
	if err := wf.setup(ctx); err != nil {
		return ProxyResult{}, err
	}
	return wf.run(ctx)
}

type proxyTx struct {
	in      ProxyInput
	channel transaction.Channel // the snapshot in the input, reloaded when an operator retries
	status  *tracker
	logger  log.Logger
	row     logWrites // the log row
}

// outcome is the state of the forward after one or more attempts.
type outcome struct {
	response *transaction.Response // the upstream's answer (a result, or the last 502/503/504)
	errType  string                // activity error type; empty when response is final
	errMsg   string
	attempts int
}

func (o outcome) failed() bool { return o.errType != "" }

func (wf *proxyTx) setup(ctx workflow.Context) error {
	if err := wf.in.validate(); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), transaction.ErrTypeInvalidInput, nil)
	}
	wf.channel = wf.in.Channel
	wf.logger = log.With(workflow.GetLogger(ctx), "correlation_id", wf.in.CorrelationID,
		"client_id", wf.in.ClientID, "channel", wf.in.Channel.Name)
	wf.row.logger = wf.logger
	var err error
	wf.status, err = track(ctx, wf.logger, transaction.KindProxy, wf.in.ClientID, wf.in.Channel.Name, wf.in.CorrelationID)
	if err != nil {
		return err
	}
	return workflow.SetQueryHandler(ctx, QueryRequest, func() (transaction.Request, error) { return wf.in.Request, nil })
}

func (in ProxyInput) validate() error {
	switch {
	case in.CorrelationID == "":
		return errors.New("correlation id is empty")
	case in.ClientID == "":
		return errors.New("client id is empty")
	case in.Channel.EndpointURL == "":
		return errors.New("channel has no endpoint")
	case in.Channel.Timeout <= 0:
		return errors.New("channel timeout must be positive")
	case in.Channel.Retry.MaxAttempts < 1:
		return errors.New("channel retry policy needs at least one attempt")
	case in.Request.Method == "" || in.Request.Path == "":
		return errors.New("request method and path are required")
	}
	return nil
}

func (wf *proxyTx) run(ctx workflow.Context) (ProxyResult, error) {
	var recorded workflow.Future
	if !wf.in.LogOnce || wf.in.Keyed {
		recorded = workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordStart, wf.startInput(ctx))
		wf.row.logged = true // the start is being written: row.start has nothing to do
	}
	var out outcome
	switch {
	case wf.in.Keyed:
		// A client's key may have been used by a run whose history is gone: look first.
		var rec activities.RecordStartResult
		if err := recorded.Get(ctx, &rec); err != nil {
			return ProxyResult{}, err
		}
		if rec.Existing != nil {
			return wf.replay(ctx, rec.Existing)
		}
		out = wf.firstForward(ctx)
	case wf.in.LogOnce:
		// A random correlation id has never been recorded: forward first, and write the row
		// once with the outcome (finish), or when the transaction first waits (logStart). Until
		// then a status read asks the workflow.
		out = wf.firstForward(ctx)
	default:
		// A random correlation id has never been recorded: log and forward at the same time.
		out = wf.firstForward(ctx)
		if err := recorded.Get(ctx, nil); err != nil {
			return ProxyResult{}, err
		}
	}
	for out.failed() && wf.channel.EscalateOnFailure {
		name, sig, err := wf.escalate(ctx, out)
		if err != nil {
			return ProxyResult{}, err
		}
		switch name {
		case SignalRetry:
			wf.reloadChannel(ctx)
			wf.setStatus(ctx, transaction.StatusProcessing, out)
			out = wf.retryForward(ctx, out.attempts)
		case SignalResolve:
			wf.logger.Info("Transaction resolved by an operator", "by", sig.By)
			return wf.finish(ctx, transaction.StatusResolved, out, sig.Note)
		case SignalAbort:
			wf.logger.Info("Transaction aborted by an operator", "by", sig.By)
			out.errType, out.errMsg = transaction.ErrorCodeAborted, "aborted by an operator"
			return wf.finish(ctx, transaction.StatusFailed, out, sig.Note)
		}
	}
	if out.failed() {
		return wf.finish(ctx, transaction.StatusFailed, out, "")
	}
	status := transaction.StatusSuccessful
	if out.response.StatusCode >= 500 {
		status = transaction.StatusFailed
	}
	return wf.finish(ctx, status, out, "")
}

// startInput is the transaction's log row as it starts.
func (wf *proxyTx) startInput(ctx workflow.Context) activities.RecordStartInput {
	return activities.RecordStartInput{
		CorrelationID: wf.in.CorrelationID,
		Kind:          transaction.KindProxy,
		Fingerprint:   wf.in.Fingerprint,
		ParentID:      wf.in.ParentID,
		WorkflowID:    workflow.GetInfo(ctx).WorkflowExecution.ID,
		WorkflowRunID: workflow.GetInfo(ctx).WorkflowExecution.RunID,
		ClientID:      wf.in.ClientID,
		Channel:       wf.in.Channel,
		Request:       wf.in.Request,
		StartedAt:     workflow.GetInfo(ctx).WorkflowStartTime,
	}
}

// plan is how the transaction's forwards are attempted under its channel's rules.
func (wf *proxyTx) plan() attemptPlan {
	method := wf.in.Request.Method
	return attemptPlan{
		timeout:      wf.channel.Timeout + attemptGrace,
		retry:        wf.channel.Retry,
		nonRetryable: wf.channel.NonRetryableErrorTypes(method),
		mayRetry:     func(errType string) bool { return wf.channel.MayRetry(method, errType) },
	}
}

// firstForward forwards with the channel's whole retry budget.
func (wf *proxyTx) firstForward(ctx workflow.Context) outcome {
	var res activities.ForwardResult
	n, err := wf.plan().run(ctx, a.Forward, wf.forwardInput(), &res, func(err error) {
		wf.row.start(ctx, wf.startInput(ctx))
		wf.setStatus(ctx, transaction.StatusProcessing, failedOutcome(err, 1))
	})
	if err != nil {
		return failedOutcome(err, n)
	}
	return outcome{response: &res.Response, attempts: n}
}

// retryForward forwards again with a fresh budget (an operator's retry); before attempts were
// made already.
func (wf *proxyTx) retryForward(ctx workflow.Context, before int) outcome {
	var res activities.ForwardResult
	n, err := wf.plan().retryN(ctx, a.Forward, wf.forwardInput(), &res, wf.channel.Retry.MaxAttempts,
		wf.channel.Retry.InitialInterval)
	if err != nil {
		return failedOutcome(err, before+n)
	}
	return outcome{response: &res.Response, attempts: before + n}
}

func (wf *proxyTx) forwardInput() activities.ForwardInput {
	return activities.ForwardInput{
		CorrelationID: wf.in.CorrelationID,
		EndpointURL:   wf.channel.EndpointURL,
		Timeout:       wf.channel.Timeout,
		Request:       wf.in.Request,
		ESB:           wf.channel.ESB,
	}
}

// failedOutcome reads a failed forward: its type and message, and for a 502/503/504 the
// upstream's answer, which travels in the error's details.
func failedOutcome(err error, attempts int) outcome {
	out := outcome{errType: transaction.ErrTypeUpstreamFailed, errMsg: err.Error(), attempts: attempts}
	var appErr *temporal.ApplicationError
	switch errType, _ := errorInfo(err); {
	case errors.As(err, &appErr):
		out.errType, out.errMsg = appErr.Type(), appErr.Message()
		var failure activities.ForwardFailure
		if appErr.HasDetails() && appErr.Details(&failure) == nil {
			out.response = failure.Response
		}
	case errType == errTypeActivityTimeout:
		out.errType, out.errMsg = transaction.ErrTypeUpstreamTimeout, "upstream did not answer in time"
	}
	return out
}

// escalate marks the transaction escalated and waits for an operator's signal.
func (wf *proxyTx) escalate(ctx workflow.Context, out outcome) (string, OperatorSignal, error) {
	dropStaleSignals(ctx, wf.logger)
	wf.row.start(ctx, wf.startInput(ctx))
	wf.setStatus(ctx, transaction.StatusEscalated, out)
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordOutcome, wf.recordInput(transaction.StatusEscalated, out, "")).
		Get(ctx, nil); err != nil {
		return "", OperatorSignal{}, err
	}
	wf.logger.Warn("Transaction escalated: waiting for an operator to signal retry, resolve or abort",
		"attempts", out.attempts, "error_type", out.errType)
	name, sig := awaitOperator(ctx)
	return name, sig, nil
}

// reloadChannel picks up an operator's change to the channel before a retry. A channel that is
// gone keeps the snapshot the transaction started with. A relayed transaction stays relayed
// for the same organization and code.
func (wf *proxyTx) reloadChannel(ctx workflow.Context) {
	if wf.channel.ID == "" {
		return
	}
	var ch transaction.Channel
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.LoadChannel, wf.channel.ID).Get(ctx, &ch); err != nil {
		wf.logger.Warn("Retrying with the channel as it was: it could not be reloaded", "error", err)
		return
	}
	if wf.channel.ESB != nil {
		// The engine takes no Idempotency-Key: a relay that may have been sent is never resent.
		ch.Kind, ch.ESB, ch.HonoursIdempotencyKey = transaction.ChannelKindESB, wf.channel.ESB, false
	}
	wf.channel = ch
}

// setStatus updates the status query and the search attributes; the database row follows at
// the next write.
func (wf *proxyTx) setStatus(ctx workflow.Context, status string, out outcome) {
	wf.status.show(ctx, StatusView{Status: status, Attempts: out.attempts, Error: out.errMsg,
		ErrorCode: errorCode(out.errType)}, status)
}

// finish writes the final status and builds the result.
func (wf *proxyTx) finish(ctx workflow.Context, status string, out outcome, note string) (ProxyResult, error) {
	if err := wf.row.finish(ctx, wf.startInput(ctx), wf.recordInput(status, out, note)); err != nil {
		return ProxyResult{}, err
	}
	wf.setStatus(ctx, status, out)
	return ProxyResult{
		CorrelationID:  wf.in.CorrelationID,
		Status:         status,
		Response:       out.response,
		Error:          out.errMsg,
		ErrorCode:      errorCode(out.errType),
		Attempts:       out.attempts,
		ResolutionNote: note,
	}, nil
}

// replay answers with the outcome an earlier run recorded under the same correlation id.
func (wf *proxyTx) replay(ctx workflow.Context, stored *activities.StoredOutcome) (ProxyResult, error) {
	wf.logger.Info("Transaction already recorded as finished: answering with the stored outcome", "status", stored.Status)
	wf.setStatus(ctx, stored.Status, outcome{attempts: stored.Attempts, errMsg: stored.Error})
	return ProxyResult{
		CorrelationID:     wf.in.CorrelationID,
		Status:            stored.Status,
		Response:          stored.Response,
		ResponseTruncated: stored.Truncated,
		Error:             stored.Error,
		ErrorCode:         stored.ErrorCode,
		Attempts:          stored.Attempts,
		ResolutionNote:    stored.ResolutionNote,
	}, nil
}

func (wf *proxyTx) recordInput(status string, out outcome, note string) activities.RecordOutcomeInput {
	return activities.RecordOutcomeInput{
		CorrelationID:  wf.in.CorrelationID,
		Status:         status,
		Attempts:       out.attempts,
		Response:       out.response,
		Error:          out.errMsg,
		ErrorCode:      errorCode(out.errType),
		ResolutionNote: note,
	}
}

// errorCode maps an activity error type to the hub error code clients see.
func errorCode(errType string) string {
	switch errType {
	case "":
		return ""
	case transaction.ErrTypeUpstreamTimeout:
		return transaction.ErrorCodeUpstreamTimeout
	case transaction.ErrTypeResponseTooLarge:
		return transaction.ErrorCodeUpstreamTooLarge
	case transaction.ErrTypeInvalidRequest:
		return transaction.ErrorCodeChannelMisconfigured
	case transaction.ErrorCodeAborted:
		return transaction.ErrorCodeAborted
	case transaction.ErrTypeESBNotConfigured:
		return transaction.ErrorCodeESBNotConfigured
	case transaction.ErrTypeESBAuthFailed:
		return transaction.ErrorCodeESBAuthFailed
	case transaction.ErrTypeESBSignatureInvalid:
		return transaction.ErrorCodeESBSignatureInvalid
	case transaction.ErrTypeESBRequestFailed:
		return transaction.ErrorCodeESBRequestFailed
	}
	return transaction.ErrorCodeUpstreamUnavailable
}

// storeOptions runs short database writes as local activities, retried for up to a day until
// PostgreSQL is back: a transaction is never lost to a database outage, only delayed. (Without
// a schedule-to-close timeout the SDK would give up after the start-to-close one.)
func storeOptions(ctx workflow.Context) workflow.Context { return storeWithin(ctx, 24*time.Hour) }

// storeWithin is storeOptions retried for at most budget.
func storeWithin(ctx workflow.Context, budget time.Duration) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: budget,
		StartToCloseTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{transaction.ErrTypeNotFound, transaction.ErrTypeInvalidRequest},
		},
	})
}

// a gives typed activity method references; only its methods are used, never its value.
var a *activities.Activities
