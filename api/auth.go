package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/singleflight"

	"github.com/switchyard-hub/switchyard/schema"
)

const clientIDKey = "switchyard.client_id"

// Credential limits. bcrypt reads at most 72 bytes, so longer secrets are refused outright.
const (
	maxClientIDLength = 128
	maxSecretLength   = 72
)

// ClientStore is what client authentication reads.
type ClientStore interface {
	GetClient(ctx context.Context, clientID string) (schema.ClientRow, error)
}

// Client is an authenticated caller.
type Client struct {
	ID                 string
	Roles              []string
	Permissions        []string
	RateLimitPerMinute int
}

// clientAuth checks client credentials. Client rows are cached for the config TTL and a
// verified secret is remembered as a SHA-256 digest next to the bcrypt hash it matched, so the
// ~60 ms bcrypt check runs once per client and secret, not once per request.
type clientAuth struct {
	store ClientStore
	ttl   time.Duration

	mu       sync.RWMutex
	rows     map[string]cachedClient
	verified map[string]verifiedSecret
	// gen counts forgets: a row loaded across a forget is not cached (see routeCache.gen).
	gen    uint64
	loads  singleflight.Group
	checks singleflight.Group
	// bcryptSlots bounds concurrent bcrypt checks to one fewer than the cores Go uses, so a
	// burst of wrong secrets always leaves a core for everything else.
	bcryptSlots chan struct{}
	// compare is bcrypt.CompareHashAndPassword (tests count comparisons through it).
	compare func(hash, secret []byte) error
	// failures limits failed authentications per client id and per source address; nil
	// when both limits are off.
	failures *failureLimits
}

type cachedClient struct {
	row      schema.ClientRow
	loadedAt time.Time
}

type verifiedSecret struct {
	hash   string
	digest [sha256.Size]byte
}

func newClientAuth(store ClientStore, ttl time.Duration) *clientAuth {
	return &clientAuth{
		store:       store,
		ttl:         ttl,
		rows:        map[string]cachedClient{},
		verified:    map[string]verifiedSecret{},
		bcryptSlots: make(chan struct{}, bcryptConcurrency()),
		compare:     bcrypt.CompareHashAndPassword,
	}
}

// bcryptConcurrency is how many bcrypt checks may run at once: max(1, GOMAXPROCS-1).
func bcryptConcurrency() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// dummyHash is what a secret sent with an unknown client id is compared with: a bcrypt hash,
// at HashSecret's cost, of 32 random bytes nobody kept. An unknown id then costs the bcrypt
// comparison a known one does, so response times do not tell which ids exist.
const dummyHash = "$2a$10$2BJ834bwVVQ9lO.jK.1Gi.Lu9rrQXjscncsTyKPyAXSh2u6qHxB46"

// credentials reads X-Client-Id/X-Client-Secret, or HTTP Basic. usedBasic says whether the
// Authorization header carried them.
func credentials(r *http.Request) (id, secret string, usedBasic, ok bool) {
	id, secret = r.Header.Get("X-Client-Id"), r.Header.Get("X-Client-Secret")
	if id != "" || secret != "" {
		return id, secret, false, id != "" && secret != ""
	}
	id, secret, ok = r.BasicAuth()
	return id, secret, ok, ok && id != "" && secret != ""
}

