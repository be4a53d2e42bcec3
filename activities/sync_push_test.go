package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
)

// sitePosts counts the site's posts titled title.
func (f *syncFixture) sitePosts(title string) int {
	f.t.Helper()
	site, err := platform.NewSiteClient(platform.Integration{Platform: platform.WordPress, Credentials: platform.Credentials{
		Fields: map[string]string{platform.FieldSiteURL: f.sim.URL + "/wordpress", platform.FieldUsername: "demo",
			platform.FieldApplicationPassword: "abcd efgh ijkl mnop qrst uvwx"}}}, platform.SiteConfig{PageSize: 100}, nil)
	require.NoError(f.t, err)
	n, cursor := 0, ""
	for {
		page, err := site.List(context.Background(), "post", cursor, time.Time{})
		require.NoError(f.t, err)
		for _, it := range page.Items {
			if it.Title == title {
				n++
			}
		}
		if cursor = page.Next; cursor == "" {
			return n
		}
	}
}

func TestSyncPushUnderPause(t *testing.T) {
	ctx := context.Background()
	f := newSyncFixture(t, platform.SiteConfig{PageSize: 50, ContentTypes: []string{"post"}})
	id, _ := f.begin(platform.DirectionToExternal)
	item := platform.SiteItem{Type: "post", Title: "Pushed once", Body: "<p>Once.</p>", Status: "draft"}
	made, err := f.store.CreateContent(ctx, schema.ContentRow{IntegrationID: f.integration, ClientID: f.client,
		ContentType: item.Type, Title: item.Title, Body: item.Body, Status: item.Status, ContentHash: item.Hash()})
	require.NoError(t, err)

	// The pause reaches the chunk while the site is storing the new post: a call canceled then
	// loses the site's answer, though the site has made the post.
	paused, pause := context.WithCancel(ctx)
	defer pause()
	f.wrapSite(func(c platform.SiteClient) platform.SiteClient {
		return &siteWrap{SiteClient: c, put: func(ctx context.Context, it platform.SiteItem) (platform.SiteItem, error) {
			got, err := c.Put(context.WithoutCancel(ctx), it)
			pause()
			select {
			case <-ctx.Done():
				return platform.SiteItem{}, ctx.Err()
			case <-time.After(300 * time.Millisecond):
			}
			return got, err
		}}
	})
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{BackgroundActivityContext: paused})
	env.RegisterActivity(f.acts)
	_, err = env.ExecuteActivity(f.acts.SyncPush, activities.SyncPushInput{SyncID: id, IntegrationID: f.integration,
		ClientID: f.client, MaxItems: 10})
	require.Error(t, err, "the chunk stopped for the pause")

	got, err := f.store.GetContent(ctx, made.ID)
	require.NoError(t, err)
	require.NotEmpty(t, got.ExternalID, "the Put in flight was finished and recorded")
	require.False(t, got.Dirty)

	// After resume, the chunk runs again: nothing is left to push, and the site has one copy.
	v, err := f.env.ExecuteActivity(f.acts.SyncPush, activities.SyncPushInput{SyncID: id, IntegrationID: f.integration,
		ClientID: f.client, MaxItems: 10})
	require.NoError(t, err)
	var res activities.SyncPushResult
	require.NoError(t, v.Get(&res))
	require.Zero(t, res.Pushed)
	require.Equal(t, 1, res.Counts.Pushed)
	require.Equal(t, 1, f.sitePosts("Pushed once"))
}

func TestSyncFailuresAreCounted(t *testing.T) {
	ctx := context.Background()

	t.Run("items a pull cannot store are counted with their page, once", func(t *testing.T) {
		f := newSyncFixture(t, platform.SiteConfig{PageSize: 10, ContentTypes: []string{"post"}})
		f.wrapSite(func(c platform.SiteClient) platform.SiteClient {
			return &siteWrap{SiteClient: c, list: func(ctx context.Context, typ, cursor string, since time.Time) (platform.SitePage, error) {
				page, err := c.List(ctx, typ, cursor, since)
				if cursor == "" && err == nil {
					page.Items = append(page.Items, platform.SiteItem{Type: typ, Title: "no id"},
						platform.SiteItem{Type: typ, Title: "also no id"})
				}
				return page, err
			}}
		})
		id, plan := f.begin(platform.DirectionFromExternal)
		in := activities.SyncPullInput{SyncID: id, IntegrationID: f.integration, ClientID: f.client,
			ContentTypes: plan.ContentTypes, Chain: id, ChunkPages: 2}
		first, err := f.pull(in)
		require.NoError(t, err)
		require.Equal(t, 2, first.Failed)
		require.Equal(t, 2, first.Counts.Failed)
		res, _ := f.pullAll(in)
		require.Equal(t, 2, res.Counts.Failed, "counted once")
		require.Equal(t, simPosts, res.Counts.Items)
		run, err := f.store.GetSyncRun(ctx, id)
		require.NoError(t, err)
		require.Equal(t, 2, run.Failed)

		_, err = f.env.ExecuteActivity(f.acts.FinishSync, activities.SyncFinishInput{SyncID: id, IntegrationID: f.integration,
			ClientID: f.client, Status: "SUCCESS", Counts: schema.SyncCounts{Pages: res.Counts.Pages, Failed: 1}})
		require.NoError(t, err)
		run, err = f.store.GetSyncRun(ctx, id)
		require.NoError(t, err)
		require.Equal(t, 2, run.Failed, "finishing keeps the larger count")
	})

	t.Run("items the site refuses a push are counted in the run", func(t *testing.T) {
		f := newSyncFixture(t, platform.SiteConfig{PageSize: 10, ContentTypes: []string{"post"}})
		id, _ := f.begin(platform.DirectionToExternal)
		term := platform.SiteItem{Type: platform.ContentCategory, Title: "Made in the hub"}
		_, err := f.store.CreateContent(ctx, schema.ContentRow{IntegrationID: f.integration, ClientID: f.client,
			ContentType: term.Type, Title: term.Title, ContentHash: term.Hash()})
		require.NoError(t, err)
		v, err := f.env.ExecuteActivity(f.acts.SyncPush, activities.SyncPushInput{SyncID: id, IntegrationID: f.integration,
			ClientID: f.client, MaxItems: 10})
		require.NoError(t, err)
		var res activities.SyncPushResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, 1, res.Failed)
		require.Equal(t, 1, res.Counts.Failed, "WordPress terms are read, not written")
		events, err := f.store.ListSyncEvents(ctx, f.integration, schema.Page{Limit: 10})
		require.NoError(t, err)
		require.Equal(t, activities.SyncActionPushed, events[0].Action)
		require.False(t, events[0].Success)
		require.NotEmpty(t, events[0].ErrorMessage)
	})
}
