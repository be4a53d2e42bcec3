package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// idOf reads an item's id field (integers as the decimal string the cursor is).
func idOf(item any, field string) string {
	switch v := item.(map[string]any)[field].(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(int64(v))
	}
	return ""
}

// walkPages reads a listing limit items at a time, following next_page as starting_after on
// even pages and metadata.next_url on odd ones, and answers the ids (field idField) in order.
// Every page's envelope is checked: has_more and next_page at the top and in metadata.
func walkPages(t *testing.T, h *hub, path, clientID, idField string, limit int) []string {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := fmt.Sprintf("%s%slimit=%d", path, sep, limit)
	var ids []string
	for page := 0; page < 1000; page++ {
		a := h.do("GET", next, clientID, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		data := a.body["data"].([]any)
		for _, item := range data {
			ids = append(ids, idOf(item, idField))
		}
		meta := a.body["metadata"].(map[string]any)
		require.Equal(t, a.body["has_more"], meta["has_more"])
		require.Equal(t, a.body["next_page"], meta["next_page"])
		require.EqualValues(t, limit, meta["limit"])
		if a.body["has_more"] != true {
			require.Nil(t, a.body["next_page"], "no next page after the last")
			require.Nil(t, meta["next_url"])
			require.LessOrEqual(t, len(data), limit)
			return ids
		}
		require.Len(t, data, limit)
		cursor := a.body["next_page"].(string)
		require.Equal(t, idOf(data[len(data)-1], idField), cursor, "next_page is the last item's id")
		nextURL := meta["next_url"].(string)
		u, err := url.Parse(nextURL)
		require.NoError(t, err)
		require.Equal(t, cursor, u.Query().Get("starting_after"))
		require.Empty(t, u.Query().Get("offset"))
		if page%2 == 0 {
			next = fmt.Sprintf("%s%slimit=%d&starting_after=%s", path, sep, limit, url.QueryEscape(cursor))
		} else {
			next = nextURL
		}
	}
	t.Fatal("the listing does not end")
	return nil
}

// refused asserts a 400 naming field.
func refused(t *testing.T, a answer, field string) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, a.code, a.raw)
	require.Equal(t, "VALIDATION_ERROR", a.errorCode())
	require.Equal(t, field, a.body["details"].(map[string]any)["field"], a.raw)
}

func TestListPageParametersAreChecked(t *testing.T) {
	h := newHub(t, api.Config{})
	owner := h.client(api.PermissionIntegrations)
	for _, c := range []struct{ query, field string }{
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"limit=ten", "limit"},
		{"offset=-1", "offset"},
		{"offset=1000001", "offset"},
		{"starting_after=", "starting_after"},
		{"starting_after=" + strings.Repeat("x", 257), "starting_after"},
		{"offset=2&starting_after=" + uuid.NewString(), "starting_after"},
		{"starting_after=" + uuid.NewString(), "starting_after"},
		{"starting_after=%00", "starting_after"},
		{"starting_after=%FF%FE", "starting_after"},
	} {
		refused(t, h.do("GET", integrationsPath+"?"+c.query, owner, nil), c.field)
	}
	a := h.do("GET", integrationsPath+"?limit=1000", owner, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	a = h.do("GET", integrationsPath, owner, nil)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	meta := a.body["metadata"].(map[string]any)
	require.EqualValues(t, 100, meta["limit"], "the default page")
	require.EqualValues(t, 0, meta["offset"])
	require.Equal(t, false, a.body["has_more"])
	require.Contains(t, a.raw, `"next_page":null`, "next_page is always there")
	require.Equal(t, []any{}, a.body["data"])

	refused(t, h.do("GET", "/api/v1/admin/clients?starting_after=nobody-at-all", "admin", nil), "starting_after")
	refused(t, h.do("GET", "/api/v1/admin/channels?starting_after=not-a-uuid", "admin", nil), "starting_after")
	refused(t, h.do("GET", "/api/v1/admin/transactions?starting_after=42", "admin", nil), "starting_after")
}

