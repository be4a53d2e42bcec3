-- +goose Up
-- Notification delivery (seed 001's notification module): lookups, the event catalog,
-- templates, the recipient directory and its preferences, event rules and their channels, each
-- emitted event, the outbox of messages, one delivery_log row per attempt, and the in-app inbox.

CREATE TABLE lk_module (
    code text PRIMARY KEY,
    name text NOT NULL
);
-- SMS, EMAIL, IN_APP, PUSH
CREATE TABLE lk_channel (
    code text PRIMARY KEY,
    name text NOT NULL
);
-- QUEUED, SENT, DELIVERED, FAILED, SUPPRESSED
CREATE TABLE lk_status (
    code text PRIMARY KEY,
    name text NOT NULL
);
-- LOW, NORMAL, HIGH, CRITICAL
CREATE TABLE lk_priority (
    code text PRIMARY KEY,
    name text NOT NULL,
    rank integer NOT NULL
);
-- USER, STAFF, CUSTOMER, SYSTEM
CREATE TABLE lk_actor_type (
    code text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE event_catalog (
    code           text PRIMARY KEY,
    module         text NOT NULL REFERENCES lk_module (code),
    name           text NOT NULL,
    description    text NOT NULL DEFAULT '',
    active         boolean NOT NULL DEFAULT true,
    -- a JSON Schema of the payload (optional; checked on emit when set)
    payload_schema jsonb NOT NULL DEFAULT '{}',
    -- written by the demo seed (switchyard seed --reset deletes these only)
    is_demo        boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE template (
    id         text PRIMARY KEY,
    event_code text NOT NULL REFERENCES event_catalog (code) ON DELETE CASCADE,
    channel    text NOT NULL REFERENCES lk_channel (code),
    language   text NOT NULL DEFAULT 'en',
    -- {{placeholder}} names refer to the payload (dotted paths) and to recipient.*
    subject    text NOT NULL DEFAULT '',
    body       text NOT NULL,
    active     boolean NOT NULL DEFAULT true,
    is_demo    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_code, channel, language)
);

-- The people messages go to: an actor type and the owner's user id, their addresses, roles
-- (recipient policy "role") and whether they are on call (policy "on_call", escalations).
CREATE TABLE notification_user (
    actor_type text NOT NULL REFERENCES lk_actor_type (code),
    user_id    text NOT NULL,
    name       text NOT NULL DEFAULT '',
    email      text NOT NULL DEFAULT '',
    phone      text NOT NULL DEFAULT '',
    push_token text NOT NULL DEFAULT '',
    roles      text[] NOT NULL DEFAULT '{}',
    on_call    boolean NOT NULL DEFAULT false,
    active     boolean NOT NULL DEFAULT true,
    is_demo    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor_type, user_id)
);
CREATE INDEX notification_user_roles ON notification_user USING gin (roles);

-- One row per recipient: channels switched on or off ({"SMS": true, "EMAIL": false}; a channel
-- not named is on), language, quiet hours ("22:00" to "07:00") in their time zone.
CREATE TABLE user_preference (
    actor_type        text NOT NULL REFERENCES lk_actor_type (code),
    user_id           text NOT NULL,
    channels          jsonb NOT NULL DEFAULT '{}',
    language          text NOT NULL DEFAULT 'en',
    quiet_hours_start text NOT NULL DEFAULT '',
    quiet_hours_end   text NOT NULL DEFAULT '',
    time_zone         text NOT NULL DEFAULT 'UTC',
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor_type, user_id)
);

