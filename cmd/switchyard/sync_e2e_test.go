package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/worker"
	"github.com/switchyard-hub/switchyard/workflows"
)

// The simulated WordPress site's application password, as the hub's tests know it.
const (
	wpUser     = "demo"
	wpPassword = "abcd efgh ijkl mnop qrst uvwx"
)

// asDemo is a call to the integration API as the demo integrator.
func asDemo(method, path, body string) request {
	return request{method: method, path: "/api/v1/integration" + path, body: body}.asClient(demoClient, demoSecret)
}

// createSite makes a site of the demo integrator's and answers its id and api key.
func createSite(t *testing.T, name string) (string, string) {
	t.Helper()
	r := h.do(t, asDemo("POST", "/sites/", fmt.Sprintf(`{"name":%q,"url":%q}`, name, h.simURL+"/wordpress")))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	d := r.data(t)
	id := d["id"].(string)
	t.Cleanup(func() { h.do(t, asDemo("DELETE", "/sites/"+id+"/", "")) })
	return id, d["api_key"].(string)
}

// wordpressIntegration links a site to the simulated WordPress site, sync enabled.
func wordpressIntegration(t *testing.T, siteID string, config map[string]any) string {
	t.Helper()
	return siteIntegration(t, siteID, platform.WordPress, map[string]string{
		"site_url": h.simURL + "/wordpress", "username": wpUser, "application_password": wpPassword}, config)
}

func siteIntegration(t *testing.T, siteID string, p platform.Name, creds map[string]string, config map[string]any) string {
	t.Helper()
	if config == nil {
		config = map[string]any{}
	}
	body, _ := json.Marshal(map[string]any{"name": "e2e " + string(p), "platform": p, "site_id": siteID,
		"sync_enabled": true, "credentials": creds, "config": config})
	r := h.do(t, asDemo("POST", "/integrations/", string(body)))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	for _, secret := range creds {
		if len(secret) > 8 && !strings.HasPrefix(secret, "http") {
			require.NotContains(t, string(r.Body), secret, "credentials are masked")
		}
	}
	return r.data(t)["id"].(string)
}

// startSync asks for a sync and answers its id.
func startSync(t *testing.T, integrationID, body string) string {
	t.Helper()
	r := h.do(t, asDemo("POST", "/integrations/"+integrationID+"/sync/", body))
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	d := r.data(t)
	require.Equal(t, "RUNNING", d["status"])
	return d["sync_id"].(string)
}

// syncStatus reads an integration's sync_status.
func syncStatus(t *testing.T, integrationID string) map[string]any {
	t.Helper()
	r := h.do(t, asDemo("GET", "/integrations/"+integrationID+"/sync_status/", ""))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	return r.data(t)
}

// waitSync waits until the sync run syncID has finished and answers it as last_run shows it.
func waitSync(t *testing.T, integrationID, syncID string) map[string]any {
	t.Helper()
	var last map[string]any
	require.Eventually(t, func() bool {
		st := syncStatus(t, integrationID)
		run, _ := st["last_run"].(map[string]any)
		if st["active"] != nil || run == nil || run["sync_id"] != syncID {
			last = st
			return false
		}
		last = run
		return true
	}, 90*time.Second, 100*time.Millisecond, "sync %s never finished (last: %v)", syncID, &last)
	return last
}

// counts picks a run's counts as integers.
func counts(run map[string]any, names ...string) map[string]int {
	out := map[string]int{}
	for _, n := range names {
		v, _ := run[n].(float64)
		out[n] = int(v)
	}
	return out
}

// liveContents counts an integration's live content of a type ("" for every type).
func liveContents(t *testing.T, integrationID, contentType string) int {
	t.Helper()
	var n int
	require.NoError(t, h.store.DB().Get(&n, `SELECT count(*) FROM contents WHERE integration_id = $1
		AND deleted_at IS NULL AND ($2 = '' OR content_type = $2)`, integrationID, contentType))
	return n
}

// simSite calls a site simulator's API or control route.
func simSite(t *testing.T, method, path, body string, auth bool) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.simURL+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.SetBasicAuth(wpUser, wpPassword)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// wpPosts lists posts of the simulated site (first page, oldest first).
func wpPosts(t *testing.T, query string) []map[string]any {
	t.Helper()
	status, b := simSite(t, "GET", "/wordpress/wp-json/wp/v2/posts?orderby=id&order=asc&"+query, "", true)
	require.Equal(t, http.StatusOK, status, "%s", b)
	var posts []map[string]any
	require.NoError(t, json.Unmarshal(b, &posts))
	return posts
}

