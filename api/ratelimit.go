package api

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchyard-hub/switchyard/schema"
)

// Buckets is the token-bucket store behind client rate limits and authentication failure
// limits; schema.Store satisfies it. Every API instance takes from the same buckets, so a limit
// holds however many instances serve a client.
type Buckets interface {
	TakeToken(ctx context.Context, key string, limit int, period time.Duration) (schema.Take, error)
	ReturnToken(ctx context.Context, key string, limit int, period time.Duration) error
	PruneRateLimits(ctx context.Context) (int64, error)
}

const (
	// bucketTimeout bounds one bucket statement; a database that takes longer counts as down.
	bucketTimeout = 2 * time.Second
	// pruneInterval is how often an instance deletes the buckets that are full again.
	pruneInterval = time.Minute
	// unavailableLogInterval spaces the warnings about an unreachable bucket store.
	unavailableLogInterval = 10 * time.Second
)

// sharedBuckets runs the bucket statements with a timeout and prunes now and then.
type sharedBuckets struct {
	store  Buckets
	logger *slog.Logger
	// lastPrune and lastWarning are UnixNano times.
	lastPrune   atomic.Int64
	lastWarning atomic.Int64
}

func newSharedBuckets(store Buckets, logger *slog.Logger) *sharedBuckets {
	b := &sharedBuckets{store: store, logger: logger}
	b.lastPrune.Store(time.Now().UnixNano())
	return b
}

func (b *sharedBuckets) take(ctx context.Context, key string, limit int, period time.Duration) (schema.Take, error) {
	b.pruneNow()
	ctx, cancel := context.WithTimeout(ctx, bucketTimeout)
	defer cancel()
	return b.store.TakeToken(ctx, key, limit, period)
}

func (b *sharedBuckets) giveBack(ctx context.Context, key string, limit int, period time.Duration) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bucketTimeout)
	defer cancel()
	if err := b.store.ReturnToken(ctx, key, limit, period); err != nil {
		b.warn("Returning a rate limit token failed", err)
	}
}

// pruneNow deletes the full buckets in the background, at most once per pruneInterval per
// instance: full buckets (the refilled ones of unknown client ids and addresses, say) need no row.
func (b *sharedBuckets) pruneNow() {
	last := b.lastPrune.Load()
	now := time.Now().UnixNano()
	if now-last < int64(pruneInterval) || !b.lastPrune.CompareAndSwap(last, now) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n, err := b.store.PruneRateLimits(ctx)
		if err != nil {
			b.warn("Pruning rate limits failed", err)
			return
		}
		b.logger.Debug("Pruned rate limits", "deleted", n)
	}()
}

// warn logs a bucket store failure, at most once per unavailableLogInterval.
func (b *sharedBuckets) warn(msg string, err error) {
	last := b.lastWarning.Load()
	now := time.Now().UnixNano()
	if now-last < int64(unavailableLogInterval) || !b.lastWarning.CompareAndSwap(last, now) {
		return
	}
	b.logger.Warn(msg, "error", err.Error())
}

// bucketState reads a take as a token bucket of limit tokens per period.
type bucketState struct {
	take   schema.Take
	limit  int
	period time.Duration
}

func (s bucketState) every() time.Duration { return s.period / time.Duration(s.limit) }

// remaining is the whole tokens left.
func (s bucketState) remaining() int {
	spent := s.take.FullAt.Sub(s.take.Now)
	return max(0, int(math.Floor(float64(s.period-spent)/float64(s.every()))))
}

// retryAfter is how long until the bucket has a token again.
func (s bucketState) retryAfter() time.Duration { return s.take.RetryAfter(s.limit, s.period) }

// retryAfterHeader is a Retry-After value in whole seconds, at least 1.
func retryAfterHeader(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}

// rateLimiter applies each client's rate_limit_per_minute as a token bucket in the shared
// buckets: the allowance at once, refilled evenly over the minute. It fails open: when the
// bucket store does not answer, the request goes through without X-RateLimit headers and a
// warning is logged, because the limit protects capacity, not secrets (authentication failure
// limits fail closed, see failureLimits).
type rateLimiter struct {
	buckets *sharedBuckets
}

func newRateLimiter(buckets *sharedBuckets) *rateLimiter { return &rateLimiter{buckets: buckets} }

// rateKey names a client's rate limit bucket.
func rateKey(clientID string) string { return "rate:client:" + clientID }

// allow takes a token for the client and sets the X-RateLimit-* headers; a client without a
// limit passes untouched. It returns a 429 *Error when the bucket is empty.
func (l *rateLimiter) allow(c *gin.Context, client Client) error {
	if client.RateLimitPerMinute <= 0 {
		return nil
	}
	ctx := c.Request.Context()
	take, err := l.buckets.take(ctx, rateKey(client.ID), client.RateLimitPerMinute, time.Minute)
	if err != nil {
		if ctx.Err() == nil {
			l.buckets.warn("Rate limits unavailable: requests pass unlimited", err)
		}
		return nil
	}
	state := bucketState{take: take, limit: client.RateLimitPerMinute, period: time.Minute}
	c.Header("X-RateLimit-Limit", strconv.Itoa(state.limit))
	c.Header("X-RateLimit-Remaining", strconv.Itoa(state.remaining()))
	c.Header("X-RateLimit-Reset", strconv.FormatInt(take.FullAt.Unix(), 10))
	if take.Taken {
		return nil
	}
	return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited,
		Message: "rate limit exceeded: " + strconv.Itoa(state.limit) + " requests per minute",
		Header:  map[string]string{"Retry-After": retryAfterHeader(state.retryAfter())}}
}
