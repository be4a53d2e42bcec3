package schema_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// siteFixture is a client with a site and a WordPress integration of it.
type siteFixture struct {
	client, site, integration string
}

func newSiteFixture(t *testing.T, s *schema.Store) siteFixture {
	t.Helper()
	ctx := context.Background()
	f := siteFixture{client: "site-" + uuid.NewString()[:8]}
	_, err := s.CreateClient(ctx, schema.ClientRow{ClientID: f.client, Name: f.client, SecretHash: "x", IsActive: true})
	require.NoError(t, err)
	site, err := s.CreateSite(ctx, schema.SiteRow{ClientID: f.client, Name: "Blog", URL: "https://blog.example",
		APIKey: "k1:sealed"})
	require.NoError(t, err)
	f.site = site.ID
	row, err := s.CreateIntegration(ctx, schema.IntegrationRow{ID: uuid.NewString(), ClientID: f.client, Name: "blog",
		Platform: "wordpress", Credentials: "k1:sealed", IsActive: true, SiteID: &site.ID, PlatformType: "cms",
		SyncEnabled: true, Config: json.RawMessage(`{"page_size":50}`)})
	require.NoError(t, err)
	f.integration = row.ID
	return f
}

// startRun starts a run of the fixture's integration.
func (f siteFixture) startRun(t *testing.T, s *schema.Store) string {
	t.Helper()
	run, err := s.StartSyncRun(context.Background(), schema.SyncRunRow{ID: uuid.NewString(), IntegrationID: f.integration,
		ClientID: f.client, WorkflowID: "sync:" + f.integration, Direction: "from_external"})
	require.NoError(t, err)
	return run.ID
}

// post is a site item with a hash standing for its fields.
func post(id, title, body string) schema.ContentItem {
	return schema.ContentItem{ExternalID: id, ContentType: "post", Title: title, Body: body, Status: "publish",
		URL: "https://blog.example/?p=" + id, Hash: "h(" + title + "|" + body + ")", ModifiedAt: time.Now().UTC()}
}

func events(t *testing.T, s *schema.Store, integration string) []schema.SyncEventRow {
	t.Helper()
	rows, err := s.ListSyncEvents(context.Background(), integration, schema.Page{Limit: 1000})
	require.NoError(t, err)
	return rows
}

func actions(rows []schema.SyncEventRow, runID string) map[string]int {
	out := map[string]int{}
	for _, r := range rows {
		if runID == "" || r.SyncRunID == runID {
			out[r.Action]++
		}
	}
	return out
}

func contentByExternal(t *testing.T, s *schema.Store, integration string) map[string]schema.ContentRow {
	t.Helper()
	rows, err := s.ListContents(context.Background(), integration, schema.Page{Limit: 1000})
	require.NoError(t, err)
	out := map[string]schema.ContentRow{}
	for _, r := range rows {
		out[r.ExternalID] = r
	}
	return out
}

func TestSiteIntegrationIsUniquePerOwnerSiteAndPlatform(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newSiteFixture(t, s)

	got, err := s.SiteIntegration(ctx, f.client, f.site, "wordpress")
	require.NoError(t, err)
	require.Equal(t, f.integration, got.ID)
	require.Equal(t, f.site, *got.SiteID)
	require.Equal(t, "cms", got.PlatformType)
	require.True(t, got.SyncEnabled)
	require.Empty(t, got.SyncStatus, "never synced")

	_, err = s.CreateIntegration(ctx, schema.IntegrationRow{ID: uuid.NewString(), ClientID: f.client, Name: "again",
		Platform: "wordpress", Credentials: "k1:sealed", SiteID: &f.site, PlatformType: "cms"})
	require.ErrorIs(t, err, schema.ErrConflict, "one integration per owner, site and platform")
	shop, err := s.CreateIntegration(ctx, schema.IntegrationRow{ID: uuid.NewString(), ClientID: f.client, Name: "shop",
		Platform: "shopify", Credentials: "k1:sealed", SiteID: &f.site, PlatformType: "ecommerce"})
	require.NoError(t, err, "another platform of the same site is another integration")
	require.Equal(t, f.site, *shop.SiteID)

	_, err = s.SiteIntegration(ctx, "someone-else", f.site, "wordpress")
	require.ErrorIs(t, err, schema.ErrNotFound)
	_, err = s.CreateIntegration(ctx, schema.IntegrationRow{ID: uuid.NewString(), ClientID: f.client, Name: "x",
		Platform: "wordpress", Credentials: "k1:sealed", SiteID: new(string)})
	require.ErrorIs(t, err, schema.ErrReference, "a site that does not exist")

	updated, err := s.UpdateIntegration(ctx, f.integration, func(r *schema.IntegrationRow) error {
		r.SyncEnabled = false
		other := "other"
		r.SiteID, r.Platform, r.SyncStatus = &other, "shopify", transaction.SyncError
		return nil
	})
	require.NoError(t, err)
	require.False(t, updated.SyncEnabled)
	require.Equal(t, f.site, *updated.SiteID, "the site never changes")
	require.Equal(t, "wordpress", updated.Platform)
	require.Empty(t, updated.SyncStatus, "the sync status belongs to the runs")

	site, err := s.UpdateSite(ctx, f.site, func(r *schema.SiteRow) error { r.Name = "Renamed"; return nil })
	require.NoError(t, err)
	require.Equal(t, "Renamed", site.Name)
	require.NoError(t, s.DeleteSite(ctx, f.site))
	_, err = s.GetIntegration(ctx, f.integration)
	require.ErrorIs(t, err, schema.ErrNotFound, "a site takes its integrations with it")
	require.ErrorIs(t, s.DeleteSite(ctx, f.site), schema.ErrNotFound)
}

