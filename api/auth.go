package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
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
	// bcryptSlots bounds concurrent bcrypt checks, so a burst of wrong secrets cannot take
	// every core.
	bcryptSlots chan struct{}
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
		bcryptSlots: make(chan struct{}, max(1, runtime.NumCPU())),
	}
}

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

// authenticate returns the calling client or an *Error (401/403). Failures are logged with the
// client id and the reason, never the secret.
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
	if errors.Is(err, schema.ErrNotFound) {
		return fail(http.StatusUnauthorized, CodeInvalidCreds, "invalid client credentials", "unknown client")
	}
	if err != nil {
		return Client{}, err
	}
	if !a.secretMatches(c.Request.Context(), row, secret) {
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

func (a *clientAuth) secretMatches(ctx context.Context, row schema.ClientRow, secret string) bool {
	digest := sha256.Sum256([]byte(secret))
	a.mu.RLock()
	known, ok := a.verified[row.ClientID]
	a.mu.RUnlock()
	if ok && known.hash == row.SecretHash && subtle.ConstantTimeCompare(known.digest[:], digest[:]) == 1 {
		return true
	}
	// Concurrent first requests with the same credentials share one bcrypt check.
	key := row.ClientID + "\x00" + row.SecretHash + "\x00" + string(digest[:])
	for {
		matched, err, _ := a.checks.Do(key, func() (any, error) {
			select {
			case a.bcryptSlots <- struct{}{}:
			case <-ctx.Done():
				return false, ctx.Err()
			}
			err := bcrypt.CompareHashAndPassword([]byte(row.SecretHash), []byte(secret))
			<-a.bcryptSlots
			if err != nil {
				return false, nil
			}
			a.mu.Lock()
			a.verified[row.ClientID] = verifiedSecret{hash: row.SecretHash, digest: digest}
			a.mu.Unlock()
			return true, nil
		})
		if err == nil {
			return matched.(bool)
		}
		if ctx.Err() != nil {
			return false
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
