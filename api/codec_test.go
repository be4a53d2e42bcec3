package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/seal"
	"github.com/switchyard-hub/switchyard/worker"
)

const (
	uiOrigin   = "http://localhost:8233"
	codecToken = "codec-test-admin-token"
	testPAN    = "4111111111111111"
)

func codecServer(t *testing.T, keys, current string, trustLoopback bool) *api.Server {
	t.Helper()
	codec, err := worker.NewCodec(worker.PayloadConfig{Keys: keys, KeyID: current})
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	s, err := api.New(api.Config{MediatorMode: api.ModeHybrid, ForwardTimeout: 1e9, IntegrationTimeout: time.Second,
		MaxRequestBodyBytes: 1 << 10, ConfigCacheTTL: time.Minute, AdminToken: codecToken,
		CodecCORSOrigins: []string{uiOrigin}, CodecTrustLoopback: trustLoopback},
		api.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: reg, Gatherer: reg, Providers: noProviders{},
			Converter: codec.DataConverter(), Codec: codec})
	require.NoError(t, err)
	return s
}

type codecCall struct {
	method, path, body string
	header             map[string]string
	remote             string
}

func (c codecCall) do(s *api.Server) *httptest.ResponseRecorder {
	req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
	req.RemoteAddr = "10.0.0.5:40000"
	if c.remote != "" {
		req.RemoteAddr = c.remote
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

// asUI is the Web UI's call: JSON, its origin, the namespace and (when configured) the token.
func asUI(path, body, token string) codecCall {
	h := map[string]string{"Content-Type": "application/json", "Origin": uiOrigin, "X-Namespace": "default"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return codecCall{method: http.MethodPost, path: path, body: body, header: h}
}

func payloadsJSON(t *testing.T, payloads ...*commonpb.Payload) string {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	return string(b)
}

func decodeAnswer(t *testing.T, rec *httptest.ResponseRecorder) []*commonpb.Payload {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(rec.Body.Bytes(), &out))
	return out.GetPayloads()
}

func TestCodecServer(t *testing.T) {
	t.Parallel()
	k1, err := seal.GenerateKey("k1")
	require.NoError(t, err)
	k2, err := seal.GenerateKey("k2")
	require.NoError(t, err)
	s := codecServer(t, k1, "", false)
	transfer := map[string]any{"pan": testPAN, "amount": 1000}
	codec, err := worker.NewCodec(worker.PayloadConfig{Keys: k1})
	require.NoError(t, err)
	encrypted, err := codec.DataConverter().ToPayload(transfer)
	require.NoError(t, err)
	require.NotContains(t, string(encrypted.Data), testPAN)

	t.Run("the Web UI's preflight is answered without credentials", func(t *testing.T) {
		rec := codecCall{method: http.MethodOptions, path: "/codec/decode", header: map[string]string{
			"Origin": uiOrigin, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization,content-type,x-namespace"}}.do(s)
		require.Equal(t, http.StatusNoContent, rec.Code, "%s", rec.Body)
		require.Equal(t, uiOrigin, rec.Header().Get("Access-Control-Allow-Origin"))
		require.Equal(t, "true", rec.Header().Get("Access-Control-Allow-Credentials"))
		require.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), "POST")
		for _, h := range []string{"Authorization", "Content-Type", "X-Namespace"} {
			require.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), h)
		}
	})

	t.Run("the Web UI's decode call with the admin token answers the clear payload", func(t *testing.T) {
		rec := asUI("/codec/decode", payloadsJSON(t, encrypted), codecToken).do(s)
		require.Equal(t, uiOrigin, rec.Header().Get("Access-Control-Allow-Origin"))
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		out := decodeAnswer(t, rec)
		require.Len(t, out, 1)
		require.Equal(t, "json/plain", string(out[0].Metadata[converter.MetadataEncoding]))
		require.JSONEq(t, `{"pan":"`+testPAN+`","amount":1000}`, string(out[0].Data))
	})

	t.Run("without the token: 401, readable by the UI", func(t *testing.T) {
		rec := asUI("/codec/decode", payloadsJSON(t, encrypted), "").do(s)
		require.Equal(t, http.StatusUnauthorized, rec.Code)
		require.Equal(t, uiOrigin, rec.Header().Get("Access-Control-Allow-Origin"))
		require.NotContains(t, rec.Body.String(), testPAN)
		require.Equal(t, http.StatusUnauthorized, asUI("/codec/decode", payloadsJSON(t, encrypted), "wrong").do(s).Code)
		require.Equal(t, http.StatusUnauthorized, asUI("/codec/encode", payloadsJSON(t, encrypted), "").do(s).Code)
	})

	t.Run("another origin is refused, its preflight too", func(t *testing.T) {
		call := asUI("/codec/decode", payloadsJSON(t, encrypted), codecToken)
		call.header["Origin"] = "https://evil.example"
		rec := call.do(s)
		require.Equal(t, http.StatusForbidden, rec.Code)
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
		rec = codecCall{method: http.MethodOptions, path: "/codec/decode", header: map[string]string{
			"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}}.do(s)
		require.Equal(t, http.StatusForbidden, rec.Code)
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	})

	t.Run("the CLI (no Origin) encodes and decodes with --codec-auth", func(t *testing.T) {
		plain, err := converter.GetDefaultDataConverter().ToPayload(transfer)
		require.NoError(t, err)
		bearer := map[string]string{"Authorization": "Bearer " + codecToken, "Content-Type": "application/json"}
		enc := decodeAnswer(t, codecCall{method: http.MethodPost, path: "/codec/encode", body: payloadsJSON(t, plain), header: bearer}.do(s))
		require.Equal(t, worker.EncodingEncrypted, string(enc[0].Metadata[converter.MetadataEncoding]))
		require.NotContains(t, string(enc[0].Data), testPAN)
		dec := decodeAnswer(t, codecCall{method: http.MethodPost, path: "/codec/decode", body: payloadsJSON(t, enc...), header: bearer}.do(s))
		require.Equal(t, string(plain.Data), string(dec[0].Data))
	})

	t.Run("payloads written under the old key decode after a rotation", func(t *testing.T) {
		rotated := codecServer(t, k1+","+k2, "k2", false)
		out := decodeAnswer(t, asUI("/codec/decode", payloadsJSON(t, encrypted), codecToken).do(rotated))
		require.Contains(t, string(out[0].Data), testPAN)
		enc := decodeAnswer(t, asUI("/codec/encode", payloadsJSON(t, out...), codecToken).do(rotated))
		require.Equal(t, "k2", string(enc[0].Metadata[worker.MetadataKeyID]))
	})

	t.Run("payloads under an unknown key or altered are a 400, never a pass-through", func(t *testing.T) {
		other := codecServer(t, k2, "", false)
		rec := asUI("/codec/decode", payloadsJSON(t, encrypted), codecToken).do(other)
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s", rec.Body)
		require.Contains(t, rec.Body.String(), "k1")
		require.Equal(t, http.StatusBadRequest, asUI("/codec/decode", `{"payloads":`, codecToken).do(s).Code)
	})

	t.Run("codec bodies may exceed MAX_REQUEST_BODY_BYTES", func(t *testing.T) {
		big, err := codec.DataConverter().ToPayload(strings.Repeat("x", 4<<10))
		require.NoError(t, err)
		out := decodeAnswer(t, asUI("/codec/decode", payloadsJSON(t, big), codecToken).do(s))
		require.Len(t, out, 1)
	})

	t.Run("the codec paths are the hub's, never proxied", func(t *testing.T) {
		for _, p := range []string{"/codec", "/codec/other"} {
			rec := codecCall{method: http.MethodGet, path: p, header: map[string]string{"X-Client-Id": "x", "X-Client-Secret": "y"}}.do(s)
			require.Equal(t, http.StatusNotFound, rec.Code, "%s: %s", p, rec.Body)
		}
		require.Equal(t, http.StatusMethodNotAllowed, codecCall{method: http.MethodGet, path: "/codec/decode"}.do(s).Code)
	})
}

func TestCodecTrustsLoopbackOnlyWhenTold(t *testing.T) {
	t.Parallel()
	k1, err := seal.GenerateKey("k1")
	require.NoError(t, err)
	body := `{"payloads":[]}`
	dev := codecServer(t, k1, "", true)
	local := asUI("/codec/decode", body, "")
	local.remote = "127.0.0.1:50000"
	rec := local.do(dev)
	require.Equal(t, http.StatusOK, rec.Code, "the dev Web UI in a local browser sends no token")
	require.JSONEq(t, `{"payloads":[]}`, rec.Body.String(), "an empty answer still names its payloads")
	remote := asUI("/codec/decode", body, "")
	require.Equal(t, http.StatusUnauthorized, remote.do(dev).Code, "a remote peer still needs the token")
	forwarded := asUI("/codec/decode", body, "")
	forwarded.header["X-Forwarded-For"] = "127.0.0.1"
	require.Equal(t, http.StatusUnauthorized, forwarded.do(dev).Code, "a forwarded-for header is not a loopback peer")
	wrong := asUI("/codec/decode", body, "wrong")
	wrong.remote = "127.0.0.1:50000"
	require.Equal(t, http.StatusUnauthorized, wrong.do(dev).Code, "a token, once sent, must be right")

	prod := codecServer(t, k1, "", false)
	require.Equal(t, http.StatusUnauthorized, local.do(prod).Code)
}