func TestOneActiveSyncRunPerIntegration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newSiteFixture(t, s)

	first := f.startRun(t, s)
	integ, err := s.GetIntegration(ctx, f.integration)
	require.NoError(t, err)
	require.Equal(t, transaction.SyncRunning, integ.SyncStatus)

	_, err = s.StartSyncRun(ctx, schema.SyncRunRow{ID: uuid.NewString(), IntegrationID: f.integration,
		ClientID: f.client, WorkflowID: "w", Direction: "both"})
	require.ErrorIs(t, err, schema.ErrConflict, "a second active run")
	again, err := s.StartSyncRun(ctx, schema.SyncRunRow{ID: first, IntegrationID: f.integration, ClientID: f.client,
		WorkflowID: "w", Direction: "both"})
	require.NoError(t, err, "a retried start answers its run")
	require.Equal(t, "from_external", again.Direction, "the first start's row")
	active, err := s.ActiveSyncRun(ctx, f.integration)
	require.NoError(t, err)
	require.Equal(t, first, active.ID)

	require.NoError(t, s.SetSyncRunStatus(ctx, first, transaction.SyncPaused))
	integ, err = s.GetIntegration(ctx, f.integration)
	require.NoError(t, err)
	require.Equal(t, transaction.SyncPaused, integ.SyncStatus)
	_, err = s.StartSyncRun(ctx, schema.SyncRunRow{ID: uuid.NewString(), IntegrationID: f.integration,
		ClientID: f.client, WorkflowID: "w", Direction: "both"})
	require.ErrorIs(t, err, schema.ErrConflict, "a paused run holds the slot too")
	require.Error(t, s.SetSyncRunStatus(ctx, first, transaction.SyncSuccess), "finishing is FinishSyncRun's")

	done, err := s.FinishSyncRun(ctx, first, transaction.SyncSuccess, schema.SyncCounts{Pages: 3, Failed: 2}, "")
	require.NoError(t, err)
	require.Equal(t, transaction.SyncSuccess, done.Status)
	require.NotNil(t, done.FinishedAt)
	require.Equal(t, 3, done.Pages)
	require.Equal(t, 2, done.Failed)
	integ, err = s.GetIntegration(ctx, f.integration)
	require.NoError(t, err)
	require.Equal(t, transaction.SyncSuccess, integ.SyncStatus)
	require.NotNil(t, integ.LastSyncAt)
	_, err = s.ActiveSyncRun(ctx, f.integration)
	require.ErrorIs(t, err, schema.ErrNotFound)

	repeat, err := s.FinishSyncRun(ctx, first, transaction.SyncError, schema.SyncCounts{Pages: 9}, "late")
	require.NoError(t, err, "finishing a finished run answers it")
	require.Equal(t, transaction.SyncSuccess, repeat.Status)
	require.Equal(t, 3, repeat.Pages)
	require.ErrorIs(t, s.SetSyncRunStatus(ctx, first, transaction.SyncPaused), schema.ErrConflict)

	failing := f.startRun(t, s)
	_, err = s.FinishSyncRun(ctx, failing, transaction.SyncError, schema.SyncCounts{}, "site answered 503 "+
		strings.Repeat("é", 5000))
	require.NoError(t, err)
	integ, err = s.GetIntegration(ctx, f.integration)
	require.NoError(t, err)
	require.Equal(t, transaction.SyncError, integ.SyncStatus)
	require.True(t, strings.HasPrefix(integ.SyncError, "site answered 503"))
	require.LessOrEqual(t, len(integ.SyncError), 4<<10, "error texts are capped")

	canceled := f.startRun(t, s)
	integ, err = s.GetIntegration(ctx, f.integration)
	require.NoError(t, err)
	require.Empty(t, integ.SyncError, "a new run clears the error")
	_, err = s.FinishSyncRun(ctx, canceled, transaction.SyncCanceled, schema.SyncCounts{}, "")
	require.NoError(t, err)
	integ, err = s.GetIntegration(ctx, f.integration)
	require.NoError(t, err)
	require.Equal(t, transaction.SyncError, integ.SyncStatus, "a canceled run gives back the last finished run's status")
	require.True(t, strings.HasPrefix(integ.SyncError, "site answered 503"))

	_, err = s.FinishSyncRun(ctx, uuid.NewString(), transaction.SyncSuccess, schema.SyncCounts{}, "")
	require.ErrorIs(t, err, schema.ErrNotFound)
	_, err = s.FinishSyncRun(ctx, canceled, transaction.SyncRunning, schema.SyncCounts{}, "")
	require.Error(t, err)

	runs, err := s.ListSyncRuns(ctx, f.integration, schema.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, runs, 3)
	require.Equal(t, canceled, runs[0].ID, "newest first")
}

func TestOnlyOneOfRacingStartsWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newSiteFixture(t, s)
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Go(func() {
			_, results[i] = s.StartSyncRun(ctx, schema.SyncRunRow{ID: uuid.NewString(), IntegrationID: f.integration,
				ClientID: f.client, WorkflowID: "w", Direction: "both"})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range results {
		if err == nil {
			won++
		} else {
			require.ErrorIs(t, err, schema.ErrConflict)
		}
	}
	require.Equal(t, 1, won)
}

func TestContentPagesCountChangesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newSiteFixture(t, s)
	run := f.startRun(t, s)

	page1 := schema.ContentPage{RunID: run, Seq: 1, Items: []schema.ContentItem{post("1", "One", "a"), post("2", "Two", "b")},
		Checkpoint: json.RawMessage(`{"type":"post","cursor":"2"}`)}
	counts, err := s.ApplyContentPage(ctx, f.integration, f.client, page1)
	require.NoError(t, err)
	require.Equal(t, schema.SyncCounts{Pages: 1, Items: 2, Added: 2}, counts)

	again, err := s.ApplyContentPage(ctx, f.integration, f.client, page1)
	require.NoError(t, err, "a retried page")
	require.Equal(t, counts, again, "a page applied twice counts once")

	counts, err = s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: run, Seq: 2,
		Items: []schema.ContentItem{post("3", "Three", "c"), post("3", "Three", "c2")}})
	require.NoError(t, err)
	require.Equal(t, schema.SyncCounts{Pages: 2, Items: 3, Added: 3}, counts, "an item repeated in a page counts once")
	stored, err := s.GetSyncRun(ctx, run)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"post","cursor":"2"}`, string(stored.Checkpoint), "a page without one keeps the checkpoint")
	require.Equal(t, "c2", contentByExternal(t, s, f.integration)["3"].Body, "the last copy wins")

	log := events(t, s, f.integration)
	require.Equal(t, map[string]int{"added": 3, "page": 2}, actions(log, run))
	require.Equal(t, "page", log[0].Action, "the page event comes last")
	var details map[string]any
	require.NoError(t, json.Unmarshal(log[0].Details, &details))
	require.EqualValues(t, 2, details["seq"])
	for _, e := range log {
		if e.Action == "added" {
			require.NotEmpty(t, e.ContentID)
			require.NotEmpty(t, e.ExternalID)
			require.True(t, e.Success)
		}
	}
	_, err = s.FinishSyncRun(ctx, run, transaction.SyncSuccess, schema.SyncCounts{}, "")
	require.NoError(t, err)
	_, err = s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: run, Seq: 3,
		Items: []schema.ContentItem{post("4", "Four", "d")}})
	require.ErrorIs(t, err, schema.ErrConflict, "a finished run takes no more pages")

	// The site edits 1, deletes 2, keeps 3, adds 5.
	second := f.startRun(t, s)
	counts, err = s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: second, Seq: 1,
		Items: []schema.ContentItem{post("1", "One!", "a"), post("3", "Three", "c2"), post("5", "Five", "e")}})
	require.NoError(t, err)
	require.Equal(t, schema.SyncCounts{Pages: 1, Items: 3, Added: 1, Updated: 1, Unchanged: 1}, counts)
	swept, err := s.SweepDeleted(ctx, f.integration, second, "post")
	require.NoError(t, err)
	require.Equal(t, 1, swept)
	swept, err = s.SweepDeleted(ctx, f.integration, second, "post")
	require.NoError(t, err)
	require.Zero(t, swept, "a repeated sweep finds nothing")
	stored, err = s.GetSyncRun(ctx, second)
	require.NoError(t, err)
	require.Equal(t, 1, stored.Deleted)
	live := contentByExternal(t, s, f.integration)
	require.NotContains(t, live, "2", "deleted content is not listed")
	require.Equal(t, "One!", live["1"].Title)
	require.Equal(t, map[string]int{"added": 1, "updated": 1, "deleted": 1, "page": 1}, actions(events(t, s, f.integration), second))
	_, err = s.FinishSyncRun(ctx, second, transaction.SyncSuccess, schema.SyncCounts{}, "")
	require.NoError(t, err)

	// 2 comes back at the site: revived.
	third := f.startRun(t, s)
	counts, err = s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: third, Seq: 1,
		Items: []schema.ContentItem{post("2", "Two", "b")}})
	require.NoError(t, err)
	require.Equal(t, 1, counts.Added, "a deleted row that reappears is added again")
	revived := contentByExternal(t, s, f.integration)["2"]
	require.Nil(t, revived.DeletedAt)
	var revivedEvent schema.SyncEventRow
	for _, e := range events(t, s, f.integration) {
		if e.SyncRunID == third && e.Action == "added" {
			revivedEvent = e
		}
	}
	require.Equal(t, revived.ID, revivedEvent.ContentID, "the revived row keeps its id")
	require.Contains(t, string(revivedEvent.Details), `"revived": true`)

	_, err = s.ApplyContentPage(ctx, "another-integration", f.client, schema.ContentPage{RunID: third, Seq: 2})
	require.ErrorIs(t, err, schema.ErrNotFound, "a run of another integration")
	_, err = s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: third, Seq: 2,
		Items: []schema.ContentItem{{ExternalID: "9", ContentType: "post"}}})
	require.ErrorIs(t, err, schema.ErrInvalidContent, "an item without its hash")
	_, err = s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: third, Seq: 2,
		Items: make([]schema.ContentItem, schema.MaxContentPageItems+1)})
	require.ErrorIs(t, err, schema.ErrInvalidContent, "an oversized page")
}

func TestSiteTextIsStoredEvenWhenMalformed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newSiteFixture(t, s)
	run := f.startRun(t, s)
	odd := post("1", "nul\x00byte", "bad \xff utf-8")
	_, err := s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: run, Seq: 1,
		Items: []schema.ContentItem{odd}})
	require.NoError(t, err)
	row := contentByExternal(t, s, f.integration)["1"]
	require.Equal(t, "nulbyte", row.Title)
	require.Equal(t, "bad \uFFFD utf-8", row.Body)
}

func TestHubEditsArePushedAndSurviveUnchangedPulls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newSiteFixture(t, s)

	// Content made in the hub is dirty and has no external id until pushed.
	made, err := s.CreateContent(ctx, schema.ContentRow{IntegrationID: f.integration, ClientID: f.client,
		ContentType: "post", Title: "Hub post", Body: "x", Status: "draft", ContentHash: "hub-1", ExternalID: "ignored"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(made.ID, "cnt_"))
	require.True(t, made.Dirty)
	require.Empty(t, made.ExternalID)
	_, err = s.CreateContent(ctx, schema.ContentRow{IntegrationID: "nope", ClientID: f.client, ContentType: "post"})
	require.ErrorIs(t, err, schema.ErrReference)

	run := f.startRun(t, s)
	swept, err := s.SweepDeleted(ctx, f.integration, run, "post")
	require.NoError(t, err)
	require.Zero(t, swept, "content never pushed is not swept")

	dirty, err := s.DirtyContents(ctx, f.integration, 10)
	require.NoError(t, err)
	require.Len(t, dirty, 1)
	require.Equal(t, made.ID, dirty[0].ID)

	// The site stores it (reformatting the body) and answers its id.
	site := post("77", "Hub post", "<p>x</p>")
	site.Status = "draft"
	require.NoError(t, s.MarkPushed(ctx, made.ID, run, site, "hub-1"))
	require.NoError(t, s.MarkPushed(ctx, made.ID, run, site, "hub-1"), "a retried push")
	pushed, err := s.GetContent(ctx, made.ID)
	require.NoError(t, err)
	require.False(t, pushed.Dirty)
	require.Equal(t, "77", pushed.ExternalID)
	require.Equal(t, site.Hash, pushed.SiteHash)
	require.Equal(t, "hub-1", pushed.ContentHash, "the hub's version is kept")
	stored, err := s.GetSyncRun(ctx, run)
	require.NoError(t, err)
	require.Equal(t, 1, stored.Pushed, "a repeat is not counted again")

	// A pull of the same item as the site holds it changes nothing.
	counts, err := s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: run, Seq: 1,
		Items: []schema.ContentItem{site}})
	require.NoError(t, err)
	require.Equal(t, 1, counts.Unchanged, "the site's own formatting is no change")

	// The hub edits it: dirty.
	edited, err := s.UpdateContent(ctx, made.ID, func(r *schema.ContentRow) error {
		r.Title, r.ContentHash = "Hub post, edited", "hub-2"
		return nil
	})
	require.NoError(t, err)
	require.True(t, edited.Dirty)
	untouched, err := s.UpdateContent(ctx, made.ID, func(r *schema.ContentRow) error { r.Dirty = false; return nil })
	require.NoError(t, err)
	require.False(t, untouched.Dirty, "a change of nothing compared may clear it")
	edited, err = s.UpdateContent(ctx, made.ID, func(r *schema.ContentRow) error { r.Body = "y"; return nil })
	require.NoError(t, err)
	require.True(t, edited.Dirty, "a changed body is dirty even when the caller forgot the hash")

	// The site did not change it: the hub's edit survives the pull.
	counts, err = s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: run, Seq: 2,
		Items: []schema.ContentItem{site}})
	require.NoError(t, err)
	require.Equal(t, 2, counts.Unchanged)
	kept, err := s.GetContent(ctx, made.ID)
	require.NoError(t, err)
	require.True(t, kept.Dirty)
	require.Equal(t, "Hub post, edited", kept.Title)

	// A push taken before a further edit leaves it dirty.
	require.NoError(t, s.MarkPushed(ctx, made.ID, run, post("77", "Hub post, edited", "<p>x</p>"), "hub-1"))
	still, err := s.GetContent(ctx, made.ID)
	require.NoError(t, err)
	require.True(t, still.Dirty, "the row changed again since the push was taken")

	// The site changes it too: the site wins, and the event says the hub's edit was lost.
	changed := post("77", "Site title", "<p>z</p>")
	counts, err = s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: run, Seq: 3,
		Items: []schema.ContentItem{changed}})
	require.NoError(t, err)
	require.Equal(t, 1, counts.Updated)
	won, err := s.GetContent(ctx, made.ID)
	require.NoError(t, err)
	require.False(t, won.Dirty)
	require.Equal(t, "Site title", won.Title)
	require.Equal(t, changed.Hash, won.ContentHash)
	var overwritten bool
	for _, e := range events(t, s, f.integration) {
		if e.Action == "updated" && e.ContentID == made.ID {
			overwritten = strings.Contains(string(e.Details), `"hub_edit_overwritten": true`)
		}
	}
	require.True(t, overwritten)
	dirty, err = s.DirtyContents(ctx, f.integration, 10)
	require.NoError(t, err)
	require.Empty(t, dirty)
	require.Equal(t, 2, actions(events(t, s, f.integration), run)["pushed"])
}

func TestOneItemUpsertsAndDeletions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newSiteFixture(t, s)
	run := f.startRun(t, s)

	item := post("10", "Ten", "t")
	action, row, err := s.UpsertContent(ctx, f.integration, f.client, run, item)
	require.NoError(t, err)
	require.Equal(t, schema.SyncActionAdded, action)
	require.Equal(t, "10", row.ExternalID)
	require.Equal(t, run, row.SeenRun)
	action, again, err := s.UpsertContent(ctx, f.integration, f.client, "", item)
	require.NoError(t, err)
	require.Equal(t, schema.SyncActionUnchanged, action)
	require.Equal(t, row.ID, again.ID)
	require.Equal(t, run, again.SeenRun, "without a run the row keeps the run that last saw it")
	action, changed, err := s.UpsertContent(ctx, f.integration, f.client, run, post("10", "Ten!", "t"))
	require.NoError(t, err)
	require.Equal(t, schema.SyncActionUpdated, action)
	require.Equal(t, "Ten!", changed.Title)

	gone, err := s.MarkContentDeleted(ctx, f.integration, run, "post", "10")
	require.NoError(t, err)
	require.True(t, gone)
	gone, err = s.MarkContentDeleted(ctx, f.integration, run, "post", "10")
	require.NoError(t, err)
	require.False(t, gone, "it was not live any more")
	action, back, err := s.UpsertContent(ctx, f.integration, f.client, run, post("10", "Ten!", "t"))
	require.NoError(t, err)
	require.Equal(t, schema.SyncActionAdded, action, "revived")
	require.Nil(t, back.DeletedAt)
	require.Equal(t, row.ID, back.ID)

	stored, err := s.GetSyncRun(ctx, run)
	require.NoError(t, err)
	require.Equal(t, 2, stored.Added)
	require.Equal(t, 1, stored.Updated)
	require.Equal(t, 1, stored.Deleted)
	require.Equal(t, map[string]int{"added": 2, "updated": 1, "deleted": 1}, actions(events(t, s, f.integration), run))

	_, _, err = s.UpsertContent(ctx, f.integration, f.client, run, schema.ContentItem{ExternalID: "x", ContentType: "post"})
	require.ErrorIs(t, err, schema.ErrInvalidContent)
}

func TestOneItemSyncsDuringAFullPassAreNotSwept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newSiteFixture(t, s)
	first := f.startRun(t, s)
	_, err := s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: first, Seq: 1,
		Items: []schema.ContentItem{post("1", "One", "a"), post("2", "Two", "b"), post("3", "Three", "c"),
			post("4", "Four", "d"), post("5", "Five", "e")}})
	require.NoError(t, err)
	_, err = s.FinishSyncRun(ctx, first, transaction.SyncSuccess, schema.SyncCounts{}, "")
	require.NoError(t, err)
	hub, err := s.CreateContent(ctx, schema.ContentRow{IntegrationID: f.integration, ClientID: f.client,
		ContentType: "post", Title: "Hub post", ContentHash: "hub-1"})
	require.NoError(t, err)

	// A full pass starts and sees 1; meanwhile one-item syncs (a WordPress status callback,
	// sync_wordpress_content: their ids are no sync run's) pull 1 again and 3, which the pass has
	// not reached (and will not: the site's listing has shifted), and push the hub's post.
	pass := f.startRun(t, s)
	_, err = s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: pass, Seq: 1,
		Items: []schema.ContentItem{post("1", "One", "a")}})
	require.NoError(t, err)
	_, row1, err := s.UpsertContent(ctx, f.integration, f.client, "callback-run", post("1", "One!", "a"))
	require.NoError(t, err)
	require.Equal(t, pass, row1.SeenRun, "a one-item sync does not write a foreign seen_run")
	_, row3, err := s.UpsertContent(ctx, f.integration, f.client, "callback-run", post("3", "Three", "c"))
	require.NoError(t, err)
	require.Equal(t, first, row3.SeenRun)
	require.NoError(t, s.MarkPushed(ctx, hub.ID, "push-one", post("77", "Hub post", ""), "hub-1"))
	_, _, err = s.UpsertContent(ctx, f.integration, f.client, "callback-run", post("9", "Nine", "new at the site"))
	require.NoError(t, err)

	candidates, err := s.SweepCandidates(ctx, f.integration, pass, "post", 10)
	require.NoError(t, err)
	var ids []string
	for _, c := range candidates {
		require.Equal(t, "post", c.ContentType)
		ids = append(ids, c.ExternalID)
	}
	require.ElementsMatch(t, []string{"2", "4", "5"}, ids, "live, not seen by the pass, not synced since it started")
	one, err := s.SweepCandidates(ctx, f.integration, pass, "post", 1)
	require.NoError(t, err)
	require.Len(t, one, 1)
	none, err := s.SweepCandidates(ctx, f.integration, first, "post", 10)
	require.NoError(t, err)
	require.Empty(t, none, "a finished run's pass: every row was synced since it started")
	none, err = s.SweepCandidates(ctx, "another-integration", pass, "post", 10)
	require.NoError(t, err)
	require.Empty(t, none)

	swept, err := s.SweepDeleted(ctx, f.integration, pass, "post")
	require.NoError(t, err)
	require.Equal(t, 3, swept)
	live := contentByExternal(t, s, f.integration)
	require.Contains(t, live, "1")
	require.Contains(t, live, "3", "synced by a one-item pull while the pass ran")
	require.Contains(t, live, "77", "pushed while the pass ran")
	require.Contains(t, live, "9")
	require.NotContains(t, live, "2")

	swept, err = s.SweepDeleted(ctx, "another-integration", pass, "post")
	require.NoError(t, err)
	require.Zero(t, swept, "a run of another integration sweeps nothing")
}

func TestSyncFailuresAreCountedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newSiteFixture(t, s)
	run := f.startRun(t, s)
	page := schema.ContentPage{RunID: run, Seq: 1, Items: []schema.ContentItem{post("1", "One", "a")}, Failed: 2}
	counts, err := s.ApplyContentPage(ctx, f.integration, f.client, page)
	require.NoError(t, err)
	require.Equal(t, 2, counts.Failed)
	counts, err = s.ApplyContentPage(ctx, f.integration, f.client, page)
	require.NoError(t, err)
	require.Equal(t, 2, counts.Failed, "a page applied again counts nothing again")

	for range 3 { // refused again by later chunks of the same run: logged each time, counted once
		require.NoError(t, s.RecordSyncFailure(ctx, schema.SyncEventRow{IntegrationID: f.integration, ClientID: f.client,
			SyncRunID: run, EventType: schema.SyncEventContent, Action: schema.SyncActionPushed, Success: true,
			ContentID: "cnt_1", ErrorMessage: "the site refused it"}))
	}
	require.NoError(t, s.RecordSyncFailure(ctx, schema.SyncEventRow{IntegrationID: f.integration, ClientID: f.client,
		SyncRunID: "one-item", EventType: schema.SyncEventContent, Action: schema.SyncActionPushed}))
	log := events(t, s, f.integration)
	require.Equal(t, "one-item", log[0].SyncRunID)
	require.False(t, log[1].Success, "a failure is never a success")
	require.Equal(t, "the site refused it", log[1].ErrorMessage)
	require.Equal(t, "cnt_1", log[3].ContentID)
	require.ErrorIs(t, s.RecordSyncFailure(ctx, schema.SyncEventRow{IntegrationID: "nope", EventType: "content",
		Action: "pushed"}), schema.ErrReference)

	done, err := s.FinishSyncRun(ctx, run, transaction.SyncSuccess, schema.SyncCounts{Pages: 1, Failed: 1}, "")
	require.NoError(t, err)
	require.Equal(t, 3, done.Failed, "the pull's two and the push's one; the workflow's smaller count does not lower it")
}

func TestConcurrentUpsertsOfOneNewItemAgree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newSiteFixture(t, s)
	var wg sync.WaitGroup
	ids := make([]string, 6)
	errs := make([]error, 6)
	for i := range ids {
		wg.Go(func() {
			var row schema.ContentRow
			_, row, errs[i] = s.UpsertContent(ctx, f.integration, f.client, "", post("1", "One", "a"))
			ids[i] = row.ID
		})
	}
	wg.Wait()
	for i := range ids {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i])
	}
}

func TestSiteStructureAndHealth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	f := newSiteFixture(t, s)

	row, err := s.SetSiteStructure(ctx, f.integration, "", json.RawMessage(`{"post_types":["post","page"],
		"taxonomies":["category"],"timestamp":"2025-01-01T00:00:00Z"}`))
	require.NoError(t, err)
	var config map[string]any
	require.NoError(t, json.Unmarshal(row.Config, &config))
	require.EqualValues(t, 50, config["page_size"], "the rest of config is kept")
	require.Equal(t, []any{"post", "page"}, config["structure"].(map[string]any)["post_types"])
	_, err = s.SetSiteStructure(ctx, f.integration, "", json.RawMessage(`["not an object"]`))
	require.ErrorIs(t, err, schema.ErrInvalidContent)
	_, err = s.SetSiteStructure(ctx, uuid.NewString(), "", json.RawMessage(`{}`))
	require.ErrorIs(t, err, schema.ErrNotFound)

	run := f.startRun(t, s)
	_, err = s.ApplyContentPage(ctx, f.integration, f.client, schema.ContentPage{RunID: run, Seq: 1,
		Items: []schema.ContentItem{post("1", "One", "a"), post("2", "Two", "b")}})
	require.NoError(t, err)
	_, err = s.CreateContent(ctx, schema.ContentRow{IntegrationID: f.integration, ClientID: f.client, ContentType: "post"})
	require.NoError(t, err)
	require.NoError(t, s.RecordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: f.integration, ClientID: f.client,
		SyncRunID: run, EventType: schema.SyncEventSync, Action: schema.SyncActionFailed, ErrorMessage: "boom"}))
	// A note with a NUL (an operator's signal) is stored, cleaned: jsonb refuses \u0000, and an
	// event that cannot be written would hold its workflow for ever.
	require.NoError(t, s.RecordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: f.integration, ClientID: f.client,
		SyncRunID: run, EventType: schema.SyncEventSync, Action: schema.SyncActionPaused, Success: true, ErrorMessage: "a\x00b",
		Details: json.RawMessage(`{"note":"x\u0000y","by":["o\u0000ps"]}`)}))
	var details, message string
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT details::text, error_message FROM sync_events
		WHERE sync_run_id = $1 AND action = 'paused'`, run).Scan(&details, &message))
	require.JSONEq(t, `{"note":"xy","by":["ops"]}`, details)
	require.Equal(t, "ab", message)
	require.Error(t, s.RecordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: f.integration}), "no type or action")
	require.ErrorIs(t, s.RecordSyncEvent(ctx, schema.SyncEventRow{IntegrationID: "nope", EventType: "sync",
		Action: "started"}), schema.ErrReference)
	_, err = s.FinishSyncRun(ctx, run, transaction.SyncSuccess, schema.SyncCounts{}, "")
	require.NoError(t, err)

	h, err := s.IntegrationSyncHealth(ctx, f.integration)
	require.NoError(t, err)
	require.Len(t, h.LastRuns, 1)
	require.Equal(t, 6, h.Events, "structure, two added, a page, a pause, a failure")
	require.Equal(t, 1, h.Errors)
	require.NotNil(t, h.LastSuccessAt)
	require.Equal(t, 1, h.Dirty)
	require.Equal(t, 3, h.Contents)
}

