package platform_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/sim"
)

// siteSims serves the WordPress and Shopify simulators, with their demo configuration, on
// loopback.
func siteSims(t *testing.T) (sim.SitesConfig, *httptest.Server) {
	t.Helper()
	var cfg sim.SitesConfig
	require.NoError(t, envconfig.Process("", &cfg))
	s, err := sim.NewSites(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	s.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return cfg, srv
}

// simFault makes the site simulator misbehave (see sim.SiteFault).
func simFault(t *testing.T, srv *httptest.Server, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, srv.URL+"/_sim/sites/faults", strings.NewReader(body))
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

func wordPress(siteURL, user, password string) platform.Integration {
	return platform.Integration{ID: "wp-1", Name: "blog", Platform: platform.WordPress, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{
			"site_url": siteURL, "username": user, "application_password": password}}}
}

func shopify(domain, token string) platform.Integration {
	return platform.Integration{ID: "shop-1", Name: "shop", Platform: platform.Shopify, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{"shop_domain": domain, "access_token": token}}}
}

func siteClient(t *testing.T, in platform.Integration, cfg platform.SiteConfig) platform.SiteClient {
	t.Helper()
	c, err := platform.NewSiteClient(in, cfg, &http.Client{Timeout: 10 * time.Second})
	require.NoError(t, err)
	return c
}

// listAll walks a type's pages from the first, returning the items and each page's answer.
func listAll(t *testing.T, c platform.SiteClient, contentType string, since time.Time) ([]platform.SiteItem, []platform.SitePage) {
	t.Helper()
	var (
		items  []platform.SiteItem
		pages  []platform.SitePage
		cursor string
	)
	for {
		p, err := c.List(context.Background(), contentType, cursor, since)
		require.NoError(t, err)
		items = append(items, p.Items...)
		pages = append(pages, p)
		if p.Next == "" {
			return items, pages
		}
		require.NotEqual(t, cursor, p.Next, "the cursor moves")
		cursor = p.Next
		require.Less(t, len(pages), 1000, "the walk ends")
	}
}

func requireUnique(t *testing.T, items []platform.SiteItem) {
	t.Helper()
	seen := map[string]bool{}
	for _, it := range items {
		require.NotEmpty(t, it.ExternalID)
		require.False(t, seen[it.ExternalID], "item %s listed twice", it.ExternalID)
		seen[it.ExternalID] = true
	}
}

// requireAPIError is err as an *APIError.
func requireAPIError(t *testing.T, err error) *platform.APIError {
	t.Helper()
	var apiErr *platform.APIError
	require.ErrorAs(t, err, &apiErr)
	return apiErr
}

// requireNoSecret checks that no text shows a secret, as given or in the forms it travels in.
func requireNoSecret(t *testing.T, secrets []string, texts ...string) {
	t.Helper()
	for _, s := range secrets {
		forms := []string{s, strings.ReplaceAll(s, " ", "")}
		for _, f := range forms {
			for _, text := range texts {
				require.NotContains(t, text, f)
			}
		}
	}
}

