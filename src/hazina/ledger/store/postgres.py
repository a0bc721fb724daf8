"""PostgreSQL ledger store: the production store; several processes may write at once.

Writers serialize on a transaction-level advisory lock taken first in every write transaction,
so timestamps stay monotonic and the journal's hash chain stays linear; under READ COMMITTED
every statement after the lock sees what the previous holder committed. Transfers and new
accounts go in with COPY, changed accounts with one UPDATE over arrays, lookups with
`= ANY(array)`, all arrays sent in binary.

Accounts are cached between transactions only while provably current: every statement that
writes `accounts` (by any program, through the triggers below) moves a counter in
`ledger_accounts_version`. A write transaction reads it right after taking the writer lock; if
it differs from what the store's own last commit left, the cache is dropped and accounts are
reloaded. Any failure drops the cache too.

The database is the last line of defence (tested by writing around the application):
- CHECK constraints: non-negative balances, the two balance limits, amounts, distinct accounts.
- Statement-level AFTER triggers with transition tables write, into a per-session temporary
  table, each account's balance changes (UPDATE: new minus old; INSERT: the new balances) and
  minus what the inserted transfers and expiries imply for it: regular and posting transfers
  add their amount to posted, pending ones to pending, and posts, voids and expiries take the
  pending transfer's whole amount out of pending. They also refuse a post or void that does
  not fit its pending transfer, an expiry of a transfer that cannot expire, and a pending
  transfer resolved twice. The first trigger of a transaction inserts its txid into
  `ledger_balance_checks`, whose DEFERRABLE INITIALLY DEFERRED constraint trigger runs once,
  at COMMIT: every account's rows must add up to zero and, for the balance changes, every
  ledger's debits must equal its credits, or the COMMIT fails with SQLSTATE 23514
  (`ledger_balance_check`). All of it is set-based: a few statements per batch, not per row.
- Transfers, expiries and the journal are append-only, and of an account only balances and
  `closed` may change (statement-level triggers refuse the rest).
"""

from __future__ import annotations

import select
import struct
import threading
import time
from collections.abc import Iterable, Iterator, Sequence, Set
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from itertools import chain, repeat
from typing import Any, ClassVar

import psycopg
from psycopg import errors
from psycopg.adapt import Buffer, Dumper
from psycopg.pq import Format
from psycopg.types.numeric import IntLoader

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    database_busy_timeout_ms,
    ledger_trust_own_commit_ms,
)
from hazina.ledger.domain.apply import AccountState, BatchOutcome, LedgerState
from hazina.ledger.domain.journal import AccountRecord, JournalEntry, genesis_hash
from hazina.ledger.domain.model import (
    Account,
    AccountFilter,
    PendingState,
    PendingStatus,
    Transfer,
)
from hazina.ledger.store.base import (
    StaleReadError,
    StoreError,
    TransientStoreError,
    from_cache,
    merged_sides,
)
from hazina.ledger.store.codec import decode_u64, encode_u64
from hazina.ledger.store.reads import ACCOUNT_COLUMNS as _ACCOUNT_COLUMNS
from hazina.ledger.store.reads import BALANCE_COLUMNS as _BALANCE_COLUMNS
from hazina.ledger.store.reads import ID_LIMIT, SqlReads, storable_ids
from hazina.ledger.store.reads import TRANSFER_COLUMNS as _TRANSFER_COLUMNS

SCHEMA_VERSION = 5  # 2: ledger_expect(), for checks that travel with the writes; 3: unmoved;
# 4: the balance history append-only (account_balances_append_only); 5: the ids of failed
# transfers too (transfers_failed_append_only), so that a failed id cannot be made new again
# Advisory locks, two-part keys: a class (one for creating the schema, one held by every
# writer) and the hash of the schema the tables live in, so that ledgers in different schemas
# of one database do not wait for each other.
_SCHEMA_LOCK_CLASS = 0x687A0001
_WRITE_LOCK_CLASS = 0x687A0002
_ADVISORY_LOCK = "SELECT pg_advisory_xact_lock(%s, hashtext(coalesce(current_schema(), '')))"

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id              BIGINT PRIMARY KEY CHECK (id > 0),
    ledger          BIGINT NOT NULL CHECK (ledger > 0),
    code            INTEGER NOT NULL CHECK (code > 0),
    flags           INTEGER NOT NULL,
    user_data_128   NUMERIC(39, 0) NOT NULL CHECK (user_data_128 >= 0),
    user_data_64    BIGINT NOT NULL,
    user_data_32    BIGINT NOT NULL CHECK (user_data_32 >= 0),
    debits_pending  BIGINT NOT NULL CHECK (debits_pending >= 0),
    debits_posted   BIGINT NOT NULL CHECK (debits_posted >= 0),
    credits_pending BIGINT NOT NULL CHECK (credits_pending >= 0),
    credits_posted  BIGINT NOT NULL CHECK (credits_posted >= 0),
    timestamp       BIGINT NOT NULL UNIQUE,
    closed          BOOLEAN NOT NULL,
    CONSTRAINT accounts_debits_must_not_exceed_credits
        CHECK ((flags & 2) = 0 OR debits_pending + debits_posted <= credits_posted),
    CONSTRAINT accounts_credits_must_not_exceed_debits
        CHECK ((flags & 4) = 0 OR credits_pending + credits_posted <= debits_posted),
    CONSTRAINT accounts_limits_mutually_exclusive CHECK ((flags & 6) <> 6)
) WITH (fillfactor = 50);  -- room on each page for HOT updates of the balances
CREATE TABLE IF NOT EXISTS transfers (
    id                BIGINT PRIMARY KEY CHECK (id > 0),
    debit_account_id  BIGINT NOT NULL,
    credit_account_id BIGINT NOT NULL,
    amount            BIGINT NOT NULL CHECK (amount >= 0),
    pending_id        BIGINT NOT NULL CHECK (pending_id >= 0),
    user_data_128     NUMERIC(39, 0) NOT NULL CHECK (user_data_128 >= 0),
    user_data_64      BIGINT NOT NULL,
    user_data_32      BIGINT NOT NULL CHECK (user_data_32 >= 0),
    timeout           BIGINT NOT NULL CHECK (timeout >= 0),
    ledger            BIGINT NOT NULL,
    code              INTEGER NOT NULL,
    flags             INTEGER NOT NULL,
    timestamp         BIGINT NOT NULL UNIQUE,
    CONSTRAINT transfers_accounts_must_be_different CHECK (debit_account_id <> credit_account_id)
);
CREATE INDEX IF NOT EXISTS transfers_debit ON transfers (debit_account_id, timestamp);
CREATE INDEX IF NOT EXISTS transfers_credit ON transfers (credit_account_id, timestamp);
-- A pending transfer is posted or voided at most once.
CREATE UNIQUE INDEX IF NOT EXISTS transfers_pending_id ON transfers (pending_id)
    WHERE pending_id <> 0;
