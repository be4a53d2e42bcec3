package schema_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// webhookFixture is a client with an integration, one received webhook, its event and a
// subscription with a pending delivery of it.
func webhookFixture(t *testing.T, s *schema.Store) (client, integration, event, subscription string) {
	t.Helper()
	ctx := context.Background()
	client = "wh-" + uuid.NewString()[:8]
	_, err := s.CreateClient(ctx, schema.ClientRow{ClientID: client, Name: client, SecretHash: "x", IsActive: true})
	require.NoError(t, err)
	integration = uuid.NewString()
	_, err = s.CreateIntegration(ctx, schema.IntegrationRow{ID: integration, ClientID: client, Name: "i", Platform: "telegram",
		Credentials: "k1:sealed", IsActive: true})
	require.NoError(t, err)
	subscription = uuid.NewString()
	_, err = s.CreateSubscription(ctx, schema.SubscriptionRow{ID: subscription, ClientID: client, URL: "http://127.0.0.1:1/",
		EventTypes: []string{"integration.message.*"}, Secret: "k1:sealed", IsActive: true})
	require.NoError(t, err)
	event = "evt_" + uuid.NewString()
	require.NoError(t, s.InsertEvents(ctx, []schema.EventRow{{ID: event, ClientID: client, Type: "integration.message.received",
		IntegrationID: integration, Payload: json.RawMessage(`{}`)}}))
	require.NoError(t, s.StartDelivery(ctx, event, subscription, "delivery:"+event))
	return client, integration, event, subscription
}

func TestWebhookEventsAreRecordedOncePerDelivery(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	client, integration, _, _ := webhookFixture(t, s)
	first := schema.WebhookEventRow{ID: uuid.NewString(), IntegrationID: integration, ClientID: client, Platform: "telegram",
		DeliveryID: "1001", WorkflowID: "webhook:x", Headers: schema.StringMap{"Content-Type": "application/json"},
		Body: []byte(`{"update_id":1001}`), ReceivedAt: time.Now()}
	row, created, err := s.RecordWebhookEvent(ctx, first)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, "application/json", row.Headers["Content-Type"])

	again, created, err := s.RecordWebhookEvent(ctx, first)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID, again.ID, "the same event recorded again finds itself")

	other := first
	other.ID = uuid.NewString()
	repeat, created, err := s.RecordWebhookEvent(ctx, other)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID, repeat.ID, "a repeat of the delivery id finds the first")
}

func TestFailedDeliveriesDisableTheSubscriptionOnce(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	client, integration, event, sub := webhookFixture(t, s)

	// The same failure recorded twice (a retried write) counts once.
	for range 2 {
		disabled, err := s.FinishDelivery(ctx, event, sub, transaction.DeliveryFailed, true, 2)
		require.NoError(t, err)
		require.False(t, disabled)
	}
	row, err := s.GetSubscription(ctx, sub)
	require.NoError(t, err)
	require.Equal(t, 1, row.ConsecutiveFailures)

	// A failure that is not the subscriber's does not count.
	second := "evt_" + uuid.NewString()
	require.NoError(t, s.InsertEvents(ctx, []schema.EventRow{{ID: second, ClientID: client, Type: "integration.message.received",
		IntegrationID: integration, Payload: json.RawMessage(`{}`)}}))
	require.NoError(t, s.StartDelivery(ctx, second, sub, "delivery:"+second))
	disabled, err := s.FinishDelivery(ctx, second, sub, transaction.DeliveryFailed, false, 2)
	require.NoError(t, err)
	require.False(t, disabled)

	// The second failure that counts disables it, once.
	third := "evt_" + uuid.NewString()
	require.NoError(t, s.InsertEvents(ctx, []schema.EventRow{{ID: third, ClientID: client, Type: "integration.message.received",
		IntegrationID: integration, Payload: json.RawMessage(`{}`)}}))
	require.NoError(t, s.StartDelivery(ctx, third, sub, "delivery:"+third))
	disabled, err = s.FinishDelivery(ctx, third, sub, transaction.DeliveryFailed, true, 2)
	require.NoError(t, err)
	require.True(t, disabled)
	row, err = s.GetSubscription(ctx, sub)
	require.NoError(t, err)
	require.False(t, row.IsActive)
	require.NotEmpty(t, row.DisabledReason)

	// Re-enabled, its run starts again; a delivered event clears it too.
	row, err = s.UpdateSubscription(ctx, sub, func(r *schema.SubscriptionRow) error { r.IsActive = true; return nil })
	require.NoError(t, err)
	require.Zero(t, row.ConsecutiveFailures)
	require.Empty(t, row.DisabledReason)
	require.NoError(t, s.StartDelivery(ctx, event, sub, "delivery:"+event+":replay-1"))
	_, err = s.FinishDelivery(ctx, event, sub, transaction.DeliveryFailed, true, 2)
	require.NoError(t, err)
	_, err = s.FinishDelivery(ctx, third, sub, transaction.DeliveryDelivered, true, 2)
	require.NoError(t, err)
	row, err = s.GetSubscription(ctx, sub)
	require.NoError(t, err)
	require.Zero(t, row.ConsecutiveFailures)
	require.True(t, row.IsActive)
}
