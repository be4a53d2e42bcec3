package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/transaction"
)

// oneAttempt is a channel retry policy that gives up at once: failures are quick to make.
const oneAttempt = `{"max_attempts": 1, "initial_interval": "100ms", "backoff_coefficient": 2, "max_interval": "1s"}`

// proxyOnce sends one GET through the hub and answers its correlation id.
func proxyOnce(t *testing.T, path string) string {
	t.Helper()
	r := h.do(t, request{method: "GET", path: path}.asClient(demoClient, demoSecret))
	id := r.Header.Get("X-Correlation-ID")
	require.NotEmpty(t, id, "%d %s", r.Status, r.Body)
	return id
}

// children lists the transactions whose parent is id.
func children(t *testing.T, id string) []map[string]any {
	t.Helper()
	r := h.do(t, request{method: "GET", path: "/api/v1/admin/transactions?parent_id=" + id}.asAdmin())
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var page struct {
		Data []map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &page))
	return page.Data
}

// rerunTask reads a rerun task.
func rerunTask(t *testing.T, id string) map[string]any {
	t.Helper()
	r := h.do(t, request{method: "GET", path: "/api/v1/admin/transactions/rerun/" + id}.asAdmin())
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	return r.data(t)
}

// waitTask polls a rerun task until its status is want.
func waitTask(t *testing.T, id, want string) map[string]any {
	t.Helper()
	var last map[string]any
	require.Eventually(t, func() bool {
		last = rerunTask(t, id)
		return last["status"] == want
	}, 30*time.Second, 100*time.Millisecond, "rerun task %s never became %s (last: %v)", id, want, &last)
	return last
}

func startRerun(t *testing.T, body string) map[string]any {
	t.Helper()
	r := h.do(t, request{method: "POST", path: "/api/v1/admin/transactions/rerun", body: body}.asAdmin())
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	return r.data(t)
}

func TestBulkRerunAfterTheUpstreamWasFixed(t *testing.T) {
	t.Parallel()
	name := "rerun-bulk"
	h.fixture(t, name, "/sim/status/503", `{"path_pattern":"/e2e/rerun-bulk/*","methods":["GET"],"retry_policy":`+oneAttempt+`}`)
	var failed []string
	for i := range 3 {
		id := proxyOnce(t, fmt.Sprintf("/e2e/rerun-bulk/%d", i))
		h.waitStatus(t, id, transaction.StatusFailed)
		failed = append(failed, id)
	}
	// The upstream is fixed: the mediator now points at an upstream that answers.
	r := h.do(t, request{method: "PATCH", path: "/api/v1/admin/mediators/urn:test:" + name,
		body: fmt.Sprintf(`{"endpoint_url":%q}`, h.simURL)}.asAdmin())
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	task := startRerun(t, `{"filter":{"status":["failed"],"channel":"`+name+`"},"rate":20}`)
	require.EqualValues(t, 3, task["matched"])
	id := task["task_id"].(string)
	require.Equal(t, "/api/v1/admin/transactions/rerun/"+id, task["status_url"])

	done := waitTask(t, id, "completed")
	require.EqualValues(t, 3, done["total"])
	require.EqualValues(t, 3, done["done"])
	require.EqualValues(t, 3, done["started"])
	require.EqualValues(t, 0, done["failed"])
	require.NotEmpty(t, done["completed_at"])
	for i, parent := range failed {
		kids := children(t, parent)
		require.Len(t, kids, 1, "one rerun of %s", parent)
		got := h.waitStatus(t, kids[0]["correlation_id"].(string), transaction.StatusSuccessful)
		require.Equal(t, parent, got["parent_id"])
		require.Equal(t, fmt.Sprintf("/e2e/rerun-bulk/%d", i), got["path"])
		// The reruns are newer than the task: a second task by the same filter finds only the
		// originals again, never a rerun.
	}

	listed := h.do(t, request{method: "GET", path: "/api/v1/admin/transactions/rerun?limit=1"}.asAdmin())
	require.Equal(t, http.StatusOK, listed.Status, "%s", listed.Body)
	require.Contains(t, string(listed.Body), `"has_more"`)
}

