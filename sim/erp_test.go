package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/provider"
)

// demoERP serves the ERP simulator with its demo data and the demo key on a loopback server.
func demoERP(t *testing.T) (*ERP, *httptest.Server) {
	t.Helper()
	e := NewERP(nil)
	mux := http.NewServeMux()
	e.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return e, srv
}

// erpCall calls the ERP API with the demo key.
func erpCall(t *testing.T, srv *httptest.Server, method, path, body string) answer {
	t.Helper()
	return call(t, method, srv.URL+"/erp"+path, body, "X-API-Key", DemoERPKey)
}

// requireERPError checks an ERP error answer and gives its error object.
func requireERPError(t *testing.T, a answer, status int, code string) map[string]any {
	t.Helper()
	require.Equal(t, status, a.status, "%v", a.body)
	e, ok := a.body["error"].(map[string]any)
	require.True(t, ok, "%v", a.body)
	require.Equal(t, code, e["code"], "%v", e)
	return e
}

// erpPage is one page of a listing.
type erpPage struct {
	Data       []map[string]any `json:"data"`
	HasMore    bool             `json:"has_more"`
	NextCursor string           `json:"next_cursor"`
}

func erpList(t *testing.T, srv *httptest.Server, path string) erpPage {
	t.Helper()
	status, _, raw := exchange(t, http.MethodGet, srv.URL+"/erp"+path, "", "X-API-Key", DemoERPKey)
	require.Equal(t, http.StatusOK, status, string(raw))
	var page erpPage
	require.NoError(t, json.Unmarshal(raw, &page))
	return page
}

