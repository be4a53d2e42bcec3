package provider_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/provider"
)

func config(t *testing.T, baseURL string, edit func(*provider.Config)) provider.Config {
	t.Helper()
	cfg, err := provider.Load(provider.IssuerCBS, provider.SimConfig{})
	require.NoError(t, err)
	cfg.BaseURL = baseURL
	cfg.Timeout = time.Second
	cfg.BreakerFailures = 3
	cfg.BreakerOpenTimeout = time.Hour
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

func client(t *testing.T, cfg provider.Config) *provider.Client {
	t.Helper()
	c, err := provider.NewClient(cfg, provider.NewMetrics(nil))
	require.NoError(t, err)
	return c
}

func op(key string) provider.Operation {
	o, ok := provider.Lookup(key)
	if !ok {
		panic(key)
	}
	return o
}

func TestLoadReadsThePrefixedEnvironment(t *testing.T) {
	t.Setenv("CBS_BASE_URL", "https://cbs.example.org/api/")
	t.Setenv("CBS_AUTH_TYPE", "bearer")
	t.Setenv("CBS_AUTH_TOKEN", "tok")
	t.Setenv("CBS_DEFAULT_HEADERS", "X-Channel:switchyard,X-Tenant:bank-a")
	t.Setenv("CBS_URI_MAP", `{"account_balance": "post /v2/balance/{account_number}"}`)
	t.Setenv("CBS_REQUIRED_AUTH_HEADERS", "Authorization")
	cfg, err := provider.Load(provider.IssuerCBS, provider.SimConfig{URL: "http://sim"})
	require.NoError(t, err)
	require.Equal(t, "https://cbs.example.org/api", cfg.BaseURL)
	require.Equal(t, map[string]string{"X-Channel": "switchyard", "X-Tenant": "bank-a"}, cfg.Headers)
	require.Equal(t, provider.Route{Method: "POST", Path: "/v2/balance/{account_number}"}, cfg.URIMap[provider.OpAccountBalance])
	require.Equal(t, provider.Route{Method: "GET", Path: "/accounts/{account_number}"}, cfg.URIMap[provider.OpAccountDetails],
		"entries not overridden keep their defaults")
	require.Equal(t, []string{"Authorization"}, cfg.RequiredAuthHeaders)
	require.True(t, cfg.StrictTLS)

	t.Run("simulate points at the simulator unless a base URL is given", func(t *testing.T) {
		t.Setenv("BILL_SIMULATE", "true")
		t.Setenv("BILL_AUTH_TYPE", "oauth2_client_credentials")
		cfg, err := provider.Load(provider.IssuerBill, provider.SimConfig{URL: "http://sim:8090"})
		require.NoError(t, err)
		require.Equal(t, "http://sim:8090/bill", cfg.BaseURL)
		require.Equal(t, "http://sim:8090/oauth/token", cfg.Auth.TokenURL)
	})

	t.Run("bad values are refused with the variable's name", func(t *testing.T) {
		t.Setenv("SMS_AUTH_TYPE", "kerberos")
		_, err := provider.Load(provider.IssuerSMS, provider.SimConfig{})
		require.ErrorContains(t, err, "SMS_AUTH_TYPE")
		t.Setenv("SMS_AUTH_TYPE", "none")
		t.Setenv("SMS_URI_MAP", `{"send_sms": "SEND /x"}`)
		_, err = provider.Load(provider.IssuerSMS, provider.SimConfig{})
		require.ErrorContains(t, err, "SMS_URI_MAP[send_sms]")
	})
}

func TestHMACSigning(t *testing.T) {
	var gotErr error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		gotErr = provider.VerifyHMAC(r, body, "key-1", "s3cret", time.Minute, time.Now())
		w.Write([]byte(`{"customers":[]}`))
	}))
	defer srv.Close()
	c := client(t, config(t, srv.URL, func(c *provider.Config) {
		c.Auth = provider.Auth{Type: provider.AuthHMAC, HMACKeyID: "key-1", HMACSecret: "s3cret"}
	}))
	_, _, err := c.Call(context.Background(), op(provider.OpCustomerSearch),
		&provider.CustomerSearchRequest{Name: "Amina"}, "corr-1")
	require.NoError(t, err)
	require.NoError(t, gotErr, "the provider verifies what the hub signed")

	req := httptest.NewRequest("POST", "/customers/search", strings.NewReader(`{"name":"Amina"}`))
	ts := "1700000000"
	req.Header.Set(provider.HeaderAPIKey, "key-1")
	req.Header.Set(provider.HeaderTimestamp, ts)
	req.Header.Set(provider.HeaderSignature, provider.Sign("s3cret", "POST", "/customers/search", ts, []byte(`{"name":"Amina"}`)))
	at := time.Unix(1700000000, 0)
	require.NoError(t, provider.VerifyHMAC(req, []byte(`{"name":"Amina"}`), "key-1", "s3cret", time.Minute, at))
	require.Error(t, provider.VerifyHMAC(req, []byte(`{"name":"Baraka"}`), "key-1", "s3cret", time.Minute, at), "tampered body")
	require.Error(t, provider.VerifyHMAC(req, []byte(`{"name":"Amina"}`), "key-2", "s3cret", time.Minute, at), "wrong key")
	require.Error(t, provider.VerifyHMAC(req, []byte(`{"name":"Amina"}`), "key-1", "s3cret", time.Minute,
		at.Add(2*time.Minute)), "stale timestamp")
}

