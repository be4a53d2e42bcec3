-- +goose Up
-- Integrations (a tenant's link to an external platform, credentials sealed), the inbound
-- webhooks they receive, the events the hub emits from them, the subscriptions those events are
-- delivered to, and every delivery and attempt.

CREATE TABLE integrations (
    id          text PRIMARY KEY,
    client_id   text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    name        text NOT NULL,
    platform    text NOT NULL,
    -- platform.Credentials as JSON, sealed (seal.Box, purpose "integration-credentials").
    credentials text NOT NULL,
    config      jsonb NOT NULL DEFAULT '{}',
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX integrations_client ON integrations (client_id, created_at);

CREATE TABLE webhook_events (
    id             text PRIMARY KEY,
    integration_id text NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    client_id      text NOT NULL,
    platform       text NOT NULL,
    delivery_id    text NOT NULL,
    event_type     text NOT NULL DEFAULT '',
    workflow_id    text NOT NULL,
    -- headers minus signatures, tokens and cookies
    headers        jsonb NOT NULL DEFAULT '{}',
    body           bytea NOT NULL,
    -- received, processed, partial (some items failed), failed
    status         text NOT NULL DEFAULT 'received',
    messages       integer NOT NULL DEFAULT 0,
    failed         integer NOT NULL DEFAULT 0,
    error          text NOT NULL DEFAULT '',
    received_at    timestamptz NOT NULL DEFAULT now(),
    processed_at   timestamptz,
    UNIQUE (integration_id, delivery_id)
);
CREATE INDEX webhook_events_client_received ON webhook_events (client_id, received_at);

-- What the hub emits: integration.message.received / .event.received / .message.sent /
-- .message.failed. The id is the webhook-id subscribers see, the same on every attempt.
CREATE TABLE events (
    id               text PRIMARY KEY,
    client_id        text NOT NULL,
    type             text NOT NULL,
    integration_id   text NOT NULL DEFAULT '',
    webhook_event_id text REFERENCES webhook_events (id) ON DELETE CASCADE,
    ordering_key     text NOT NULL DEFAULT '',
    payload          jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_client_created ON events (client_id, created_at);
CREATE INDEX events_webhook_event ON events (webhook_event_id);

CREATE TABLE subscriptions (
    id                   text PRIMARY KEY,
    client_id            text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    url                  text NOT NULL,
    event_types          text[] NOT NULL,
    description          text NOT NULL DEFAULT '',
    -- the Standard Webhooks signing secret, sealed (purpose "subscription-secret")
    secret               text NOT NULL,
    is_active            boolean NOT NULL DEFAULT true,
    disabled_reason      text NOT NULL DEFAULT '',
    consecutive_failures integer NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_client ON subscriptions (client_id);

CREATE TABLE deliveries (
    event_id        text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    subscription_id text NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    workflow_id     text NOT NULL,
    -- pending, delivered, failed
    status          text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    last_status     integer,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    PRIMARY KEY (event_id, subscription_id)
);

CREATE TABLE delivery_attempts (
    id              bigserial PRIMARY KEY,
    event_id        text NOT NULL,
    subscription_id text NOT NULL,
    workflow_id     text NOT NULL,
    attempt         integer NOT NULL,
    status_code     integer,
    latency_ms      double precision NOT NULL,
    error           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (event_id, subscription_id) REFERENCES deliveries (event_id, subscription_id) ON DELETE CASCADE
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (event_id, subscription_id, id);

-- Messages sent through an integration are logged like every transaction.
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check,
    ADD CONSTRAINT transactions_kind_check CHECK (kind IN ('proxy', 'operation', 'iso', 'message'));

-- +goose Down
DELETE FROM transactions WHERE kind = 'message';
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check,
    ADD CONSTRAINT transactions_kind_check CHECK (kind IN ('proxy', 'operation', 'iso'));
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE subscriptions;
DROP TABLE events;
DROP TABLE webhook_events;
DROP TABLE integrations;
