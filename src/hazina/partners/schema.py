"""Tables of the partners context (one DDL for SQLite and PostgreSQL).

Every database gets all of them; which are used depends on its role. The installation's home
database holds the tenants, the token signing keys and the revoked tokens; each tenant's own
database holds its partner apps, their usage and their revenue-share settlements, so one
tenant's partners are as separate from another's as its customers are.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    slug          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('operator', 'sandbox')),
    database      TEXT NOT NULL,
    brand         TEXT NOT NULL,
    owner_app     TEXT,
    created_by    TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_signing_keys (
    kid            TEXT PRIMARY KEY,
    private_jwk    TEXT NOT NULL,
    created_at_ns  BIGINT NOT NULL,
    retired_at_ns  BIGINT
);
CREATE TABLE IF NOT EXISTS oauth_revoked_tokens (
    jti           TEXT PRIMARY KEY,
    expires_at_s  BIGINT NOT NULL,
    revoked_at_ns BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS partner_apps (
    id                BIGINT PRIMARY KEY,
    client_id         TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    contact_email     TEXT NOT NULL,
    scopes            TEXT NOT NULL,
    status            TEXT NOT NULL
                      CHECK (status IN ('pending', 'approved', 'rejected', 'revoked')),
    secret_hash       TEXT,
    requested_by      TEXT NOT NULL,
    decided_by        TEXT,
    rate_per_second   INTEGER NOT NULL CHECK (rate_per_second > 0),
    burst             INTEGER NOT NULL CHECK (burst > 0),
    daily_quota       INTEGER NOT NULL CHECK (daily_quota > 0),
    revenue_share_bps INTEGER NOT NULL CHECK (revenue_share_bps BETWEEN 0 AND 10000),
    party_id          BIGINT,
    sandbox_tenant    TEXT,
    created_at_ns     BIGINT NOT NULL,
    decided_at_ns     BIGINT
);
CREATE TABLE IF NOT EXISTS partner_usage (
    client_id TEXT NOT NULL,
    day       INTEGER NOT NULL,
    requests  BIGINT NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (client_id, day)
);
CREATE TABLE IF NOT EXISTS partner_settlement_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    after_ns BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS partner_revenue_shares (
    transaction_id BIGINT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    fee            BIGINT NOT NULL CHECK (fee >= 0),
    share          BIGINT NOT NULL CHECK (share >= 0),
    transfer_id    BIGINT,
    settled_at_ns  BIGINT NOT NULL
);
"""
