package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/stretchr/testify/require"
)

// demoSites serves the site simulators with their default (demo) configuration on a loopback
// server.
func demoSites(t *testing.T) (SitesConfig, *httptest.Server) {
	t.Helper()
	var cfg SitesConfig
	require.NoError(t, envconfig.Process("", &cfg))
	s, err := NewSites(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	s.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return cfg, srv
}

// siteAnswer is a site simulator's answer, its body undecoded.
type siteAnswer struct {
	status int
	header http.Header
	raw    []byte
}

// decode reads the answer's JSON body into v.
func (a siteAnswer) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(a.raw, v), string(a.raw))
}

// siteCall sends a JSON body (if any) with header pairs to url; the body is kept undecoded.
func siteCall(t *testing.T, method, url, body string, header ...string) siteAnswer {
	t.Helper()
	status, h, raw := exchange(t, method, url, body, header...)
	return siteAnswer{status: status, header: h, raw: raw}
}

// wpPostView is the part of a wp/v2 post the tests read.
type wpPostView struct {
	ID          int    `json:"id"`
	Status      string `json:"status"`
	Type        string `json:"type"`
	Slug        string `json:"slug"`
	ModifiedGMT string `json:"modified_gmt"`
	Title       struct {
		Rendered string `json:"rendered"`
	} `json:"title"`
	Content struct {
		Rendered string `json:"rendered"`
	} `json:"content"`
	Categories []int `json:"categories"`
}

// wpErrorView is WordPress's error shape.
type wpErrorView struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Status int `json:"status"`
	} `json:"data"`
}

func requireWPError(t *testing.T, a siteAnswer, status int, code string) {
	t.Helper()
	require.Equal(t, status, a.status, string(a.raw))
	var e wpErrorView
	a.decode(t, &e)
	require.Equal(t, code, e.Code)
	require.Equal(t, status, e.Data.Status)
	require.NotEmpty(t, e.Message)
}

// wpAuth is the demo application password as an Authorization header pair.
func wpAuth(cfg SitesConfig, password string) []string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(cfg.WordPressUsername, password)
	return []string{"Authorization", req.Header.Get("Authorization")}
}

// wpListAll walks a listing's pages, checking the paging headers on each.
func wpListAll(t *testing.T, url string, header ...string) ([]wpPostView, int) {
	t.Helper()
	var all []wpPostView
	total, pages := -1, 1
	for page := 1; page <= pages; page++ {
		a := siteCall(t, http.MethodGet, url+"&page="+strconv.Itoa(page), "", header...)
		require.Equal(t, http.StatusOK, a.status, string(a.raw))
		n, err := strconv.Atoi(a.header.Get("X-WP-Total"))
		require.NoError(t, err)
		pages, err = strconv.Atoi(a.header.Get("X-WP-TotalPages"))
		require.NoError(t, err)
		if total >= 0 {
			require.Equal(t, total, n, "the total stays put during the walk")
		}
		total = n
		var got []wpPostView
		a.decode(t, &got)
		all = append(all, got...)
	}
	return all, total
}

func TestSitesConfig(t *testing.T) {
	var cfg SitesConfig
	require.NoError(t, envconfig.Process("", &cfg))
	require.Equal(t, SitesConfig{WordPressUsername: "demo", WordPressApplicationPassword: "abcd efgh ijkl mnop qrst uvwx",
		WordPressPosts: 200, ShopifyAccessToken: "shpat_demo_token", ShopifyProducts: 120, Seed: 2024}, cfg)

	bad := cfg
	bad.WordPressPosts = maxSiteItems + 1
	_, err := NewSites(bad)
	require.ErrorContains(t, err, "SIM_WP_POSTS")
	bad = cfg
	bad.ShopifyProducts = -1
	_, err = NewSites(bad)
	require.ErrorContains(t, err, "SIM_SHOPIFY_PRODUCTS")

	t.Run("the same seed makes the same sites", func(t *testing.T) {
		a, err := NewSites(cfg)
		require.NoError(t, err)
		b, err := NewSites(cfg)
		require.NoError(t, err)
		require.Equal(t, a.wp.posts, b.wp.posts)
		require.Equal(t, a.shop.products, b.shop.products)
	})
}

