package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/api/apitest"
	"github.com/switchyard-hub/switchyard/iso"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/schema/pgtest"
	"github.com/switchyard-hub/switchyard/seal"
	"github.com/switchyard-hub/switchyard/sim"
	"github.com/switchyard-hub/switchyard/worker"
)

// EnvTemporal points the tests at a running Temporal frontend instead of a dev server of their own.
const EnvTemporal = "SWITCHYARD_TEST_TEMPORAL_ADDRESS"

const (
	adminToken   = "test-admin-token"
	demoClient   = "demo-integrator"
	demoSecret   = "demo-secret"
	syncWait     = 3 * time.Second
	channelRetry = `{"max_attempts": 3, "initial_interval": "100ms", "backoff_coefficient": 2, "max_interval": "1s"}`
)

// harness is the whole stack on loopback: PostgreSQL, a Temporal dev server, the upstream
// simulator and the API with its embedded worker, wired exactly as `switchyard api` wires them.
type harness struct {
	env      env
	apiURL   string
	simURL   string
	sim      *sim.Upstream
	sims     *sim.Simulators
	pool     *iso.Pool
	store    *schema.Store
	temporal client.Client
	codec    *worker.Codec // the hub's payload codec, for reading histories as operators do
	cli      string
	st       *stack // the hub's connections, for workers a test starts itself
}

var h *harness

// Test credentials of the issuers: each issuer uses another auth type, and the tests check that
// none of these ever shows in logs, audit rows or workflow history.
const (
	cbsHMACSecret    = "test-cbs-hmac-secret-3f9a"
	billToken        = "test-bill-bearer-token-77c1"
	smsPassword      = "test-sms-password-51d0"
	pushClientSecret = "test-push-client-secret-a6e2"
	smtpPassword     = "test-smtp-password-0be4"
)

// The hub's payload keys: "test-old" retired to decoding only, "test-new" current, so the
// tests see a rotation.
var (
	testOldPayloadKey = mustKey("test-old")
	testPayloadKeys   = testOldPayloadKey + "," + mustKey("test-new")
)

const testPayloadKeyID = "test-new"

func mustKey(id string) string {
	k, err := seal.GenerateKey(id)
	if err != nil {
		panic(err)
	}
	return k
}

// webUIOrigin is the Temporal Web UI's origin the codec server lets in.
const webUIOrigin = "http://localhost:8233"

var testProviderEnv = map[string]string{
	"CBS_SIMULATE": "true", "CBS_AUTH_TYPE": "hmac", "CBS_HMAC_KEY_ID": "switchyard-test", "CBS_HMAC_SECRET": cbsHMACSecret,
	"CBS_REQUIRED_AUTH_HEADERS": "X-API-Key,X-Signature", "CBS_TIMEOUT": "1s", "CBS_MAX_ATTEMPTS": "3",
	"CBS_RETRY_INITIAL_INTERVAL": "100ms", "CBS_RETRY_MAX_INTERVAL": "300ms", "CBS_BREAKER_FAILURES": "3",
	"CBS_BREAKER_OPEN_TIMEOUT": "1500ms",
	"BILL_SIMULATE":            "true", "BILL_AUTH_TYPE": "bearer", "BILL_AUTH_TOKEN": billToken, "BILL_RESPONSE_FORMAT": "xml",
	"BILL_REQUIRED_AUTH_HEADERS": "Authorization",
	"SMS_SIMULATE":               "true", "SMS_AUTH_TYPE": "basic", "SMS_AUTH_USERNAME": "switchyard", "SMS_AUTH_PASSWORD": smsPassword,
	"SMS_RETRY_INITIAL_INTERVAL": "100ms",
	"PUSH_SIMULATE":              "true", "PUSH_AUTH_TYPE": "oauth2_client_credentials", "PUSH_OAUTH_CLIENT_ID": "switchyard-push",
	"PUSH_OAUTH_CLIENT_SECRET": pushClientSecret, "PUSH_PROJECT_ID": "switchyard-test",
	"EMAIL_SIMULATE": "true", "EMAIL_SMTP_USERNAME": "switchyard", "EMAIL_SMTP_PASSWORD": smtpPassword,
	"EMAIL_SMTP_TLS": "starttls", "EMAIL_RETRY_INITIAL_INTERVAL": "100ms",
	"ISO_SIMULATE": "true", "ISO_SEND_TIMEOUT": "1s", "ISO_REVERSAL_INITIAL_INTERVAL": "200ms",
	"ISO_REVERSAL_MAX_INTERVAL": "500ms", "ISO_REVERSAL_BUDGET": "3s", "ISO_BREAKER_FAILURES": "10",
	"ISO_RECONNECT_WAIT": "100ms",
	// Deliveries and sends retry fast; a subscription fails after 3 deliveries in a row that ran
	// out of their 6 s budget.
	"DELIVERY_RETRY_INITIAL_INTERVAL": "50ms", "DELIVERY_RETRY_MAX_INTERVAL": "200ms", "DELIVERY_RETRY_BUDGET": "6s",
	"DELIVERY_DISABLE_AFTER": "3", "DELIVERY_TIMEOUT": "2s", "MESSAGE_RETRY_INITIAL_INTERVAL": "100ms",
	// Ordered queues end soon after their last event, so their runs finish within the tests.
	"ORDERED_QUEUE_IDLE": "1s",
	// Syncs retry fast and notice a dead worker (or a pause) within seconds.
	"SYNC_RETRY_INITIAL_INTERVAL": "100ms", "SYNC_MAX_ATTEMPTS": "3", "SYNC_HEARTBEAT_TIMEOUT": "2s", "SITE_TIMEOUT": "5s",
	// Notifications retry fast, and escalations re-notify every 2 s.
	"NOTIFICATION_RETRY_INITIAL_INTERVAL": "100ms", "NOTIFICATION_RETRY_MAX_INTERVAL": "300ms",
	"NOTIFICATION_ESCALATION_RENOTIFY": "2s", "SMS_BREAKER_OPEN_TIMEOUT": "1s",
	// The connectors: a payment attempt times out after 1 s (the simulator can answer later
	// than that), retries come fast.
	"PAYMENTS_SIMULATE": "true", "PAYMENTS_API_KEY": paymentsAPIKey, "PAYMENTS_TIMEOUT": "1s",
	"PAYMENTS_MAX_RETRIES": "2", "PAYMENTS_RETRY_BACKOFF": "100ms",
	"ERP_SIMULATE": "true", "ERP_API_KEY": erpAPIKey, "ERP_TIMEOUT": "2s", "ERP_RETRY_BACKOFF": "100ms",
	// The simulators and the tests' subscribers are on loopback.
	"WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
}

