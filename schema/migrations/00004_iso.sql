-- +goose Up
-- ISO 8583: STANs unique per terminal per day across restarts and workers; card transfers in
-- the transaction log; the switch simulator's posted transfers.

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

CREATE TABLE sim_iso_transfers (
    terminal_id   text NOT NULL,
    rrn           text NOT NULL,
    stan          integer NOT NULL,
    from_account  text NOT NULL,
    to_account    text NOT NULL,
    amount        numeric(18, 2) NOT NULL,
    response_code text NOT NULL,
    auth_code     text NOT NULL DEFAULT '',
    status        text NOT NULL CHECK (status IN ('approved', 'declined', 'reversed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    reversed_at   timestamptz,
    PRIMARY KEY (terminal_id, rrn)
);

-- +goose Down
DROP TABLE sim_iso_transfers;
ALTER TABLE transactions DROP CONSTRAINT transactions_status_check,
    ADD CONSTRAINT transactions_status_check CHECK (status IN
        ('pending', 'processing', 'successful', 'failed', 'escalated', 'resolved'));
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check,
    ADD CONSTRAINT transactions_kind_check CHECK (kind IN ('proxy', 'operation'));
DROP TABLE iso_stan;