// sitePages are the listing pages each site served, with how often.
func sitePages(t *testing.T) map[string]map[string]int {
	t.Helper()
	var pages map[string]map[string]int
	simJSON(t, "/_sim/sites/pages", &pages)
	return pages
}

func resetSites(t *testing.T) {
	t.Helper()
	status, b := simSite(t, "POST", "/_sim/sites/reset", "", false)
	require.Equal(t, http.StatusNoContent, status, "%s", b)
}

func siteFault(t *testing.T, spec string) {
	t.Helper()
	status, b := simSite(t, "PUT", "/_sim/sites/faults", spec, false)
	require.Less(t, status, 300, "%s", b)
	t.Cleanup(func() { simSite(t, "DELETE", "/_sim/sites/faults", "", false) })
}

// TestSiteSyncs walks one WordPress integration through every direction against the simulated
// site: a full pull, change detection after edits and deletions at the site, a push of the
// hub's edits, a metadata sync, both directions, the one-at-a-time rule, pause, resume and
// cancel. Not parallel: it edits the shared simulated site.
func TestSiteSyncs(t *testing.T) {
	resetSites(t)
	siteID, _ := createSite(t, "e2e blog")
	id := wordpressIntegration(t, siteID, nil)
	const total = 220 // the simulator's 200 posts and 20 pages

	t.Run("from_external pulls every post and page", func(t *testing.T) {
		syncID := startSync(t, id, `{"direction":"from_external"}`)
		run := waitSync(t, id, syncID)
		require.Equal(t, "SUCCESS", run["status"], "%v", run)
		require.Equal(t, map[string]int{"added": total, "updated": 0, "deleted": 0, "unchanged": 0, "items": total},
			counts(run, "added", "updated", "deleted", "unchanged", "items"))
		require.Equal(t, total, liveContents(t, id, ""))
		require.Equal(t, 200, liveContents(t, id, "post"))
		st := syncStatus(t, id)
		require.Equal(t, "SUCCESS", st["sync_status"])
		require.NotNil(t, st["last_sync_at"])

		var added int
		require.NoError(t, h.store.DB().Get(&added, `SELECT count(*) FROM sync_events WHERE integration_id = $1
			AND sync_run_id = $2 AND action = 'added' AND success`, id, syncID))
		require.Equal(t, total, added, "one sync event per item added")
		r := h.do(t, asDemo("GET", "/integrations/"+id+"/sync_events/?limit=5", ""))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		page := r.json(t)
		require.Len(t, page["data"], 5)
		require.Equal(t, true, page["has_more"])
		next := h.do(t, asDemo("GET", fmt.Sprintf("/integrations/%s/sync_events/?limit=5&starting_after=%v", id,
			page["next_page"]), ""))
		require.Equal(t, http.StatusOK, next.Status, "%s", next.Body)
		first, second := page["data"].([]any), next.json(t)["data"].([]any)
		require.NotEqual(t, first[4].(map[string]any)["id"], second[0].(map[string]any)["id"], "the cursor moves on")
	})

	t.Run("edits and deletions at the site are detected", func(t *testing.T) {
		posts := wpPosts(t, "per_page=2")
		edited, gone := fmt.Sprint(posts[0]["id"]), fmt.Sprint(posts[1]["id"])
		status, b := simSite(t, "POST", "/_sim/wordpress/posts/"+edited+"/touch", "", false)
		require.Equal(t, http.StatusOK, status, "%s", b)
		status, b = simSite(t, "DELETE", "/_sim/wordpress/posts/"+gone, "", false)
		require.Equal(t, http.StatusNoContent, status, "%s", b)

		run := waitSync(t, id, startSync(t, id, `{"direction":"from_external"}`))
		require.Equal(t, "SUCCESS", run["status"], "%v", run)
		require.Equal(t, map[string]int{"added": 0, "updated": 1, "deleted": 1, "unchanged": total - 2},
			counts(run, "added", "updated", "deleted", "unchanged"))
		require.Equal(t, total-1, liveContents(t, id, ""))
		var body string
		require.NoError(t, h.store.DB().Get(&body, `SELECT body FROM contents WHERE integration_id = $1
			AND external_id = $2`, id, edited))
		require.Contains(t, body, "edited at the site")
	})

	t.Run("to_external pushes what changed in the hub", func(t *testing.T) {
		posts := wpPosts(t, "per_page=1")
		var contentID string
		require.NoError(t, h.store.DB().Get(&contentID, `SELECT id FROM contents WHERE integration_id = $1
			AND external_id = $2`, id, fmt.Sprint(posts[0]["id"])))
		title := "Edited in the hub " + uuid.NewString()[:8]
		r := h.do(t, asDemo("PATCH", "/integrations/"+id+"/contents/"+contentID+"/", fmt.Sprintf(`{"title":%q}`, title)))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, true, r.data(t)["dirty"])
		newTitle := "Written in the hub " + uuid.NewString()[:8]
		r = h.do(t, asDemo("POST", "/integrations/"+id+"/contents/",
			fmt.Sprintf(`{"content_type":"post","title":%q,"body":"<p>From the hub.</p>","status":"publish"}`, newTitle)))
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		created := r.data(t)["id"].(string)

		var pageID, pageExternal string
		require.NoError(t, h.store.DB().QueryRow(`SELECT id, external_id FROM contents WHERE integration_id = $1
			AND content_type = 'page' ORDER BY external_id LIMIT 1`, id).Scan(&pageID, &pageExternal))
		pageTitle := "A page edited in the hub " + uuid.NewString()[:8]
		r = h.do(t, asDemo("PATCH", "/integrations/"+id+"/contents/"+pageID+"/", fmt.Sprintf(`{"title":%q}`, pageTitle)))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

		run := waitSync(t, id, startSync(t, id, `{"direction":"to_external"}`))
		require.Equal(t, "SUCCESS", run["status"], "%v", run)
		require.Equal(t, map[string]int{"pushed": 3, "failed": 0}, counts(run, "pushed", "failed"), "%v", run)
		status, b := simSite(t, "GET", "/wordpress/wp-json/wp/v2/pages/"+pageExternal+"?context=edit", "", true)
		require.Equal(t, http.StatusOK, status, "%s", b)
		require.Contains(t, string(b), pageTitle, "pages are pushed to their own REST base")

		status, b = simSite(t, "GET", "/wordpress/wp-json/wp/v2/posts/"+fmt.Sprint(posts[0]["id"])+"?context=edit", "", true)
		require.Equal(t, http.StatusOK, status, "%s", b)
		require.Contains(t, string(b), title, "the site holds the hub's edit")
		var externalID string
		var dirty bool
		require.NoError(t, h.store.DB().QueryRow(`SELECT external_id, dirty FROM contents WHERE id = $1`, created).
			Scan(&externalID, &dirty))
		require.NotEmpty(t, externalID, "the new post got the site's id")
		require.False(t, dirty)
		status, b = simSite(t, "GET", "/wordpress/wp-json/wp/v2/posts/"+externalID+"?context=edit", "", true)
		require.Equal(t, http.StatusOK, status, "%s", b)
		require.Contains(t, string(b), newTitle)

		// The pull that follows finds the pushed items as the hub holds them.
		run = waitSync(t, id, startSync(t, id, `{"direction":"from_external"}`))
		require.Equal(t, "SUCCESS", run["status"], "%v", run)
		require.Equal(t, map[string]int{"added": 0, "updated": 0, "deleted": 0},
			counts(run, "added", "updated", "deleted"), "%v", run)
	})

	t.Run("metadata syncs the structure and the taxonomies", func(t *testing.T) {
		run := waitSync(t, id, startSync(t, id, `{"direction":"metadata"}`))
		require.Equal(t, "SUCCESS", run["status"], "%v", run)
		require.Equal(t, 8, liveContents(t, id, "category"))
		require.Equal(t, 15, liveContents(t, id, "tag"))
		r := h.do(t, asDemo("GET", "/integrations/"+id+"/content_types/", ""))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		structure, _ := r.data(t)["structure"].(map[string]any)
		require.NotNil(t, structure, "%s", r.Body)
		require.Contains(t, structure["post_types"], "post")
	})

	t.Run("both pulls then pushes", func(t *testing.T) {
		title := "Both ways " + uuid.NewString()[:8]
		r := h.do(t, asDemo("POST", "/integrations/"+id+"/contents/",
			fmt.Sprintf(`{"content_type":"post","title":%q,"body":"<p>b</p>","status":"draft"}`, title)))
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		run := waitSync(t, id, startSync(t, id, `{"direction":"both"}`))
		require.Equal(t, "SUCCESS", run["status"], "%v", run)
		require.Equal(t, 1, counts(run, "pushed")["pushed"], "%v", run)
		require.Equal(t, 0, counts(run, "added")["added"], "%v", run)
	})

	t.Run("one sync at a time; pause, resume and cancel", func(t *testing.T) {
		siteFault(t, `{"site":"wordpress","slow":"400ms","slow_pages":1000}`)
		syncID := startSync(t, id, `{"direction":"from_external","reset":true}`)
		r := h.do(t, asDemo("POST", "/integrations/"+id+"/sync/", `{"direction":"from_external"}`))
		require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
		require.Equal(t, "SYNC_RUNNING", r.errorCode(t))
		require.Contains(t, string(r.Body), syncID, "the answer names the running sync")

		r = h.do(t, asDemo("POST", "/integrations/"+id+"/sync/pause/", `{"note":"maintenance window"}`))
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
		require.Eventually(t, func() bool {
			active, _ := syncStatus(t, id)["active"].(map[string]any)
			return active != nil && active["status"] == "PAUSED"
		}, 20*time.Second, 100*time.Millisecond)
		time.Sleep(time.Second) // a page in flight when the pause came finishes
		before := sitePages(t)["wordpress"]
		time.Sleep(1500 * time.Millisecond)
		require.Equal(t, before, sitePages(t)["wordpress"], "a paused sync fetches nothing")

		r = h.do(t, asDemo("POST", "/integrations/"+id+"/sync/resume/", ""))
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
		simSite(t, "DELETE", "/_sim/sites/faults", "", false)
		run := waitSync(t, id, syncID)
		require.Equal(t, "SUCCESS", run["status"], "%v", run)
		require.Equal(t, 0, counts(run, "added")["added"], "%v", run)

		siteFault(t, `{"site":"wordpress","slow":"400ms","slow_pages":1000}`)
		syncID = startSync(t, id, `{"direction":"from_external"}`)
		r = h.do(t, asDemo("POST", "/integrations/"+id+"/sync/cancel/", ""))
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
		run = waitSync(t, id, syncID)
		require.Equal(t, "CANCELED", run["status"], "%v", run)
		require.Equal(t, "SUCCESS", syncStatus(t, id)["sync_status"], "a canceled run leaves the last status")
	})

	t.Run("a site that keeps failing ends the run in ERROR", func(t *testing.T) {
		siteFault(t, `{"site":"wordpress","fail":1000}`)
		run := waitSync(t, id, startSync(t, id, `{"direction":"from_external"}`))
		require.Equal(t, "ERROR", run["status"], "%v", run)
		st := syncStatus(t, id)
		require.Equal(t, "ERROR", st["sync_status"])
		require.NotEmpty(t, st["sync_error"])
	})
}

