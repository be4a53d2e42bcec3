package activities_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"net/http"
	"net/http/httptest"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/seal"
	"github.com/switchyard-hub/switchyard/transaction"
)

// fakeStarter records the deliveries the fan-out starts and can refuse the next ones.
type fakeStarter struct {
	mu      sync.Mutex
	started map[string]int // workflow ID → starts that went through
	refuse  int
}

func (f *fakeStarter) start(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse > 0 {
		f.refuse--
		return errors.New("the workflow service is unavailable")
	}
	f.started[id]++
	return nil
}

func (f *fakeStarter) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	return nil, f.start(o.ID)
}

func (f *fakeStarter) SignalWithStartWorkflow(_ context.Context, id, _ string, _ any, _ client.StartWorkflowOptions, _ any,
	_ ...any) (client.WorkflowRun, error) {
	return nil, f.start(id)
}

// TestIngestWebhook runs the webhook fast path on PostgreSQL: record, normalize, fan out, finish;
// a retry after a refused fan-out starts what is missing and stores nothing twice; a repeat of
// the delivery id does nothing.
func TestIngestWebhook(t *testing.T) {
	ctx := context.Background()
	store, err := schema.Open(ctx, schema.Config{URL: dbURL, MaxOpenConns: 4, MaxIdleConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	client := "ingest-" + uuid.NewString()[:8]
	_, err = store.CreateClient(ctx, schema.ClientRow{ClientID: client, Name: client, SecretHash: "x", IsActive: true})
	require.NoError(t, err)
	integration := uuid.NewString()
	_, err = store.CreateIntegration(ctx, schema.IntegrationRow{ID: integration, ClientID: client, Name: "wa", Platform: "whatsapp",
		Credentials: "k1:sealed", IsActive: true})
	require.NoError(t, err)
	for range 2 {
		_, err = store.CreateSubscription(ctx, schema.SubscriptionRow{ID: uuid.NewString(), ClientID: client,
			URL: "http://127.0.0.1:1/", EventTypes: []string{"integration.message.received"}, Secret: "k1:s", IsActive: true})
		require.NoError(t, err)
	}

	starter := &fakeStarter{started: map[string]int{}, refuse: 1}
	acts := activities.New(store, nil, activities.Config{})
	acts.Messaging = activities.Messaging{Store: store, Temporal: starter}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)

	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"phone_number_id":"100"},
		"messages":[{"from":"255700000001","id":"wamid.A","timestamp":"1700000000","type":"text","text":{"body":"one"}},
		            {"from":"255700000002","id":"wamid.B","timestamp":"1700000001","type":"text","text":{"body":"two"}}]}}]}]}`)
	in := activities.IngestInput{ReceivedWebhook: activities.ReceivedWebhook{EventID: uuid.NewString(), IntegrationID: integration,
		ClientID: client, Platform: "whatsapp", DeliveryID: "wamid.A,wamid.B", WorkflowID: "webhook:x", Body: body,
		ReceivedAt: time.Now()}, Workflows: activities.DeliveryWorkflows{TaskQueue: "webhook", Delivery: "Delivery"}}

	_, err = env.ExecuteActivity(acts.IngestWebhook, in)
	require.Error(t, err, "the refused start fails the attempt, to be retried")
	v, err := env.ExecuteActivity(acts.IngestWebhook, in)
	require.NoError(t, err, "the retry")
	var res activities.IngestResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, transaction.WebhookProcessed, res.Status)
	require.Equal(t, 2, res.Messages)
	require.Equal(t, 4, res.Deliveries, "two messages, two subscriptions")
	require.Len(t, starter.started, 4)
	for id, n := range starter.started {
		require.Equal(t, 1, n, "%s started once", id)
	}
	events, err := store.EventsOfWebhook(ctx, in.EventID)
	require.NoError(t, err)
	require.Len(t, events, 2, "the retry stored no event twice")
	row, err := store.GetWebhookEvent(ctx, in.EventID)
	require.NoError(t, err)
	require.Equal(t, transaction.WebhookProcessed, row.Status)
	require.Equal(t, 2, row.Messages)

	again := in
	again.EventID = uuid.NewString()
	v, err = env.ExecuteActivity(acts.IngestWebhook, again)
	require.NoError(t, err)
	require.NoError(t, v.Get(&res))
	require.True(t, res.Duplicate)
	require.Len(t, starter.started, 4, "a repeat starts nothing")

	t.Run("a webhook the API recorded is ingested by id, once", func(t *testing.T) {
		rec := in
		rec.EventID, rec.DeliveryID = uuid.NewString(), fmt.Sprint("ordered-", time.Now().UnixNano())
		_, created, err := store.RecordWebhookEvent(ctx, schema.WebhookEventRow{ID: rec.EventID, IntegrationID: integration,
			ClientID: client, Platform: "whatsapp", DeliveryID: rec.DeliveryID, WorkflowID: "webhook:" + integration,
			Body: body, ReceivedAt: time.Now()})
		require.NoError(t, err)
		require.True(t, created)
		handover := rec
		handover.Body, handover.Headers, handover.Recorded = nil, nil, true
		v, err := env.ExecuteActivity(acts.IngestWebhook, handover)
		require.NoError(t, err)
		require.NoError(t, v.Get(&res))
		require.Equal(t, transaction.WebhookProcessed, res.Status)
		require.Equal(t, 2, res.Messages)
		v, err = env.ExecuteActivity(acts.IngestWebhook, handover)
		require.NoError(t, err)
		require.NoError(t, v.Get(&res))
		require.True(t, res.Duplicate, "handed over twice, ingested once")
	})

	t.Run("a replay ingests a webhook that was recorded and never ingested", func(t *testing.T) {
		stuck := uuid.NewString()
		_, created, err := store.RecordWebhookEvent(ctx, schema.WebhookEventRow{ID: stuck, IntegrationID: integration,
			ClientID: client, Platform: "whatsapp", DeliveryID: fmt.Sprint("stuck-", time.Now().UnixNano()),
			WorkflowID: "webhook:" + integration, Body: body, ReceivedAt: time.Now()})
		require.NoError(t, err)
		require.True(t, created)
		before := len(starter.started)
		v, err := env.ExecuteActivity(acts.ReplayWebhooks, activities.ReplayInput{ReplayID: "r1", ClientID: client,
			WebhookEventIDs: []string{stuck}, Workflows: in.Workflows})
		require.NoError(t, err)
		var replayed activities.ReplayResult
		require.NoError(t, v.Get(&replayed))
		require.Equal(t, activities.ReplayResult{Webhooks: 1, Events: 2, Deliveries: 4}, replayed)
		require.Len(t, starter.started, before+4)
		row, err := store.GetWebhookEvent(ctx, stuck)
		require.NoError(t, err)
		require.Equal(t, transaction.WebhookProcessed, row.Status)
	})

	t.Run("a body that does not normalize is recorded as failed", func(t *testing.T) {
		bad := in
		bad.EventID, bad.DeliveryID, bad.Body = uuid.NewString(), fmt.Sprint(time.Now().UnixNano()), []byte(`{"entry":"x"}`)
		v, err := env.ExecuteActivity(acts.IngestWebhook, bad)
		require.NoError(t, err)
		require.NoError(t, v.Get(&res))
		require.Equal(t, transaction.WebhookFailed, res.Status)
		require.Equal(t, 1, res.Failed)
		row, err := store.GetWebhookEvent(ctx, bad.EventID)
		require.NoError(t, err)
		require.Equal(t, transaction.WebhookFailed, row.Status)
		require.NotEmpty(t, row.Error)
	})
}

// TestDeliverRefusesTheHubsOwnNetwork: with private targets refused, a subscription that points
// at loopback gets no request; the attempt is recorded and not retried.
func TestDeliverRefusesTheHubsOwnNetwork(t *testing.T) {
	ctx := context.Background()
	store, err := schema.Open(ctx, schema.Config{URL: dbURL, MaxOpenConns: 4, MaxIdleConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits++ }))
	defer srv.Close()

	spec, err := seal.GenerateKey("k1")
	require.NoError(t, err)
	keys, err := seal.ParseKeys(spec, "")
	require.NoError(t, err)
	vault := platform.NewVault(keys)
	secret, err := platform.NewSigningSecret()
	require.NoError(t, err)
	sealed, err := vault.SealSecret(secret)
	require.NoError(t, err)
	client := "ssrf-" + uuid.NewString()[:8]
	_, err = store.CreateClient(ctx, schema.ClientRow{ClientID: client, Name: client, SecretHash: "x", IsActive: true})
	require.NoError(t, err)
	sub := uuid.NewString()
	_, err = store.CreateSubscription(ctx, schema.SubscriptionRow{ID: sub, ClientID: client, URL: srv.URL,
		EventTypes: []string{"*"}, Secret: sealed, IsActive: true})
	require.NoError(t, err)
	event := "evt_" + uuid.NewString()
	require.NoError(t, store.InsertEvents(ctx, []schema.EventRow{{ID: event, ClientID: client, Type: "integration.event.received",
		Payload: []byte(`{"type":"integration.event.received"}`)}}))
	require.NoError(t, store.StartDelivery(ctx, event, sub, "delivery:x"))

	acts := activities.New(store, nil, activities.Config{DeliveryTimeout: 5 * time.Second})
	acts.Messaging = activities.Messaging{Store: store, Vault: vault,
		Deliveries: &http.Client{Transport: platform.Transport(false, 2)}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	_, err = env.ExecuteActivity(acts.Deliver, activities.DeliverInput{EventID: event, SubscriptionID: sub, WorkflowID: "delivery:x"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.True(t, appErr.NonRetryable(), "%v", err)
	require.Contains(t, appErr.Error(), "inside the hub's network")
	require.Zero(t, hits)
	attempts, err := store.DeliveryAttempts(ctx, event, sub)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
}