func TestWordPressSite(t *testing.T) {
	t.Parallel()
	cfg, srv := siteSims(t)
	site := srv.URL + "/wordpress"
	wp := siteClient(t, wordPress(site, cfg.WordPressUsername, cfg.WordPressApplicationPassword), platform.SiteConfig{})
	ctx := context.Background()

	t.Run("a connection test names the site and its content", func(t *testing.T) {
		got := wp.Test(ctx)
		require.True(t, got.Success, got.Message)
		require.Equal(t, "Switchyard Demo", got.Details["site_name"])
		require.Equal(t, site, got.Details["url"])
		require.Equal(t, 200, got.Details["post_count"])
		require.Equal(t, []string{"page", "post"}, got.Details["post_types"])
	})

	t.Run("a wrong application password fails the test, naming the credentials", func(t *testing.T) {
		bad := siteClient(t, wordPress(site, cfg.WordPressUsername, "wxyz wxyz wxyz wxyz wxyz wxyz"), platform.SiteConfig{})
		got := bad.Test(ctx)
		require.False(t, got.Success)
		require.Contains(t, got.Message, "refused the credentials")
		require.Contains(t, got.Message, "401")
		requireNoSecret(t, []string{"wxyz wxyz wxyz wxyz wxyz wxyz"}, got.Message)

		_, err := bad.List(ctx, "post", "", time.Time{})
		apiErr := requireAPIError(t, err)
		require.Equal(t, http.StatusUnauthorized, apiErr.Status)
		require.Equal(t, "incorrect_password", apiErr.Code)
		require.False(t, apiErr.Temporary)
	})

	t.Run("the password is accepted with or without its spaces, and site_url with /wp-json", func(t *testing.T) {
		for _, in := range []platform.Integration{
			wordPress(site+"/", cfg.WordPressUsername, strings.ReplaceAll(cfg.WordPressApplicationPassword, " ", "")),
			wordPress(site+"/wp-json", cfg.WordPressUsername, cfg.WordPressApplicationPassword),
			wordPress(site+"/wp-json/", cfg.WordPressUsername, cfg.WordPressApplicationPassword),
		} {
			got := siteClient(t, in, platform.SiteConfig{}).Test(ctx)
			require.True(t, got.Success, got.Message)
		}
	})

	t.Run("paging walks all 200 posts and 20 pages", func(t *testing.T) {
		require.Equal(t, []string{"post", "page"}, wp.ContentTypes())
		posts, pages := listAll(t, wp, "post", time.Time{})
		require.Len(t, posts, 200)
		requireUnique(t, posts)
		require.Len(t, pages, 2)
		require.Equal(t, "2", pages[0].Next)
		for _, p := range pages {
			require.Equal(t, 200, p.Total)
		}
		for i, it := range posts {
			require.Equal(t, "post", it.Type)
			require.NotEmpty(t, it.Title)
			require.NotEmpty(t, it.Body)
			require.Equal(t, "publish", it.Status)
			require.True(t, strings.HasPrefix(it.URL, site+"/"), it.URL)
			require.False(t, it.ModifiedAt.IsZero())
			require.Equal(t, time.UTC, it.ModifiedAt.Location())
			if i > 0 {
				a, _ := strconv.Atoi(posts[i-1].ExternalID)
				b, _ := strconv.Atoi(it.ExternalID)
				require.Less(t, a, b, "oldest id first")
			}
		}

		small := siteClient(t, wordPress(site, cfg.WordPressUsername, cfg.WordPressApplicationPassword), platform.SiteConfig{PageSize: 30})
		again, pages := listAll(t, small, "post", time.Time{})
		require.Len(t, pages, 7)
		require.Equal(t, posts, again)
		require.Len(t, pages[6].Items, 20)

		// A page size past WordPress's 100 is asked as 100.
		big := siteClient(t, wordPress(site, cfg.WordPressUsername, cfg.WordPressApplicationPassword), platform.SiteConfig{PageSize: 500})
		_, pages = listAll(t, big, "post", time.Time{})
		require.Len(t, pages, 2)

		pagesOfSite, _ := listAll(t, wp, "page", time.Time{})
		require.Len(t, pagesOfSite, 20)
	})

	t.Run("a page past the last is an empty last page", func(t *testing.T) {
		p, err := wp.List(ctx, "post", "9", time.Time{})
		require.NoError(t, err)
		require.Empty(t, p.Items)
		require.Empty(t, p.Next)
		_, err = wp.List(ctx, "post", "two", time.Time{})
		require.Equal(t, "invalid_cursor", requireAPIError(t, err).Code)
	})

	t.Run("since lists only what was modified after it", func(t *testing.T) {
		all, _ := listAll(t, wp, "post", time.Time{})
		since := all[150].ModifiedAt
		want := 0
		for _, it := range all {
			if it.ModifiedAt.After(since) {
				want++
			}
		}
		require.Positive(t, want)
		got, pages := listAll(t, wp, "post", since)
		require.Len(t, got, want)
		require.Equal(t, want, pages[0].Total)
		for _, it := range got {
			require.True(t, it.ModifiedAt.After(since))
		}
	})

	t.Run("taxonomy terms list as items", func(t *testing.T) {
		cats, _ := listAll(t, wp, "category", time.Time{})
		require.Len(t, cats, 8)
		require.Equal(t, "Uncategorized", cats[0].Title)
		require.Equal(t, "category", cats[0].Type)
		require.NotEmpty(t, cats[1].Body)
		tags, _ := listAll(t, wp, "tag", time.Time{})
		require.Len(t, tags, 15)
		requireUnique(t, append(cats, tags...))
	})

	t.Run("get reads one item, or says the site has none", func(t *testing.T) {
		first, err := wp.List(ctx, "post", "", time.Time{})
		require.NoError(t, err)
		got, err := wp.Get(ctx, "post", first.Items[3].ExternalID)
		require.NoError(t, err)
		require.Equal(t, first.Items[3], got)

		for _, id := range []string{"99999999", "abc", "", "0", "1/../2"} {
			_, err = wp.Get(ctx, "post", id)
			require.ErrorIs(t, err, platform.ErrSiteItemNotFound, id)
		}
		// A page's id is not a post's.
		page, err := wp.List(ctx, "page", "", time.Time{})
		require.NoError(t, err)
		_, err = wp.Get(ctx, "post", page.Items[0].ExternalID)
		require.ErrorIs(t, err, platform.ErrSiteItemNotFound)
	})

	t.Run("put creates a post, then updates it, at the site", func(t *testing.T) {
		created, err := wp.Put(ctx, platform.SiteItem{Type: "post", Title: "From the hub", Body: "<p>Hello.</p>", Status: "publish"})
		require.NoError(t, err)
		require.NotEmpty(t, created.ExternalID)
		require.Equal(t, "From the hub", created.Title)
		seen, err := wp.Get(ctx, "post", created.ExternalID)
		require.NoError(t, err)
		require.Equal(t, created, seen)
		require.Equal(t, "publish", seen.Status)

		edit := seen
		edit.Title, edit.Body, edit.Status = "From the hub, edited", "<p>Edited.</p>", "draft"
		updated, err := wp.Put(ctx, edit)
		require.NoError(t, err)
		require.Equal(t, created.ExternalID, updated.ExternalID)
		seen, err = wp.Get(ctx, "post", created.ExternalID)
		require.NoError(t, err)
		require.Equal(t, "From the hub, edited", seen.Title)
		require.Equal(t, "<p>Edited.</p>", seen.Body)
		require.Equal(t, "draft", seen.Status)
		require.True(t, seen.ModifiedAt.After(created.ModifiedAt))
		require.Equal(t, edit.Hash(), seen.Hash())

		// A draft is listed too: the sync sees every status but trash.
		since := created.ModifiedAt
		recent, _ := listAll(t, wp, "post", since)
		require.Contains(t, recent, seen)

		_, err = wp.Put(ctx, platform.SiteItem{ExternalID: "99999999", Type: "post", Title: "x"})
		require.ErrorIs(t, err, platform.ErrSiteItemNotFound)
		_, err = wp.Put(ctx, platform.SiteItem{Type: "category", Title: "x"})
		require.Equal(t, "unsupported", requireAPIError(t, err).Code)
	})

	t.Run("structure gives post types and taxonomies", func(t *testing.T) {
		st, err := wp.Structure(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"page", "post"}, st.PostTypes)
		require.Equal(t, []string{"category", "tag"}, st.Taxonomies)
		require.WithinDuration(t, time.Now(), st.Timestamp, time.Minute)
		require.Contains(t, st.Plugins, "woocommerce")
		require.False(t, st.Plugins["woocommerce"])
	})

	t.Run("an unknown content type is refused after asking the site", func(t *testing.T) {
		_, err := wp.List(ctx, "product", "", time.Time{})
		apiErr := requireAPIError(t, err)
		require.Equal(t, "unknown_content_type", apiErr.Code)
		require.False(t, apiErr.Temporary)
		_, err = wp.List(ctx, "../users", "", time.Time{})
		require.Equal(t, "unknown_content_type", requireAPIError(t, err).Code)
	})
}

