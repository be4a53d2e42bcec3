package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchyard-hub/switchyard/schema"
)

// comparisons counts the bcrypt comparisons a clientAuth runs and the hashes they used.
type comparisons struct {
	mu     sync.Mutex
	hashes []string
	// quickDummy skips the real comparison with dummyHash (a second under -race), for tests
	// about what is counted rather than what it costs.
	quickDummy bool
}

func (cs *comparisons) install(a *clientAuth) {
	compare := a.compare
	a.compare = func(hash, secret []byte) error {
		cs.mu.Lock()
		cs.hashes = append(cs.hashes, string(hash))
		cs.mu.Unlock()
		if cs.quickDummy && string(hash) == dummyHash {
			return bcrypt.ErrMismatchedHashAndPassword
		}
		return compare(hash, secret)
	}
}

func (cs *comparisons) count() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.hashes)
}

func (cs *comparisons) last() string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.hashes[len(cs.hashes)-1]
}

// limitsServer is an API server on the package's test database with the given failure limits
// (a minute's window); servers built on the same store share rate and failure limits as
// instances do.
func limitsServer(t *testing.T, store Store, perClient, perIP int) *Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := New(Config{MediatorMode: ModeHybrid, ForwardTimeout: Seconds(time.Second), IntegrationTimeout: time.Second,
		MaxRequestBodyBytes: 1 << 10, ConfigCacheTTL: time.Minute, AuthFailureLimit: perClient,
		AuthFailureIPLimit: perIP, AuthFailureWindow: time.Minute},
		Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: reg, Gatherer: reg})
	require.NoError(t, err)
	return s
}

// newTestClient stores a client with secret, hashed at bcrypt's lowest cost (tests only).
func newTestClient(t *testing.T, store Store, secret string, perMinute int) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	require.NoError(t, err)
	id := "limits-" + uuid.NewString()
	_, err = store.CreateClient(context.Background(), schema.ClientRow{ClientID: id, Name: id, SecretHash: string(hash),
		RateLimitPerMinute: perMinute, IsActive: true})
	require.NoError(t, err)
	return id
}