func TestCallBuildsTheRequestFromTheURIMap(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		w.Write([]byte(`{"account_number":"0110010000001","currency":"TZS","entries":[]}`))
	}))
	defer srv.Close()
	c := client(t, config(t, srv.URL+"/core", func(c *provider.Config) {
		c.Auth = provider.Auth{Type: provider.AuthBearer, Token: "tok-1"}
		c.Headers = map[string]string{"X-Channel": "switchyard"}
	}))
	resp, attempt, err := c.Call(context.Background(), op(provider.OpMiniStatement),
		&provider.MiniStatementRequest{AccountNumber: "0110010000001", Limit: 5}, "corr-2")
	require.NoError(t, err)
	require.Equal(t, 200, resp.Status)
	require.Equal(t, "/core/accounts/0110010000001/statement", got.URL.Path)
	require.Equal(t, "limit=5", got.URL.RawQuery)
	require.Equal(t, "Bearer tok-1", got.Header.Get("Authorization"))
	require.Equal(t, "switchyard", got.Header.Get("X-Channel"))
	require.Equal(t, "corr-2", got.Header.Get("Idempotency-Key"))
	require.Equal(t, "/core/accounts/*********0001/statement?limit=5", attempt.Path, "account numbers are masked")
	require.Equal(t, "ok", attempt.Outcome)

	_, _, err = c.Call(context.Background(), op(provider.OpMiniStatement), &provider.MiniStatementRequest{AccountNumber: "01100100"}, "c")
	require.NoError(t, err)
	require.Empty(t, got.URL.RawQuery, "an empty query parameter is left out")
}

func TestRequiredAuthHeadersRefuseBeforeSending(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := client(t, config(t, srv.URL, func(c *provider.Config) {
		c.Auth = provider.Auth{Type: provider.AuthBearer} // no token configured
		c.RequiredAuthHeaders = []string{"Authorization"}
	}))
	for range 5 {
		_, attempt, err := c.Call(context.Background(), op(provider.OpBankDictionary), &provider.BankDictionaryRequest{}, "c")
		var ce *provider.CallError
		require.True(t, errors.As(err, &ce))
		require.Equal(t, provider.KindRejected, ce.Kind)
		require.Equal(t, "rejected", attempt.Outcome)
	}
	require.Zero(t, hits.Load(), "nothing was sent")
	require.Equal(t, "closed", c.BreakerState(), "a refusal of ours does not trip the breaker")
}

func TestAnswersAreClassified(t *testing.T) {
	status := atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch s := int(status.Load()); s {
		case 429:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(s)
		case 404:
			w.WriteHeader(s)
			w.Write([]byte(`{"error":{"code":"ACCOUNT_NOT_FOUND","message":"account not found"}}`))
		default:
			w.WriteHeader(s)
		}
	}))
	defer srv.Close()
	c := client(t, config(t, srv.URL, nil))
	call := func() (provider.Response, error) {
		r, _, err := c.Call(context.Background(), op(provider.OpAccountBalance), &provider.AccountRequest{AccountNumber: "12345678"}, "c")
		return r, err
	}

	status.Store(404)
	resp, err := call()
	require.NoError(t, err, "a 4xx is a result")
	require.Equal(t, 404, resp.Status)
	require.Equal(t, "ACCOUNT_NOT_FOUND", resp.ProviderCode)

	status.Store(429)
	_, err = call()
	var ce *provider.CallError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, provider.KindStatus, ce.Kind)
	require.Equal(t, 7*time.Second, ce.RetryAfter)

	t.Run("consecutive failures open the breaker, which then fails fast", func(t *testing.T) {
		status.Store(503)
		for range 2 { // the 429 above was the first failure
			_, err := call()
			require.True(t, errors.As(err, &ce))
			require.Equal(t, provider.KindStatus, ce.Kind)
		}
		require.Equal(t, "open", c.BreakerState())
		status.Store(200)
		_, err := call()
		require.True(t, errors.As(err, &ce))
		require.Equal(t, provider.KindBreakerOpen, ce.Kind, "open: refused without calling")
	})
}