// benchIntegration opens the store (closed with the benchmark) and makes a client and a
// WordPress integration of its own.
func benchIntegration(b *testing.B) (*schema.Store, string, schema.IntegrationRow) {
	ctx := context.Background()
	s, err := schema.Open(ctx, schema.Config{URL: dbURL, MaxOpenConns: 5, MaxIdleConns: 5})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	client := "bench-" + uuid.NewString()[:8]
	_, err = s.CreateClient(ctx, schema.ClientRow{ClientID: client, Name: client, SecretHash: "x", IsActive: true})
	require.NoError(b, err)
	integ, err := s.CreateIntegration(ctx, schema.IntegrationRow{ID: uuid.NewString(), ClientID: client, Name: "b",
		Platform: "wordpress", Credentials: "k"})
	require.NoError(b, err)
	return s, client, integ
}

// BenchmarkApplyContentPage applies pages of 100 new posts, then the same pages unchanged.
func BenchmarkApplyContentPage(b *testing.B) {
	ctx := context.Background()
	s, client, integ := benchIntegration(b)
	run, err := s.StartSyncRun(ctx, schema.SyncRunRow{IntegrationID: integ.ID, ClientID: client, WorkflowID: "w",
		Direction: "from_external"})
	require.NoError(b, err)
	body := strings.Repeat("lorem ipsum ", 200)
	seq := 0
	for i := 0; b.Loop(); i++ {
		items := make([]schema.ContentItem, 100)
		for j := range items {
			items[j] = post(fmt.Sprint(i*100+j), "Post", body)
		}
		seq++
		if _, err := s.ApplyContentPage(ctx, integ.ID, client, schema.ContentPage{RunID: run.ID, Seq: seq,
			Items: items}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlainContentUpsert is the floor BenchmarkApplyContentPage is measured against: the
// same pages as one bare multi-row upsert, with no comparison, events, counts or checkpoint.
func BenchmarkPlainContentUpsert(b *testing.B) {
	ctx := context.Background()
	s, client, integ := benchIntegration(b)
	body := strings.Repeat("lorem ipsum ", 200)
	for i := 0; b.Loop(); i++ {
		cols := make([]pq.StringArray, 6)
		for c := range cols {
			cols[c] = make(pq.StringArray, 100)
		}
		for j := range 100 {
			it := post(fmt.Sprint(i*100+j), "Post", body)
			for c, v := range []string{"cnt_" + uuid.NewString(), it.ExternalID, it.Title, it.Body, it.Status, it.Hash} {
				cols[c][j] = v
			}
		}
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO contents (id, integration_id, client_id, external_id,
			content_type, title, body, status, content_hash)
			SELECT u.id, $1, $2, u.e, 'post', u.t, u.b, u.s, u.h
			FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS u(id, e, t, b, s, h)
			ON CONFLICT (integration_id, content_type, external_id) WHERE external_id <> '' DO UPDATE
			SET title = EXCLUDED.title, body = EXCLUDED.body, content_hash = EXCLUDED.content_hash`,
			integ.ID, client, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]); err != nil {
			b.Fatal(err)
		}
	}
}