func TestWordPressAuth(t *testing.T) {
	t.Parallel()
	cfg, srv := demoSites(t)
	posts := srv.URL + "/wordpress/wp-json/wp/v2/posts"

	requireWPError(t, siteCall(t, http.MethodPost, posts, `{"title":"x"}`), http.StatusUnauthorized, "rest_not_logged_in")
	requireWPError(t, siteCall(t, http.MethodGet, posts, "", wpAuth(cfg, "wrong password")...),
		http.StatusUnauthorized, "incorrect_password")
	requireWPError(t, siteCall(t, http.MethodGet, posts+"?status=draft", ""), http.StatusUnauthorized, "rest_forbidden_status")

	// Published content is public; the password works with or without its spaces.
	require.Equal(t, http.StatusOK, siteCall(t, http.MethodGet, posts, "").status)
	for _, pw := range []string{"abcd efgh ijkl mnop qrst uvwx", "abcdefghijklmnopqrstuvwx"} {
		a := siteCall(t, http.MethodGet, posts+"?status=any", "", wpAuth(cfg, pw)...)
		require.Equal(t, http.StatusOK, a.status, string(a.raw))
	}

	var index struct {
		Name       string   `json:"name"`
		URL        string   `json:"url"`
		Namespaces []string `json:"namespaces"`
	}
	siteCall(t, http.MethodGet, srv.URL+"/wordpress/wp-json/", "", wpAuth(cfg, cfg.WordPressApplicationPassword)...).
		decode(t, &index)
	require.Equal(t, srv.URL+"/wordpress", index.URL)
	require.Contains(t, index.Namespaces, "wp/v2")

	var types map[string]struct {
		Name, Slug string
		RestBase   string `json:"rest_base"`
	}
	siteCall(t, http.MethodGet, srv.URL+"/wordpress/wp-json/wp/v2/types", "").decode(t, &types)
	require.Equal(t, "posts", types["post"].RestBase)
	require.Equal(t, "pages", types["page"].RestBase)
	requireWPError(t, siteCall(t, http.MethodGet, srv.URL+"/wordpress/wp-json/wp/v2/nope", ""),
		http.StatusNotFound, "rest_no_route")
}

func TestWordPressPaging(t *testing.T) {
	t.Parallel()
	_, srv := demoSites(t)
	root := srv.URL + "/wordpress/wp-json/wp/v2"

	for _, perPage := range []int{7, 100} {
		all, total := wpListAll(t, root+"/posts?orderby=id&order=asc&per_page="+strconv.Itoa(perPage))
		require.Equal(t, 200, total)
		require.Len(t, all, total)
		seen := map[int]bool{}
		for i, p := range all {
			require.False(t, seen[p.ID], "post %d twice", p.ID)
			seen[p.ID] = true
			require.Equal(t, "publish", p.Status)
			require.Equal(t, "post", p.Type)
			if i > 0 {
				require.Greater(t, p.ID, all[i-1].ID)
			}
		}
	}
	a := siteCall(t, http.MethodGet, root+"/posts?per_page=10&page=2", "")
	require.Equal(t, "20", a.header.Get("X-WP-TotalPages"))
	require.Contains(t, a.header.Get("Link"), `page=3&per_page=10>; rel="next"`)
	require.Contains(t, a.header.Get("Link"), `page=1&per_page=10>; rel="prev"`)

	requireWPError(t, siteCall(t, http.MethodGet, root+"/posts?per_page=10&page=21", ""),
		http.StatusBadRequest, "rest_post_invalid_page_number")
	requireWPError(t, siteCall(t, http.MethodGet, root+"/posts?per_page=101", ""), http.StatusBadRequest, "rest_invalid_param")
	requireWPError(t, siteCall(t, http.MethodGet, root+"/posts?modified_after=yesterday", ""),
		http.StatusBadRequest, "rest_invalid_param")

	pages, total := wpListAll(t, root+"/pages?per_page=100")
	require.Equal(t, 20, total)
	require.Len(t, pages, 20)
	for _, tax := range []struct {
		route string
		n     int
	}{{"categories", 8}, {"tags", 15}} {
		a := siteCall(t, http.MethodGet, root+"/"+tax.route+"?per_page=5", "")
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, strconv.Itoa(tax.n), a.header.Get("X-WP-Total"))
		var terms []map[string]any
		a.decode(t, &terms)
		require.Len(t, terms, 5)
	}

	t.Run("modified_after lists what changed since, touched and deleted posts included", func(t *testing.T) {
		all, _ := wpListAll(t, root+"/posts?orderby=modified&order=desc&per_page=100")
		latest := all[0].ModifiedGMT
		recent, n := wpListAll(t, root+"/posts?per_page=100&modified_after="+latest+"Z")
		require.Zero(t, n)
		require.Empty(t, recent)

		since, err := time.Parse("2006-01-02T15:04:05", all[100].ModifiedGMT)
		require.NoError(t, err)
		_, n = wpListAll(t, root+"/posts?per_page=100&modified_after="+since.Format(time.RFC3339))
		require.Equal(t, 100, n)

		touched := all[150].ID
		a := siteCall(t, http.MethodPost, srv.URL+"/_sim/wordpress/posts/"+strconv.Itoa(touched)+"/touch", "")
		require.Equal(t, http.StatusOK, a.status)
		recent, _ = wpListAll(t, root+"/posts?per_page=100&modified_after="+latest+"Z")
		require.Len(t, recent, 1)
		require.Equal(t, touched, recent[0].ID)
		require.Contains(t, recent[0].Content.Rendered, "Revision 1")

		gone := all[3].ID
		require.Equal(t, http.StatusNoContent,
			siteCall(t, http.MethodDelete, srv.URL+"/_sim/wordpress/posts/"+strconv.Itoa(gone), "").status)
		requireWPError(t, siteCall(t, http.MethodGet, root+"/posts/"+strconv.Itoa(gone), ""),
			http.StatusNotFound, "rest_post_invalid_id")
		_, n = wpListAll(t, root+"/posts?per_page=100")
		require.Equal(t, 199, n)
	})
}

