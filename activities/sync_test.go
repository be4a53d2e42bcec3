package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/kelseyhightower/envconfig"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/seal"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/transaction"
)

// syncFixture is a client with a WordPress site (the simulator, on loopback) and its
// integration, and the activities over PostgreSQL.
type syncFixture struct {
	t           *testing.T
	store       *schema.Store
	acts        *activities.Activities
	env         *testsuite.TestActivityEnvironment
	sim         *httptest.Server
	vault       *platform.Vault
	client      string
	integration string
}

// simPosts is how many posts the simulated WordPress site has (with its 20 pages, 8
// categories and 15 tags).
const simPosts = 45

func newSyncFixture(t *testing.T, config platform.SiteConfig) *syncFixture {
	t.Helper()
	return newSyncFixtureOf(t, config, simPosts)
}

// newSyncFixtureOf is newSyncFixture with a site of posts posts.
func newSyncFixtureOf(t *testing.T, config platform.SiteConfig, posts int) *syncFixture {
	t.Helper()
	ctx := context.Background()
	var simCfg sim.SitesConfig
	require.NoError(t, envconfig.Process("", &simCfg))
	simCfg.WordPressPosts = posts
	sites, err := sim.NewSites(simCfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	sites.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	store, err := schema.Open(ctx, schema.Config{URL: dbURL, MaxOpenConns: 4, MaxIdleConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	spec, err := seal.GenerateKey("k1")
	require.NoError(t, err)
	keys, err := seal.ParseKeys(spec, "")
	require.NoError(t, err)
	vault := platform.NewVault(keys)

	f := &syncFixture{t: t, store: store, sim: srv, vault: vault, client: "sync-" + uuid.NewString()[:8]}
	_, err = store.CreateClient(ctx, schema.ClientRow{ClientID: f.client, Name: f.client, SecretHash: "x", IsActive: true})
	require.NoError(t, err)
	site, err := store.CreateSite(ctx, schema.SiteRow{ClientID: f.client, Name: "Blog", URL: srv.URL + "/wordpress",
		APIKey: "k1:sealed"})
	require.NoError(t, err)
	f.integration = f.createIntegration(site.ID, simCfg.WordPressApplicationPassword, config)

	var cfg activities.Config
	require.NoError(t, envconfig.Process("", &cfg))
	f.acts = activities.New(store, nil, cfg)
	f.acts.Sites = activities.Sites{Store: store, Vault: vault,
		Client: func(in platform.Integration, cfg platform.SiteConfig) (platform.SiteClient, error) {
			return platform.NewSiteClient(in, cfg, &http.Client{Timeout: 10 * time.Second})
		}}
	f.acts.Messaging = activities.Messaging{Store: store, Vault: vault}
	var suite testsuite.WorkflowTestSuite
	f.env = suite.NewTestActivityEnvironment()
	f.env.RegisterActivity(f.acts)
	return f
}

func (f *syncFixture) createIntegration(siteID, password string, config platform.SiteConfig) string {
	f.t.Helper()
	sealed, err := f.vault.SealCredentials(platform.Credentials{Fields: map[string]string{
		platform.FieldSiteURL: f.sim.URL + "/wordpress", platform.FieldUsername: "demo",
		platform.FieldApplicationPassword: password}})
	require.NoError(f.t, err)
	raw, err := json.Marshal(config)
	require.NoError(f.t, err)
	row, err := f.store.CreateIntegration(context.Background(), schema.IntegrationRow{ID: uuid.NewString(), ClientID: f.client,
		Name: "blog " + uuid.NewString()[:4], Platform: string(platform.WordPress), Credentials: sealed, Config: raw,
		IsActive: true, SiteID: &siteID, PlatformType: "cms", SyncEnabled: true})
	require.NoError(f.t, err)
	return row.ID
}

// begin starts a sync run of the integration.
func (f *syncFixture) begin(direction string) (string, activities.SyncPlan) {
	f.t.Helper()
	id := uuid.NewString()
	v, err := f.env.ExecuteActivity(f.acts.SyncBegin, activities.SyncBeginInput{SyncID: id, IntegrationID: f.integration,
		ClientID: f.client, WorkflowID: "sync:" + f.integration, Direction: direction, Trigger: "api"})
	require.NoError(f.t, err)
	var plan activities.SyncPlan
	require.NoError(f.t, v.Get(&plan))
	return id, plan
}

// finish ends a run SUCCESS.
func (f *syncFixture) finish(id string) {
	f.t.Helper()
	_, err := f.env.ExecuteActivity(f.acts.FinishSync, activities.SyncFinishInput{SyncID: id,
		IntegrationID: f.integration, ClientID: f.client, Status: transaction.SyncSuccess})
	require.NoError(f.t, err)
}

// pull runs one chunk.
func (f *syncFixture) pull(in activities.SyncPullInput) (activities.SyncPullResult, error) {
	v, err := f.env.ExecuteActivity(f.acts.SyncPull, in)
	if err != nil {
		return activities.SyncPullResult{}, err
	}
	var res activities.SyncPullResult
	require.NoError(f.t, v.Get(&res))
	return res, nil
}

// pullAll runs chunks until the pull is done and answers the last result and the chunks run.
func (f *syncFixture) pullAll(in activities.SyncPullInput) (activities.SyncPullResult, int) {
	f.t.Helper()
	for chunks := 1; chunks < 100; chunks++ {
		res, err := f.pull(in)
		require.NoError(f.t, err)
		if res.Done {
			return res, chunks
		}
	}
	f.t.Fatal("the pull never ended")
	return activities.SyncPullResult{}, 0
}

// simCall calls one of the simulator's control routes.
func (f *syncFixture) simCall(method, path string) []byte {
	f.t.Helper()
	req, err := http.NewRequest(method, f.sim.URL+path, nil)
	require.NoError(f.t, err)
	resp, err := f.sim.Client().Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	require.Less(f.t, resp.StatusCode, 300, "%s %s", method, path)
	b, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return b
}

// pagesFetched is how often each WordPress listing page was served.
func (f *syncFixture) pagesFetched() map[string]int {
	f.t.Helper()
	var out map[string]map[string]int
	require.NoError(f.t, json.Unmarshal(f.simCall(http.MethodGet, "/_sim/sites/pages"), &out))
	return out["wordpress"]
}

// requireEachPageOnce checks no listing page was served twice.
func (f *syncFixture) requireEachPageOnce(want int) {
	f.t.Helper()
	pages := f.pagesFetched()
	require.Len(f.t, pages, want, "%v", pages)
	for page, n := range pages {
		require.Equal(f.t, 1, n, "page %s fetched %d times", page, n)
	}
}

func appErr(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	require.ErrorAs(t, err, &ae)
	return ae
}

func TestSyncPull(t *testing.T) {
	ctx := context.Background()

	t.Run("a full pull applies every page once, chunk by chunk, resuming from the stored checkpoint", func(t *testing.T) {
		f := newSyncFixture(t, platform.SiteConfig{PageSize: 10})
		id, plan := f.begin(platform.DirectionFromExternal)
		require.Equal(t, []string{"post", "page"}, plan.ContentTypes)
		require.Nil(t, plan.Busy)
		in := activities.SyncPullInput{SyncID: id, IntegrationID: f.integration, ClientID: f.client,
			ContentTypes: plan.ContentTypes, Chain: "run-a", ChunkPages: 2}
		res, chunks := f.pullAll(in)
		// 45 posts in 5 pages, 20 pages in 2: 7 pages, 2 a chunk.
		require.Equal(t, 4, chunks)
		require.Equal(t, 7, res.Counts.Pages)
		require.Equal(t, simPosts+20, res.Counts.Items)
		require.Equal(t, simPosts+20, res.Counts.Added)
		require.Equal(t, "page", res.ContentType)
		f.requireEachPageOnce(7)

		run, err := f.store.GetSyncRun(ctx, id)
		require.NoError(t, err)
		require.Equal(t, 7, run.Pages)
		var cp activities.SyncCheckpoint
		require.NoError(t, json.Unmarshal(run.Checkpoint, &cp))
		require.Equal(t, 7, cp.Seq)
		require.True(t, cp.FullPass)

		t.Run("a chunk run again after the end does nothing", func(t *testing.T) {
			res, err := f.pull(in)
			require.NoError(t, err)
			require.True(t, res.Done)
			require.Equal(t, 7, res.Counts.Pages)
			f.requireEachPageOnce(7)
		})
	})

	t.Run("fetching ahead (SYNC_FETCH_AHEAD) applies the same pages, each fetched once", func(t *testing.T) {
		f := newSyncFixture(t, platform.SiteConfig{PageSize: 10})
		f.acts.Config.SyncFetchAhead = true
		id, plan := f.begin(platform.DirectionFromExternal)
		in := activities.SyncPullInput{SyncID: id, IntegrationID: f.integration, ClientID: f.client,
			ContentTypes: plan.ContentTypes, Chain: "run-a", ChunkPages: 3}
		res, _ := f.pullAll(in)
		require.Equal(t, 7, res.Counts.Pages)
		require.Equal(t, simPosts+20, res.Counts.Added)
		f.requireEachPageOnce(7)
	})

	t.Run("a retried attempt resumes from the later of its heartbeat and the store", func(t *testing.T) {
		f := newSyncFixture(t, platform.SiteConfig{PageSize: 10, ContentTypes: []string{"post"}})
		id, plan := f.begin(platform.DirectionFromExternal)
		in := activities.SyncPullInput{SyncID: id, IntegrationID: f.integration, ClientID: f.client,
			ContentTypes: plan.ContentTypes, Chain: "run-a", ChunkPages: 3}
		first, err := f.pull(in)
		require.NoError(t, err)
		require.Equal(t, 3, first.Counts.Pages)
		// The attempt that died had heartbeated page 1 only (heartbeats are throttled): the store,
		// which has page 3 with its checkpoint, wins.
		f.env.SetHeartbeatDetails(activities.SyncCheckpoint{ContentTypes: []string{"post"}, Seq: 1,
			Cursor: "2", FullPass: true, Chain: "run-a"})
		res, _ := f.pullAll(in)
		require.Equal(t, 5, res.Counts.Pages)
		require.Equal(t, simPosts, res.Counts.Added)
		f.requireEachPageOnce(5)
	})

	t.Run("a second full pull finds the site's edits and deletions", func(t *testing.T) {
		f := newSyncFixture(t, platform.SiteConfig{PageSize: 20, ContentTypes: []string{"post"}})
		id, plan := f.begin(platform.DirectionFromExternal)
		in := activities.SyncPullInput{SyncID: id, IntegrationID: f.integration, ClientID: f.client,
			ContentTypes: plan.ContentTypes, Chain: "run-a", ChunkPages: 10}
		f.pullAll(in)
		f.finish(id)

		rows, err := f.store.ListContents(ctx, f.integration, schema.Page{Limit: 100})
		require.NoError(t, err)
		require.Len(t, rows, simPosts)
		f.simCall(http.MethodPost, "/_sim/wordpress/posts/"+rows[0].ExternalID+"/touch")
		f.simCall(http.MethodDelete, "/_sim/wordpress/posts/"+rows[1].ExternalID)

		id2, _ := f.begin(platform.DirectionFromExternal)
		in.SyncID = id2
		res, _ := f.pullAll(in)
		require.Equal(t, simPosts-1, res.Counts.Items)
		require.Equal(t, 1, res.Counts.Updated)
		require.Equal(t, 1, res.Counts.Deleted)
		require.Equal(t, simPosts-2, res.Counts.Unchanged)
		require.Zero(t, res.Counts.Added)
		gone, err := f.store.GetContent(ctx, rows[1].ID)
		require.NoError(t, err)
		require.NotNil(t, gone.DeletedAt)
	})

	t.Run("an incremental pull sweeps nothing", func(t *testing.T) {
		f := newSyncFixture(t, platform.SiteConfig{PageSize: 50, ContentTypes: []string{"post"}})
		id, plan := f.begin(platform.DirectionFromExternal)
		in := activities.SyncPullInput{SyncID: id, IntegrationID: f.integration, ClientID: f.client,
			ContentTypes: plan.ContentTypes, Chain: "run-a", ChunkPages: 10}
		f.pullAll(in)
		f.finish(id)
		since := time.Now().Add(-time.Hour)
		id2, _ := f.begin(platform.DirectionFromExternal)
		in.SyncID, in.Since = id2, &since
		res, _ := f.pullAll(in)
		require.False(t, res.Checkpoint.FullPass)
		require.Zero(t, res.Counts.Items, "nothing changed in the last hour")
		require.Zero(t, res.Counts.Deleted, "an incremental pass deletes nothing")
	})

	t.Run("a rate limit is SiteUnavailable with the site's wait; bad credentials are final", func(t *testing.T) {
		f := newSyncFixture(t, platform.SiteConfig{PageSize: 10, ContentTypes: []string{"post"}})
		id, plan := f.begin(platform.DirectionFromExternal)
		in := activities.SyncPullInput{SyncID: id, IntegrationID: f.integration, ClientID: f.client,
			ContentTypes: plan.ContentTypes, Chain: "run-a", ChunkPages: 10}
		req, err := http.NewRequest(http.MethodPut, f.sim.URL+"/_sim/sites/faults",
			strings.NewReader(`{"site":"wordpress","rate_limit":1,"retry_after":"7s"}`))
		require.NoError(t, err)
		resp, err := f.sim.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		_, err = f.pull(in)
		ae := appErr(t, err)
		require.Equal(t, transaction.ErrTypeSiteUnavailable, ae.Type())
		require.Equal(t, 7*time.Second, ae.NextRetryDelay())
		require.False(t, ae.NonRetryable())

		bad := f.createIntegration(mustSite(t, f), "wrong password here", platform.SiteConfig{})
		f.integration = bad
		_, err = f.env.ExecuteActivity(f.acts.SyncBegin, activities.SyncBeginInput{SyncID: uuid.NewString(),
			IntegrationID: bad, ClientID: f.client, Direction: platform.DirectionFromExternal, Trigger: "api"})
		require.NoError(t, err)
		run, err := f.store.ActiveSyncRun(ctx, bad)
		require.NoError(t, err)
		_, err = f.pull(activities.SyncPullInput{SyncID: run.ID, IntegrationID: bad, ClientID: f.client,
			ContentTypes: []string{"post"}, ChunkPages: 1})
		ae = appErr(t, err)
		require.Equal(t, transaction.ErrTypeSiteRejected, ae.Type())
		require.True(t, ae.NonRetryable())
		require.NotContains(t, ae.Error(), "wrong password here")
	})
}

// mustSite makes another site of the fixture's client (an integration is one per site and
// platform).
func mustSite(t *testing.T, f *syncFixture) string {
	t.Helper()
	site, err := f.store.CreateSite(context.Background(), schema.SiteRow{ClientID: f.client, Name: "Other",
		URL: f.sim.URL + "/wordpress", APIKey: "k1:sealed"})
	require.NoError(t, err)
	return site.ID
}

func TestSyncBegin(t *testing.T) {
	ctx := context.Background()
	f := newSyncFixture(t, platform.SiteConfig{})

	t.Run("a second run of the integration is told which one is active", func(t *testing.T) {
		first, _ := f.begin(platform.DirectionFromExternal)
		_, plan := f.begin(platform.DirectionFromExternal)
		require.NotNil(t, plan.Busy)
		require.Equal(t, first, plan.Busy.SyncID)
		require.Equal(t, transaction.SyncRunning, plan.Busy.Status)

		_, err := f.env.ExecuteActivity(f.acts.SetSyncStatus, activities.SyncStatusInput{SyncID: first,
			IntegrationID: f.integration, ClientID: f.client, Status: transaction.SyncPaused, Note: "lunch", By: "ops"})
		require.NoError(t, err)
		_, plan = f.begin(platform.DirectionFromExternal)
		require.Equal(t, transaction.SyncPaused, plan.Busy.Status)
		_, err = f.env.ExecuteActivity(f.acts.FinishSync, activities.SyncFinishInput{SyncID: first,
			IntegrationID: f.integration, ClientID: f.client, Status: transaction.SyncCanceled, Note: "not needed"})
		require.NoError(t, err)
		events, err := f.store.ListSyncEvents(ctx, f.integration, schema.Page{Limit: 10})
		require.NoError(t, err)
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action)
		}
		require.Equal(t, []string{"canceled", "paused", "started"}, actions)
	})

	t.Run("filters name the content types", func(t *testing.T) {
		v, err := f.env.ExecuteActivity(f.acts.SyncBegin, activities.SyncBeginInput{SyncID: uuid.NewString(),
			IntegrationID: f.integration, ClientID: f.client, Direction: platform.DirectionFromExternal, Trigger: "api",
			Filters: map[string]string{"content_types": "page, post,page"}, Continued: true})
		require.NoError(t, err)
		var plan activities.SyncPlan
		require.NoError(t, v.Get(&plan))
		require.Equal(t, []string{"page", "post"}, plan.ContentTypes)
		require.Equal(t, []string{"category", "tag"}, plan.Taxonomies)
	})

	t.Run("a scheduled run of an integration whose syncs are turned off is skipped; another is refused", func(t *testing.T) {
		off := f.createIntegration(mustSite(t, f), "abcd efgh ijkl mnop qrst uvwx", platform.SiteConfig{})
		_, err := f.store.UpdateIntegration(ctx, off, func(r *schema.IntegrationRow) error { r.SyncEnabled = false; return nil })
		require.NoError(t, err)
		scheduled := uuid.NewString()
		v, err := f.env.ExecuteActivity(f.acts.SyncBegin, activities.SyncBeginInput{SyncID: scheduled, IntegrationID: off,
			ClientID: f.client, Direction: platform.DirectionFromExternal, Trigger: "schedule"})
		require.NoError(t, err)
		var plan activities.SyncPlan
		require.NoError(t, v.Get(&plan))
		require.True(t, plan.Disabled)
		require.Empty(t, plan.ContentTypes)
		_, err = f.store.GetSyncRun(ctx, scheduled)
		require.ErrorIs(t, err, schema.ErrNotFound, "a skipped run records nothing")

		_, err = f.env.ExecuteActivity(f.acts.SyncBegin, activities.SyncBeginInput{SyncID: uuid.NewString(), IntegrationID: off,
			ClientID: f.client, Direction: platform.DirectionFromExternal, Trigger: "api"})
		ae := appErr(t, err)
		require.True(t, ae.NonRetryable())
		require.Equal(t, transaction.ErrTypeInvalidRequest, ae.Type())
		require.Contains(t, ae.Error(), "sync_enabled is false")

		v, err = f.env.ExecuteActivity(f.acts.SyncBegin, activities.SyncBeginInput{SyncID: uuid.NewString(), IntegrationID: off,
			ClientID: f.client, Direction: platform.DirectionFromExternal, Trigger: "schedule", Continued: true})
		require.NoError(t, err, "a run under way when syncs were turned off goes on")
		var continued activities.SyncPlan
		require.NoError(t, v.Get(&continued))
		require.False(t, continued.Disabled)
		require.NotEmpty(t, continued.ContentTypes)
	})

	t.Run("ending a run that has no row records its event only", func(t *testing.T) {
		missing := uuid.NewString()
		_, err := f.env.ExecuteActivity(f.acts.FinishSync, activities.SyncFinishInput{SyncID: missing,
			IntegrationID: f.integration, ClientID: f.client, Status: transaction.SyncError,
			Error: "invalid request: the integration is inactive", ErrorCode: transaction.ErrorCodeSiteRejected})
		require.NoError(t, err)
		_, err = f.store.GetSyncRun(ctx, missing)
		require.ErrorIs(t, err, schema.ErrNotFound, "no row is made")
		events, err := f.store.ListSyncEvents(ctx, f.integration, schema.Page{Limit: 1})
		require.NoError(t, err)
		require.Equal(t, missing, events[0].SyncRunID)
		require.Equal(t, activities.SyncActionFailed, events[0].Action)
		require.Equal(t, "invalid request: the integration is inactive", events[0].ErrorMessage)
		integ, err := f.store.GetIntegration(ctx, f.integration)
		require.NoError(t, err)
		require.NotEqual(t, transaction.SyncError, integ.SyncStatus, "the integration's status is its runs'")

		_, err = f.env.ExecuteActivity(f.acts.FinishSync, activities.SyncFinishInput{SyncID: uuid.NewString(),
			IntegrationID: uuid.NewString(), ClientID: f.client, Status: transaction.SyncError, Error: "gone"})
		require.NoError(t, err, "neither the run nor its integration: nothing to end, no retry")
	})

	t.Run("bad input and another client's integration are refused", func(t *testing.T) {
		for _, in := range []activities.SyncBeginInput{
			{SyncID: "s", IntegrationID: f.integration, ClientID: "someone-else", Direction: "both"},
			{SyncID: "s", IntegrationID: uuid.NewString(), ClientID: f.client, Direction: "both"},
			{SyncID: "s", IntegrationID: f.integration, ClientID: f.client, Direction: "both",
				Filters: map[string]string{"content_types": "posts/../x"}},
			{SyncID: "s", IntegrationID: f.integration, ClientID: f.client, Direction: "both",
				Filters: map[string]string{"colour": "red"}},
		} {
			_, err := f.env.ExecuteActivity(f.acts.SyncBegin, in)
			ae := appErr(t, err)
			require.True(t, ae.NonRetryable(), "%+v: %v", in, err)
		}
	})
}

func TestSyncPushAndItems(t *testing.T) {
	ctx := context.Background()
	f := newSyncFixture(t, platform.SiteConfig{PageSize: 50, ContentTypes: []string{"post"}})
	id, plan := f.begin(platform.DirectionBoth)
	f.pullAll(activities.SyncPullInput{SyncID: id, IntegrationID: f.integration, ClientID: f.client,
		ContentTypes: plan.ContentTypes, Chain: "run-a", ChunkPages: 10})

	item := platform.SiteItem{Type: "post", Title: "Made in the hub", Body: "<p>Hello from the hub.</p>", Status: "draft"}
	made, err := f.store.CreateContent(ctx, schema.ContentRow{IntegrationID: f.integration, ClientID: f.client,
		ContentType: "post", Title: item.Title, Body: item.Body, Status: item.Status, ContentHash: item.Hash()})
	require.NoError(t, err)
	rows, err := f.store.ListContents(ctx, f.integration, schema.Page{Limit: 100})
	require.NoError(t, err)
	var edited schema.ContentRow
	for _, r := range rows {
		if r.ExternalID != "" {
			edited = r
			break
		}
	}
	_, err = f.store.UpdateContent(ctx, edited.ID, func(r *schema.ContentRow) error {
		r.Title = "Edited in the hub"
		r.ContentHash = platform.SiteItem{Type: r.ContentType, Title: r.Title, Body: r.Body, Status: r.Status}.Hash()
		return nil
	})
	require.NoError(t, err)

	t.Run("a push sends the hub's new and edited content to the site", func(t *testing.T) {
		v, err := f.env.ExecuteActivity(f.acts.SyncPush, activities.SyncPushInput{SyncID: id, IntegrationID: f.integration,
			ClientID: f.client, MaxItems: 100})
		require.NoError(t, err)
		var res activities.SyncPushResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, 2, res.Pushed)
		require.Zero(t, res.Failed)
		require.True(t, res.Done)
		require.Equal(t, 2, res.Counts.Pushed)
		dirty, err := f.store.DirtyContents(ctx, f.integration, 10)
		require.NoError(t, err)
		require.Empty(t, dirty)
		got, err := f.store.GetContent(ctx, made.ID)
		require.NoError(t, err)
		require.NotEmpty(t, got.ExternalID, "the site gave the new post its id")

		site, err := platform.NewSiteClient(platform.Integration{Platform: platform.WordPress, Credentials: platform.Credentials{
			Fields: map[string]string{platform.FieldSiteURL: f.sim.URL + "/wordpress", platform.FieldUsername: "demo",
				platform.FieldApplicationPassword: "abcd efgh ijkl mnop qrst uvwx"}}}, platform.SiteConfig{}, nil)
		require.NoError(t, err)
		at, err := site.Get(ctx, "post", got.ExternalID)
		require.NoError(t, err)
		require.Equal(t, "Made in the hub", at.Title)
		at, err = site.Get(ctx, "post", edited.ExternalID)
		require.NoError(t, err)
		require.Equal(t, "Edited in the hub", at.Title)
	})

	t.Run("one item is pulled, or found deleted at the site", func(t *testing.T) {
		f.simCall(http.MethodPost, "/_sim/wordpress/posts/"+rows[2].ExternalID+"/touch")
		v, err := f.env.ExecuteActivity(f.acts.SyncItem, activities.SyncItemInput{SyncID: "one", IntegrationID: f.integration,
			ClientID: f.client, ContentType: "post", ExternalID: rows[2].ExternalID})
		require.NoError(t, err)
		var res activities.SyncItemResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, activities.ContentUpdated, res.Action)
		require.Equal(t, rows[2].ID, res.ContentID)

		f.simCall(http.MethodDelete, "/_sim/wordpress/posts/"+rows[3].ExternalID)
		v, err = f.env.ExecuteActivity(f.acts.SyncItem, activities.SyncItemInput{SyncID: "one", IntegrationID: f.integration,
			ClientID: f.client, ContentType: "post", ExternalID: rows[3].ExternalID})
		require.NoError(t, err)
		require.NoError(t, v.Get(&res))
		require.Equal(t, activities.ContentDeleted, res.Action)
	})

	t.Run("another integration's content is not found", func(t *testing.T) {
		other := f.createIntegration(mustSite(t, f), "abcd efgh ijkl mnop qrst uvwx", platform.SiteConfig{})
		_, err := f.env.ExecuteActivity(f.acts.SyncItem, activities.SyncItemInput{SyncID: "one", IntegrationID: other,
			ClientID: f.client, ContentID: made.ID})
		require.Equal(t, transaction.ErrTypeNotFound, appErr(t, err).Type())
	})
}

