"""`hazina cbdc ...` over a SQLite platform database: issuance, distribution, payments, the
overview, and an audit that passes, then fails once the records are tampered with."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hazina.cli.main import app

COMMANDS = [
    "register-participant", "deposit-reserves", "mint", "redeem", "open-wallet", "distribute",
    "pay", "release", "overview", "audit",
]  # fmt: skip


def test_issue_distribute_pay_and_audit(tmp_path: Path) -> None:
    database = str(tmp_path / "hazina.sqlite3")
    runner = CliRunner()

    def run(*arguments: str, exit_code: int = 0) -> str:
        result = runner.invoke(app, ["cbdc", *arguments, "--database", database])
        assert result.exit_code == exit_code, result.output
        return result.output

    admitted = run("register-participant", "--code", "BNK1", "--name", "Bank One")
    bank = re.search(r"cbp_[0-9a-f]{16}", admitted)
    assert bank is not None
    run("deposit-reserves", bank.group(), "100000")
    assert "insufficient_reserves" in run("mint", bank.group(), "100000.01", exit_code=1)
    assert "mint" in run("mint", bank.group(), "60000")
    run("redeem", bank.group(), "10000")
    wallets = []
    for holder, tier in (("alice", "full_kyc"), ("bob", "anonymous")):
        opened = run("open-wallet", "--participant", bank.group(), "--holder", holder,
                     "--tier", tier, "--linked-account", f"ACC-{holder}")  # fmt: skip
        found = re.search(r"cbw_[0-9a-f]{16}", opened)
        assert found is not None
        wallets.append(found.group())
    run("distribute", wallets[0], "40000")
    assert "5000.00 eKES swept" in run("pay", wallets[0], wallets[1], "30000")
    assert "released 0" in run("release")
    overview = run("overview")
    assert "circulation 50000.00 eKES" in overview
    assert "full_kyc" in overview
    audited = run("audit")
    assert "OK" in audited
    assert "circulation_is_held" in audited
    # Writing around the service: a mint record with no posting breaks the audit.
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO cbdc_operations (id, kind, amount, swept, transfer_ids, created_at_ns)"
            " VALUES (1, 'mint', 100, 0, '[]', 0)"
        )
    broken = run("audit", exit_code=1)
    assert "BROKEN" in broken
    assert "issued_matches_mints" in broken


def test_bad_ids_are_refused_before_anything_runs(tmp_path: Path) -> None:
    database = str(tmp_path / "hazina.sqlite3")
    result = CliRunner().invoke(app, ["cbdc", "mint", "cbp_nothex", "1", "--database", database])
    assert result.exit_code == 2
    assert "cbp_" in result.output


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, ["cbdc", *command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
