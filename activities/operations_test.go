package activities_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// cannedCaller answers every call with resp, or err.
type cannedCaller struct {
	cfg  provider.Config
	resp provider.Response
	err  error
}

func (c cannedCaller) Call(context.Context, provider.Operation, any, string) (provider.Response, provider.Attempt, error) {
	return c.resp, provider.Attempt{Method: "GET", Host: "cbs.test", Path: "/balance", Outcome: "ok"}, c.err
}
func (c cannedCaller) Config() provider.Config { return c.cfg }
func (c cannedCaller) BreakerState() string    { return "closed" }

type oneCaller struct{ c provider.Caller }

func (s oneCaller) For(provider.Operation) (provider.Caller, error) { return s.c, nil }

func callProvider(t *testing.T, caller provider.Caller) (activities.OperationAnswer, error) {
	t.Helper()
	store, err := schema.Open(context.Background(), schema.Config{URL: dbURL, MaxOpenConns: 2, MaxIdleConns: 2})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	acts := activities.New(store, oneCaller{caller}, activities.Config{MaxUpstreamResponseBytes: 1 << 20})
	env.RegisterActivity(acts)
	v, err := env.ExecuteActivity(acts.CallProvider, activities.OperationCall{CorrelationID: uuid.NewString(),
		Operation: provider.OpAccountBalance, Params: []byte(`{"account_number":"0110000001"}`)})
	var answer activities.OperationAnswer
	if err == nil {
		require.NoError(t, v.Get(&answer))
	}
	return answer, err
}

// Issue 8, hole 5: an answer the workflow could not carry fails the attempt for good.
func TestCallProviderRefusesAnswersOverTheLimit(t *testing.T) {
	cfg := provider.Config{Issuer: provider.IssuerCBS, ResponseFormat: provider.FormatJSON, MaxResponseBytes: 1000}
	requireTooLarge := func(t *testing.T, err error) {
		t.Helper()
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "%v", err)
		require.Equal(t, transaction.ErrTypeProviderResponseTooLarge, appErr.Type())
		require.True(t, appErr.NonRetryable(), "the provider is not asked again")
		require.Contains(t, appErr.Message(), "PROVIDER_MAX_RESPONSE_BYTES")
	}

	t.Run("an answer the provider stack refused", func(t *testing.T) {
		_, err := callProvider(t, cannedCaller{cfg: cfg, err: provider.TooLarge(cfg, 200)})
		requireTooLarge(t, err)
	})
	t.Run("an answer within the limit whose typed response is over it", func(t *testing.T) {
		// 400 bytes read; re-encoded, each "<" becomes "\u003c": 2400 bytes to record.
		body := `{"account_number":"` + strings.Repeat("<", 370) + `","currency":"TZS"}`
		require.Less(t, len(body), 1000)
		_, err := callProvider(t, cannedCaller{cfg: cfg, resp: provider.Response{Status: 200, Body: []byte(body)}})
		requireTooLarge(t, err)
	})
	t.Run("an answer within the limit is the result", func(t *testing.T) {
		answer, err := callProvider(t, cannedCaller{cfg: cfg,
			resp: provider.Response{Status: 200, Body: []byte(`{"account_number":"0110000001","balance":"10.00"}`)}})
		require.NoError(t, err)
		require.Equal(t, 200, answer.Status)
		require.Contains(t, string(answer.Body), `"balance":"10.00"`)
	})
}