// authenticate returns the calling client or an *Error: 401/403, 429 TOO_MANY_FAILURES when the
// failure limits refuse a bcrypt check, 503 when they cannot be read. Failures are logged with
// the client id and the reason, never the secret.
func (a *clientAuth) authenticate(c *gin.Context) (Client, error) {
	id, secret, _, ok := credentials(c.Request)
	if !ok {
		c.Header("WWW-Authenticate", `Basic realm="switchyard"`)
		return Client{}, newError(http.StatusUnauthorized, CodeAuthRequired,
			"client credentials required: X-Client-Id and X-Client-Secret headers, or HTTP Basic")
	}
	fail := func(status int, code, msg, reason string) (Client, error) {
		logger(c).Warn("Client authentication failed", "client_id", truncate(id, maxClientIDLength),
			"reason", reason, "client_ip", c.ClientIP())
		if status == http.StatusUnauthorized {
			c.Header("WWW-Authenticate", `Basic realm="switchyard"`)
		}
		return Client{}, newError(status, code, msg)
	}
	if len(id) > maxClientIDLength || len(secret) > maxSecretLength {
		return fail(http.StatusUnauthorized, CodeInvalidCreds, "invalid client credentials", "credential too long")
	}
	row, err := a.client(c.Request.Context(), id)
	known := err == nil
	if !known && !errors.Is(err, schema.ErrNotFound) {
		return Client{}, err
	}
	if !known {
		// An unknown id goes the way of a wrong secret: the same failure limits and one bcrypt
		// comparison, so neither the answers nor their timing tell which ids exist.
		row = schema.ClientRow{ClientID: id, SecretHash: dummyHash}
	}
	matched, err := a.verify(c.Request.Context(), row, secret, a.failures.attempt(c, id))
	if err != nil {
		logger(c).Debug("Client authentication refused", "client_id", truncate(id, maxClientIDLength),
			"reason", err.Error(), "client_ip", c.ClientIP())
		return Client{}, err
	}
	if !known {
		return fail(http.StatusUnauthorized, CodeInvalidCreds, "invalid client credentials", "unknown client")
	}
	if !matched {
		return fail(http.StatusUnauthorized, CodeInvalidCreds, "invalid client credentials", "wrong secret")
	}
	if !row.IsActive {
		return fail(http.StatusForbidden, CodeClientInactive, "client is inactive", "inactive client")
	}
	if !ipAllowed(c.ClientIP(), row.AllowedIPs) {
		return fail(http.StatusForbidden, CodeIPNotAllowed, "client IP address is not allowed", "ip not allowed")
	}
	c.Set(clientIDKey, row.ClientID)
	return Client{ID: row.ClientID, Roles: row.Roles, Permissions: row.Permissions,
		RateLimitPerMinute: row.RateLimitPerMinute}, nil
}

func (a *clientAuth) client(ctx context.Context, id string) (schema.ClientRow, error) {
	a.mu.RLock()
	cached, ok := a.rows[id]
	gen := a.gen
	a.mu.RUnlock()
	if ok && time.Since(cached.loadedAt) < a.ttl {
		return cached.row, nil
	}
	v, err := sharedLoad(ctx, &a.loads, strconv.FormatUint(gen, 10)+"\x00"+id, func(ctx context.Context) (any, error) {
		row, err := a.store.GetClient(ctx, id)
		if err != nil {
			return nil, err
		}
		a.mu.Lock()
		if a.gen == gen {
			a.rows[id] = cachedClient{row: row, loadedAt: time.Now()}
		}
		a.mu.Unlock()
		return row, nil
	})
	if err != nil {
		return schema.ClientRow{}, err
	}
	return v.(schema.ClientRow), nil
}

// secretMatches is verify without failure limits.
func (a *clientAuth) secretMatches(ctx context.Context, row schema.ClientRow, secret string) bool {
	matched, _ := a.verify(ctx, row, secret, nil)
	return matched
}

// attemptFunc is asked before a bcrypt comparison runs: it may refuse it (an *Error), and the
// release it returns gives the attempt back when the secret matched (only failures count).
type attemptFunc func(ctx context.Context) (release func(), err error)