func TestTimeoutsAndUnreachableProviders(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := client(t, config(t, srv.URL, func(c *provider.Config) { c.Timeout = 50 * time.Millisecond }))
	_, attempt, err := c.Call(context.Background(), op(provider.OpBankDictionary), &provider.BankDictionaryRequest{}, "c")
	var ce *provider.CallError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, provider.KindTimeout, ce.Kind)
	require.Equal(t, "timeout", attempt.Outcome)

	down := client(t, config(t, "http://127.0.0.1:1", nil))
	_, _, err = down.Call(context.Background(), op(provider.OpBankDictionary), &provider.BankDictionaryRequest{}, "c")
	require.True(t, errors.As(err, &ce))
	require.Equal(t, provider.KindUnreachable, ce.Kind)

	unset := client(t, config(t, "", nil))
	_, _, err = unset.Call(context.Background(), op(provider.OpBankDictionary), &provider.BankDictionaryRequest{}, "c")
	require.True(t, errors.As(err, &ce))
	require.Equal(t, provider.KindNotConfigured, ce.Kind)
}

func TestOAuth2TokensAreCachedAndRenewedOnceOn401(t *testing.T) {
	var mu sync.Mutex
	issued, current := 0, ""
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		if id != "hub" || secret != "hub-secret" {
			w.WriteHeader(401)
			return
		}
		mu.Lock()
		issued++
		current = "tok-" + string(rune('a'+issued))
		tok := current
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"` + tok + `","token_type":"Bearer","expires_in":3600}`))
	})
	mux.HandleFunc("/v1/projects/p1/messages:send", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := r.Header.Get("Authorization") == "Bearer "+current
		mu.Unlock()
		if !ok {
			w.WriteHeader(401)
			return
		}
		w.Write([]byte(`{"name":"projects/p1/messages/42"}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg, err := provider.Load(provider.IssuerPush, provider.SimConfig{})
	require.NoError(t, err)
	cfg.BaseURL, cfg.Vars = srv.URL, map[string]string{"project_id": "p1"}
	cfg.Auth = provider.Auth{Type: provider.AuthOAuth2, TokenURL: srv.URL + "/token", ClientID: "hub", ClientSecret: "hub-secret"}
	c := client(t, cfg)
	send := func() (provider.Response, error) {
		r, _, err := c.Call(context.Background(), op(provider.OpSendPush),
			&provider.SendPushRequest{Token: "device-token-1", Title: "Hi", Body: "There"}, "c")
		return r, err
	}
	for range 3 {
		resp, err := send()
		require.NoError(t, err)
		require.Equal(t, 200, resp.Status)
	}
	require.Equal(t, 1, issued, "one token serves until it expires")

	mu.Lock()
	current = "revoked"
	mu.Unlock()
	_, err = send()
	require.NoError(t, err, "a 401 renews the token and sends once more")
	require.Equal(t, 2, issued)

	typed, err := provider.DecodeResponse(op(provider.OpSendPush), []byte(`{"name":"projects/p1/messages/42"}`), provider.FormatJSON)
	require.NoError(t, err)
	require.Equal(t, "projects/p1/messages/42", typed.(*provider.SendPushResponse).MessageID)
}

func TestXMLAnswersDecodeIntoTheTypedResponse(t *testing.T) {
	typed, err := provider.DecodeResponse(op(provider.OpBillerCategory), []byte(
		`<BillerCategoryResponse><categories><category><code>tv</code><name>Pay TV</name></category>`+
			`<category><code>water</code><name>Water</name></category></categories></BillerCategoryResponse>`), provider.FormatXML)
	require.NoError(t, err)
	require.Equal(t, []provider.BillerCategory{{Code: "tv", Name: "Pay TV"}, {Code: "water", Name: "Water"}},
		typed.(*provider.BillerCategoryResponse).Categories)
}

func TestMaskDigits(t *testing.T) {
	require.Equal(t, "/accounts/********7890/balance", provider.MaskDigits("/accounts/011234567890/balance"))
	require.Equal(t, "short 1234567 stays", provider.MaskDigits("short 1234567 stays"))
	require.Equal(t, "card ************1111", provider.MaskDigits("card 4111111111111111"))
}

func TestValidatorNamesJSONFields(t *testing.T) {
	v := provider.NewValidator()
	err := v.Struct(&provider.SendSMSRequest{To: "12ab", Message: ""})
	require.Error(t, err)
	require.Contains(t, err.Error(), "'to'")
	require.Contains(t, err.Error(), "'message'")
	require.NoError(t, v.Struct(&provider.SendSMSRequest{To: "+255712345678", Message: "Hello"}))
	require.Error(t, v.Struct(&provider.SendEmailRequest{To: []string{"a@example.com"}, Subject: "s"}), "text or html")
	require.NoError(t, v.Struct(&provider.SendEmailRequest{To: []string{"a@example.com"}, Subject: "s", HTML: "<p>x</p>"}))
}
