-- +goose Up
-- The simulators' state: the core banking system, billers and the switch simulator's posted
-- transfers. Demo and test data, never real. Databases migrated before the simulators owned
-- their schema already have these tables (from the hub's migrations 3 and 4): IF NOT EXISTS
-- keeps them, data and all.

CREATE TABLE IF NOT EXISTS sim_banks (
    bank_code  text PRIMARY KEY,
    name       text NOT NULL,
    swift_code text NOT NULL
);

CREATE TABLE IF NOT EXISTS sim_customers (
    customer_id text PRIMARY KEY,
    full_name   text NOT NULL,
    phone       text NOT NULL,
    email       text NOT NULL,
    national_id text NOT NULL,
    kyc_status  text NOT NULL DEFAULT 'verified',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS sim_customers_phone_idx ON sim_customers (phone);

CREATE TABLE IF NOT EXISTS sim_accounts (
    account_number    text PRIMARY KEY,
    bank_code         text NOT NULL REFERENCES sim_banks (bank_code),
    customer_id       text REFERENCES sim_customers (customer_id),
    account_name      text NOT NULL,
    currency          text NOT NULL,
    balance           numeric(18, 2) NOT NULL,
    available_balance numeric(18, 2) NOT NULL,
    status            text NOT NULL CHECK (status IN ('active', 'dormant', 'closed')),
    product           text NOT NULL,
    branch            text NOT NULL,
    opened_at         timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS sim_accounts_customer_idx ON sim_accounts (customer_id);

CREATE TABLE IF NOT EXISTS sim_transactions (
    id             bigserial PRIMARY KEY,
    account_number text NOT NULL REFERENCES sim_accounts (account_number) ON DELETE CASCADE,
    reference      text NOT NULL,
    direction      text NOT NULL CHECK (direction IN ('D', 'C')),
    amount         numeric(18, 2) NOT NULL,
    balance_after  numeric(18, 2) NOT NULL,
    narration      text NOT NULL,
    posted_at      timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS sim_transactions_account_idx ON sim_transactions (account_number, posted_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS sim_billers (
    biller_id text PRIMARY KEY,
    category  text NOT NULL,
    name      text NOT NULL,
    packages  jsonb NOT NULL DEFAULT '[]'
);

CREATE INDEX IF NOT EXISTS sim_billers_category_idx ON sim_billers (category);

CREATE TABLE IF NOT EXISTS sim_iso_transfers (
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
DROP TABLE IF EXISTS sim_iso_transfers;
DROP TABLE IF EXISTS sim_billers;
DROP TABLE IF EXISTS sim_transactions;
DROP TABLE IF EXISTS sim_accounts;
DROP TABLE IF EXISTS sim_customers;
DROP TABLE IF EXISTS sim_banks;
