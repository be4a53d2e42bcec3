package schema_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/schema"
)

func TestTokenBuckets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)

	t.Run("a bucket gives its allowance at once, then refuses without spending", func(t *testing.T) {
		t.Parallel()
		key := "test:" + uuid.NewString()
		var last schema.Take
		for i := range 3 {
			take, err := s.TakeToken(ctx, key, 3, time.Hour)
			require.NoError(t, err)
			require.True(t, take.Taken, "take %d", i)
			require.WithinDuration(t, take.Now.Add(time.Duration(i+1)*20*time.Minute), take.FullAt, time.Second,
				"each token moves the full time one emission interval (20 minutes) later")
			last = take
		}
		refused, err := s.TakeToken(ctx, key, 3, time.Hour)
		require.NoError(t, err)
		require.False(t, refused.Taken)
		require.Equal(t, last.FullAt, refused.FullAt, "a refused take spends nothing")
	})

	t.Run("tokens come back evenly over the period", func(t *testing.T) {
		t.Parallel()
		key := "test:" + uuid.NewString()
		for range 2 {
			take, err := s.TakeToken(ctx, key, 2, 400*time.Millisecond)
			require.NoError(t, err)
			require.True(t, take.Taken)
		}
		take, err := s.TakeToken(ctx, key, 2, 400*time.Millisecond)
		require.NoError(t, err)
		require.False(t, take.Taken)
		require.Eventually(t, func() bool {
			take, err := s.TakeToken(ctx, key, 2, 400*time.Millisecond)
			require.NoError(t, err)
			return take.Taken
		}, 2*time.Second, 20*time.Millisecond, "one token is back after 200 ms")
	})

	t.Run("a returned token can be taken again", func(t *testing.T) {
		t.Parallel()
		key := "test:" + uuid.NewString()
		take, err := s.TakeToken(ctx, key, 1, time.Hour)
		require.NoError(t, err)
		require.True(t, take.Taken)
		take, err = s.TakeToken(ctx, key, 1, time.Hour)
		require.NoError(t, err)
		require.False(t, take.Taken)
		require.NoError(t, s.ReturnToken(ctx, key, 1, time.Hour))
		take, err = s.TakeToken(ctx, key, 1, time.Hour)
		require.NoError(t, err)
		require.True(t, take.Taken)
	})

	t.Run("processes sharing the database share the bucket", func(t *testing.T) {
		t.Parallel()
		key := "test:" + uuid.NewString()
		other := openStore(t) // another connection pool, as another API instance has
		var taken atomic.Int32
		var wg sync.WaitGroup
		for i := range 24 {
			store := s
			if i%2 == 1 {
				store = other
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				take, err := store.TakeToken(ctx, key, 10, time.Hour)
				if err == nil && take.Taken {
					taken.Add(1)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(10), taken.Load())
	})

	t.Run("pruning deletes only buckets that are full again", func(t *testing.T) {
		t.Parallel()
		spent, refilled := "test:"+uuid.NewString(), "test:"+uuid.NewString()
		_, err := s.TakeToken(ctx, spent, 1, time.Hour)
		require.NoError(t, err)
		_, err = s.TakeToken(ctx, refilled, 1, 10*time.Millisecond)
		require.NoError(t, err)
		time.Sleep(20 * time.Millisecond)
		pruned, err := s.PruneRateLimits(ctx)
		require.NoError(t, err)
		require.GreaterOrEqual(t, pruned, int64(1))
		var keys []string
		require.NoError(t, s.DB().SelectContext(ctx, &keys, `SELECT key FROM rate_limits WHERE key IN ($1, $2)`,
			spent, refilled))
		require.Equal(t, []string{spent}, keys)
	})

	t.Run("a bucket without tokens is refused", func(t *testing.T) {
		t.Parallel()
		_, err := s.TakeToken(ctx, "test:bad", 0, time.Minute)
		require.ErrorIs(t, err, schema.ErrInvalidBucket)
		_, err = s.TakeToken(ctx, "test:bad", 10000, time.Millisecond)
		require.ErrorIs(t, err, schema.ErrInvalidBucket)
		require.ErrorIs(t, s.ReturnToken(ctx, "test:bad", -1, time.Minute), schema.ErrInvalidBucket)
	})
}
