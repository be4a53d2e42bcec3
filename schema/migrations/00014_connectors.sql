-- +goose Up
-- The ERP connector's integration: one per client, made by the hub on the client's first
-- POST /api/v1/connectors/erp/sync (platform erp, no site, no credentials of its own: the
-- worker's ERP_* configuration holds them).
CREATE UNIQUE INDEX integrations_connector ON integrations (client_id, platform)
    WHERE site_id IS NULL AND platform = 'erp';

-- A connector's status counts the client's operations through it over the last day.
CREATE INDEX transactions_client_channel_idx ON transactions (client_id, channel_name, created_at)
    WHERE kind = 'operation';

-- +goose Down
DROP INDEX transactions_client_channel_idx;
DROP INDEX integrations_connector;