CREATE TABLE IF NOT EXISTS pending_states (
    pending_id BIGINT PRIMARY KEY,
    state      SMALLINT NOT NULL CHECK (state BETWEEN 1 AND 4),
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_states_due ON pending_states (expires_at, pending_id)
    WHERE state = 1 AND expires_at > 0;
CREATE TABLE IF NOT EXISTS account_balances (
    account_id      BIGINT NOT NULL,
    timestamp       BIGINT NOT NULL,
    debits_pending  BIGINT NOT NULL,
    debits_posted   BIGINT NOT NULL,
    credits_pending BIGINT NOT NULL,
    credits_posted  BIGINT NOT NULL,
    PRIMARY KEY (account_id, timestamp)
);
CREATE TABLE IF NOT EXISTS expiries (
    timestamp  BIGINT PRIMARY KEY,
    pending_id BIGINT NOT NULL UNIQUE
);
-- Transfer ids that failed for a reason of state: a retry reports `id_already_failed`.
CREATE TABLE IF NOT EXISTS transfers_failed (
    id        BIGINT PRIMARY KEY,
    status    INTEGER NOT NULL,
    timestamp BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    sequence        BIGINT PRIMARY KEY CHECK (sequence > 0),
    timestamp_first BIGINT NOT NULL,
    timestamp_last  BIGINT NOT NULL CHECK (timestamp_last >= timestamp_first),
    record_count    BIGINT NOT NULL,
    payload_hash    BYTEA NOT NULL,
    previous_hash   BYTEA NOT NULL,
    hash            BYTEA NOT NULL
);

CREATE TABLE IF NOT EXISTS ledger_accounts_version (
    version BIGINT NOT NULL
);
INSERT INTO ledger_accounts_version (version)
    SELECT 0 WHERE NOT EXISTS (SELECT FROM ledger_accounts_version);

-- One row per open transaction that changed balances or inserted transfers or expiries; its
-- deferred constraint trigger runs the balance check once, at COMMIT. Unlogged: a row never
-- outlives its transaction.
CREATE UNLOGGED TABLE IF NOT EXISTS ledger_balance_checks (
    txid BIGINT PRIMARY KEY
);

-- The per-transaction scratch table of balance deltas lives in each session's temporary
-- schema (no WAL, no contention, emptied at every COMMIT). Rows with a ledger are what the
-- accounts' balances actually did; rows without are minus what the transfers and expiries
-- imply. At COMMIT every account's rows must add up to zero.
CREATE OR REPLACE FUNCTION ledger_balance_check_arm() RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF to_regclass('pg_temp.ledger_balance_deltas') IS NULL THEN
        CREATE TEMPORARY TABLE ledger_balance_deltas (
            account_id      BIGINT NOT NULL,
            ledger          BIGINT,
            debits_pending  BIGINT NOT NULL,
            debits_posted   BIGINT NOT NULL,
            credits_pending BIGINT NOT NULL,
            credits_posted  BIGINT NOT NULL
        ) ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO ledger_balance_checks (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_accounts_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    -- Every statement that writes accounts moves the version, so a store may trust the accounts
    -- it cached only while the version is the one its own last commit left.
    UPDATE ledger_accounts_version SET version = version + 1;
    PERFORM ledger_balance_check_arm();
    IF TG_OP = 'INSERT' THEN
        INSERT INTO pg_temp.ledger_balance_deltas
        SELECT id, ledger, debits_pending, debits_posted, credits_pending, credits_posted
        FROM new_accounts
        WHERE debits_pending <> 0 OR debits_posted <> 0
            OR credits_pending <> 0 OR credits_posted <> 0;
    ELSE
        -- Rows as they are, not aggregated: summing into NUMERIC here would cost more than
        -- writing twice the rows, and the check at COMMIT sums them anyway.
        INSERT INTO pg_temp.ledger_balance_deltas
        SELECT id, ledger, debits_pending, debits_posted, credits_pending, credits_posted
        FROM new_accounts
        UNION ALL
        SELECT id, ledger, -debits_pending, -debits_posted, -credits_pending, -credits_posted
        FROM old_accounts;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_transfers_inserted() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    bad record;
BEGIN
    PERFORM ledger_balance_check_arm();
    -- Regular and posting transfers (not flags 2, 8) move posted amounts; pending ones (2) move
    -- pending amounts. Stored negated: the account changes must cancel them out.
    INSERT INTO pg_temp.ledger_balance_deltas
    SELECT debit_account_id, NULL::BIGINT, CASE WHEN flags & 2 <> 0 THEN -amount ELSE 0 END,
        CASE WHEN flags & 10 = 0 THEN -amount ELSE 0 END, 0, 0
    FROM new_transfers
    UNION ALL
    SELECT credit_account_id, NULL, 0, 0, CASE WHEN flags & 2 <> 0 THEN -amount ELSE 0 END,
        CASE WHEN flags & 10 = 0 THEN -amount ELSE 0 END
    FROM new_transfers;
    IF NOT EXISTS (SELECT FROM new_transfers WHERE flags & 12 <> 0) THEN
        RETURN NULL;
    END IF;
    -- A post or void (flags 4, 8) must name an existing pending transfer (flag 2) with the same
    -- accounts, post at most its amount, void exactly it, and find it neither resolved before
    -- (a unique index) nor expired. (Lateral LIMIT 1: one index probe per post or void.)
    SELECT n.id, n.pending_id INTO bad
    FROM new_transfers n
    LEFT JOIN LATERAL (
        SELECT * FROM transfers t WHERE t.id = n.pending_id LIMIT 1
    ) AS p ON TRUE
    WHERE n.flags & 12 <> 0
        AND (p.id IS NULL OR p.flags & 2 = 0 OR n.flags & 14 NOT IN (4, 8)
            OR n.debit_account_id <> p.debit_account_id
            OR n.credit_account_id <> p.credit_account_id
            OR n.amount > p.amount
            OR (n.flags & 8 <> 0 AND n.amount <> p.amount)
            OR EXISTS (SELECT FROM expiries x WHERE x.pending_id = n.pending_id))
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            CONSTRAINT = 'ledger_balance_check',
            MESSAGE = format('ledger balance check: transfer %s does not post or void'
                ' pending transfer %s as it stands', bad.id, bad.pending_id);
    END IF;
    -- Posts and voids release the pending transfer's whole amount.
    INSERT INTO pg_temp.ledger_balance_deltas
    SELECT side.account_id, NULL, side.dp, 0, side.cp, 0
    FROM new_transfers n
    CROSS JOIN LATERAL (
        SELECT * FROM transfers t WHERE t.id = n.pending_id LIMIT 1
    ) AS p
    CROSS JOIN LATERAL (VALUES
        (p.debit_account_id, p.amount, 0::BIGINT),
        (p.credit_account_id, 0::BIGINT, p.amount)
    ) AS side (account_id, dp, cp)
    WHERE n.flags & 12 <> 0;  -- few rows: the per-row VALUES scan is fine here
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_expiries_inserted() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    bad record;
BEGIN
    SELECT e.pending_id INTO bad
    FROM new_expiries e
    LEFT JOIN LATERAL (
        SELECT * FROM transfers t WHERE t.id = e.pending_id LIMIT 1
    ) AS p ON TRUE
    WHERE p.id IS NULL OR p.flags & 2 = 0 OR p.timeout = 0
        OR EXISTS (SELECT FROM transfers t WHERE t.pending_id = e.pending_id AND t.pending_id <> 0)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            CONSTRAINT = 'ledger_balance_check',
            MESSAGE = format('ledger balance check: expiry of %s names no pending transfer'
                ' that can expire', bad.pending_id);
    END IF;
    PERFORM ledger_balance_check_arm();
    -- An expiry releases the pending transfer's whole amount (stored negated, as above).
    INSERT INTO pg_temp.ledger_balance_deltas
    SELECT side.account_id, NULL, side.dp, 0, side.cp, 0
    FROM new_expiries e
    CROSS JOIN LATERAL (
        SELECT * FROM transfers t WHERE t.id = e.pending_id LIMIT 1
    ) AS p
    CROSS JOIN LATERAL (VALUES
        (p.debit_account_id, p.amount, 0::BIGINT),
        (p.credit_account_id, 0::BIGINT, p.amount)
    ) AS side (account_id, dp, cp);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_balance_check() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    bad record;
    bad_account BIGINT;
BEGIN
    DELETE FROM ledger_balance_checks WHERE txid = NEW.txid;
    SELECT ledger, sum(debits_pending) AS dp, sum(credits_pending) AS cp,
        sum(debits_posted) AS dpo, sum(credits_posted) AS cpo
    INTO bad
    FROM pg_temp.ledger_balance_deltas
    WHERE ledger IS NOT NULL
    GROUP BY ledger
    HAVING sum(debits_pending) <> sum(credits_pending)
        OR sum(debits_posted) <> sum(credits_posted)
    ORDER BY ledger
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            CONSTRAINT = 'ledger_balance_check',
            MESSAGE = format('ledger balance check: ledger %s does not balance: debits pending'
                ' changed by %s, credits pending by %s, debits posted by %s, credits posted'
                ' by %s', bad.ledger, bad.dp, bad.cp, bad.dpo, bad.cpo);
    END IF;
    -- (min() over the failing groups, not ORDER BY ... LIMIT 1, which would make the planner
    -- sort every row to aggregate in order.)
    SELECT min(account_id) INTO bad_account
    FROM (
        SELECT account_id
        FROM pg_temp.ledger_balance_deltas
        GROUP BY account_id
        HAVING sum(debits_pending) <> 0 OR sum(debits_posted) <> 0
            OR sum(credits_pending) <> 0 OR sum(credits_posted) <> 0
    ) AS failing;
    IF bad_account IS NOT NULL THEN
        SELECT account_id,
            coalesce(sum(debits_pending) FILTER (WHERE ledger IS NOT NULL), 0) AS dp,
            coalesce(sum(debits_posted) FILTER (WHERE ledger IS NOT NULL), 0) AS dpo,
            coalesce(sum(credits_pending) FILTER (WHERE ledger IS NOT NULL), 0) AS cp,
            coalesce(sum(credits_posted) FILTER (WHERE ledger IS NOT NULL), 0) AS cpo,
            coalesce(-sum(debits_pending) FILTER (WHERE ledger IS NULL), 0) AS implied_dp,
            coalesce(-sum(debits_posted) FILTER (WHERE ledger IS NULL), 0) AS implied_dpo,
            coalesce(-sum(credits_pending) FILTER (WHERE ledger IS NULL), 0) AS implied_cp,
            coalesce(-sum(credits_posted) FILTER (WHERE ledger IS NULL), 0) AS implied_cpo
        INTO bad
        FROM pg_temp.ledger_balance_deltas
        WHERE account_id = bad_account
        GROUP BY account_id;
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            CONSTRAINT = 'ledger_balance_check',
            MESSAGE = format('ledger balance check: account %s changed by (debits pending %s,'
                ' debits posted %s, credits pending %s, credits posted %s) but the transfers'
                ' and expiries of this transaction imply (%s, %s, %s, %s)',
                bad.account_id, bad.dp, bad.dpo, bad.cp, bad.cpo, bad.implied_dp,
                bad.implied_dpo, bad.implied_cp, bad.implied_cpo);
    END IF;
    RETURN NULL;
END;
$$;

-- A writer that trusted its own last commit instead of reading first checks here, with its
-- writes, that the ledger did not move meanwhile; HZ001 tells it to redo the group reading.
CREATE OR REPLACE FUNCTION ledger_expect_unmoved(ok BOOLEAN) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT ok THEN
        RAISE EXCEPTION USING ERRCODE = 'HZ001', MESSAGE = 'ledger: the database moved on since'
            ' this writer last committed (another writer, a stored id or a due expiry);'
            ' the group is redone reading first';
    END IF;
END;
$$;

-- A check inside a statement: the transaction fails there, so the writes, the journal entry
-- and COMMIT can be sent together (COMMIT of a failed transaction rolls back).
CREATE OR REPLACE FUNCTION ledger_expect(ok BOOLEAN, message TEXT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT ok THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = message;
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'integrity_constraint_violation',
        MESSAGE = format('ledger records are append-only: %s on %s refused (%s)', TG_OP,
            TG_TABLE_NAME, TG_NAME);
END;
$$;

DROP TRIGGER IF EXISTS accounts_inserted ON accounts;
CREATE TRIGGER accounts_inserted AFTER INSERT ON accounts
    REFERENCING NEW TABLE AS new_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_changed();
DROP TRIGGER IF EXISTS accounts_updated ON accounts;
CREATE TRIGGER accounts_updated AFTER UPDATE ON accounts
    REFERENCING OLD TABLE AS old_accounts NEW TABLE AS new_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_changed();
-- Only balances and `closed` ever change. A statement-level trigger on the other columns costs
-- nothing per row (a row-level one would cost a tuple fetch per updated row).
DROP TRIGGER IF EXISTS accounts_immutable ON accounts;
CREATE TRIGGER accounts_immutable
    BEFORE UPDATE OF id, ledger, code, flags, user_data_128, user_data_64, user_data_32,
        timestamp ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
DROP TRIGGER IF EXISTS accounts_append_only ON accounts;
CREATE TRIGGER accounts_append_only BEFORE DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
DROP TRIGGER IF EXISTS transfers_inserted ON transfers;
CREATE TRIGGER transfers_inserted AFTER INSERT ON transfers
    REFERENCING NEW TABLE AS new_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfers_inserted();
DROP TRIGGER IF EXISTS transfers_append_only ON transfers;
CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
DROP TRIGGER IF EXISTS expiries_inserted ON expiries;
CREATE TRIGGER expiries_inserted AFTER INSERT ON expiries
    REFERENCING NEW TABLE AS new_expiries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_expiries_inserted();
DROP TRIGGER IF EXISTS expiries_append_only ON expiries;
CREATE TRIGGER expiries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON expiries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
DROP TRIGGER IF EXISTS transfers_failed_append_only ON transfers_failed;
CREATE TRIGGER transfers_failed_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON transfers_failed FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
DROP TRIGGER IF EXISTS account_balances_append_only ON account_balances;
CREATE TRIGGER account_balances_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON account_balances FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
DROP TRIGGER IF EXISTS journal_append_only ON journal;
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
DROP TRIGGER IF EXISTS ledger_balance_check ON ledger_balance_checks;
CREATE CONSTRAINT TRIGGER ledger_balance_check AFTER INSERT ON ledger_balance_checks
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_balance_check();

CREATE TABLE IF NOT EXISTS ledger_schema (version INTEGER NOT NULL);
"""

_ACCOUNT_TYPES = ["int8", "int8", "int4", "int4", "numeric", *["int8"] * 7, "bool"]
_TRANSFER_TYPES = [*["int8"] * 5, "numeric", *["int8"] * 4, "int4", "int4", "int8"]
_INSERT_TRANSFERS_UNNEST = (
    f"INSERT INTO transfers ({_TRANSFER_COLUMNS}) SELECT * FROM unnest("
    "%b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[], %s::numeric[],"
    " %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[],"
    " %b::bigint[])"
)
# Up to this many rows go in as pipelined INSERTs inside the pipeline; more go by COPY.
_PIPELINED_ROWS_MAX = 64
_UPDATE_ACCOUNTS = (
    "WITH updated AS ("
    " UPDATE accounts AS a SET debits_pending = u.debits_pending,"
    " debits_posted = u.debits_posted, credits_pending = u.credits_pending,"
    " credits_posted = u.credits_posted, closed = u.closed"
    " FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[],"
    " %b::boolean[]) AS u (id, debits_pending, debits_posted, credits_pending, credits_posted,"
    " closed) WHERE a.id = u.id RETURNING 1)"
    " SELECT ledger_expect(count(*) = %s, 'ledger: an account to update does not exist')"
    " FROM updated"
)
_UPSERT_PENDING = (
    "INSERT INTO pending_states (pending_id, state, expires_at)"
    " SELECT * FROM unnest(%b::bigint[], %b::smallint[], %b::bigint[])"
    " ON CONFLICT (pending_id) DO UPDATE"
    " SET state = excluded.state, expires_at = excluded.expires_at"
)
_LOAD_TRANSFERS = (
    f"SELECT {_TRANSFER_COLUMNS}, FALSE FROM transfers WHERE id = ANY(%b::bigint[])"
    " UNION ALL SELECT id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, TRUE FROM transfers_failed"
    " WHERE id = ANY(%b::bigint[])"
)
# What a group that trusted the store's cache (`open(all_new=True)`) assumed, checked on the
# server after the writer lock, before its writes: no other writer committed since ours (the
# journal head and the accounts version are ours), none of its ids is stored, nothing is due.
# (count() and min(), not NOT EXISTS: planned for a first row, NOT EXISTS over `id = ANY`
# chose a sequential scan of all transfers, 160 us at 8,000 rows and growing.)
_UNMOVED = (
    "SELECT ledger_expect_unmoved("
    " (SELECT version FROM ledger_accounts_version) = %s"
    " AND coalesce((SELECT max(sequence) FROM journal), 0) = %s"
    " AND (SELECT count(*) FROM transfers WHERE id = ANY(%b::bigint[])) = 0"
    " AND (SELECT count(*) FROM transfers_failed WHERE id = ANY(%b::bigint[])) = 0"
    " AND coalesce((SELECT min(expires_at) FROM pending_states"
    "  WHERE state = 1 AND expires_at > 0), 9223372036854775807) > %s)"
)
_STALE_SQLSTATE = "HZ001"
_TRANSIENT_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available: lock_timeout passed waiting for another writer
    }
)


class _Int8Array:
    """A bigint[] parameter, packed here in PostgreSQL's binary array format (flags 0, element
    type int8, one dimension from 1; each element a 4-byte length and 8 bytes big-endian): a
    few times faster than adapting a list of Python ints element by element."""

    __slots__ = ("data",)

    def __init__(self, values: Sequence[int]) -> None:
        count = len(values)
        if not count:
            self.data = struct.pack(">iii", 0, 0, 20)
            return
        self.data = struct.pack(
            f">5i{'iq' * count}", 1, 0, 20, count, 1, *chain.from_iterable(zip(repeat(8), values))
        )


class _BoolArray:
    """A boolean[] parameter, packed as `_Int8Array` is (element type bool, 1 byte each)."""

    __slots__ = ("data",)

    def __init__(self, values: Sequence[bool]) -> None:
        count = len(values)
        if not count:
            self.data = struct.pack(">iii", 0, 0, 16)
            return
        self.data = struct.pack(
            f">5i{'i?' * count}", 1, 0, 16, count, 1, *chain.from_iterable(zip(repeat(1), values))
        )


class _Int8ArrayDumper(Dumper):
    format = Format.BINARY
    oid = 1016  # int8[]

    def dump(self, obj: Any) -> Buffer:
        data: bytes = obj.data
        return data


class _BoolArrayDumper(Dumper):
    format = Format.BINARY
    oid = 1000  # bool[]

    def dump(self, obj: Any) -> Buffer:
        data: bytes = obj.data
        return data


def _transfer(row: Sequence[Any]) -> Transfer:
    if row[6] >= 0:
        return Transfer._make(row)
    return Transfer._make((*row[:6], decode_u64(row[6]), *row[7:]))


def _account_state(row: Sequence[Any]) -> AccountState:
    return AccountState(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        decode_u64(row[5]),
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        row[12],
    )


def _account(row: Sequence[Any]) -> Account:
    return _account_state(row).to_account()


def _account_record(row: Sequence[Any]) -> AccountRecord:
    """An account as created, from `reads.ACCOUNT_RECORD_COLUMNS`."""
    return AccountRecord(row[0], row[1], row[2], row[3], row[4], decode_u64(row[5]), *row[6:])


def _connection_lost(error: psycopg.Error) -> bool:
    """The error says the session ended: a connection exception (class 08) or the server
    shutting the backend down (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
    connect now)."""
    sqlstate = error.sqlstate or ""
    return sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03")


def _closed_by_server(connection: psycopg.Connection[Any]) -> bool:
    """Whether the server ended this idle session (a restart, a failover, an administrator):
    it says so on the socket before closing it. Read now, before a write is sent whose
    failure could not tell whether its COMMIT arrived. No wait: a poll with no timeout."""
    try:
        poller = select.poll()  # not select(): descriptors above 1,023 are fine
        poller.register(connection.fileno(), select.POLLIN)
        if poller.poll(0):
            connection.pgconn.consume_input()
    except (OSError, psycopg.Error):
        return True
    return connection.pgconn.status != psycopg.pq.ConnStatus.OK


def _translate(error: psycopg.Error) -> StoreError:
    if error.sqlstate == _STALE_SQLSTATE:
        return StaleReadError(str(error))
    if error.sqlstate in _TRANSIENT_SQLSTATES:
        return TransientStoreError(f"{type(error).__name__}: {error}")
    return StoreError(f"{type(error).__name__}: {error}")


@lru_cache(maxsize=1024)
def _placeholders(sql: str) -> str:
    """Shared SQL uses `?` placeholders (SQLite's); psycopg wants `%s` (and `%%` for `%`)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresSession:
    """`SqlSession` on one psycopg connection."""

    dialect = "postgresql"

    def __init__(
        self, connection: psycopg.Connection[Any], pipeline: psycopg.Pipeline | None = None
    ) -> None:
        self._connection = connection
        # A write transaction runs in pipeline mode; other contexts' statements are synced
        # one by one, so that a rowcount or an error belongs to the statement that made it.
        self._pipeline = pipeline
        self._unsynced = False  # `write`s sent since the last sync

    def _sync(self) -> None:
        self._unsynced = False
        if self._pipeline is not None and self._connection.pgconn.pipeline_status:
            self._pipeline.sync()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        try:
            cursor = self._connection.execute(_placeholders(sql), parameters)
            self._sync()
            return cursor.rowcount
        except psycopg.Error as error:
            raise _transient_or_same(error) from error

    def write(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        try:
            self._connection.execute(_placeholders(sql), parameters)
            self._unsynced = self._pipeline is not None  # else it ran, answered, already
        except psycopg.Error as error:
            raise _transient_or_same(error) from error

    def flush(self) -> None:
        if not self._unsynced:
            return
        try:
            self._sync()
        except psycopg.Error as error:
            raise _transient_or_same(error) from error

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            with self._connection.cursor() as cursor:
                cursor.executemany(_placeholders(sql), rows)
                self._sync()
        except psycopg.Error as error:
            raise _transient_or_same(error) from error

    def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            rows: list[tuple[Any, ...]] = self._connection.execute(
                _placeholders(sql), parameters
            ).fetchall()
        except psycopg.Error as error:
            raise _transient_or_same(error) from error
        return rows

    def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = self._connection.execute(
                _placeholders(sql), parameters
            ).fetchone()
        except psycopg.Error as error:
            raise _transient_or_same(error) from error
        return row

    def fetch_batch(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[tuple[Any, ...]]]:
        try:
            cursors = [
                self._connection.execute(_placeholders(sql), parameters)
                for sql, parameters in statements
            ]
            self._sync()
            return [cursor.fetchall() for cursor in cursors]
        except psycopg.Error as error:
            raise _transient_or_same(error) from error


def _transient_or_same(error: psycopg.Error) -> Exception:
    if error.sqlstate in _TRANSIENT_SQLSTATES or isinstance(error, psycopg.OperationalError):
        return TransientStoreError(f"{type(error).__name__}: {error}")
    return error


class PostgresWriteTransaction:
    def __init__(
        self,
        store: PostgresLedgerStore,
        connection: psycopg.Connection[Any],
        pipeline: psycopg.Pipeline | None,
        pipeline_context: AbstractContextManager[psycopg.Pipeline] | None = None,
    ) -> None:
        self._store = store
        self._connection = connection
        self._cursor = connection.cursor()
        # Pipeline mode from BEGIN until COPY or COMMIT: statements whose results are not
        # needed yet travel together, so a small group costs a few round trips, not a dozen.
        self._pipeline = pipeline
        self._pipeline_context = pipeline_context
        self._journal_cursor: psycopg.Cursor[Any] | None = None
        self._journal_entry: JournalEntry | None = None
        self._opened_head: tuple[int, int, bytes] | None = None  # as `open` found it
        self._prefetched: tuple[set[int], list[Any]] = (set(), [])
        self.sql = PostgresSession(connection, pipeline)
        # The accounts version as first read in this transaction (after the writer lock), and
        # how many statements of ours wrote accounts since (each moves it by one).
        self._accounts_version: int | None = None
        self._account_statements = 0
        self._accounts_version_now: int | None = None  # read back after our own writes
        self.committed = False

    def end_pipeline(self, error: BaseException | None = None) -> None:
        """Leave pipeline mode (before COPY, which it does not allow). Errors of statements
        still in flight surface here, unless `error` is already on its way out."""
        context, self._pipeline_context, self._pipeline = self._pipeline_context, None, None
        if context is not None:
            self.sql = PostgresSession(self._connection)
            if error is None:
                context.__exit__(None, None, None)
            else:
                context.__exit__(type(error), error, error.__traceback__)

    def _begin(self, accounts_version: int) -> None:
        self._accounts_version = accounts_version
        self._store._check_cache(accounts_version)

    def _ensure_begun(self) -> int:
        if self._accounts_version is None:
            row = self._cursor.execute("SELECT version FROM ledger_accounts_version").fetchone()
            invariant(row is not None, "the accounts version row exists")
            assert row is not None
            self._begin(row[0])
        assert self._accounts_version is not None
        return self._accounts_version

    def open(
        self,
        now_ns: int,
        expiry_limit: int,
        transfer_ids: Set[int] = frozenset(),
        account_ids: Set[int] = frozenset(),
        all_new: bool = False,
    ) -> tuple[int, int, bytes, list[Transfer]]:
        store = self._store
        trusted, version, now = store._head, store._accounts_version, time.monotonic()
        if (
            all_new
            and transfer_ids
            and trusted is not None
            and version is not None
            and now - store._head_at <= ledger_trust_own_commit_ms / 1000
            and now >= store._trust_after
            and all(account_id in store._accounts for account_id in account_ids)
        ):
            # Only new transfers between accounts we hold, and nothing moved since our last
            # commit as far as we know: no read, so no round trip before the writes. The
            # database checks it all after the writer lock (`_UNMOVED`); if anything did move
            # the commit fails with StaleReadError and the group is redone reading first.
            sequence, timestamp_last, _ = trusted
            store.unread_groups += 1
            self._begin(version)
            wanted = set(transfer_ids)
            ids = _Int8Array(storable_ids(wanted))
            self._cursor.execute(
                _UNMOVED, (version, sequence, ids, ids, max(now_ns, timestamp_last + 1))
            )
            self._prefetched = (wanted, [])  # none stored: checked by `_UNMOVED`
            self._opened_head = trusted
            return (*trusted, [])
        # The writer lock is already queued (in `write()`), so this is the newest entry. The
        # accounts version comes along, and the due expiries right behind it: in pipeline mode
        # BEGIN, the lock and both queries make one round trip.
        head = self._connection.cursor()
        head.execute(
            "SELECT v.version, j.sequence, j.timestamp_last, j.hash"
            " FROM ledger_accounts_version AS v LEFT JOIN LATERAL ("
            "  SELECT sequence, timestamp_last, hash FROM journal ORDER BY sequence DESC LIMIT 1"
            " ) AS j ON TRUE"
        )
        columns = ", ".join("t." + c.strip() for c in _TRANSFER_COLUMNS.split(","))
        due = self._connection.cursor()
        due.execute(
            f"SELECT {columns} FROM pending_states p JOIN transfers t ON t.id = p.pending_id"
            " WHERE p.state = 1 AND p.expires_at > 0 AND p.expires_at <= GREATEST(%s,"
            "  (SELECT timestamp_last FROM journal ORDER BY sequence DESC LIMIT 1) + 1)"
            " ORDER BY p.expires_at, p.pending_id LIMIT %s",
            (now_ns, expiry_limit),
        )
        prefetch: psycopg.Cursor[Any] | None = None
        if transfer_ids:
            # The group's transfer ids ride along: most are new, and `load` needs to know.
            prefetch = self._connection.cursor()
            ids = _Int8Array(storable_ids(set(transfer_ids)))
            prefetch.execute(_LOAD_TRANSFERS, (ids, ids))
        row = head.fetchone()
        invariant(row is not None, "the accounts version row exists")
        assert row is not None
        expiries = [_transfer(r) for r in due.fetchall()]
        if prefetch is not None:
            self._prefetched = (set(transfer_ids), prefetch.fetchall())
        if self._accounts_version is None:
            self._begin(row[0])
        if row[1] is None:
            self._opened_head = (0, 0, genesis_hash)
        else:
            self._opened_head = (row[1], row[2], bytes(row[3]))
        return (*self._opened_head, expiries)

    def load(self, state: LedgerState, account_ids: set[int], transfer_ids: set[int]) -> None:
        self._ensure_begun()
        cursor = self._cursor
        transfers = state.transfers
        missing_transfers = storable_ids([i for i in transfer_ids if i not in transfers])
        pending_ids: list[int] = []
        if missing_transfers:
            prefetched_ids, prefetched_rows = self._prefetched
            if prefetched_ids.issuperset(missing_transfers):
                # Looked up when the transaction began; nothing but this transaction has
                # written since (the writer lock), and what it wrote is in `state`.
                wanted = set(missing_transfers)
                rows = [row for row in prefetched_rows if row[0] in wanted]
            else:
                # Transfers and remembered failures in one round trip; the last column says.
                ids = _Int8Array(missing_transfers)
                cursor.execute(_LOAD_TRANSFERS, (ids, ids))
                rows = cursor.fetchall()
            for row in rows:
                if row[13]:
                    state.failed.add(row[0])
                    continue
                transfer = _transfer(row[:13])
                transfers[transfer.id] = transfer
                if transfer.flags & 2:  # pending: its accounts and state are needed too
                    pending_ids.append(transfer.id)
                    account_ids.add(transfer.debit_account_id)
                    account_ids.add(transfer.credit_account_id)
        if pending_ids:
            cursor.execute(
                "SELECT pending_id, state, expires_at FROM pending_states"
                " WHERE pending_id = ANY(%b::bigint[])",
                (_Int8Array(pending_ids),),
            )
            for pending_id, pending_state, expires_at in cursor.fetchall():
                state.pending[pending_id] = PendingStatus(pending_id, pending_state, expires_at)
        accounts = state.accounts
        cache = self._store._accounts
        missing_accounts = storable_ids(from_cache(account_ids, accounts, cache))
        if missing_accounts:
            cursor.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY(%b::bigint[])",
                (_Int8Array(missing_accounts),),
            )
            for row in cursor.fetchall():
                account = _account_state(row)
                accounts[account.id] = account
                cache[account.id] = account

    def write_transfers(self, transfers: Sequence[Transfer], batch_events: int) -> None:
        """Nothing yet: `persist` writes the group's transfers in one go (pipelined INSERTs or
        binary COPY), which costs fewer round trips than writing them as they come."""

    def persist(self, outcome: BatchOutcome, state: LedgerState) -> None:
        self._ensure_begun()
        cursor = self._cursor
        if outcome.accounts_created or len(outcome.transfers_created) > _PIPELINED_ROWS_MAX:
            self.end_pipeline()
        if outcome.accounts_created:
            with cursor.copy(
                f"COPY accounts ({_ACCOUNT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(_ACCOUNT_TYPES)
                for a in outcome.accounts_created:
                    copy.write_row(
                        (
                            a.id,
                            a.ledger,
                            a.code,
                            a.flags,
                            a.user_data_128,
                            encode_u64(a.user_data_64),
                            a.user_data_32,
                            0,
                            0,
                            0,
                            0,
                            a.timestamp,
                            a.closed,
                        )
                    )
            self._account_statements += 1
            cache = self._store._accounts
            for a in outcome.accounts_created:
                cache[a.id] = a
        if outcome.transfers_created and self._pipeline is not None:
            # One statement for the group's transfers (one row per INSERT would cost the
            # server and psycopg a statement each).
            created = outcome.transfers_created
            columns = list(zip(*created, strict=True))
            cursor.execute(
                _INSERT_TRANSFERS_UNNEST,
                (
                    *(_Int8Array(column) for column in columns[:5]),
                    list(columns[5]),
                    _Int8Array([v if v < ID_LIMIT else encode_u64(v) for v in columns[6]]),
                    *(_Int8Array(column) for column in columns[7:]),
                ),
            )
        elif outcome.transfers_created:
            with cursor.copy(
                f"COPY transfers ({_TRANSFER_COLUMNS}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                # Rows stream to the server from a background thread while this one adapts
                # the next: the two processes overlap on two cores.
                copy.set_types(_TRANSFER_TYPES)
                write_row = copy.write_row
                for t in outcome.transfers_created:
                    if t.user_data_64 >= ID_LIMIT:
                        t = t._replace(user_data_64=encode_u64(t.user_data_64))
                    write_row(t)
        if outcome.expiries:
            cursor.execute(
                "INSERT INTO expiries (pending_id, timestamp)"
                " SELECT * FROM unnest(%b::bigint[], %b::bigint[])",
                (
                    _Int8Array([e.pending_id for e in outcome.expiries]),
                    _Int8Array([e.timestamp for e in outcome.expiries]),
                ),
            )
        if outcome.pending_changed:
            statuses = outcome.pending_changed.values()
            cursor.execute(
                _UPSERT_PENDING,
                (
                    _Int8Array([s.pending_id for s in statuses]),
                    _Int8Array([s.state for s in statuses]),
                    _Int8Array([s.expires_at for s in statuses]),
                ),
            )
        if outcome.accounts_changed:
            changed = [state.accounts[i] for i in outcome.accounts_changed]
            cursor.execute(
                _UPDATE_ACCOUNTS,
                (
                    _Int8Array([a.id for a in changed]),
                    _Int8Array([a.debits_pending for a in changed]),
                    _Int8Array([a.debits_posted for a in changed]),
                    _Int8Array([a.credits_pending for a in changed]),
                    _Int8Array([a.credits_posted for a in changed]),
                    _BoolArray([a.closed for a in changed]),
                    len(changed),
                ),
            )
            self._account_statements += 1
        if outcome.failed:
            cursor.execute(
                "INSERT INTO transfers_failed (id, status, timestamp)"
                " SELECT * FROM unnest(%b::bigint[], %b::integer[], %b::bigint[])",
                (
                    _Int8Array([f.id for f in outcome.failed]),
                    _Int8Array([f.status for f in outcome.failed]),
                    _Int8Array([f.timestamp for f in outcome.failed]),
                ),
            )
        if outcome.balances and (
            self._pipeline is not None and len(outcome.balances) <= _PIPELINED_ROWS_MAX
        ):
            cursor.executemany(
                f"INSERT INTO account_balances ({_BALANCE_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                outcome.balances,
            )
        elif outcome.balances:
            self.end_pipeline()
            with cursor.copy(
                f"COPY account_balances ({_BALANCE_COLUMNS}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int8"] * 6)
                for balance in outcome.balances:
                    copy.write_row(balance)

    def append_journal(self, entry: JournalEntry) -> None:
        # The accounts version as our own writes left it comes back with the insert; read at
        # COMMIT, so that in pipeline mode the insert travels with the batch's writes.
        self._journal_entry = entry
        self._journal_cursor = self._connection.cursor()
        self._journal_cursor.execute(
            "INSERT INTO journal (sequence, timestamp_first, timestamp_last, record_count,"
            " payload_hash, previous_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " RETURNING (SELECT version FROM ledger_accounts_version)",
            entry,
        )

    def commit(self) -> None:
        version_cursor = self._journal_cursor
        if version_cursor is None and self._account_statements:
            version_cursor = self._connection.cursor()
            version_cursor.execute("SELECT version FROM ledger_accounts_version")
        self._store._before_commit()
        try:
            # In pipeline mode the batch's writes, its journal entry and COMMIT go in one round
            # trip: a write that fails (every check is in the statements themselves) fails the
            # transaction, and its COMMIT then rolls back; the error is raised here. COMMIT is
            # queued as a statement and the pipeline left at once, so one Sync answers both
            # (`Connection.commit()` syncs, and leaving the pipeline would sync again).
            if self._pipeline is not None:
                self._cursor.execute("COMMIT")
                self.end_pipeline()
            else:
                self._connection.commit()
        except psycopg.Error as error:
            if self._connection.closed or self._connection.broken or _connection_lost(error):
                # COMMIT was sent and the connection broke: it may or may not have happened.
                # Not transient, since a blind retry could report `exists` for its own work.
                # (The server's goodbye may arrive as the error of a write sent before COMMIT,
                # before the client sees the socket close: the same case, however it shows.)
                self._store._abort(self._connection)
                raise StoreError(f"commit outcome unknown, connection lost: {error}") from error
            raise
        self.committed = True
        if version_cursor is not None:
            row = version_cursor.fetchone()
            self._accounts_version_now = None if row is None else row[0]
        version = self._accounts_version
        if self._account_statements:
            assert version is not None  # persist() began the transaction
            # Anything but our own statements moved it: someone wrote accounts meanwhile
            # (around the application), so what we cached may be stale. (Nobody can move it
            # between our writes and COMMIT: our writes hold its row lock.)
            if self._accounts_version_now != version + self._account_statements:
                version = None
            else:
                version = self._accounts_version_now
        if self._accounts_version is None:
            return  # nothing read or written: the cache is as valid as before
        self._store._accounts_version = version
        if version is None:
            self._store._accounts.clear()
        # The head as this commit left it, for the next group that may trust it (together
        # with the accounts version just stored: both go whenever the cache does).
        entry = self._journal_entry
        if version is None or self._opened_head is None:
            self._store._head = None
        elif entry is not None:
            self._store._head = (entry.sequence, entry.timestamp_last, entry.hash)
        else:
            self._store._head = self._opened_head
        self._store._head_at = time.monotonic()


class PostgresLedgerStore(SqlReads):
    """The ledger on one PostgreSQL database, given by a libpq connection string."""

    dialect = "postgresql"
    reads_in_process = False  # every read is a round trip
    placeholder = "%s"
    filter_casts: ClassVar[dict[str, str]] = {
        "user_data_128": "::numeric",
        **dict.fromkeys(("user_data_64", "user_data_32", "ledger", "code"), "::bigint"),
    }
    _account_of = staticmethod(_account)
    _transfer_of = staticmethod(_transfer)
    _account_record_of = staticmethod(_account_record)

    @staticmethod
    def _encode_u128(value: int) -> Any:
        return value  # a numeric column takes the integer as it is

    def __init__(self, dsn: str) -> None:
        invariant(bool(dsn), "a PostgreSQL connection string is required")
        self.dsn = dsn
        self._write_lock = threading.Lock()
        self._readers = threading.local()
        self._reader_list: list[psycopg.Connection[Any]] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        # Accounts as this store last committed them, trusted while the database's accounts
        # version is the one that commit left (see `write()`); cleared on any failure.
        self._accounts: dict[int, AccountState] = {}
        self._accounts_version: int | None = None
        # The journal head (sequence, last timestamp, hash) our last commit left, trusted with
        # `_accounts_version` by groups of new transfers (`open(all_new=True)`).
        self._head: tuple[int, int, bytes] | None = None
        self._head_at = 0.0  # time.monotonic() of that commit
        # After a group that trusted it was refused (another writer is about), read first for
        # a while rather than waste a transaction on every other group.
        self._trust_after = 0.0
        self.unread_groups = 0  # groups that trusted the cache (no read before the writes)
        self.stale_groups = 0  # of those, the ones the database refused: redone reading first
        # Test hook: called right before COMMIT, to inject storage failures.
        self.before_commit_hook: Any = None
        self._writer = self._connect(writer=True)
        try:
            self._ensure_schema()
        except psycopg.Error as error:
            self._writer.close()
            raise _translate(error) from error

    # -- connections ---------------------------------------------------------------------------

    def _connect(self, *, writer: bool) -> psycopg.Connection[Any]:
        """Every connection is in autocommit mode: the writer sends BEGIN itself (psycopg's own
        BEGIN in pipeline mode waits for a Sync, a round trip, before the statements behind
        it go out); readers read the newest committed state with each statement."""
        try:
            connection = psycopg.connect(self.dsn, autocommit=True)
        except psycopg.Error as error:
            raise TransientStoreError(f"cannot connect: {error}") from error
        # NUMERIC(39, 0) columns (user data 128) come back as Python ints, parsed in C.
        connection.adapters.register_loader("numeric", IntLoader)
        connection.adapters.register_dumper(_Int8Array, _Int8ArrayDumper)
        connection.adapters.register_dumper(_BoolArray, _BoolArrayDumper)
        if writer:
            try:  # a writer waits for another at most this long (then: transient, retried)
                connection.execute(
                    "SELECT set_config('lock_timeout', %s, false)",
                    (f"{database_busy_timeout_ms}ms",),
                )
                connection.commit()
            except psycopg.Error as error:
                connection.close()
                raise TransientStoreError(f"cannot connect: {error}") from error
        return connection

    def _ensure_schema(self) -> None:
        """Create or upgrade the schema once, whoever starts first (advisory lock)."""
        connection = self._writer
        if self._schema_version() == SCHEMA_VERSION:
            return
        with connection.transaction():
            connection.execute(_ADVISORY_LOCK, (_SCHEMA_LOCK_CLASS,))
            if self._schema_version() != SCHEMA_VERSION:
                connection.execute(SCHEMA)
                connection.execute("DELETE FROM ledger_schema")
                connection.execute(
                    "INSERT INTO ledger_schema (version) VALUES (%s)", (SCHEMA_VERSION,)
                )

    def _schema_version(self) -> int | None:
        row = self._writer.execute("SELECT to_regclass('ledger_schema') IS NOT NULL").fetchone()
        if row is None or not row[0]:
            return None
        version = self._writer.execute("SELECT max(version) FROM ledger_schema").fetchone()
        return None if version is None else version[0]

    def _writer_connection(self) -> psycopg.Connection[Any]:
        invariant(not self._closed, "the store is closed")
        if self._writer.closed or self._writer.broken or _closed_by_server(self._writer):
            self._writer.close()
            self._writer = self._connect(writer=True)
        return self._writer

    def _reader(self) -> psycopg.Connection[Any]:
        connection: psycopg.Connection[Any] | None = getattr(self._readers, "connection", None)
        if connection is None or connection.closed or connection.broken:
            invariant(not self._closed, "the store is closed")
            connection = self._connect(writer=False)
            self._readers.connection = connection
            with self._readers_lock:
                self._reader_list.append(connection)
        return connection

    def _before_commit(self) -> None:
        if self.before_commit_hook is not None:
            self.before_commit_hook()

    def reader(self) -> PostgresSession:
        return PostgresSession(self._reader())

    def ensure_schema(self, name: str, script: str) -> None:
        invariant(bool(name), "a schema needs a name")
        with self._write_lock:
            connection = self._writer_connection()
            try:
                with connection.transaction():
                    connection.execute(_ADVISORY_LOCK, (_SCHEMA_LOCK_CLASS,))
                    connection.execute(script)
            except psycopg.Error as error:
                raise self._failed(connection, error) from error

    # -- writes --------------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[PostgresWriteTransaction]:
        with self._write_lock:
            connection = self._writer_connection()
            pipeline_context = connection.pipeline()
            pipeline: psycopg.Pipeline | None = None
            try:
                pipeline = pipeline_context.__enter__()
                # Serialize writers (in every process): the journal head and the balances
                # read after this point stay ours until COMMIT. (The accounts version must be
                # read by a later statement: this one's snapshot predates the lock.) Pipelined:
                # BEGIN, the lock and the head query make one round trip.
                connection.execute("BEGIN")
                connection.execute(_ADVISORY_LOCK, (_WRITE_LOCK_CLASS,))
            except psycopg.Error as error:
                if pipeline is not None:
                    pipeline_context.__exit__(type(error), error, error.__traceback__)
                raise self._failed(connection, error) from error
            transaction = PostgresWriteTransaction(self, connection, pipeline, pipeline_context)
            try:
                try:
                    yield transaction
                except BaseException as error:
                    transaction.end_pipeline(error)
                    raise
                transaction.end_pipeline()
            except psycopg.Error as error:
                raise self._failed(connection, error) from error
            except BaseException:
                self._abort(connection)
                raise
            if not transaction.committed:
                self._abort(connection)

    def _check_cache(self, accounts_version: int) -> None:
        if accounts_version != self._accounts_version:
            # Someone committed accounts since our last commit: reload them.
            self._accounts.clear()
            self._accounts_version = None
            self._head = None

    def _failed(self, connection: psycopg.Connection[Any], error: psycopg.Error) -> StoreError:
        """Roll back after a failure inside a write transaction, and say what it was. A lost
        connection before COMMIT loses the transaction with it: nothing was committed, so a
        retry on a new connection gives exactly the same results (transient)."""
        lost = connection.closed or connection.broken
        self._abort(connection)
        if lost:
            return TransientStoreError(f"connection lost before commit: {error}")
        if error.sqlstate == _STALE_SQLSTATE:
            self.stale_groups += 1
            self._trust_after = time.monotonic() + ledger_trust_own_commit_ms / 1000
        return _translate(error)

    def _abort(self, connection: psycopg.Connection[Any]) -> None:
        self._accounts.clear()  # the batch mutated cached states in place
        self._accounts_version = None
        self._head = None  # read first next time
        if connection.closed:
            return
        try:
            connection.rollback()
        except psycopg.Error:
            connection.close()  # broken: the next write reconnects

    # -- reads ---------------------------------------------------------------------------------

    def _select(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        for attempt in (1, 2):
            connection = self._reader()
            try:
                return connection.execute(sql, parameters).fetchall()
            except psycopg.OperationalError as error:
                # A broken connection (server restart, failover): reads are safe to retry once.
                if attempt == 1 and connection.broken:
                    continue
                raise _translate(error) from error
            except psycopg.Error as error:
                raise _translate(error) from error
        raise StoreError("unreachable")  # pragma: no cover

    def _id_in(self, column: str, ids: list[int]) -> tuple[str, Any]:
        return f"{column} = ANY(%b::bigint[])", _Int8Array(ids)

    def get_account_transfers(self, account_filter: AccountFilter) -> list[Transfer]:
        f = account_filter
        suffix, parameters = self._range(f.timestamp_min, f.timestamp_max, f.limit, f.reversed)
        sides = []
        if f.debits:
            sides.append("debit_account_id = %s")
        if f.credits:
            sides.append("credit_account_id = %s")
        if not sides or not 0 < f.account_id < ID_LIMIT:
            return []
        # Each side on its own (account, timestamp) index: with an OR of the two, the generic
        # plan of the prepared statement walked transfers in timestamp order and filtered
        # (12 ms for a page of an account with 35 transfers among 172,000, against 0.2 ms).
        sql = merged_sides(
            [f"SELECT {_TRANSFER_COLUMNS} FROM transfers WHERE {side}{suffix}" for side in sides],
            "timestamp",
            f.reversed,
            "%s",
        )
        bound = [f.account_id, *parameters] * len(sides)
        if len(sides) > 1:
            bound.append(parameters[-1])
        rows = self._select(sql, bound)
        return [_transfer(row) for row in rows]

    def execute_unchecked(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """Run raw SQL in its own transaction on the writer connection, around the application
        (tests and repairs). `?` placeholders are accepted as in the SQLite store. Whatever the
        database refuses, at the statement or at COMMIT, raises `StoreError`."""
        if parameters:
            sql = sql.replace("?", "%s")
        with self._write_lock:
            connection = self._writer_connection()
            self._accounts.clear()
            self._accounts_version = None
            try:
                with connection.transaction():
                    connection.execute(sql, parameters or None)
            except psycopg.Error as error:
                self._abort(connection)
                raise _translate(error) from error

    def close(self) -> None:
        with self._write_lock:
            self._closed = True
            self._writer.close()
        with self._readers_lock:
            readers, self._reader_list = self._reader_list, []
        for reader in readers:
            reader.close()


__all__ = ["SCHEMA", "PendingState", "PostgresLedgerStore", "errors"]
