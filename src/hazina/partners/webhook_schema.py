"""Tables of webhooks, in the platform's database (one DDL for SQLite and PostgreSQL).

A subscription belongs to one owner (an API principal). A delivery is one event for one
subscription: the (subscription, event) pair is unique, so dispatching the same outbox events
twice creates nothing new. Its body is stored as sent, so every retry sends the same bytes.
Each attempt is a row of its own: the delivery log.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_subscriptions (
    id                       BIGINT PRIMARY KEY,
    owner                    TEXT NOT NULL,
    url                      TEXT NOT NULL,
    event_types              TEXT NOT NULL,
    description              TEXT NOT NULL,
    secret                   TEXT NOT NULL CHECK (secret LIKE 'whsec_%'),
    previous_secret          TEXT,
    previous_secret_until_ns BIGINT,
    status                   TEXT NOT NULL CHECK (status IN ('active', 'deleted')),
    created_at_ns            BIGINT NOT NULL,
    updated_at_ns            BIGINT NOT NULL,
    CHECK ((previous_secret IS NULL) = (previous_secret_until_ns IS NULL))
);
CREATE INDEX IF NOT EXISTS webhook_subscriptions_by_owner
    ON webhook_subscriptions (owner, status, id);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id                 BIGINT PRIMARY KEY,
    subscription_id    BIGINT NOT NULL REFERENCES webhook_subscriptions (id),
    owner              TEXT NOT NULL,
    event_id           BIGINT NOT NULL,
    event_type         TEXT NOT NULL,
    body               TEXT NOT NULL,
    status             TEXT NOT NULL
                       CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
    attempts           INTEGER NOT NULL CHECK (attempts >= 0),
    round_attempts     INTEGER NOT NULL CHECK (round_attempts >= 0 AND round_attempts <= attempts),
    next_attempt_at_ns BIGINT,
    created_at_ns      BIGINT NOT NULL,
    updated_at_ns      BIGINT NOT NULL,
    delivered_at_ns    BIGINT,
    UNIQUE (subscription_id, event_id),
    CHECK ((status = 'pending') = (next_attempt_at_ns IS NOT NULL)),
    CHECK ((status = 'delivered') = (delivered_at_ns IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due
    ON webhook_deliveries (status, next_attempt_at_ns);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_owner
    ON webhook_deliveries (owner, id);
CREATE TABLE IF NOT EXISTS webhook_attempts (
    delivery_id  BIGINT NOT NULL REFERENCES webhook_deliveries (id),
    number       INTEGER NOT NULL CHECK (number >= 1),
    at_ns        BIGINT NOT NULL,
    status_code  INTEGER CHECK (status_code BETWEEN 100 AND 599),
    error        TEXT,
    response     TEXT NOT NULL,
    duration_ms  INTEGER NOT NULL CHECK (duration_ms >= 0),
    PRIMARY KEY (delivery_id, number),
    CHECK (status_code IS NOT NULL OR error IS NOT NULL)
);
CREATE TABLE IF NOT EXISTS webhook_dispatch_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    after_id BIGINT NOT NULL
);
"""
