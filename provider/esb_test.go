package provider_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/provider"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/transaction"
)

func TestESBKeysAreReadInEveryShapeGovESBHandsOut(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	sec1, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	pkix, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	for name, s := range map[string]string{
		"PKCS#8 PEM":              pemOf("PRIVATE KEY", pkcs8),
		"SEC 1 PEM":               pemOf("EC PRIVATE KEY", sec1),
		"PKCS#8 base64 DER":       base64.StdEncoding.EncodeToString(pkcs8),
		"SEC 1 base64 DER":        base64.StdEncoding.EncodeToString(sec1),
		"PEM with literal \\n":    strings.ReplaceAll(pemOf("PRIVATE KEY", pkcs8), "\n", `\n`),
		"base64 split over lines": base64.StdEncoding.EncodeToString(pkcs8)[:40] + "\n" + base64.StdEncoding.EncodeToString(pkcs8)[40:],
	} {
		got, err := provider.ParseESBPrivateKey(s)
		require.NoError(t, err, name)
		require.True(t, got.Equal(key), name)
	}
	for name, s := range map[string]string{"PKIX PEM": pemOf("PUBLIC KEY", pkix), "PKIX base64 DER": base64.StdEncoding.EncodeToString(pkix)} {
		got, err := provider.ParseESBPublicKey(s)
		require.NoError(t, err, name)
		require.True(t, got.Equal(&key.PublicKey), name)
	}
	_, err = provider.ParseESBPrivateKey("not a key")
	require.Error(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	der, _ := x509.MarshalPKCS8PrivateKey(p384)
	_, err = provider.ParseESBPrivateKey(base64.StdEncoding.EncodeToString(der))
	require.ErrorContains(t, err, "P-256")
}

func TestESBSignaturesCoverTheExactBytes(t *testing.T) {
	t.Parallel()
	pair, err := provider.GenerateESBKeyPair()
	require.NoError(t, err)
	priv, err := provider.ParseESBPrivateKey(pair.PrivatePEM)
	require.NoError(t, err)
	pub, err := provider.ParseESBPublicKey(pair.PublicPEM)
	require.NoError(t, err)
	data := []byte(`{"apiCode":"X","esbBody":{"a":1}}`)
	sig, err := provider.SignESB(priv, data)
	require.NoError(t, err)
	require.NoError(t, provider.VerifyESB(pub, data, sig))

	t.Run("a byte changed, even whitespace, fails", func(t *testing.T) {
		require.ErrorIs(t, provider.VerifyESB(pub, []byte(`{"apiCode":"X", "esbBody":{"a":1}}`), sig), provider.ErrESBSignature)
	})
	t.Run("a missing or malformed signature fails", func(t *testing.T) {
		require.ErrorIs(t, provider.VerifyESB(pub, data, ""), provider.ErrESBSignature)
		require.ErrorIs(t, provider.VerifyESB(pub, data, "%%%"), provider.ErrESBSignature)
	})
	t.Run("another key's signature fails", func(t *testing.T) {
		other, _ := provider.GenerateESBKeyPair()
		otherPub, _ := provider.ParseESBPublicKey(other.PublicPEM)
		require.ErrorIs(t, provider.VerifyESB(otherPub, data, sig), provider.ErrESBSignature)
	})
}

func TestESBBodyKeepsJSONAndQuotesTheRest(t *testing.T) {
	t.Parallel()
	require.JSONEq(t, `{"a":[1,2]}`, string(provider.ESBBody([]byte(` {"a": [1, 2]} `))))
	require.Equal(t, `{}`, string(provider.ESBBody(nil)))
	require.Equal(t, `"a=1&b=2"`, string(provider.ESBBody([]byte("a=1&b=2"))))
}

// esbPeer is the engine simulator on loopback with fresh keys, and a relay configured for it.
type esbPeer struct {
	engine *sim.ESB
	url    string
	cfg    provider.ESBConfig
	tokens *atomic.Int32 // token requests that reached the simulator
}

func newESBPeer(t *testing.T, format string) esbPeer {
	t.Helper()
	client, err := provider.GenerateESBKeyPair()
	require.NoError(t, err)
	engineKeys, err := provider.GenerateESBKeyPair()
	require.NoError(t, err)
	engine := sim.NewESB(sim.ESBConfig{ClientID: "hub", ClientSecret: "esb-test-secret", ClientPublicKey: client.PublicPEM,
		PrivateKey: engineKeys.PrivatePEM})
	mux := http.NewServeMux()
	engine.Register(mux)
	var tokens atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/esb/token" {
			tokens.Add(1)
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := provider.ESBConfig{TokenURL: srv.URL + "/esb/token", EngineURL: srv.URL + "/esb/engine",
		GrantType: "client_credentials", ClientID: "hub", ClientSecret: "esb-test-secret", DataFormat: format,
		ClientPrivateKey: client.PrivatePEM, PublicKey: engineKeys.PublicPEM}
	require.NoError(t, cfg.Validate())
	return esbPeer{engine: engine, url: srv.URL, cfg: cfg, tokens: &tokens}
}

func (p esbPeer) faults(t *testing.T, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, p.url+"/_sim/esb/faults", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

func esbErrType(t *testing.T, err error) string {
	t.Helper()
	var esbErr *provider.ESBError
	require.True(t, errors.As(err, &esbErr), "%v", err)
	return esbErr.Type
}

func TestESBRelayAgainstTheEngineSimulator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	peer := newESBPeer(t, provider.ESBFormatJSON)
	relay := provider.NewESB(peer.cfg, &http.Client{}, 1<<20)

	res, err := relay.Relay(ctx, provider.ESBRequest{Mode: transaction.ESBModeNormal, Code: "API-1", Body: []byte(`{"nin":"1"}`)})
	require.NoError(t, err)
	require.Equal(t, "application/json", res.ContentType)
	require.NotEmpty(t, res.RequestID)
	require.JSONEq(t, `{"apiCode":"API-1","received":{"nin":"1"}}`, string(res.Body))

	t.Run("the token is cached across requests", func(t *testing.T) {
		before := peer.tokens.Load()
		_, err := relay.Relay(ctx, provider.ESBRequest{Mode: transaction.ESBModePush, Code: "PUSH-1", Body: []byte("plain")})
		require.NoError(t, err)
		require.Equal(t, before, peer.tokens.Load())
	})
	t.Run("an expired token is renewed once and the request goes through", func(t *testing.T) {
		before := peer.tokens.Load()
		peer.faults(t, `{"expire_tokens": true}`)
		res, err := relay.Relay(ctx, provider.ESBRequest{Mode: transaction.ESBModePush, Code: "PUSH-1", Body: []byte("plain")})
		require.NoError(t, err)
		require.JSONEq(t, `{"pushCode":"PUSH-1","received":"plain"}`, string(res.Body))
		require.Equal(t, before+1, peer.tokens.Load())
	})
	t.Run("a tampered answer is never a success", func(t *testing.T) {
		peer.faults(t, `{"tamper_signature": true}`)
		_, err := relay.Relay(ctx, provider.ESBRequest{Mode: transaction.ESBModeNormal, Code: "API-1"})
		require.Equal(t, transaction.ErrTypeESBSignatureInvalid, esbErrType(t, err))
		peer.faults(t, `{"unsigned": true}`)
		_, err = relay.Relay(ctx, provider.ESBRequest{Mode: transaction.ESBModeNormal, Code: "API-1"})
		require.Equal(t, transaction.ErrTypeESBSignatureInvalid, esbErrType(t, err))
	})
	t.Run("success=false is a refusal with the engine's message", func(t *testing.T) {
		peer.faults(t, `{"decline": true}`)
		_, err := relay.Relay(ctx, provider.ESBRequest{Mode: transaction.ESBModeNormal, Code: "API-1"})
		require.Equal(t, transaction.ErrTypeESBRequestFailed, esbErrType(t, err))
		require.ErrorContains(t, err, "refused the request")
	})
	t.Run("a 503 is retryable", func(t *testing.T) {
		peer.faults(t, `{"fail_status": 503, "fail_count": 1}`)
		_, err := relay.Relay(ctx, provider.ESBRequest{Mode: transaction.ESBModeNormal, Code: "API-1"})
		require.Equal(t, transaction.ErrTypeUpstreamStatus, esbErrType(t, err))
	})
	t.Run("a request signed with another key is refused by the engine", func(t *testing.T) {
		peer.faults(t, `{}`)
		other, _ := provider.GenerateESBKeyPair()
		cfg := peer.cfg
		cfg.ClientPrivateKey = other.PrivatePEM
		_, err := provider.NewESB(cfg, &http.Client{}, 1<<20).Relay(ctx, provider.ESBRequest{Mode: transaction.ESBModeNormal, Code: "API-1"})
		require.Equal(t, transaction.ErrTypeESBRequestFailed, esbErrType(t, err))
		require.ErrorContains(t, err, "400")
	})
	t.Run("wrong client credentials fail without retry", func(t *testing.T) {
		cfg := peer.cfg
		cfg.ClientSecret = "wrong"
		_, err := provider.NewESB(cfg, &http.Client{}, 1<<20).Relay(ctx, provider.ESBRequest{Mode: transaction.ESBModeNormal, Code: "API-1"})
		require.Equal(t, transaction.ErrTypeESBAuthFailed, esbErrType(t, err))
		require.NotContains(t, err.Error(), "wrong")
	})
	t.Run("unset settings are named", func(t *testing.T) {
		cfg := peer.cfg
		cfg.EngineURL, cfg.ClientPrivateKey = "", ""
		_, err := provider.NewESB(cfg, &http.Client{}, 1<<20).Relay(ctx, provider.ESBRequest{Code: "API-1"})
		require.Equal(t, transaction.ErrTypeESBNotConfigured, esbErrType(t, err))
		require.ErrorContains(t, err, "GOVESB_ENGINE_URL, CLIENT_PRIVATE_KEY")
	})
}

func TestESBRelayInXML(t *testing.T) {
	t.Parallel()
	peer := newESBPeer(t, provider.ESBFormatXML)
	relay := provider.NewESB(peer.cfg, &http.Client{}, 1<<20)
	res, err := relay.Relay(context.Background(), provider.ESBRequest{Mode: transaction.ESBModeNormal, Code: "A&B",
		Body: []byte(`{"x":"<1>"}`)})
	require.NoError(t, err)
	require.Equal(t, "application/xml", res.ContentType)
	require.Contains(t, string(res.Body), "<apiCode>A&amp;B</apiCode>")
	require.Contains(t, string(res.Body), `<received>{&#34;x&#34;:&#34;&lt;1&gt;&#34;}</received>`)

	peer.faults(t, `{"tamper_signature": true}`)
	_, err = relay.Relay(context.Background(), provider.ESBRequest{Mode: transaction.ESBModeNormal, Code: "A"})
	require.Equal(t, transaction.ErrTypeESBSignatureInvalid, esbErrType(t, err))
}

func TestESBTokenIsRenewedShortlyBeforeItExpires(t *testing.T) {
	t.Parallel()
	var issued atomic.Int32
	engineKeys, _ := provider.GenerateESBKeyPair()
	engineKey, _ := provider.ParseESBPrivateKey(engineKeys.PrivatePEM)
	client, _ := provider.GenerateESBKeyPair()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			id, secret, ok := r.BasicAuth()
			require.True(t, ok)
			require.Equal(t, "hub", id)
			require.Equal(t, "s3cret", secret)
			require.NoError(t, r.ParseForm())
			require.Equal(t, "client_credentials", r.PostForm.Get("grant_type"))
			require.Equal(t, "hub", r.PostForm.Get("client_id"))
			n := issued.Add(1)
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok-" + string(rune('0'+n)), "expires_in": 2})
			return
		}
		data := []byte(`{"success":true,"esbBody":{"auth":"` + r.Header.Get("Authorization") + `"}}`)
		sig, _ := provider.SignESB(engineKey, data)
		var b bytes.Buffer
		b.WriteString(`{"data":` + string(data) + `,"signature":"` + sig + `"}`)
		_, _ = w.Write(b.Bytes())
	}))
	defer srv.Close()
	relay := provider.NewESB(provider.ESBConfig{TokenURL: srv.URL + "/token", EngineURL: srv.URL + "/engine",
		ClientID: "hub", ClientSecret: "s3cret", ClientPrivateKey: client.PrivatePEM, PublicKey: engineKeys.PublicPEM},
		&http.Client{}, 1<<20)
	clock := provider.ESBClock(relay)
	call := func() string {
		res, err := relay.Relay(context.Background(), provider.ESBRequest{Code: "A"})
		require.NoError(t, err)
		return string(res.Body)
	}
	require.JSONEq(t, `{"auth":"Bearer tok-1"}`, call())
	clock.Advance(1500 * time.Millisecond) // 1.5 s of a 2 s token: still before its 0.2 s margin
	require.JSONEq(t, `{"auth":"Bearer tok-1"}`, call())
	clock.Advance(400 * time.Millisecond) // 1.9 s: inside the margin
	require.JSONEq(t, `{"auth":"Bearer tok-2"}`, call())
	require.Equal(t, int32(2), issued.Load())
}

