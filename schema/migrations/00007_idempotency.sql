-- +goose Up
-- The request fingerprint behind an Idempotency-Key, so a reused key is refused after the run
-- is gone from Temporal; and a card transfer's RRN, allocated once per correlation id: a worker
-- that replays a transfer from its start (its first task never completed) finds the RRN its
-- 0200 already carried. (IF NOT EXISTS: development databases may have them already.)

ALTER TABLE transactions ADD COLUMN IF NOT EXISTS request_fingerprint text NOT NULL DEFAULT '';

CREATE TABLE IF NOT EXISTS iso_transfer_rrns (
    correlation_id text PRIMARY KEY,
    rrn            text NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE iso_transfer_rrns;
ALTER TABLE transactions DROP COLUMN request_fingerprint;