// verify reports whether secret is row's. A secret verified before is recognised by its digest,
// free of bcrypt and of failure limits. Otherwise one bcrypt comparison runs, shared by the
// concurrent callers with the same credentials, after attempt (when given) agreed to it; the
// only errors are attempt's refusals.
func (a *clientAuth) verify(ctx context.Context, row schema.ClientRow, secret string, attempt attemptFunc) (bool, error) {
	digest := sha256.Sum256([]byte(secret))
	a.mu.RLock()
	known, ok := a.verified[row.ClientID]
	a.mu.RUnlock()
	if ok && known.hash == row.SecretHash && subtle.ConstantTimeCompare(known.digest[:], digest[:]) == 1 {
		return true, nil
	}
	// Concurrent first requests with the same credentials share one bcrypt check, and one
	// attempt against the failure limits.
	key := row.ClientID + "\x00" + row.SecretHash + "\x00" + string(digest[:])
	for {
		matched, err, _ := a.checks.Do(key, func() (any, error) {
			release := func() {}
			if attempt != nil {
				r, err := attempt(ctx)
				if err != nil {
					return false, err
				}
				release = r
			}
			select {
			case a.bcryptSlots <- struct{}{}:
			case <-ctx.Done():
				release() // nothing was compared: not a failure
				return false, ctx.Err()
			}
			err := a.compare([]byte(row.SecretHash), []byte(secret))
			<-a.bcryptSlots
			if err != nil || row.SecretHash == dummyHash {
				return false, nil
			}
			release()
			a.mu.Lock()
			a.verified[row.ClientID] = verifiedSecret{hash: row.SecretHash, digest: digest}
			a.mu.Unlock()
			return true, nil
		})
		if err == nil {
			return matched.(bool), nil
		}
		var refused *Error
		if errors.As(err, &refused) {
			return false, err
		}
		if ctx.Err() != nil {
			return false, nil
		}
		// The request that ran the shared check left before a bcrypt slot was free: that says
		// nothing about this secret, so check again rather than answer 401.
	}
}

// forget drops a client from the caches (after an admin change) so the change applies at once
// on this instance; other instances pick it up within the cache TTL.
func (a *clientAuth) forget(id string) {
	a.mu.Lock()
	delete(a.rows, id)
	delete(a.verified, id)
	a.gen++
	a.mu.Unlock()
}

// failureLimits refuses an authentication that would cost a bcrypt comparison once its client
// id or its source address has failed too often: perClient and perIP failures per window,
// coming back evenly over the window, counted in the shared buckets so the limits hold across
// API instances. Each attempt takes a token and a match gives it back, so only failures count
// and concurrent attempts cannot overshoot. A secret this instance verified before passes
// without a token, so a flood of wrong secrets cannot lock out a client already at work. The
// limits fail closed: when the buckets do not answer, such an attempt answers 503.
type failureLimits struct {
	buckets   *sharedBuckets
	perClient int
	perIP     int
	window    time.Duration
	logger    *slog.Logger

	mu sync.Mutex
	// refused remembers, per bucket key, until when the buckets refused it, so a flood costs
	// no database round trips once a key is refused.
	refused map[string]time.Time
}

// maxRefusedKeys bounds the refused memo; past it, expired entries are dropped.
const maxRefusedKeys = 10_000

// newFailureLimits returns nil when both limits are off.
func newFailureLimits(cfg Config, buckets *sharedBuckets, logger *slog.Logger) *failureLimits {
	if cfg.AuthFailureLimit <= 0 && cfg.AuthFailureIPLimit <= 0 {
		return nil
	}
	return &failureLimits{buckets: buckets, perClient: cfg.AuthFailureLimit, perIP: cfg.AuthFailureIPLimit,
		window: cfg.AuthFailureWindow, logger: logger, refused: map[string]time.Time{}}
}

// failureBucket is one limit an attempt takes a token from.
type failureBucket struct {
	key   string
	limit int
}

// attempt is the attemptFunc for a request authenticating as clientID; nil without limits.
func (f *failureLimits) attempt(c *gin.Context, clientID string) attemptFunc {
	if f == nil {
		return nil
	}
	// Called, if at all, by the request that made it (the leader of the shared check).
	return func(ctx context.Context) (func(), error) {
		var limits []failureBucket
		if f.perIP > 0 {
			limits = append(limits, failureBucket{key: "auth:ip:" + addressKey(c.ClientIP()), limit: f.perIP})
		}
		if f.perClient > 0 {
			limits = append(limits, failureBucket{key: "auth:client:" + clientID, limit: f.perClient})
		}
		// The attempt outlives a caller that leaves: others may be waiting on its comparison.
		return f.take(context.WithoutCancel(ctx), limits)
	}
}

