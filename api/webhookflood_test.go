package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/schema"
	"github.com/switchyard-hub/switchyard/seal"
)

const floodSecret = "flood-webhook-secret"

// readCounting is the store with its integration reads counted; CreateIntegration gives the
// next integration the id in nextID when one is set (the API draws its own otherwise).
type readCounting struct {
	Store
	reads  atomic.Int32
	nextID atomic.Pointer[string]
}

func (r *readCounting) GetIntegration(ctx context.Context, id string) (schema.IntegrationRow, error) {
	r.reads.Add(1)
	return r.Store.GetIntegration(ctx, id)
}

func (r *readCounting) CreateIntegration(ctx context.Context, row schema.IntegrationRow) (schema.IntegrationRow, error) {
	if id := r.nextID.Swap(nil); id != nil {
		row.ID = *id
	}
	return r.Store.CreateIntegration(ctx, row)
}

// startCounter is a Temporal client that takes every start.
type startCounter struct {
	client.Client
	starts atomic.Int32
}

func (s *startCounter) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	s.starts.Add(1)
	return nil, nil
}

// floodHub is one API instance with a vault, its store's reads and its starts counted.
type floodHub struct {
	*Server
	store    *readCounting
	temporal *startCounter
	vault    *platform.Vault
}

var (
	floodKeysOnce sync.Once
	floodVault    *platform.Vault
)

// testVault is one vault for the file's tests, so instances open each other's integrations.
func testVault(t *testing.T) *platform.Vault {
	t.Helper()
	floodKeysOnce.Do(func() {
		keys, err := seal.GenerateKey("flood")
		require.NoError(t, err)
		ring, err := seal.ParseKeys(keys, "")
		require.NoError(t, err)
		floodVault = platform.NewVault(ring)
	})
	return floodVault
}

// newFloodHub is an API instance on store with WEBHOOK_FAILURE_IP_LIMIT perIP (a minute's
// window) and a minute's config cache; instances on the same store share the limits.
func newFloodHub(t *testing.T, store Store, perIP int) *floodHub {
	t.Helper()
	h := &floodHub{store: &readCounting{Store: store}, temporal: &startCounter{}, vault: testVault(t)}
	reg := prometheus.NewRegistry()
	var err error
	h.Server, err = New(Config{MediatorMode: ModeHybrid, ForwardTimeout: Seconds(time.Second),
		IntegrationTimeout: time.Second, MaxRequestBodyBytes: 64 << 10, ConfigCacheTTL: time.Minute,
		AuthFailureWindow: time.Minute, WebhookFailureIPLimit: perIP},
		Deps{Store: h.store, Temporal: h.temporal, Vault: h.vault, Registry: reg, Gatherer: reg,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	return h
}

// gitHubIntegration stores an active GitHub integration signing with floodSecret.
func gitHubIntegration(t *testing.T, store Store, vault *platform.Vault, active bool) string {
	t.Helper()
	ctx := context.Background()
	sealed, err := vault.SealCredentials(platform.Credentials{Fields: map[string]string{"webhook_secret": floodSecret}})
	require.NoError(t, err)
	owner := newTestClient(t, store, "owner-secret", 0)
	id := uuid.NewString()
	_, err = store.CreateIntegration(ctx, schema.IntegrationRow{ID: id, ClientID: owner, Name: "repo", Platform: "github",
		Credentials: sealed, Config: []byte(`{}`), IsActive: active})
	require.NoError(t, err)
	return id
}

// webhook posts a GitHub push to integration id from ip, signed with secret.
func (h *floodHub) webhook(id, secret, ip string) *httptest.ResponseRecorder {
	body := `{"ref":"main"}`
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	req := httptest.NewRequest("POST", WebhooksBase+"/"+id, strings.NewReader(body))
	req.RemoteAddr = net.JoinHostPort(ip, "40000")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-GitHub-Delivery", uuid.NewString())
	req.Header.Set("X-GitHub-Event", "push")
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, req)
	return rec
}

// challenge asks for integration id's verification challenge from ip.
func (h *floodHub) challenge(id, ip string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", WebhooksBase+"/"+id+"?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1", nil)
	req.RemoteAddr = net.JoinHostPort(ip, "40000")
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, req)
	return rec
}