func TestWordPressWrites(t *testing.T) {
	t.Parallel()
	cfg, srv := demoSites(t)
	posts := srv.URL + "/wordpress/wp-json/wp/v2/posts"
	auth := wpAuth(cfg, cfg.WordPressApplicationPassword)

	a := siteCall(t, http.MethodPost, posts, `{"title":"Hello from the hub","content":"<p>Hi</p>"}`, auth...)
	require.Equal(t, http.StatusCreated, a.status, string(a.raw))
	var created wpPostView
	a.decode(t, &created)
	require.Equal(t, "draft", created.Status, "WordPress creates drafts unless told")
	require.Equal(t, "hello-from-the-hub", created.Slug)
	require.Equal(t, posts+"/"+strconv.Itoa(created.ID), a.header.Get("Location"))
	one := posts + "/" + strconv.Itoa(created.ID)

	requireWPError(t, siteCall(t, http.MethodGet, one, ""), http.StatusUnauthorized, "rest_forbidden")
	_, n := wpListAll(t, posts+"?per_page=100")
	require.Equal(t, 200, n, "a draft is not published")
	_, n = wpListAll(t, posts+"?per_page=100&status=any", auth...)
	require.Equal(t, 201, n)

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
		a = siteCall(t, method, one, `{"title":{"raw":"Edited by `+method+`"},"status":"publish"}`, auth...)
		require.Equal(t, http.StatusOK, a.status, string(a.raw))
		var updated wpPostView
		a.decode(t, &updated)
		require.Equal(t, "Edited by "+method, updated.Title.Rendered)
		require.Equal(t, "publish", updated.Status)
		require.Greater(t, updated.ModifiedGMT, created.ModifiedGMT, "an update bumps modified")
		created = updated
	}
	requireWPError(t, siteCall(t, http.MethodPost, one, `{"status":"bogus"}`, auth...), http.StatusBadRequest, "rest_invalid_param")
	requireWPError(t, siteCall(t, http.MethodPost, posts+"/999999", `{"title":"x"}`, auth...),
		http.StatusNotFound, "rest_post_invalid_id")

	a = siteCall(t, http.MethodDelete, one, "", auth...)
	require.Equal(t, http.StatusOK, a.status)
	var trashed wpPostView
	a.decode(t, &trashed)
	require.Equal(t, "trash", trashed.Status)
	_, n = wpListAll(t, posts+"?per_page=100")
	require.Equal(t, 200, n)
	_, n = wpListAll(t, posts+"?per_page=100&status=trash", auth...)
	require.Equal(t, 1, n)
	requireWPError(t, siteCall(t, http.MethodDelete, one, "", auth...), http.StatusGone, "rest_already_trashed")

	a = siteCall(t, http.MethodDelete, one+"?force=true", "", auth...)
	require.Equal(t, http.StatusOK, a.status)
	var deleted struct {
		Deleted  bool       `json:"deleted"`
		Previous wpPostView `json:"previous"`
	}
	a.decode(t, &deleted)
	require.True(t, deleted.Deleted)
	require.Equal(t, created.ID, deleted.Previous.ID)
	requireWPError(t, siteCall(t, http.MethodGet, one, "", auth...), http.StatusNotFound, "rest_post_invalid_id")

	t.Run("pages have the same write routes under /pages", func(t *testing.T) {
		pages := srv.URL + "/wordpress/wp-json/wp/v2/pages"
		a := siteCall(t, http.MethodPost, pages, `{"title":"About us","status":"publish"}`, auth...)
		require.Equal(t, http.StatusCreated, a.status, string(a.raw))
		var page wpPostView
		a.decode(t, &page)
		require.Equal(t, pages+"/"+strconv.Itoa(page.ID), a.header.Get("Location"))
		a = siteCall(t, http.MethodPost, a.header.Get("Location"), `{"title":"About the hub"}`, auth...)
		require.Equal(t, http.StatusOK, a.status, string(a.raw))
		a.decode(t, &page)
		require.Equal(t, "About the hub", page.Title.Rendered)
		requireWPError(t, siteCall(t, http.MethodPost, posts+"/"+strconv.Itoa(page.ID), `{"title":"x"}`, auth...),
			http.StatusNotFound, "rest_post_invalid_id")
		_, n := wpListAll(t, pages+"?per_page=100")
		require.Equal(t, 21, n)
	})
}

