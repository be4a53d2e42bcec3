package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/worker"
	"github.com/switchyard-hub/switchyard/workflows"
)

// TestDeliverySurvivesAWorkerKilledMidPost: the worker process delivering an event is killed
// while the subscriber holds its POST; once the attempt times out another worker delivers it, and
// the subscriber acknowledges the event exactly once, under its webhook-id.
func TestDeliverySurvivesAWorkerKilledMidPost(t *testing.T) {
	const queue = "webhook-restart-test"
	var mu sync.Mutex
	var acked []string
	arrived := make(chan struct{}, 4)
	release := make(chan struct{})
	first := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		mu.Lock()
		hold := first
		first = false
		mu.Unlock()
		arrived <- struct{}{}
		if hold {
			// The first attempt's worker dies while this waits; its answer reaches nobody.
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		mu.Lock()
		acked = append(acked, r.Header.Get("webhook-id"))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	defer close(release)

	sub := h.do(t, request{method: "POST", path: "/api/v1/integration/subscriptions/",
		body: `{"url":"` + srv.URL + `","event_types":["integration.event.received"],"description":"restart"}`}.
		asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusCreated, sub.Status, "%s", sub.Body)
	subID := sub.data(t)["id"].(string)
	defer h.do(t, request{method: "DELETE", path: "/api/v1/integration/subscriptions/" + subID + "/"}.asClient(demoClient, demoSecret))
	eventID := "evt_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	payload, _ := json.Marshal(map[string]any{"type": platform.EventEventReceived, "data": map[string]any{"n": 1}})
	require.NoError(t, h.store.InsertEvents(context.Background(), []schema.EventRow{{ID: eventID, ClientID: demoClient,
		Type: platform.EventEventReceived, Payload: payload}}))
	workflowID := workflows.DeliveryWorkflowID(eventID, subID, "")
	require.NoError(t, h.store.StartDelivery(context.Background(), eventID, subID, workflowID))

	child, stderr := startHelperWorker(t, queue, "DELIVERY_TIMEOUT=2s", "DELIVERY_RETRY_BUDGET=1m")

	run, err := h.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: workflowID, TaskQueue: queue},
		workflows.WorkflowDelivery, workflows.DeliveryInput{EventID: eventID, SubscriptionID: subID, ClientID: demoClient})
	require.NoError(t, err)
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatalf("the helper worker's POST never arrived: %s", stderr.String())
	}
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()

	// Another worker takes the delivery over once the killed attempt times out.
	second := sdkworker.New(h.temporal, queue, sdkworker.Options{})
	acts, err := h.st.newActivities(h.env, nil)
	require.NoError(t, err)
	worker.Register(second, acts)
	require.NoError(t, second.Start())
	defer second.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var res workflows.DeliveryResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, transaction.DeliveryDelivered, res.Status, "%+v", res)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{eventID}, acked, "acknowledged once, under the event's id")
	var attempts int
	require.NoError(t, h.store.DB().Get(&attempts, `SELECT count(*) FROM delivery_attempts WHERE event_id = $1`, eventID))
	require.Equal(t, 1, attempts, "the killed attempt recorded nothing; the one that got through did")
}
