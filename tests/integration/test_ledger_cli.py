"""`hazina ledger ...` on SQLite and PostgreSQL: accounts and transfers by hand (with their
statuses and exit codes), the account list, a statement paged by its cursor, and `verify`,
which passes on an intact ledger and names the first break once the journal is changed behind
the ledger's back (on PostgreSQL by its owner, past the append-only triggers)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hazina.bootstrap import open_ledger_store
from hazina.cli.main import app

Run = Callable[..., str]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.sqlite3")
        return
    from tests.postgres_server import drop_database, fresh_database

    server = request.getfixturevalue("postgres_server")
    dsn = fresh_database(server)
    yield dsn
    drop_database(server, dsn)


@pytest.fixture
def run(database: str) -> Run:
    runner = CliRunner()

    def run(*arguments: str, exit_code: int = 0) -> str:
        result = runner.invoke(app, ["ledger", *arguments, "--database", database])
        assert result.exit_code == exit_code, result.output
        return result.output

    return run


def test_accounts_transfers_statement_and_verify(run: Run, database: str) -> None:
    assert run("create-account", "1", "--ledger", "404").strip() == "ok"
    assert run("create-account", "1", "--ledger", "404").strip() == "exists"
    assert "exists_with_different_ledger" in run(
        "create-account", "1", "--ledger", "840", exit_code=1
    )
    assert run("create-account", "2", "--ledger", "404", "--flag", "history").strip() == "ok"
    assert run("create-account", "3", "--ledger", "404",
               "--flag", "debits_must_not_exceed_credits").strip() == "ok"  # fmt: skip
    for number in range(1, 6):
        moved = run("transfer", str(100 + number), "--debit", "1", "--credit", "2",
                    "--amount", str(number * 10), "--ledger", "404")  # fmt: skip
        assert moved.strip() == "ok"
    assert run("transfer", "101", "--debit", "1", "--credit", "2", "--amount", "10",
               "--ledger", "404").strip() == "exists"  # fmt: skip
    # Account 3 may not spend more than it received: refused, exit 1, nothing moved.
    assert "exceeds_credits" in run("transfer", "200", "--debit", "3", "--credit", "1",
                                    "--amount", "1", "--ledger", "404", exit_code=1)  # fmt: skip
    # Two-phase: hold, then post part of it.
    assert run("transfer", "300", "--debit", "1", "--credit", "2", "--amount", "70",
               "--ledger", "404", "--flag", "pending").strip() == "ok"  # fmt: skip
    assert run("transfer", "301", "--debit", "1", "--credit", "2", "--amount", "20",
               "--ledger", "404", "--pending-id", "300",
               "--flag", "post_pending_transfer").strip() == "ok"  # fmt: skip

    listed = run("accounts")
    assert "accounts (3)" in listed
    # Account 2 received 10+20+30+40+50 = 150 and 20 of the 70 held: a balance of 170.
    balances = {
        int(cells[0]): int(cells[-1])
        for line in listed.splitlines()
        if (cells := [c.strip() for c in line.strip("│ ").split("│")])[0].isdigit()
    }
    assert balances == {1: -170, 2: 170, 3: 0}, listed
    assert "history" in listed

    first = run("statement", "1", "--limit", "4")
    assert [int(t) for t in re.findall(r"\b(10[1-5]|30[01])\b", first)] == [101, 102, 103, 104]
    cursor = re.search(r"next page: --after (\d+)", first)
    assert cursor is not None
    rest = run("statement", "1", "--limit", "4", "--after", cursor.group(1))
    assert [int(t) for t in re.findall(r"\b(10[1-5]|30[01])\b", rest)] == [105, 300, 301]
    assert "next page" not in rest
    assert "pending" in rest  # the flags column names the hold

    verified = run("verify")
    assert "ledger verified" in verified
    assert "7 transfers, 3 accounts" in verified
    head = re.search(r"journal head: (\d+:[0-9a-f]{64})", verified)
    assert head is not None
    assert "ledger verified" in run("verify", "--head", head.group(1))
    later = int(head.group(1).split(":")[0]) + 1
    cut = run("verify", "--head", f"{later}:{'0' * 64}", exit_code=1)
    assert f"before the expected head {later} (entries were removed)" in cut
    assert "SEQUENCE:64-HEX-DIGITS" in run("verify", "--head", "nope", exit_code=2)


def test_verify_names_the_first_break(run: Run, database: str) -> None:
    run("create-account", "1", "--ledger", "404")
    run("create-account", "2", "--ledger", "404")
    run("transfer", "10", "--debit", "1", "--credit", "2", "--amount", "500", "--ledger", "404")
    assert "ledger verified" in run("verify")
    store = open_ledger_store(database)
    # The newest journal entry's payload hash rewritten behind the ledger's back; on
    # PostgreSQL only its owner can, by switching the append-only triggers off first.
    postgres = store.dialect == "postgresql"
    try:
        if postgres:
            store.execute_unchecked("ALTER TABLE journal DISABLE TRIGGER USER")
        store.execute_unchecked(
            "UPDATE journal SET payload_hash = ?"
            " WHERE sequence = (SELECT max(sequence) FROM journal)",
            (bytes(32),),
        )
        if postgres:
            store.execute_unchecked("ALTER TABLE journal ENABLE TRIGGER USER")
    finally:
        store.close()
    broken = run("verify", exit_code=1)
    assert "first break:" in broken
    assert "journal" in broken.split("first break:")[1]


def test_bad_input_is_refused_with_a_clear_message(run: Run) -> None:
    refused = run("create-account", "1", "--ledger", "404", "--flag", "no_such_flag", exit_code=2)
    assert "unknown flag 'no_such_flag'" in refused
    assert "history" in refused  # the known flags are listed
    run("create-account", "1", "--ledger", "404")
    assert "accounts_must_be_different" in run(
        "transfer",
        "5",
        "--debit",
        "1",
        "--credit",
        "1",
        "--amount",
        "1",
        "--ledger",
        "404",
        exit_code=1,
    )
    assert "amount_must_not_be_zero" in run(
        "transfer",
        "6",
        "--debit",
        "1",
        "--credit",
        "2",
        "--amount",
        "0",
        "--ledger",
        "404",
        exit_code=1,
    )
    # Nothing of the refused transfers was kept.
    assert "0 transfers" in run("verify")
