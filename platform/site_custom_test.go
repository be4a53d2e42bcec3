package platform_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/platform"
)

// customSite is a site speaking the custom content protocol (platform.CustomSite) on
// loopback: articles in memory, one auth rule, and the requests it saw.
type customSite struct {
	mu        sync.Mutex
	articles  []customArticle // by id
	nextID    int
	authorize func(*http.Request) bool
	// queries are the listing queries received.
	queries []string
	// limited answers the next calls 429.
	limited int
}

type customArticle struct {
	ID        int       `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Status    string    `json:"status"`
	URL       string    `json:"url"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newCustomSite(t *testing.T, n int, authorize func(*http.Request) bool) (*customSite, *httptest.Server) {
	t.Helper()
	s := &customSite{authorize: authorize}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		s.nextID = i + 1
		s.articles = append(s.articles, customArticle{ID: i + 1, Title: "Article " + strconv.Itoa(i+1),
			Body: "<p>Body " + strconv.Itoa(i+1) + "</p>", Status: "published",
			URL: "https://cms.example.com/a/" + strconv.Itoa(i+1), UpdatedAt: base.Add(time.Duration(i) * time.Hour)})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, http.StatusOK, map[string]any{"name": "Acme CMS", "content_types": []string{"article"},
			"taxonomies": []string{"section"}, "timestamp": "2025-02-01T10:00:00+01:00"})
	})
	mux.HandleFunc("GET /api/article", s.list)
	mux.HandleFunc("POST /api/article", func(w http.ResponseWriter, r *http.Request) { s.put(w, r, 0) })
	mux.HandleFunc("GET /api/article/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if a := s.find(r.PathValue("id")); a != nil {
			writeJSONAnswer(w, http.StatusOK, a)
			return
		}
		writeJSONAnswer(w, http.StatusNotFound, map[string]string{"error": "no such article"})
	})
	mux.HandleFunc("PUT /api/article/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		s.put(w, r, id)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		limited := s.limited > 0
		if limited {
			s.limited--
		}
		s.mu.Unlock()
		switch {
		case limited:
			w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
			writeJSONAnswer(w, http.StatusTooManyRequests, map[string]string{"error": "slow down"})
		case !s.authorize(r):
			writeJSONAnswer(w, http.StatusUnauthorized, map[string]string{"message": "bad key", "code": "unauthorized"})
		default:
			mux.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return s, srv
}

func writeJSONAnswer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *customSite) find(id string) *customArticle {
	for i := range s.articles {
		if strconv.Itoa(s.articles[i].ID) == id {
			return &s.articles[i]
		}
	}
	return nil
}

// list pages by id: the cursor is the last id of the page before.
func (s *customSite) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 1000 {
		writeJSONAnswer(w, http.StatusBadRequest, map[string]string{"error": "limit"})
		return
	}
	after, _ := strconv.Atoi(q.Get("cursor"))
	var since time.Time
	if v := q.Get("updated_since"); v != "" {
		if since, err = time.Parse(time.RFC3339, v); err != nil {
			writeJSONAnswer(w, http.StatusBadRequest, map[string]string{"error": "updated_since"})
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, r.URL.RawQuery)
	matching := []customArticle{}
	for _, a := range s.articles {
		if a.UpdatedAt.After(since) {
			matching = append(matching, a)
		}
	}
	page := []customArticle{}
	for _, a := range matching {
		if a.ID > after && len(page) < limit {
			page = append(page, a)
		}
	}
	next := ""
	if len(page) == limit && page[len(page)-1].ID < matching[len(matching)-1].ID {
		next = strconv.Itoa(page[len(page)-1].ID)
	}
	writeJSONAnswer(w, http.StatusOK, map[string]any{"data": page, "next_cursor": next, "total": len(matching)})
}