// TestWordPressFaults runs on a simulator of its own: its faults are the site's next calls.
func TestWordPressFaults(t *testing.T) {
	t.Parallel()
	cfg, srv := siteSims(t)
	wp := siteClient(t, wordPress(srv.URL+"/wordpress", cfg.WordPressUsername, cfg.WordPressApplicationPassword), platform.SiteConfig{})
	ctx := context.Background()

	simFault(t, srv, `{"site": "wordpress", "rate_limit": 1, "retry_after": "3s", "fail": 1}`)
	_, err := wp.List(ctx, "post", "", time.Time{})
	apiErr := requireAPIError(t, err)
	require.Equal(t, http.StatusTooManyRequests, apiErr.Status)
	require.True(t, apiErr.Temporary)
	require.Equal(t, 3*time.Second, apiErr.RetryAfter)
	require.Equal(t, "rest_too_many_requests", apiErr.Code)

	_, err = wp.Get(ctx, "post", "5")
	apiErr = requireAPIError(t, err)
	require.Equal(t, http.StatusInternalServerError, apiErr.Status)
	require.True(t, apiErr.Temporary)
	require.NotErrorIs(t, err, platform.ErrSiteItemNotFound)

	got := wp.Test(ctx)
	require.True(t, got.Success, "the faults are spent: %s", got.Message)

	simFault(t, srv, `{"site": "wordpress", "fail": 1}`)
	got = wp.Test(ctx)
	require.False(t, got.Success)
	require.Contains(t, got.Message, "500")
}

