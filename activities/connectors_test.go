package activities_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-hub/switchyard/activities"
	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/transaction"
)

// countingCaller counts the calls that reached the provider.
type countingCaller struct {
	cannedCaller
	calls *int
}

func (c countingCaller) Call(ctx context.Context, op provider.Operation, req any, id string) (provider.Response, provider.Attempt, error) {
	*c.calls++
	return c.cannedCaller.Call(ctx, op, req, id)
}

// worker is one worker's CallProvider over the shared store.
func limitedWorker(t *testing.T, store *schema.Store, caller provider.Caller) func() error {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	acts := activities.New(store, oneCaller{caller}, activities.Config{MaxUpstreamResponseBytes: 1 << 20})
	acts.Connectors = activities.Connectors{Buckets: store}
	env.RegisterActivity(acts)
	return func() error {
		_, err := env.ExecuteActivity(acts.CallProvider, activities.OperationCall{CorrelationID: uuid.NewString(),
			Operation: provider.OpAccountBalance, Params: []byte(`{"account_number":"0110000001"}`)})
		return err
	}
}

// A connector's RATE_LIMIT/BURST_LIMIT holds across workers: two workers share one bucket; a
// call whose token comes after its attempt's deadline never reaches the provider and fails as
// unavailable, retried by Temporal when the token is due.
func TestProviderRateLimitIsSharedByWorkers(t *testing.T) {
	store, err := schema.Open(context.Background(), schema.Config{URL: dbURL, MaxOpenConns: 4, MaxIdleConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	calls := 0
	cfg := provider.Config{Issuer: "payments-" + uuid.NewString(), Prefix: "PAYMENTS", ResponseFormat: provider.FormatJSON,
		Timeout: time.Second, RateLimit: 1.0 / 3600, BurstLimit: 2} // two at once, then one an hour
	caller := countingCaller{cannedCaller{cfg: cfg, resp: provider.Response{Status: 200,
		Body: []byte(`{"account_number":"0110000001","balance":"1.00"}`)}}, &calls}
	one, two := limitedWorker(t, store, caller), limitedWorker(t, store, caller)

	require.NoError(t, one())
	require.NoError(t, two())
	err = one()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, transaction.ErrTypeProviderUnavailable, appErr.Type())
	require.False(t, appErr.NonRetryable())
	require.Greater(t, appErr.NextRetryDelay(), 30*time.Minute, "retried when the next token is due")
	require.Contains(t, appErr.Message(), "PAYMENTS_RATE_LIMIT")
	require.Error(t, two(), "the other worker finds the same bucket empty")
	require.Equal(t, 2, calls, "only the calls with a token reached the provider")

	// Without a limit nothing is held back.
	free := cfg
	free.Issuer, free.RateLimit = "payments-"+uuid.NewString(), 0
	unlimited := limitedWorker(t, store, countingCaller{cannedCaller{cfg: free, resp: caller.resp}, &calls})
	for range 3 {
		require.NoError(t, unlimited())
	}
	require.Equal(t, 5, calls)
}

// A call that waits for its token within its deadline goes through once the token is due.
func TestProviderRateLimitWaitsForATokenDueSoon(t *testing.T) {
	store, err := schema.Open(context.Background(), schema.Config{URL: dbURL, MaxOpenConns: 4, MaxIdleConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	calls := 0
	cfg := provider.Config{Issuer: "erp-" + uuid.NewString(), Prefix: "ERP", ResponseFormat: provider.FormatJSON,
		Timeout: time.Second, RateLimit: 2, BurstLimit: 1}
	worker := limitedWorker(t, store, countingCaller{cannedCaller{cfg: cfg, resp: provider.Response{Status: 200,
		Body: []byte(`{"account_number":"0110000001","balance":"1.00"}`)}}, &calls})
	for range 3 {
		require.NoError(t, worker())
	}
	require.Equal(t, 3, calls)
	// Each call took its token: the bucket (one token, two a second) is empty right after.
	take, err := store.TakeToken(context.Background(), "provider:"+cfg.Issuer, 1, 500*time.Millisecond)
	require.NoError(t, err)
	require.False(t, take.Taken, "the calls waited for tokens rather than passing unlimited")
}

// A connector's calls outside its operations (an ERP sync's pages) carry its headers and take
// its rate limit's tokens: one past the limit fails without reaching the provider.
func TestConnectorTransport(t *testing.T) {
	store, err := schema.Open(context.Background(), schema.Config{URL: dbURL, MaxOpenConns: 2, MaxIdleConns: 2})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	var tenants []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenants = append(tenants, r.Header.Get(provider.HeaderTenantID))
	}))
	t.Cleanup(srv.Close)
	cfg := provider.Config{Issuer: "erp-" + uuid.NewString(), Prefix: "ERP", Timeout: time.Second, RateLimit: 1.0 / 3600,
		BurstLimit: 1, Headers: map[string]string{provider.HeaderTenantID: "tenant-7"}}
	hc := &http.Client{Timeout: cfg.Timeout + activities.ConnectorWait,
		Transport: activities.Connectors{Buckets: store}.Transport(cfg, http.DefaultTransport)}
	resp, err := hc.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	_, err = hc.Get(srv.URL)
	require.Error(t, err, "the next token is an hour away")
	require.Contains(t, err.Error(), "ERP_RATE_LIMIT")
	require.Equal(t, []string{"tenant-7"}, tenants, "one request reached the provider, with the tenant header")
}

// bodyCaller keeps the body the provider would be sent.
type bodyCaller struct {
	cannedCaller
	body *[]byte
}

func (c bodyCaller) Call(ctx context.Context, op provider.Operation, req any, id string) (provider.Response, provider.Attempt, error) {
	b, err := op.ProviderBody(req, c.cfg)
	if err != nil {
		return provider.Response{}, provider.Attempt{}, err
	}
	*c.body = b
	return c.cannedCaller.Call(ctx, op, req, id)
}

// A record's numbers reach the ERP as the client wrote them, beyond 2^53 and to every digit.
func TestERPRecordNumbersReachTheProviderAsWritten(t *testing.T) {
	store, err := schema.Open(context.Background(), schema.Config{URL: dbURL, MaxOpenConns: 2, MaxIdleConns: 2})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	var sent []byte
	caller := bodyCaller{cannedCaller{cfg: provider.Config{Issuer: provider.IssuerERP, ResponseFormat: provider.FormatJSON},
		resp: provider.Response{Status: 201, Body: []byte(`{"id":"cus_1","amount":12345678901234567891}`)}}, &sent}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	acts := activities.New(store, oneCaller{caller}, activities.Config{MaxUpstreamResponseBytes: 1 << 20})
	env.RegisterActivity(acts)
	v, err := env.ExecuteActivity(acts.CallProvider, activities.OperationCall{CorrelationID: uuid.NewString(),
		Operation: provider.OpERPEntityCreate,
		Params:    []byte(`{"entity_type":"customer","data":{"amount":12345678901234567891,"rate":0.10000000000000000001}}`)})
	require.NoError(t, err)
	require.Contains(t, string(sent), "12345678901234567891")
	require.Contains(t, string(sent), "0.10000000000000000001")
	var answer activities.OperationAnswer
	require.NoError(t, v.Get(&answer))
	require.Contains(t, string(answer.Body), "12345678901234567891", "and come back so")
}
