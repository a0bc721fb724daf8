"""Tables of the payments context, in the ledger's database (one DDL for SQLite and PostgreSQL).

Balances live only in the ledger; these tables hold who owns which ledger account, what each
transaction was, and the bookkeeping that must commit with its postings (idempotency keys,
limit usage, outbox events). Ids are 63-bit integers from `IdSource` (BIGINT).
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS parties (
    id            BIGINT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN
                      ('customer', 'merchant', 'agent', 'biller', 'bank', 'operator')),
    name          TEXT NOT NULL,
    phone         TEXT UNIQUE,
    kyc_tier      INTEGER NOT NULL CHECK (kyc_tier BETWEEN 0 AND 3),
    status        TEXT NOT NULL CHECK (status IN ('active', 'frozen', 'closed')),
    code          TEXT UNIQUE,
    details       TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS parties_kind ON parties (kind, id);
CREATE TABLE IF NOT EXISTS kyc_documents (
    id            BIGINT PRIMARY KEY,
    party_id      BIGINT NOT NULL REFERENCES parties (id),
    kind          TEXT NOT NULL,
    number        TEXT NOT NULL,
    tier_granted  INTEGER NOT NULL CHECK (tier_granted BETWEEN 0 AND 3),
    recorded_by   TEXT NOT NULL,
    recorded_at_ns BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS kyc_documents_party ON kyc_documents (party_id, id);
CREATE TABLE IF NOT EXISTS wallets (
    id            BIGINT PRIMARY KEY,
    party_id      BIGINT NOT NULL REFERENCES parties (id),
    currency      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL,
    UNIQUE (party_id, currency, kind)
);
CREATE TABLE IF NOT EXISTS payment_transactions (
    id             BIGINT PRIMARY KEY,
    type           TEXT NOT NULL,
    status         TEXT NOT NULL
                       CHECK (status IN ('completed', 'pending', 'held', 'failed', 'reversed')),
    currency       TEXT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    fee            BIGINT NOT NULL CHECK (fee >= 0),
    payer_wallet   BIGINT NOT NULL,
    payee_wallet   BIGINT NOT NULL,
    tariff_version INTEGER NOT NULL,
    reference      TEXT NOT NULL,
    details        TEXT NOT NULL,
    legs           TEXT NOT NULL,
    reversal_of    BIGINT,
    reversed_by    BIGINT,
    created_at_ns  BIGINT NOT NULL,
    updated_at_ns  BIGINT NOT NULL,
    CHECK (payer_wallet <> payee_wallet)
);
CREATE INDEX IF NOT EXISTS payment_transactions_payer ON payment_transactions (payer_wallet, id);
CREATE INDEX IF NOT EXISTS payment_transactions_payee ON payment_transactions (payee_wallet, id);
CREATE INDEX IF NOT EXISTS payment_transactions_pending ON payment_transactions (status, id);
CREATE TABLE IF NOT EXISTS wallet_usage (
    wallet_id BIGINT NOT NULL,
    period    TEXT NOT NULL,
    outflow   BIGINT NOT NULL CHECK (outflow >= 0),
    PRIMARY KEY (wallet_id, period)
);
CREATE TABLE IF NOT EXISTS vouchers (
    id             BIGINT PRIMARY KEY,
    code_hash      TEXT NOT NULL UNIQUE,
    transaction_id BIGINT NOT NULL,
    phone          TEXT NOT NULL,
    currency       TEXT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    status         TEXT NOT NULL CHECK (status IN ('issued', 'claimed', 'refunded')),
    expires_at_ns  BIGINT NOT NULL,
    settled_by     BIGINT
);
CREATE INDEX IF NOT EXISTS vouchers_phone ON vouchers (phone, status);
CREATE TABLE IF NOT EXISTS reversal_requests (
    id             BIGINT PRIMARY KEY,
    transaction_id BIGINT NOT NULL,
    requested_by   TEXT NOT NULL,
    reason         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected')),
    decided_by     TEXT,
    reversal_id    BIGINT,
    created_at_ns  BIGINT NOT NULL,
    decided_at_ns  BIGINT,
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE INDEX IF NOT EXISTS reversal_requests_status ON reversal_requests (status, id);
CREATE TABLE IF NOT EXISTS tariff_versions (
    currency          TEXT NOT NULL,
    version           INTEGER NOT NULL,
    effective_from_ns BIGINT NOT NULL,
    body              TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    PRIMARY KEY (currency, version)
);
CREATE TABLE IF NOT EXISTS tier_limit_changes (
    id              BIGINT PRIMARY KEY,
    currency        TEXT NOT NULL,
    tier            INTEGER NOT NULL CHECK (tier BETWEEN 0 AND 3),
    max_balance     BIGINT NOT NULL CHECK (max_balance >= 0),
    per_transaction BIGINT NOT NULL CHECK (per_transaction >= 0),
    daily_volume    BIGINT NOT NULL,
    monthly_volume  BIGINT NOT NULL,
    changed_by      TEXT NOT NULL,
    created_at_ns   BIGINT NOT NULL,
    CHECK (per_transaction <= daily_volume AND daily_volume <= monthly_volume)
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    principal     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    body          TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE TABLE IF NOT EXISTS outbox (
    id            BIGINT PRIMARY KEY,
    event_type    TEXT NOT NULL,
    subject       TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL
);
"""
