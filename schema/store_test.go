package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/schema/pgtest"
	"github.com/switchyard-hub/switchyard/transaction"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &dbURL)) }

func openStore(t *testing.T) *schema.Store {
	t.Helper()
	s, err := schema.Open(context.Background(), schema.Config{URL: dbURL, MaxOpenConns: 5, MaxIdleConns: 5})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := openStore(t)
	applied, err := schema.Migrate(context.Background(), s.DB().DB)
	require.NoError(t, err)
	require.Zero(t, applied, "the template is already migrated, so nothing is pending")
}

func TestClientLifecycle(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	id := "lifecycle-" + uuid.NewString()
	created, err := s.CreateClient(ctx, schema.ClientRow{ClientID: id, Name: "Lifecycle",
		SecretHash: "h1", AllowedIPs: pq.StringArray{"10.0.0.0/8"}, IsActive: true})
	require.NoError(t, err)
	require.Equal(t, []string{"10.0.0.0/8"}, []string(created.AllowedIPs))
	require.Empty(t, created.Roles, "absent arrays are stored empty, not NULL")

	_, err = s.CreateClient(ctx, schema.ClientRow{ClientID: id, Name: "Again", SecretHash: "h"})
	require.ErrorIs(t, err, schema.ErrConflict)

	updated, err := s.UpdateClient(ctx, id, func(c *schema.ClientRow) error {
		c.IsActive = false
		return nil
	})
	require.NoError(t, err)
	require.False(t, updated.IsActive)
	require.True(t, updated.UpdatedAt.After(created.UpdatedAt) || updated.UpdatedAt.Equal(created.UpdatedAt))

	refused := errors.New("refused")
	_, err = s.UpdateClient(ctx, id, func(c *schema.ClientRow) error { c.Name = "x"; return refused })
	require.ErrorIs(t, err, refused)
	got, err := s.GetClient(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "Lifecycle", got.Name, "a refused change writes nothing")

	_, err = s.GetClient(ctx, "nobody")
	require.ErrorIs(t, err, schema.ErrNotFound)
}

