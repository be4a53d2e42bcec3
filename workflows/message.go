package workflows

import (
	"net/http"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/transaction"
)

// SendMessage sends one message through an integration's messaging platform, logged like every
// transaction. Temporal retries a rate limit or a platform failure (after the platform's own
// wait) up to MESSAGE_MAX_ATTEMPTS; a refusal is final. Either way it emits
// integration.message.sent or .failed to the client's subscriptions.
func SendMessage(ctx workflow.Context, in SendMessageInput) (SendMessageResult, error) {
	if in.CorrelationID == "" || in.ClientID == "" || in.IntegrationID == "" {
		return SendMessageResult{}, temporal.NewNonRetryableApplicationError("correlation id, client and integration are required",
			transaction.ErrTypeInvalidInput, nil)
	}
	logger := log.With(workflow.GetLogger(ctx), "correlation_id", in.CorrelationID, "integration_id", in.IntegrationID)
	status, err := track(ctx, logger, transaction.KindMessage, in.ClientID, in.IntegrationID, in.CorrelationID)
	if err != nil {
		return SendMessageResult{}, err
	}
	info := workflow.GetInfo(ctx).WorkflowExecution
	var rec activities.RecordStartResult
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordStart, activities.RecordStartInput{
		CorrelationID: in.CorrelationID, Kind: transaction.KindMessage, Operation: "send_message", Fingerprint: in.Fingerprint,
		WorkflowID: info.ID, WorkflowRunID: info.RunID, ClientID: in.ClientID,
		Channel: transaction.Channel{Name: in.Platform},
		Request: transaction.Request{Method: http.MethodPost, Path: "/api/v1/integration/integrations/" + in.IntegrationID + "/messages/"},
		Summary: map[string]any{"integration_id": in.IntegrationID, "platform": in.Platform, "to": in.Message.To,
			"content_type": in.Message.Content.Type, "text_length": len(in.Message.Content.Text)},
	}).Get(ctx, &rec); err != nil {
		return SendMessageResult{}, err
	}
	switch {
	case rec.Existing != nil:
		res := SendMessageResult{Status: rec.Existing.Status, Attempts: rec.Existing.Attempts, Error: rec.Existing.Error,
			ErrorCode: rec.Existing.ErrorCode}
		if m := rec.Existing.Message; m != nil {
			res.MessageID, res.EventID = m.MessageID, m.EventID
		}
		status.show(ctx, StatusView{Status: res.Status, Attempts: res.Attempts, Error: res.Error, ErrorCode: res.ErrorCode}, res.Status)
		return res, nil
	case rec.InFlight:
		res := SendMessageResult{Status: transaction.StatusFailed, ErrorCode: transaction.ErrorCodeOperationInDoubt,
			Error: "an earlier run of this send did not finish: nothing was sent again"}
		status.show(ctx, StatusView{Status: res.Status, Error: res.Error, ErrorCode: res.ErrorCode}, res.Status)
		return res, nil
	}
	pol, err := policies(ctx)
	if err != nil {
		return SendMessageResult{}, err
	}
	r := pol.Message
	sctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    pol.MessageAttemptTimeout,
		ScheduleToCloseTimeout: max(pol.MessageBudget, pol.MessageAttemptTimeout),
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: r.InitialInterval, BackoffCoefficient: r.BackoffCoefficient,
			MaximumInterval: r.MaxInterval, MaximumAttempts: int32(r.MaxAttempts),
			NonRetryableErrorTypes: []string{transaction.ErrTypePlatformRejected, transaction.ErrTypeNotFound,
				transaction.ErrTypeInvalidRequest}},
	})
	var sent activities.SentMessage
	sendErr := workflow.ExecuteLocalActivity(sctx, a.SendPlatformMessage, activities.SendInput{IntegrationID: in.IntegrationID,
		Message: in.Message}).Get(ctx, &sent)
	res := SendMessageResult{Status: transaction.StatusSuccessful, MessageID: sent.MessageID, Attempts: max(sent.Attempt, 1)}
	event := activities.MessageEventInput{CorrelationID: in.CorrelationID, ClientID: in.ClientID, IntegrationID: in.IntegrationID,
		Platform: in.Platform, Type: platform.EventMessageSent, To: in.Message.To, MessageID: sent.MessageID,
		At: workflow.Now(ctx)}
	if sendErr != nil {
		res.Status, res.Error, res.ErrorCode = transaction.StatusFailed, failureMessage(sendErr), sendErrorCode(sendErr)
		var failure activities.SendFailure
		if appErr, ok := asApplicationError(sendErr); ok && appErr.HasDetails() && appErr.Details(&failure) == nil {
			res.Attempts = max(failure.Attempt, 1)
		}
		event.Type, event.Error, event.ErrorCode = platform.EventMessageFailed, res.Error, res.ErrorCode
	}
	var emitted activities.EmittedEvent
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.EmitMessageEvent, event).Get(ctx, &emitted); err != nil {
		return SendMessageResult{}, err
	}
	res.EventID = emitted.ID
	if err := workflow.ExecuteLocalActivity(fanOutOptions(ctx), a.FanOut, activities.FanOutInput{ClientID: in.ClientID,
		IntegrationID: in.IntegrationID, Events: []activities.EmittedEvent{emitted},
		Workflows: deliveryWorkflows}).Get(ctx, nil); err != nil {
		logger.Error("Announcing the send to subscriptions failed", "error", err)
	}
	outcome := activities.RecordOutcomeInput{CorrelationID: in.CorrelationID, Kind: transaction.KindMessage,
		Status: res.Status, Attempts: res.Attempts, Error: res.Error, ErrorCode: res.ErrorCode}
	if sendErr == nil {
		outcome.Summary = map[string]any{"message_id": sent.MessageID, "platform_status": sent.Status, "event_id": res.EventID}
	}
	if err := workflow.ExecuteLocalActivity(storeOptions(ctx), a.RecordOutcome, outcome).Get(ctx, nil); err != nil {
		return SendMessageResult{}, err
	}
	status.show(ctx, StatusView{Status: res.Status, Attempts: res.Attempts, Error: res.Error, ErrorCode: res.ErrorCode}, res.Status)
	return res, nil
}

// sendErrorCode is the envelope code of a failed send.
func sendErrorCode(err error) string {
	errType, _ := errorInfo(err)
	switch errType {
	case transaction.ErrTypePlatformRejected, transaction.ErrTypeInvalidRequest, transaction.ErrTypeNotFound:
		return transaction.ErrorCodePlatformError
	}
	return transaction.ErrorCodePlatformUnavailable
}
