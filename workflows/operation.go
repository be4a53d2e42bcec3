package workflows

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/transaction"
)

// OperationInput is one typed integration call (balance, customer search, send SMS ...).
type OperationInput struct {
	CorrelationID string
	ClientID      string
	Operation     string // provider.Op* key
	Issuer        string
	Route         string // the API route, for the log: /api/v1/integration/account/balance
	// Method is the request's method when it is not POST (a connector's GET, PUT, DELETE).
	Method string `json:",omitempty"`
	// Params is the typed request as JSON, validated by the API.
	Params json.RawMessage
	// Keyed says the correlation id derives from the client's Idempotency-Key: the log is
	// checked (another request under the same key is refused) before the provider is called.
	Keyed bool
	// Fingerprint identifies the request (transaction.Fingerprint), for the log.
	Fingerprint string
	// Runs started before the worker owned the issuer's policy carry it here (the attempt
	// timeout with its grace); new runs leave both empty (see activities.OperationPolicy).
	Retry          transaction.RetryPolicy
	AttemptTimeout time.Duration
	// LogOnce lets an operation without an Idempotency-Key write its log row once, with the
	// outcome, when it never has to wait (as ProxyInput.LogOnce).
	LogOnce bool
	// WorkerPolicy says the run takes its policy from the worker without asking GetVersion
	// (whose marker costs a search-attribute upsert per run); runs started before it existed
	// ask (versionWorkerPolicy).
	WorkerPolicy bool
}

// DetailFieldPrefix prefixes a validation error's field names in OperationResult.ProviderDetail.
const DetailFieldPrefix = activities.DetailFieldPrefix

// HTTPMethod is the method the operation's request came with: POST unless Method says.
func (in OperationInput) HTTPMethod() string {
	if in.Method == "" {
		return http.MethodPost
	}
	return in.Method
}

// OperationResult is how an operation ended. A provider's 4xx is a result (HTTPStatus,
// ProviderCode, Message); ErrorCode is set when the hub got no usable answer.
type OperationResult struct {
	CorrelationID string
	Status        string // successful or failed
	HTTPStatus    int    // the provider's answer: 2xx with Body, 4xx with ProviderCode/Message; 0 without one
	Body          json.RawMessage
	ProviderCode  string
	Message       string
	ErrorCode     string
	Error         string
	Attempts      int
	// ProviderDetail is the provider's error object of a 4xx result (type, code,
	// decline_code, param), when it gave one.
	ProviderDetail map[string]string `json:",omitempty"`
	// ProviderStatus is the provider's status of the last failed attempt when no usable answer
	// came (429, 503, 401 ...; 0 when none), and RetryAfter what it asked to wait.
	ProviderStatus int           `json:",omitempty"`
	RetryAfter     time.Duration `json:",omitempty"`
}

// ProviderOperation runs one typed integration route through its issuer's provider. Like a
// proxied transaction, the first attempt is a local activity in the first workflow task and
// retries follow the issuer's policy as a regular activity; a 4xx from the provider is a result.
func ProviderOperation(ctx workflow.Context, in OperationInput) (OperationResult, error) {
	wf := &operation{in: in}
	if err := wf.setup(ctx); err != nil {
		return OperationResult{}, err
	}
	return wf.run(ctx)
}

type operation struct {
	in     OperationInput
	policy transaction.AttemptPolicy
	status *tracker
	logger log.Logger
	// recorded is the log row's first write while it is under way.
	recorded workflow.Future
	row      logWrites // the log row
}

func (wf *operation) setup(ctx workflow.Context) error {
	switch {
	case wf.in.CorrelationID == "" || wf.in.ClientID == "" || wf.in.Operation == "":
		return temporal.NewNonRetryableApplicationError("correlation id, client and operation are required",
			transaction.ErrTypeInvalidInput, nil)
	}
	wf.logger = log.With(workflow.GetLogger(ctx), "correlation_id", wf.in.CorrelationID, "client_id", wf.in.ClientID,
		"operation", wf.in.Operation)
	wf.row.logger = wf.logger
	var err error
	wf.status, err = track(ctx, wf.logger, transaction.KindOperation, wf.in.ClientID, wf.in.Operation, wf.in.CorrelationID)
	return err
}

