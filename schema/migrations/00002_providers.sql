-- +goose Up
-- Provider operations share the transaction log (and its status endpoint) with proxied
-- requests; every provider attempt is audited.

ALTER TABLE transactions
    ADD COLUMN kind text NOT NULL DEFAULT 'proxy' CHECK (kind IN ('proxy', 'operation')),
    ADD COLUMN operation text NOT NULL DEFAULT '';

CREATE INDEX transactions_operation_idx ON transactions (operation, created_at DESC) WHERE kind = 'operation';

CREATE TABLE provider_audit (
    id             bigserial PRIMARY KEY,
    correlation_id uuid,
    issuer         text NOT NULL,
    operation      text NOT NULL,
    method         text NOT NULL,
    host           text NOT NULL,
    path           text NOT NULL,
    status         integer,
    outcome        text NOT NULL,
    latency_ms     double precision NOT NULL,
    attempt        integer NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX provider_audit_correlation_idx ON provider_audit (correlation_id);
CREATE INDEX provider_audit_issuer_idx ON provider_audit (issuer, created_at DESC);

-- +goose Down
DROP TABLE provider_audit;
ALTER TABLE transactions DROP COLUMN operation, DROP COLUMN kind;