func (s *customSite) put(w http.ResponseWriter, r *http.Request, id int) {
	var in struct{ Title, Body, Status string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Title == "" {
		writeJSONAnswer(w, http.StatusUnprocessableEntity, map[string]string{"error": "title is required"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Second)
	if id == 0 {
		s.nextID++
		s.articles = append(s.articles, customArticle{ID: s.nextID, Title: in.Title, Body: in.Body, Status: in.Status,
			UpdatedAt: now})
		writeJSONAnswer(w, http.StatusCreated, s.articles[len(s.articles)-1])
		return
	}
	a := s.find(strconv.Itoa(id))
	if a == nil {
		writeJSONAnswer(w, http.StatusNotFound, map[string]string{"error": "no such article"})
		return
	}
	a.Title, a.Body, a.Status, a.UpdatedAt = in.Title, in.Body, in.Status, now
	writeJSONAnswer(w, http.StatusOK, a)
}

func customIntegration(baseURL string, fields ...string) platform.Integration {
	f := map[string]string{"base_url": baseURL}
	for i := 0; i+1 < len(fields); i += 2 {
		f[fields[i]] = fields[i+1]
	}
	return platform.Integration{ID: "custom-1", Name: "cms", Platform: platform.Custom, Active: true,
		Credentials: platform.Credentials{Fields: f}}
}

func TestCustomSite(t *testing.T) {
	t.Parallel()
	const key = "acme-key-123456"
	site, srv := newCustomSite(t, 45, func(r *http.Request) bool { return r.Header.Get("X-Acme-Key") == key })
	in := customIntegration(srv.URL+"/api/", "auth_type", "api_key", "header", "X-Acme-Key", "api_key", key)
	c := siteClient(t, in, platform.SiteConfig{PageSize: 20})
	ctx := context.Background()

	t.Run("test and structure read the index", func(t *testing.T) {
		got := c.Test(ctx)
		require.True(t, got.Success, got.Message)
		require.Equal(t, "Acme CMS", got.Details["site_name"])
		require.Equal(t, []string{"article"}, got.Details["content_types"])
		st, err := c.Structure(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"article"}, st.PostTypes)
		require.Equal(t, []string{"section"}, st.Taxonomies)
		require.Equal(t, time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC), st.Timestamp)

		require.Empty(t, c.ContentTypes(), "a custom site's types come from its structure")
		withStructure := siteClient(t, in, platform.SiteConfig{Structure: &st})
		require.Equal(t, []string{"article"}, withStructure.ContentTypes())
	})

	t.Run("a wrong key fails the test and the calls", func(t *testing.T) {
		bad := siteClient(t, customIntegration(srv.URL+"/api", "auth_type", "api_key", "header", "X-Acme-Key", "api_key", "wrong-key-999"),
			platform.SiteConfig{})
		got := bad.Test(ctx)
		require.False(t, got.Success)
		require.Contains(t, got.Message, "refused the credentials")
		_, err := bad.Get(ctx, "article", "1")
		apiErr := requireAPIError(t, err)
		require.Equal(t, http.StatusUnauthorized, apiErr.Status)
		require.Equal(t, "unauthorized", apiErr.Code)
		require.Contains(t, apiErr.Message, "bad key")
	})

	t.Run("paging follows next_cursor", func(t *testing.T) {
		items, pages := listAll(t, c, "article", time.Time{})
		require.Len(t, items, 45)
		require.Len(t, pages, 3)
		require.Equal(t, 45, pages[0].Total)
		requireUnique(t, items)
		require.Equal(t, platform.SiteItem{ExternalID: "1", Type: "article", Title: "Article 1", Body: "<p>Body 1</p>",
			Status: "published", URL: "https://cms.example.com/a/1", ModifiedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, items[0])
		site.mu.Lock()
		require.Equal(t, []string{"limit=20", "cursor=20&limit=20", "cursor=40&limit=20"}, site.queries[len(site.queries)-3:])
		site.mu.Unlock()
	})

	t.Run("since asks for what was updated after it", func(t *testing.T) {
		since := time.Date(2025, 1, 1, 39, 0, 0, 0, time.UTC)
		items, _ := listAll(t, c, "article", since)
		require.Len(t, items, 5)
		require.Equal(t, "41", items[0].ExternalID)
		site.mu.Lock()
		require.Contains(t, site.queries[len(site.queries)-1], "updated_since=2025-01-02T15%3A00%3A00Z")
		site.mu.Unlock()
	})

	t.Run("get, put create and put update", func(t *testing.T) {
		got, err := c.Get(ctx, "article", "7")
		require.NoError(t, err)
		require.Equal(t, "Article 7", got.Title)
		_, err = c.Get(ctx, "article", "4242")
		require.ErrorIs(t, err, platform.ErrSiteItemNotFound)
		_, err = c.Get(ctx, "article", "")
		require.ErrorIs(t, err, platform.ErrSiteItemNotFound)

		created, err := c.Put(ctx, platform.SiteItem{Type: "article", Title: "New", Body: "b", Status: "draft"})
		require.NoError(t, err)
		require.Equal(t, "46", created.ExternalID)
		created.Title = "Newer"
		updated, err := c.Put(ctx, created)
		require.NoError(t, err)
		require.Equal(t, "Newer", updated.Title)
		seen, err := c.Get(ctx, "article", "46")
		require.NoError(t, err)
		require.Equal(t, updated, seen)

		_, err = c.Put(ctx, platform.SiteItem{ExternalID: "999", Type: "article", Title: "x"})
		require.ErrorIs(t, err, platform.ErrSiteItemNotFound)
		_, err = c.Put(ctx, platform.SiteItem{Type: "article"})
		apiErr := requireAPIError(t, err)
		require.Equal(t, http.StatusUnprocessableEntity, apiErr.Status)
		require.Contains(t, apiErr.Message, "title is required")
		_, err = c.List(ctx, "a/b", "", time.Time{})
		require.Equal(t, "unknown_content_type", requireAPIError(t, err).Code)
	})

	t.Run("a rate limit carries the site's Retry-After date", func(t *testing.T) {
		site.mu.Lock()
		site.limited = 1
		site.mu.Unlock()
		_, err := c.List(ctx, "article", "", time.Time{})
		apiErr := requireAPIError(t, err)
		require.True(t, apiErr.Temporary)
		require.InDelta(t, 90*time.Second, apiErr.RetryAfter, float64(3*time.Second))
		require.Contains(t, apiErr.Message, "slow down")
	})
}

func TestCustomSiteAuthTypes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		fields []string
		check  func(*http.Request) bool
	}{
		{"none", []string{"auth_type", "none"}, func(r *http.Request) bool { return r.Header.Get("Authorization") == "" }},
		{"basic", []string{"auth_type", "basic", "username", "editor", "password", "pass word"}, func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "editor" && p == "pass word"
		}},
		{"bearer", []string{"auth_type", "bearer", "token", "tok_abc"}, func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer tok_abc"
		}},
		{"api_key in the default header", []string{"auth_type", "api_key", "api_key", "k-1"}, func(r *http.Request) bool {
			return r.Header.Get("X-API-Key") == "k-1"
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newCustomSite(t, 3, c.check)
			got := siteClient(t, customIntegration(srv.URL+"/api", c.fields...), platform.SiteConfig{}).Test(context.Background())
			require.True(t, got.Success, got.Message)
		})
	}
}

func TestCustomSiteRefusesAnswersItCannotWalk(t *testing.T) {
	t.Parallel()
	answers := map[string]string{
		"/stuck/article":  `{"data": [{"id": 1}], "next_cursor": "c1"}`,
		"/noid/article":   `{"data": [{"title": "x"}]}`,
		"/nodata/article": `{"items": []}`,
		"/html/article":   `<html>not the protocol</html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(answers[r.URL.Path]))
	}))
	t.Cleanup(srv.Close)
	for prefix := range answers {
		base := srv.URL + strings.TrimSuffix(prefix, "/article")
		c := siteClient(t, customIntegration(base, "auth_type", "none"), platform.SiteConfig{})
		_, err := c.List(context.Background(), "article", "c1", time.Time{})
		if prefix != "/stuck/article" {
			_, err = c.List(context.Background(), "article", "", time.Time{})
		}
		require.Equal(t, "unexpected_response", requireAPIError(t, err).Code, prefix)
	}
	require.True(t, slices.Contains(platform.AuthTypes, platform.AuthAPIKey))
}
