-- +goose Up
-- The mediator: who may call (clients), where requests go (mediators), how a request is
-- matched (channels), and what happened to each one (transactions).

CREATE TABLE clients (
    client_id             text PRIMARY KEY CHECK (client_id ~ '^[A-Za-z0-9._:@-]{1,128}$'),
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    secret_hash           text NOT NULL,
    allowed_ips           text[] NOT NULL DEFAULT '{}',
    permissions           text[] NOT NULL DEFAULT '{}',
    roles                 text[] NOT NULL DEFAULT '{}',
    rate_limit_per_minute integer NOT NULL DEFAULT 0 CHECK (rate_limit_per_minute >= 0),
    is_active             boolean NOT NULL DEFAULT true,
    is_demo               boolean NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mediators (
    urn            text PRIMARY KEY CHECK (length(urn) BETWEEN 1 AND 200),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    version        text NOT NULL DEFAULT '',
    endpoint_url   text NOT NULL,
    is_online      boolean NOT NULL DEFAULT true,
    last_heartbeat timestamptz,
    is_demo        boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE channels (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                      text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    description               text NOT NULL DEFAULT '',
    path_pattern              text NOT NULL,
    methods                   text[] NOT NULL,
    priority                  integer NOT NULL DEFAULT 0,
    requires_request_body     boolean NOT NULL DEFAULT false,
    request_content_type      text NOT NULL DEFAULT '',
    request_body_example      text NOT NULL DEFAULT '',
    channel_type              text NOT NULL DEFAULT 'http',
    kind                      text NOT NULL DEFAULT 'http' CHECK (kind IN ('http', 'iso8583', 'esb')),
    mediator_urn              text NOT NULL REFERENCES mediators (urn) ON UPDATE CASCADE,
    timeout_ms                integer NOT NULL DEFAULT 0 CHECK (timeout_ms >= 0),
    retry_max_attempts        integer NOT NULL DEFAULT 3 CHECK (retry_max_attempts >= 1),
    retry_initial_interval_ms integer NOT NULL DEFAULT 1000 CHECK (retry_initial_interval_ms >= 0),
    retry_backoff_coefficient double precision NOT NULL DEFAULT 2 CHECK (retry_backoff_coefficient >= 1),
    retry_max_interval_ms     integer NOT NULL DEFAULT 30000 CHECK (retry_max_interval_ms >= 0),
    honours_idempotency_key   boolean NOT NULL DEFAULT false,
    escalate_on_failure       boolean NOT NULL DEFAULT false,
    allowed_clients           text[] NOT NULL DEFAULT '{}',
    allowed_roles             text[] NOT NULL DEFAULT '{}',
    is_active                 boolean NOT NULL DEFAULT true,
    is_demo                   boolean NOT NULL DEFAULT false,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX channels_mediator_idx ON channels (mediator_urn);

CREATE TABLE transactions (
    correlation_id          uuid PRIMARY KEY,
    parent_id               uuid REFERENCES transactions (correlation_id) ON DELETE SET NULL,
    workflow_run_id         text NOT NULL DEFAULT '',
    client_id               text NOT NULL,
    channel_id              uuid,
    channel_name            text NOT NULL DEFAULT '',
    method                  text NOT NULL,
    path                    text NOT NULL,
    query                   text NOT NULL DEFAULT '',
    request_headers         jsonb NOT NULL DEFAULT '{}',
    request_body            bytea,
    request_body_size       integer NOT NULL DEFAULT 0,
    request_body_truncated  boolean NOT NULL DEFAULT false,
    response_status         integer,
    response_headers        jsonb,
    response_body           bytea,
    response_body_size      integer NOT NULL DEFAULT 0,
    response_body_truncated boolean NOT NULL DEFAULT false,
    status                  text NOT NULL CHECK (status IN
                                ('pending', 'processing', 'successful', 'failed', 'escalated', 'resolved')),
    attempts                integer NOT NULL DEFAULT 0,
    error                   text NOT NULL DEFAULT '',
    error_code              text NOT NULL DEFAULT '',
    resolution_note         text NOT NULL DEFAULT '',
    is_demo                 boolean NOT NULL DEFAULT false,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    completed_at            timestamptz
);

CREATE INDEX transactions_client_idx ON transactions (client_id, created_at DESC);
CREATE INDEX transactions_status_idx ON transactions (status, created_at DESC);
CREATE INDEX transactions_parent_idx ON transactions (parent_id) WHERE parent_id IS NOT NULL;

-- +goose Down
DROP TABLE transactions;
DROP TABLE channels;
DROP TABLE mediators;
DROP TABLE clients;
