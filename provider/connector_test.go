package provider_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/transaction"
)

// clearConnectorEnv leaves none of the connectors' variables set for the test.
func clearConnectorEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PAYMENTS_") || strings.HasPrefix(name, "ERP_") {
			t.Setenv(name, "") // restored after the test
			require.NoError(t, os.Unsetenv(name))
		}
	}
}

func setEnv(t *testing.T, kv map[string]string) {
	t.Helper()
	for k, v := range kv {
		t.Setenv(k, v)
	}
}

func TestLoadConnectorDefaults(t *testing.T) {
	clearConnectorEnv(t)
	t.Setenv("PAYMENTS_API_KEY", "sk_test_1")
	cfg, err := provider.LoadConnector(provider.IssuerPayments, provider.SimConfig{URL: "http://sim:8090"})
	require.NoError(t, err)
	require.Equal(t, provider.IssuerPayments, cfg.Issuer)
	require.Equal(t, "PAYMENTS", cfg.Prefix)
	require.False(t, cfg.Configured(), "no base URL and no simulator")
	require.Equal(t, 30*time.Second, cfg.Timeout)
	require.Equal(t, 100, cfg.MaxConnections)
	require.Equal(t, transaction.RetryPolicy{MaxAttempts: 4, InitialInterval: time.Second, BackoffCoefficient: 2,
		MaxInterval: 10 * time.Second}, cfg.Retry, "MAX_RETRIES=3 is four attempts")
	require.Zero(t, cfg.RateLimit)
	require.Equal(t, 1, cfg.BurstLimit)
	require.Equal(t, provider.Auth{Type: provider.AuthBearer, Token: "sk_test_1"}, cfg.Auth)
	require.Equal(t, map[string]string{"api_version": "v1"}, cfg.Vars)
	require.Empty(t, cfg.Headers)
	require.Equal(t, provider.FormatJSON, cfg.ResponseFormat)
	require.EqualValues(t, 5, cfg.BreakerFailures)
	require.Equal(t, 30*time.Second, cfg.BreakerOpenTimeout)
	require.True(t, cfg.StrictTLS)
	require.EqualValues(t, provider.DefaultMaxResponseBytes, cfg.ResponseLimit())
	require.Equal(t, &provider.ConnectorSettings{APIVersion: "v1", AuthType: provider.AuthBearer}, cfg.Connector)
	require.Equal(t, provider.Route{Method: "POST", Path: "/{api_version}/charges"}, cfg.URIMap[provider.OpPaymentChargeCreate])

	t.Run("the ERP authenticates with an API key header and serves three entity types", func(t *testing.T) {
		t.Setenv("ERP_API_KEY", "erp-key")
		cfg, err := provider.LoadConnector(provider.IssuerERP, provider.SimConfig{})
		require.NoError(t, err)
		require.Equal(t, provider.Auth{Type: provider.AuthAPIKey, Token: "erp-key", APIKeyHeader: "X-API-Key"}, cfg.Auth)
		require.Equal(t, provider.AuthAPIKey, cfg.Connector.AuthType)
		require.Equal(t, []string{"customer", "invoice", "product"}, cfg.Connector.EntityTypes)
		require.Equal(t, provider.Route{Method: "PUT", Path: "/{api_version}/{entity_type}s/{id}"}, cfg.URIMap[provider.OpERPEntityUpdate])
	})

	t.Run("simulate points at the simulator unless a base URL is given", func(t *testing.T) {
		t.Setenv("PAYMENTS_SIMULATE", "true")
		cfg, err := provider.LoadConnector(provider.IssuerPayments, provider.SimConfig{URL: "http://sim:8090/"})
		require.NoError(t, err)
		require.Equal(t, "http://sim:8090/payments", cfg.BaseURL)
		require.True(t, cfg.Configured())
		t.Setenv("PAYMENTS_BASE_URL", "https://api.payments.example/")
		cfg, err = provider.LoadConnector(provider.IssuerPayments, provider.SimConfig{URL: "http://sim:8090"})
		require.NoError(t, err)
		require.Equal(t, "https://api.payments.example", cfg.BaseURL)
	})

	t.Run("Load of a connector is LoadConnector", func(t *testing.T) {
		viaLoad, err := provider.Load(provider.IssuerPayments, provider.SimConfig{})
		require.NoError(t, err)
		direct, err := provider.LoadConnector(provider.IssuerPayments, provider.SimConfig{})
		require.NoError(t, err)
		require.Equal(t, direct, viaLoad)
		_, err = provider.LoadConnector(provider.IssuerCBS, provider.SimConfig{})
		require.ErrorContains(t, err, "not a connector")
	})
}