// as calls the API as client id (secret "owner-secret").
func (h *floodHub) as(id, method, path string, body any) *httptest.ResponseRecorder {
	raw, _ := json.Marshal(body)
	req := httptest.NewRequest(method, path, strings.NewReader(string(raw)))
	req.RemoteAddr = "192.0.2.200:40000"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Client-Id", id)
	req.Header.Set("X-Client-Secret", "owner-secret")
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, req)
	return rec
}

// answerOf is the answer's status and error code ("404 NOT_FOUND"), or its status alone.
func answerOf(rec *httptest.ResponseRecorder) string {
	return strings.TrimSpace(codeOf(rec))
}

func TestUnknownWebhookIntegrationsAreRememberedAbsent(t *testing.T) {
	store := openStore(t)
	h := newFloodHub(t, store, 0)
	unknown := uuid.NewString()

	require.Equal(t, "404 NOT_FOUND", answerOf(h.webhook(unknown, floodSecret, "192.0.2.1")))
	require.Equal(t, int32(1), h.store.reads.Load())
	for range 5 {
		require.Equal(t, "404 NOT_FOUND", answerOf(h.webhook(unknown, floodSecret, "192.0.2.1")))
		require.Equal(t, "404 NOT_FOUND", answerOf(h.challenge(unknown, "192.0.2.2")))
	}
	require.Equal(t, int32(1), h.store.reads.Load(), "a repeated unknown id is answered without a read")

	t.Run("an inactive integration is absent too", func(t *testing.T) {
		inactive := gitHubIntegration(t, store, h.vault, false)
		before := h.store.reads.Load()
		for range 3 {
			require.Equal(t, "404 NOT_FOUND", answerOf(h.webhook(inactive, floodSecret, "192.0.2.1")))
		}
		require.Equal(t, before+1, h.store.reads.Load())
	})

	t.Run("a malformed id is never read", func(t *testing.T) {
		before := h.store.reads.Load()
		require.Equal(t, "404 NOT_FOUND", answerOf(h.webhook("not-a-uuid", floodSecret, "192.0.2.1")))
		require.Equal(t, before, h.store.reads.Load())
	})

	t.Run("a known integration is read once and works", func(t *testing.T) {
		known := gitHubIntegration(t, store, h.vault, true)
		before := h.store.reads.Load()
		for range 3 {
			require.Equal(t, "200", answerOf(h.webhook(known, floodSecret, "192.0.2.1")))
		}
		require.Equal(t, before+1, h.store.reads.Load())
		require.Equal(t, int32(3), h.temporal.starts.Load())
	})
}

// fakeIntegrations serves the integrations in rows and counts reads; every other id is unknown.
type fakeIntegrations struct {
	IntegrationStore
	rows  map[string]schema.IntegrationRow
	reads atomic.Int32
}

func (f *fakeIntegrations) GetIntegration(_ context.Context, id string) (schema.IntegrationRow, error) {
	f.reads.Add(1)
	row, ok := f.rows[id]
	if !ok {
		return row, schema.ErrNotFound
	}
	return row, nil
}

func TestAFloodOfUnknownIDsNeverEvictsIntegrationsAtWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	vault := testVault(t)
	sealed, err := vault.SealCredentials(platform.Credentials{Fields: map[string]string{"webhook_secret": floodSecret}})
	require.NoError(t, err)
	known := uuid.NewString()
	store := &fakeIntegrations{rows: map[string]schema.IntegrationRow{known: {ID: known, ClientID: "c", Name: "repo",
		Platform: "github", Credentials: sealed, Config: []byte(`{}`), IsActive: true}}}
	ic := newIntegrationCache(store, vault, time.Hour)

	in, err := ic.get(ctx, known)
	require.NoError(t, err)
	require.Equal(t, known, in.ID)
	for range 2*maxAbsentIntegrations + 10 {
		_, err := ic.get(ctx, uuid.NewString())
		require.ErrorIs(t, err, errNoIntegration)
	}
	ic.mu.RLock()
	absent := len(ic.absent)
	ic.mu.RUnlock()
	require.LessOrEqual(t, absent, maxAbsentIntegrations, "the absent ids are bounded")

	reads := store.reads.Load()
	in, err = ic.get(ctx, known)
	require.NoError(t, err)
	require.Equal(t, known, in.ID)
	require.Equal(t, reads, store.reads.Load(), "the integration at work is still cached")
}