func TestShopifySite(t *testing.T) {
	t.Parallel()
	cfg, srv := siteSims(t)
	shop := srv.URL + "/shopify"
	sh := siteClient(t, shopify(shop, cfg.ShopifyAccessToken), platform.SiteConfig{})
	ctx := context.Background()

	t.Run("a connection test names the shop", func(t *testing.T) {
		got := sh.Test(ctx)
		require.True(t, got.Success, got.Message)
		require.Equal(t, "Switchyard Demo", got.Details["shop_name"])
		require.Equal(t, "switchyard-demo.myshopify.com", got.Details["myshopify_domain"])
		require.Equal(t, "basic", got.Details["plan_name"])
	})

	t.Run("a wrong access token fails the test", func(t *testing.T) {
		bad := siteClient(t, shopify(shop, "shpat_wrong_token_1234"), platform.SiteConfig{})
		got := bad.Test(ctx)
		require.False(t, got.Success)
		require.Contains(t, got.Message, "refused the credentials")
		requireNoSecret(t, []string{"shpat_wrong_token_1234"}, got.Message)
		_, err := bad.Get(ctx, "product", "1")
		require.Equal(t, http.StatusUnauthorized, requireAPIError(t, err).Status)
	})

	t.Run("paging follows the Link cursors through all 120 products", func(t *testing.T) {
		require.Equal(t, []string{"product"}, sh.ContentTypes())
		all, pages := listAll(t, sh, "product", time.Time{})
		require.Len(t, all, 120)
		require.Len(t, pages, 1, "the default page is 250")

		small := siteClient(t, shopify(shop, cfg.ShopifyAccessToken), platform.SiteConfig{PageSize: 50})
		again, pages := listAll(t, small, "product", time.Time{})
		require.Len(t, pages, 3)
		require.Equal(t, []int{50, 50, 20}, []int{len(pages[0].Items), len(pages[1].Items), len(pages[2].Items)})
		require.NotEmpty(t, pages[0].Next)
		require.NotEqual(t, pages[0].Next, pages[1].Next)
		require.Equal(t, -1, pages[0].Total)
		require.Equal(t, all, again)
		requireUnique(t, all)
		drafts := 0
		for _, it := range all {
			require.Equal(t, "product", it.Type)
			require.NotEmpty(t, it.Title)
			require.NotEmpty(t, it.Body)
			require.True(t, strings.HasPrefix(it.URL, shop+"/products/"), it.URL)
			require.Equal(t, time.UTC, it.ModifiedAt.Location())
			if it.Status == "draft" {
				drafts++
			}
		}
		require.Equal(t, 12, drafts)
	})

	t.Run("since lists what was updated from it on, across pages", func(t *testing.T) {
		all, _ := listAll(t, sh, "product", time.Time{})
		times := make([]time.Time, len(all))
		for i, it := range all {
			times[i] = it.ModifiedAt
		}
		slices.SortFunc(times, time.Time.Compare)
		since := times[len(times)/2]
		want := 0
		for _, it := range all {
			if !it.ModifiedAt.Before(since) {
				want++
			}
		}
		small := siteClient(t, shopify(shop, cfg.ShopifyAccessToken), platform.SiteConfig{PageSize: 7})
		got, pages := listAll(t, small, "product", since)
		require.Len(t, got, want)
		require.Greater(t, len(pages), 1, "the filter holds past the first page")
		for _, it := range got {
			require.False(t, it.ModifiedAt.Before(since))
		}
	})

	t.Run("get, put create and put update", func(t *testing.T) {
		first, err := sh.List(ctx, "product", "", time.Time{})
		require.NoError(t, err)
		got, err := sh.Get(ctx, "product", first.Items[0].ExternalID)
		require.NoError(t, err)
		require.Equal(t, first.Items[0], got)
		for _, id := range []string{"1", "abc", ""} {
			_, err = sh.Get(ctx, "product", id)
			require.ErrorIs(t, err, platform.ErrSiteItemNotFound, id)
		}

		created, err := sh.Put(ctx, platform.SiteItem{Type: "product", Title: "Hub Lantern", Body: "<p>Bright.</p>", Status: "draft"})
		require.NoError(t, err)
		require.NotEmpty(t, created.ExternalID)
		require.Equal(t, shop+"/products/hub-lantern", created.URL)
		seen, err := sh.Get(ctx, "product", created.ExternalID)
		require.NoError(t, err)
		require.Equal(t, created, seen)
		require.Equal(t, "draft", seen.Status)

		seen.Title, seen.Status = "Hub Lantern II", "active"
		updated, err := sh.Put(ctx, seen)
		require.NoError(t, err)
		require.Equal(t, created.ExternalID, updated.ExternalID)
		after, err := sh.Get(ctx, "product", created.ExternalID)
		require.NoError(t, err)
		require.Equal(t, "Hub Lantern II", after.Title)
		require.Equal(t, "active", after.Status)
		require.True(t, after.ModifiedAt.After(created.ModifiedAt))

		_, err = sh.Put(ctx, platform.SiteItem{ExternalID: "123", Type: "product", Title: "gone"})
		require.ErrorIs(t, err, platform.ErrSiteItemNotFound)
		_, err = sh.Put(ctx, platform.SiteItem{Type: "product", Title: " "})
		apiErr := requireAPIError(t, err)
		require.Equal(t, http.StatusUnprocessableEntity, apiErr.Status)
		require.Contains(t, apiErr.Message, "title can't be blank")
		require.False(t, apiErr.Temporary)
		_, err = sh.List(ctx, "post", "", time.Time{})
		require.Equal(t, "unknown_content_type", requireAPIError(t, err).Code)
	})

	t.Run("structure is products", func(t *testing.T) {
		st, err := sh.Structure(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"product"}, st.PostTypes)
		require.Empty(t, st.Taxonomies)
	})
}