// TestSiteSyncSchedule: a schedule starts syncs on its own, shows its next run, and goes away.
func TestSiteSyncSchedule(t *testing.T) {
	t.Parallel()
	siteID, _ := createSite(t, "e2e scheduled shop")
	id := siteIntegration(t, siteID, platform.Shopify, map[string]string{
		"shop_domain": h.simURL + "/shopify", "access_token": "shpat_demo_token"}, nil)

	r := h.do(t, asDemo("PUT", "/integrations/"+id+"/schedule/", `{"interval":"10s","direction":"from_external"}`))
	require.Less(t, r.Status, 300, "%s", r.Body)
	r = h.do(t, asDemo("GET", "/integrations/"+id+"/schedule/", ""))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NotEmpty(t, r.data(t)["next_runs"], "%s", r.Body)

	var run map[string]any
	require.Eventually(t, func() bool {
		st := syncStatus(t, id)
		run, _ = st["last_run"].(map[string]any)
		return run != nil && run["trigger"] == "schedule" && run["status"] == "SUCCESS"
	}, 60*time.Second, 200*time.Millisecond, "the schedule never ran a sync")
	require.Equal(t, 120, liveContents(t, id, "product"))

	r = h.do(t, asDemo("DELETE", "/integrations/"+id+"/schedule/", ""))
	require.Less(t, r.Status, 300, "%s", r.Body)
	r = h.do(t, asDemo("GET", "/integrations/"+id+"/schedule/", ""))
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
}