func TestLoadConnectorReadsEverySetting(t *testing.T) {
	clearConnectorEnv(t)
	setEnv(t, map[string]string{
		"ERP_BASE_URL":             "https://erp.example/api",
		"ERP_API_KEY":              "erp-key",
		"ERP_API_VERSION":          "v2",
		"ERP_TIMEOUT":              "1.5",
		"ERP_MAX_CONNECTIONS":      "8",
		"ERP_MAX_RETRIES":          "0",
		"ERP_RETRY_BACKOFF":        "250ms",
		"ERP_RATE_LIMIT":           "2.5",
		"ERP_WEBHOOK_SECRET":       "whsec_erp",
		"ERP_TENANT_ID":            "tenant-7",
		"ERP_ENTERPRISE_ID":        "ent 42",
		"ERP_REGION":               "eu-west",
		"ERP_ENTITY_TYPES":         " customer , sales_order,",
		"ERP_URI_MAP":              `{"erp_entity_delete": "POST /{api_version}/{entity_type}s/{id}/archive"}`,
		"ERP_BREAKER_FAILURES":     "2",
		"ERP_BREAKER_OPEN_TIMEOUT": "5s",
	})
	cfg, err := provider.LoadConnector(provider.IssuerERP, provider.SimConfig{})
	require.NoError(t, err)
	require.Equal(t, 1500*time.Millisecond, cfg.Timeout, "a bare number is seconds, as seed 003 writes them")
	require.Equal(t, 8, cfg.MaxConnections)
	require.Equal(t, transaction.RetryPolicy{MaxAttempts: 1, InitialInterval: 250 * time.Millisecond, BackoffCoefficient: 2,
		MaxInterval: 2500 * time.Millisecond}, cfg.Retry)
	require.Equal(t, 2.5, cfg.RateLimit)
	require.Equal(t, 3, cfg.BurstLimit, "the burst defaults to the rate rounded up")
	require.Equal(t, map[string]string{"api_version": "v2"}, cfg.Vars)
	require.Equal(t, map[string]string{"X-Tenant-ID": "tenant-7", "X-Enterprise-ID": "ent 42", "X-Region": "eu-west"}, cfg.Headers)
	require.Equal(t, &provider.ConnectorSettings{APIVersion: "v2", AuthType: provider.AuthAPIKey, TenantID: "tenant-7",
		EnterpriseID: "ent 42", Region: "eu-west", WebhookSecret: "whsec_erp", EntityTypes: []string{"customer", "sales_order"}},
		cfg.Connector)
	require.Equal(t, provider.Route{Method: "POST", Path: "/{api_version}/{entity_type}s/{id}/archive"}, cfg.URIMap[provider.OpERPEntityDelete])
	require.Equal(t, provider.Route{Method: "POST", Path: "/{api_version}/{entity_type}s"}, cfg.URIMap[provider.OpERPEntityCreate])
	require.EqualValues(t, 2, cfg.BreakerFailures)
	require.Equal(t, 5*time.Second, cfg.BreakerOpenTimeout)

	t.Setenv("ERP_BURST_LIMIT", "10")
	cfg, err = provider.LoadConnector(provider.IssuerERP, provider.SimConfig{})
	require.NoError(t, err)
	require.Equal(t, 10, cfg.BurstLimit)
}

