package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

var webhookPolicies = activities.WebhookPolicies{
	MessageBudget:  10 * time.Minute,
	Delivery:       transaction.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaxInterval: time.Minute},
	DeliveryBudget: time.Hour, DeliveryAttemptTimeout: 20 * time.Second,
	Message:               transaction.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, BackoffCoefficient: 2},
	MessageAttemptTimeout: 20 * time.Second,
}

func webhookInput() workflows.WebhookInput {
	return workflows.WebhookInput{EventID: "ev-1", IntegrationID: "int-1", ClientID: "client-a", Platform: "telegram",
		DeliveryID: "1001", Body: []byte(`{"update_id":1001}`), ReceivedAt: time.Unix(1700000000, 0)}
}

// webhookEnv runs WebhookIngest with IngestWebhook scripted and FinishWebhook recorded.
func webhookEnv(t *testing.T, ingest func(activities.IngestInput) (activities.IngestResult, error)) (
	*testsuite.TestWorkflowEnvironment, *[]activities.FinishWebhookInput) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	var finished []activities.FinishWebhookInput
	env.OnActivity(a.IngestWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.IngestInput) (activities.IngestResult, error) { return ingest(in) })
	env.OnActivity(a.FinishWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishWebhookInput) error {
			finished = append(finished, in)
			return nil
		})
	return env, &finished
}

func TestWebhookIngest(t *testing.T) {
	t.Run("the webhook is ingested in one step and its counts are the result", func(t *testing.T) {
		var got activities.IngestInput
		env, finished := webhookEnv(t, func(in activities.IngestInput) (activities.IngestResult, error) {
			got = in
			return activities.IngestResult{Status: transaction.WebhookPartial, Events: []string{"evt_a", "evt_b"}, Messages: 2,
				Failed: 1, Deliveries: 3, Error: "no such subscription"}, nil
		})
		in := webhookInput()
		in.Ordered = true
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.WebhookWorkflowID("int-1", "1001")})
		env.ExecuteWorkflow(workflows.WebhookIngest, in)
		res := result[workflows.WebhookResult](t, env)
		require.Equal(t, workflows.WebhookResult{Status: transaction.WebhookPartial, Messages: 2, Failed: 1,
			Events: []string{"evt_a", "evt_b"}, Deliveries: 3}, res)
		require.True(t, got.Ordered)
		require.Equal(t, workflows.WorkflowDelivery, got.Workflows.Delivery)
		require.Equal(t, "webhook:int-1:1001", got.WorkflowID)
		require.Equal(t, in.Body, got.Body)
		require.Empty(t, *finished, "the activity recorded the outcome itself")
	})

	t.Run("a repeat does nothing", func(t *testing.T) {
		env, _ := webhookEnv(t, func(activities.IngestInput) (activities.IngestResult, error) {
			return activities.IngestResult{Duplicate: true, Status: transaction.WebhookDuplicate}, nil
		})
		env.ExecuteWorkflow(workflows.WebhookIngest, webhookInput())
		res := result[workflows.WebhookResult](t, env)
		require.True(t, res.Duplicate)
		require.Equal(t, transaction.WebhookDuplicate, res.Status)
	})

	t.Run("when ingesting keeps failing the webhook is recorded as failed", func(t *testing.T) {
		calls := 0
		env, finished := webhookEnv(t, func(activities.IngestInput) (activities.IngestResult, error) {
			calls++
			return activities.IngestResult{}, temporal.NewApplicationError("the database is down", transaction.ErrTypeStore)
		})
		env.ExecuteWorkflow(workflows.WebhookIngest, webhookInput())
		res := result[workflows.WebhookResult](t, env)
		require.Equal(t, transaction.WebhookFailed, res.Status)
		require.Greater(t, calls, 5, "retried for minutes first")
		require.Len(t, *finished, 1)
		require.Equal(t, transaction.WebhookFailed, (*finished)[0].Status)
		require.Contains(t, (*finished)[0].Error, "the database is down")
	})
}

