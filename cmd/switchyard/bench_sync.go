package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/worker"
	"github.com/switchyard-hub/switchyard/workflows"
)

// benchSyncRounds is how many times the sync benchmark runs each side; the median counts.
const benchSyncRounds = 3

// benchSync measures a full pull of the simulated WordPress site (SIM_WP_POSTS posts and its 20
// pages) into the content store two ways, each into a fresh integration: the Sync workflow
// (begin, chunked pull activities heartbeating their checkpoint, sweep, finish), and a plain Go
// loop making the same calls in one goroutine (the site client's List, the store's
// ApplyContentPage with the checkpoint, SweepDeleted, FinishSyncRun). The ratio of their items
// per second is what Temporal's durability costs a sync.
func benchSync(ctx context.Context, w io.Writer, hub *localHub) error {
	b := &syncBench{hub: hub}
	// A worker of its own runs the workflow with SYNC_FETCH_AHEAD, on a queue of its own.
	acts, err := hub.st.newActivities(hub.env, hub.st.providers)
	if err != nil {
		return err
	}
	acts.Config.SyncFetchAhead = true
	ahead := sdkworker.New(hub.st.temporal, benchSyncAheadQueue, sdkworker.Options{})
	worker.Register(ahead, acts)
	if err := ahead.Start(); err != nil {
		return err
	}
	defer ahead.Stop()
	sides := []struct {
		name string
		pull func(context.Context, string) error
	}{
		{"loop", func(ctx context.Context, id string) error { return b.plainLoop(ctx, id, false) }},
		{"loop, fetching ahead", func(ctx context.Context, id string) error { return b.plainLoop(ctx, id, true) }},
		{"Sync workflow", func(ctx context.Context, id string) error { return b.workflow(ctx, id, workflows.TaskQueueSync) }},
		{"Sync workflow, fetching ahead", func(ctx context.Context, id string) error {
			return b.workflow(ctx, id, benchSyncAheadQueue)
		}},
	}
	perSec := make([][]float64, len(sides))
	items := -1
	for round := range benchSyncRounds {
		for i, side := range sides {
			n, rate, err := b.run(ctx, fmt.Sprintf("%s-%d", side.name, round), side.pull)
			if err != nil {
				return fmt.Errorf("%s: %w", side.name, err)
			}
			if items >= 0 && n != items {
				return fmt.Errorf("%s stored %d items, the first side %d", side.name, n, items)
			}
			items = n
			perSec[i] = append(perSec[i], rate)
		}
	}
	loop, loopAhead := median(perSec[0]), median(perSec[1])
	durable, durableAhead := median(perSec[2]), median(perSec[3])
	fmt.Fprintf(w, "\nSite sync: %d items pulled from the WordPress simulator into the content store, median of %d rounds each:\n",
		items, benchSyncRounds)
	fmt.Fprintf(w, "  plain Go loop (the same List + ApplyContentPage calls): %.0f items/s; fetching the next page while it writes: %.0f items/s\n",
		loop, loopAhead)
	fmt.Fprintf(w, "  Sync workflow (default): %.0f items/s = %.0f%% of the plain loop (goal >= 80%%)\n", durable, 100*durable/loop)
	fmt.Fprintf(w, "  Sync workflow with SYNC_FETCH_AHEAD: %.0f items/s = %.0f%% of the loop fetching ahead, %.0f%% of the plain loop\n",
		durableAhead, 100*durableAhead/loopAhead, 100*durableAhead/loop)
	return nil
}

// benchSyncAheadQueue is the task queue of the benchmark's worker with SYNC_FETCH_AHEAD.
const benchSyncAheadQueue = "bench-sync-ahead"

type syncBench struct {
	hub *localHub
}

// run creates a fresh site integration owned by the benchmark's client, runs one pull with
// pull, and answers the live items stored and the items per second.
func (b *syncBench) run(ctx context.Context, name string, pull func(context.Context, string) error) (int, float64, error) {
	store, vault := b.hub.st.store, b.hub.st.vault
	siteURL := b.hub.simURL + "/wordpress"
	key, err := vault.SealSiteKey("wpk_bench_" + uuid.NewString())
	if err != nil {
		return 0, 0, err
	}
	site, err := store.CreateSite(ctx, schema.SiteRow{ID: uuid.NewString(), ClientID: benchClient, Name: "bench " + name,
		URL: siteURL, APIKey: key})
	if err != nil {
		return 0, 0, err
	}
	sealed, err := vault.SealCredentials(platform.Credentials{Fields: map[string]string{
		platform.FieldSiteURL: siteURL, platform.FieldUsername: b.hub.env.Sites.WordPressUsername,
		platform.FieldApplicationPassword: b.hub.env.Sites.WordPressApplicationPassword}})
	if err != nil {
		return 0, 0, err
	}
	config, _ := json.Marshal(platform.SiteConfig{})
	row, err := store.CreateIntegration(ctx, schema.IntegrationRow{ID: uuid.NewString(), ClientID: benchClient,
		Name: "bench " + name, Platform: string(platform.WordPress), Credentials: sealed, Config: config, IsActive: true,
		SiteID: &site.ID, PlatformType: platform.WordPress.PlatformType(), SyncEnabled: true})
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := pull(ctx, row.ID); err != nil {
		return 0, 0, err
	}
	elapsed := time.Since(start)
	var n int
	if err := store.DB().GetContext(ctx, &n, `SELECT count(*) FROM contents WHERE integration_id = $1 AND deleted_at IS NULL`,
		row.ID); err != nil {
		return 0, 0, err
	}
	return n, float64(n) / elapsed.Seconds(), nil
}