// shopifyProductView is the part of a product the tests read.
type shopifyProductView struct {
	ID        int64  `json:"id"`
	Title     string `json:"title"`
	BodyHTML  string `json:"body_html"`
	Handle    string `json:"handle"`
	UpdatedAt string `json:"updated_at"`
	Variants  []struct {
		ID    int64  `json:"id"`
		Price string `json:"price"`
		SKU   string `json:"sku"`
	} `json:"variants"`
}

var linkRel = regexp.MustCompile(`<([^>]+)>; rel="(\w+)"`)

// links are a Link header's URLs by rel.
func links(h http.Header) map[string]string {
	out := map[string]string{}
	for _, m := range linkRel.FindAllStringSubmatch(h.Get("Link"), -1) {
		out[m[2]] = m[1]
	}
	return out
}

// shopifyWalk follows the Link header's next pages from url, returning every product and the
// pages' answers.
func shopifyWalk(t *testing.T, url, token string) ([]shopifyProductView, []siteAnswer) {
	t.Helper()
	var all []shopifyProductView
	var answers []siteAnswer
	for url != "" {
		a := siteCall(t, http.MethodGet, url, "", "X-Shopify-Access-Token", token)
		require.Equal(t, http.StatusOK, a.status, string(a.raw))
		var page struct {
			Products []shopifyProductView `json:"products"`
		}
		a.decode(t, &page)
		all = append(all, page.Products...)
		answers = append(answers, a)
		url = links(a.header)["next"]
	}
	return all, answers
}

