package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

func echoOf(t *testing.T, r response) sim.EchoResponse {
	t.Helper()
	var e sim.EchoResponse
	require.NoError(t, json.Unmarshal(r.Body, &e), "body: %s", r.Body)
	return e
}

func TestSyncProxy(t *testing.T) {
	t.Parallel()
	r := h.do(t, request{method: "POST", path: "/integrations/teachers?sync=true&region=north",
		body: `{"teacher_id":"T-1"}`}.asClient(demoClient, demoSecret).header("X-Trace", "abc"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	id := r.Header.Get("X-Correlation-ID")
	require.NoError(t, uuid.Validate(id))

	echo := echoOf(t, r)
	require.Equal(t, "/integrations/teachers", echo.Path)
	require.Equal(t, "region=north", echo.Query, "hub parameters are not forwarded")
	require.Equal(t, `{"teacher_id":"T-1"}`, echo.Body)
	require.Equal(t, id, echo.IdempotencyKey)
	require.Equal(t, id, echo.CorrelationID)
	require.Equal(t, []string{"abc"}, echo.Headers["X-Trace"])
	for _, secret := range []string{"X-Client-Secret", "X-Client-Id", "Authorization"} {
		require.NotContains(t, echo.Headers, secret, "hub credentials never travel upstream")
	}

	row := h.row(t, id)
	require.Equal(t, transaction.StatusSuccessful, row.Status)
	require.Equal(t, demoClient, row.ClientID)
	require.Equal(t, "Demo Teachers", row.ChannelName)
	require.Equal(t, "POST", row.Method)
	require.Equal(t, 1, row.Attempts)
	require.Equal(t, int32(200), row.ResponseStatus.Int32)
	require.NotContains(t, row.RequestHeaders, "X-Client-Secret")
	require.True(t, row.CompletedAt.Valid)

	t.Run("the transaction carries its search attributes", func(t *testing.T) {
		query := fmt.Sprintf(`SwitchyardCorrelationId=%q AND SwitchyardKind="proxy" AND SwitchyardStatus="successful" `+
			`AND SwitchyardClient=%q AND SwitchyardChannel="Demo Teachers"`, id, demoClient)
		require.Eventually(t, func() bool {
			resp, err := h.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
			return err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == "tx:"+id
		}, 10*time.Second, 100*time.Millisecond)
	})

	t.Run("HTTP Basic works as well", func(t *testing.T) {
		basic := base64.StdEncoding.EncodeToString([]byte(demoClient + ":" + demoSecret))
		r := h.do(t, request{method: "GET", path: "/demo/env/ping"}.header("Authorization", "Basic "+basic))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.NotContains(t, echoOf(t, r).Headers, "Authorization")

		history := historyText(t, "tx:"+r.Header.Get("X-Correlation-ID"))
		require.Contains(t, history, "/demo/env/ping", "the history is readable")
		require.NotContains(t, history, demoSecret, "the client secret never reaches Temporal history")
		require.NotContains(t, history, basic)
		requireNotInRawHistory(t, "tx:"+r.Header.Get("X-Correlation-ID"), demoSecret, basic, "/demo/env/ping")
	})

	t.Run("another client cannot see the transaction", func(t *testing.T) {
		r := h.do(t, request{method: "GET", path: "/transactions/" + id + "/"}.asClient("demo-partner", "partner-secret"))
		require.Equal(t, http.StatusNotFound, r.Status)
		require.Equal(t, "NOT_FOUND", r.errorCode(t))
	})
}

// historyText is a workflow's whole history as an operator reads it through the codec server
// (payloads decrypted), as text. rawHistory is what Temporal stores.
func historyText(t *testing.T, workflowID string) string {
	t.Helper()
	var b strings.Builder
	for _, event := range decodedHistory(t, workflowID).GetEvents() {
		b.WriteString(event.String())
	}
	text := b.String()
	// Payloads are JSON bytes; protobuf's text form escapes them, so unescape quotes for matching.
	return strings.ReplaceAll(text, `\"`, `"`)
}

func TestAsyncProxyAndPoll(t *testing.T) {
	t.Parallel()
	for name, req := range map[string]request{
		"query":  {method: "POST", path: "/integrations/teachers?async=true", body: `{"teacher_id":"T-2"}`},
		"header": {method: "POST", path: "/integrations/teachers", body: `{"teacher_id":"T-3"}`, headers: map[string]string{"Prefer": "respond-async"}},
	} {
		t.Run(name, func(t *testing.T) {
			r := h.do(t, req.asClient(demoClient, demoSecret))
			require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
			d := r.data(t)
			id := d["correlation_id"].(string)
			require.Equal(t, "/transactions/"+id+"/", d["status_url"])
			require.Equal(t, "/transactions/"+id+"/", r.Header.Get("Location"))

			done := h.waitStatus(t, id, transaction.StatusSuccessful)
			resp, ok := done["response"].(map[string]any)
			require.True(t, ok, "a successful transaction's status has the upstream's answer: %v", done)
			require.EqualValues(t, 200, resp["status_code"])
			var echo sim.EchoResponse
			require.NoError(t, json.Unmarshal([]byte(resp["body"].(string)), &echo))
			require.Equal(t, id, echo.IdempotencyKey)
			require.NotContains(t, echo.Headers, "Prefer", "hub controls are not forwarded")
		})
	}
}

func TestSlowUpstreamAnswers202AndCarriesOn(t *testing.T) {
	t.Parallel()
	h.fixture(t, "slow", "", `{"path_pattern":"/e2e/slow/**","methods":["GET"],"timeout":"10s"}`)
	r := h.do(t, request{method: "GET", path: "/e2e/slow/report"}.asClient(demoClient, demoSecret).
		header(sim.HeaderLatency, (syncWait+time.Second).String()))
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	d := r.data(t)
	require.Equal(t, transaction.StatusProcessing, d["status"])
	h.waitStatus(t, d["correlation_id"].(string), transaction.StatusSuccessful)
}

func TestIdempotencyKeyNeverForwardsTwice(t *testing.T) {
	t.Parallel()
	key := "order-" + uuid.NewString()
	req := request{method: "POST", path: "/integrations/teachers", body: `{"teacher_id":"T-9"}`}.
		asClient(demoClient, demoSecret).header("Idempotency-Key", key)
	first := h.do(t, req)
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Body)
	second := h.do(t, req)
	require.Equal(t, http.StatusOK, second.Status)
	id := first.Header.Get("X-Correlation-ID")
	require.Equal(t, id, second.Header.Get("X-Correlation-ID"))
	require.Equal(t, string(first.Body), string(second.Body), "the repeat answers with the first transaction")
	require.Equal(t, 1, h.sim.Count(id), "the upstream saw one request")

	async := h.do(t, req.header("Prefer", "respond-async"))
	require.Equal(t, http.StatusAccepted, async.Status)
	require.Equal(t, id, async.data(t)["correlation_id"])
	require.Equal(t, 1, h.sim.Count(id))

	other := h.do(t, request{method: "POST", path: "/integrations/teachers", body: `{"teacher_id":"T-9"}`}.
		asClient("demo-partner", "partner-secret").header("Idempotency-Key", key))
	require.Equal(t, http.StatusOK, other.Status)
	require.NotEqual(t, id, other.Header.Get("X-Correlation-ID"), "keys are scoped to their client")
}

func TestRetriesThenSuccess(t *testing.T) {
	t.Parallel()
	h.fixture(t, "flaky", "", `{"path_pattern":"/e2e/flaky","methods":["GET"],"retry_policy":`+channelRetry+`}`)
	r := h.do(t, request{method: "GET", path: "/e2e/flaky"}.asClient(demoClient, demoSecret).
		header(sim.HeaderStatus, "503", sim.HeaderFailTimes, "2", sim.HeaderRetryAfter, "0"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	id := r.Header.Get("X-Correlation-ID")
	require.Equal(t, 3, echoOf(t, r).Count, "third time lucky")
	require.Equal(t, 3, h.sim.Count(id))
	row := h.row(t, id)
	require.Equal(t, transaction.StatusSuccessful, row.Status)
	require.Equal(t, 3, row.Attempts)
}

func TestPostIsNotRetriedWithoutIdempotencySupport(t *testing.T) {
	t.Parallel()
	h.fixture(t, "post-once", "", `{"path_pattern":"/e2e/post-once","methods":["POST"],"retry_policy":`+channelRetry+`}`)
	r := h.do(t, request{method: "POST", path: "/e2e/post-once", body: `{}`}.asClient(demoClient, demoSecret).
		header(sim.HeaderStatus, "503", sim.HeaderFailTimes, "1"))
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "the upstream's 503 is passed through")
	id := r.Header.Get("X-Correlation-ID")
	require.Equal(t, 1, h.sim.Count(id))
	require.Equal(t, transaction.StatusFailed, h.row(t, id).Status)
}

func TestUnreachableUpstreamAnswers502(t *testing.T) {
	t.Parallel()
	r := h.do(t, request{method: "POST", path: "/api/v1/admin/mediators", body: `{"urn":"urn:test:nowhere","name":"nowhere",
		"endpoint_url":"http://127.0.0.1:1","is_online":true}`}.asAdmin())
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	r = h.do(t, request{method: "POST", path: "/api/v1/admin/channels", body: `{"name":"nowhere","path_pattern":"/e2e/nowhere",
		"methods":["GET"],"mediator_urn":"urn:test:nowhere","retry_policy":{"max_attempts":2,"initial_interval":"50ms"}}`}.asAdmin())
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	r = h.do(t, request{method: "GET", path: "/e2e/nowhere"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusBadGateway, r.Status, "%s", r.Body)
	require.Equal(t, transaction.ErrorCodeUpstreamUnavailable, r.errorCode(t))
	id := r.Header.Get("X-Correlation-ID")
	row := h.row(t, id)
	require.Equal(t, transaction.StatusFailed, row.Status)
	require.Equal(t, 2, row.Attempts)
}

// escalate starts a transaction on a channel whose mediator is down and waits until it is escalated.
func escalate(t *testing.T, name string) string {
	t.Helper()
	h.fixture(t, name, "/sim/status/503", `{"path_pattern":"/e2e/`+name+`","methods":["POST"],"honours_idempotency_key":true,
		"escalate_on_failure":true,"retry_policy":{"max_attempts":2,"initial_interval":"50ms","max_interval":"100ms"}}`)
	r := h.do(t, request{method: "POST", path: "/e2e/" + name + "?async=true", body: `{"amount":"10.00"}`}.
		asClient(demoClient, demoSecret).header(sim.HeaderRetryAfter, "0"))
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	id := r.data(t)["correlation_id"].(string)
	d := h.waitStatus(t, id, transaction.StatusEscalated)
	require.EqualValues(t, 2, d["attempts"])
	return id
}

// temporalCLI runs the temporal CLI against the test server, as the README tells operators to:
// through the hub's codec server, which decrypts what it shows and encrypts what it sends.
func temporalCLI(t *testing.T, args ...string) string {
	t.Helper()
	args = append(args, "--address", h.env.Temporal.Address, "--namespace", h.env.Temporal.Namespace,
		"--codec-endpoint", h.apiURL+api.CodecPath, "--codec-auth", "Bearer "+adminToken)
	out, err := exec.Command(h.cli, args...).CombinedOutput()
	require.NoError(t, err, "temporal %s: %s", strings.Join(args, " "), out)
	return string(out)
}

func TestEscalationSignals(t *testing.T) {
	t.Parallel()

	t.Run("an escalated transaction is listed by SwitchyardStatus", func(t *testing.T) {
		t.Parallel()
		id := escalate(t, "esc-list")
		require.Eventually(t, func() bool {
			out := temporalCLI(t, "workflow", "list", "--query", `SwitchyardStatus="escalated"`)
			return strings.Contains(out, "tx:"+id)
		}, 10*time.Second, 200*time.Millisecond)
		out := temporalCLI(t, "workflow", "query", "--workflow-id", "tx:"+id, "--type", "status")
		require.Contains(t, out, `"status":"escalated"`)
		// On-call hears of it through the notification module (the demo rule of
		// switchyard.transaction.escalated: SMS and e-mail to whoever is on call).
		require.Eventually(t, func() bool {
			var sent int
			_ = h.store.DB().Get(&sent, `SELECT count(*) FROM outbox WHERE notification_id = $1
				AND event_code = 'switchyard.transaction.escalated' AND status = 'SENT'`, "escalated-"+id)
			return sent >= 2
		}, 20*time.Second, 100*time.Millisecond, "the escalation was announced to on-call: %s", notificationState(t, "escalated-"+id))
		temporalCLI(t, "workflow", "signal", "--workflow-id", "tx:"+id, "--name", "abort")
		h.waitStatus(t, id, transaction.StatusFailed)
	})

	t.Run("retry forwards again and picks up the operator's fix", func(t *testing.T) {
		t.Parallel()
		id := escalate(t, "esc-retry")
		before := h.sim.Count(id)
		// The operator repairs the mediator, then retries.
		r := h.do(t, request{method: "PATCH", path: "/api/v1/admin/mediators/urn:test:esc-retry",
			body: fmt.Sprintf(`{"endpoint_url":%q}`, h.simURL)}.asAdmin())
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		temporalCLI(t, "workflow", "signal", "--workflow-id", "tx:"+id, "--name", "retry")
		d := h.waitStatus(t, id, transaction.StatusSuccessful)
		require.EqualValues(t, 3, d["attempts"])
		require.Equal(t, before+1, h.sim.Count(id))
	})

	t.Run("resolve records the note", func(t *testing.T) {
		t.Parallel()
		id := escalate(t, "esc-resolve")
		temporalCLI(t, "workflow", "signal", "--workflow-id", "tx:"+id, "--name", "resolve",
			"--input", `{"note":"posted by hand","by":"ops"}`)
		d := h.waitStatus(t, id, transaction.StatusResolved)
		require.Equal(t, "posted by hand", d["resolution_note"])
	})

	t.Run("abort through the admin API fails the transaction", func(t *testing.T) {
		t.Parallel()
		id := escalate(t, "esc-abort")
		r := h.do(t, request{method: "POST", path: "/api/v1/admin/transactions/" + id + "/signals/abort",
			body: `{"note":"customer cancelled"}`}.asAdmin())
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
		d := h.waitStatus(t, id, transaction.StatusFailed)
		require.Equal(t, transaction.ErrorCodeAborted, d["error_code"])
		require.Equal(t, "customer cancelled", d["resolution_note"])

		again := h.do(t, request{method: "POST", path: "/api/v1/admin/transactions/" + id + "/signals/retry"}.asAdmin())
		require.Equal(t, http.StatusConflict, again.Status)
		require.Equal(t, "NOT_ESCALATED", again.errorCode(t))
	})
}

func TestRerun(t *testing.T) {
	t.Parallel()
	first := h.do(t, request{method: "POST", path: "/integrations/teachers", body: `{"teacher_id":"T-77"}`}.
		asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, first.Status)
	parent := first.Header.Get("X-Correlation-ID")

	r := h.do(t, request{method: "POST", path: "/transactions/" + parent + "/rerun"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	child := r.Header.Get("X-Correlation-ID")
	require.NotEqual(t, parent, child)
	echo := echoOf(t, r)
	require.Equal(t, `{"teacher_id":"T-77"}`, echo.Body, "the rerun sends the original request")
	require.Equal(t, child, echo.IdempotencyKey)

	d := h.waitStatus(t, child, transaction.StatusSuccessful)
	require.Equal(t, parent, d["parent_id"])
	list := h.do(t, request{method: "GET", path: "/api/v1/admin/transactions?parent_id=" + parent}.asAdmin())
	require.Equal(t, http.StatusOK, list.Status)
	require.Contains(t, string(list.Body), child)

	async := h.do(t, request{method: "POST", path: "/transactions/" + parent + "/rerun?async=true"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusAccepted, async.Status, "%s", async.Body)
}

func TestStatusBeforeTheFirstWriteComesFromTemporal(t *testing.T) {
	t.Parallel()
	id := uuid.NewString()
	// A transaction whose workflow no worker has picked up yet: no log row exists.
	run, err := h.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: transaction.WorkflowID(transaction.KindProxy, id), TaskQueue: "no-worker-here",
		Memo: map[string]any{transaction.MemoKey: transaction.Memo{Kind: transaction.KindProxy, ClientID: demoClient,
			Label: "Demo Env Ping", Method: "GET", Path: "/demo/env/ping"}}}, workflows.WorkflowProxyTransaction,
		workflows.ProxyInput{CorrelationID: id, ClientID: demoClient, Channel: transaction.Channel{Name: "Demo Env Ping"},
			Request: transaction.Request{Method: "GET", Path: "/demo/env/ping"}})
	require.NoError(t, err)
	defer h.temporal.TerminateWorkflow(context.Background(), run.GetID(), "", "test over")

	r := h.do(t, request{method: "GET", path: "/transactions/" + id + "/"}.asClient(demoClient, demoSecret))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	d := r.data(t)
	require.Equal(t, transaction.StatusPending, d["status"])
	require.Equal(t, "Demo Env Ping", d["channel"])
	require.Equal(t, transaction.KindProxy, d["kind"])
	require.Equal(t, "/demo/env/ping", d["path"])

	other := h.do(t, request{method: "GET", path: "/transactions/" + id + "/"}.asClient("demo-partner", "partner-secret"))
	require.Equal(t, http.StatusNotFound, other.Status)
}

// notificationState describes an emit and its messages, for a failure's message.
func notificationState(t *testing.T, notificationID string) string {
	t.Helper()
	var rows []struct {
		Disposition, Reason string
	}
	_ = h.store.DB().Select(&rows, `SELECT disposition, reason FROM notification_event WHERE id = $1`, notificationID)
	var msgs []struct {
		UserID, Channel, Status, Error string
	}
	_ = h.store.DB().Select(&msgs, `SELECT user_id AS userid, channel, status, error FROM outbox WHERE notification_id = $1`,
		notificationID)
	return fmt.Sprintf("emit %+v, messages %+v", rows, msgs)
}