// hubLogs holds every log line the hub wrote during the tests.
var hubLogs syncBuffer

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	if os.Getenv(helperWorkerEnv) != "" {
		// This process is a worker a test will kill (see TestISOTransferSurvivesAWorkerRestart).
		os.Exit(runHelperWorker())
	}
	code, err := runWithStack(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "end-to-end tests need PostgreSQL and the temporal CLI: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runWithStack(m *testing.M) (int, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	setup, setupCancel := context.WithTimeout(ctx, 3*time.Minute)
	defer setupCancel()

	pg, err := pgtest.StartServer(setup)
	if err != nil {
		return 0, err
	}
	defer pg.Close()
	dbURL, err := pg.NewDatabase(setup)
	if err != nil {
		return 0, err
	}

	cli, err := worker.FindCLI()
	if err != nil {
		return 0, err
	}
	temporalAddr := os.Getenv(EnvTemporal)
	if temporalAddr == "" {
		server, err := worker.StartDevServer(setup, worker.DevServerOptions{})
		if err != nil {
			return 0, fmt.Errorf("starting the Temporal dev server: %w", err)
		}
		defer server.Stop()
		temporalAddr = server.FrontendHostPort()
	}

	caDir, err := os.MkdirTemp("", "switchyard-smtp-ca-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(caDir)
	for k, v := range testProviderEnv {
		os.Setenv(k, v)
	}
	// In the environment, so the helper worker processes encrypt with the same keys.
	os.Setenv("PAYLOAD_KEYS", testPayloadKeys)
	os.Setenv("PAYLOAD_KEY_ID", testPayloadKeyID)
	os.Setenv("EMAIL_CA_FILE", filepath.Join(caDir, "smtp-ca.pem"))
	e, err := loadEnv()
	if err != nil {
		return 0, err
	}
	e.DB.URL = dbURL
	e.Temporal = worker.TemporalConfig{Address: temporalAddr, Namespace: "default"}
	e.API = api.Config{Addr: "127.0.0.1:0", AdminToken: adminToken, MediatorMode: api.ModeHybrid,
		ForwardTimeout: api.Seconds(syncWait), IntegrationTimeout: syncWait, MaxRequestBodyBytes: 64 << 10, WebhookMaxBody: 64 << 10,
		ConfigCacheTTL: 200 * time.Millisecond, ConnectorRateLimitPerMinute: 1000,
		ShutdownTimeout: 5 * time.Second, CodecCORSOrigins: []string{webUIOrigin}}
	e.Activities.TransactionBodyMaxLength = 1024
	e.Activities.DefaultTimeout = syncWait
	e.Process.EmbeddedWorker = true
	// The hub's logs are kept so tests can check what they say (and what they never say).
	var logSink io.Writer = &hubLogs
	if os.Getenv("SWITCHYARD_TEST_LOGS") != "" {
		logSink = io.MultiWriter(&hubLogs, os.Stderr)
	}
	logger := slog.New(slog.NewJSONHandler(logSink, &slog.HandlerOptions{Level: slog.LevelDebug}))

	hub, err := startLocalHub(ctx, e, logger)
	if err != nil {
		return 0, err
	}
	h = &harness{env: hub.env, apiURL: hub.apiURL, simURL: hub.simURL, sim: hub.sims.Upstream, sims: hub.sims,
		pool: hub.st.pool, store: hub.st.store, temporal: hub.st.temporal, codec: hub.st.codec, cli: cli, st: hub.st}
	code := m.Run()
	if leaked := secretsInLogs(); len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: secrets appear in the hub's logs: %d of them\n", len(leaked))
		code = 1
	}
	if dir := os.Getenv(EnvCaptureHistories); dir != "" && code == 0 {
		if err := captureHistories(ctx, h.temporal, h.codec, dir); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: capturing workflow histories: %v\n", err)
			code = 1
		}
	}
	cancel()
	if err := hub.wait(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code, nil
}

