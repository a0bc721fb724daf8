"""AML monitoring over the platform's own payments, on SQLite and PostgreSQL: structuring and
fan-in patterns driven through the payments service become cases with the default thresholds;
a second scan opens nothing; new activity joins the open case; agents are not subjects."""

from __future__ import annotations

import time
from pathlib import Path

from typer.testing import CliRunner

from hazina.bootstrap import Platform, build_platform
from hazina.cli.main import app
from hazina.kernel.clock import FixedClock
from hazina.payments.domain.limits import KycTier
from hazina.risk.aml.monitoring import scan_payments, settings_for
from tests.integration.platform_world import KES, Parties, clock, database, platform

__all__ = ["clock", "database", "platform"]  # fixtures used by name


def seed_patterns(parties: Parties, clock: FixedClock) -> dict[str, int]:
    """Alice splits KES 600,000 to Bob in three transfers within an hour (each below the
    KES 1,000,000 reporting threshold, together above its half); ten customers each send the
    mule KES 500 within a day (fan-in from ten counterparties)."""
    agent = parties.agent("AG1", 100_000_000_00)
    alice = parties.customer("Alice", KycTier.enhanced)
    bob = parties.customer("Bob", KycTier.enhanced)
    mule = parties.customer("Mule", KycTier.full)
    parties.fund(agent, alice, 700_000_00, 250_000_00)
    for _ in range(3):
        clock.advance_seconds(600)
        parties.send(alice, bob, 200_000_00)
    payers = []
    for number in range(10):
        payer = parties.customer(f"Payer {number}", KycTier.basic)
        parties.fund(agent, payer, 1_000_00, 1_000_00)
        clock.advance_seconds(300)
        parties.send(payer, mule, 500_00)
        payers.append(payer)
    return {"agent": agent, "alice": alice, "bob": bob, "mule": mule, "payer": payers[0]}


def test_patterns_become_cases_once(platform: Platform, clock: FixedClock) -> None:
    parties = Parties(platform)
    wallets = seed_patterns(parties, clock)
    assert settings_for(KES).reporting_threshold == 1_000_000_00  # the defaults, not a test's

    first = scan_payments(platform.payments, platform.cases, KES, clock.now_ns())
    subjects = {case.subject_account: case for case in first.cases}
    assert set(subjects) == {wallets["alice"], wallets["bob"], wallets["mule"]}
    assert subjects[wallets["alice"]].scenarios == ("structuring",)
    assert subjects[wallets["bob"]].scenarios == ("structuring",)
    assert subjects[wallets["mule"]].scenarios == ("fan_in",)
    assert subjects[wallets["mule"]].opened_by == "aml-monitor"
    # The agent paid eleven customers (fan-out) but agents are not monitored subjects.
    assert wallets["agent"] not in subjects
    detail = platform.cases.detail(subjects[wallets["mule"]].id)
    assert len(detail.evidence.transactions) == 10
    assert len(detail.alerts) == 1

    second = scan_payments(platform.payments, platform.cases, KES, clock.now_ns())
    assert second.alerts == first.alerts  # the same patterns are still there ...
    assert second.cases == ()  # ... but nothing is opened or added twice
    assert len(platform.cases.list_cases()) == 3
    assert len(platform.cases.detail(subjects[wallets["mule"]].id).alerts) == 1

    # Closed as a false positive, the same alert does not reopen it.
    case = subjects[wallets["alice"]]
    platform.cases.assign(case.id, "analyst", "lead")
    platform.cases.start_investigation(case.id, "analyst")
    platform.cases.close(case.id, "false_positive", "analyst", "salary advance, documented")
    assert scan_payments(platform.payments, platform.cases, KES, clock.now_ns()).cases == ()

    # New activity (an eleventh payer) joins the mule's open case as a new alert.
    newcomer = parties.customer("Payer 10", KycTier.basic)
    parties.fund(wallets["agent"], newcomer, 1_000_00, 1_000_00)
    parties.send(newcomer, wallets["mule"], 500_00)
    third = scan_payments(platform.payments, platform.cases, KES, clock.now_ns())
    assert [c.id for c in third.cases] == [subjects[wallets["mule"]].id]
    joined = platform.cases.detail(subjects[wallets["mule"]].id)
    assert len(joined.alerts) == 2
    assert len(joined.evidence.transactions) == 11
    assert len(platform.cases.list_cases()) == 3


def test_a_scan_of_an_empty_window_opens_nothing(platform: Platform, clock: FixedClock) -> None:
    parties = Parties(platform)
    seed_patterns(parties, clock)
    clock.advance_seconds(200 * 86_400)  # everything is older than the scan window
    report = scan_payments(platform.payments, platform.cases, KES, clock.now_ns())
    assert (report.transactions, report.alerts, report.cases) == (0, 0, ())


def test_the_cli_scans_and_a_second_scan_opens_nothing(tmp_path: Path) -> None:
    path = tmp_path / "hazina.sqlite3"
    clock = FixedClock(time.time_ns() - 3_600 * 1_000_000_000)  # within the CLI's window
    platform = build_platform(str(path), clock=clock)
    try:
        seed_patterns(Parties(platform), clock)
    finally:
        platform.close()
    runner = CliRunner()
    first = runner.invoke(
        app, ["risk", "aml-scan", "--database", str(path)], env={"COLUMNS": "200"}
    )
    assert first.exit_code == 0, first.output
    assert "3 cases opened or joined by new alerts" in first.output
    assert "fan_in" in first.output
    second = runner.invoke(app, ["risk", "aml-scan", "--database", str(path)])
    assert second.exit_code == 0, second.output
    assert "0 cases opened or joined by new alerts" in second.output
    bad = runner.invoke(app, ["risk", "aml-scan", "--database", str(path), "--currency", "XYZ"])
    assert bad.exit_code != 0