func TestShopifyFaults(t *testing.T) {
	t.Parallel()
	cfg, srv := siteSims(t)
	sh := siteClient(t, shopify(srv.URL+"/shopify", cfg.ShopifyAccessToken), platform.SiteConfig{PageSize: 50})
	ctx := context.Background()
	first, err := sh.List(ctx, "product", "", time.Time{})
	require.NoError(t, err)

	simFault(t, srv, `{"site": "shopify", "rate_limit": 1, "retry_after": "1500ms", "fail": 1}`)
	_, err = sh.List(ctx, "product", first.Next, time.Time{})
	apiErr := requireAPIError(t, err)
	require.Equal(t, http.StatusTooManyRequests, apiErr.Status)
	require.True(t, apiErr.Temporary)
	require.Equal(t, 1500*time.Millisecond, apiErr.RetryAfter)
	require.Contains(t, apiErr.Message, "Exceeded 2 calls per second")

	_, err = sh.List(ctx, "product", first.Next, time.Time{})
	apiErr = requireAPIError(t, err)
	require.Equal(t, http.StatusInternalServerError, apiErr.Status)
	require.True(t, apiErr.Temporary)

	// The cursor survives the failures: the walk resumes where it stood.
	second, err := sh.List(ctx, "product", first.Next, time.Time{})
	require.NoError(t, err)
	require.Len(t, second.Items, 50)
	require.NotEqual(t, first.Items[0].ExternalID, second.Items[0].ExternalID)
}

