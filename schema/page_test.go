package schema_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

type keyed interface{ PageKey() string }

// keysOf lists the page keys of rows.
func keysOf[R keyed](rows []R) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.PageKey())
	}
	return out
}

// walk reads a whole listing limit rows at a time, each page starting after the last key of
// the one before, and answers the keys in order.
func walk[R keyed](t *testing.T, limit int, list func(schema.Page) ([]R, error)) []string {
	t.Helper()
	var keys []string
	after := ""
	for range 1000 {
		rows, err := list(schema.Page{Limit: limit, After: after})
		require.NoError(t, err)
		keys = append(keys, keysOf(rows)...)
		if len(rows) < limit {
			return keys
		}
		after = rows[len(rows)-1].PageKey()
	}
	t.Fatal("the walk does not end")
	return nil
}

// checkListing walks a listing by cursor (and by offset) and compares it with one page of all.
func checkListing[R keyed](t *testing.T, want int, list func(schema.Page) ([]R, error)) []string {
	t.Helper()
	all, err := list(schema.Page{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, all, want)
	keys := keysOf(all)
	for _, limit := range []int{1, 3, want} {
		require.Equal(t, keys, walk(t, limit, list), "a cursor walk of %d at a time sees every row once, in order", limit)
	}
	second, err := list(schema.Page{Limit: 2, Offset: 2})
	require.NoError(t, err)
	require.Equal(t, keys[2:4], keysOf(second), "offsets still page")
	last, err := list(schema.Page{Limit: 5, After: keys[len(keys)-1]})
	require.NoError(t, err)
	require.Empty(t, last, "after the last row there is nothing, and that is no error")
	return keys
}

// badCursor asserts that a listing refuses a cursor.
func badCursor[R keyed](t *testing.T, cursor string, list func(schema.Page) ([]R, error)) {
	t.Helper()
	_, err := list(schema.Page{Limit: 10, After: cursor})
	require.ErrorIs(t, err, schema.ErrBadCursor, "cursor %q", cursor)
}

func TestTenantListingsPageByCursor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	a, b := newSiteFixture(t, s), newSiteFixture(t, s)

	// Integrations: a has its site integration and 5 more.
	for i := range 5 {
		_, err := s.CreateIntegration(ctx, schema.IntegrationRow{ID: uuid.NewString(), ClientID: a.client,
			Name: fmt.Sprint(i), Platform: "telegram", Credentials: "k"})
		require.NoError(t, err)
	}
	listA := func(p schema.Page) ([]schema.IntegrationRow, error) { return s.ListIntegrations(ctx, a.client, p) }
	keys := checkListing(t, 6, listA)
	require.Equal(t, a.integration, keys[len(keys)-1], "newest first")
	badCursor(t, b.integration, listA)
	badCursor(t, "no-such-integration", listA)
	everyone, err := s.ListIntegrations(ctx, "", schema.Page{Limit: 1, After: b.integration})
	require.NoError(t, err, "an operator's listing takes any client's cursor")
	require.Len(t, everyone, 1)

	// Sites.
	for range 3 {
		_, err := s.CreateSite(ctx, schema.SiteRow{ClientID: a.client, Name: "s", APIKey: "k"})
		require.NoError(t, err)
	}
	sites := func(p schema.Page) ([]schema.SiteRow, error) { return s.ListSites(ctx, a.client, p) }
	checkListing(t, 4, sites)
	badCursor(t, b.site, sites)

	// Subscriptions.
	for range 4 {
		_, err := s.CreateSubscription(ctx, schema.SubscriptionRow{ID: uuid.NewString(), ClientID: a.client,
			URL: "http://127.0.0.1:1/", EventTypes: []string{"*"}, Secret: "k", IsActive: true})
		require.NoError(t, err)
	}
	other := uuid.NewString()
	_, err = s.CreateSubscription(ctx, schema.SubscriptionRow{ID: other, ClientID: b.client, URL: "http://127.0.0.1:1/",
		EventTypes: []string{"*"}, Secret: "k"})
	require.NoError(t, err)
	subs := func(p schema.Page) ([]schema.SubscriptionRow, error) { return s.ListSubscriptions(ctx, a.client, p) }
	checkListing(t, 4, subs)
	badCursor(t, other, subs)

	// Sync runs, contents (25 of them written in one transaction: one created_at, ordered by
	// id) and sync events.
	for range 3 {
		run := a.startRun(t, s)
		_, err := s.FinishSyncRun(ctx, run, transaction.SyncSuccess, schema.SyncCounts{}, "")
		require.NoError(t, err)
	}
	run := a.startRun(t, s)
	items := make([]schema.ContentItem, 25)
	for i := range items {
		items[i] = post(fmt.Sprint(i), "T", "b")
	}
	_, err = s.ApplyContentPage(ctx, a.integration, a.client, schema.ContentPage{RunID: run, Seq: 1, Items: items})
	require.NoError(t, err)
	runs := func(p schema.Page) ([]schema.SyncRunRow, error) { return s.ListSyncRuns(ctx, a.integration, p) }
	require.Equal(t, run, checkListing(t, 4, runs)[0])
	badCursor(t, b.startRun(t, s), runs)

	contents := func(p schema.Page) ([]schema.ContentRow, error) { return s.ListContents(ctx, a.integration, p) }
	contentKeys := checkListing(t, 25, contents)
	_, err = s.MarkContentDeleted(ctx, a.integration, run, "post", "3")
	require.NoError(t, err)
	var deleted string
	for _, r := range contentByExternal(t, s, a.integration) {
		require.NotEqual(t, "3", r.ExternalID)
	}
	for _, k := range contentKeys {
		if row, err := s.GetContent(ctx, k); err == nil && row.DeletedAt != nil {
			deleted = k
		}
	}
	require.NotEmpty(t, deleted)
	rest, err := contents(schema.Page{Limit: 100, After: deleted})
	require.NoError(t, err, "a cursor on a row deleted since still places the page")
	require.NotEmpty(t, rest)

	events := func(p schema.Page) ([]schema.SyncEventRow, error) { return s.ListSyncEvents(ctx, a.integration, p) }
	eventKeys := checkListing(t, 27, events) // 25 added, one page, one deleted
	badCursor(t, "not-a-number", events)
	badCursor(t, "-4", events)
	bEvents, err := s.ListSyncEvents(ctx, b.integration, schema.Page{Limit: 1})
	require.NoError(t, err)
	require.Empty(t, bEvents)
	_, err = s.ApplyContentPage(ctx, b.integration, b.client, schema.ContentPage{RunID: mustActive(t, s, b.integration),
		Seq: 1, Items: items[:1]})
	require.NoError(t, err)
	bEvents, err = s.ListSyncEvents(ctx, b.integration, schema.Page{Limit: 1})
	require.NoError(t, err)
	badCursor(t, bEvents[0].PageKey(), events)
	require.NotContains(t, eventKeys, bEvents[0].PageKey())
}

