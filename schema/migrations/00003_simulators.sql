-- +goose Up
-- State of the provider simulators (core banking, billers): demo and test data, never real.

CREATE TABLE sim_banks (
    bank_code  text PRIMARY KEY,
    name       text NOT NULL,
    swift_code text NOT NULL
);

CREATE TABLE sim_customers (
    customer_id text PRIMARY KEY,
    full_name   text NOT NULL,
    phone       text NOT NULL,
    email       text NOT NULL,
    national_id text NOT NULL,
    kyc_status  text NOT NULL DEFAULT 'verified',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sim_customers_phone_idx ON sim_customers (phone);

CREATE TABLE sim_accounts (
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

CREATE INDEX sim_accounts_customer_idx ON sim_accounts (customer_id);

CREATE TABLE sim_transactions (
    id             bigserial PRIMARY KEY,
    account_number text NOT NULL REFERENCES sim_accounts (account_number) ON DELETE CASCADE,
    reference      text NOT NULL,
    direction      text NOT NULL CHECK (direction IN ('D', 'C')),
    amount         numeric(18, 2) NOT NULL,
    balance_after  numeric(18, 2) NOT NULL,
    narration      text NOT NULL,
    posted_at      timestamptz NOT NULL
);

CREATE INDEX sim_transactions_account_idx ON sim_transactions (account_number, posted_at DESC, id DESC);

CREATE TABLE sim_billers (
    biller_id text PRIMARY KEY,
    category  text NOT NULL,
    name      text NOT NULL,
    packages  jsonb NOT NULL DEFAULT '[]'
);

CREATE INDEX sim_billers_category_idx ON sim_billers (category);

-- +goose Down
DROP TABLE sim_billers;
DROP TABLE sim_transactions;
DROP TABLE sim_accounts;
DROP TABLE sim_customers;
DROP TABLE sim_banks;
