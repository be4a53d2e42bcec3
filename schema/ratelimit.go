package schema

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Token buckets shared by every process that uses the database (table rate_limits): a bucket
// holds limit tokens, refilled evenly over period, and is kept as one timestamp, the moment it
// is full again (the generic cell rate algorithm). Times come from the database's clock, so
// instances whose clocks disagree still share one bucket.

// Take is the outcome of TakeToken.
type Take struct {
	// Taken says whether the bucket had a token.
	Taken bool `db:"taken"`
	// FullAt is when the bucket holds its whole allowance again.
	FullAt time.Time `db:"full_at"`
	// Now is the database's clock when the token was taken (or refused).
	Now time.Time `db:"now"`
}

// RetryAfter is how long after the take the bucket (limit tokens refilled over period) has a
// token again.
func (t Take) RetryAfter(limit int, period time.Duration) time.Duration {
	every := period / time.Duration(limit)
	return t.FullAt.Add(every - period).Sub(t.Now)
}

// ErrInvalidBucket means a bucket's limit or period cannot make a token bucket.
var ErrInvalidBucket = errors.New("a bucket needs a positive limit and a period of at least one microsecond per token")

// emission is the time one token takes to come back.
func emission(limit int, period time.Duration) (time.Duration, error) {
	if limit <= 0 || period/time.Duration(limit) < time.Microsecond {
		return 0, fmt.Errorf("%d per %s: %w", limit, period, ErrInvalidBucket)
	}
	return period / time.Duration(limit), nil
}

// TakeToken takes one token from the bucket named key, which holds limit tokens refilled evenly
// over period (a missing bucket is full). One statement, atomic across processes; a refused take
// spends nothing.
func (s *Store) TakeToken(ctx context.Context, key string, limit int, period time.Duration) (Take, error) {
	every, err := emission(limit, period)
	if err != nil {
		return Take{}, err
	}
	// Taking a token moves full_at one emission interval later (from now, when the bucket is
	// full); the take is allowed while full_at stays within one period of now.
	var t Take
	err = s.db.GetContext(ctx, &t, `INSERT INTO rate_limits AS b (key, full_at, taken)
		VALUES ($1, now() + $2::bigint * interval '1 microsecond', true)
		ON CONFLICT (key) DO UPDATE SET
			taken = greatest(b.full_at, now()) + $2::bigint * interval '1 microsecond'
				<= now() + $3::bigint * interval '1 microsecond',
			full_at = CASE
				WHEN greatest(b.full_at, now()) + $2::bigint * interval '1 microsecond'
					<= now() + $3::bigint * interval '1 microsecond'
				THEN greatest(b.full_at, now()) + $2::bigint * interval '1 microsecond'
				ELSE b.full_at END
		RETURNING taken, full_at, now() AS now`, key, every.Microseconds(), period.Microseconds())
	return t, translate(err, "taking a token")
}

// ReturnToken gives back a token taken from the bucket named key with the same limit and period
// (an attempt that turned out not to count).
func (s *Store) ReturnToken(ctx context.Context, key string, limit int, period time.Duration) error {
	every, err := emission(limit, period)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `UPDATE rate_limits SET full_at = full_at - $2::bigint * interval '1 microsecond'
		WHERE key = $1`, key, every.Microseconds())
	return translate(err, "returning a token")
}

// PruneRateLimits deletes the buckets that are full again (a full bucket and a missing one are
// the same) and returns how many it deleted.
func (s *Store) PruneRateLimits(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM rate_limits WHERE full_at <= now()`)
	if err != nil {
		return 0, translate(err, "pruning rate limits")
	}
	return res.RowsAffected()
}