// response is an HTTP answer, read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &v), "body: %s", r.Body)
	return v
}

// data is the "data" member of a success envelope.
func (r response) data(t *testing.T) map[string]any {
	t.Helper()
	v := r.json(t)
	require.Equal(t, true, v["success"], "body: %s", r.Body)
	d, ok := v["data"].(map[string]any)
	require.True(t, ok, "body: %s", r.Body)
	return d
}

// errorCode is the error_code of an error envelope.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	v := r.json(t)
	require.Equal(t, false, v["success"], "body: %s", r.Body)
	require.NotEmpty(t, v["error"])
	code, _ := v["error_code"].(string)
	return code
}

// request is one call to the API.
type request struct {
	method  string
	path    string
	body    string
	headers map[string]string
}

// asClient adds client credentials.
func (r request) asClient(id, secret string) request {
	r.headers = with(r.headers, "X-Client-Id", id, "X-Client-Secret", secret)
	return r
}

func (r request) asAdmin() request {
	r.headers = with(r.headers, "Authorization", "Bearer "+adminToken)
	return r
}

func (r request) header(kv ...string) request {
	r.headers = with(r.headers, kv...)
	return r
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// do sends the request; a response of a documented hub route is checked against the OpenAPI
// document, and no request may ever produce a 500.
func (hs *harness) do(t *testing.T, r request) response {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, hs.apiURL+r.path, body)
	require.NoError(t, err)
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	if r.body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NotEqual(t, http.StatusInternalServerError, resp.StatusCode, "%s %s: %s", r.method, r.path, b)
	path := req.URL.Path
	if apitest.Documented(t, r.method, path) {
		apitest.CheckResponse(t, r.method, path, resp.StatusCode, resp.Header, b)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// fixture creates a mediator (pointing at the simulator under prefix) and a channel through
// the admin API and returns the channel's id. spec is merged into the channel JSON.
func (hs *harness) fixture(t *testing.T, name, simPrefix, channelJSON string) string {
	t.Helper()
	urn := "urn:test:" + name
	r := hs.do(t, request{method: "POST", path: "/api/v1/admin/mediators",
		body: fmt.Sprintf(`{"urn":%q,"name":%q,"version":"1","endpoint_url":%q,"is_online":true}`,
			urn, name, hs.simURL+simPrefix)}.asAdmin())
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var spec map[string]any
	require.NoError(t, json.Unmarshal([]byte(channelJSON), &spec))
	spec["name"] = name
	spec["mediator_urn"] = urn
	b, _ := json.Marshal(spec)
	r = hs.do(t, request{method: "POST", path: "/api/v1/admin/channels", body: string(b)}.asAdmin())
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	return r.data(t)["id"].(string)
}

// waitStatus polls a transaction until its status is want.
func (hs *harness) waitStatus(t *testing.T, id, want string) map[string]any {
	t.Helper()
	var last map[string]any
	require.Eventually(t, func() bool {
		r := hs.do(t, request{method: "GET", path: "/transactions/" + id + "/"}.asClient(demoClient, demoSecret))
		if r.Status != http.StatusOK {
			return false
		}
		last = r.data(t)
		return last["status"] == want
	}, 30*time.Second, 50*time.Millisecond, "transaction %s never became %s (last: %v)", id, want, &last)
	return last
}

func (hs *harness) row(t *testing.T, id string) schema.TransactionRow {
	t.Helper()
	row, err := hs.store.GetTransaction(context.Background(), id)
	require.NoError(t, err)
	return row
}

func (hs *harness) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	require.NoError(t, hs.store.DB().Get(&n, `SELECT count(*) FROM `+table))
	return n
}
