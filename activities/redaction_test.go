package activities_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

func TestTheLogRedactsCredentialsByName(t *testing.T) {
	record := func(t *testing.T, cfg activities.Config, req transaction.Request) schema.TransactionRow {
		t.Helper()
		_, _, store := recordEnv(t, 1024)
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		acts := activities.New(store, nil, cfg)
		env.RegisterActivity(acts)
		id := uuid.NewString()
		_, err := env.ExecuteActivity(acts.RecordStart, activities.RecordStartInput{CorrelationID: id, WorkflowRunID: "r",
			ClientID: "c1", Channel: transaction.Channel{Name: "ch"}, Request: req})
		require.NoError(t, err)
		_, err = env.ExecuteActivity(acts.RecordOutcome, activities.RecordOutcomeInput{CorrelationID: id,
			Status: transaction.StatusSuccessful, Attempts: 1, Response: &transaction.Response{StatusCode: 200,
				Header: map[string][]string{"X-Session-Id": {"sess-1"}, "Content-Type": {"text/plain"}}}})
		require.NoError(t, err)
		row, err := store.GetTransaction(context.Background(), id)
		require.NoError(t, err)
		return row
	}
	req := transaction.Request{Method: "GET", Path: "/x",
		RawQuery: "region=north&access_token=tok-1&api%5Fkey=k-2&X-Amz-Signature=s-3&page=2&flag",
		Header: map[string][]string{"X-Upstream-Api-Key": {"k-1"}, "X-Partner-Auth": {"p-1"}, "X-Trace": {"t1"},
			"X-Client-Secret": {"c-1"}}}

	t.Run("by the default patterns, in headers and in the query", func(t *testing.T) {
		row := record(t, activities.Config{TransactionBodyMaxLength: 1024}, req)
		require.Equal(t, []string{transaction.Redacted}, row.RequestHeaders["X-Upstream-Api-Key"])
		require.Equal(t, []string{transaction.Redacted}, row.RequestHeaders["X-Partner-Auth"])
		require.Equal(t, []string{transaction.Redacted}, row.RequestHeaders["X-Client-Secret"])
		require.Equal(t, []string{"t1"}, row.RequestHeaders["X-Trace"])
		require.Equal(t, "region=north&access_token=[REDACTED]&api%5Fkey=[REDACTED]&X-Amz-Signature=[REDACTED]&page=2&flag",
			row.Query)
		require.Equal(t, []string{transaction.Redacted}, row.ResponseHeaders["X-Session-Id"])
		require.Equal(t, []string{"text/plain"}, row.ResponseHeaders["Content-Type"])
	})

	t.Run("by REDACT_NAME_PATTERNS when set; fixed credential headers always", func(t *testing.T) {
		row := record(t, activities.Config{TransactionBodyMaxLength: 1024, RedactNamePatterns: []string{" Partner ", "region"}}, req)
		require.Equal(t, []string{transaction.Redacted}, row.RequestHeaders["X-Partner-Auth"])
		require.Equal(t, []string{"k-1"}, row.RequestHeaders["X-Upstream-Api-Key"], "not named by the configured patterns")
		require.Equal(t, []string{transaction.Redacted}, row.RequestHeaders["X-Client-Secret"])
		require.Equal(t, "region=[REDACTED]&access_token=tok-1&api%5Fkey=k-2&X-Amz-Signature=s-3&page=2&flag", row.Query)
		require.Equal(t, []string{"sess-1"}, row.ResponseHeaders["X-Session-Id"])
	})
}