func TestESBConcurrentRefusalsRenewTheTokenOnce(t *testing.T) {
	t.Parallel()
	const concurrent = 8
	var issued atomic.Int32
	var refusedSeen atomic.Int32
	allRefused := make(chan struct{})
	engineKeys, _ := provider.GenerateESBKeyPair()
	engineKey, _ := provider.ParseESBPrivateKey(engineKeys.PrivatePEM)
	client, _ := provider.GenerateESBKeyPair()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			n := issued.Add(1)
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok-" + string(rune('0'+n)), "expires_in": 300})
			return
		}
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			// The engine has revoked the first token: every request holding it is refused, and
			// only once all of them hold it, so that they all come back to renew at once.
			if refusedSeen.Add(1) == concurrent {
				close(allRefused)
			}
			<-allRefused
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		data := []byte(`{"success":true,"esbBody":{"auth":"` + r.Header.Get("Authorization") + `"}}`)
		sig, _ := provider.SignESB(engineKey, data)
		_, _ = w.Write([]byte(`{"data":` + string(data) + `,"signature":"` + sig + `"}`))
	}))
	defer srv.Close()
	relay := provider.NewESB(provider.ESBConfig{TokenURL: srv.URL + "/token", EngineURL: srv.URL + "/engine",
		ClientID: "hub", ClientSecret: "s3cret", ClientPrivateKey: client.PrivatePEM, PublicKey: engineKeys.PublicPEM},
		&http.Client{}, 1<<20)

	bodies := make(chan string, concurrent)
	errs := make(chan error, concurrent)
	for range concurrent {
		go func() {
			res, err := relay.Relay(context.Background(), provider.ESBRequest{Code: "A"})
			errs <- err
			bodies <- string(res.Body)
		}()
	}
	for range concurrent {
		require.NoError(t, <-errs)
		require.JSONEq(t, `{"auth":"Bearer tok-2"}`, <-bodies)
	}
	require.Equal(t, int32(concurrent), refusedSeen.Load())
	require.Equal(t, int32(2), issued.Load(), "the first token, then one renewal for all the refused requests")
}
