package schema_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// rerunChannel makes a channel (with auto_retry max) and answers its id.
func rerunChannel(t *testing.T, s *schema.Store, max int) string {
	t.Helper()
	ctx := context.Background()
	urn := "urn:test:rerun:" + uuid.NewString()
	_, err := s.CreateMediator(ctx, schema.MediatorRow{URN: urn, Name: "m", EndpointURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	ch, err := s.CreateChannel(ctx, schema.ChannelRow{Name: urn, PathPattern: "/rerun/**", Methods: pq.StringArray{"GET"},
		Kind: schema.ChannelKindHTTP, ChannelType: "http", MediatorURN: urn, RetryMaxAttempts: 1,
		RetryBackoffCoefficient: 2, IsActive: true, AutoRetryIntervalMS: 1500, AutoRetryMax: max})
	require.NoError(t, err)
	require.Equal(t, 1500, ch.AutoRetryIntervalMS)
	return ch.ID
}

// logged records a transaction of the channel, created at, and finished now when status is final.
func logged(t *testing.T, s *schema.Store, channelID, kind, status, parent string, at time.Time) string {
	t.Helper()
	id := uuid.NewString()
	_, _, err := s.InsertTransaction(context.Background(), schema.TransactionRow{CorrelationID: id, Kind: kind,
		ParentID: sql.NullString{String: parent, Valid: parent != ""}, WorkflowRunID: "run", ClientID: "rerun-client",
		ChannelID: sql.NullString{String: channelID, Valid: true}, Method: "GET", Path: "/rerun/x", Status: status,
		CreatedAt: at})
	require.NoError(t, err)
	if transaction.Final(status) {
		require.NoError(t, s.UpdateTransaction(context.Background(), schema.TransactionOutcome{CorrelationID: id, Status: status}))
	}
	return id
}

func TestRerunTaskSetIsFrozenAndPaged(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	ch := rerunChannel(t, s, 0)
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	var failed []string
	for i := range 5 {
		failed = append(failed, logged(t, s, ch, transaction.KindProxy, transaction.StatusFailed, "", base.Add(time.Duration(i)*time.Second)))
	}
	logged(t, s, ch, transaction.KindProxy, transaction.StatusSuccessful, "", base)
	operation := logged(t, s, ch, transaction.KindOperation, transaction.StatusFailed, "", base)

	filter := schema.RerunFilter{Status: []string{transaction.StatusFailed}, ChannelID: ch}
	task, err := s.CreateRerunTask(ctx, schema.RerunTaskRow{ID: uuid.NewString(), WorkflowID: "rerun:" + uuid.NewString(),
		Filter: filter, Rate: 5, MaxItems: 4, Status: "running"})
	require.NoError(t, err)
	require.Equal(t, 4, task.Total, "5 failed proxied transactions, at most 4; the operation is not one")

	// A transaction made after the task (a rerun) is not in its set, nor one that arrived before
	// it and finished after it (its row written once, at the end, with its arrival time).
	logged(t, s, ch, transaction.KindProxy, transaction.StatusFailed, failed[0], time.Now().Add(time.Minute))
	logged(t, s, ch, transaction.KindProxy, transaction.StatusFailed, "", base.Add(-time.Minute))
	first, err := s.RerunCandidates(ctx, filter, task.CreatedAt, schema.RerunCandidate{}, 3)
	require.NoError(t, err)
	rest, err := s.RerunCandidates(ctx, filter, task.CreatedAt, first[len(first)-1], 10)
	require.NoError(t, err)
	var got []string
	for _, c := range append(first, rest...) {
		got = append(got, c.CorrelationID)
	}
	require.Equal(t, failed, got, "oldest first, each once, nothing newer than the task")

	// Named by id, any kind matches (the task counts it skipped).
	byID, err := s.RerunCandidates(ctx, schema.RerunFilter{IDs: []string{operation}}, task.CreatedAt, schema.RerunCandidate{}, 10)
	require.NoError(t, err)
	require.Len(t, byID, 1)

	require.NoError(t, s.SaveRerunProgress(ctx, task.ID, "completed", schema.RerunCounts{Done: 4, Started: 3, Skipped: 1},
		"", true))
	row, err := s.GetRerunTask(ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, "completed", row.Status)
	require.Equal(t, schema.RerunCounts{Total: 4, Done: 4, Started: 3, Skipped: 1}, row.RerunCounts)
	require.True(t, row.CompletedAt.Valid)
	require.Equal(t, filter.ChannelID, row.Filter.ChannelID)

	page, err := s.ListRerunTasks(ctx, schema.Page{Limit: 10})
	require.NoError(t, err)
	require.NotEmpty(t, page)
	_, err = s.ListRerunTasks(ctx, schema.Page{Limit: 10, After: uuid.NewString()})
	require.ErrorIs(t, err, schema.ErrBadCursor)
}

func TestAutoRetryCountsTheChain(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	ch := rerunChannel(t, s, 2)
	at := time.Now()
	root := logged(t, s, ch, transaction.KindProxy, transaction.StatusFailed, "", at)
	child := logged(t, s, ch, transaction.KindProxy, transaction.StatusFailed, root, at)
	grandchild := logged(t, s, ch, transaction.KindProxy, transaction.StatusFailed, child, at)
	for want, id := range []string{root, child, grandchild} {
		ar, err := s.AutoRetryOf(ctx, id)
		require.NoError(t, err)
		require.Equal(t, schema.AutoRetry{IntervalMS: 1500, Max: 2, Depth: want}, ar)
	}
	relays, err := s.ChannelRelaysESB(ctx, ch)
	require.NoError(t, err)
	require.False(t, relays)
	_, err = s.CreateESBRegistration(ctx, schema.ESBRegistrationRow{Organization: "RERUN-ORG", Name: "o", APICode: "A",
		ChannelID: sql.NullString{String: ch, Valid: true}, IsActive: true})
	require.NoError(t, err)
	relays, err = s.ChannelRelaysESB(ctx, ch)
	require.NoError(t, err)
	require.True(t, relays, "its transactions were relayed for an organization the log does not keep")

	off := rerunChannel(t, s, 0)
	ar, err := s.AutoRetryOf(ctx, logged(t, s, off, transaction.KindProxy, transaction.StatusFailed, "", at))
	require.NoError(t, err)
	require.Zero(t, ar.Max)
	ar, err = s.AutoRetryOf(ctx, uuid.NewString())
	require.NoError(t, err, "a transaction without a channel has no auto_retry")
	require.Zero(t, ar.Max)
}