func TestWebhookFailuresFromAnAddressAreLimited(t *testing.T) {
	store := openStore(t)
	s, other := newFloodHub(t, store, 3), newFloodHub(t, store, 3) // two instances, one database
	known := gitHubIntegration(t, store, s.vault, true)
	flooder, bystander := freshAddress(), freshAddress()

	// The platform is at work before the flood.
	require.Equal(t, "200", answerOf(s.webhook(known, floodSecret, bystander)))

	t.Run("after the allowance of unknown ids, the address gets 429 for any id not at work", func(t *testing.T) {
		for range 5 {
			require.Equal(t, "401 INVALID_SIGNATURE", answerOf(s.webhook(known, "a-guessed-secret", flooder)),
				"bad signatures do not count: one tenant's wrong secret must not stop the others")
		}
		require.Equal(t, "404 NOT_FOUND", answerOf(s.webhook(uuid.NewString(), floodSecret, flooder)))
		require.Equal(t, "404 NOT_FOUND", answerOf(s.challenge(uuid.NewString(), flooder)))
		require.Equal(t, "404 NOT_FOUND", answerOf(s.webhook(uuid.NewString(), floodSecret, flooder)))

		reads, starts := s.store.reads.Load(), s.temporal.starts.Load()
		refused := s.webhook(uuid.NewString(), floodSecret, flooder)
		require.Equal(t, "429 TOO_MANY_FAILURES", answerOf(refused))
		wait, err := strconv.Atoi(refused.Header().Get("Retry-After"))
		require.NoError(t, err)
		require.True(t, wait >= 1 && wait <= 20, "one failure comes back every 20 s: Retry-After %d", wait)
		require.Equal(t, "429 TOO_MANY_FAILURES", answerOf(s.challenge(uuid.NewString(), flooder)))
		require.Equal(t, reads, s.store.reads.Load(), "refused before any read")
		require.Equal(t, starts, s.temporal.starts.Load())

		// Platforms send every tenant's webhooks from a few addresses: an integration at work
		// still gets its webhooks from a refused address.
		require.Equal(t, "200", answerOf(s.webhook(known, floodSecret, flooder)))
	})

	t.Run("another address still passes", func(t *testing.T) {
		require.Equal(t, "200", answerOf(s.webhook(known, floodSecret, bystander)))
		require.Equal(t, "404 NOT_FOUND", answerOf(s.webhook(uuid.NewString(), floodSecret, bystander)))
	})

	t.Run("another instance refuses the address at its first failure", func(t *testing.T) {
		require.Equal(t, "200", answerOf(other.webhook(known, floodSecret, flooder)), "good webhooks cost no round trip")
		require.Equal(t, "404 NOT_FOUND", answerOf(other.webhook(uuid.NewString(), floodSecret, flooder)))
		require.Equal(t, "429 TOO_MANY_FAILURES", answerOf(other.webhook(uuid.NewString(), floodSecret, flooder)))
	})

	t.Run("good webhooks never count", func(t *testing.T) {
		platform := freshAddress()
		for range 10 {
			require.Equal(t, "200", answerOf(s.webhook(known, floodSecret, platform)))
		}
		require.Equal(t, "404 NOT_FOUND", answerOf(s.webhook(uuid.NewString(), floodSecret, platform)))
		require.Equal(t, "200", answerOf(s.webhook(known, floodSecret, platform)))
	})

	t.Run("an IPv6 /64 counts as one address", func(t *testing.T) {
		prefix := fmt.Sprintf("2001:db8:%x:%x::", rand.IntN(1<<16), rand.IntN(1<<16)) // a /64
		for i := range 3 {
			require.Equal(t, "404 NOT_FOUND", answerOf(s.webhook(uuid.NewString(), floodSecret, prefix+strconv.Itoa(i+1))))
		}
		require.Equal(t, "429 TOO_MANY_FAILURES", answerOf(s.webhook(uuid.NewString(), floodSecret, prefix+"99")))
		require.Equal(t, "429 TOO_MANY_FAILURES", answerOf(s.webhook(uuid.NewString(), floodSecret, prefix+"ffff:1:2")))
		require.Equal(t, "200", answerOf(s.webhook(known, floodSecret, freshAddress())))
	})

	t.Run("0 turns the limit off", func(t *testing.T) {
		off, ip := newFloodHub(t, store, 0), freshAddress()
		for range 5 {
			require.Equal(t, "404 NOT_FOUND", answerOf(off.webhook(uuid.NewString(), floodSecret, ip)))
		}
		require.Equal(t, "404 NOT_FOUND", answerOf(off.webhook(uuid.NewString(), floodSecret, ip)))
	})
}