func erpStats(t *testing.T, srv *httptest.Server) ERPStats {
	t.Helper()
	status, _, raw := exchange(t, http.MethodGet, srv.URL+"/_sim/erp/stats", "")
	require.Equal(t, http.StatusOK, status)
	var out ERPStats
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

var erpTime = `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`

func TestERPAuth(t *testing.T) {
	t.Parallel()
	_, srv := demoERP(t)
	e := requireERPError(t, call(t, http.MethodGet, srv.URL+"/erp/v1/customers", ""), http.StatusUnauthorized, "unauthorized")
	require.Equal(t, "invalid API key", e["message"])
	requireERPError(t, call(t, http.MethodGet, srv.URL+"/erp/v1/customers", "", "X-API-Key", "wrong"),
		http.StatusUnauthorized, "unauthorized")
	require.Equal(t, http.StatusOK, call(t, http.MethodGet, srv.URL+"/erp/v1/customers", "", "X-API-Key", DemoERPKey).status)
	require.Equal(t, http.StatusOK, call(t, http.MethodGet, srv.URL+"/erp/v1/customers", "", "Authorization", "Bearer "+DemoERPKey).status)

	serve := func(auth provider.Auth) *httptest.Server {
		e := NewERP(map[string]provider.Config{provider.IssuerERP: {Auth: auth}})
		mux := http.NewServeMux()
		e.Register(mux)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv
	}
	t.Run("the hub's key is its token, and then the demo key is refused", func(t *testing.T) {
		srv := serve(provider.Auth{Type: provider.AuthAPIKey, Token: "k-token"})
		require.Equal(t, http.StatusOK, call(t, http.MethodGet, srv.URL+"/erp/v1/products", "", "X-API-Key", "k-token").status)
		require.Equal(t, http.StatusOK, call(t, http.MethodGet, srv.URL+"/erp/v1/products", "", "Authorization", "Bearer k-token").status)
		require.Equal(t, http.StatusUnauthorized, call(t, http.MethodGet, srv.URL+"/erp/v1/products", "", "X-API-Key", DemoERPKey).status)
	})
	t.Run("without a token the demo key is the only one", func(t *testing.T) {
		for _, auth := range []provider.Auth{{Type: provider.AuthHMAC, HMACKeyID: "k-id", HMACSecret: "s"},
			{Type: provider.AuthBasic, Username: "k-user", Password: "p"}} {
			srv := serve(auth)
			require.Equal(t, http.StatusOK, call(t, http.MethodGet, srv.URL+"/erp/v1/products", "", "X-API-Key", DemoERPKey).status)
			for _, key := range []string{"k-id", "k-user"} {
				require.Equal(t, http.StatusUnauthorized, call(t, http.MethodGet, srv.URL+"/erp/v1/products", "", "X-API-Key", key).status)
			}
		}
	})
}

func TestERPRecords(t *testing.T) {
	t.Parallel()
	_, srv := demoERP(t)

	t.Run("create, read, update and delete a customer; unknown fields are kept", func(t *testing.T) {
		a := erpCall(t, srv, http.MethodPost, "/v1/customers",
			`{"name":"Ada Lovelace","email":"ada@example.com","tier":{"level":"gold"},"id":"mine","created_at":"x"}`)
		require.Equal(t, http.StatusCreated, a.status, "%v", a.body)
		require.Equal(t, "cus_000121", a.body["id"], "after the 120 demo customers")
		require.Regexp(t, erpTime, a.body["created_at"])
		require.Equal(t, a.body["created_at"], a.body["updated_at"])
		require.Equal(t, map[string]any{"level": "gold"}, a.body["tier"])

		got := erpCall(t, srv, http.MethodGet, "/v1/customers/cus_000121", "")
		require.Equal(t, http.StatusOK, got.status)
		require.Equal(t, a.body, got.body)

		time.Sleep(2 * time.Millisecond)
		up := erpCall(t, srv, http.MethodPut, "/v1/customers/cus_000121", `{"email":"ada@lovelace.org","id":"other"}`)
		require.Equal(t, http.StatusOK, up.status, "%v", up.body)
		require.Equal(t, "cus_000121", up.body["id"])
		require.Equal(t, "Ada Lovelace", up.body["name"])
		require.Equal(t, "ada@lovelace.org", up.body["email"])
		require.Equal(t, a.body["created_at"], up.body["created_at"])
		require.Greater(t, up.body["updated_at"], a.body["updated_at"])

		del := erpCall(t, srv, http.MethodDelete, "/v1/customers/cus_000121", "")
		require.Equal(t, http.StatusOK, del.status)
		require.Equal(t, map[string]any{"id": "cus_000121", "deleted": true}, del.body)
		requireERPError(t, erpCall(t, srv, http.MethodGet, "/v1/customers/cus_000121", ""), http.StatusNotFound, "not_found")
		requireERPError(t, erpCall(t, srv, http.MethodDelete, "/v1/customers/cus_000121", ""), http.StatusNotFound, "not_found")
		requireERPError(t, erpCall(t, srv, http.MethodPut, "/v1/customers/cus_000121", `{"name":"x"}`), http.StatusNotFound, "not_found")
		next := erpCall(t, srv, http.MethodPost, "/v1/customers", `{"name":"Next"}`)
		require.Equal(t, "cus_000122", next.body["id"], "ids are never reused")
	})
	t.Run("an invoice defaults to draft; a product's sku is unique", func(t *testing.T) {
		inv := erpCall(t, srv, http.MethodPost, "/v1/invoices", `{"customer_id":"cus_000001","amount":1250,"currency":"TZS"}`)
		require.Equal(t, http.StatusCreated, inv.status, "%v", inv.body)
		require.Equal(t, "inv_000046", inv.body["id"])
		require.Equal(t, "draft", inv.body["status"])
		require.EqualValues(t, 1250, inv.body["amount"])

		prd := erpCall(t, srv, http.MethodPost, "/v1/products", `{"sku":"NEW-1","name":"Widget","price":0}`)
		require.Equal(t, http.StatusCreated, prd.status, "%v", prd.body)
		require.Equal(t, "prd_000031", prd.body["id"])
		e := requireERPError(t, erpCall(t, srv, http.MethodPost, "/v1/products", `{"sku":"SKU-0001","name":"Copy"}`),
			http.StatusConflict, "conflict")
		require.Equal(t, "sku SKU-0001 exists", e["message"])
		requireERPError(t, erpCall(t, srv, http.MethodPut, "/v1/products/prd_000031", `{"sku":"SKU-0002"}`),
			http.StatusConflict, "conflict")
		renamed := erpCall(t, srv, http.MethodPut, "/v1/products/prd_000031", `{"sku":"NEW-2","price":99}`)
		require.Equal(t, http.StatusOK, renamed.status)
		require.Equal(t, "Widget", renamed.body["name"])
		require.Equal(t, http.StatusCreated, erpCall(t, srv, http.MethodPost, "/v1/products", `{"sku":"NEW-1","name":"Again"}`).status,
			"the old sku is free again")
		require.Equal(t, http.StatusOK, erpCall(t, srv, http.MethodDelete, "/v1/products/prd_000001", "").status)
		require.Equal(t, http.StatusCreated, erpCall(t, srv, http.MethodPost, "/v1/products", `{"sku":"SKU-0001","name":"Back"}`).status,
			"a deleted product's sku is free again")
	})
	t.Run("invalid records answer 422 with the fields", func(t *testing.T) {
		for _, tc := range []struct {
			path, body string
			fields     map[string]any
		}{
			{"/v1/customers", `{}`, map[string]any{"name": "is required"}},
			{"/v1/customers", `{"name":"","email":"nope"}`, map[string]any{"name": "must be a string of 1 to 200 characters",
				"email": "must be an e-mail address"}},
			{"/v1/invoices", `{"customer_id":"cus_999999","amount":-1,"currency":"US","status":"sent"}`, map[string]any{
				"customer_id": "must be an existing customer", "amount": "must be an integer ≥ 0", "currency": "must be 3 letters",
				"status": "must be one of draft, open, paid, void"}},
			{"/v1/invoices", `{"amount":1.5}`, map[string]any{"customer_id": "is required", "amount": "must be an integer ≥ 0",
				"currency": "is required"}},
			{"/v1/products", `{"price":"ten"}`, map[string]any{"sku": "is required", "name": "is required",
				"price": "must be an integer ≥ 0"}},
		} {
			e := requireERPError(t, erpCall(t, srv, http.MethodPost, tc.path, tc.body), http.StatusUnprocessableEntity, "validation_error")
			require.Equal(t, tc.fields, e["fields"], tc.body)
		}
		e := requireERPError(t, erpCall(t, srv, http.MethodPost, "/v1/customers", `{"name":"","email":"nope"}`),
			http.StatusUnprocessableEntity, "validation_error")
		require.Equal(t, "validation failed: email: must be an e-mail address; name: must be a string of 1 to 200 characters",
			e["message"], "the fields are named in order")
		e = requireERPError(t, erpCall(t, srv, http.MethodPut, "/v1/customers/cus_000002", `{"email":"a@"}`),
			http.StatusUnprocessableEntity, "validation_error")
		require.Equal(t, map[string]any{"email": "must be an e-mail address"}, e["fields"])
		require.Equal(t, "validation failed: email: must be an e-mail address", e["message"])
		require.NotEqual(t, "a@", erpCall(t, srv, http.MethodGet, "/v1/customers/cus_000002", "").body["email"], "unchanged")
	})
	t.Run("bad bodies and unknown types are refused", func(t *testing.T) {
		requireERPError(t, erpCall(t, srv, http.MethodPost, "/v1/customers", `[1]`), http.StatusBadRequest, "invalid_json")
		requireERPError(t, erpCall(t, srv, http.MethodPost, "/v1/customers", `{"name":"a"} {}`), http.StatusBadRequest, "invalid_json")
		big := `{"name":"a","notes":"` + string(make([]byte, 1<<20)) + `"}`
		require.Equal(t, http.StatusRequestEntityTooLarge, erpCall(t, srv, http.MethodPost, "/v1/customers", big).status)
		requireERPError(t, erpCall(t, srv, http.MethodGet, "/v1/widgets", ""), http.StatusNotFound, "not_found")
		requireERPError(t, erpCall(t, srv, http.MethodGet, "/v1/customer", ""), http.StatusNotFound, "not_found")
		requireERPError(t, erpCall(t, srv, http.MethodGet, "/v1/invoices/cus_000001", ""), http.StatusNotFound, "not_found")
	})
}

func TestERPPagination(t *testing.T) {
	t.Parallel()
	_, srv := demoERP(t)

	t.Run("the demo customers come in pages of 50: 50, 50, 20", func(t *testing.T) {
		var ids []string
		cursor := ""
		for _, want := range []int{50, 50, 20} {
			page := erpList(t, srv, "/v1/customers?limit=50&starting_after="+cursor)
			require.Len(t, page.Data, want)
			for _, rec := range page.Data {
				ids = append(ids, rec["id"].(string))
			}
			cursor = page.NextCursor
			if want == 20 {
				require.False(t, page.HasMore)
				require.Empty(t, page.NextCursor)
			} else {
				require.True(t, page.HasMore)
				require.Equal(t, ids[len(ids)-1], page.NextCursor)
			}
		}
		require.Len(t, ids, 120)
		require.Equal(t, "cus_000001", ids[0])
		require.Equal(t, "cus_000120", ids[119])
		require.IsIncreasing(t, ids)
		require.Len(t, erpList(t, srv, "/v1/customers").Data, 100, "the default limit")
		require.Len(t, erpList(t, srv, "/v1/products?limit=1000").Data, 30)
		require.Len(t, erpList(t, srv, "/v1/invoices?limit=1000").Data, 45)
	})
	t.Run("a deleted cursor still marks its place; an unknown cursor or limit is refused", func(t *testing.T) {
		require.Equal(t, http.StatusOK, erpCall(t, srv, http.MethodDelete, "/v1/customers/cus_000050", "").status)
		page := erpList(t, srv, "/v1/customers?limit=2&starting_after=cus_000050")
		require.Equal(t, "cus_000051", page.Data[0]["id"])
		page = erpList(t, srv, "/v1/customers?limit=2&starting_after=cus_000048")
		require.Equal(t, "cus_000049", page.Data[0]["id"])
		require.Equal(t, "cus_000051", page.Data[1]["id"])
		for _, bad := range []string{"cus_000999", "cus_1", "inv_000001", "nope"} {
			requireERPError(t, erpCall(t, srv, http.MethodGet, "/v1/customers?starting_after="+bad, ""),
				http.StatusBadRequest, "invalid_cursor")
		}
		for _, bad := range []string{"0", "1001", "x"} {
			requireERPError(t, erpCall(t, srv, http.MethodGet, "/v1/customers?limit="+bad, ""), http.StatusBadRequest, "invalid_parameter")
		}
		requireERPError(t, erpCall(t, srv, http.MethodGet, "/v1/customers?updated_since=yesterday", ""), http.StatusBadRequest,
			"invalid_parameter")
	})
	t.Run("updated_since keeps the records changed since", func(t *testing.T) {
		// The demo customers were made an hour apart from 2024-01-02T09:00:00Z.
		page := erpList(t, srv, "/v1/customers?limit=1000&updated_since=2024-01-06T13:00:00Z")
		require.Len(t, page.Data, 20)
		require.Equal(t, "cus_000101", page.Data[0]["id"])

		since := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
		require.Equal(t, http.StatusCreated, erpCall(t, srv, http.MethodPost, "/v1/customers", `{"name":"New"}`).status)
		require.Equal(t, http.StatusOK, erpCall(t, srv, http.MethodPut, "/v1/customers/cus_000005", `{"name":"Renamed"}`).status)
		page = erpList(t, srv, "/v1/customers?updated_since="+url.QueryEscape(since))
		require.Len(t, page.Data, 2)
		require.Equal(t, "cus_000005", page.Data[0]["id"])
		require.Equal(t, "Renamed", page.Data[0]["name"])
		require.Equal(t, "cus_000121", page.Data[1]["id"])
		page = erpList(t, srv, "/v1/customers?limit=1&updated_since="+url.QueryEscape(since))
		require.True(t, page.HasMore)
		require.Equal(t, "cus_000005", page.NextCursor)
	})
	t.Run("the demo data is the same on every start", func(t *testing.T) {
		_, other := demoERP(t)
		_, _, a := exchange(t, http.MethodGet, other.URL+"/erp/v1/invoices?limit=1000", "", "X-API-Key", DemoERPKey)
		_, again := demoERP(t)
		_, _, b := exchange(t, http.MethodGet, again.URL+"/erp/v1/invoices?limit=1000", "", "X-API-Key", DemoERPKey)
		require.JSONEq(t, string(a), string(b))
		inv := erpList(t, other, "/v1/invoices?limit=1").Data[0]
		require.Equal(t, "inv_000001", inv["id"])
		require.Regexp(t, `^cus_\d{6}$`, inv["customer_id"])
		require.Regexp(t, erpTime, inv["created_at"])
	})
}

func TestERPFaultsAndStats(t *testing.T) {
	t.Parallel()
	_, srv := demoERP(t)
	setFaults := func(body string) {
		t.Helper()
		require.Equal(t, http.StatusNoContent, call(t, http.MethodPut, srv.URL+"/_sim/erp/faults", body).status)
	}

	t.Run("rate limits answer 429 with Retry-After, then 503, then all is well", func(t *testing.T) {
		setFaults(`{"server_error":1,"rate_limit":1}`)
		a := erpCall(t, srv, http.MethodGet, "/v1/products", "")
		requireERPError(t, a, http.StatusTooManyRequests, "rate_limited")
		require.Equal(t, "1", a.header.Get("Retry-After"))
		requireERPError(t, erpCall(t, srv, http.MethodPost, "/v1/products", `{"sku":"F-1","name":"f"}`),
			http.StatusServiceUnavailable, "unavailable")
		require.Equal(t, http.StatusOK, erpCall(t, srv, http.MethodGet, "/v1/products", "").status)
		requireERPError(t, erpCall(t, srv, http.MethodGet, "/v1/products/prd_000031", ""), http.StatusNotFound, "not_found")

		setFaults(`{"server_error":3}`)
		status, _, _ := exchange(t, http.MethodDelete, srv.URL+"/_sim/erp/faults", "")
		require.Equal(t, http.StatusNoContent, status)
		require.Equal(t, http.StatusOK, erpCall(t, srv, http.MethodGet, "/v1/products", "").status)
		for _, bad := range []string{`{"rate_limit":-1}`, `{"delay":"2m"}`, `{`} {
			status, _, _ := exchange(t, http.MethodPut, srv.URL+"/_sim/erp/faults", bad)
			require.Equal(t, http.StatusBadRequest, status, bad)
		}
	})
	t.Run("stats count requests, pages and the most requests served at once", func(t *testing.T) {
		status, _, _ := exchange(t, http.MethodDelete, srv.URL+"/_sim/erp/stats", "")
		require.Equal(t, http.StatusNoContent, status)
		require.Equal(t, ERPStats{Records: map[string]int{"customer": 120, "invoice": 45, "product": 30}}, erpStats(t, srv))

		setFaults(`{"delay":"300ms"}`)
		var wg sync.WaitGroup
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.DefaultClient.Do(func() *http.Request {
					req, _ := http.NewRequest(http.MethodGet, srv.URL+"/erp/v1/customers?limit=10", nil)
					req.Header.Set("X-API-Key", DemoERPKey)
					return req
				}())
				if err == nil {
					resp.Body.Close()
				}
			}()
		}
		require.Eventually(t, func() bool { return erpStats(t, srv).InFlight == 5 }, 2*time.Second, 5*time.Millisecond)
		wg.Wait()
		stats := erpStats(t, srv)
		require.Equal(t, 5, stats.Requests)
		require.Equal(t, 0, stats.InFlight)
		require.Equal(t, 5, stats.MaxInFlight)
		require.Equal(t, 5, stats.PagesServed)

		status, _, _ = exchange(t, http.MethodDelete, srv.URL+"/_sim/erp/faults", "")
		require.Equal(t, http.StatusNoContent, status)
		start := time.Now()
		require.Equal(t, http.StatusOK, erpCall(t, srv, http.MethodGet, "/v1/products?limit=1", "").status)
		require.Less(t, time.Since(start), 300*time.Millisecond, "the delay is cleared")
		status, _, _ = exchange(t, http.MethodDelete, srv.URL+"/_sim/erp/stats", "")
		require.Equal(t, http.StatusNoContent, status)
		stats = erpStats(t, srv)
		require.Zero(t, stats.Requests)
		require.Zero(t, stats.MaxInFlight)
		require.Zero(t, stats.PagesServed)
	})
}

