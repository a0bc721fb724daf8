"""Tables of the loans context, in the ledger's database (one DDL for SQLite and PostgreSQL).

Balances live only in the ledger (each loan's own accounts); these tables hold the products,
each loan's decision, schedule and ledger account ids, and the per-day and per-installment
records whose primary keys make accrual and penalties idempotent even if the code were not.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS loan_products (
    id            BIGINT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    currency      TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS loan_operator_accounts (
    currency   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    account_id BIGINT NOT NULL UNIQUE,
    PRIMARY KEY (currency, kind)
);
CREATE TABLE IF NOT EXISTS loan_applications (
    loan_id        BIGINT PRIMARY KEY,
    features       TEXT NOT NULL,
    model_version  TEXT,
    default_bps    INTEGER CHECK (default_bps BETWEEN 0 AND 10000),
    score          INTEGER CHECK (score BETWEEN 300 AND 850),
    score_reasons  TEXT,
    CHECK ((model_version IS NULL) = (default_bps IS NULL))
);
CREATE TABLE IF NOT EXISTS loans (
    id                 BIGINT PRIMARY KEY,
    party_id           BIGINT NOT NULL,
    product_id         BIGINT NOT NULL REFERENCES loan_products (id),
    currency           TEXT NOT NULL,
    amount             BIGINT NOT NULL CHECK (amount > 0),
    term               INTEGER NOT NULL CHECK (term > 0),
    status             TEXT NOT NULL CHECK (status IN
                           ('declined', 'approved', 'active', 'repaid', 'written_off')),
    reasons            TEXT NOT NULL,
    default_bps        INTEGER,
    wallet_id          BIGINT NOT NULL,
    fee                BIGINT NOT NULL CHECK (fee >= 0),
    disbursed_day      INTEGER,
    schedule           TEXT NOT NULL,
    accrued_through    INTEGER,
    days_past_due      INTEGER NOT NULL CHECK (days_past_due >= 0),
    stage              INTEGER NOT NULL CHECK (stage BETWEEN 1 AND 3),
    principal_account  BIGINT,
    interest_account   BIGINT,
    penalty_account    BIGINT,
    allowance_account  BIGINT,
    written_off        BIGINT NOT NULL CHECK (written_off >= 0),
    created_at_ns      BIGINT NOT NULL,
    updated_at_ns      BIGINT NOT NULL,
    CHECK (status IN ('declined', 'approved') OR disbursed_day IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS loans_party ON loans (party_id, id);
CREATE INDEX IF NOT EXISTS loans_status ON loans (status, id);
CREATE TABLE IF NOT EXISTS loan_accruals (
    loan_id     BIGINT NOT NULL,
    day         INTEGER NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount >= 0),
    transfer_id BIGINT,
    PRIMARY KEY (loan_id, day)
);
CREATE TABLE IF NOT EXISTS loan_penalties (
    loan_id     BIGINT NOT NULL,
    installment INTEGER NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    day         INTEGER NOT NULL,
    transfer_id BIGINT NOT NULL,
    PRIMARY KEY (loan_id, installment)
);
CREATE TABLE IF NOT EXISTS loan_repayments (
    id            BIGINT PRIMARY KEY,
    loan_id       BIGINT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('repayment', 'recovery')),
    amount        BIGINT NOT NULL CHECK (amount > 0),
    penalty       BIGINT NOT NULL CHECK (penalty >= 0),
    interest      BIGINT NOT NULL CHECK (interest >= 0),
    principal     BIGINT NOT NULL CHECK (principal >= 0),
    transfer_ids  TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL,
    CHECK (kind = 'recovery' OR amount = penalty + interest + principal)
);
CREATE INDEX IF NOT EXISTS loan_repayments_loan ON loan_repayments (loan_id, id);
CREATE TABLE IF NOT EXISTS loan_sweep_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    after_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS loan_idempotency_keys (
    principal     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    body          TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);
"""