// TestSiteOnboardingAndTenancy: the plugin's collection test_connection creates the WordPress
// integration only when the site answers, and another client sees none of it.
func TestSiteOnboardingAndTenancy(t *testing.T) {
	t.Parallel()
	siteID, key := createSite(t, "e2e onboarding")
	onboard := func(key, password string) response {
		body, _ := json.Marshal(map[string]string{"site_id": siteID, "api_key": key, "site_url": h.simURL + "/wordpress",
			"username": wpUser, "application_password": password})
		return h.do(t, request{method: "POST", path: "/api/v1/integration/integrations/test_connection/", body: string(body)})
	}
	integrationsOfSite := func() int {
		var n int
		require.NoError(t, h.store.DB().Get(&n, `SELECT count(*) FROM integrations WHERE site_id = $1`, siteID))
		return n
	}

	r := onboard("wpk_not_the_key", wpPassword)
	require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
	require.Zero(t, integrationsOfSite(), "a wrong api key creates nothing")

	r = onboard(key, "wrong password")
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Equal(t, false, r.json(t)["success"])
	require.Zero(t, integrationsOfSite(), "the integration made for the test is deleted when it fails")

	r = onboard(key, wpPassword)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	id, _ := r.json(t)["integration_id"].(string)
	if id == "" {
		id, _ = r.data(t)["integration_id"].(string)
	}
	require.NotEmpty(t, id, "%s", r.Body)
	require.Equal(t, 1, integrationsOfSite())
	t.Cleanup(func() { h.do(t, asDemo("DELETE", "/integrations/"+id+"/", "")) })

	r = h.do(t, asDemo("POST", "/integrations/"+id+"/test_connection/", ""))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), `"success":true`)

	created := h.do(t, request{method: "POST", path: "/api/v1/admin/clients", body: `{"client_id":"sync-tenant-b",
		"name":"Tenant B","permissions":["integrations"],"is_active":true}`}.asAdmin())
	require.Equal(t, http.StatusCreated, created.Status, "%s", created.Body)
	secret := created.data(t)["client_secret"].(string)
	for _, call := range []struct{ method, path, body string }{
		{"GET", "/integrations/" + id + "/sync_status/", ""},
		{"POST", "/integrations/" + id + "/sync/", `{"direction":"from_external"}`},
		{"GET", "/integrations/" + id + "/sync_events/", ""},
		{"PUT", "/integrations/" + id + "/schedule/", `{"interval":"1h","direction":"from_external"}`},
		{"POST", "/integrations/" + id + "/test_connection/", ""},
		{"GET", "/integrations/" + id + "/contents/", ""},
		{"GET", "/sites/" + siteID + "/", ""},
	} {
		r := h.do(t, request{method: call.method, path: "/api/v1/integration" + call.path, body: call.body}.
			asClient("sync-tenant-b", secret))
		require.Equal(t, http.StatusNotFound, r.Status, "%s %s: %s", call.method, call.path, r.Body)
	}
}

