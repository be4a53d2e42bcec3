-- +goose Up
-- Rerun tasks (OpenHIM's rerun tasks): one row per bulk rerun, its frozen filter, pace and
-- counts; and channels' automatic rerun of failed transactions.

CREATE TABLE rerun_tasks (
    id            uuid PRIMARY KEY,
    workflow_id   text NOT NULL UNIQUE,
    -- The filter as given (status, client_id, channel_id, from, to, ids): the set is every
    -- matching transaction created up to created_at.
    filter        jsonb NOT NULL,
    rate          double precision NOT NULL CHECK (rate > 0),
    max_items     integer NOT NULL CHECK (max_items > 0),
    status        text NOT NULL CHECK (status IN ('running', 'paused', 'completed', 'canceled', 'failed')),
    total         integer NOT NULL DEFAULT 0,
    done          integer NOT NULL DEFAULT 0,
    started       integer NOT NULL DEFAULT 0,
    skipped       integer NOT NULL DEFAULT 0,
    failed        integer NOT NULL DEFAULT 0,
    note          text NOT NULL DEFAULT '',
    created_by    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
CREATE INDEX rerun_tasks_created_idx ON rerun_tasks (created_at DESC, id DESC);

-- A failed transaction of a channel with auto_retry_max > 0 is rerun after
-- auto_retry_interval_ms, at most auto_retry_max times along its chain of parents.
ALTER TABLE channels
    ADD COLUMN auto_retry_interval_ms integer NOT NULL DEFAULT 0 CHECK (auto_retry_interval_ms >= 0),
    ADD COLUMN auto_retry_max integer NOT NULL DEFAULT 0 CHECK (auto_retry_max >= 0);

-- Bulk reruns page through a time window in (created_at, correlation_id) order.
CREATE INDEX transactions_created_idx ON transactions (created_at, correlation_id);

-- +goose Down
DROP INDEX transactions_created_idx;
ALTER TABLE channels DROP COLUMN auto_retry_interval_ms, DROP COLUMN auto_retry_max;
DROP TABLE rerun_tasks;