// call authenticates as id/secret from ip on a proxied path no channel serves: a request that
// passes authentication and the rate limit answers 404 NO_CHANNEL.
func call(s *Server, id, secret, ip string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/authlimits-test/none", nil)
	req.RemoteAddr = ip + ":40000"
	req.Header.Set("X-Client-Id", id)
	req.Header.Set("X-Client-Secret", secret)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

// codeOf is the answer's status and error code, "404 NO_CHANNEL" say.
func codeOf(rec *httptest.ResponseRecorder) string {
	var env envelope
	_ = json.Unmarshal(rec.Body.Bytes(), &env)
	return strconv.Itoa(rec.Code) + " " + env.ErrorCode
}

func TestUnknownClientIDsCostWhatWrongSecretsCost(t *testing.T) {
	store := openStore(t)
	s := limitsServer(t, store, 100, 100)
	var compared comparisons
	compared.install(s.auth)
	known := newTestClient(t, store, "the-right-secret", 0)
	row, err := store.GetClient(context.Background(), known)
	require.NoError(t, err)

	wrong := call(s, known, "a-wrong-secret", "192.0.2.10")
	require.Equal(t, 1, compared.count())
	require.Equal(t, row.SecretHash, compared.last())

	unknown := call(s, "no-such-client-"+uuid.NewString(), "a-wrong-secret", "192.0.2.10")
	require.Equal(t, 2, compared.count(), "an unknown id runs a bcrypt comparison too")
	require.Equal(t, dummyHash, compared.last())

	require.Equal(t, "401 INVALID_CREDENTIALS", codeOf(wrong))
	require.Equal(t, codeOf(wrong), codeOf(unknown), "the answers are the same")
	require.Equal(t, wrong.Body.String(), unknown.Body.String())
	require.Equal(t, wrong.Header().Get("WWW-Authenticate"), unknown.Header().Get("WWW-Authenticate"))

	t.Run("the dummy hash costs what a stored secret costs", func(t *testing.T) {
		stored, err := HashSecret("any-secret")
		require.NoError(t, err)
		storedCost, err := bcrypt.Cost([]byte(stored))
		require.NoError(t, err)
		dummyCost, err := bcrypt.Cost([]byte(dummyHash))
		require.NoError(t, err)
		require.Equal(t, storedCost, dummyCost)
	})
}

func TestFailureLimits(t *testing.T) {
	store := openStore(t)
	s := limitsServer(t, store, 3, 5)
	other := limitsServer(t, store, 3, 5) // another instance on the same database
	compared := comparisons{quickDummy: true}
	compared.install(s.auth)
	compared.install(other.auth)
	victim := newTestClient(t, store, "victim-secret", 0)
	bystander := newTestClient(t, store, "bystander-secret", 0)

	// The victim is at work on the first instance before the flood starts.
	require.Equal(t, "404 NO_CHANNEL", codeOf(call(s, victim, "victim-secret", "198.51.100.1")))

	t.Run("after the client id's allowance of failures, attempts are refused before any bcrypt", func(t *testing.T) {
		for i := range 3 {
			require.Equal(t, "401 INVALID_CREDENTIALS", codeOf(call(s, victim, "guess-"+strconv.Itoa(i), "203.0.113.7")))
		}
		before := compared.count()
		for _, srv := range []*Server{s, other} {
			refused := call(srv, victim, "guess-more", "203.0.113.8")
			require.Equal(t, "429 TOO_MANY_FAILURES", codeOf(refused))
			wait, err := strconv.Atoi(refused.Header().Get("Retry-After"))
			require.NoError(t, err)
			require.True(t, wait >= 1 && wait <= 20, "one failure comes back every 20 s: Retry-After %d", wait)
		}
		require.Equal(t, before, compared.count(), "a refused attempt runs no bcrypt comparison")
	})

	t.Run("an unknown id is refused the same way", func(t *testing.T) {
		ghost := "ghost-" + uuid.NewString()
		for range 3 {
			require.Equal(t, "401 INVALID_CREDENTIALS", codeOf(call(s, ghost, "guess", "203.0.113.9")))
		}
		require.Equal(t, "429 TOO_MANY_FAILURES", codeOf(call(s, ghost, "guess", "203.0.113.10")))
	})

	t.Run("a secret this instance verified still passes, free", func(t *testing.T) {
		before := compared.count()
		require.Equal(t, "404 NO_CHANNEL", codeOf(call(s, victim, "victim-secret", "203.0.113.7")))
		require.Equal(t, before, compared.count())
		// An instance that has not verified it holds the shared limit.
		require.Equal(t, "429 TOO_MANY_FAILURES", codeOf(call(other, victim, "victim-secret", "198.51.100.1")))
	})

	t.Run("another client from the same address is not affected", func(t *testing.T) {
		require.Equal(t, "404 NO_CHANNEL", codeOf(call(other, bystander, "bystander-secret", "203.0.113.7")))
	})

	t.Run("an address that failed too often is refused for every id, others are not", func(t *testing.T) {
		for i := range 5 {
			require.Equal(t, "401 INVALID_CREDENTIALS",
				codeOf(call(s, "spray-"+strconv.Itoa(i)+"-"+uuid.NewString(), "guess", "203.0.113.66")))
		}
		fresh := newTestClient(t, store, "fresh-secret", 0)
		require.Equal(t, "429 TOO_MANY_FAILURES", codeOf(call(other, fresh, "fresh-secret", "203.0.113.66")))
		require.Equal(t, "404 NO_CHANNEL", codeOf(call(other, fresh, "fresh-secret", "203.0.113.67")))
	})

	t.Run("a success gives its attempt back", func(t *testing.T) {
		id := newTestClient(t, store, "steady-secret", 0)
		srv := limitsServer(t, store, 1, 100)
		for range 3 {
			require.Equal(t, "404 NO_CHANNEL", codeOf(call(srv, id, "steady-secret", "192.0.2.50")))
			srv.auth.forget(id) // the next one runs bcrypt again
		}
		require.Equal(t, "401 INVALID_CREDENTIALS", codeOf(call(srv, id, "wrong", "192.0.2.50")))
		require.Equal(t, "429 TOO_MANY_FAILURES", codeOf(call(srv, id, "steady-secret", "192.0.2.50")))
	})
}

func TestIPv6AddressesCountByTheirSlash64(t *testing.T) {
	t.Parallel()
	require.Equal(t, "2001:db8:1:2::/64", addressKey("2001:db8:1:2:aaaa::1"))
	require.Equal(t, addressKey("2001:db8:1:2::1"), addressKey("2001:db8:1:2:ffff::9"))
	require.Equal(t, "192.0.2.1", addressKey("192.0.2.1"))
	require.Equal(t, "192.0.2.1", addressKey("::ffff:192.0.2.1"))
}

func TestConcurrentBcryptChecksLeaveACoreFree(t *testing.T) {
	prev := runtime.GOMAXPROCS(4)
	auth := newClientAuth(nil, time.Hour)
	runtime.GOMAXPROCS(prev)
	require.Equal(t, 3, cap(auth.bcryptSlots), "GOMAXPROCS-1")

	var running, most atomic.Int32
	release := make(chan struct{})
	auth.compare = func(hash, secret []byte) error {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		running.Add(-1)
		return errors.New("mismatch")
	}
	row := schema.ClientRow{ClientID: "c", SecretHash: dummyHash}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			auth.secretMatches(context.Background(), row, "guess-"+strconv.Itoa(i)) // distinct: nothing shared
		}()
	}
	require.Eventually(t, func() bool { return running.Load() == 3 }, 2*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond) // the other nine are queued, not running
	require.Equal(t, int32(3), most.Load())
	close(release)
	wg.Wait()
	require.Equal(t, int32(3), most.Load())

	runtime.GOMAXPROCS(1)
	single := newClientAuth(nil, time.Hour)
	runtime.GOMAXPROCS(prev)
	require.Equal(t, 1, cap(single.bcryptSlots), "one core still checks secrets")
}

