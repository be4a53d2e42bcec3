package platform_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
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
	"github.com/switchyard-hub/switchyard/seal"
)

// fakeERP serves the ERP's API under /erp/v1 on loopback: records in memory by type, in id
// order, one key accepted as X-API-Key or a bearer token, and the requests it saw.
type fakeERP struct {
	mu      sync.Mutex
	key     string
	records map[string][]map[string]any // by entity type, in id order
	seq     map[string]int
	// queries are the listing queries received, listed the entity types they listed; bodies the
	// records posted or put.
	queries []string
	listed  []string
	bodies  []map[string]any
	// limited answers the next calls 429; unavailable 503.
	limited, unavailable int
}

var erpPrefixes = map[string]string{"customer": "cus", "invoice": "inv", "product": "prd"}

// erpEpoch is the first demo record's updated_at; each next one is an hour later.
var erpEpoch = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func newFakeERP(t *testing.T, customers int) (*fakeERP, *httptest.Server) {
	t.Helper()
	e := &fakeERP{key: "erp-key-0123456789", records: map[string][]map[string]any{}, seq: map[string]int{}}
	for i := range customers {
		at := erpEpoch.Add(time.Duration(i) * time.Hour).Format("2006-01-02T15:04:05.000Z07:00")
		e.add("customer", map[string]any{"name": "Customer " + strconv.Itoa(i+1),
			"email": fmt.Sprintf("c%d@example.com", i+1), "created_at": at, "updated_at": at})
	}
	e.add("invoice", map[string]any{"customer_id": "cus_000001", "amount": json.Number("12345678901234567890"),
		"currency": "usd", "status": "paid", "number": "INV-0001", "note": "<b>A & B</b>",
		"created_at": "2025-03-01T00:00:00.000Z", "updated_at": "2025-03-02T10:30:00.250Z"})
	e.add("product", map[string]any{"sku": "SKU-1", "name": "Lantern", "price": json.Number("1500"),
		"created_at": "2025-03-01T00:00:00.000Z", "updated_at": "2025-03-01T00:00:00.000Z"})
	e.add("product", map[string]any{"sku": "SKU-2", "price": json.Number("0"),
		"created_at": "2025-03-01T00:00:00.000Z", "updated_at": "2025-03-01T00:00:00.000Z"})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /erp/v1/{plural}", e.list)
	mux.HandleFunc("POST /erp/v1/{plural}", func(w http.ResponseWriter, r *http.Request) { e.put(w, r, "") })
	mux.HandleFunc("GET /erp/v1/{plural}/{id}", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if rec := e.find(r.PathValue("plural"), r.PathValue("id")); rec != nil {
			writeJSONAnswer(w, http.StatusOK, rec)
			return
		}
		erpError(w, http.StatusNotFound, "not_found", "no such record", nil)
	})
	mux.HandleFunc("PUT /erp/v1/{plural}/{id}", func(w http.ResponseWriter, r *http.Request) { e.put(w, r, r.PathValue("id")) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		limited, unavailable := e.limited > 0, e.unavailable > 0 && e.limited == 0
		if limited {
			e.limited--
		} else if unavailable {
			e.unavailable--
		}
		e.mu.Unlock()
		switch {
		case limited:
			w.Header().Set("Retry-After", "1")
			erpError(w, http.StatusTooManyRequests, "rate_limited", "", nil)
		case unavailable:
			w.Header().Set("Retry-After", "2")
			erpError(w, http.StatusServiceUnavailable, "unavailable", "", nil)
		case !strings.HasPrefix(r.URL.Path, "/erp/v1/"):
			http.NotFound(w, r) // not the ERP: a plain 404
		case r.Header.Get("X-API-Key") != e.key && r.Header.Get("Authorization") != "Bearer "+e.key:
			erpError(w, http.StatusUnauthorized, "unauthorized", "invalid API key", nil)
		default:
			mux.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return e, srv
}

// seen is the listing queries and the bodies received so far.
func (e *fakeERP) seen() (queries []string, bodies []map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.queries), slices.Clone(e.bodies)
}

// fault makes the next calls answer 429 (limited of them), then 503 (unavailable of them).
func (e *fakeERP) fault(limited, unavailable int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limited, e.unavailable = limited, unavailable
}

func erpError(w http.ResponseWriter, status int, code, message string, fields map[string]string) {
	e := map[string]any{"code": code}
	if message != "" {
		e["message"] = message
	}
	if fields != nil {
		e["fields"] = fields
	}
	writeJSONAnswer(w, status, map[string]any{"error": e})
}

// add stores a record of type t under the next id.
func (e *fakeERP) add(t string, rec map[string]any) map[string]any {
	e.seq[t]++
	rec["id"] = fmt.Sprintf("%s_%06d", erpPrefixes[t], e.seq[t])
	e.records[t] = append(e.records[t], rec)
	return rec
}

func (e *fakeERP) find(plural, id string) map[string]any {
	for _, rec := range e.records[strings.TrimSuffix(plural, "s")] {
		if rec["id"] == id {
			return rec
		}
	}
	return nil
}

func (e *fakeERP) list(w http.ResponseWriter, r *http.Request) {
	t := strings.TrimSuffix(r.PathValue("plural"), "s")
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 1000 {
		erpError(w, http.StatusBadRequest, "invalid_limit", "limit", nil)
		return
	}
	var since time.Time
	if v := q.Get("updated_since"); v != "" {
		if since, err = time.Parse(time.RFC3339, v); err != nil {
			erpError(w, http.StatusBadRequest, "invalid_updated_since", "updated_since", nil)
			return
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := erpPrefixes[t]; !ok {
		erpError(w, http.StatusNotFound, "not_found", "unknown entity type", nil)
		return
	}
	e.queries = append(e.queries, r.URL.RawQuery)
	e.listed = append(e.listed, t)
	after := q.Get("starting_after")
	if after != "" && e.find(t+"s", after) == nil {
		erpError(w, http.StatusBadRequest, "invalid_cursor", "unknown cursor", nil)
		return
	}
	page, more := []map[string]any{}, false
	for _, rec := range e.records[t] {
		updated, _ := time.Parse(time.RFC3339, rec["updated_at"].(string))
		if rec["id"].(string) <= after || !updated.After(since) {
			continue
		}
		if len(page) == limit {
			more = true
			break
		}
		page = append(page, rec)
	}
	next := ""
	if len(page) > 0 {
		next = page[len(page)-1]["id"].(string)
	}
	writeJSONAnswer(w, http.StatusOK, map[string]any{"data": page, "has_more": more, "next_cursor": next})
}

func (e *fakeERP) put(w http.ResponseWriter, r *http.Request, id string) {
	t := strings.TrimSuffix(r.PathValue("plural"), "s")
	var fields map[string]any
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		erpError(w, http.StatusBadRequest, "invalid_json", "the body is not JSON", nil)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bodies = append(e.bodies, maps.Clone(fields))
	if email, ok := fields["email"].(string); ok && !strings.Contains(email, "@") {
		erpError(w, http.StatusUnprocessableEntity, "validation_error", "invalid customer",
			map[string]string{"email": "must be an e-mail address"})
		return
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	if id == "" {
		fields["created_at"], fields["updated_at"] = now, now
		writeJSONAnswer(w, http.StatusCreated, e.add(t, fields))
		return
	}
	rec := e.find(t+"s", id)
	if rec == nil {
		erpError(w, http.StatusNotFound, "not_found", "no such record", nil)
		return
	}
	for k, v := range fields {
		if k != "id" && k != "created_at" {
			rec[k] = v
		}
	}
	rec["updated_at"] = now
	writeJSONAnswer(w, http.StatusOK, rec)
}

// erpIntegration is an erp integration with the credentials the worker fills in.
func erpIntegration(baseURL string, fields ...string) platform.Integration {
	f := map[string]string{"base_url": baseURL}
	for i := 0; i+1 < len(fields); i += 2 {
		f[fields[i]] = fields[i+1]
	}
	return platform.Integration{ID: "erp-1", Name: "erp", Platform: platform.ERP, Active: true,
		Credentials: platform.Credentials{Fields: f}}
}

func TestERPSite(t *testing.T) {
	t.Parallel()
	erp, srv := newFakeERP(t, 45)
	base := srv.URL + "/erp/v1"
	in := erpIntegration(base+"/", "auth_type", "api_key", "api_key", erp.key)
	c := siteClient(t, in, platform.SiteConfig{PageSize: 20})
	ctx := context.Background()
	lastQuery := func() string {
		queries, _ := erp.seen()
		return queries[len(queries)-1]
	}

	t.Run("the content types are the entity types, and the structure is made of them", func(t *testing.T) {
		require.Equal(t, []string{"customer", "invoice", "product"}, c.ContentTypes())
		st, err := c.Structure(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"customer", "invoice", "product"}, st.PostTypes)
		require.Empty(t, st.Taxonomies)
		require.NotNil(t, st.Taxonomies)
		require.WithinDuration(t, time.Now(), st.Timestamp, time.Minute)

		only := siteClient(t, in, platform.SiteConfig{ContentTypes: []string{"invoice"}})
		require.Equal(t, []string{"invoice"}, only.ContentTypes())
		st, err = only.Structure(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"invoice"}, st.PostTypes)
	})

	lastListed := func() string {
		erp.mu.Lock()
		defer erp.mu.Unlock()
		return erp.listed[len(erp.listed)-1]
	}

	t.Run("a connection test lists one record of the first content type", func(t *testing.T) {
		got := c.Test(ctx)
		require.True(t, got.Success, got.Message)
		require.Equal(t, "limit=1", lastQuery())
		require.Equal(t, "customer", lastListed())
		require.Equal(t, []string{"customer", "invoice", "product"}, got.Details["entity_types"])

		products := siteClient(t, in, platform.SiteConfig{ContentTypes: []string{"product", "customer"}})
		got = products.Test(ctx)
		require.True(t, got.Success, got.Message)
		require.Equal(t, "product", lastListed(), "the first content type is listed, whichever it is")
		require.Equal(t, []string{"product", "customer"}, got.Details["entity_types"])

		orders := siteClient(t, in, platform.SiteConfig{ContentTypes: []string{"sales_order"}})
		got = orders.Test(ctx)
		require.False(t, got.Success, "the fake ERP has no sales orders")
	})

	t.Run("a wrong key fails the test and the calls, and never shows in them", func(t *testing.T) {
		bad := siteClient(t, erpIntegration(base, "api_key", "wrong-key-98765"), platform.SiteConfig{})
		got := bad.Test(ctx)
		require.False(t, got.Success)
		require.Contains(t, got.Message, "refused the credentials")
		_, err := bad.Get(ctx, "customer", "cus_000001")
		apiErr := requireAPIError(t, err)
		require.Equal(t, http.StatusUnauthorized, apiErr.Status)
		require.Equal(t, "unauthorized", apiErr.Code)
		require.Contains(t, apiErr.Message, "invalid API key")
		require.False(t, apiErr.Temporary)
		requireNoSecret(t, []string{"wrong-key-98765"}, got.Message, err.Error())
	})

	t.Run("the key goes as a bearer token, or in the header named", func(t *testing.T) {
		bearer := siteClient(t, erpIntegration(base, "auth_type", "bearer", "api_key", erp.key), platform.SiteConfig{})
		got := bearer.Test(ctx)
		require.True(t, got.Success, got.Message)
		other := siteClient(t, erpIntegration(base, "api_key", erp.key, "header", "X-Other-Key"), platform.SiteConfig{})
		require.False(t, other.Test(ctx).Success, "the fake ERP reads X-API-Key only")
	})

	t.Run("paging follows next_cursor while has_more", func(t *testing.T) {
		items, pages := listAll(t, c, "customer", time.Time{})
		require.Len(t, items, 45)
		require.Len(t, pages, 3)
		requireUnique(t, items)
		require.Equal(t, []string{"cus_000020", "cus_000040", ""}, []string{pages[0].Next, pages[1].Next, pages[2].Next})
		for _, p := range pages {
			require.Equal(t, -1, p.Total)
		}
		queries, _ := erp.seen()
		require.Equal(t, []string{"limit=20", "limit=20&starting_after=cus_000020", "limit=20&starting_after=cus_000040"},
			queries[len(queries)-3:])

		_, err := c.List(ctx, "customer", "cus_999999", time.Time{})
		apiErr := requireAPIError(t, err)
		require.Equal(t, "invalid_cursor", apiErr.Code)
		require.False(t, apiErr.Temporary)
	})

	t.Run("since asks for what was updated after it", func(t *testing.T) {
		since := erpEpoch.Add(39*time.Hour + 500*time.Millisecond)
		items, pages := listAll(t, c, "customer", since)
		require.Len(t, pages, 1)
		require.Len(t, items, 5)
		require.Equal(t, "cus_000041", items[0].ExternalID)
		require.Equal(t, "limit=20&updated_since=2025-03-02T15%3A00%3A00Z", lastQuery())
	})

	t.Run("a record is an item: title, canonical body, status and time", func(t *testing.T) {
		customers, err := c.List(ctx, "customer", "", time.Time{})
		require.NoError(t, err)
		require.Equal(t, platform.SiteItem{ExternalID: "cus_000001", Type: "customer", Title: "Customer 1",
			Body: `{"email":"c1@example.com","name":"Customer 1"}`, Status: "active", ModifiedAt: erpEpoch}, customers.Items[0])

		invoices, err := c.List(ctx, "invoice", "", time.Time{})
		require.NoError(t, err)
		// Keys sorted, numbers as written, HTML characters as they are.
		const invoiceBody = `{"amount":12345678901234567890,"currency":"usd","customer_id":"cus_000001",` +
			`"note":"<b>A & B</b>","number":"INV-0001","status":"paid"}`
		require.Equal(t, platform.SiteItem{ExternalID: "inv_000001", Type: "invoice", Title: "INV-0001", Body: invoiceBody,
			Status: "paid", ModifiedAt: time.Date(2025, 3, 2, 10, 30, 0, 250e6, time.UTC)}, invoices.Items[0])

		products, _ := listAll(t, c, "product", time.Time{})
		require.Len(t, products, 2)
		require.Equal(t, "Lantern", products[0].Title, "name comes before sku")
		require.Equal(t, "SKU-2", products[1].Title)
		require.Equal(t, `{"price":0,"sku":"SKU-2"}`, products[1].Body)
	})

	t.Run("get reads one record, or says the ERP has none", func(t *testing.T) {
		got, err := c.Get(ctx, "invoice", "inv_000001")
		require.NoError(t, err)
		require.Equal(t, "INV-0001", got.Title)
		for _, id := range []string{"inv_424242", "", strings.Repeat("x", 300)} {
			_, err = c.Get(ctx, "invoice", id)
			require.ErrorIs(t, err, platform.ErrSiteItemNotFound, id)
		}

		// A 404 that is not the ERP's (a wrong base_url) is a failure, not a missing record.
		lost := siteClient(t, erpIntegration(srv.URL+"/elsewhere/v1", "api_key", erp.key), platform.SiteConfig{})
		_, err = lost.Get(ctx, "invoice", "inv_000001")
		apiErr := requireAPIError(t, err)
		require.Equal(t, http.StatusNotFound, apiErr.Status)
		require.NotErrorIs(t, err, platform.ErrSiteItemNotFound)

		_, err = c.List(ctx, "../customer", "", time.Time{})
		require.Equal(t, "unknown_content_type", requireAPIError(t, err).Code)
	})

	t.Run("put creates a record, then updates it, with the body's fields", func(t *testing.T) {
		created, err := c.Put(ctx, platform.SiteItem{Type: "customer", Title: "ignored", Status: "ignored",
			Body: `{"name": "Hub Customer", "email": "hub@example.com", "id": "cus_forged", "tier": 2}`})
		require.NoError(t, err)
		require.Equal(t, "cus_000046", created.ExternalID)
		require.Equal(t, "Hub Customer", created.Title)
		require.Equal(t, "active", created.Status)
		require.Equal(t, `{"email":"hub@example.com","name":"Hub Customer","tier":2}`, created.Body)
		_, bodies := erp.seen()
		require.Equal(t, map[string]any{"name": "Hub Customer", "email": "hub@example.com", "tier": json.Number("2")},
			bodies[len(bodies)-1], "the body's fields are the record; the ERP names it")

		edit := created
		edit.Body = `{"name": "Hub Customer II", "email": "hub@example.com", "tier": 3}`
		updated, err := c.Put(ctx, edit)
		require.NoError(t, err)
		require.Equal(t, created.ExternalID, updated.ExternalID)
		require.Equal(t, "Hub Customer II", updated.Title)
		require.Equal(t, `{"email":"hub@example.com","name":"Hub Customer II","tier":3}`, updated.Body)
		require.False(t, updated.ModifiedAt.Before(created.ModifiedAt))
		seen, err := c.Get(ctx, "customer", created.ExternalID)
		require.NoError(t, err)
		require.Equal(t, updated, seen)
		require.Equal(t, edit.Body != created.Body, seen.Hash() != created.Hash())

		// A pulled item pushed back as it is: the ERP's own fields in it are left out.
		pulled, err := c.Get(ctx, "invoice", "inv_000001")
		require.NoError(t, err)
		again, err := c.Put(ctx, pulled)
		require.NoError(t, err)
		require.Equal(t, pulled.Hash(), again.Hash())

		_, err = c.Put(ctx, platform.SiteItem{ExternalID: "cus_999999", Type: "customer", Body: `{"name": "x"}`})
		require.ErrorIs(t, err, platform.ErrSiteItemNotFound)

		_, err = c.Put(ctx, platform.SiteItem{Type: "customer", Body: `{"name": "x", "email": "nope"}`})
		apiErr := requireAPIError(t, err)
		require.Equal(t, http.StatusUnprocessableEntity, apiErr.Status)
		require.Equal(t, "validation_error", apiErr.Code)
		require.Contains(t, apiErr.Message, "email: must be an e-mail address")
		require.False(t, apiErr.Temporary)
	})

	t.Run("a body that is not a JSON object is refused without calling the ERP", func(t *testing.T) {
		_, before := erp.seen()
		for _, body := range []string{"", "plain text", "[1, 2]", `"name"`, "null", `{"name": "x"} {}`} {
			_, err := c.Put(ctx, platform.SiteItem{Type: "customer", Title: "x", Body: body})
			apiErr := requireAPIError(t, err)
			require.Equal(t, "invalid_content", apiErr.Code, body)
			require.False(t, apiErr.Temporary)
			require.NotErrorIs(t, err, platform.ErrSiteItemNotFound)
		}
		_, after := erp.seen()
		require.Equal(t, len(before), len(after))
	})

	t.Run("a rate limit and an outage are temporary, with the ERP's Retry-After", func(t *testing.T) {
		erp.fault(1, 1)
		_, err := c.List(ctx, "customer", "", time.Time{})
		apiErr := requireAPIError(t, err)
		require.Equal(t, http.StatusTooManyRequests, apiErr.Status)
		require.True(t, apiErr.Temporary)
		require.Equal(t, time.Second, apiErr.RetryAfter)
		require.Equal(t, "rate_limited", apiErr.Code)

		_, err = c.Get(ctx, "customer", "cus_000001")
		apiErr = requireAPIError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, apiErr.Status)
		require.True(t, apiErr.Temporary)
		require.Equal(t, 2*time.Second, apiErr.RetryAfter)
		require.NotErrorIs(t, err, platform.ErrSiteItemNotFound)

		page, err := c.List(ctx, "customer", "", time.Time{})
		require.NoError(t, err, "the faults are spent")
		require.Len(t, page.Items, 20)
	})
}

func TestERPSiteRefusesAnswersItCannotWalk(t *testing.T) {
	t.Parallel()
	answers := map[string]string{
		"/stuck/v1/customers":    `{"data": [{"id": "cus_000002"}], "has_more": true, "next_cursor": "cus_000001"}`,
		"/nocursor/v1/customers": `{"data": [{"id": "cus_000001"}], "has_more": true, "next_cursor": ""}`,
		"/noid/v1/customers":     `{"data": [{"name": "x"}], "has_more": false}`,
		"/nodata/v1/customers":   `{"records": []}`,
		"/html/v1/customers":     `<html>not the ERP</html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(answers[r.URL.Path]))
	}))
	t.Cleanup(srv.Close)
	for path := range answers {
		c := siteClient(t, erpIntegration(srv.URL+strings.TrimSuffix(path, "/customers"), "api_key", "k-1"), platform.SiteConfig{})
		cursor := ""
		if strings.HasPrefix(path, "/stuck/") {
			cursor = "cus_000001"
		}
		_, err := c.List(context.Background(), "customer", cursor, time.Time{})
		require.Equal(t, "unexpected_response", requireAPIError(t, err).Code, path)
	}
	// The last page's next_cursor names its last record, but has_more is false: the walk ends.
	answers["/last/v1/customers"] = `{"data": [{"id": "cus_000001"}], "has_more": false, "next_cursor": "cus_000001"}`
	c := siteClient(t, erpIntegration(srv.URL+"/last/v1", "api_key", "k-1"), platform.SiteConfig{})
	page, err := c.List(context.Background(), "customer", "", time.Time{})
	require.NoError(t, err)
	require.Empty(t, page.Next)
	require.Len(t, page.Items, 1)
}

func TestERPIntegrations(t *testing.T) {
	t.Parallel()
	stored := platform.Integration{Name: "erp", Platform: platform.ERP, Active: true,
		Credentials: platform.Credentials{Fields: map[string]string{}}}

	t.Run("erp is a site platform", func(t *testing.T) {
		require.Equal(t, platform.Name("erp"), platform.ERP)
		require.True(t, platform.ERP.Site())
		require.False(t, platform.ERP.Messaging())
		require.Equal(t, "erp", platform.ERP.PlatformType())
		require.Contains(t, platform.SiteNames, platform.ERP)
		require.Contains(t, platform.Names, platform.ERP)
		got, err := platform.ParseName("erp")
		require.NoError(t, err)
		require.Equal(t, platform.ERP, got)
		require.Equal(t, []string{"SYNC_CONTENT", "TEST_CONNECTION"}, platform.Capabilities(platform.ERP))
		require.Empty(t, platform.CredentialFields(platform.ERP))
		require.Equal(t, []string{"base_url", "auth_type", "api_key", "header"}, platform.OptionalCredentialFields(platform.ERP))
		require.Empty(t, platform.SigningField(platform.ERP))
		require.Equal(t, []string{"customer", "invoice", "product"}, platform.DefaultContentTypes(platform.ERP))
	})

	t.Run("a stored erp integration has no credentials of its own, and is valid", func(t *testing.T) {
		require.NoError(t, stored.Validate())
		require.NoError(t, platform.Integration{Platform: platform.ERP}.Validate(), "no fields at all")
		require.NoError(t, platform.SiteConfig{ContentTypes: []string{"customer", "invoice"}, PageSize: 1000}.Validate(platform.ERP))
		require.Equal(t, map[string]string{"config.page_size": "between 1 and 1000 (0: the default, 100)"},
			invalidFields(t, platform.SiteConfig{PageSize: 1001}.Validate(platform.ERP)))
	})

	t.Run("the credentials the worker fills in are checked", func(t *testing.T) {
		for _, in := range []platform.Integration{
			erpIntegration("http://127.0.0.1:8090/erp/v1", "auth_type", "api_key", "api_key", "k", "header", "X-ERP-Key"),
			erpIntegration("https://erp.example.com/v1", "auth_type", "bearer", "api_key", "k"),
			erpIntegration("https://erp.example.com/v1", "api_key", "k"),
		} {
			require.NoError(t, in.Validate(), in.Credentials.Fields)
		}
		require.Equal(t, map[string]string{
			"credentials.base_url":  "an absolute http or https URL without credentials, query or fragment",
			"credentials.auth_type": "one of api_key, bearer",
			"credentials.header":    "not a valid header name",
			"credentials.secret":    "unknown field for platform erp",
		}, invalidFields(t, erpIntegration("erp.example.com", "auth_type", "basic", "api_key", "k", "header", "Bad Header",
			"secret", "s").Validate()))
		require.Equal(t, map[string]string{"credentials.header": "not used by auth_type bearer"},
			invalidFields(t, erpIntegration("https://erp.example.com/v1", "auth_type", "bearer", "api_key", "k",
				"header", "X-Key").Validate()))
		in := erpIntegration("https://erp.example.com/v1", "api_key", "k")
		in.Credentials.Rotated = []platform.RotatedSecret{{Secret: "old"}}
		require.Equal(t, map[string]string{"credentials.rotated": "only for platforms whose webhooks are signed"},
			invalidFields(t, in.Validate()))
	})

	t.Run("a client needs the connector's base_url and key", func(t *testing.T) {
		_, err := platform.NewSiteClient(stored, platform.SiteConfig{}, nil)
		require.ErrorIs(t, err, platform.ErrERPNotConfigured)
		require.EqualError(t, err, "the ERP connector is not configured: set ERP_BASE_URL or ERP_SIMULATE=true")
		_, err = platform.NewSiteClient(erpIntegration("", "api_key", "k"), platform.SiteConfig{}, nil)
		require.ErrorIs(t, err, platform.ErrERPNotConfigured)
		_, err = platform.NewSiteClient(erpIntegration("http://127.0.0.1:8090/erp/v1"), platform.SiteConfig{}, nil)
		require.ErrorIs(t, err, platform.ErrERPNotConfigured)
		require.ErrorContains(t, err, "ERP_API_KEY")
		_, err = platform.NewSiteClient(erpIntegration("ftp://erp.example.com", "api_key", "k"), platform.SiteConfig{}, nil)
		require.Contains(t, invalidFields(t, err), "credentials.base_url")
		c, err := platform.NewSiteClient(erpIntegration("http://127.0.0.1:8090/erp/v1", "api_key", "k"), platform.SiteConfig{}, nil)
		require.NoError(t, err)
		require.IsType(t, &platform.ERPSite{}, c)
	})

	t.Run("an erp integration neither verifies webhooks nor sends", func(t *testing.T) {
		_, err := platform.Verify(stored, platform.Inbound{Method: http.MethodPost, Body: []byte(`{}`), Now: now})
		require.ErrorIs(t, err, platform.ErrUnsupported)
		_, err = platform.NewSender(nil, 0).Send(context.Background(), stored,
			platform.Outbound{To: "x", Content: platform.Content{Type: platform.ContentText, Text: "hi"}})
		require.ErrorIs(t, err, platform.ErrUnsupported)
	})
}

func TestVaultCardSecrets(t *testing.T) {
	t.Parallel()
	key, err := seal.GenerateKey("k1")
	require.NoError(t, err)
	ring, err := seal.ParseKeys(key, "")
	require.NoError(t, err)
	v := platform.NewVault(ring)

	sealed, err := v.SealCardSecret("4242424242424242")
	require.NoError(t, err)
	require.NotContains(t, sealed, "4242424242424242")
	opened, err := v.OpenCardSecret(sealed)
	require.NoError(t, err)
	require.Equal(t, "4242424242424242", opened)

	t.Run("card data opens only as card data", func(t *testing.T) {
		_, err := v.OpenSecret(sealed)
		require.ErrorIs(t, err, seal.ErrTampered)
		_, err = v.OpenSiteKey(sealed)
		require.Error(t, err)
		_, err = v.OpenCredentials(sealed)
		require.Error(t, err)

		secret, err := v.SealSecret("whsec_subscription")
		require.NoError(t, err)
		_, err = v.OpenCardSecret(secret)
		require.ErrorIs(t, err, seal.ErrTampered)
		require.ErrorContains(t, err, "card data")
	})
}