// A bulk rerun applies the single rerun's checks to each transaction's client: one whose client
// was deactivated, or that the channel no longer admits, is counted failed and not rerun, while
// a client the channel still admits is rerun.
func TestBulkRerunRefusesClientsNoLongerAdmitted(t *testing.T) {
	t.Parallel()
	name := "rerun-admit"
	channelID := h.fixture(t, name, "/sim/status/503", `{"path_pattern":"/e2e/rerun-admit/*","methods":["GET"],
		"retry_policy":`+oneAttempt+`}`)
	const leaver, leaverSecret = "rerun-leaver", "rerun-leaver-secret-0001"
	r := h.do(t, request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"` + leaver +
		`","name":"Leaver","client_secret":"` + leaverSecret + `","roles":["integrator"],"is_active":true}`}.asAdmin())
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	failedAs := func(clientID, secret, path string) string {
		r := h.do(t, request{method: "GET", path: path}.asClient(clientID, secret))
		id := r.Header.Get("X-Correlation-ID")
		require.NotEmpty(t, id, "%d %s", r.Status, r.Body)
		require.Eventually(t, func() bool {
			r := h.do(t, request{method: "GET", path: "/api/v1/admin/transactions/" + id}.asAdmin())
			return r.Status == http.StatusOK && r.data(t)["status"] == transaction.StatusFailed
		}, 20*time.Second, 50*time.Millisecond, "transaction %s never failed", id)
		return id
	}
	deactivated := failedAs(leaver, leaverSecret, "/e2e/rerun-admit/leaver")
	removed := failedAs(demoClient, demoSecret, "/e2e/rerun-admit/removed")
	// The upstream is fixed; the leaver is deactivated and the channel now admits one other client.
	r = h.do(t, request{method: "PATCH", path: "/api/v1/admin/mediators/urn:test:" + name,
		body: fmt.Sprintf(`{"endpoint_url":%q}`, h.simURL)}.asAdmin())
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = h.do(t, request{method: "DELETE", path: "/api/v1/admin/clients/" + leaver}.asAdmin())
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	admitOnly := func(clientID string) {
		r := h.do(t, request{method: "PATCH", path: "/api/v1/admin/channels/" + channelID,
			body: `{"allowed_clients":["` + clientID + `"]}`}.asAdmin())
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	}
	admitOnly("someone-else")

	task := startRerun(t, `{"filter":{"channel":"`+name+`","status":["failed"]},"rate":50}`)
	require.EqualValues(t, 2, task["matched"])
	done := waitTask(t, task["task_id"].(string), "completed")
	require.EqualValues(t, 2, done["failed"], "%v", done)
	require.EqualValues(t, 0, done["started"], "%v", done)
	require.Empty(t, children(t, deactivated), "a deactivated client's transaction is not rerun")
	require.Empty(t, children(t, removed), "a transaction the channel no longer admits is not rerun")

	// Admitted again, its transaction reruns.
	admitOnly(demoClient)
	task = startRerun(t, `{"filter":{"ids":["`+removed+`","`+deactivated+`"]},"rate":50}`)
	done = waitTask(t, task["task_id"].(string), "completed")
	require.EqualValues(t, 1, done["started"], "%v", done)
	require.EqualValues(t, 1, done["failed"], "%v", done)
	kids := children(t, removed)
	require.Len(t, kids, 1)
	got := h.waitStatus(t, kids[0]["correlation_id"].(string), transaction.StatusSuccessful)
	require.Equal(t, removed, got["parent_id"])
}

func TestRerunTaskPausedThenCanceledStopsPartWay(t *testing.T) {
	t.Parallel()
	name := "rerun-stop"
	h.fixture(t, name, "", `{"path_pattern":"/e2e/rerun-stop/*","methods":["GET"]}`)
	for i := range 5 {
		h.waitStatus(t, proxyOnce(t, fmt.Sprintf("/e2e/rerun-stop/%d", i)), transaction.StatusSuccessful)
	}
	// One rerun every 3 s: the first starts at once, the pause comes long before the second.
	task := startRerun(t, `{"filter":{"channel":"`+name+`","status":["successful"]},"rate":0.33}`)
	require.EqualValues(t, 5, task["matched"])
	id := task["task_id"].(string)

	signal := func(name string) response {
		return h.do(t, request{method: "POST", path: "/api/v1/admin/transactions/rerun/" + id + "/signals/" + name,
			body: `{"note":"stop switch"}`}.asAdmin())
	}
	r := signal("pause")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	paused := waitTask(t, id, "paused")
	require.Less(t, paused["done"], float64(5))

	// The temporal CLI reads the same progress.
	out := temporalCLI(t, "workflow", "query", "--workflow-id", "rerun:"+id, "--type", "progress")
	require.Contains(t, out, `paused`)

	r = signal("cancel")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	canceled := waitTask(t, id, "canceled")
	require.NotEmpty(t, canceled["completed_at"])
	require.Less(t, canceled["done"], float64(5), "the task stopped part-way")
	require.Equal(t, "stop switch", canceled["note"])

	r = signal("resume")
	require.Equal(t, http.StatusConflict, r.Status, "an ended task takes no signals: %s", r.Body)
}

