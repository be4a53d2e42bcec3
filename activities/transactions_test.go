package activities_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/schema/pgtest"
	"github.com/switchyard-hub/switchyard/transaction"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &dbURL)) }

func recordEnv(t *testing.T, bodyCap int) (*testsuite.TestActivityEnvironment, *activities.Activities, *schema.Store) {
	t.Helper()
	store, err := schema.Open(context.Background(), schema.Config{URL: dbURL, MaxOpenConns: 4, MaxIdleConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	acts := activities.New(store, nil, activities.Config{TransactionBodyMaxLength: bodyCap, MaxUpstreamResponseBytes: 1 << 20})
	env.RegisterActivity(acts)
	return env, acts, store
}

func TestRecordStartAndOutcome(t *testing.T) {
	env, acts, store := recordEnv(t, 10)
	id := uuid.NewString()
	start := activities.RecordStartInput{CorrelationID: id, WorkflowRunID: "run-1", ClientID: "c1",
		Channel: transaction.Channel{ID: uuid.NewString(), Name: "teachers"},
		Request: transaction.Request{Method: "POST", Path: "/integrations/teachers", RawQuery: "x=1",
			Header: map[string][]string{"Authorization": {"Bearer secret-token"}, "Content-Type": {"application/json"}},
			// 9 ASCII bytes then a 2-byte rune that the 10-byte cap would split.
			Body: []byte("123456789é and more")}}
	v, err := env.ExecuteActivity(acts.RecordStart, start)
	require.NoError(t, err)
	var res activities.RecordStartResult
	require.NoError(t, v.Get(&res))
	require.Nil(t, res.Existing)

	row, err := store.GetTransaction(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, transaction.StatusProcessing, row.Status)
	require.Equal(t, []string{"[REDACTED]"}, row.RequestHeaders["Authorization"], "secrets never reach the log")
	require.Equal(t, "123456789", string(row.RequestBody), "capped on a rune boundary")
	require.True(t, row.RequestBodyTruncated)
	require.Equal(t, len(start.Request.Body), row.RequestBodySize)

	_, err = env.ExecuteActivity(acts.RecordOutcome, activities.RecordOutcomeInput{CorrelationID: id,
		Status: transaction.StatusSuccessful, Attempts: 2, Response: &transaction.Response{StatusCode: 201,
			Header: map[string][]string{"Set-Cookie": {"s=1"}}, Body: []byte(strings.Repeat("r", 25))}})
	require.NoError(t, err)
	row, err = store.GetTransaction(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, transaction.StatusSuccessful, row.Status)
	require.Equal(t, 2, row.Attempts)
	require.Equal(t, int32(201), row.ResponseStatus.Int32)
	require.Equal(t, 10, len(row.ResponseBody))
	require.Equal(t, 25, row.ResponseBodySize)
	require.True(t, row.ResponseBodyTruncated)
	require.Equal(t, []string{"[REDACTED]"}, row.ResponseHeaders["Set-Cookie"])

	t.Run("the same run recording again carries on", func(t *testing.T) {
		v, err := env.ExecuteActivity(acts.RecordStart, start)
		require.NoError(t, err)
		var again activities.RecordStartResult
		require.NoError(t, v.Get(&again))
		require.Nil(t, again.Existing)
	})

	t.Run("another run finds the stored outcome", func(t *testing.T) {
		other := start
		other.WorkflowRunID = "run-2"
		v, err := env.ExecuteActivity(acts.RecordStart, other)
		require.NoError(t, err)
		var again activities.RecordStartResult
		require.NoError(t, v.Get(&again))
		require.NotNil(t, again.Existing)
		require.Equal(t, transaction.StatusSuccessful, again.Existing.Status)
		require.Equal(t, 201, again.Existing.Response.StatusCode)
		require.True(t, again.Existing.Truncated)
	})

	t.Run("another kind under the same correlation id is refused", func(t *testing.T) {
		other := start
		other.WorkflowRunID, other.Kind = "run-3", transaction.KindISO
		_, err := env.ExecuteActivity(acts.RecordStart, other)
		appErr, _ := forwardError(t, err)
		require.Equal(t, transaction.ErrTypeIdempotencyKeyReused, appErr.Type())
		require.True(t, appErr.NonRetryable())
		row, err := store.GetTransaction(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, transaction.KindProxy, row.Kind, "the log keeps its kind")
	})
}

func TestRecordStartRefusesAnotherRequestUnderTheKey(t *testing.T) {
	env, acts, _ := recordEnv(t, 1024)
	id := uuid.NewString()
	start := activities.RecordStartInput{CorrelationID: id, WorkflowRunID: "run-1", ClientID: "c1",
		Kind: transaction.KindOperation, Fingerprint: "fp-1",
		Request: transaction.Request{Method: "POST", Path: "/api/v1/integration/account/balance", Body: []byte(`{}`)}}
	_, err := env.ExecuteActivity(acts.RecordStart, start)
	require.NoError(t, err)

	inFlight := start
	inFlight.WorkflowRunID = "run-2"
	v, err := env.ExecuteActivity(acts.RecordStart, inFlight)
	require.NoError(t, err)
	var res activities.RecordStartResult
	require.NoError(t, v.Get(&res))
	require.True(t, res.InFlight, "an unfinished earlier run is reported")

	other := inFlight
	other.Fingerprint = "fp-2"
	_, err = env.ExecuteActivity(acts.RecordStart, other)
	appErr, _ := forwardError(t, err)
	require.Equal(t, transaction.ErrTypeIdempotencyKeyReused, appErr.Type())
}

func TestLoadChannel(t *testing.T) {
	env, acts, store := recordEnv(t, 100)
	ctx := context.Background()
	urn := "urn:load:" + uuid.NewString()
	_, err := store.CreateMediator(ctx, schema.MediatorRow{URN: urn, Name: "m", EndpointURL: "http://new.example"})
	require.NoError(t, err)
	ch, err := store.CreateChannel(ctx, schema.ChannelRow{Name: urn, PathPattern: "/load", Methods: []string{"GET"},
		Kind: schema.ChannelKindHTTP, ChannelType: "http", MediatorURN: urn, RetryMaxAttempts: 4,
		RetryInitialIntervalMS: 250, RetryBackoffCoefficient: 3, RetryMaxIntervalMS: 9000, IsActive: true})
	require.NoError(t, err)
	acts.Config.DefaultTimeout = 7 * time.Second

	v, err := env.ExecuteActivity(acts.LoadChannel, ch.ID)
	require.NoError(t, err)
	var got transaction.Channel
	require.NoError(t, v.Get(&got))
	require.Equal(t, "http://new.example", got.EndpointURL)
	require.Equal(t, 4, got.Retry.MaxAttempts)
	require.Equal(t, 3.0, got.Retry.BackoffCoefficient)
	require.Equal(t, "7s", got.Timeout.String(), "channels without a timeout take the hub default")

	_, err = env.ExecuteActivity(acts.LoadChannel, uuid.NewString())
	appErr, _ := forwardError(t, err)
	require.Equal(t, transaction.ErrTypeNotFound, appErr.Type())
	require.True(t, appErr.NonRetryable())
}
