-- +goose Up
-- Site integrations and syncs: a client's sites (with the api key a site's plugin presents),
-- the site fields of an integration (WordPress, Shopify, custom), each sync run with its
-- checkpoint, the content store a sync fills, and the sync event log.

CREATE TABLE sites (
    id          text PRIMARY KEY,
    client_id   text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    name        text NOT NULL,
    url         text NOT NULL DEFAULT '',
    -- the key the site's plugin presents (collection test_connection, WordPress callbacks),
    -- sealed (platform.Vault, purpose "site-api-key"); compared in constant time once opened
    api_key     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sites_client ON sites (client_id, created_at DESC, id DESC);

-- An integration with a site is a site integration (platform wordpress, shopify or custom).
ALTER TABLE integrations
    ADD COLUMN site_id       text REFERENCES sites (id) ON DELETE CASCADE,
    -- cms (wordpress), ecommerce (shopify), custom; '' for messaging and webhook platforms
    ADD COLUMN platform_type text NOT NULL DEFAULT '',
    ADD COLUMN sync_enabled  boolean NOT NULL DEFAULT false,
    -- '' (never synced), RUNNING, PAUSED, SUCCESS, ERROR
    ADD COLUMN sync_status   text NOT NULL DEFAULT '',
    ADD COLUMN last_sync_at  timestamptz,
    ADD COLUMN sync_error    text NOT NULL DEFAULT '';
-- One integration per owner, site and platform.
CREATE UNIQUE INDEX integrations_site_platform ON integrations (client_id, site_id, platform)
    WHERE site_id IS NOT NULL;

-- One row per sync run: a Sync workflow and its continuations. One-item and structure
-- updates (SyncContent, SyncStructure) have no row; their sync events carry their workflow
-- run's id. The checkpoint is written in the same transaction as the page it follows, so a
-- run resumed on another worker neither skips nor counts a page twice.
CREATE TABLE sync_runs (
    id             text PRIMARY KEY,
    integration_id text NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    client_id      text NOT NULL,
    workflow_id    text NOT NULL,
    -- metadata, both, to_external, from_external
    direction      text NOT NULL,
    -- api, schedule, callback
    trigger        text NOT NULL DEFAULT 'api',
    -- RUNNING, PAUSED, SUCCESS, ERROR, CANCELED
    status         text NOT NULL,
    -- the request: since, filters, reset
    request        jsonb NOT NULL DEFAULT '{}',
    -- where the run stands: content type, page cursor, pages applied (SyncCheckpoint)
    checkpoint     jsonb NOT NULL DEFAULT '{}',
    pages          integer NOT NULL DEFAULT 0,
    items          integer NOT NULL DEFAULT 0,
    added          integer NOT NULL DEFAULT 0,
    updated        integer NOT NULL DEFAULT 0,
    deleted        integer NOT NULL DEFAULT 0,
    unchanged      integer NOT NULL DEFAULT 0,
    pushed         integer NOT NULL DEFAULT 0,
    failed         integer NOT NULL DEFAULT 0,
    error          text NOT NULL DEFAULT '',
    started_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
CREATE INDEX sync_runs_integration ON sync_runs (integration_id, started_at DESC, id DESC);
-- At most one active (RUNNING or PAUSED) run per integration.
CREATE UNIQUE INDEX sync_runs_active ON sync_runs (integration_id) WHERE status IN ('RUNNING', 'PAUSED');

-- The hub's copy of a site's content.
CREATE TABLE contents (
    id             text PRIMARY KEY,
    integration_id text NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    client_id      text NOT NULL,
    -- '' for content created in the hub and not pushed yet
    external_id    text NOT NULL DEFAULT '',
    -- post, page, product, category, tag, or a custom type
    content_type   text NOT NULL,
    title          text NOT NULL DEFAULT '',
    body           text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT '',
    url            text NOT NULL DEFAULT '',
    -- sha256 of the fields compared (type, title, body, status), hex: the hub's version
    content_hash   text NOT NULL DEFAULT '',
    -- the same hash of the item as the site last held it (pulled or answered to a push): a pull
    -- changes a row only when the site's item changed since, so a hub-side edit not pushed yet
    -- survives a pull of an item the site did not change, and a site that reformats what it
    -- is pushed does not count as a change on the next pull
    site_hash      text NOT NULL DEFAULT '',
    -- changed in the hub since the site last saw it: pushed by to_external
    dirty          boolean NOT NULL DEFAULT false,
    -- the sync run that last saw it at the site (a full pass deletes what it did not see)
    seen_run       text NOT NULL DEFAULT '',
    external_modified_at timestamptz,
    synced_at      timestamptz,
    deleted_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX contents_external ON contents (integration_id, content_type, external_id)
    WHERE external_id <> '';
CREATE INDEX contents_integration ON contents (integration_id, created_at DESC, id DESC);
CREATE INDEX contents_dirty ON contents (integration_id) WHERE dirty;

-- The sync event log (seed 004's SyncEvent): one row per action.
CREATE TABLE sync_events (
    id             bigserial PRIMARY KEY,
    integration_id text NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    client_id      text NOT NULL,
    sync_run_id    text NOT NULL DEFAULT '',
    -- sync, content, metadata, test_connection, webhook
    event_type     text NOT NULL,
    -- started, page, added, updated, deleted, pushed, completed, failed, paused, resumed,
    -- canceled, structure_updated, tested
    action         text NOT NULL,
    success        boolean NOT NULL,
    content_id     text NOT NULL DEFAULT '',
    external_id    text NOT NULL DEFAULT '',
    details        jsonb NOT NULL DEFAULT '{}',
    error_message  text NOT NULL DEFAULT '',
    duration_ms    double precision NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_events_integration ON sync_events (integration_id, id DESC);
-- A run's failures, so an item refused again in the same run is counted once.
CREATE INDEX sync_events_run_failures ON sync_events (sync_run_id, content_id) WHERE NOT success;

-- Syncs and batches are logged like every transaction.
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check,
    ADD CONSTRAINT transactions_kind_check CHECK (kind IN ('proxy', 'operation', 'iso', 'message', 'sync', 'batch'));

-- +goose Down
DELETE FROM transactions WHERE kind IN ('sync', 'batch');
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check,
    ADD CONSTRAINT transactions_kind_check CHECK (kind IN ('proxy', 'operation', 'iso', 'message'));
DROP TABLE sync_events;
DROP TABLE contents;
DROP TABLE sync_runs;
DROP INDEX integrations_site_platform;
ALTER TABLE integrations
    DROP COLUMN site_id, DROP COLUMN platform_type, DROP COLUMN sync_enabled,
    DROP COLUMN sync_status, DROP COLUMN last_sync_at, DROP COLUMN sync_error;
DROP TABLE sites;
