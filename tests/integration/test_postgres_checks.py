"""PostgreSQL is the last line of defence: writes around the application are refused.

Each test sets up books through the service, then writes to the tables directly on a plain
connection, as a buggy or careless program would. A change of balances that the transfers and
expiries of the same transaction do not account for is refused at COMMIT by the deferred balance
check; a CHECK constraint refuses at the statement. Either way nothing of the transaction stays.
A correct write around the application (transfer and both balances together) is accepted, so
the check is not merely refusing everything.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from hazina.kernel.clock import FixedClock
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import Account, AccountRequest, TransferRequest
from hazina.ledger.service import LedgerService
from hazina.ledger.store.base import StoreError
from hazina.ledger.store.postgres import PostgresLedgerStore
from tests.postgres_server import PostgresServer, drop_database, fresh_namespace

pytestmark = pytest.mark.postgres

ISSUER, ALICE, BOB, SAVER, OTHER_LEDGER = 1, 2, 3, 4, 5
_LIMITED = int(AccountFlags.debits_must_not_exceed_credits)
_TRANSFER_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount, pending_id, user_data_128, user_data_64,"
    " user_data_32, timeout, ledger, code, flags, timestamp"
)


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> Iterator[str]:
    location = fresh_namespace(postgres_server)
    yield location
    drop_database(postgres_server, location)


@pytest.fixture
def ledger(dsn: str) -> Iterator[LedgerService]:
    """Issuer 1 (no limits) funded Alice 2 with 100 and Saver 4 (limited) with 50; Bob 3 is
    limited and empty; account 5 is on ledger 2. Transfer 12 is a pending 10 from 1 to 3."""
    service = LedgerService(PostgresLedgerStore(dsn), FixedClock())
    assert (
        service.create_accounts(
            [
                AccountRequest(ISSUER, 1, 1),
                AccountRequest(ALICE, 1, 1, flags=_LIMITED),
                AccountRequest(BOB, 1, 1, flags=_LIMITED),
                AccountRequest(SAVER, 1, 1, flags=_LIMITED),
                AccountRequest(OTHER_LEDGER, 2, 1),
            ]
        )
        == []
    )
    assert (
        service.create_transfers(
            [
                TransferRequest(10, ISSUER, ALICE, 100, 1, 1),
                TransferRequest(11, ISSUER, SAVER, 50, 1, 1),
                TransferRequest(
                    12, ISSUER, BOB, 10, 1, 1, flags=TransferFlags.pending, timeout=3600
                ),
            ]
        )
        == []
    )
    yield service
    service.close()


def _books(service: LedgerService) -> tuple[list[Account], int, int]:
    store = service.store
    assert isinstance(store, PostgresLedgerStore)
    transfers = sum(len(batch) for batch in store.iterate_transfers(100))
    return store.all_accounts(), transfers, len(store.journal(0, 100))


def _refused_at_commit(dsn: str, *statements: str) -> errors.CheckViolation:
    """Run the statements in one transaction: each succeeds, and COMMIT is refused."""
    with psycopg.connect(dsn) as connection:
        for statement in statements:
            connection.execute(statement)
        with pytest.raises(errors.CheckViolation) as refused:
            connection.commit()
    assert refused.value.diag.constraint_name == "ledger_balance_check"
    return refused.value


def _transfer_row(transfer_id: int, debit: int, credit: int, amount: int, **more: int) -> str:
    values = {
        "id": transfer_id,
        "debit_account_id": debit,
        "credit_account_id": credit,
        "amount": amount,
        "pending_id": 0,
        "user_data_128": 0,
        "user_data_64": 0,
        "user_data_32": 0,
        "timeout": 0,
        "ledger": 1,
        "code": 1,
        "flags": 0,
        "timestamp": 1_800_000_000_000_000_000 + transfer_id,
    } | more
    columns = [c.strip() for c in _TRANSFER_COLUMNS.split(",")]
    return (
        f"INSERT INTO transfers ({_TRANSFER_COLUMNS})"
        f" VALUES ({', '.join(str(values[c]) for c in columns)})"
    )


def test_changing_one_balance_is_refused_at_commit(ledger: LedgerService, dsn: str) -> None:
    before = _books(ledger)
    refused = _refused_at_commit(
        dsn, f"UPDATE accounts SET credits_posted = credits_posted + 1000 WHERE id = {ALICE}"
    )
    assert "ledger 1 does not balance" in str(refused)
    assert _books(ledger) == before


def test_moving_money_without_a_transfer_is_refused_at_commit(
    ledger: LedgerService, dsn: str
) -> None:
    before = _books(ledger)
    refused = _refused_at_commit(
        dsn,
        f"UPDATE accounts SET debits_posted = debits_posted + 60 WHERE id = {ALICE}",
        f"UPDATE accounts SET credits_posted = credits_posted + 60 WHERE id = {BOB}",
    )
    assert f"account {ALICE} changed by" in str(refused)
    assert "imply (0, 0, 0, 0)" in str(refused)
    assert _books(ledger) == before


def test_a_transfer_without_its_balances_is_refused_at_commit(
    ledger: LedgerService, dsn: str
) -> None:
    before = _books(ledger)
    refused = _refused_at_commit(dsn, _transfer_row(20, ALICE, BOB, 30))
    assert "changed by (debits pending 0, debits posted 0" in str(refused)
    assert _books(ledger) == before


def test_a_transfer_booked_against_other_accounts_is_refused_at_commit(
    ledger: LedgerService, dsn: str
) -> None:
    """The totals of the ledger move as the transfer says, but not on its accounts."""
    before = _books(ledger)
    _refused_at_commit(
        dsn,
        _transfer_row(20, ALICE, BOB, 30),
        f"UPDATE accounts SET debits_posted = debits_posted + 30 WHERE id = {SAVER}",
        f"UPDATE accounts SET credits_posted = credits_posted + 30 WHERE id = {BOB}",
    )
    assert _books(ledger) == before


def test_a_transfer_across_ledgers_is_refused_at_commit(ledger: LedgerService, dsn: str) -> None:
    before = _books(ledger)
    refused = _refused_at_commit(
        dsn,
        _transfer_row(20, ISSUER, OTHER_LEDGER, 30),
        f"UPDATE accounts SET debits_posted = debits_posted + 30 WHERE id = {ISSUER}",
        f"UPDATE accounts SET credits_posted = credits_posted + 30 WHERE id = {OTHER_LEDGER}",
    )
    assert "does not balance" in str(refused)
    assert _books(ledger) == before


def test_overdrawing_a_limited_account_is_refused(ledger: LedgerService, dsn: str) -> None:
    """A CHECK constraint cannot be deferred: it refuses the UPDATE itself, and the
    transaction, balanced as it is, can only be rolled back."""
    before = _books(ledger)
    with psycopg.connect(dsn) as connection:
        connection.execute(_transfer_row(20, SAVER, BOB, 80))
        with pytest.raises(errors.CheckViolation) as refused:
            connection.execute(
                f"UPDATE accounts SET debits_posted = debits_posted + 80 WHERE id = {SAVER};"
                f" UPDATE accounts SET credits_posted = credits_posted + 80 WHERE id = {BOB}"
            )
        connection.rollback()
    assert refused.value.diag.constraint_name == "accounts_debits_must_not_exceed_credits"
    assert _books(ledger) == before


def test_a_complete_transfer_written_around_the_application_is_accepted(
    ledger: LedgerService, dsn: str
) -> None:
    with psycopg.connect(dsn) as connection:
        connection.execute(_transfer_row(20, ALICE, BOB, 30))
        connection.execute(
            f"UPDATE accounts SET debits_posted = debits_posted + 30 WHERE id = {ALICE}"
        )
        connection.execute(
            f"UPDATE accounts SET credits_posted = credits_posted + 30 WHERE id = {BOB}"
        )
        connection.commit()
    alice, bob = ledger.lookup_accounts([ALICE, BOB])
    assert (alice.debits_posted, bob.credits_posted) == (30, 30)


def test_posting_a_pending_transfer_must_release_it(ledger: LedgerService, dsn: str) -> None:
    post = _transfer_row(
        20, ISSUER, BOB, 10, pending_id=12, flags=int(TransferFlags.post_pending_transfer)
    )
    posted_only = (
        f"UPDATE accounts SET debits_posted = debits_posted + 10 WHERE id = {ISSUER}",
        f"UPDATE accounts SET credits_posted = credits_posted + 10 WHERE id = {BOB}",
    )
    before = _books(ledger)
    _refused_at_commit(dsn, post, *posted_only)
    assert _books(ledger) == before
    with psycopg.connect(dsn) as connection:  # with the release, the same post is accepted
        for statement in (post, *posted_only):
            connection.execute(statement)
        connection.execute(
            f"UPDATE accounts SET debits_pending = debits_pending - 10 WHERE id = {ISSUER}"
        )
        connection.execute(
            f"UPDATE accounts SET credits_pending = credits_pending - 10 WHERE id = {BOB}"
        )
        connection.commit()


@pytest.mark.parametrize(
    ("pending_id", "amount", "reason"),
    [(99, 10, "no such transfer"), (10, 10, "not pending"), (12, 11, "more than pending")],
)
def test_a_post_must_name_a_pending_transfer_it_fits(
    ledger: LedgerService, dsn: str, pending_id: int, amount: int, reason: str
) -> None:
    before = _books(ledger)
    with psycopg.connect(dsn) as connection:
        with pytest.raises(errors.CheckViolation, match="does not post or void"):
            connection.execute(
                _transfer_row(
                    20,
                    ISSUER,
                    ALICE if pending_id == 10 else BOB,
                    amount,
                    pending_id=pending_id,
                    flags=int(TransferFlags.post_pending_transfer),
                )
            )
        connection.rollback()
    assert _books(ledger) == before, reason


def test_an_expiry_must_release_the_pending_amount(ledger: LedgerService, dsn: str) -> None:
    before = _books(ledger)
    _refused_at_commit(
        dsn, "INSERT INTO expiries (timestamp, pending_id) VALUES (1800000000000000000, 12)"
    )
    assert _books(ledger) == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE transfers SET amount = 1 WHERE id = 10",
        "DELETE FROM transfers WHERE id = 10",
        "DELETE FROM accounts WHERE id = 5",
        "UPDATE accounts SET flags = 0 WHERE id = 2",
        "UPDATE accounts SET ledger = 2 WHERE id = 1",
        "TRUNCATE transfers CASCADE",
        "DELETE FROM journal",
        "UPDATE journal SET hash = payload_hash",
        "UPDATE account_balances SET credits_posted = credits_posted + 1",
        "DELETE FROM account_balances",
        "TRUNCATE account_balances",
        "DELETE FROM transfers_failed",
        "UPDATE transfers_failed SET status = 1",
    ],
)
def test_ledger_records_are_append_only(ledger: LedgerService, dsn: str, statement: str) -> None:
    before = _books(ledger)
    with psycopg.connect(dsn) as connection:
        with pytest.raises(errors.IntegrityConstraintViolation, match="append-only"):
            connection.execute(statement)
        connection.rollback()
    assert _books(ledger) == before


def test_the_store_reports_a_refused_raw_write_and_carries_on(
    ledger: LedgerService, dsn: str
) -> None:
    store = ledger.store
    assert isinstance(store, PostgresLedgerStore)
    before = _books(ledger)
    with pytest.raises(StoreError, match="ledger balance check"):
        store.execute_unchecked("UPDATE accounts SET credits_posted = 7 WHERE id = ?", (BOB,))
    assert _books(ledger) == before
    assert ledger.create_transfers([TransferRequest(30, ALICE, BOB, 5, 1, 1)]) == []
    assert ledger.lookup_accounts([BOB])[0].credits_posted == 5


def test_the_check_does_not_leak_into_the_next_transaction(ledger: LedgerService, dsn: str) -> None:
    """A refused transaction leaves nothing in the session for the next one to trip on."""
    with psycopg.connect(dsn) as connection:
        connection.execute(f"UPDATE accounts SET debits_posted = 1 WHERE id = {ISSUER}")
        with pytest.raises(errors.CheckViolation):
            connection.commit()
        connection.execute(f"UPDATE accounts SET closed = true WHERE id = {OTHER_LEDGER}")
        connection.commit()  # no balance moved: accepted
    assert ledger.lookup_accounts([OTHER_LEDGER])[0].flags & int(AccountFlags.closed)


def test_a_store_bug_that_miscounts_a_balance_is_refused_at_commit(
    ledger: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The application itself is not trusted either: a store that books one unit too many is
    stopped by the database, and its callers get an error, not a corrupted ledger."""
    from hazina.ledger.store import postgres

    before = _books(ledger)
    buggy = postgres._UPDATE_ACCOUNTS.replace(
        "credits_posted = u.credits_posted", "credits_posted = u.credits_posted + 1"
    )
    assert buggy != postgres._UPDATE_ACCOUNTS
    monkeypatch.setattr(postgres, "_UPDATE_ACCOUNTS", buggy)
    with pytest.raises(StoreError, match="ledger balance check"):
        ledger.create_transfers([TransferRequest(30, ALICE, BOB, 5, 1, 1)])
    assert _books(ledger) == before
    monkeypatch.undo()
    assert ledger.create_transfers([TransferRequest(30, ALICE, BOB, 5, 1, 1)]) == []