CREATE TABLE event_rule (
    id               text PRIMARY KEY,
    event_code       text NOT NULL REFERENCES event_catalog (code) ON DELETE CASCADE,
    name             text NOT NULL,
    -- explicit (recipient_config.users), role (recipient_config.role), payload_user (the
    -- payload's recipient_config.field, default user_id), on_call
    recipient_policy text NOT NULL CHECK (recipient_policy IN ('explicit', 'role', 'payload_user', 'on_call')),
    recipient_config jsonb NOT NULL DEFAULT '{}',
    priority         text NOT NULL DEFAULT 'NORMAL' REFERENCES lk_priority (code),
    max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 50),
    critical         boolean NOT NULL DEFAULT false,
    active           boolean NOT NULL DEFAULT true,
    is_demo          boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_rule_event ON event_rule (event_code) WHERE active;
CREATE INDEX event_rule_list ON event_rule (event_code, id);

CREATE TABLE event_rule_channel (
    rule_id text NOT NULL REFERENCES event_rule (id) ON DELETE CASCADE,
    channel text NOT NULL REFERENCES lk_channel (code),
    PRIMARY KEY (rule_id, channel)
);

-- Each emit: one Notify workflow (notification:<id>); a repeat of the client's idempotency key
-- is the same row.
CREATE TABLE notification_event (
    id              text PRIMARY KEY,
    client_id       text NOT NULL,
    event_code      text NOT NULL,
    payload         jsonb NOT NULL DEFAULT '{}',
    idempotency_key text NOT NULL DEFAULT '',
    workflow_id     text NOT NULL,
    -- processing, queued, suppressed, failed
    disposition     text NOT NULL DEFAULT 'processing',
    reason          text NOT NULL DEFAULT '',
    messages        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX notification_event_key ON notification_event (client_id, idempotency_key)
    WHERE idempotency_key <> '';
CREATE INDEX notification_event_client ON notification_event (client_id, created_at DESC, id DESC);

-- One message to one recipient on one channel; its delivery is a workflow (outbox:<id>) whose
-- state these columns mirror.
CREATE TABLE outbox (
    id                  text PRIMARY KEY,
    notification_id     text NOT NULL REFERENCES notification_event (id) ON DELETE CASCADE,
    client_id           text NOT NULL,
    event_code          text NOT NULL,
    rule_id             text NOT NULL DEFAULT '',
    -- unique per message: notification, rule, recipient and channel
    idempotency_key     text NOT NULL UNIQUE,
    actor_type          text NOT NULL,
    user_id             text NOT NULL,
    channel             text NOT NULL REFERENCES lk_channel (code),
    -- the phone number, e-mail address or push token used
    recipient_address   text NOT NULL DEFAULT '',
    language            text NOT NULL DEFAULT 'en',
    subject             text NOT NULL DEFAULT '',
    body                text NOT NULL DEFAULT '',
    priority            text NOT NULL DEFAULT 'NORMAL',
    status              text NOT NULL DEFAULT 'QUEUED' REFERENCES lk_status (code),
    attempt_count       integer NOT NULL DEFAULT 0,
    max_attempts        integer NOT NULL DEFAULT 3,
    next_attempt_at     timestamptz,
    final               boolean NOT NULL DEFAULT false,
    critical            boolean NOT NULL DEFAULT false,
    escalation_required boolean NOT NULL DEFAULT false,
    provider            text NOT NULL DEFAULT '',
    provider_message_id text NOT NULL DEFAULT '',
    error               text NOT NULL DEFAULT '',
    workflow_id         text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz
);
CREATE INDEX outbox_client ON outbox (client_id, created_at DESC, id DESC);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE NOT final;
CREATE INDEX outbox_notification ON outbox (notification_id);

CREATE TABLE delivery_log (
    id                  bigserial PRIMARY KEY,
    outbox_id           text NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    attempt             integer NOT NULL,
    provider            text NOT NULL DEFAULT '',
    provider_message_id text NOT NULL DEFAULT '',
    -- SENT, DELIVERED, FAILED
    status              text NOT NULL,
    error               text NOT NULL DEFAULT '',
    latency_ms          double precision NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_log_outbox ON delivery_log (outbox_id, id);
-- an attempt is logged once, however often its activity runs
CREATE UNIQUE INDEX delivery_log_attempt ON delivery_log (outbox_id, attempt);

CREATE TABLE in_app_message (
    id         text PRIMARY KEY,
    outbox_id  text NOT NULL UNIQUE REFERENCES outbox (id) ON DELETE CASCADE,
    client_id  text NOT NULL,
    actor_type text NOT NULL,
    user_id    text NOT NULL,
    title      text NOT NULL DEFAULT '',
    body       text NOT NULL DEFAULT '',
    read_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX in_app_message_user ON in_app_message (client_id, user_id, created_at DESC, id DESC);

-- The codes the hub's code relies on (outbox statuses, channels it delivers on, priorities the
-- rules name); the demo seed writes the same rows again and adds nothing the code needs.
INSERT INTO lk_module (code, name) VALUES ('IDENTITY', 'Identity'), ('PAYMENTS', 'Payments'),
    ('SWITCHYARD', 'Switchyard'), ('SYNC', 'Content sync');
INSERT INTO lk_channel (code, name) VALUES ('SMS', 'SMS'), ('EMAIL', 'E-mail'), ('IN_APP', 'In-app'),
    ('PUSH', 'Push');
INSERT INTO lk_status (code, name) VALUES ('QUEUED', 'Queued'), ('SENT', 'Sent'), ('DELIVERED', 'Delivered'),
    ('FAILED', 'Failed'), ('SUPPRESSED', 'Suppressed');
INSERT INTO lk_priority (code, name, rank) VALUES ('LOW', 'Low', 10), ('NORMAL', 'Normal', 20), ('HIGH', 'High', 30),
    ('CRITICAL', 'Critical', 40);
INSERT INTO lk_actor_type (code, name) VALUES ('USER', 'User'), ('STAFF', 'Staff'), ('CUSTOMER', 'Customer'),
    ('SYSTEM', 'System');

ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check,
    ADD CONSTRAINT transactions_kind_check CHECK (kind IN ('proxy', 'operation', 'iso', 'message', 'sync', 'batch',
        'notification', 'outbox'));

-- +goose Down
DELETE FROM transactions WHERE kind IN ('notification', 'outbox');
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check,
    ADD CONSTRAINT transactions_kind_check CHECK (kind IN ('proxy', 'operation', 'iso', 'message', 'sync', 'batch'));
DROP TABLE in_app_message;
DROP TABLE delivery_log;
DROP TABLE outbox;
DROP TABLE notification_event;
DROP TABLE event_rule_channel;
DROP TABLE event_rule;
DROP TABLE user_preference;
DROP TABLE notification_user;
DROP TABLE template;
DROP TABLE event_catalog;
DROP TABLE lk_actor_type;
DROP TABLE lk_priority;
DROP TABLE lk_status;
DROP TABLE lk_channel;
DROP TABLE lk_module;