func TestChannelAutoRetryStopsAfterMax(t *testing.T) {
	t.Parallel()
	name := "auto-retry"
	channelID := h.fixture(t, name, "/sim/status/503", `{"path_pattern":"/e2e/auto-retry","methods":["GET"],
		"retry_policy":`+oneAttempt+`,"auto_retry":{"interval":"200ms","max":2}}`)
	ch := h.do(t, request{method: "GET", path: "/api/v1/admin/channels/" + channelID}.asAdmin())
	require.Equal(t, http.StatusOK, ch.Status)
	require.Equal(t, map[string]any{"interval": "200ms", "max": float64(2)}, ch.data(t)["auto_retry"])

	first := proxyOnce(t, "/e2e/auto-retry")
	chain := []string{first}
	for len(chain) < 3 {
		parent := chain[len(chain)-1]
		var kids []map[string]any
		require.Eventually(t, func() bool { kids = children(t, parent); return len(kids) > 0 },
			20*time.Second, 100*time.Millisecond, "transaction %s was never rerun", parent)
		require.Len(t, kids, 1)
		kid := kids[0]["correlation_id"].(string)
		h.waitStatus(t, kid, transaction.StatusFailed)
		chain = append(chain, kid)
	}
	// Two reruns along the chain, then it stops.
	time.Sleep(1500 * time.Millisecond)
	require.Empty(t, children(t, chain[2]), "auto_retry max 2 reruns the chain twice")
}

func TestRerunRefusesBadFilters(t *testing.T) {
	t.Parallel()
	ids := make([]string, 1001)
	for i := range ids {
		ids[i] = `"00000000-0000-4000-8000-000000000000"`
	}
	for _, tc := range []struct{ name, body, field string }{
		{"no criterion", `{"filter":{}}`, "filter"},
		{"unknown status", `{"filter":{"status":["done"]}}`, "filter.status"},
		{"too many ids", `{"filter":{"ids":[` + strings.Join(ids, ",") + `]}}`, "filter.ids"},
		{"an id that is not one", `{"filter":{"ids":["nope"]}}`, "filter.ids"},
		{"a window too wide", `{"filter":{"from":"2026-01-01T00:00:00Z","to":"2026-03-01T00:00:00Z"}}`, "filter.to"},
		{"a window backwards", `{"filter":{"from":"2026-01-02T00:00:00Z","to":"2026-01-01T00:00:00Z"}}`, "filter.to"},
		{"a time that is not RFC 3339", `{"filter":{"from":"yesterday"}}`, "filter.from"},
		{"an unknown channel", `{"filter":{"channel":"no-such-channel"}}`, "filter.channel"},
		{"a rate too high", `{"filter":{"status":["failed"]},"rate":1000}`, "rate"},
		{"a zero limit", `{"filter":{"status":["failed"]},"limit":0}`, "limit"},
	} {
		t.Run(tc.name+" is a 400", func(t *testing.T) {
			r := h.do(t, request{method: "POST", path: "/api/v1/admin/transactions/rerun", body: tc.body}.asAdmin())
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			require.Equal(t, "VALIDATION_ERROR", r.errorCode(t))
			require.Equal(t, tc.field, r.json(t)["details"].(map[string]any)["field"])
		})
	}
	r := h.do(t, request{method: "POST", path: "/api/v1/admin/transactions/rerun", body: `{"filter":{"status":["failed"]},"extra":1}`}.asAdmin())
	require.Equal(t, http.StatusBadRequest, r.Status)
	r = h.do(t, request{method: "GET", path: "/api/v1/admin/transactions/rerun/00000000-0000-4000-8000-000000000000"}.asAdmin())
	require.Equal(t, http.StatusNotFound, r.Status)
	r = h.do(t, request{method: "POST", path: "/api/v1/admin/transactions/rerun/00000000-0000-4000-8000-000000000000/signals/stop"}.asAdmin())
	require.Equal(t, http.StatusBadRequest, r.Status)
	r = h.do(t, request{method: "POST", path: "/api/v1/admin/channels", body: `{"name":"bad-auto","path_pattern":"/e2e/bad-auto",
		"methods":["GET"],"mediator_urn":"urn:x","auto_retry":{"interval":"1s","max":11}}`}.asAdmin())
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
}
