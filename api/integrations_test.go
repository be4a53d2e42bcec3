package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/switchyard-hub/switchyard/api"
	"github.com/switchyard-hub/switchyard/api/apitest"
	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/seal"
	"github.com/switchyard-hub/switchyard/workflows"
)

// hub is an API with a real store, a vault and a Temporal client whose starts a test decides.
type hub struct {
	t      *testing.T
	store  *schema.Store
	vault  *platform.Vault
	server *api.Server
	reg    *prometheus.Registry

	mu     sync.Mutex
	starts []started
	// start answers ExecuteWorkflow; nil fails the test.
	start func(opts client.StartWorkflowOptions, workflowType string, input any) (client.WorkflowRun, error)
	// temporal is the Temporal client: tests add the other calls they expect (signals, queries).
	temporal *mocks.Client
	// schedules is the schedule client it answers with (see stubSchedules).
	schedules *fakeSchedules
}

// started is one ExecuteWorkflow call.
type started struct {
	opts         client.StartWorkflowOptions
	workflowType string
	input        any
}

func newHub(t *testing.T, cfg api.Config) *hub {
	t.Helper()
	keys, err := seal.GenerateKey("test")
	require.NoError(t, err)
	ring, err := seal.ParseKeys(keys, "")
	require.NoError(t, err)
	h := &hub{t: t, store: api.OpenTestStore(t), vault: platform.NewVault(ring), reg: prometheus.NewRegistry()}
	temporal := &mocks.Client{}
	h.temporal = temporal
	stubSchedules(h)
	temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			name, _ := wf.(string)
			var input any
			if len(args) > 0 {
				input = args[0]
			}
			h.starts = append(h.starts, started{opts: opts, workflowType: name, input: input})
			if h.start == nil {
				t.Errorf("unexpected start of %s (%s)", name, opts.ID)
				return nil, errors.New("no start expected")
			}
			return h.start(opts, name, input)
		})
	cfg.MediatorMode = api.ModeHybrid
	if cfg.ForwardTimeout == 0 {
		cfg.ForwardTimeout = api.Seconds(time.Second)
	}
	if cfg.IntegrationTimeout == 0 {
		cfg.IntegrationTimeout = time.Second
	}
	if cfg.MaxRequestBodyBytes == 0 {
		cfg.MaxRequestBodyBytes = 64 << 10
	}
	cfg.ConfigCacheTTL, cfg.AdminToken = time.Minute, "admin"
	h.server, err = api.New(cfg, api.Deps{Store: h.store, Temporal: temporal, Vault: h.vault,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: h.reg, Gatherer: h.reg,
		Providers: noProviders{}})
	require.NoError(t, err)
	return h
}

// onStart sets what starts answer and forgets earlier starts.
func (h *hub) onStart(f func(opts client.StartWorkflowOptions, workflowType string, input any) (client.WorkflowRun, error)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.start, h.starts = f, nil
}

func (h *hub) started() []started {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]started(nil), h.starts...)
}

// client makes a client with secret "secret" and the given permissions.
func (h *hub) client(permissions ...string) string {
	h.t.Helper()
	hash, err := api.HashSecret("secret")
	require.NoError(h.t, err)
	id := "hub-" + uuid.NewString()
	_, err = h.store.CreateClient(context.Background(), schema.ClientRow{ClientID: id, Name: "hub", SecretHash: hash,
		Permissions: pq.StringArray(permissions), IsActive: true})
	require.NoError(h.t, err)
	return id
}

// answer is a response, decoded.
type answer struct {
	code   int
	header http.Header
	raw    string
	body   map[string]any
}

func (a answer) data() map[string]any {
	d, _ := a.body["data"].(map[string]any)
	return d
}

func (a answer) errorCode() string {
	s, _ := a.body["error_code"].(string)
	return s
}

// fields is an error's details.fields.
func (a answer) fields() map[string]any {
	d, _ := a.body["details"].(map[string]any)
	f, _ := d["fields"].(map[string]any)
	return f
}