// startInput is the operation's log row as it starts.
func (wf *operation) startInput(ctx workflow.Context) activities.RecordStartInput {
	return activities.RecordStartInput{
		CorrelationID: wf.in.CorrelationID,
		Kind:          transaction.KindOperation,
		Fingerprint:   wf.in.Fingerprint,
		Operation:     wf.in.Operation,
		WorkflowID:    workflow.GetInfo(ctx).WorkflowExecution.ID,
		WorkflowRunID: workflow.GetInfo(ctx).WorkflowExecution.RunID,
		ClientID:      wf.in.ClientID,
		Channel:       transaction.Channel{Name: wf.in.Issuer},
		Request:       transaction.Request{Method: wf.in.HTTPMethod(), Path: wf.in.Route, Body: wf.in.Params},
		StartedAt:     workflow.GetInfo(ctx).WorkflowStartTime,
	}
}

// started waits for the log row's first write, when one is under way; rec receives its
// result (an *activities.RecordStartResult, or nil).
func (wf *operation) started(ctx workflow.Context, rec any) error {
	if wf.recorded == nil {
		return nil
	}
	if err := wf.recorded.Get(ctx, rec); err != nil {
		return err
	}
	wf.recorded = nil
	return nil
}

func (wf *operation) run(ctx workflow.Context) (OperationResult, error) {
	// The log write and the first call run at the same time; the outcome is written after both.
	// A LogOnce operation without a key writes its row once, at the end, unless it waits.
	if !wf.in.LogOnce || wf.in.Keyed {
		wf.recorded = workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordStart, wf.startInput(ctx))
		wf.row.logged = true // the start is being written: row.start has nothing to do
	}

	if wf.in.Keyed {
		// A client's key may have been used before (for another request, or by a run whose
		// history is gone): the log says so before the provider is called.
		var rec activities.RecordStartResult
		if err := wf.started(ctx, &rec); err != nil {
			return OperationResult{}, err
		}
		switch {
		case rec.Existing != nil:
			return wf.replay(ctx, rec.Existing), nil
		case rec.InFlight:
			wf.logger.Warn("An earlier run of this operation did not finish: calling nothing")
			res := OperationResult{CorrelationID: wf.in.CorrelationID, Status: transaction.StatusFailed,
				ErrorCode: transaction.ErrorCodeOperationInDoubt,
				Error:     "an earlier run of this operation did not finish: nothing was sent again"}
			wf.setStatus(ctx, res.Status, outcome{errType: res.ErrorCode, errMsg: res.Error})
			return res, nil
		}
	}
	if err := wf.resolvePolicy(ctx); err != nil {
		// The worker cannot serve this operation as configured: a result, recorded as such.
		if err := wf.started(ctx, nil); err != nil {
			return OperationResult{}, err
		}
		res := OperationResult{CorrelationID: wf.in.CorrelationID, Status: transaction.StatusFailed}
		res.ErrorCode, res.Error = operationError(err)
		return wf.finish(ctx, res)
	}
	plan := attemptPlan{
		timeout: wf.policy.Timeout,
		retry:   wf.policy.Retry,
		nonRetryable: []string{transaction.ErrTypeInvalidRequest, transaction.ErrTypeCircuitOpen,
			transaction.ErrTypeProviderMisconfigured, transaction.ErrTypeProviderInvalidResponse},
		mayRetry: func(errType string) bool {
			return errType == transaction.ErrTypeProviderUnavailable || errType == transaction.ErrTypeProviderTimeout ||
				errType == errTypeActivityTimeout
		},
	}
	var answer activities.OperationAnswer
	n, err := plan.run(ctx, a.CallProvider, activities.OperationCall{CorrelationID: wf.in.CorrelationID,
		Operation: wf.in.Operation, Params: wf.in.Params}, &answer, func(err error) {
		wf.row.start(ctx, wf.startInput(ctx))
		wf.setStatus(ctx, transaction.StatusProcessing, n0(err))
	})
	if err := wf.started(ctx, nil); err != nil {
		return OperationResult{}, err
	}
	res := OperationResult{CorrelationID: wf.in.CorrelationID, Attempts: n}
	switch {
	case err != nil:
		res.Status = transaction.StatusFailed
		res.ErrorCode, res.Error = operationError(err)
		res.ProviderStatus, res.RetryAfter = failedStatus(err)
	case answer.Status >= 400:
		res.Status, res.HTTPStatus = transaction.StatusFailed, answer.Status
		res.ProviderCode, res.Message, res.ProviderDetail = answer.ProviderCode, answer.Message, answer.ProviderDetail
	default:
		res.Status, res.HTTPStatus, res.Body = transaction.StatusSuccessful, answer.Status, answer.Body
	}
	return wf.finish(ctx, res)
}