// erpKeyed calls the ERP API with the demo key and an Idempotency-Key.
func erpKeyed(t *testing.T, srv *httptest.Server, method, path, body, key string) answer {
	t.Helper()
	return call(t, method, srv.URL+"/erp"+path, body, "X-API-Key", DemoERPKey, "Idempotency-Key", key)
}

func TestERPIdempotency(t *testing.T) {
	t.Parallel()
	_, srv := demoERP(t)

	t.Run("a create repeated with its key (in any key order) answers the first answer, and makes one record", func(t *testing.T) {
		first := erpKeyed(t, srv, http.MethodPost, "/v1/customers", `{"name":"Ada","email":"ada@example.com"}`, "corr-1")
		require.Equal(t, http.StatusCreated, first.status, "%v", first.body)
		require.Empty(t, first.header.Get("Idempotent-Replayed"))
		again := erpKeyed(t, srv, http.MethodPost, "/v1/customers", `{ "email": "ada@example.com", "name": "Ada" }`, "corr-1")
		require.Equal(t, http.StatusCreated, again.status)
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		require.Equal(t, first.body, again.body)
		require.Equal(t, 121, erpStats(t, srv).Records["customer"])
		require.Equal(t, http.StatusOK, erpCall(t, srv, http.MethodGet, "/v1/customers/"+first.body["id"].(string), "").status)
	})
	t.Run("the key with another body, route or method answers 409 and changes nothing", func(t *testing.T) {
		for _, tc := range []struct{ method, path, body string }{
			{http.MethodPost, "/v1/customers", `{"name":"Ada","email":"ada@example.org"}`},
			{http.MethodPost, "/v1/products", `{"name":"Ada","email":"ada@example.com"}`},
			{http.MethodPut, "/v1/customers/cus_000001", `{"name":"Ada","email":"ada@example.com"}`},
			{http.MethodDelete, "/v1/customers/cus_000001", ""},
		} {
			e := requireERPError(t, erpKeyed(t, srv, tc.method, tc.path, tc.body, "corr-1"), http.StatusConflict, "idempotency_key_reused")
			require.Contains(t, e["message"], "corr-1")
		}
		require.Equal(t, 121, erpStats(t, srv).Records["customer"])
		require.NotEqual(t, "Ada", erpCall(t, srv, http.MethodGet, "/v1/customers/cus_000001", "").body["name"])
	})
	t.Run("without a key every create is a record", func(t *testing.T) {
		a := erpCall(t, srv, http.MethodPost, "/v1/products", `{"sku":"IDEM-0","name":"p"}`)
		require.Equal(t, http.StatusCreated, a.status)
		requireERPError(t, erpCall(t, srv, http.MethodPost, "/v1/products", `{"sku":"IDEM-0","name":"p"}`), http.StatusConflict, "conflict")
	})
	t.Run("an update and a delete are replayed; so are their refusals", func(t *testing.T) {
		up := erpKeyed(t, srv, http.MethodPut, "/v1/customers/cus_000003", `{"name":"Renamed"}`, "corr-put")
		require.Equal(t, http.StatusOK, up.status)
		time.Sleep(2 * time.Millisecond)
		again := erpKeyed(t, srv, http.MethodPut, "/v1/customers/cus_000003", `{"name":"Renamed"}`, "corr-put")
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		require.Equal(t, up.body["updated_at"], again.body["updated_at"], "not updated twice")

		del := erpKeyed(t, srv, http.MethodDelete, "/v1/customers/cus_000004", "", "corr-del")
		require.Equal(t, http.StatusOK, del.status)
		again = erpKeyed(t, srv, http.MethodDelete, "/v1/customers/cus_000004", "", "corr-del")
		require.Equal(t, http.StatusOK, again.status, "the retry of a delete that was done")
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))

		bad := erpKeyed(t, srv, http.MethodPost, "/v1/customers", `{"email":"x"}`, "corr-422")
		requireERPError(t, bad, http.StatusUnprocessableEntity, "validation_error")
		again = erpKeyed(t, srv, http.MethodPost, "/v1/customers", `{"email":"x"}`, "corr-422")
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		require.Equal(t, bad.body, again.body)
	})
	t.Run("a rate-limited or unavailable request keeps nothing for its key", func(t *testing.T) {
		require.Equal(t, http.StatusNoContent, call(t, http.MethodPut, srv.URL+"/_sim/erp/faults", `{"rate_limit":1,"server_error":1}`).status)
		const body = `{"sku":"IDEM-1","name":"p"}`
		requireERPError(t, erpKeyed(t, srv, http.MethodPost, "/v1/products", body, "corr-fault"), http.StatusTooManyRequests, "rate_limited")
		requireERPError(t, erpKeyed(t, srv, http.MethodPost, "/v1/products", body, "corr-fault"), http.StatusServiceUnavailable, "unavailable")
		a := erpKeyed(t, srv, http.MethodPost, "/v1/products", body, "corr-fault")
		require.Equal(t, http.StatusCreated, a.status, "%v", a.body)
		require.Empty(t, a.header.Get("Idempotent-Replayed"))
	})
	t.Run("a bad body or an over-long key is refused and keeps nothing", func(t *testing.T) {
		requireERPError(t, erpKeyed(t, srv, http.MethodPost, "/v1/products", `{`, "corr-json"), http.StatusBadRequest, "invalid_json")
		require.Equal(t, http.StatusCreated, erpKeyed(t, srv, http.MethodPost, "/v1/products", `{"sku":"IDEM-2","name":"p"}`, "corr-json").status)
		requireERPError(t, erpKeyed(t, srv, http.MethodPost, "/v1/products", `{"sku":"IDEM-3","name":"p"}`, strings.Repeat("k", 256)),
			http.StatusBadRequest, "invalid_idempotency_key")
	})
	t.Run("concurrent requests with one key make one record", func(t *testing.T) {
		before := erpStats(t, srv).Records["customer"]
		const n = 8
		ids := make([]any, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids[i] = erpKeyed(t, srv, http.MethodPost, "/v1/customers", `{"name":"Racer"}`, "corr-race").body["id"]
			}()
		}
		wg.Wait()
		for _, id := range ids {
			require.Equal(t, ids[0], id)
		}
		require.Equal(t, before+1, erpStats(t, srv).Records["customer"])
	})
	t.Run("a GET ignores the key", func(t *testing.T) {
		a := erpKeyed(t, srv, http.MethodGet, "/v1/customers/cus_000005", "", "corr-1")
		require.Equal(t, http.StatusOK, a.status)
		require.Empty(t, a.header.Get("Idempotent-Replayed"))
	})
}

