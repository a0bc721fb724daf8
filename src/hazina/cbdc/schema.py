"""Tables of the CBDC context, in the ledger's database (one DDL for SQLite and PostgreSQL).

Balances live only in the ledger; these tables say which ledger account is whose, record each
operation (for the central bank's view and the audit), and hold the state of conditional
payments, devices and offline tokens. CHECK constraints and unique keys are the last line of
defence: one row per token, one holder per device key, amounts positive.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS cbdc_system_accounts (
    kind       TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS cbdc_issuer_keys (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    private_key TEXT NOT NULL,
    public_key  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cbdc_participants (
    id                 BIGINT PRIMARY KEY,
    code               TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('bank', 'operator')),
    holding_account    BIGINT NOT NULL UNIQUE,
    reserve_account    BIGINT NOT NULL UNIQUE,
    conversion_account BIGINT NOT NULL UNIQUE,
    created_at_ns      BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS cbdc_wallets (
    id               BIGINT PRIMARY KEY,
    participant_id   BIGINT NOT NULL REFERENCES cbdc_participants (id),
    holder           TEXT NOT NULL,
    tier             TEXT NOT NULL CHECK (tier IN ('anonymous', 'full_kyc')),
    linked_account   TEXT,
    emoney_wallet_id BIGINT UNIQUE,
    created_at_ns    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS cbdc_wallets_participant ON cbdc_wallets (participant_id, id);
CREATE TABLE IF NOT EXISTS cbdc_operations (
    id             BIGINT PRIMARY KEY,
    kind           TEXT NOT NULL,
    participant_id BIGINT,
    from_wallet    BIGINT,
    to_wallet      BIGINT,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    swept          BIGINT NOT NULL CHECK (swept >= 0),
    transfer_ids   TEXT NOT NULL,
    created_at_ns  BIGINT NOT NULL,
    CHECK (swept <= amount)
);
CREATE INDEX IF NOT EXISTS cbdc_operations_kind ON cbdc_operations (kind, created_at_ns);
CREATE TABLE IF NOT EXISTS cbdc_conditional_payments (
    id             BIGINT PRIMARY KEY,
    from_wallet    BIGINT NOT NULL,
    to_wallet      BIGINT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    release_at_ns  BIGINT NOT NULL CHECK (release_at_ns >= 0),
    confirmer      TEXT,
    confirmed      INTEGER NOT NULL CHECK (confirmed IN (0, 1)),
    expires_at_ns  BIGINT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'released', 'cancelled')),
    created_by     TEXT NOT NULL,
    created_at_ns  BIGINT NOT NULL,
    decided_at_ns  BIGINT,
    swept          BIGINT NOT NULL CHECK (swept >= 0)
);
CREATE INDEX IF NOT EXISTS cbdc_conditional_status
    ON cbdc_conditional_payments (status, release_at_ns);
CREATE TABLE IF NOT EXISTS cbdc_devices (
    id            BIGINT PRIMARY KEY,
    wallet_id     BIGINT NOT NULL REFERENCES cbdc_wallets (id),
    public_key    TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at_ns BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS cbdc_offline_tokens (
    id             BIGINT PRIMARY KEY,
    device_id      BIGINT NOT NULL REFERENCES cbdc_devices (id),
    amount         BIGINT NOT NULL CHECK (amount > 0),
    expires_at_s   BIGINT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('outstanding', 'redeemed')),
    chain          TEXT,
    redeemed_by    BIGINT,
    redeemed_at_ns BIGINT,
    CHECK (status = 'outstanding' OR (chain IS NOT NULL AND redeemed_by IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS cbdc_offline_tokens_device ON cbdc_offline_tokens (device_id, status);
CREATE TABLE IF NOT EXISTS cbdc_double_spends (
    id             BIGINT PRIMARY KEY,
    token_id       BIGINT NOT NULL,
    offender_key   TEXT NOT NULL,
    offender_device BIGINT,
    victim_device  BIGINT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    recovered      BIGINT NOT NULL CHECK (recovered >= 0),
    flagged        BIGINT NOT NULL CHECK (flagged >= 0),
    created_at_ns  BIGINT NOT NULL,
    CHECK (recovered + flagged <= amount)
);
CREATE TABLE IF NOT EXISTS cbdc_idempotency_keys (
    principal     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    body          TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);
"""