func TestSiteTransportFailures(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	ctx := context.Background()

	wp := siteClient(t, wordPress(addr, "demo", "abcd efgh ijkl mnop"), platform.SiteConfig{})
	_, err := wp.List(ctx, "post", "", time.Time{})
	apiErr := requireAPIError(t, err)
	require.True(t, apiErr.Temporary)
	require.Equal(t, 0, apiErr.Status)
	require.Equal(t, "transport", apiErr.Code)
	got := wp.Test(ctx)
	require.False(t, got.Success)
	require.Contains(t, got.Message, "connection test failed")

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = wp.Get(canceled, "post", "1")
	apiErr = requireAPIError(t, err)
	require.False(t, apiErr.Temporary)
	require.ErrorIs(t, err, context.Canceled)

	// The hub's own transport refuses loopback sites unless allowed.
	guarded := &http.Client{Transport: platform.Transport(false, 2), Timeout: 5 * time.Second}
	c, err := platform.NewSiteClient(shopify(addr, "shpat_token"), platform.SiteConfig{}, guarded)
	require.NoError(t, err)
	_, err = c.List(ctx, "product", "", time.Time{})
	apiErr = requireAPIError(t, err)
	require.ErrorIs(t, err, platform.ErrPrivateAddress)
	require.False(t, apiErr.Temporary)
}

func TestSiteErrorsNeverShowCredentials(t *testing.T) {
	t.Parallel()
	const (
		password = "Secr etPa ssw0 rdXY Z123 4567"
		token    = "shpat_very_secret_token"
		apiKey   = "key-0123456789abcdef"
	)
	basic := base64.StdEncoding.EncodeToString([]byte("demo:" + strings.ReplaceAll(password, " ", "")))
	// A site that echoes what it was sent, in its error and in a redirect to a closed address.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent := r.Header.Get("Authorization") + " " + r.Header.Get("X-Shopify-Access-Token") + " " + r.Header.Get("X-API-Key")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"code": "echo", "message": "you sent ` + sent + `", "errors": "you sent ` + sent +
			`", "error": "you sent ` + sent + `"}`))
	}))
	t.Cleanup(echo.Close)
	custom := platform.Integration{Platform: platform.Custom, Credentials: platform.Credentials{Fields: map[string]string{
		"base_url": echo.URL, "auth_type": "api_key", "api_key": apiKey}}}
	var texts []string
	for _, in := range []platform.Integration{wordPress(echo.URL, "demo", password), shopify(echo.URL, token), custom} {
		c := siteClient(t, in, platform.SiteConfig{})
		types := append(platform.DefaultContentTypes(in.Platform), "article")
		_, err := c.List(context.Background(), types[0], "", time.Time{})
		apiErr := requireAPIError(t, err)
		require.True(t, apiErr.Temporary)
		require.Equal(t, 2*time.Second, apiErr.RetryAfter)
		require.Contains(t, apiErr.Message, "you sent")
		texts = append(texts, err.Error(), c.Test(context.Background()).Message)
	}
	require.Len(t, texts, 6)
	requireNoSecret(t, []string{password, token, apiKey, basic}, texts...)
}