func mustActive(t *testing.T, s *schema.Store, integration string) string {
	t.Helper()
	run, err := s.ActiveSyncRun(context.Background(), integration)
	require.NoError(t, err)
	return run.ID
}

func TestOperatorListingsPageByCursor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	prefix := "page-" + uuid.NewString()[:8] + "-"

	// Clients and mediators are global listings other tests add to: compare ours only.
	var clients, mediators []string
	for i := range 5 {
		id := fmt.Sprintf("%s%d", prefix, i)
		_, err := s.CreateClient(ctx, schema.ClientRow{ClientID: id, Name: id, SecretHash: "x"})
		require.NoError(t, err)
		clients = append(clients, id)
		urn := "urn:" + id
		_, err = s.CreateMediator(ctx, schema.MediatorRow{URN: urn, Name: urn, EndpointURL: "http://127.0.0.1:1"})
		require.NoError(t, err)
		mediators = append(mediators, urn)
	}
	ours := func(keys []string, p string) []string {
		var out []string
		for _, k := range keys {
			if strings.HasPrefix(k, p) {
				out = append(out, k)
			}
		}
		return out
	}
	listClients := func(p schema.Page) ([]schema.ClientRow, error) { return s.ListClients(ctx, p) }
	require.Equal(t, clients, ours(walk(t, 2, listClients), prefix))
	badCursor(t, prefix+"nobody", listClients)
	listMediators := func(p schema.Page) ([]schema.MediatorRow, error) { return s.ListMediators(ctx, p) }
	require.Equal(t, mediators, ours(walk(t, 2, listMediators), "urn:"+prefix))
	badCursor(t, "urn:nobody", listMediators)

	// Channels: by priority, then name; two share a priority.
	var channels []string
	for i, priority := range []int{5, 9, 5, 1} {
		ch, err := s.CreateChannel(ctx, schema.ChannelRow{Name: fmt.Sprintf("%s%d", prefix, i), PathPattern: "/" + prefix,
			Methods: pq.StringArray{"GET"}, Priority: priority, Kind: schema.ChannelKindHTTP, ChannelType: "http",
			MediatorURN: mediators[0], RetryMaxAttempts: 1, RetryBackoffCoefficient: 2})
		require.NoError(t, err)
		channels = append(channels, ch.ID)
	}
	listChannels := func(p schema.Page) ([]schema.ChannelRow, error) { return s.ListChannels(ctx, p) }
	walked := walk(t, 1, listChannels)
	var got []string
	for _, k := range walked {
		for _, c := range channels {
			if k == c {
				got = append(got, k)
			}
		}
	}
	require.Equal(t, []string{channels[1], channels[0], channels[2], channels[3]}, got)
	badCursor(t, "not-a-uuid", listChannels)
	badCursor(t, uuid.NewString(), listChannels)

	// Transactions of one client, and their provider audit.
	client := clients[0]
	var txs []string
	for range 4 {
		id := uuid.NewString()
		_, _, err := s.InsertTransaction(ctx, schema.TransactionRow{CorrelationID: id, ClientID: client, Method: "GET",
			Path: "/p", Status: transaction.StatusProcessing})
		require.NoError(t, err)
		txs = append(txs, id)
	}
	foreign := uuid.NewString()
	_, _, err := s.InsertTransaction(ctx, schema.TransactionRow{CorrelationID: foreign, ClientID: clients[1], Method: "GET",
		Path: "/p", Status: transaction.StatusProcessing})
	require.NoError(t, err)
	listTx := func(p schema.Page) ([]schema.TransactionRow, error) {
		return s.ListTransactions(ctx, schema.TransactionFilter{ClientID: client}, p)
	}
	checkListing(t, 4, listTx)
	badCursor(t, foreign, listTx)
	badCursor(t, "nope", listTx)
	for i := range 4 {
		require.NoError(t, s.InsertProviderAudit(ctx, schema.ProviderAuditRow{CorrelationID: sql.NullString{String: txs[0],
			Valid: true}, Issuer: "bank", Operation: "op", Method: "GET", Host: "h", Path: "/", Outcome: schema.AuditOK,
			Attempt: i + 1}))
	}
	require.NoError(t, s.InsertProviderAudit(ctx, schema.ProviderAuditRow{CorrelationID: sql.NullString{String: foreign,
		Valid: true}, Issuer: "bank", Operation: "op", Method: "GET", Host: "h", Path: "/", Outcome: schema.AuditOK}))
	audit := func(p schema.Page) ([]schema.ProviderAuditRow, error) { return s.ListProviderAudit(ctx, txs[0], p) }
	checkListing(t, 4, audit)
	foreignAudit, err := s.ProviderAuditFor(ctx, foreign)
	require.NoError(t, err)
	badCursor(t, foreignAudit[0].PageKey(), audit)
	badCursor(t, "x", audit)

	// Received webhooks of one integration, oldest first.
	f := newSiteFixture(t, s)
	start := time.Now().UTC().Truncate(time.Second)
	for i := range 5 {
		_, _, err := s.RecordWebhookEvent(ctx, schema.WebhookEventRow{ID: uuid.NewString(), IntegrationID: f.integration,
			ClientID: f.client, Platform: "wordpress", DeliveryID: fmt.Sprint(i), Body: []byte(`{}`),
			ReceivedAt: start.Add(time.Duration(i%2) * time.Second)})
		require.NoError(t, err)
	}
	hooks := func(p schema.Page) ([]schema.WebhookEventRow, error) {
		return s.ListWebhookEvents(ctx, schema.WebhookEventFilter{ClientID: f.client, IntegrationID: f.integration}, p)
	}
	checkListing(t, 5, hooks)
	g := newSiteFixture(t, s)
	elsewhere, _, err := s.RecordWebhookEvent(ctx, schema.WebhookEventRow{ID: uuid.NewString(), IntegrationID: g.integration,
		ClientID: g.client, Platform: "wordpress", DeliveryID: "x", Body: json.RawMessage(`{}`), ReceivedAt: start})
	require.NoError(t, err)
	badCursor(t, elsewhere.ID, hooks)
}