// workflow runs the Sync workflow as the API starts it, on queue, and waits for its result.
func (b *syncBench) workflow(ctx context.Context, integrationID, queue string) error {
	run, err := b.hub.st.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.SyncWorkflowID(integrationID),
		TaskQueue: queue, EnableEagerStart: true}, workflows.WorkflowSync,
		workflows.SyncInput{SyncID: uuid.NewString(), IntegrationID: integrationID, ClientID: benchClient,
			Direction: platform.DirectionFromExternal, Trigger: workflows.TriggerAPI})
	if err != nil {
		return err
	}
	var res workflows.SyncProgress
	if err := run.Get(ctx, &res); err != nil {
		return err
	}
	if res.Status != transaction.SyncSuccess {
		return fmt.Errorf("the sync ended %s: %s", res.Status, res.Error)
	}
	return nil
}

// plainLoop makes the calls a sync makes, in one goroutine, without Temporal; with ahead, a
// second goroutine fetches the next page while one is written, as the sync's activity does.
func (b *syncBench) plainLoop(ctx context.Context, integrationID string, ahead bool) error {
	store := b.hub.st.store
	row, err := store.GetIntegration(ctx, integrationID)
	if err != nil {
		return err
	}
	in, err := b.hub.st.vault.Open(row.ID, row.Name, row.Platform, row.Credentials, row.Config, row.IsActive)
	if err != nil {
		return err
	}
	site, err := platform.NewSiteClient(in, platform.SiteConfig{}, &http.Client{Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	runID := uuid.NewString()
	if _, err := store.StartSyncRun(ctx, schema.SyncRunRow{ID: runID, IntegrationID: row.ID, ClientID: row.ClientID,
		WorkflowID: "bench-plain-loop", Direction: platform.DirectionFromExternal, Trigger: workflows.TriggerAPI,
		Status: transaction.SyncRunning}); err != nil {
		return err
	}
	seq := 0
	var counts schema.SyncCounts
	for _, contentType := range site.ContentTypes() {
		next := fetchPages(ctx, site, contentType, ahead)
		for page, ok := next(); ok; page, ok = next() {
			if page.err != nil {
				return page.err
			}
			items := make([]schema.ContentItem, len(page.Items))
			for i, it := range page.Items {
				items[i] = schema.ContentItem{ExternalID: it.ExternalID, ContentType: it.Type, Title: it.Title, Body: it.Body,
					Status: it.Status, URL: it.URL, Hash: it.Hash(), ModifiedAt: it.ModifiedAt}
			}
			seq++
			checkpoint, _ := json.Marshal(map[string]any{"content_type": contentType, "cursor": page.Next, "seq": seq})
			if counts, err = store.ApplyContentPage(ctx, row.ID, row.ClientID, schema.ContentPage{RunID: runID, Seq: seq,
				Items: items, Checkpoint: checkpoint}); err != nil {
				return err
			}
		}
		if _, err := store.SweepDeleted(ctx, row.ID, runID, contentType); err != nil {
			return err
		}
	}
	_, err = store.FinishSyncRun(ctx, runID, transaction.SyncSuccess, counts, "")
	return err
}

type fetchedPage struct {
	platform.SitePage
	err error
}

// fetchPages lists every page of a content type, in order, into the channel it answers. Without
// ahead the next page is fetched only once the reader asks for it (read waits for each fetch);
// with ahead a goroutine fetches the next page while the reader writes the one it has.
func fetchPages(ctx context.Context, site platform.SiteClient, contentType string, ahead bool) func() (fetchedPage, bool) {
	cursor, done := "", false
	fetch := func() (fetchedPage, bool) {
		if done {
			return fetchedPage{}, false
		}
		page, err := site.List(ctx, contentType, cursor, time.Time{})
		cursor, done = page.Next, err != nil || page.Next == ""
		return fetchedPage{page, err}, true
	}
	if !ahead {
		return fetch
	}
	out := make(chan fetchedPage) // unbuffered: one page fetched ahead of the reader
	go func() {
		defer close(out)
		for {
			page, ok := fetch()
			if !ok {
				return
			}
			select {
			case out <- page:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() (fetchedPage, bool) {
		page, ok := <-out
		return page, ok
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