func TestSiteChecksAndStructure(t *testing.T) {
	ctx := context.Background()
	f := newSyncFixture(t, platform.SiteConfig{})

	t.Run("a site integration's connection test is a real call, logged", func(t *testing.T) {
		v, err := f.env.ExecuteActivity(f.acts.CheckIntegration, activities.CheckInput{IntegrationID: f.integration})
		require.NoError(t, err)
		var h platform.Health
		require.NoError(t, v.Get(&h))
		require.True(t, h.OK, h.Error)
		require.Contains(t, h.Details["message"], "connected to WordPress site")

		bad := f.createIntegration(mustSite(t, f), "not the password", platform.SiteConfig{})
		v, err = f.env.ExecuteActivity(f.acts.CheckIntegration, activities.CheckInput{IntegrationID: bad})
		require.NoError(t, err)
		require.NoError(t, v.Get(&h))
		require.False(t, h.OK)
		require.NotEmpty(t, h.Error)
		require.NotContains(t, h.Error, "not the password")
		events, err := f.store.ListSyncEvents(ctx, bad, schema.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, events, 1)
		require.Equal(t, activities.SyncEventTestConnection, events[0].EventType)
		require.False(t, events[0].Success)
	})

	t.Run("unsaved site credentials are tested too", func(t *testing.T) {
		sealed, err := f.vault.SealCredentials(platform.Credentials{Fields: map[string]string{
			platform.FieldSiteURL: f.sim.URL + "/wordpress", platform.FieldUsername: "demo",
			platform.FieldApplicationPassword: "abcd efgh ijkl mnop qrst uvwx"}})
		require.NoError(t, err)
		v, err := f.env.ExecuteActivity(f.acts.CheckIntegration, activities.CheckInput{Platform: "wordpress",
			SealedCredentials: sealed})
		require.NoError(t, err)
		var h platform.Health
		require.NoError(t, v.Get(&h))
		require.True(t, h.OK, h.Error)
	})

	t.Run("the site's structure is read into the integration's config", func(t *testing.T) {
		v, err := f.env.ExecuteActivity(f.acts.UpdateSiteStructure, activities.SiteStructureInput{SyncID: "meta",
			IntegrationID: f.integration, ClientID: f.client})
		require.NoError(t, err)
		var st platform.SiteStructure
		require.NoError(t, v.Get(&st))
		require.Contains(t, st.PostTypes, "post")
		row, err := f.store.GetIntegration(ctx, f.integration)
		require.NoError(t, err)
		var cfg platform.SiteConfig
		require.NoError(t, json.Unmarshal(row.Config, &cfg))
		require.NotNil(t, cfg.Structure)
		require.Equal(t, st.PostTypes, cfg.Structure.PostTypes)
	})

	t.Run("a structure the site pushed is checked", func(t *testing.T) {
		long := platform.SiteStructure{PostTypes: []string{strings.Repeat("x", 300)}}
		_, err := f.env.ExecuteActivity(f.acts.UpdateSiteStructure, activities.SiteStructureInput{SyncID: "meta",
			IntegrationID: f.integration, ClientID: f.client, Structure: &long})
		ae := appErr(t, err)
		require.Equal(t, transaction.ErrTypeInvalidRequest, ae.Type())
		require.True(t, errors.As(err, &ae))
	})
}
