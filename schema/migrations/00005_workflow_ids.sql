-- +goose Up
-- Every transaction records the ID of its workflow (runs before this change read under the ID
-- their kind implies), masking is recorded apart from truncation, and RRNs come from a sequence.

ALTER TABLE transactions
    ADD COLUMN workflow_id text NOT NULL DEFAULT '',
    ADD COLUMN request_body_masked boolean NOT NULL DEFAULT false,
    ADD COLUMN response_body_masked boolean NOT NULL DEFAULT false;

CREATE SEQUENCE iso_rrn AS bigint MINVALUE 1 MAXVALUE 999999999999 CYCLE;

-- +goose Down
DROP SEQUENCE iso_rrn;
ALTER TABLE transactions DROP COLUMN workflow_id, DROP COLUMN request_body_masked,
    DROP COLUMN response_body_masked;
