-- +goose Up
-- A card transfer keeps its STAN and transmission time (DE 7) with its RRN, allocated once per
-- correlation id: a worker that replays a transfer from its start sends the 0200 it sent
-- before, field for field, so a switch that detects duplicates by STAN and DE 7 sees a repeat.

ALTER TABLE iso_transfer_rrns ADD COLUMN stan bigint, ADD COLUMN transmission text;

-- +goose Down
ALTER TABLE iso_transfer_rrns DROP COLUMN stan, DROP COLUMN transmission;