func TestSiteCredentialRules(t *testing.T) {
	t.Parallel()
	custom := func(fields map[string]string) platform.Integration {
		return platform.Integration{Platform: platform.Custom, Credentials: platform.Credentials{Fields: fields}}
	}
	t.Run("every site platform's credentials are accepted", func(t *testing.T) {
		for _, in := range []platform.Integration{
			wordPress("https://blog.example.com", "Jane Doe", "abcd efgh ijkl mnop qrst uvwx"),
			wordPress("http://127.0.0.1:8080/wordpress/wp-json", "demo", "abcdefghijklmnopqrstuvwx"),
			shopify("demo.myshopify.com", "shpat_abc"),
			shopify("http://127.0.0.1:9000/shopify", "shpat_abc"),
			custom(map[string]string{"base_url": "https://cms.example.com/api", "auth_type": "none"}),
			custom(map[string]string{"base_url": "https://cms.example.com", "auth_type": "basic", "username": "u", "password": "p w"}),
			custom(map[string]string{"base_url": "https://cms.example.com", "auth_type": "bearer", "token": "t0k"}),
			custom(map[string]string{"base_url": "https://cms.example.com", "auth_type": "api_key", "api_key": "k"}),
			custom(map[string]string{"base_url": "https://cms.example.com", "auth_type": "api_key", "api_key": "k", "header": "X-Site-Key"}),
		} {
			require.NoError(t, in.Validate(), in.Credentials.Fields)
			_, err := platform.ParseName(string(in.Platform))
			require.NoError(t, err)
		}
		in := wordPress("https://blog.example.com", "demo", "abcd efgh ijkl mnop")
		in.Credentials.Fields["api_key"] = "site-key"
		require.NoError(t, in.Validate(), "the site's api key may travel with the credentials")
		require.Equal(t, []string{"base_url", "auth_type"}, platform.CredentialFields(platform.Custom))
		require.Equal(t, []string{"username", "password", "token", "header", "api_key"}, platform.OptionalCredentialFields(platform.Custom))
		require.Equal(t, []string{"SYNC_CONTENT", "TEST_CONNECTION"}, platform.Capabilities(platform.Shopify))
		require.Empty(t, platform.SigningField(platform.WordPress))
	})

	t.Run("every problem is named", func(t *testing.T) {
		for _, c := range []struct {
			in   platform.Integration
			want map[string]string
		}{
			{wordPress("https://user:pw@blog.example.com", "a:b", "   "), map[string]string{
				"credentials.site_url":             "an absolute http or https URL without credentials, query or fragment",
				"credentials.username":             "must not contain a colon or control characters",
				"credentials.application_password": "an application password such as abcd efgh ijkl mnop qrst uvwx",
			}},
			{wordPress("blog.example.com", "demo", "abcd\nefgh"), map[string]string{
				"credentials.site_url":             "an absolute http or https URL without credentials, query or fragment",
				"credentials.application_password": "an application password such as abcd efgh ijkl mnop qrst uvwx",
			}},
			{shopify("demo shop", "shpat abc"), map[string]string{
				"credentials.shop_domain":  "a shop domain such as demo.myshopify.com, or an absolute http or https URL",
				"credentials.access_token": "must not contain spaces or control characters",
			}},
			{shopify("ftp://demo.myshopify.com", ""), map[string]string{
				"credentials.shop_domain":  "an absolute http or https URL without credentials, query or fragment",
				"credentials.access_token": "required",
			}},
			{custom(map[string]string{"base_url": "https://x.example?k=1", "auth_type": "oauth"}), map[string]string{
				"credentials.base_url":  "an absolute http or https URL without credentials, query or fragment",
				"credentials.auth_type": "one of none, basic, bearer, api_key",
			}},
			{custom(map[string]string{"base_url": "https://x.example", "auth_type": "basic", "token": "t"}), map[string]string{
				"credentials.username": "required for auth_type basic",
				"credentials.password": "required for auth_type basic",
				"credentials.token":    "not used by auth_type basic",
			}},
			{custom(map[string]string{"base_url": "https://x.example", "auth_type": "api_key", "header": "Bad Header"}), map[string]string{
				"credentials.api_key": "required for auth_type api_key",
				"credentials.header":  "not a valid header name",
			}},
			{custom(map[string]string{"base_url": "https://x.example", "auth_type": "none", "secret": "s"}), map[string]string{
				"credentials.secret": "unknown field for platform custom",
			}},
		} {
			require.Equal(t, c.want, invalidFields(t, c.in.Validate()), c.in.Credentials.Fields)
		}
		in := shopify("demo.myshopify.com", "shpat_abc")
		in.Credentials.Rotated = []platform.RotatedSecret{{Secret: "old"}}
		require.Equal(t, map[string]string{"credentials.rotated": "only for platforms whose webhooks are signed"},
			invalidFields(t, in.Validate()))
		in = shopify("demo.myshopify.com", "shpat_abc")
		in.Config.APIBaseURL = "https://api.example.com"
		require.Contains(t, invalidFields(t, in.Validate()), "config.api_base_url")
	})

	t.Run("site configs are checked", func(t *testing.T) {
		require.NoError(t, platform.SiteConfig{ContentTypes: []string{"post", "page", "product_review"}, PageSize: 100}.Validate(platform.WordPress))
		require.Equal(t, map[string]string{
			"config.content_types.0": "shopify syncs product only",
			"config.page_size":       "between 1 and 250 (0: the default, 250)",
		}, invalidFields(t, platform.SiteConfig{ContentTypes: []string{"post"}, PageSize: 251}.Validate(platform.Shopify)))
		require.Equal(t, map[string]string{
			"config.content_types.0": "1 to 64 characters of a-z, A-Z, 0-9, _ and -",
			"config.content_types.2": "listed twice",
			"config.page_size":       "between 1 and 100 (0: the default, 100)",
		}, invalidFields(t, platform.SiteConfig{ContentTypes: []string{"../x", "post", "post"}, PageSize: -1}.Validate(platform.WordPress)))
		require.Contains(t, invalidFields(t, platform.SiteConfig{}.Validate(platform.Slack)), "platform")

		_, err := platform.NewSiteClient(shopify("demo shop", "shpat_abc"), platform.SiteConfig{}, nil)
		require.Contains(t, invalidFields(t, err), "credentials.shop_domain")
		_, err = platform.NewSiteClient(whatsApp("secret"), platform.SiteConfig{}, nil)
		require.ErrorIs(t, err, platform.ErrUnsupported)
	})
}