// TestWordPressCallbacks: the site's status callback pulls the one post it names, durably and
// once; the metadata callback stores the structure it sends.
func TestWordPressCallbacks(t *testing.T) {
	t.Parallel()
	siteID, key := createSite(t, "e2e callbacks")
	id := wordpressIntegration(t, siteID, nil)
	post := wpPosts(t, "per_page=1&page=7")[0]
	body := fmt.Sprintf(`{"site_id":%q,"post_id":%v,"post_type":"post","post_status":"publish"}`, siteID, post["id"])
	call := func(path, body, key string) response {
		return h.do(t, request{method: "POST", path: "/api/v1/integration/webhooks/wordpress/" + path + "/",
			body: body}.header("X-Api-Key", key))
	}
	r := call("status", body, "wpk_wrong")
	require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
	r = call("status", body, key)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	require.Eventually(t, func() bool { return liveContents(t, id, "post") == 1 }, 20*time.Second, 100*time.Millisecond)
	// The same callback once its run finished is the post saved again: new work, not a duplicate.
	require.Eventually(t, func() bool {
		r = call("status", body, key)
		return r.Status == http.StatusAccepted
	}, 20*time.Second, 100*time.Millisecond, "%s", r.Body)

	meta := fmt.Sprintf(`{"site_id":%q,"post_types":["post","page","product"],"taxonomies":["category"],
		"plugins":{"woocommerce":true},"timestamp":"2026-11-22T10:00:00Z"}`, siteID)
	r = call("metadata", meta, key)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	require.Eventually(t, func() bool {
		r := h.do(t, asDemo("GET", "/integrations/"+id+"/content_types/", ""))
		return r.Status == http.StatusOK && strings.Contains(string(r.Body), "woocommerce")
	}, 20*time.Second, 100*time.Millisecond)
}