func TestListPagesWalkByCursorWithinTheirOwner(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)
	var made []string
	for i := range 7 {
		a := h.do("POST", integrationsPath, owner, whatsApp(fmt.Sprint("wa-", i)))
		require.Equal(t, http.StatusCreated, a.code, a.raw)
		made = append([]string{a.data()["id"].(string)}, made...) // newest first
	}
	foreign := h.do("POST", integrationsPath, other, whatsApp("theirs"))
	require.Equal(t, http.StatusCreated, foreign.code, foreign.raw)
	theirs := foreign.data()["id"].(string)

	t.Run("a cursor walk sees every item once, in order", func(t *testing.T) {
		for _, limit := range []int{1, 3, 7, 100} {
			require.Equal(t, made, walkPages(t, h, integrationsPath, owner, "id", limit), "limit %d", limit)
		}
	})

	t.Run("offsets still page", func(t *testing.T) {
		a := h.do("GET", integrationsPath+"?limit=2&offset=3", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		data := a.body["data"].([]any)
		require.Equal(t, made[3:5], []string{idOf(data[0], "id"), idOf(data[1], "id")})
		require.Equal(t, made[4], a.body["next_page"])
	})

	t.Run("items added ahead of the cursor shift nothing", func(t *testing.T) {
		a := h.do("GET", integrationsPath+"?limit=3", owner, nil)
		cursor := a.body["next_page"].(string)
		added := h.do("POST", integrationsPath, owner, whatsApp("late"))
		require.Equal(t, http.StatusCreated, added.code, added.raw)
		b := h.do("GET", integrationsPath+"?limit=3&starting_after="+cursor, owner, nil)
		require.Equal(t, made[3], idOf(b.body["data"].([]any)[0], "id"))
		made = append([]string{added.data()["id"].(string)}, made...)
	})

	t.Run("another client's id is no cursor", func(t *testing.T) {
		refused(t, h.do("GET", integrationsPath+"?starting_after="+theirs, owner, nil), "starting_after")
		a := h.do("GET", "/api/v1/admin/integrations?limit=1&starting_after="+theirs, "admin", nil)
		require.Equal(t, http.StatusOK, a.code, "an operator lists every client's: %s", a.raw)
		a = h.do("GET", "/api/v1/admin/integrations?client_id="+owner+"&starting_after="+theirs, "admin", nil)
		refused(t, a, "starting_after")
		require.Equal(t, made, walkPages(t, h, "/api/v1/admin/integrations?client_id="+owner, "admin", "id", 2))
	})

	t.Run("subscriptions", func(t *testing.T) {
		var subs []string
		for range 4 {
			a := h.do("POST", subscriptionsPath, owner, map[string]any{"url": "https://example.com/hooks",
				"event_types": []string{"*"}})
			require.Equal(t, http.StatusCreated, a.code, a.raw)
			subs = append([]string{a.data()["id"].(string)}, subs...)
		}
		require.Equal(t, subs, walkPages(t, h, subscriptionsPath, owner, "id", 3))
		refused(t, h.do("GET", subscriptionsPath+"?starting_after="+made[0], owner, nil), "starting_after")
	})

	t.Run("received webhooks", func(t *testing.T) {
		ctx := context.Background()
		var hooks []string
		at := time.Now().UTC().Truncate(time.Millisecond)
		for i := range 5 {
			id := uuid.NewString()
			_, _, err := h.store.RecordWebhookEvent(ctx, schema.WebhookEventRow{ID: id, IntegrationID: made[1],
				ClientID: owner, Platform: "whatsapp", DeliveryID: fmt.Sprint(i), Body: []byte(`{}`), ReceivedAt: at})
			require.NoError(t, err)
			hooks = append(hooks, id)
		}
		got := walkPages(t, h, "/api/v1/integration/webhooks/events?integration_id="+made[1], owner, "id", 2)
		require.ElementsMatch(t, hooks, got, "one received_at: ordered by id, each once")
		require.Len(t, got, 5)
	})
}

func TestListPagesOfTheAdminAPI(t *testing.T) {
	h := newHub(t, api.Config{})
	ctx := context.Background()
	prefix := "pages-" + uuid.NewString()[:8]
	var clients []string
	for i := range 5 {
		id := fmt.Sprintf("%s-%d", prefix, i)
		_, err := h.store.CreateClient(ctx, schema.ClientRow{ClientID: id, Name: id, SecretHash: "x"})
		require.NoError(t, err)
		clients = append(clients, id)
	}

	t.Run("clients, whatever others add meanwhile", func(t *testing.T) {
		var ours []string
		for _, id := range walkPages(t, h, "/api/v1/admin/clients", "admin", "client_id", 4) {
			if strings.HasPrefix(id, prefix) {
				ours = append(ours, id)
			}
		}
		require.Equal(t, clients, ours)
	})

	t.Run("a client's transactions and an operation's audit", func(t *testing.T) {
		var txs []string
		for range 5 {
			id := uuid.NewString()
			_, _, err := h.store.InsertTransaction(ctx, schema.TransactionRow{CorrelationID: id, ClientID: clients[0],
				Method: "GET", Path: "/x", Status: transaction.StatusProcessing})
			require.NoError(t, err)
			txs = append([]string{id}, txs...)
		}
		got := walkPages(t, h, "/api/v1/admin/transactions?client_id="+clients[0], "admin", "correlation_id", 2)
		require.Equal(t, txs, got, "newest first")
		refused(t, h.do("GET", "/api/v1/admin/transactions?client_id="+clients[1]+"&starting_after="+txs[0], "admin", nil),
			"starting_after")

		var attempts []string
		for i := range 3 {
			require.NoError(t, h.store.InsertProviderAudit(ctx, schema.ProviderAuditRow{
				CorrelationID: sql.NullString{String: txs[0], Valid: true}, Issuer: "bank", Operation: "balance",
				Method: "GET", Host: "bank.example", Path: "/b", Outcome: schema.AuditOK, Attempt: i + 1}))
		}
		path := "/api/v1/admin/transactions/" + txs[0] + "/audit"
		a := h.do("GET", path, "admin", nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		for _, item := range a.body["data"].([]any) {
			attempts = append(attempts, idOf(item, "id"))
		}
		require.Len(t, attempts, 3)
		require.Equal(t, attempts, walkPages(t, h, path, "admin", "id", 1), "oldest first, by cursor")
		refused(t, h.do("GET", path+"?starting_after=abc", "admin", nil), "starting_after")
		refused(t, h.do("GET", "/api/v1/admin/transactions/"+txs[1]+"/audit?starting_after="+attempts[0], "admin", nil),
			"starting_after")
	})
}