func deliveryEnv(t *testing.T, deliver func(activities.DeliverInput) (activities.DeliverResult, error)) (
	*testsuite.TestWorkflowEnvironment, *[]activities.FinishDeliveryInput) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	var mu sync.Mutex
	var finished []activities.FinishDeliveryInput
	env.OnActivity(a.Policies, mock.Anything).Return(webhookPolicies, nil)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			return deliver(in)
		})
	env.OnActivity(a.FinishDelivery, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishDeliveryInput) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			finished = append(finished, in)
			return in.Status == transaction.DeliveryFailed, nil
		})
	return env, &finished
}

func TestDelivery(t *testing.T) {
	in := workflows.DeliveryInput{EventID: "evt_a", SubscriptionID: "sub-1", ClientID: "client-a"}

	t.Run("retried until the subscriber answers", func(t *testing.T) {
		calls := 0
		env, finished := deliveryEnv(t, func(d activities.DeliverInput) (activities.DeliverResult, error) {
			require.Equal(t, workflows.DeliveryWorkflowID("evt_a", "sub-1", ""), d.WorkflowID)
			if calls++; calls < 4 {
				return activities.DeliverResult{}, temporal.NewApplicationError("the subscriber answered 503",
					transaction.ErrTypeSubscriberUnavailable, 503)
			}
			return activities.DeliverResult{StatusCode: 204}, nil
		})
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.DeliveryWorkflowID("evt_a", "sub-1", "")})
		env.ExecuteWorkflow(workflows.Delivery, in)
		res := result[workflows.DeliveryResult](t, env)
		require.Equal(t, workflows.DeliveryResult{Status: transaction.DeliveryDelivered, StatusCode: 204}, res)
		require.Equal(t, 4, calls)
		require.Equal(t, transaction.DeliveryDelivered, (*finished)[0].Status)
	})

	t.Run("out of budget, the delivery fails and counts against the subscription", func(t *testing.T) {
		env, finished := deliveryEnv(t, func(activities.DeliverInput) (activities.DeliverResult, error) {
			return activities.DeliverResult{}, temporal.NewApplicationError("the subscriber answered 500",
				transaction.ErrTypeSubscriberUnavailable, 500)
		})
		env.ExecuteWorkflow(workflows.Delivery, in)
		res := result[workflows.DeliveryResult](t, env)
		require.Equal(t, transaction.DeliveryFailed, res.Status)
		require.Equal(t, 500, res.StatusCode)
		require.True(t, res.Disabled)
		require.Contains(t, res.Error, "500")
		require.Equal(t, transaction.DeliveryFailed, (*finished)[0].Status)
	})

	t.Run("a wait the subscriber asks for past the budget ends the delivery", func(t *testing.T) {
		calls := 0
		env, finished := deliveryEnv(t, func(activities.DeliverInput) (activities.DeliverResult, error) {
			calls++
			return activities.DeliverResult{}, temporal.NewApplicationErrorWithOptions("the subscriber answered 503",
				transaction.ErrTypeSubscriberUnavailable, temporal.ApplicationErrorOptions{NextRetryDelay: 2 * time.Hour,
					Details: []any{503}})
		})
		env.ExecuteWorkflow(workflows.Delivery, in)
		require.Equal(t, transaction.DeliveryFailed, result[workflows.DeliveryResult](t, env).Status)
		require.Equal(t, 1, calls, "the budget is an hour: no attempt after a two-hour wait")
		require.Equal(t, transaction.DeliveryFailed, (*finished)[0].Status)
	})

	t.Run("an event this workflow finished before is not sent or recorded again", func(t *testing.T) {
		env, finished := deliveryEnv(t, func(activities.DeliverInput) (activities.DeliverResult, error) {
			return activities.DeliverResult{Finished: transaction.DeliveryFailed, StatusCode: 500}, nil
		})
		env.ExecuteWorkflow(workflows.Delivery, in)
		require.Equal(t, transaction.DeliveryFailed, result[workflows.DeliveryResult](t, env).Status)
		require.Empty(t, *finished)
	})

	t.Run("a disabled subscription is not retried", func(t *testing.T) {
		calls := 0
		env, _ := deliveryEnv(t, func(activities.DeliverInput) (activities.DeliverResult, error) {
			calls++
			return activities.DeliverResult{}, temporal.NewNonRetryableApplicationError("disabled",
				transaction.ErrTypeSubscriptionDisabled, nil)
		})
		env.ExecuteWorkflow(workflows.Delivery, in)
		require.Equal(t, transaction.DeliveryFailed, result[workflows.DeliveryResult](t, env).Status)
		require.Equal(t, 1, calls)
	})
}