func TestRateLimitHoldsAcrossInstances(t *testing.T) {
	store := openStore(t)
	first, second := limitsServer(t, store, 0, 0), limitsServer(t, store, 0, 0)
	id := newTestClient(t, store, "limited-secret", 4)
	start := time.Now()
	for i, srv := range []*Server{first, second, first, second} {
		rec := call(srv, id, "limited-secret", "192.0.2.20")
		require.Equal(t, "404 NO_CHANNEL", codeOf(rec), "request %d", i)
		require.Equal(t, "4", rec.Header().Get("X-RateLimit-Limit"))
		require.Equal(t, strconv.Itoa(3-i), rec.Header().Get("X-RateLimit-Remaining"))
		reset, err := strconv.ParseInt(rec.Header().Get("X-RateLimit-Reset"), 10, 64)
		require.NoError(t, err)
		// Full again once every spent token is back: 15 s per token.
		require.InDelta(t, start.Add(time.Duration(i+1)*15*time.Second).Unix(), reset, 2)
	}
	for _, srv := range []*Server{first, second} {
		limited := call(srv, id, "limited-secret", "192.0.2.20")
		require.Equal(t, "429 RATE_LIMITED", codeOf(limited))
		require.Equal(t, "0", limited.Header().Get("X-RateLimit-Remaining"))
		wait, err := strconv.Atoi(limited.Header().Get("Retry-After"))
		require.NoError(t, err)
		require.True(t, wait >= 1 && wait <= 15, "the next token is at most 15 s away: %d", wait)
	}

	t.Run("a client without a limit gets no headers", func(t *testing.T) {
		free := newTestClient(t, store, "free-secret", 0)
		rec := call(first, free, "free-secret", "192.0.2.20")
		require.Equal(t, "404 NO_CHANNEL", codeOf(rec))
		require.Empty(t, rec.Header().Get("X-RateLimit-Limit"))
	})
}