func TestChannelNeedsItsMediator(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	_, err := s.CreateChannel(ctx, schema.ChannelRow{Name: "orphan", PathPattern: "/x", Methods: pq.StringArray{"GET"},
		Kind: schema.ChannelKindHTTP, ChannelType: "http", MediatorURN: "urn:none", RetryMaxAttempts: 1,
		RetryBackoffCoefficient: 2})
	require.ErrorIs(t, err, schema.ErrReference)

	urn := "urn:test:routes:" + uuid.NewString()
	_, err = s.CreateMediator(ctx, schema.MediatorRow{URN: urn, Name: "m", EndpointURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	ch, err := s.CreateChannel(ctx, schema.ChannelRow{Name: urn, PathPattern: "/routed/**",
		Methods: pq.StringArray{"GET", "POST"}, Priority: 7, Kind: schema.ChannelKindHTTP, ChannelType: "http",
		MediatorURN: urn, RetryMaxAttempts: 3, RetryBackoffCoefficient: 2, IsActive: true})
	require.NoError(t, err)

	routes, err := s.ActiveRoutes(ctx)
	require.NoError(t, err)
	var found *schema.RouteRow
	for i := range routes {
		if routes[i].ID == ch.ID {
			found = &routes[i]
		}
	}
	require.NotNil(t, found)
	require.Equal(t, "http://127.0.0.1:1", found.MediatorEndpointURL)

	_, err = s.UpdateChannel(ctx, ch.ID, func(c *schema.ChannelRow) error { c.IsActive = false; return nil })
	require.NoError(t, err)
	routes, err = s.ActiveRoutes(ctx)
	require.NoError(t, err)
	for _, r := range routes {
		require.NotEqual(t, ch.ID, r.ID, "an inactive channel is not routed")
	}
}

func TestFinishedTransactionIsOneWrite(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	id := uuid.NewString()
	row := schema.TransactionRow{CorrelationID: id, WorkflowRunID: "run-1", ClientID: "c", Method: "GET",
		Path: "/p", Query: "a=1", RequestHeaders: schema.Headers{"Accept": {"text/plain"}}, RequestFingerprint: "fp"}
	outcome := schema.TransactionOutcome{CorrelationID: id, Status: transaction.StatusSuccessful, Attempts: 1,
		ResponseStatus: 200, ResponseHeaders: schema.Headers{"Content-Type": {"text/plain"}}, ResponseBody: []byte("pong"),
		ResponseBodySize: 4}
	require.NoError(t, s.InsertFinishedTransaction(ctx, row, outcome))
	got, err := s.GetTransaction(ctx, id)
	require.NoError(t, err)
	require.Equal(t, transaction.KindProxy, got.Kind)
	require.Equal(t, "a=1", got.Query)
	require.Equal(t, "fp", got.RequestFingerprint)
	require.Equal(t, transaction.StatusSuccessful, got.Status)
	require.Equal(t, sql.NullInt32{Int32: 200, Valid: true}, got.ResponseStatus)
	require.Equal(t, "pong", string(got.ResponseBody))
	require.Equal(t, "text/plain", got.ResponseHeaders["Content-Type"][0])
	require.True(t, got.CompletedAt.Valid)

	// The same run's write retried writes the outcome again; another run's never overwrites it.
	outcome.Attempts = 2
	require.NoError(t, s.InsertFinishedTransaction(ctx, row, outcome))
	got, err = s.GetTransaction(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 2, got.Attempts)
	row.WorkflowRunID, outcome.Status = "run-2", transaction.StatusFailed
	require.NoError(t, s.InsertFinishedTransaction(ctx, row, outcome))
	got, err = s.GetTransaction(ctx, id)
	require.NoError(t, err)
	require.Equal(t, transaction.StatusSuccessful, got.Status)

	failed := schema.TransactionRow{CorrelationID: uuid.NewString(), WorkflowRunID: "run-3", ClientID: "c",
		Method: "POST", Path: "/p"}
	require.NoError(t, s.InsertFinishedTransaction(ctx, failed, schema.TransactionOutcome{Status: transaction.StatusFailed,
		Attempts: 1, Error: "upstream unreachable", ErrorCode: "UPSTREAM_UNAVAILABLE"}))
	got, err = s.GetTransaction(ctx, failed.CorrelationID)
	require.NoError(t, err)
	require.Equal(t, "UPSTREAM_UNAVAILABLE", got.ErrorCode)
	require.False(t, got.ResponseStatus.Valid, "no answer, no response")
	require.True(t, got.CompletedAt.Valid)
}

func TestTransactionInsertIsOnceOnly(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	id := uuid.NewString()
	row := schema.TransactionRow{CorrelationID: id, WorkflowRunID: "run-1", ClientID: "c", Method: "POST",
		Path: "/p", RequestHeaders: schema.Headers{"Content-Type": {"application/json"}},
		RequestBody: []byte(`{"a":1}`), RequestBodySize: 7, Status: transaction.StatusProcessing, Attempts: 0}
	first, inserted, err := s.InsertTransaction(ctx, row)
	require.NoError(t, err)
	require.True(t, inserted)
	require.Equal(t, "application/json", first.RequestHeaders["Content-Type"][0])

	row.WorkflowRunID = "run-2"
	again, inserted, err := s.InsertTransaction(ctx, row)
	require.NoError(t, err)
	require.False(t, inserted)
	require.Equal(t, "run-1", again.WorkflowRunID, "the first record wins")

	require.NoError(t, s.UpdateTransaction(ctx, schema.TransactionOutcome{CorrelationID: id, Status: transaction.StatusEscalated,
		Attempts: 3, Error: "upstream down", ErrorCode: "UPSTREAM_UNAVAILABLE"}))
	got, err := s.GetTransaction(ctx, id)
	require.NoError(t, err)
	require.Equal(t, transaction.StatusEscalated, got.Status)
	require.False(t, got.CompletedAt.Valid, "escalated is not final")
	require.False(t, got.ResponseStatus.Valid)

	require.NoError(t, s.UpdateTransaction(ctx, schema.TransactionOutcome{CorrelationID: id, Status: transaction.StatusSuccessful,
		Attempts: 4, ResponseStatus: 201, ResponseHeaders: schema.Headers{"X": {"1"}}, ResponseBody: []byte("ok"),
		ResponseBodySize: 2}))
	got, err = s.GetTransaction(ctx, id)
	require.NoError(t, err)
	require.Equal(t, sql.NullInt32{Int32: 201, Valid: true}, got.ResponseStatus)
	require.Equal(t, "ok", string(got.ResponseBody))
	require.True(t, got.CompletedAt.Valid)
	require.Empty(t, got.Error)

	err = s.UpdateTransaction(ctx, schema.TransactionOutcome{CorrelationID: uuid.NewString(), Status: transaction.StatusFailed})
	require.ErrorIs(t, err, schema.ErrNotFound)
}

func TestDeleteDemoKeepsOperatorRecords(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	demo, real := "demo-"+uuid.NewString(), "real-"+uuid.NewString()
	_, err := s.CreateClient(ctx, schema.ClientRow{ClientID: demo, Name: "d", SecretHash: "h", IsDemo: true})
	require.NoError(t, err)
	_, err = s.CreateClient(ctx, schema.ClientRow{ClientID: real, Name: "r", SecretHash: "h"})
	require.NoError(t, err)
	require.NoError(t, s.DeleteDemo(ctx))
	_, err = s.GetClient(ctx, demo)
	require.ErrorIs(t, err, schema.ErrNotFound)
	_, err = s.GetClient(ctx, real)
	require.NoError(t, err)
}

func TestTransferReferencesAreOncePerCorrelationID(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	a, b := uuid.NewString(), uuid.NewString()
	first, err := store.TransferReferences(t.Context(), a, "TERM0001")
	require.NoError(t, err)
	require.Len(t, first.RRN, 12)
	require.Positive(t, first.STAN)
	require.Len(t, first.Transmission, 10)
	again, err := store.TransferReferences(t.Context(), a, "TERM0001")
	require.NoError(t, err)
	require.Equal(t, first, again, "a transfer replayed from its start gets the references it had")
	other, err := store.TransferReferences(t.Context(), b, "TERM0001")
	require.NoError(t, err)
	require.NotEqual(t, first.RRN, other.RRN)
	require.NotEqual(t, first.STAN, other.STAN)
	next, err := store.NextRRN(t.Context())
	require.NoError(t, err)
	require.NotContains(t, []string{first.RRN, other.RRN}, next)
}
