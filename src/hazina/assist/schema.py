"""Tables of the assistant, in the platform database (one DDL for SQLite and PostgreSQL).

A conversation (`assist_conversations`) carries the dialogue's state: whether the customer
proved who they are, what the assistant waits for (a PIN, a yes or no) and the action it
would take. `assist_messages` is the transcript, secrets withheld. A hand-off
(`assist_handoffs`) puts a conversation in the human agents' queue. `assist_articles` is the
knowledge base operators edit, and `assist_pins` the customers' PINs as argon2id hashes.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS assist_conversations (
    id               BIGINT PRIMARY KEY,
    party_id         BIGINT,
    channel          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'handed_off', 'closed')),
    authenticated    INTEGER NOT NULL CHECK (authenticated IN (0, 1)),
    pin_failures     INTEGER NOT NULL CHECK (pin_failures >= 0),
    awaiting         TEXT NOT NULL CHECK (awaiting IN ('message', 'pin', 'confirmation')),
    pending_action   TEXT,
    pending_subject  BIGINT,
    clarifications   INTEGER NOT NULL CHECK (clarifications >= 0),
    messages         INTEGER NOT NULL CHECK (messages >= 0),
    started_by       TEXT NOT NULL,
    created_at_ns    BIGINT NOT NULL,
    updated_at_ns    BIGINT NOT NULL,
    CHECK ((awaiting = 'message') = (pending_action IS NULL)),
    CHECK (authenticated = 0 OR party_id IS NOT NULL)
);
CREATE TABLE IF NOT EXISTS assist_messages (
    id               BIGINT PRIMARY KEY,
    conversation_id  BIGINT NOT NULL REFERENCES assist_conversations (id),
    position         INTEGER NOT NULL CHECK (position >= 0),
    role             TEXT NOT NULL CHECK (role IN ('customer', 'assistant', 'agent')),
    body             TEXT NOT NULL,
    intent           TEXT,
    confidence_bps   INTEGER CHECK (confidence_bps IS NULL OR confidence_bps BETWEEN 0 AND 10000),
    article_slug     TEXT,
    created_at_ns    BIGINT NOT NULL,
    UNIQUE (conversation_id, position)
);
CREATE TABLE IF NOT EXISTS assist_handoffs (
    id               BIGINT PRIMARY KEY,
    conversation_id  BIGINT NOT NULL REFERENCES assist_conversations (id),
    reason           TEXT NOT NULL CHECK (reason IN
                         ('customer_asked', 'low_confidence', 'pin_attempts', 'not_identified',
                          'unsupported_input')),
    status           TEXT NOT NULL CHECK (status IN ('waiting', 'claimed', 'resolved')),
    assignee         TEXT,
    created_at_ns    BIGINT NOT NULL,
    updated_at_ns    BIGINT NOT NULL,
    CHECK (status = 'waiting' OR assignee IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS assist_handoffs_status ON assist_handoffs (status, id);
CREATE TABLE IF NOT EXISTS assist_articles (
    slug             TEXT PRIMARY KEY,
    markdown         TEXT NOT NULL,
    version          INTEGER NOT NULL CHECK (version >= 1),
    updated_by       TEXT NOT NULL,
    updated_at_ns    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS assist_pins (
    party_id         BIGINT PRIMARY KEY,
    pin_hash         TEXT NOT NULL CHECK (pin_hash LIKE '$argon2id$%'),
    set_by           TEXT NOT NULL,
    updated_at_ns    BIGINT NOT NULL
);
"""
