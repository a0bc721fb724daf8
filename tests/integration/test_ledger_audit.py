"""`verify(store)` finds every kind of change made behind the ledger's back, and names the
first break: records edited, inserted or deleted (the journal's payload hash or record count),
journal entries deleted or edited (the sequence, the chain, the header hash), records outside
every entry, balances edited (with or without keeping the ledger balanced), the balance history
edited or cut, pending states and closed flags edited, and newest entries cut off together with
everything they moved (only a journal head kept elsewhere shows that).

On SQLite, where nothing but the application guards the tables; PostgreSQL refuses these edits
itself (`test_postgres_checks.py`), and `test_ledger_cli.py` shows a break there too."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from hazina.kernel.clock import FixedClock
from hazina.ledger.audit import JournalHead, verify
from hazina.ledger.domain.flags import AccountFlags, TransferFlags
from hazina.ledger.domain.model import AccountFilter, AccountRequest, TransferRequest
from hazina.ledger.service import LedgerService
from hazina.ledger.store.sqlite import SqliteLedgerStore

# The ledger below, one journal entry per batch (accounts 2 and 3 keep a balance history):
#   1: accounts 1-4 (4 records)     2: transfers 10-12 (3)
#   3: pending 20 (1)               4: 21 posts 20 in part (1)
#   5: pending 30 closing account 4 (1)
#   6: pending 40 of 2 to 3, 60 s   7: 40 expires (1 record, an expiry)
ENTRIES = 7


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite3"
    clock = FixedClock()
    service = LedgerService(SqliteLedgerStore(path), clock)
    try:
        history = AccountFlags.history
        accounts = [AccountRequest(i, 404, 1, history if i in (2, 3) else 0) for i in range(1, 5)]
        assert service.create_accounts(accounts) == []
        assert service.create_transfers([
            TransferRequest(10, 1, 2, 500, 404, 1),
            TransferRequest(11, 2, 3, 200, 404, 1),
            TransferRequest(12, 3, 1, 50, 404, 1),
        ]) == []  # fmt: skip
        assert (
            service.create_transfers(
                [TransferRequest(20, 1, 3, 300, 404, 1, TransferFlags.pending)]
            )
            == []
        )
        post = TransferRequest(21, 1, 3, 100, 404, 1, TransferFlags.post_pending_transfer, 20)
        assert service.create_transfers([post]) == []
        closing = TransferFlags.pending | TransferFlags.closing_debit
        assert service.create_transfers([TransferRequest(30, 4, 1, 1, 404, 1, closing)]) == []
        held = TransferRequest(40, 2, 3, 25, 404, 1, TransferFlags.pending, timeout=60)
        assert service.create_transfers([held]) == []
        clock.advance_seconds(61)
        service.expire_pending_transfers()
        report = verify(service.store)
        assert report.ok, report.problems
        assert (report.journal_entries, report.records, report.transfers) == (ENTRIES, 12, 7)
        # Each transfer and the expiry left a row for each history account it touched.
        assert len(service.get_account_balances(AccountFilter(2))) == 4  # 10, 11, 40, expiry
        assert len(service.get_account_balances(AccountFilter(3))) == 6
    finally:
        service.close()
    return path


Tamper = Callable[[sqlite3.Connection], object]


def problems_after(path: Path, tamper: Tamper) -> list[str]:
    with sqlite3.connect(path) as connection:
        tamper(connection)
    store = SqliteLedgerStore(path)
    try:
        report = verify(store)
    finally:
        store.close()
    assert not report.ok
    assert report.first_break == report.problems[0]
    return report.problems


def sql(statement: str, *parameters: object) -> Tamper:
    return lambda connection: connection.execute(statement, parameters)


@pytest.mark.parametrize(
    ("tamper", "first_break"),
    [
        pytest.param(
            sql("UPDATE transfers SET amount = 5000 WHERE id = 10"),
            "journal entry 2: its records were changed (payload hash differs)",
            id="a transfer's amount",
        ),
        pytest.param(
            sql("UPDATE accounts SET user_data_32 = 7 WHERE id = 3"),
            "journal entry 1: its records were changed (payload hash differs)",
            id="an account as created",
        ),
        pytest.param(
            sql("DELETE FROM transfers WHERE id = 11"),
            "journal entry 2: holds 2 records in its time range, the journal says 3",
            id="a transfer deleted",
        ),
        pytest.param(
            sql("DELETE FROM journal WHERE sequence = 3"),
            "journal entry 4: expected sequence 3 (an entry is missing)",
            id="a journal entry deleted",
        ),
        pytest.param(
            sql("UPDATE journal SET hash = ? WHERE sequence = 2", bytes(32)),
            "journal entry 2: its header was changed (hash differs)",
            id="an entry's hash",
        ),
        pytest.param(
            sql("UPDATE journal SET previous_hash = ? WHERE sequence = 4", bytes(32)),
            "journal entry 4: does not chain to the entry before it",
            id="an entry's link to the one before",
        ),
        pytest.param(
            sql("UPDATE journal SET record_count = 2 WHERE sequence = 2"),
            "journal entry 2: holds 3 records in its time range, the journal says 2",
            id="an entry's record count",
        ),
    ],
)
def test_changed_records_and_journal_entries_break_the_chain_where_they_are(
    path: Path, tamper: Tamper, first_break: str
) -> None:
    assert problems_after(path, tamper)[0] == first_break


def test_a_transfer_slipped_in_after_the_last_entry_is_found_even_with_balances_to_match(
    path: Path,
) -> None:
    # No entry's time range holds it, so the chain alone would not see it, and the balances
    # are edited to agree with it.
    problems = problems_after(
        path,
        lambda c: c.executescript(
            "INSERT INTO transfers (timestamp, id, debit_account_id, credit_account_id, amount,"
            " pending_id, user_data_128, user_data_64, user_data_32, timeout, ledger, code,"
            " flags, bucket) SELECT timestamp + 1000, 99, 4, 1, 70, 0, 0, 0, 0, 0, 404, 1, 0, 0"
            " FROM expiries;"
            "INSERT INTO transfer_buckets (bucket, transfers) VALUES (0, 1)"
            " ON CONFLICT (bucket) DO UPDATE SET transfers = transfers + 1;"
            "UPDATE accounts SET debits_posted = debits_posted + 70 WHERE id = 4;"
            "UPDATE accounts SET credits_posted = credits_posted + 70 WHERE id = 1;"
        ),
    )
    assert problems == [
        "13 records are stored but the journal covers 12"
        " (records outside every entry's time range; after the last entry: transfer 99)"
    ]


def test_an_edited_balance_is_found_even_when_the_ledger_still_balances(path: Path) -> None:
    # Account 1 paid 500 and 100 of its hold of 300, received 50, and holds 1 for account 4's
    # closing; account 2 received 500.
    problems = problems_after(
        path,
        lambda c: c.executescript(
            "UPDATE accounts SET debits_posted = debits_posted - 100 WHERE id = 1;"
            "UPDATE accounts SET credits_posted = credits_posted - 100 WHERE id = 2;"
        ),
    )
    assert problems == [
        "account 1: balances [0, 500, 1, 50] but transfers imply [0, 600, 1, 50]"
        " (debits pending, debits posted, credits pending, credits posted)",
        "account 2: balances [0, 200, 0, 400] but transfers imply [0, 200, 0, 500]"
        " (debits pending, debits posted, credits pending, credits posted)",
    ]


def test_an_edited_balance_on_one_side_also_unbalances_its_ledger(path: Path) -> None:
    problems = problems_after(path, sql("UPDATE accounts SET credits_posted = 0 WHERE id = 3"))
    assert problems[0].startswith(
        "account 3: balances [0, 50, 0, 0] but transfers imply [0, 50, 0, 300]"
    )
    assert problems[1] == "ledger 404: debits 850/1 (posted/pending) differ from credits 550/1"


def test_the_balance_history_is_rederived_from_transfers_and_expiries(path: Path) -> None:
    edited = problems_after(
        path,
        sql(
            "UPDATE account_balances SET credits_posted = credits_posted + 1"
            " WHERE account_id = 3 AND timestamp ="
            " (SELECT min(timestamp) FROM account_balances WHERE account_id = 3)"
        ),
    )
    assert edited == [
        "account 3: its balance history (6 rows) is not what its transfers and expiries imply"
        " (6 rows)"
    ]


def test_a_missing_history_row_is_found(path: Path) -> None:
    problems = problems_after(
        path,
        sql(
            "DELETE FROM account_balances WHERE account_id = 2"
            " AND timestamp = (SELECT timestamp FROM expiries)"
        ),
    )
    assert problems == [
        "account 2: its balance history (3 rows) is not what its transfers and expiries imply"
        " (4 rows)"
    ]


def test_a_deleted_expiry_breaks_its_journal_entry(path: Path) -> None:
    problems = problems_after(path, sql("DELETE FROM expiries"))
    assert problems[0] == "journal entry 7: holds 0 records in its time range, the journal says 1"


def test_pending_states_and_closed_flags_are_rederived_from_the_transfers(path: Path) -> None:
    problems = problems_after(
        path,
        lambda c: c.executescript(
            "UPDATE pending_states SET state = 3 WHERE pending_id = 20;"  # posted -> voided
            "UPDATE accounts SET closed = 0 WHERE id = 4;"  # its closing hold still stands
        ),
    )
    assert problems == [
        "pending transfer 20: state is voided, transfers imply posted",
        "account 4: closed is False, its transfers imply True",
    ]


def test_a_closed_flag_set_by_hand_is_found(path: Path) -> None:
    problems = problems_after(path, sql("UPDATE accounts SET closed = 1 WHERE id = 2"))
    assert problems == ["account 2: closed is True, its transfers imply False"]


def test_the_report_keeps_at_most_problems_max(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE accounts SET debits_posted = debits_posted + 1")
    store = SqliteLedgerStore(path)
    try:
        everything = verify(store).problems
        assert len(everything) == 5  # four accounts and their ledger
        assert verify(store, problems_max=2).problems == everything[:2]
    finally:
        store.close()


def test_a_head_kept_elsewhere_shows_entries_cut_off_or_rewritten(path: Path) -> None:
    store = SqliteLedgerStore(path)
    try:
        head = verify(store).head
        assert head is not None
        assert head.sequence == ENTRIES
        assert JournalHead.parse(str(head)) == head
        assert verify(store, expected_head=head).ok
        earlier = store.journal(1, 1)[0]  # entry 2
        assert verify(store, expected_head=JournalHead(2, earlier.hash)).ok
        wrong = JournalHead(2, bytes(32))
        assert verify(store, expected_head=wrong).problems == [
            "journal entry 2: is not the expected head (it was rewritten)"
        ]
    finally:
        store.close()
    # The newest entry (the expiry) removed with its record, the history rows and the balances
    # it moved, and the hold it released put back: a whole chain is left, which only the head
    # kept elsewhere shows.
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "DELETE FROM journal WHERE sequence = 7;"
            "DELETE FROM account_balances WHERE timestamp = (SELECT timestamp FROM expiries);"
            "DELETE FROM expiries;"
            "UPDATE pending_states SET state = 1 WHERE pending_id = 40;"
            "UPDATE accounts SET debits_pending = debits_pending + 25 WHERE id = 2;"
            "UPDATE accounts SET credits_pending = credits_pending + 25 WHERE id = 3;"
        )
    store = SqliteLedgerStore(path)
    try:
        assert verify(store).ok
        assert verify(store, expected_head=head).problems == [
            "the journal ends at entry 6, before the expected head 7 (entries were removed)"
        ]
    finally:
        store.close()


@pytest.mark.parametrize(
    "text", ["", "5", "0:" + "00" * 32, "5:abc", "x:" + "00" * 32, "5:" + "zz" * 32]
)
def test_a_malformed_head_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="SEQUENCE:64-HEX-DIGITS"):
        JournalHead.parse(text)


def test_a_hold_kept_longer_than_its_timeout_is_found(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        [(deadline,)] = connection.execute(
            "SELECT expires_at FROM pending_states WHERE pending_id = 40"
        )
    problems = problems_after(
        path, sql("UPDATE pending_states SET expires_at = expires_at + 5 WHERE pending_id = 40")
    )
    assert problems == [
        f"pending transfer 40: expires at {deadline + 5}, its timeout implies {deadline}"
    ]


def test_forged_expiries_and_second_resolutions_are_found(path: Path) -> None:
    # Appended after the last entry, so the journal's count already says something is there;
    # the replay says what is wrong with each.
    problems = problems_after(
        path,
        lambda c: c.executescript(
            "INSERT INTO expiries (timestamp, pending_id)"
            " SELECT timestamp + 1000, 30 FROM expiries;"  # the closing hold has no timeout
            "INSERT INTO transfers (timestamp, id, debit_account_id, credit_account_id, amount,"
            " pending_id, user_data_128, user_data_64, user_data_32, timeout, ledger, code,"
            " flags, bucket) SELECT max(timestamp) + 1000, 98, 1, 3, 10, 20, 0, 0, 0, 0, 404, 1,"
            f" {int(TransferFlags.post_pending_transfer)}, 0 FROM expiries;"
            "INSERT INTO transfer_buckets (bucket, transfers) VALUES (0, 1)"
            " ON CONFLICT (bucket) DO UPDATE SET transfers = transfers + 1;"
        ),
    )
    assert problems[0].startswith("14 records are stored but the journal covers 12")
    assert problems[1].endswith(": its timeout is none")
    assert problems[1].startswith("expiry of 30 at ")
    assert problems[2] == "transfer 98 resolves 20 already posted"