// TestBatchRunsOperationsWithACap: a batch answers every item in request order, failures as
// results, and never has more than max_concurrent calls at the provider at once.
func TestBatchRunsOperationsWithACap(t *testing.T) {
	acct := simAccount(t)
	ops := make([]string, 0, 12)
	for i := range 12 {
		account := acct.AccountNumber
		if i%5 == 4 {
			account = "9999999999" // no such account: the provider's 404
		}
		ops = append(ops, fmt.Sprintf(`{"operation":"account_balance","data":{"account_number":%q}}`, account))
	}
	resp, err := http.NewRequest(http.MethodDelete, h.simURL+"/_sim/providers/concurrency", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(resp)
	require.NoError(t, err)
	res.Body.Close()
	fault(t, `{"target":"cbs","latency":"250ms","count":12}`)
	t.Cleanup(func() { clearFaults(t) })

	r := h.do(t, asDemo("POST", "/batch/", `{"max_concurrent":3,"operations":[`+strings.Join(ops, ",")+`]}`))
	if r.Status == http.StatusAccepted {
		statusURL := r.data(t)["status_url"].(string)
		require.Eventually(t, func() bool {
			r = h.do(t, request{method: "GET", path: statusURL}.asClient(demoClient, demoSecret))
			return r.Status == http.StatusOK && r.data(t)["status"] != "processing"
		}, 30*time.Second, 100*time.Millisecond)
	}
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	d := r.data(t)
	require.EqualValues(t, 12, d["total"])
	require.EqualValues(t, 10, d["succeeded"])
	require.EqualValues(t, 2, d["failed"])
	results := d["results"].([]any)
	require.Len(t, results, 12)
	for i, item := range results {
		m := item.(map[string]any)
		require.EqualValues(t, i, m["index"], "results come in request order")
		require.Equal(t, i%5 != 4, m["success"], "item %d: %v", i, m)
	}

	var conc map[string]map[string]int
	simJSON(t, "/_sim/providers/concurrency", &conc)
	require.LessOrEqual(t, conc["cbs"]["max"], 3, "never more than max_concurrent calls at once")
	require.GreaterOrEqual(t, conc["cbs"]["max"], 2, "the batch does run calls side by side")
}

// TestSyncResumesAfterItsWorkerIsKilled: a worker dies mid-sync; another takes the sync over
// from its checkpoint, so at most the page in flight is fetched twice and nothing is counted
// twice.
func TestSyncResumesAfterItsWorkerIsKilled(t *testing.T) {
	const queue = "sync-restart-test"
	resetSites(t)
	child, stderr := startHelperWorker(t, queue)
	siteID, _ := createSite(t, "e2e restart")
	id := wordpressIntegration(t, siteID, map[string]any{"page_size": 10}) // 22 pages
	status, b := simSite(t, "DELETE", "/_sim/sites/stats", "", false)
	require.Equal(t, http.StatusNoContent, status, "%s", b)
	siteFault(t, `{"site":"wordpress","slow":"250ms","slow_pages":1000}`)

	syncID := uuid.NewString()
	run, err := h.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.SyncWorkflowID(id), TaskQueue: queue, WorkflowTaskTimeout: 2 * time.Second,
	}, workflows.WorkflowSync, workflows.SyncInput{SyncID: syncID, IntegrationID: id, ClientID: demoClient,
		Direction: platform.DirectionFromExternal, Trigger: workflows.TriggerAPI})
	require.NoError(t, err)
	served := func() int {
		n := 0
		for _, c := range sitePages(t)["wordpress"] {
			n += c
		}
		return n
	}
	require.Eventually(t, func() bool { return served() >= 6 }, 30*time.Second, 50*time.Millisecond,
		"the helper worker never got going: %s", stderr.String())
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	simSite(t, "DELETE", "/_sim/sites/faults", "", false)

	second := sdkworker.New(h.temporal, queue, sdkworker.Options{})
	acts, err := h.st.newActivities(h.env, h.st.providers)
	require.NoError(t, err)
	worker.Register(second, acts)
	require.NoError(t, second.Start())
	defer second.Stop()

	var res workflows.SyncProgress
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, "SUCCESS", res.Status, "%+v", res)
	require.Equal(t, 220, res.Added, "every item counted once: %+v", res)
	require.Equal(t, 220, liveContents(t, id, ""))
	twice := 0
	for page, n := range sitePages(t)["wordpress"] {
		if n > 1 {
			twice++
			t.Logf("fetched %d times: %s", n, page)
		}
	}
	require.LessOrEqual(t, twice, 1, "the new worker resumed from the checkpoint, not from the start")
}
