-- +goose Up
-- ISO 8583: STANs unique per terminal per day across restarts and workers; card transfers in
-- the transaction log. (The switch simulator's posted transfers, once created here too, are
-- the simulators' own: sim/migrations.)

CREATE TABLE iso_stan (
    terminal_id text NOT NULL,
    day         date NOT NULL,
    value       integer NOT NULL CHECK (value BETWEEN 1 AND 999999),
    PRIMARY KEY (terminal_id, day)
);

ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check,
    ADD CONSTRAINT transactions_kind_check CHECK (kind IN ('proxy', 'operation', 'iso'));
ALTER TABLE transactions DROP CONSTRAINT transactions_status_check,
    ADD CONSTRAINT transactions_status_check CHECK (status IN
        ('pending', 'processing', 'successful', 'failed', 'escalated', 'resolved', 'reversed'));

-- +goose Down
ALTER TABLE transactions DROP CONSTRAINT transactions_status_check,
    ADD CONSTRAINT transactions_status_check CHECK (status IN
        ('pending', 'processing', 'successful', 'failed', 'escalated', 'resolved'));
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check,
    ADD CONSTRAINT transactions_kind_check CHECK (kind IN ('proxy', 'operation'));
DROP TABLE iso_stan;