// TestOrderedDelivery: events signalled to a conversation's queue are delivered one at a time in
// the order they arrived, a slow first one holding back the rest.
func TestOrderedDelivery(t *testing.T) {
	var delivered []string
	attempts := map[string]int{}
	env, _ := deliveryEnv(t, func(d activities.DeliverInput) (activities.DeliverResult, error) {
		if attempts[d.EventID]++; d.EventID == "evt_1" && attempts[d.EventID] < 3 {
			return activities.DeliverResult{}, temporal.NewApplicationError("down", transaction.ErrTypeSubscriberUnavailable, 503)
		}
		delivered = append(delivered, d.EventID)
		return activities.DeliverResult{StatusCode: 200}, nil
	})
	for i, id := range []string{"evt_1", "evt_2", "evt_3"} {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalDeliverEvent, workflows.DeliveryInput{EventID: id, SubscriptionID: "sub-1"})
		}, time.Duration(i+1)*time.Millisecond)
	}
	env.ExecuteWorkflow(workflows.OrderedDelivery, workflows.OrderedDeliveryInput{SubscriptionID: "sub-1", Key: "c1"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"evt_1", "evt_2", "evt_3"}, delivered)
}

func TestSendMessage(t *testing.T) {
	in := workflows.SendMessageInput{CorrelationID: "0e0e0e0e-0000-4000-8000-000000000009", ClientID: "client-a",
		IntegrationID: "int-1", Platform: "slack", Message: platform.Outbound{To: "C1", Content: platform.Content{Type: "TEXT", Text: "hi"}}}
	run := func(t *testing.T, send func() (platform.SendResult, error)) (workflows.SendMessageResult, []activities.MessageEventInput,
		[]activities.RecordOutcomeInput) {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		env.RegisterActivity(a)
		var events []activities.MessageEventInput
		var outcomes []activities.RecordOutcomeInput
		env.OnActivity(a.RecordStart, mock.Anything, mock.Anything).Return(activities.RecordStartResult{}, nil)
		env.OnActivity(a.Policies, mock.Anything).Return(webhookPolicies, nil)
		env.OnActivity(a.SendPlatformMessage, mock.Anything, mock.Anything).Return(
			func(ctx context.Context, _ activities.SendInput) (activities.SentMessage, error) {
				res, err := send()
				return activities.SentMessage{SendResult: res, Attempt: int(activity.GetInfo(ctx).Attempt)}, err
			})
		env.OnActivity(a.EmitMessageEvent, mock.Anything, mock.Anything).Return(
			func(_ context.Context, e activities.MessageEventInput) (activities.EmittedEvent, error) {
				events = append(events, e)
				return activities.EmittedEvent{ID: "evt_x", Type: e.Type}, nil
			})
		env.OnActivity(a.FanOut, mock.Anything, mock.Anything).Return(activities.FanOutResult{Deliveries: 1}, nil)
		env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(
			func(_ context.Context, o activities.RecordOutcomeInput) error {
				outcomes = append(outcomes, o)
				return nil
			})
		env.ExecuteWorkflow(workflows.SendMessage, in)
		return result[workflows.SendMessageResult](t, env), events, outcomes
	}

	t.Run("a rate limit is waited out", func(t *testing.T) {
		calls := 0
		res, events, outcomes := run(t, func() (platform.SendResult, error) {
			if calls++; calls == 1 {
				return platform.SendResult{}, temporal.NewApplicationErrorWithOptions("ratelimited", transaction.ErrTypePlatformUnavailable,
					temporal.ApplicationErrorOptions{NextRetryDelay: 2 * time.Second})
			}
			return platform.SendResult{MessageID: "1700000000.000100", Status: 200}, nil
		})
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.Equal(t, "1700000000.000100", res.MessageID)
		require.Equal(t, 2, calls)
		require.Equal(t, 2, res.Attempts)
		require.Equal(t, platform.EventMessageSent, events[0].Type)
		require.Equal(t, transaction.KindMessage, outcomes[0].Kind)
	})

	t.Run("a platform wait longer than one attempt's timeout is waited out", func(t *testing.T) {
		calls := 0
		res, _, _ := run(t, func() (platform.SendResult, error) {
			if calls++; calls == 1 {
				return platform.SendResult{}, temporal.NewApplicationErrorWithOptions("retry after 45", transaction.ErrTypePlatformUnavailable,
					temporal.ApplicationErrorOptions{NextRetryDelay: 45 * time.Second})
			}
			return platform.SendResult{MessageID: "42", Status: 200}, nil
		})
		require.Equal(t, transaction.StatusSuccessful, res.Status)
		require.Equal(t, 2, calls)
	})

	t.Run("a refusal is final and announced", func(t *testing.T) {
		calls := 0
		res, events, outcomes := run(t, func() (platform.SendResult, error) {
			calls++
			return platform.SendResult{}, temporal.NewNonRetryableApplicationError("channel_not_found",
				transaction.ErrTypePlatformRejected, errors.New("400"))
		})
		require.Equal(t, 1, calls)
		require.Equal(t, transaction.StatusFailed, res.Status)
		require.Equal(t, transaction.ErrorCodePlatformError, res.ErrorCode)
		require.Equal(t, platform.EventMessageFailed, events[0].Type)
		require.Equal(t, transaction.StatusFailed, outcomes[0].Status)
	})

	t.Run("attempts stop at MESSAGE_MAX_ATTEMPTS", func(t *testing.T) {
		calls := 0
		res, _, outcomes := run(t, func() (platform.SendResult, error) {
			calls++
			return platform.SendResult{}, temporal.NewApplicationError("503", transaction.ErrTypePlatformUnavailable,
				activities.SendFailure{Status: 503, Attempt: calls})
		})
		require.Equal(t, 3, calls)
		require.Equal(t, transaction.ErrorCodePlatformUnavailable, res.ErrorCode)
		require.Equal(t, 3, res.Attempts, "the failed send reports its attempts")
		require.Equal(t, 3, outcomes[0].Attempts)
	})
}

// TestOrderedIngest: webhooks signalled to an ordered integration's inbox are ingested one at a
// time in the order they were signalled, each fanned out as ordered.
func TestOrderedIngest(t *testing.T) {
	var recorded []string
	env, _ := webhookEnv(t, func(in activities.IngestInput) (activities.IngestResult, error) {
		require.True(t, in.Ordered)
		recorded = append(recorded, in.DeliveryID)
		return activities.IngestResult{Status: transaction.WebhookProcessed, Messages: 1}, nil
	})
	env.OnActivity(a.Policies, mock.Anything).Return(webhookPolicies, nil)
	for i, id := range []string{"1", "2", "3"} {
		env.RegisterDelayedCallback(func() {
			in := webhookInput()
			in.EventID, in.DeliveryID = "ev-"+id, id
			env.SignalWorkflow(workflows.SignalWebhook, in)
		}, time.Duration(i+1)*time.Millisecond)
	}
	env.ExecuteWorkflow(workflows.OrderedIngest, workflows.OrderedIngestInput{IntegrationID: "int-1", ClientID: "client-a"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"1", "2", "3"}, recorded)
}