// bucketsDown is the store with its rate limit buckets unreachable.
type bucketsDown struct {
	*schema.Store
	takes atomic.Int32
}

var errBucketsDown = errors.New("connection refused")

func (b *bucketsDown) TakeToken(context.Context, string, int, time.Duration) (schema.Take, error) {
	b.takes.Add(1)
	return schema.Take{}, errBucketsDown
}

func (b *bucketsDown) ReturnToken(context.Context, string, int, time.Duration) error {
	return errBucketsDown
}

func TestWhenTheBucketsAreDown(t *testing.T) {
	store := openStore(t)
	down := &bucketsDown{Store: store}
	s := limitsServer(t, down, 3, 5)
	var compared comparisons
	compared.install(s.auth)
	limited := newTestClient(t, store, "limited-secret", 2)

	t.Run("an attempt that needs bcrypt fails closed", func(t *testing.T) {
		rec := call(s, limited, "limited-secret", "192.0.2.30")
		require.Equal(t, "503 SERVICE_UNAVAILABLE", codeOf(rec))
		require.Equal(t, "503 SERVICE_UNAVAILABLE", codeOf(call(s, limited, "wrong", "192.0.2.30")))
		require.Zero(t, compared.count(), "no bcrypt without the failure limits")
	})

	t.Run("rate limits fail open", func(t *testing.T) {
		require.True(t, s.auth.secretMatches(context.Background(), mustClient(t, store, limited), "limited-secret"))
		for range 3 { // over the limit of 2, had the buckets answered
			rec := call(s, limited, "limited-secret", "192.0.2.30")
			require.Equal(t, "404 NO_CHANNEL", codeOf(rec))
			require.Empty(t, rec.Header().Get("X-RateLimit-Limit"), "no headers for a limit that was not read")
		}
	})
}

func mustClient(t *testing.T, store Store, id string) schema.ClientRow {
	t.Helper()
	row, err := store.GetClient(context.Background(), id)
	require.NoError(t, err)
	return row
}

// pruneCounter counts prunes.
type pruneCounter struct {
	Buckets
	prunes atomic.Int32
}

func (p *pruneCounter) TakeToken(context.Context, string, int, time.Duration) (schema.Take, error) {
	return schema.Take{Taken: true}, nil
}

func (p *pruneCounter) PruneRateLimits(context.Context) (int64, error) {
	p.prunes.Add(1)
	return 0, nil
}

func TestFullBucketsArePrunedNowAndThen(t *testing.T) {
	t.Parallel()
	store := &pruneCounter{}
	b := newSharedBuckets(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for range 10 {
		_, err := b.take(context.Background(), "k", 1, time.Minute)
		require.NoError(t, err)
	}
	require.Zero(t, store.prunes.Load(), "not within a minute of start")
	b.lastPrune.Store(time.Now().Add(-2 * pruneInterval).UnixNano())
	for range 10 {
		_, err := b.take(context.Background(), "k", 1, time.Minute)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return store.prunes.Load() == 1 }, time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, int32(1), store.prunes.Load(), "once per interval")
}

func TestConfigValidatesFailureLimits(t *testing.T) {
	t.Parallel()
	base := Config{MediatorMode: ModeHybrid, ForwardTimeout: Seconds(time.Second), IntegrationTimeout: time.Second,
		MaxRequestBodyBytes: 1, AuthFailureLimit: 10, AuthFailureIPLimit: 50, AuthFailureWindow: time.Minute}
	require.NoError(t, base.Validate())
	negative := base
	negative.AuthFailureIPLimit = -1
	require.ErrorContains(t, negative.Validate(), "AUTH_FAILURE_IP_LIMIT")
	short := base
	short.AuthFailureWindow = 100 * time.Millisecond
	require.ErrorContains(t, short.Validate(), "AUTH_FAILURE_WINDOW")
	off := short
	off.AuthFailureLimit, off.AuthFailureIPLimit = 0, 0
	require.NoError(t, off.Validate(), "no window is needed when both limits are off")
}