func TestERPIdempotencyStoreForgetsTheOldest(t *testing.T) {
	t.Parallel()
	var s idempotencyStore
	for i := range maxIdempotencyStored + 1 {
		s.put(strconv.Itoa(i), &idempotentAnswer{status: http.StatusCreated})
	}
	_, ok := s.get("0")
	require.False(t, ok)
	_, ok = s.get("1")
	require.True(t, ok)
	_, ok = s.get(strconv.Itoa(maxIdempotencyStored))
	require.True(t, ok)
	require.Len(t, s.answers, maxIdempotencyStored)
}

func TestERPDelayAfter(t *testing.T) {
	t.Parallel()
	_, srv := demoERP(t)
	const body = `{"name":"Slow Answer"}`

	require.Equal(t, http.StatusNoContent, call(t, http.MethodPut, srv.URL+"/_sim/erp/faults", `{"delay_after":"2s","delay_after_count":1}`).status)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/erp/v1/customers", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-API-Key", DemoERPKey)
	req.Header.Set("Idempotency-Key", "slow-1")
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, 121, erpStats(t, srv).Records["customer"], "the record exists before the answer comes")
	require.Equal(t, "Slow Answer", erpCall(t, srv, http.MethodGet, "/v1/customers/cus_000121", "").body["name"])

	start := time.Now()
	retry := erpKeyed(t, srv, http.MethodPost, "/v1/customers", body, "slow-1")
	require.Less(t, time.Since(start), 2*time.Second, "one answer only is held back")
	require.Equal(t, http.StatusCreated, retry.status)
	require.Equal(t, "true", retry.header.Get("Idempotent-Replayed"))
	require.Equal(t, "cus_000121", retry.body["id"])
	require.Equal(t, 121, erpStats(t, srv).Records["customer"])

	t.Run("an answer held back comes after the delay; the delay before processing is kept", func(t *testing.T) {
		require.Equal(t, http.StatusNoContent, call(t, http.MethodPut, srv.URL+"/_sim/erp/faults", `{"delay_after":"200ms"}`).status)
		start := time.Now()
		require.Equal(t, http.StatusOK, erpCall(t, srv, http.MethodGet, "/v1/products?limit=1", "").status)
		require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
		start = time.Now()
		require.Equal(t, http.StatusOK, erpCall(t, srv, http.MethodGet, "/v1/products?limit=1", "").status)
		require.Less(t, time.Since(start), 200*time.Millisecond, "without a count, one answer")

		require.Equal(t, http.StatusNoContent, call(t, http.MethodPut, srv.URL+"/_sim/erp/faults", `{"delay":"150ms"}`).status)
		for range 2 {
			start = time.Now()
			require.Equal(t, http.StatusOK, erpCall(t, srv, http.MethodGet, "/v1/products?limit=1", "").status)
			require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "every request until cleared")
		}
		status, _, _ := exchange(t, http.MethodDelete, srv.URL+"/_sim/erp/faults", "")
		require.Equal(t, http.StatusNoContent, status)
	})
	t.Run("bad delay_after faults are refused", func(t *testing.T) {
		for _, bad := range []string{`{"delay_after":"2m"}`, `{"delay_after":"soon"}`, `{"delay_after_count":-1}`} {
			status, _, _ := exchange(t, http.MethodPut, srv.URL+"/_sim/erp/faults", bad)
			require.Equal(t, http.StatusBadRequest, status, bad)
		}
	})
}
