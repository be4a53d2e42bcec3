package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// rateLimiter keeps a token bucket per client: rate_limit_per_minute tokens, refilled evenly.
type rateLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	perMinute int
	limiter   *rate.Limiter
}

func newRateLimiter() *rateLimiter { return &rateLimiter{buckets: map[string]*bucket{}} }

// allow takes a token for the client and sets the X-RateLimit-* headers; a client without a
// limit passes untouched. It returns a 429 *Error when the bucket is empty.
func (l *rateLimiter) allow(c *gin.Context, client Client) error {
	if client.RateLimitPerMinute <= 0 {
		return nil
	}
	l.mu.Lock()
	b, ok := l.buckets[client.ID]
	if !ok || b.perMinute != client.RateLimitPerMinute {
		b = &bucket{perMinute: client.RateLimitPerMinute,
			limiter: rate.NewLimiter(rate.Limit(float64(client.RateLimitPerMinute)/60), client.RateLimitPerMinute)}
		l.buckets[client.ID] = b
	}
	l.mu.Unlock()

	now := time.Now()
	allowed := b.limiter.AllowN(now, 1)
	tokens := b.limiter.TokensAt(now)
	perSecond := float64(b.perMinute) / 60
	untilFull := time.Duration((float64(b.perMinute) - tokens) / perSecond * float64(time.Second))
	c.Header("X-RateLimit-Limit", strconv.Itoa(b.perMinute))
	c.Header("X-RateLimit-Remaining", strconv.Itoa(max(0, int(math.Floor(tokens)))))
	c.Header("X-RateLimit-Reset", strconv.FormatInt(now.Add(untilFull).Unix(), 10))
	if allowed {
		return nil
	}
	wait := time.Duration((1 - tokens) / perSecond * float64(time.Second))
	c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited,
		Message: "rate limit exceeded: " + strconv.Itoa(b.perMinute) + " requests per minute"}
}
