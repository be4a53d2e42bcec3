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

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
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
	var plain, durable []float64
	items := 0
	for round := range benchSyncRounds {
		n, perSec, err := b.run(ctx, fmt.Sprintf("plain-%d", round), b.plainLoop)
		if err != nil {
			return fmt.Errorf("the plain loop: %w", err)
		}
		plain = append(plain, perSec)
		n2, perSec, err := b.run(ctx, fmt.Sprintf("sync-%d", round), b.workflow)
		if err != nil {
			return fmt.Errorf("the Sync workflow: %w", err)
		}
		if n2 != n {
			return fmt.Errorf("the Sync workflow stored %d items, the plain loop %d", n2, n)
		}
		durable = append(durable, perSec)
		items = n
	}
	p, d := median(plain), median(durable)
	fmt.Fprintf(w, "\nSite sync: %d items pulled from the WordPress simulator into the content store, median of %d rounds each:\n",
		items, benchSyncRounds)
	fmt.Fprintf(w, "  plain Go loop (same List + ApplyContentPage calls) %.0f items/s; Sync workflow %.0f items/s = %.0f%% of the loop (goal >= 80%%)\n",
		p, d, 100*d/p)
	return nil
}

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

// workflow runs the Sync workflow as the API starts it and waits for its result.
func (b *syncBench) workflow(ctx context.Context, integrationID string) error {
	run, err := b.hub.st.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.SyncWorkflowID(integrationID),
		TaskQueue: workflows.TaskQueueSync, EnableEagerStart: true}, workflows.WorkflowSync,
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

// plainLoop makes the calls a sync makes, in one goroutine, without Temporal.
func (b *syncBench) plainLoop(ctx context.Context, integrationID string) error {
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
		cursor := ""
		for {
			page, err := site.List(ctx, contentType, cursor, time.Time{})
			if err != nil {
				return err
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
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		if _, err := store.SweepDeleted(ctx, row.ID, runID, contentType); err != nil {
			return err
		}
	}
	_, err = store.FinishSyncRun(ctx, runID, transaction.SyncSuccess, counts, "")
	return err
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
