package activities_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
)

// siteWrap is a site client with some calls replaced.
type siteWrap struct {
	platform.SiteClient
	list func(ctx context.Context, contentType, cursor string, since time.Time) (platform.SitePage, error)
	put  func(ctx context.Context, item platform.SiteItem) (platform.SiteItem, error)
}

func (w *siteWrap) List(ctx context.Context, contentType, cursor string, since time.Time) (platform.SitePage, error) {
	if w.list != nil {
		return w.list(ctx, contentType, cursor, since)
	}
	return w.SiteClient.List(ctx, contentType, cursor, since)
}

func (w *siteWrap) Put(ctx context.Context, item platform.SiteItem) (platform.SiteItem, error) {
	if w.put != nil {
		return w.put(ctx, item)
	}
	return w.SiteClient.Put(ctx, item)
}

// wrapSite makes the fixture's activities talk to the site through wrap.
func (f *syncFixture) wrapSite(wrap func(platform.SiteClient) platform.SiteClient) {
	real := f.acts.Sites.Client
	f.acts.Sites.Client = func(in platform.Integration, cfg platform.SiteConfig) (platform.SiteClient, error) {
		c, err := real(in, cfg)
		if err != nil {
			return nil, err
		}
		return wrap(c), nil
	}
}

// postsByID lists the integration's live posts in the site's listing order (id ascending).
func (f *syncFixture) postsByID() []schema.ContentRow {
	f.t.Helper()
	rows, err := f.store.ListContents(context.Background(), f.integration, schema.Page{Limit: 1000})
	require.NoError(f.t, err)
	id := func(r schema.ContentRow) int {
		n, err := strconv.Atoi(r.ExternalID)
		require.NoError(f.t, err)
		return n
	}
	slices.SortFunc(rows, func(a, b schema.ContentRow) int { return id(a) - id(b) })
	return rows
}

// fullPull runs a whole full pull of the fixture's posts as a new run, chunk pages a chunk,
// calling between (when not nil) after the first chunk; it finishes the run.
func (f *syncFixture) fullPull(chunk int, between func()) (string, activities.SyncPullResult) {
	f.t.Helper()
	id, plan := f.begin(platform.DirectionFromExternal)
	in := activities.SyncPullInput{SyncID: id, IntegrationID: f.integration, ClientID: f.client,
		ContentTypes: plan.ContentTypes, Chain: id, ChunkPages: chunk}
	if between != nil {
		res, err := f.pull(in)
		require.NoError(f.t, err)
		require.False(f.t, res.Done)
		between()
	}
	res, _ := f.pullAll(in)
	f.finish(id)
	return id, res
}

func TestSyncSweepAsksTheSite(t *testing.T) {
	ctx := context.Background()

	t.Run("an item a deletion shifted past the pass's pages is kept; one deleted ahead of it is swept", func(t *testing.T) {
		f := newSyncFixture(t, platform.SiteConfig{PageSize: 10, ContentTypes: []string{"post"}})
		f.fullPull(10, nil)
		posts := f.postsByID()
		require.Len(t, posts, simPosts)
		seen, shifted, ahead := posts[3], posts[10], posts[30]

		// Page 1 is applied; then a post of page 1 is deleted at the site, and the first post of
		// page 2 moves up to page 1, which the pass has read already; a post of page 4 is
		// deleted too.
		run, res := f.fullPull(1, func() {
			f.simCall(http.MethodDelete, "/_sim/wordpress/posts/"+seen.ExternalID)
			f.simCall(http.MethodDelete, "/_sim/wordpress/posts/"+ahead.ExternalID)
		})
		require.Equal(t, 1, res.Counts.Deleted, "only the post the pass had not reached")
		gone, err := f.store.GetContent(ctx, ahead.ID)
		require.NoError(t, err)
		require.NotNil(t, gone.DeletedAt)
		kept, err := f.store.GetContent(ctx, shifted.ID)
		require.NoError(t, err)
		require.Nil(t, kept.DeletedAt, "the site still has it")
		require.Equal(t, run, kept.SeenRun)
		live, err := f.store.GetContent(ctx, seen.ID)
		require.NoError(t, err)
		require.Nil(t, live.DeletedAt, "seen by this pass before it was deleted: the next pass deletes it")

		events, err := f.store.ListSyncEvents(ctx, f.integration, schema.Page{Limit: 1000})
		require.NoError(t, err)
		var checked, unchecked bool
		for _, e := range events {
			if e.SyncRunID == run && e.ContentID == shifted.ID && e.Action == schema.SyncActionUnchanged {
				checked = true
			}
			unchecked = unchecked || (e.EventType == activities.SyncEventSync && e.Action == activities.SyncActionDeleted)
		}
		require.True(t, checked, "the kept item's event names the run")
		require.False(t, unchecked, "every candidate was asked about")

		_, res = f.fullPull(10, nil)
		require.Equal(t, 1, res.Counts.Deleted, "the next pass")
	})

	t.Run("a mass deletion is checked for its first hundred items and swept whole, with a note", func(t *testing.T) {
		const posts = 130
		f := newSyncFixtureOf(t, platform.SiteConfig{PageSize: 100, ContentTypes: []string{"post"}}, posts)
		f.fullPull(10, nil)
		rows := f.postsByID()
		require.Len(t, rows, posts)
		for _, r := range rows[:120] {
			f.simCall(http.MethodDelete, "/_sim/wordpress/posts/"+r.ExternalID)
		}
		run, res := f.fullPull(10, nil)
		require.Equal(t, 120, res.Counts.Deleted)
		require.Equal(t, posts-120, len(f.postsByID()))

		events, err := f.store.ListSyncEvents(ctx, f.integration, schema.Page{Limit: 1000})
		require.NoError(t, err)
		var note map[string]any
		for _, e := range events {
			if e.SyncRunID == run && e.EventType == activities.SyncEventSync && e.Action == activities.SyncActionDeleted {
				require.NoError(t, json.Unmarshal(e.Details, &note))
			}
		}
		require.NotNil(t, note, "the sweep of items not asked about is noted")
		require.EqualValues(t, 120, note["deleted"])
		require.EqualValues(t, 100, note["checked"])
		require.EqualValues(t, 0, note["kept"])
		require.EqualValues(t, 20, note["unchecked"])
		require.Contains(t, note["reason"], "more than 100")
	})
}