// do sends a request as clientID ("" for none, "admin" for the admin token) and checks the
// answer against the OpenAPI document.
func (h *hub) do(method, path, clientID string, body any, header ...string) answer {
	h.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		reader = bytes.NewReader(b)
	case string:
		reader = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(h.t, err)
		reader = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, reader)
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch clientID {
	case "":
	case "admin":
		req.Header.Set("Authorization", "Bearer admin")
	default:
		req.Header.Set("X-Client-Id", clientID)
		req.Header.Set("X-Client-Secret", "secret")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.server.Handler().ServeHTTP(rec, req)
	urlPath, _, _ := strings.Cut(path, "?")
	apitest.CheckResponse(h.t, method, urlPath, rec.Code, rec.Header(), rec.Body.Bytes())
	a := answer{code: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &a.body)
	return a
}

// fakeRun is a run whose result is given (or that never finishes).
type fakeRun struct {
	id     string
	result any
	err    error
	never  bool
}

func (r fakeRun) GetID() string                  { return r.id }
func (r fakeRun) GetRunID() string               { return "run-" + r.id }
func (r fakeRun) GetFirstExecutionRunID() string { return "run-" + r.id }
func (r fakeRun) GetWithOptions(ctx context.Context, v any, _ client.WorkflowRunGetOptions) error {
	return r.Get(ctx, v)
}
func (r fakeRun) Get(ctx context.Context, v any) error {
	if r.never {
		<-ctx.Done()
		return ctx.Err()
	}
	if r.err != nil {
		return r.err
	}
	b, err := json.Marshal(r.result)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// whatsApp is a valid WhatsApp integration body.
func whatsApp(name string) map[string]any {
	return map[string]any{"name": name, "platform": "whatsapp", "credentials": map[string]any{
		"access_token": "EAAG-access-token-0001", "phone_number_id": "1234567890",
		"app_secret": "app-secret-value-12345", "verify_token": "verify-me"}}
}

const integrationsPath = "/api/v1/integration/integrations/"

func TestIntegrationsAreValidatedMaskedAndTheirOwners(t *testing.T) {
	h := newHub(t, api.Config{})
	owner, other := h.client(api.PermissionIntegrations), h.client(api.PermissionIntegrations)

	t.Run("every problem is named by field", func(t *testing.T) {
		a := h.do("POST", integrationsPath, owner, map[string]any{"name": "gh", "platform": "github",
			"credentials": map[string]any{}})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, "VALIDATION_ERROR", a.errorCode())
		require.Equal(t, "required", a.fields()["credentials.webhook_secret"])

		a = h.do("POST", integrationsPath, owner, map[string]any{"name": strings.Repeat("n", 201), "platform": "myspace",
			"credentials": map[string]any{"x": "y"}})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Contains(t, a.fields(), "platform")
		require.Contains(t, a.fields(), "name")

		a = h.do("POST", integrationsPath, owner, map[string]any{"name": "wa", "platform": "whatsapp",
			"credentials": map[string]any{"access_token": "t", "phone_number_id": "12ab", "app_secret": "s",
				"verify_token": "v", "extra": "x"}, "config": map[string]any{"tolerance": "a week"}})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, "digits only", a.fields()["credentials.phone_number_id"])
		require.Contains(t, a.fields(), "credentials.extra")
		require.Contains(t, a.fields(), "config.tolerance")

		a = h.do("POST", integrationsPath, owner, map[string]any{"name": "gh", "platform": "github",
			"credentials": map[string]any{"webhook_secret": 42}})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, "credentials.webhook_secret", a.body["details"].(map[string]any)["field"])

		a = h.do("POST", integrationsPath, owner, `{"name": "gh",`)
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, "MALFORMED_JSON", a.errorCode())

		a = h.do("POST", integrationsPath, owner, map[string]any{"name": strings.Repeat("x", 70<<10)})
		require.Equal(t, http.StatusRequestEntityTooLarge, a.code, "an integration body is at most 64 KiB")
	})

	created := h.do("POST", integrationsPath, owner, whatsApp("Support line"))
	require.Equal(t, http.StatusCreated, created.code, created.raw)
	id := created.data()["id"].(string)
	path := integrationsPath + id + "/"

	t.Run("answers never hold a credential in clear", func(t *testing.T) {
		for _, a := range []answer{created, h.do("GET", path, owner, nil), h.do("GET", integrationsPath, owner, nil),
			h.do("GET", "/api/v1/admin/integrations/", "admin", nil), h.do("GET", "/api/v1/admin/integrations/"+id, "admin", nil)} {
			require.Equal(t, http.StatusOK/100, a.code/100, a.raw)
			for _, secret := range []string{"app-secret-value-12345", "EAAG-access-token-0001", "verify-me", "1234567890"} {
				require.NotContains(t, a.raw, secret)
			}
		}
		creds := created.data()["credentials"].(map[string]any)
		require.Equal(t, "****2345", creds["app_secret"])
		require.Equal(t, "****", creds["verify_token"])
		require.Equal(t, "/api/v1/integration/webhooks/"+id, created.data()["webhook_path"])
		require.Equal(t, true, created.data()["is_active"])

		row, err := h.store.GetIntegration(context.Background(), id)
		require.NoError(t, err)
		require.NotContains(t, row.Credentials, "app-secret-value-12345", "sealed at rest")
	})

	t.Run("another client's integration is not found", func(t *testing.T) {
		for _, p := range []string{path, integrationsPath + id, path + "status/", path + "health/"} {
			a := h.do("GET", p, other, nil)
			require.Equal(t, http.StatusNotFound, a.code, p)
			require.Equal(t, "NOT_FOUND", a.errorCode())
		}
		require.Equal(t, http.StatusNotFound, h.do("PATCH", path, other, map[string]any{"name": "mine"}).code)
		require.Equal(t, http.StatusNotFound, h.do("DELETE", path, other, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", integrationsPath+"not-a-uuid/", owner, nil).code)
		list := h.do("GET", integrationsPath, other, nil)
		require.Empty(t, list.body["data"])

		admin := h.do("GET", "/api/v1/admin/integrations/?client_id="+owner, "admin", nil)
		require.Len(t, admin.body["data"], 1, "the admin API sees every client's")
	})

	t.Run("a client without the permission is refused", func(t *testing.T) {
		a := h.do("GET", integrationsPath, h.client("account_balance"), nil)
		require.Equal(t, http.StatusForbidden, a.code)
		require.Contains(t, a.raw, `"permission":"integrations"`)
	})

	t.Run("an update merges and validates the result", func(t *testing.T) {
		a := h.do("PATCH", path, owner, map[string]any{"name": "Sales line",
			"credentials": map[string]any{"app_secret": "a-new-app-secret-6789"}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, "Sales line", a.data()["name"])
		row, err := h.store.GetIntegration(context.Background(), id)
		require.NoError(t, err)
		creds, err := h.vault.OpenCredentials(row.Credentials)
		require.NoError(t, err)
		require.Equal(t, "a-new-app-secret-6789", creds.Fields["app_secret"])
		require.Equal(t, "EAAG-access-token-0001", creds.Fields["access_token"], "fields not given are kept")

		a = h.do("PATCH", path, owner, map[string]any{"credentials": map[string]any{"phone_number_id": "abc"}})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		require.Equal(t, "digits only", a.fields()["credentials.phone_number_id"])
		a = h.do("PATCH", path, owner, map[string]any{"platform": "telegram"})
		require.Equal(t, http.StatusBadRequest, a.code, a.raw)
		a = h.do("PATCH", path, owner, map[string]any{"config": map[string]any{"ordered": true, "tolerance": "30s"}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, map[string]any{"ordered": true, "tolerance": "30s"}, a.data()["config"])
	})

	t.Run("status names the platform's capabilities", func(t *testing.T) {
		a := h.do("GET", path+"status", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, "active", a.data()["status"])
		require.Equal(t, platform.Version, a.data()["version"])
		require.Contains(t, a.data()["capabilities"], platform.CapSendMessage)
	})

	t.Run("delete", func(t *testing.T) {
		gone := h.do("POST", integrationsPath, owner, whatsApp("Temporary"))
		require.Equal(t, http.StatusCreated, gone.code)
		p := integrationsPath + gone.data()["id"].(string)
		require.Equal(t, http.StatusOK, h.do("DELETE", p, owner, nil).code)
		require.Equal(t, http.StatusNotFound, h.do("GET", p, owner, nil).code)
	})
}

func TestHealthAndValidateRunIntegrationCheck(t *testing.T) {
	h := newHub(t, api.Config{})
	owner := h.client(api.PermissionIntegrations)
	created := h.do("POST", integrationsPath, owner, whatsApp("Checked"))
	require.Equal(t, http.StatusCreated, created.code, created.raw)
	id := created.data()["id"].(string)

	t.Run("the check's outcome, latency in milliseconds", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, result: platform.Health{OK: false, LatencyMS: 1.5,
				Error: "token expired"}}, nil
		})
		a := h.do("GET", integrationsPath+id+"/health/", owner, nil)
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, false, a.data()["ok"])
		require.InDelta(t, 1.5, a.data()["latency_ms"], 0.001)
		require.Equal(t, "token expired", a.data()["error"])
		s := h.started()
		require.Len(t, s, 1)
		require.Equal(t, workflows.WorkflowIntegrationCheck, s[0].workflowType)
		require.Equal(t, workflows.TaskQueueWebhook, s[0].opts.TaskQueue)
		require.True(t, strings.HasPrefix(s[0].opts.ID, "check:"+id+":"), s[0].opts.ID)
		require.True(t, s[0].opts.EnableEagerStart)
		require.Equal(t, workflows.CheckInput{IntegrationID: id}, s[0].input)
	})

	t.Run("a check that fails to run is a 502", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, err: errors.New("workflow failed")}, nil
		})
		a := h.do("GET", integrationsPath+id+"/health/", owner, nil)
		require.Equal(t, http.StatusBadGateway, a.code, a.raw)
		require.Equal(t, api.CodeCheckFailed, a.errorCode())
	})

	t.Run("validate names format problems without starting anything", func(t *testing.T) {
		h.onStart(nil)
		a := h.do("POST", integrationsPath+"validate/", owner, map[string]any{"platform": "telegram",
			"credentials": map[string]any{"bot_token": "nope", "secret_token": "ok_token"}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, false, a.data()["valid"])
		require.Contains(t, a.data()["errors"], "credentials.bot_token")
		require.Empty(t, h.started())

		a = h.do("POST", integrationsPath+"validate/", owner, map[string]any{"platform": "github",
			"credentials": map[string]any{"webhook_secret": "s3cret"}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, true, a.data()["valid"], "webhook platforms need no call")

		a = h.do("POST", integrationsPath+"validate/", owner, `{"platform": `)
		require.Equal(t, http.StatusBadRequest, a.code)
	})

	t.Run("validate proves a messaging platform's credentials, sealed", func(t *testing.T) {
		h.onStart(func(opts client.StartWorkflowOptions, _ string, _ any) (client.WorkflowRun, error) {
			return fakeRun{id: opts.ID, result: platform.Health{OK: true, LatencyMS: 1}}, nil
		})
		a := h.do("POST", integrationsPath+"validate", owner, map[string]any{"platform": "telegram",
			"credentials": map[string]any{"bot_token": "123456:ABC-DEF1234ghIkl", "secret_token": "ok_token"}})
		require.Equal(t, http.StatusOK, a.code, a.raw)
		require.Equal(t, true, a.data()["valid"])
		require.Equal(t, true, a.data()["health"].(map[string]any)["ok"])
		s := h.started()
		require.Len(t, s, 1)
		in := s[0].input.(workflows.CheckInput)
		require.Equal(t, "telegram", in.Platform)
		require.NotContains(t, in.SealedCredentials, "ABC-DEF1234ghIkl", "never in clear in history")
		creds, err := h.vault.OpenCredentials(in.SealedCredentials)
		require.NoError(t, err)
		require.Equal(t, "123456:ABC-DEF1234ghIkl", creds.Fields["bot_token"])
	})
}

func TestWebhookMaxBodyFitsInHistory(t *testing.T) {
	cfg := api.Config{MediatorMode: api.ModeHybrid, MaxRequestBodyBytes: 1 << 10, ForwardTimeout: api.Seconds(time.Second),
		IntegrationTimeout: time.Second}
	require.NoError(t, cfg.Validate(), "unset is the default, 1 MiB")
	cfg.WebhookMaxBody = api.MaxRequestBodyCeiling
	require.NoError(t, cfg.Validate())
	cfg.WebhookMaxBody = api.MaxRequestBodyCeiling + 1
	require.ErrorContains(t, cfg.Validate(), "WEBHOOK_MAX_BODY")
}