func TestSitePlatformsAreNotMessagingOrWebhookPlatforms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, in := range []platform.Integration{
		wordPress("https://blog.example.com", "demo", "abcd efgh ijkl mnop"),
		shopify("demo.myshopify.com", "shpat_abc"),
		{Platform: platform.Custom, Credentials: platform.Credentials{Fields: map[string]string{"base_url": "https://x.example", "auth_type": "none"}}},
	} {
		_, err := platform.Verify(in, platform.Inbound{Method: http.MethodPost, Body: []byte(`{}`), Now: now})
		require.ErrorIs(t, err, platform.ErrUnsupported)
		require.ErrorContains(t, err, "site platform")
		_, err = platform.Normalize(in, nil, []byte(`{}`))
		require.ErrorIs(t, err, platform.ErrUnsupported)
		require.ErrorContains(t, err, "site platform")
		_, err = platform.Challenge(in, nil)
		require.ErrorIs(t, err, platform.ErrUnsupported)
		s := platform.NewSender(nil, 0)
		_, err = s.Send(ctx, in, platform.Outbound{To: "x", Content: platform.Content{Type: platform.ContentText, Text: "hi"}})
		require.ErrorIs(t, err, platform.ErrUnsupported)
		h := s.Health(ctx, in)
		require.False(t, h.OK)
		require.Contains(t, h.Error, "site platform")
		require.Empty(t, platform.SigningSecrets(in, now))
	}
}

func TestSiteAnswersAreCapped(t *testing.T) {
	t.Parallel()
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data": [{"id": "1", "body": "`))
		chunk := []byte(strings.Repeat("x", 1<<16))
		for written := 0; written <= platform.MaxSiteAnswerBytes; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		_, _ = w.Write([]byte(`"}]}`))
	}))
	t.Cleanup(big.Close)
	in := platform.Integration{Platform: platform.Custom, Credentials: platform.Credentials{Fields: map[string]string{
		"base_url": big.URL, "auth_type": "none"}}}
	c := siteClient(t, in, platform.SiteConfig{ContentTypes: []string{"article"}})
	_, err := c.List(context.Background(), "article", "", time.Time{})
	apiErr := requireAPIError(t, err)
	require.Equal(t, "response_too_large", apiErr.Code)
	require.False(t, apiErr.Temporary)

	_, err = c.Put(context.Background(), platform.SiteItem{Type: "article", Body: strings.Repeat("y", platform.MaxSiteAnswerBytes)})
	require.Equal(t, "request_too_large", requireAPIError(t, err).Code)
	require.False(t, errors.Is(err, platform.ErrSiteItemNotFound))
}

func TestSiteClientsNeverFollowARedirect(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer other.Close()
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer site.Close()

	c := siteClient(t, shopify(site.URL, "shpat_redirect_token"), platform.SiteConfig{})
	_, err := c.List(context.Background(), "product", "", time.Time{})
	apiErr := requireAPIError(t, err)
	require.Equal(t, http.StatusFound, apiErr.Status, "the redirect is the site's answer")
	_, err = c.Put(context.Background(), platform.SiteItem{Type: "product", Title: "x"})
	require.Error(t, err)
	require.Zero(t, elsewhere.Load(), "the access token never went to the host the site named")
}