// freshAddress is an IPv4 address no other test run has counted failures for (the package's
// database keeps its buckets across -count runs).
func freshAddress() string {
	return fmt.Sprintf("10.%d.%d.%d", rand.IntN(256), rand.IntN(256), 1+rand.IntN(254))
}

func TestAnIntegrationCachedAsAbsentIsReachableOnceCreated(t *testing.T) {
	store := openStore(t)
	h := newFloodHub(t, store, 100)
	owner := newPermittedClient(t, store, PermissionIntegrations)

	t.Run("created", func(t *testing.T) {
		id := uuid.NewString()
		require.Equal(t, "404 NOT_FOUND", answerOf(h.webhook(id, floodSecret, "192.0.2.7")))
		h.store.nextID.Store(&id)
		created := h.as(owner, "POST", IntegrationsBase, map[string]any{"name": "repo", "platform": "github",
			"credentials": map[string]any{"webhook_secret": floodSecret}})
		require.Equal(t, 201, created.Code, created.Body.String())
		require.Contains(t, created.Body.String(), id)
		require.Equal(t, "200", answerOf(h.webhook(id, floodSecret, "192.0.2.7")), "not hidden for the cache TTL")
	})

	t.Run("activated", func(t *testing.T) {
		created := h.as(owner, "POST", IntegrationsBase, map[string]any{"name": "repo", "platform": "github",
			"credentials": map[string]any{"webhook_secret": floodSecret}, "is_active": false})
		require.Equal(t, 201, created.Code, created.Body.String())
		var view struct {
			Data integrationView `json:"data"`
		}
		require.NoError(t, json.Unmarshal(created.Body.Bytes(), &view))
		id := view.Data.ID
		require.Equal(t, "404 NOT_FOUND", answerOf(h.webhook(id, floodSecret, "192.0.2.7")))
		on := h.as(owner, "PATCH", IntegrationsBase+"/"+id, map[string]any{"is_active": true})
		require.Equal(t, 200, on.Code, on.Body.String())
		require.Equal(t, "200", answerOf(h.webhook(id, floodSecret, "192.0.2.7")))
	})
}

// newPermittedClient stores a client with secret "owner-secret" and permissions (bcrypt's
// lowest cost, tests only).
func newPermittedClient(t *testing.T, store Store, permissions ...string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("owner-secret"), bcrypt.MinCost)
	require.NoError(t, err)
	id := "flood-" + uuid.NewString()
	_, err = store.CreateClient(context.Background(), schema.ClientRow{ClientID: id, Name: id, SecretHash: string(hash),
		Permissions: permissions, IsActive: true})
	require.NoError(t, err)
	return id
}

func TestWebhookFailuresGoUncountedWhenTheBucketsAreDown(t *testing.T) {
	store := openStore(t)
	down := &bucketsDown{Store: store}
	h := newFloodHub(t, down, 1)
	known := gitHubIntegration(t, store, h.vault, true)
	ip := freshAddress()
	for range 3 {
		require.Equal(t, "404 NOT_FOUND", answerOf(h.webhook(uuid.NewString(), floodSecret, ip)))
	}
	require.Equal(t, "200", answerOf(h.webhook(known, floodSecret, ip)), "a platform's deliveries do not fail with the counts")
	require.Equal(t, "404 NOT_FOUND", answerOf(h.webhook(uuid.NewString(), floodSecret, ip)), "nothing refused")
	require.Equal(t, int32(4), down.takes.Load(), "only the failures tried to count")
}
