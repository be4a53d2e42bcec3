-- +goose Up
-- Every transaction records the ID of its workflow (runs before this change read under the ID
-- their kind implies), masking is recorded apart from truncation, and RRNs come from a sequence.

ALTER TABLE transactions
    ADD COLUMN workflow_id text NOT NULL DEFAULT '',
    ADD COLUMN request_fingerprint text NOT NULL DEFAULT '',
    ADD COLUMN request_body_masked boolean NOT NULL DEFAULT false,
    ADD COLUMN response_body_masked boolean NOT NULL DEFAULT false;

CREATE SEQUENCE iso_rrn AS bigint MINVALUE 1 MAXVALUE 999999999999 CYCLE;

-- A card transfer's RRN, allocated once per correlation id: a worker that replays the transfer
-- from the start (its first task never completed) finds the RRN its 0200 already carried.
CREATE TABLE iso_transfer_rrns (
    correlation_id text PRIMARY KEY,
    rrn            text NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE iso_transfer_rrns;
DROP SEQUENCE iso_rrn;
ALTER TABLE transactions DROP COLUMN workflow_id, DROP COLUMN request_fingerprint, DROP COLUMN request_body_masked,
    DROP COLUMN response_body_masked;