// take takes a token from every bucket, or none: a refusal gives back what it took. A bucket
// known to refuse answers without a round trip.
func (f *failureLimits) take(ctx context.Context, limits []failureBucket) (func(), error) {
	var taken []failureBucket
	release := func() {
		for _, b := range taken {
			f.buckets.giveBack(ctx, b.key, b.limit, f.window)
		}
	}
	for _, b := range limits {
		if wait, ok := f.refusedFor(b.key); ok {
			return nil, tooManyFailures(wait)
		}
	}
	for _, b := range limits {
		t, err := f.buckets.take(ctx, b.key, b.limit, f.window)
		if err != nil {
			release()
			f.buckets.warn("Authentication failure limits unavailable: attempts that need bcrypt are refused", err)
			return nil, newError(http.StatusServiceUnavailable, CodeUnavailable,
				"authentication is unavailable: retry later")
		}
		if !t.Taken {
			wait := bucketState{take: t, limit: b.limit, period: f.window}.retryAfter()
			f.refuse(b.key, wait)
			f.logger.Warn("Too many failed authentications: refusing attempts", "key", truncate(b.key, 160),
				"limit", b.limit, "window", f.window.String(), "retry_after", wait.String())
			release()
			return nil, tooManyFailures(wait)
		}
		taken = append(taken, b)
	}
	return release, nil
}

func (f *failureLimits) refusedFor(key string) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	until, ok := f.refused[key]
	if !ok {
		return 0, false
	}
	wait := time.Until(until)
	if wait <= 0 {
		delete(f.refused, key)
		return 0, false
	}
	return wait, true
}

func (f *failureLimits) refuse(key string, wait time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.refused) >= maxRefusedKeys {
		now := time.Now()
		for k, until := range f.refused {
			if !until.After(now) {
				delete(f.refused, k)
			}
		}
	}
	if len(f.refused) < maxRefusedKeys {
		f.refused[key] = time.Now().Add(wait)
	}
}

func tooManyFailures(wait time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyFailures,
		Message: "too many failed authentication attempts: retry later",
		Header:  map[string]string{"Retry-After": retryAfterHeader(wait)}}
}

// addressKey is the source an address counts as: the address itself for IPv4, its /64 for
// IPv6 (one host usually holds a whole /64).
func addressKey(ip string) string {
	addr := net.ParseIP(ip)
	if addr == nil {
		return ip
	}
	if v4 := addr.To4(); v4 != nil {
		return v4.String()
	}
	return (&net.IPNet{IP: addr.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// ipAllowed reports whether ip is in the allow-list (IPs or CIDRs); an empty list allows all.
func ipAllowed(ip string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	addr := net.ParseIP(ip)
	if addr == nil {
		return false
	}
	for _, entry := range allowed {
		if strings.Contains(entry, "/") {
			if _, cidr, err := net.ParseCIDR(entry); err == nil && cidr.Contains(addr) {
				return true
			}
		} else if other := net.ParseIP(entry); other != nil && other.Equal(addr) {
			return true
		}
	}
	return false
}

// adminAuth guards the admin API with the bearer token from ADMIN_TOKEN, compared in constant time.
func adminAuth(token string) gin.HandlerFunc {
	want := sha256.Sum256([]byte(token))
	return func(c *gin.Context) {
		if token == "" {
			writeError(c, newError(http.StatusForbidden, CodeAdminDisabled, "the admin API is disabled: set ADMIN_TOKEN"))
			return
		}
		got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		digest := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(digest[:], want[:]) != 1 {
			logger(c).Warn("Admin authentication failed", "client_ip", c.ClientIP())
			c.Header("WWW-Authenticate", `Bearer realm="switchyard-admin"`)
			writeError(c, newError(http.StatusUnauthorized, CodeAuthRequired, "admin bearer token required"))
			return
		}
		c.Next()
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