func TestShopifyAuth(t *testing.T) {
	t.Parallel()
	cfg, srv := demoSites(t)
	api := srv.URL + "/shopify/admin/api/2024-10"
	for _, token := range []string{"", "shpat_wrong"} {
		a := siteCall(t, http.MethodGet, api+"/shop.json", "", "X-Shopify-Access-Token", token)
		require.Equal(t, http.StatusUnauthorized, a.status)
		require.JSONEq(t, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`,
			string(a.raw))
	}
	a := siteCall(t, http.MethodGet, api+"/shop.json", "", "X-Shopify-Access-Token", cfg.ShopifyAccessToken)
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "2024-10", a.header.Get("X-Shopify-API-Version"))
	var shop struct {
		Shop struct {
			Name string `json:"name"`
		} `json:"shop"`
	}
	a.decode(t, &shop)
	require.Equal(t, shopifyShopName, shop.Shop.Name)
}

func TestShopifyProducts(t *testing.T) {
	t.Parallel()
	cfg, srv := demoSites(t)
	api := srv.URL + "/shopify/admin/api/2024-10"
	token := cfg.ShopifyAccessToken

	all, pages := shopifyWalk(t, api+"/products.json", token)
	require.Len(t, pages, 3, "120 products, 50 a page")
	require.Len(t, all, 120)
	seen := map[int64]bool{}
	for i, p := range all {
		require.False(t, seen[p.ID], "product %d twice", p.ID)
		seen[p.ID] = true
		require.NotEmpty(t, p.Variants)
		if i > 0 {
			require.Greater(t, p.ID, all[i-1].ID)
		}
	}
	require.NotContains(t, links(pages[0].header), "previous")
	next := links(pages[0].header)["next"]
	require.Regexp(t, `^`+regexp.QuoteMeta(api)+`/products\.json\?limit=50&page_info=[\w-]+$`, next)

	t.Run("the previous link walks back to the page before", func(t *testing.T) {
		prev := links(pages[2].header)["previous"]
		back, _ := shopifyWalk(t, prev, token)
		require.Equal(t, all[50:], back)
		a := siteCall(t, http.MethodGet, next+"&updated_at_min=2020-01-01", "", "X-Shopify-Access-Token", token)
		require.Equal(t, http.StatusBadRequest, a.status, "only limit goes with a page_info")
	})

	t.Run("updated_at_min filters the walk, and touched and deleted products show", func(t *testing.T) {
		latest := all[0].UpdatedAt
		for _, p := range all {
			latest = max(latest, p.UpdatedAt)
		}
		since := time.Now().Add(-time.Minute).Format(time.RFC3339)
		recent, _ := shopifyWalk(t, api+"/products.json?limit=10&updated_at_min="+since, token)
		require.Empty(t, recent)

		id := strconv.FormatInt(all[77].ID, 10)
		a := siteCall(t, http.MethodPost, srv.URL+"/_sim/shopify/products/"+id+"/touch", "")
		require.Equal(t, http.StatusOK, a.status)
		recent, _ = shopifyWalk(t, api+"/products.json?limit=10&updated_at_min="+since, token)
		require.Len(t, recent, 1)
		require.Equal(t, all[77].ID, recent[0].ID)
		require.Contains(t, recent[0].BodyHTML, "Revision 1")
		require.Greater(t, recent[0].UpdatedAt, latest)

		require.Equal(t, http.StatusNoContent,
			siteCall(t, http.MethodDelete, srv.URL+"/_sim/shopify/products/"+strconv.FormatInt(all[5].ID, 10), "").status)
		left, _ := shopifyWalk(t, api+"/products.json?limit=250", token)
		require.Len(t, left, 119)
	})

	t.Run("products are created, updated and deleted", func(t *testing.T) {
		a := siteCall(t, http.MethodPost, api+"/products.json",
			`{"product":{"title":"Hub Mug","body_html":"<p>Mug</p>","variants":[{"price":"12.00","sku":"MUG-1"}]}}`,
			"X-Shopify-Access-Token", token)
		require.Equal(t, http.StatusCreated, a.status, string(a.raw))
		var created struct {
			Product shopifyProductView `json:"product"`
		}
		a.decode(t, &created)
		require.Equal(t, "hub-mug", created.Product.Handle)
		require.Equal(t, "MUG-1", created.Product.Variants[0].SKU)
		one := api + "/products/" + strconv.FormatInt(created.Product.ID, 10) + ".json"

		a = siteCall(t, http.MethodPut, one, `{"product":{"title":"Hub Mug XL"}}`, "X-Shopify-Access-Token", token)
		require.Equal(t, http.StatusOK, a.status, string(a.raw))
		var updated struct {
			Product shopifyProductView `json:"product"`
		}
		a.decode(t, &updated)
		require.Equal(t, "Hub Mug XL", updated.Product.Title)
		require.Equal(t, created.Product.Variants, updated.Product.Variants)
		require.Greater(t, updated.Product.UpdatedAt, created.Product.UpdatedAt)

		a = siteCall(t, http.MethodPost, api+"/products.json", `{"product":{"title":""}}`, "X-Shopify-Access-Token", token)
		require.Equal(t, http.StatusUnprocessableEntity, a.status)
		require.JSONEq(t, `{"errors":{"title":["can't be blank"]}}`, string(a.raw))

		require.Equal(t, http.StatusOK, siteCall(t, http.MethodDelete, one, "", "X-Shopify-Access-Token", token).status)
		a = siteCall(t, http.MethodGet, one, "", "X-Shopify-Access-Token", token)
		require.Equal(t, http.StatusNotFound, a.status)
		require.JSONEq(t, `{"errors":"Not Found"}`, string(a.raw))
	})
}

func TestSiteFaultsAndStats(t *testing.T) {
	t.Parallel()
	cfg, srv := demoSites(t)
	posts := srv.URL + "/wordpress/wp-json/wp/v2/posts"
	products := srv.URL + "/shopify/admin/api/2024-10/products.json"
	token := []string{"X-Shopify-Access-Token", cfg.ShopifyAccessToken}
	setSiteFault := func(fault string) {
		t.Helper()
		a := siteCall(t, http.MethodPut, srv.URL+"/_sim/sites/faults", fault)
		require.Equal(t, http.StatusNoContent, a.status, string(a.raw))
	}

	setSiteFault(`{"site":"wordpress","rate_limit":1,"retry_after":"2s","fail":1}`)
	var pending []SiteFault
	siteCall(t, http.MethodGet, srv.URL+"/_sim/sites/faults", "").decode(t, &pending)
	require.Len(t, pending, 1)
	a := siteCall(t, http.MethodGet, posts, "")
	requireWPError(t, a, http.StatusTooManyRequests, "rest_too_many_requests")
	require.Equal(t, "2", a.header.Get("Retry-After"))
	requireWPError(t, siteCall(t, http.MethodGet, posts, ""), http.StatusInternalServerError, "internal_server_error")
	require.Equal(t, http.StatusOK, siteCall(t, http.MethodGet, posts, "").status)

	setSiteFault(`{"site":"shopify","rate_limit":1,"retry_after":"2s","fail":1}`)
	a = siteCall(t, http.MethodGet, products, "", token...)
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, "2.0", a.header.Get("Retry-After"))
	require.JSONEq(t, `{"errors":"`+shopifyRateLimited+`"}`, string(a.raw))
	a = siteCall(t, http.MethodGet, products, "", token...)
	require.Equal(t, http.StatusInternalServerError, a.status)
	require.JSONEq(t, `{"errors":"Internal Server Error"}`, string(a.raw))

	setSiteFault(`{"site":"shopify","slow":"150ms","slow_pages":2}`)
	for range 2 {
		start := time.Now()
		require.Equal(t, http.StatusOK, siteCall(t, http.MethodGet, products, "", token...).status)
		require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
	}
	start := time.Now()
	require.Equal(t, http.StatusOK, siteCall(t, http.MethodGet, products, "", token...).status)
	require.Less(t, time.Since(start), 150*time.Millisecond)

	a = siteCall(t, http.MethodPut, srv.URL+"/_sim/sites/faults", `{"site":"ghost","fail":1}`)
	require.Equal(t, http.StatusBadRequest, a.status)
	a = siteCall(t, http.MethodPut, srv.URL+"/_sim/sites/faults", `{"site":"shopify","slow_pages":1}`)
	require.Equal(t, http.StatusBadRequest, a.status)
	setSiteFault(`{"site":"wordpress","fail":5}`)
	require.Equal(t, http.StatusNoContent, siteCall(t, http.MethodDelete, srv.URL+"/_sim/sites/faults", "").status)
	require.Equal(t, http.StatusOK, siteCall(t, http.MethodGet, posts, "").status)

	var stats map[string]map[string]int
	siteCall(t, http.MethodGet, srv.URL+"/_sim/sites/stats", "").decode(t, &stats)
	require.Equal(t, map[string]int{"GET /wp-json/wp/v2/posts": 4}, stats[siteWordPress])
	require.Equal(t, map[string]int{"GET /admin/api/{version}/products.json": 5}, stats[siteShopify])
	var pages map[string]map[string]int
	siteCall(t, http.MethodGet, srv.URL+"/_sim/sites/pages", "").decode(t, &pages)
	require.Equal(t, map[string]int{"GET /wp-json/wp/v2/posts?page=1": 4}, pages[siteWordPress],
		"each listing call is counted under the page it asked for")
	require.Equal(t, map[string]int{"GET /admin/api/{version}/products.json?page_info=first": 5}, pages[siteShopify])

	t.Run("a reset regenerates the sites and forgets the stats", func(t *testing.T) {
		require.Equal(t, http.StatusNoContent,
			siteCall(t, http.MethodDelete, srv.URL+"/_sim/wordpress/posts/"+firstPostID(t, posts), "").status)
		_, n := wpListAll(t, posts+"?per_page=100")
		require.Equal(t, 199, n)
		require.Equal(t, http.StatusNoContent, siteCall(t, http.MethodPost, srv.URL+"/_sim/sites/reset", "").status)
		_, n = wpListAll(t, posts+"?per_page=100")
		require.Equal(t, 200, n)
		siteCall(t, http.MethodGet, srv.URL+"/_sim/sites/stats", "").decode(t, &stats)
		require.Equal(t, map[string]int{"GET /wp-json/wp/v2/posts": 2}, stats[siteWordPress])
	})
}

// firstPostID is the id of the listing's first post.
func firstPostID(t *testing.T, posts string) string {
	t.Helper()
	var got []wpPostView
	siteCall(t, http.MethodGet, posts, "").decode(t, &got)
	require.NotEmpty(t, got)
	return strconv.Itoa(got[0].ID)
}