func TestLoadConnectorAuthTypes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      map[string]string
		sim      bool
		want     provider.Auth
		wantType string // ConnectorSettings.AuthType
	}{
		{name: "bearer sends the API key as the token",
			env:  map[string]string{"PAYMENTS_AUTH_TYPE": "bearer"},
			want: provider.Auth{Type: provider.AuthBearer, Token: "key-1"}, wantType: "bearer"},
		{name: "basic takes the API key as user name and the password from AUTH_CONFIG",
			env:  map[string]string{"PAYMENTS_AUTH_TYPE": "basic", "PAYMENTS_AUTH_CONFIG": `{"password": "pw-1"}`},
			want: provider.Auth{Type: provider.AuthBasic, Username: "key-1", Password: "pw-1"}, wantType: "basic"},
		{name: "oauth2 is client credentials against token_url",
			env: map[string]string{"PAYMENTS_AUTH_TYPE": "oauth2", "PAYMENTS_AUTH_CONFIG": `{"token_url": "https://auth.example/token",
				"client_id": "hub", "client_secret": "cs-1", "scopes": ["charges:write", "refunds:write"]}`},
			want: provider.Auth{Type: provider.AuthOAuth2, TokenURL: "https://auth.example/token", ClientID: "hub",
				ClientSecret: "cs-1", Scopes: []string{"charges:write", "refunds:write"}}, wantType: "oauth2"},
		{name: "oauth2_client_credentials is the same, scopes may be one string, the API key the client id",
			env: map[string]string{"PAYMENTS_AUTH_TYPE": "OAuth2_Client_Credentials", "PAYMENTS_AUTH_CONFIG": `{"token_url":
				"https://auth.example/token", "client_secret": "cs-1", "scopes": "a b,c"}`},
			want: provider.Auth{Type: provider.AuthOAuth2, TokenURL: "https://auth.example/token", ClientID: "key-1",
				ClientSecret: "cs-1", Scopes: []string{"a", "b", "c"}}, wantType: "oauth2_client_credentials"},
		{name: "oauth2 against the simulator takes its token endpoint",
			env: map[string]string{"PAYMENTS_AUTH_TYPE": "oauth2", "PAYMENTS_SIMULATE": "true",
				"PAYMENTS_AUTH_CONFIG": `{"client_id": "hub", "client_secret": "cs-1"}`}, sim: true,
			want: provider.Auth{Type: provider.AuthOAuth2, TokenURL: "http://sim/oauth/token", ClientID: "hub",
				ClientSecret: "cs-1"}, wantType: "oauth2"},
		{name: "hmac signs with the API key as key id and AUTH_CONFIG's secret",
			env:  map[string]string{"PAYMENTS_AUTH_TYPE": "hmac", "PAYMENTS_AUTH_CONFIG": `{"secret": "s3cret"}`},
			want: provider.Auth{Type: provider.AuthHMAC, HMACKeyID: "key-1", HMACSecret: "s3cret"}, wantType: "hmac"},
		{name: "api_key sends the key in the configured header",
			env:  map[string]string{"PAYMENTS_AUTH_TYPE": "api_key", "PAYMENTS_AUTH_CONFIG": `{"header": "X-Merchant-Key"}`},
			want: provider.Auth{Type: provider.AuthAPIKey, Token: "key-1", APIKeyHeader: "X-Merchant-Key"}, wantType: "api_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearConnectorEnv(t)
			t.Setenv("PAYMENTS_API_KEY", "key-1")
			setEnv(t, tc.env)
			cfg, err := provider.LoadConnector(provider.IssuerPayments, provider.SimConfig{URL: "http://sim"})
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg.Auth)
			require.Equal(t, tc.wantType, cfg.Connector.AuthType)
		})
	}
}

