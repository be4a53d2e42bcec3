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
	"github.com/switchyard-hub/switchyard/schema"
)

// OperationInput is one typed integration call (balance, customer search, send SMS ...).
type OperationInput struct {
	CorrelationID string
	ClientID      string
	Operation     string // provider.Op* key
	Issuer        string
	Route         string // the API route, for the log: /api/v1/integration/account/balance
	// Params is the typed request as JSON, validated by the API.
	Params json.RawMessage
	// Retry and AttemptTimeout are the issuer's, snapshotted when the operation starts.
	Retry          activities.RetrySettings
	AttemptTimeout time.Duration
}

// Hub error codes of an OperationResult without a provider answer.
const (
	ErrorCodeProviderUnavailable     = "PROVIDER_UNAVAILABLE"
	ErrorCodeProviderTimeout         = "PROVIDER_TIMEOUT"
	ErrorCodeCircuitOpen             = "PROVIDER_CIRCUIT_OPEN"
	ErrorCodeProviderMisconfigured   = "PROVIDER_MISCONFIGURED"
	ErrorCodeProviderInvalidResponse = "PROVIDER_INVALID_RESPONSE"
)

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
	status *tracker
	logger log.Logger
}

func (wf *operation) setup(ctx workflow.Context) error {
	switch {
	case wf.in.CorrelationID == "" || wf.in.ClientID == "" || wf.in.Operation == "":
		return temporal.NewNonRetryableApplicationError("correlation id, client and operation are required",
			ErrTypeInvalidInput, nil)
	case wf.in.AttemptTimeout <= 0 || wf.in.Retry.MaxAttempts < 1:
		return temporal.NewNonRetryableApplicationError("an attempt timeout and at least one attempt are required",
			ErrTypeInvalidInput, nil)
	}
	wf.logger = log.With(workflow.GetLogger(ctx), "correlation_id", wf.in.CorrelationID, "client_id", wf.in.ClientID,
		"operation", wf.in.Operation)
	var err error
	wf.status, err = track(ctx, wf.logger, KindOperation, wf.in.ClientID, wf.in.Operation, wf.in.CorrelationID)
	return err
}

func (wf *operation) run(ctx workflow.Context) (OperationResult, error) {
	// The log write and the first call run at the same time; the outcome is written after both.
	recorded := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordStart, activities.RecordStartInput{
		CorrelationID: wf.in.CorrelationID,
		Kind:          schema.TxKindOperation,
		Operation:     wf.in.Operation,
		WorkflowRunID: workflow.GetInfo(ctx).WorkflowExecution.RunID,
		ClientID:      wf.in.ClientID,
		Channel:       activities.Channel{Name: wf.in.Issuer},
		Request:       activities.Request{Method: http.MethodPost, Path: wf.in.Route, Body: wf.in.Params},
	})

	plan := attemptPlan{
		timeout: wf.in.AttemptTimeout,
		retry:   wf.in.Retry,
		nonRetryable: []string{activities.ErrTypeInvalidRequest, activities.ErrTypeCircuitOpen,
			activities.ErrTypeProviderMisconfigured, activities.ErrTypeProviderInvalidResponse},
		mayRetry: func(errType string) bool {
			return errType == activities.ErrTypeProviderUnavailable || errType == activities.ErrTypeProviderTimeout ||
				errType == errTypeActivityTimeout
		},
	}
	var answer activities.OperationAnswer
	n, err := plan.run(ctx, a.CallProvider, activities.OperationCall{CorrelationID: wf.in.CorrelationID,
		Operation: wf.in.Operation, Params: wf.in.Params}, &answer, func(err error) {
		wf.setStatus(ctx, schema.TxProcessing, n0(err))
	})
	if err := recorded.Get(ctx, nil); err != nil {
		return OperationResult{}, err
	}
	res := OperationResult{CorrelationID: wf.in.CorrelationID, Attempts: n}
	switch {
	case err != nil:
		res.Status = schema.TxFailed
		res.ErrorCode, res.Error = operationError(err)
	case answer.Status >= 400:
		res.Status, res.HTTPStatus = schema.TxFailed, answer.Status
		res.ProviderCode, res.Message = answer.ProviderCode, answer.Message
	default:
		res.Status, res.HTTPStatus, res.Body = schema.TxSuccessful, answer.Status, answer.Body
	}
	return wf.finish(ctx, res)
}

// n0 describes a failed first attempt for the status query.
func n0(err error) outcome {
	code, msg := operationError(err)
	return outcome{errType: code, errMsg: msg, attempts: 1}
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
	case activities.ErrTypeProviderTimeout, errTypeActivityTimeout:
		return ErrorCodeProviderTimeout, "the provider did not answer in time"
	case activities.ErrTypeCircuitOpen:
		return ErrorCodeCircuitOpen, msg
	case activities.ErrTypeProviderMisconfigured, activities.ErrTypeInvalidRequest:
		return ErrorCodeProviderMisconfigured, msg
	case activities.ErrTypeProviderInvalidResponse:
		return ErrorCodeProviderInvalidResponse, msg
	}
	return ErrorCodeProviderUnavailable, msg
}

func (wf *operation) finish(ctx workflow.Context, res OperationResult) (OperationResult, error) {
	rec := activities.RecordOutcomeInput{CorrelationID: res.CorrelationID, Kind: schema.TxKindOperation,
		Status: res.Status, Attempts: res.Attempts, Error: res.Error, ErrorCode: res.ErrorCode}
	switch {
	case res.HTTPStatus >= 400:
		rec.Error, rec.ErrorCode = res.Message, res.ProviderCode
		rec.Response = &activities.Response{StatusCode: res.HTTPStatus}
	case res.HTTPStatus > 0:
		rec.Response = &activities.Response{StatusCode: res.HTTPStatus,
			Header: map[string][]string{"Content-Type": {"application/json"}}, Body: res.Body}
	}
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordOutcome, rec).Get(ctx, nil); err != nil {
		return OperationResult{}, err
	}
	wf.setStatus(ctx, res.Status, outcome{errType: res.ErrorCode, errMsg: res.Error, attempts: res.Attempts})
	return res, nil
}

// setStatus updates the status query and the search attributes.
func (wf *operation) setStatus(ctx workflow.Context, status string, out outcome) {
	wf.status.show(ctx, StatusView{Status: status, Attempts: out.attempts, Error: out.errMsg, ErrorCode: out.errType}, status)
}