// replay answers with the outcome an earlier run recorded under the same correlation id (the
// log keeps the body with account numbers masked).
func (wf *operation) replay(ctx workflow.Context, stored *activities.StoredOutcome) OperationResult {
	wf.logger.Info("Operation already recorded as finished: answering with the stored outcome", "status", stored.Status)
	res := OperationResult{CorrelationID: wf.in.CorrelationID, Status: stored.Status, Attempts: stored.Attempts,
		ErrorCode: stored.ErrorCode, Error: stored.Error}
	if r := stored.Response; r != nil {
		res.HTTPStatus = r.StatusCode
		if r.StatusCode >= 400 {
			res.ProviderCode, res.Message, res.ErrorCode, res.Error = stored.ErrorCode, stored.Error, "", ""
		} else {
			res.Body = r.Body
		}
	}
	wf.setStatus(ctx, res.Status, outcome{errType: res.ErrorCode, errMsg: res.Error, attempts: res.Attempts})
	return res
}

// resolvePolicy takes the issuer's retry policy and attempt timeout from the worker, or from
// the input of a run started before the worker owned them (versionWorkerPolicy).
func (wf *operation) resolvePolicy(ctx workflow.Context) error {
	if !wf.in.WorkerPolicy &&
		workflow.GetVersion(ctx, versionWorkerPolicy, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		wf.policy = transaction.AttemptPolicy{Retry: wf.in.Retry, Timeout: wf.in.AttemptTimeout}
	} else if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.OperationPolicy, wf.in.Operation).
		Get(ctx, &wf.policy); err != nil {
		return err
	} else {
		wf.policy.Timeout += attemptGrace
	}
	if wf.policy.Timeout <= 0 || wf.policy.Retry.MaxAttempts < 1 {
		return temporal.NewNonRetryableApplicationError("an attempt timeout and at least one attempt are required",
			transaction.ErrTypeInvalidInput, nil)
	}
	return nil
}

// n0 describes a failed first attempt for the status query.
func n0(err error) outcome {
	code, msg := operationError(err)
	return outcome{errType: code, errMsg: msg, attempts: 1}
}

// failedStatus is the provider's status of a failed attempt and the wait it asked for.
func failedStatus(err error) (int, time.Duration) {
	_, retryAfter := errorInfo(err)
	var failure activities.OperationFailure
	if appErr, ok := asApplicationError(err); ok && appErr.HasDetails() && appErr.Details(&failure) == nil {
		return failure.Status, retryAfter
	}
	return 0, retryAfter
}

// operationError maps a failed call to the hub's error code and message.
func operationError(err error) (code, msg string) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		msg = appErr.Message()
	} else {
		msg = err.Error()
	}
	switch errType, _ := errorInfo(err); errType {
	case transaction.ErrTypeProviderTimeout, errTypeActivityTimeout:
		return transaction.ErrorCodeProviderTimeout, "the provider did not answer in time"
	case transaction.ErrTypeCircuitOpen:
		return transaction.ErrorCodeCircuitOpen, msg
	case transaction.ErrTypeProviderMisconfigured, transaction.ErrTypeInvalidRequest, transaction.ErrTypeInvalidInput:
		return transaction.ErrorCodeProviderMisconfigured, msg
	case transaction.ErrTypeProviderInvalidResponse:
		return transaction.ErrorCodeProviderInvalidResponse, msg
	case transaction.ErrTypeProviderResponseTooLarge:
		return transaction.ErrorCodeProviderResponseTooLarge, msg
	}
	return transaction.ErrorCodeProviderUnavailable, msg
}

func (wf *operation) finish(ctx workflow.Context, res OperationResult) (OperationResult, error) {
	rec := activities.RecordOutcomeInput{CorrelationID: res.CorrelationID, Kind: transaction.KindOperation,
		Status: res.Status, Attempts: res.Attempts, Error: res.Error, ErrorCode: res.ErrorCode}
	switch {
	case res.HTTPStatus >= 400:
		rec.Error, rec.ErrorCode = res.Message, res.ProviderCode
		rec.Response = &transaction.Response{StatusCode: res.HTTPStatus}
	case res.HTTPStatus > 0:
		rec.Response = &transaction.Response{StatusCode: res.HTTPStatus,
			Header: map[string][]string{"Content-Type": {"application/json"}}, Body: res.Body}
	}
	if err := wf.row.finish(ctx, wf.startInput(ctx), rec); err != nil {
		return OperationResult{}, err
	}
	wf.setStatus(ctx, res.Status, outcome{errType: res.ErrorCode, errMsg: res.Error, attempts: res.Attempts})
	return res, nil
}

// setStatus updates the status query and the search attributes.
func (wf *operation) setStatus(ctx workflow.Context, status string, out outcome) {
	wf.status.show(ctx, StatusView{Status: status, Attempts: out.attempts, Error: out.errMsg, ErrorCode: out.errType}, status)
}