func TestLoadConnectorRefusesBadValuesByName(t *testing.T) {
	const apiKey, secret = "sk_live_TOPSECRET", "hunter2-TOPSECRET"
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PAYMENTS_MAX_RETRIES": "11"}, "PAYMENTS_MAX_RETRIES must be 0 to 10"},
		{map[string]string{"PAYMENTS_MAX_RETRIES": "three"}, "PAYMENTS_MAX_RETRIES must be 0 to 10"},
		{map[string]string{"PAYMENTS_MAX_RETRIES": "-1"}, "PAYMENTS_MAX_RETRIES must be 0 to 10"},
		{map[string]string{"PAYMENTS_TIMEOUT": "0s"}, "PAYMENTS_TIMEOUT must be a duration above 0"},
		{map[string]string{"PAYMENTS_TIMEOUT": "soon"}, "PAYMENTS_TIMEOUT must be a duration"},
		{map[string]string{"PAYMENTS_TIMEOUT": "2h"}, "PAYMENTS_TIMEOUT must be a duration above 0 and at most 10m0s"},
		{map[string]string{"PAYMENTS_RETRY_BACKOFF": "-1s"}, "PAYMENTS_RETRY_BACKOFF"},
		{map[string]string{"PAYMENTS_MAX_CONNECTIONS": "0"}, "PAYMENTS_MAX_CONNECTIONS must be 1 to 10000"},
		{map[string]string{"PAYMENTS_RATE_LIMIT": "-2"}, "PAYMENTS_RATE_LIMIT must be 0 (no limit)"},
		{map[string]string{"PAYMENTS_RATE_LIMIT": "NaN"}, "PAYMENTS_RATE_LIMIT"},
		{map[string]string{"PAYMENTS_BURST_LIMIT": "0"}, "PAYMENTS_BURST_LIMIT must be 1 to"},
		{map[string]string{"PAYMENTS_API_VERSION": "v1/../admin"}, "PAYMENTS_API_VERSION"},
		{map[string]string{"PAYMENTS_AUTH_TYPE": "kerberos"}, `PAYMENTS_AUTH_TYPE="kerberos": want bearer, basic, oauth2`},
		{map[string]string{"PAYMENTS_AUTH_TYPE": "none"}, "PAYMENTS_AUTH_TYPE"},
		{map[string]string{"PAYMENTS_AUTH_TYPE": "basic", "PAYMENTS_AUTH_CONFIG": `{"password": "` + secret + `"`},
			"PAYMENTS_AUTH_CONFIG must be a JSON object"},
		{map[string]string{"PAYMENTS_AUTH_TYPE": "basic", "PAYMENTS_AUTH_CONFIG": `["` + secret + `"]`},
			"PAYMENTS_AUTH_CONFIG must be a JSON object"},
		{map[string]string{"PAYMENTS_AUTH_TYPE": "basic", "PAYMENTS_AUTH_CONFIG": `{"passwd": "` + secret + `"}`},
			`PAYMENTS_AUTH_CONFIG: auth type basic takes password, not "passwd"`},
		{map[string]string{"PAYMENTS_AUTH_CONFIG": `{"password": "` + secret + `"}`}, "auth type bearer takes no keys"},
		{map[string]string{"PAYMENTS_AUTH_TYPE": "basic", "PAYMENTS_AUTH_CONFIG": `{"password": 42}`},
			"PAYMENTS_AUTH_CONFIG password must be a string"},
		{map[string]string{"PAYMENTS_AUTH_TYPE": "hmac"}, "PAYMENTS_AUTH_TYPE=hmac needs secret in PAYMENTS_AUTH_CONFIG"},
		{map[string]string{"PAYMENTS_AUTH_TYPE": "oauth2", "PAYMENTS_AUTH_CONFIG": `{"client_secret": "` + secret + `"}`},
			"PAYMENTS_AUTH_TYPE=oauth2 needs token_url in PAYMENTS_AUTH_CONFIG"},
		{map[string]string{"PAYMENTS_AUTH_TYPE": "oauth2", "PAYMENTS_AUTH_CONFIG": `{"token_url": "ftp://` + secret + `@x"}`},
			"PAYMENTS_AUTH_CONFIG token_url is not an http(s) URL"},
		{map[string]string{"PAYMENTS_AUTH_TYPE": "api_key", "PAYMENTS_AUTH_CONFIG": `{"header": "Idempotency-Key"}`},
			"cannot carry the API key"},
		{map[string]string{"PAYMENTS_AUTH_TYPE": "api_key", "PAYMENTS_AUTH_CONFIG": `{"header": "X Key"}`},
			"cannot carry the API key"},
		{map[string]string{"PAYMENTS_API_KEY": apiKey + "\r\nX-Evil: 1"}, "PAYMENTS_API_KEY must be"},
		{map[string]string{"PAYMENTS_TENANT_ID": "t1\r\nX-Evil: 1"}, "PAYMENTS_TENANT_ID must be at most 128 printable ASCII"},
		{map[string]string{"PAYMENTS_REGION": strings.Repeat("r", 129)}, "PAYMENTS_REGION"},
		{map[string]string{"PAYMENTS_BASE_URL": "ftp://user:" + secret + "@pay.example"}, "PAYMENTS_BASE_URL"},
		{map[string]string{"PAYMENTS_URI_MAP": `{"payment_charge_get": "FETCH /x"}`}, "PAYMENTS_URI_MAP[payment_charge_get]"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			clearConnectorEnv(t)
			t.Setenv("PAYMENTS_API_KEY", apiKey)
			setEnv(t, tc.env)
			_, err := provider.LoadConnector(provider.IssuerPayments, provider.SimConfig{})
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "TOPSECRET", "secrets stay out of error messages")
		})
	}

	for _, tc := range []struct{ types, want string }{
		{"customer,Invoice", `ERP_ENTITY_TYPES: "Invoice" is not an entity type name`},
		{"customer,9lives", `"9lives" is not an entity type name`},
		{"customer,customer", "ERP_ENTITY_TYPES names customer twice"},
		{" , ", "ERP_ENTITY_TYPES must name 1 to 50 entity types"},
		{"customer,sync", `ERP_ENTITY_TYPES: "sync" names a route of the ERP connector`},
		{"batch_sync", `ERP_ENTITY_TYPES: "batch_sync" names a route of the ERP connector`},
		{"invoice, status", `ERP_ENTITY_TYPES: "status" names a route of the ERP connector`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			clearConnectorEnv(t)
			t.Setenv("ERP_ENTITY_TYPES", tc.types)
			_, err := provider.LoadConnector(provider.IssuerERP, provider.SimConfig{})
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestLoadAllBuildsTheConnectorsClients(t *testing.T) {
	clearConnectorEnv(t)
	t.Setenv("PAYMENTS_SIMULATE", "true")
	configs, err := provider.LoadAll(provider.SimConfig{URL: "http://sim"})
	require.NoError(t, err)
	require.Equal(t, "http://sim/payments", configs[provider.IssuerPayments].BaseURL)
	require.Contains(t, configs, provider.IssuerERP)
	require.Nil(t, configs[provider.IssuerCBS].Connector, "issuers have no connector settings")
	set, err := provider.NewSet(configs, provider.NewMetrics(nil))
	require.NoError(t, err)
	for _, name := range provider.Connectors {
		c, err := set.Caller(name)
		require.NoError(t, err)
		require.Equal(t, name, c.Config().Issuer)
	}
	require.Equal(t, "closed", set.Breakers()[provider.IssuerERP])
}

func TestConnectorOperationsInTheCatalogue(t *testing.T) {
	want := map[string]string{
		provider.OpPaymentChargeCreate: provider.IssuerPayments, provider.OpPaymentChargeGet: provider.IssuerPayments,
		provider.OpPaymentRefundCreate: provider.IssuerPayments, provider.OpPaymentMethodCreate: provider.IssuerPayments,
		provider.OpPaymentSubscriptionCreate: provider.IssuerPayments, provider.OpPaymentSubscriptionCancel: provider.IssuerPayments,
		provider.OpPaymentSubscriptionCancelNow: provider.IssuerPayments, provider.OpERPEntityCreate: provider.IssuerERP,
		provider.OpERPEntityUpdate: provider.IssuerERP, provider.OpERPEntityDelete: provider.IssuerERP,
	}
	for key, issuer := range want {
		o := op(key)
		require.Equal(t, issuer, o.Issuer, key)
		require.Equal(t, issuer, o.Permission, "%s: a connector's operations take the connector's permission", key)
		require.Equal(t, "/api/v1/connectors", o.Base, key)
		require.True(t, strings.HasPrefix(o.Route, "/"+issuer+"/"), key)
		require.NotNil(t, o.NewRequest(), key)
		require.NotNil(t, o.NewResponse(), key)
	}
	require.Equal(t, provider.OpAccountBalance, op(provider.OpAccountBalance).Permission, "an issuer's keeps its key")
	for _, key := range []string{provider.OpPaymentChargeCreate, provider.OpPaymentRefundCreate, provider.OpPaymentMethodCreate,
		provider.OpPaymentSubscriptionCreate, provider.OpPaymentSubscriptionCancel} {
		require.True(t, op(key).Form, "%s has a body: a form", key)
	}
	require.False(t, op(provider.OpPaymentChargeGet).Form)
	require.False(t, op(provider.OpERPEntityCreate).Form, "the ERP takes JSON")
}

// connectorClient is a client of the connector loaded from env, against srv.
func connectorClient(t *testing.T, issuer string, srv *httptest.Server, env map[string]string) *provider.Client {
	t.Helper()
	clearConnectorEnv(t)
	t.Setenv(provider.Prefix(issuer)+"_BASE_URL", srv.URL)
	setEnv(t, env)
	cfg, err := provider.LoadConnector(issuer, provider.SimConfig{})
	require.NoError(t, err)
	return client(t, cfg)
}

func TestAPIKeyAuthAndConnectorHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"id":"cus_000001","name":"Amina"}`))
	}))
	defer srv.Close()
	c := connectorClient(t, provider.IssuerERP, srv, map[string]string{"ERP_API_KEY": "erp-key", "ERP_TENANT_ID": "tenant-7",
		"ERP_REGION": "eu-west"})
	resp, _, err := c.Call(context.Background(), op(provider.OpERPEntityCreate),
		&provider.ERPEntityRequest{EntityType: "customer", Data: map[string]any{"name": "Amina"}}, "corr-erp-1")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.Status)
	require.Equal(t, "erp-key", got.Get("X-API-Key"))
	require.Empty(t, got.Get("Authorization"))
	require.Equal(t, "tenant-7", got.Get("X-Tenant-ID"))
	require.Equal(t, "eu-west", got.Get("X-Region"))
	require.Empty(t, got.Values("X-Enterprise-ID"), "a setting not given sends no header")

	t.Run("the header is the configured one", func(t *testing.T) {
		c := connectorClient(t, provider.IssuerERP, srv, map[string]string{"ERP_API_KEY": "erp-key",
			"ERP_AUTH_CONFIG": `{"header":"X-ERP-Token"}`})
		_, _, err := c.Call(context.Background(), op(provider.OpERPEntityCreate),
			&provider.ERPEntityRequest{EntityType: "customer"}, "c")
		require.NoError(t, err)
		require.Equal(t, "erp-key", got.Get("X-ERP-Token"))
		require.Empty(t, got.Get("X-API-Key"))
	})
}

func TestMaxConnectionsCapsConnectionsToTheProvider(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		w.Write([]byte(`{"id":"cus_1"}`))
	}))
	defer srv.Close()
	c := connectorClient(t, provider.IssuerERP, srv, map[string]string{"ERP_MAX_CONNECTIONS": "1"})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			_, _, err := c.Call(context.Background(), op(provider.OpERPEntityCreate),
				&provider.ERPEntityRequest{EntityType: "customer"}, "c")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, most, "MAX_CONNECTIONS=1: one request at a time")
}

func TestAConnectorWithoutAddressIsNotConfigured(t *testing.T) {
	clearConnectorEnv(t)
	cfg, err := provider.LoadConnector(provider.IssuerPayments, provider.SimConfig{})
	require.NoError(t, err)
	_, _, err = client(t, cfg).Call(context.Background(), op(provider.OpPaymentChargeGet),
		&provider.ChargeGetRequest{ChargeID: "ch_1"}, "c")
	var ce *provider.CallError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, provider.KindNotConfigured, ce.Kind)
	require.Contains(t, ce.Reason, "PAYMENTS_BASE_URL")
}
