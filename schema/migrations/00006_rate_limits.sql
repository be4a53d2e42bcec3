-- +goose Up
-- Token buckets every API instance shares: client rate limits and authentication failure
-- limits (GCRA: a bucket is one timestamp, the moment it is full again). A row whose full_at
-- has passed says nothing a missing row would not, so such rows are pruned at any time. The
-- table is unlogged: the buckets are short-lived, need no WAL, and starting empty after a crash
-- only forgives what was spent.
CREATE UNLOGGED TABLE rate_limits (
    key     text PRIMARY KEY,
    -- when the bucket holds its whole allowance again
    full_at timestamptz NOT NULL,
    -- whether the last take found a token (what the taking statement reads back)
    taken   boolean NOT NULL
);

CREATE INDEX rate_limits_full_at ON rate_limits (full_at);

-- +goose Down
DROP TABLE rate_limits;
