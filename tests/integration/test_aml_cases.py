"""AML cases end to end over the platform database, on SQLite and PostgreSQL: alerts become
cases with evidence; the lifecycle moves and refuses through the store; a closed, escalated
case exports as a goAML report."""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator

import psycopg
import pytest

from hazina.kernel.clock import FixedClock
from hazina.kernel.ids import IdSource
from hazina.ledger.service import LedgerService
from hazina.risk.aml.case_model import CaseOutcome, CaseStatus, EvidenceAccount
from hazina.risk.aml.cases import CaseService
from hazina.risk.aml.errors import CaseError, CaseErrorKind
from hazina.risk.aml.goaml import (
    ReportCodes,
    ReportingEntity,
    ReportingPerson,
    parse_report,
    platform_account,
    render_report,
    report_from_case,
)
from hazina.risk.aml.scenarios import run_scenarios
from tests.conftest import StoreFactory
from tests.unit.risk.aml.graphs import DAY, HOUR, SETTINGS, background, graph_of

ROWS = [
    # 1 -> 2 -> 3 -> 1: a cycle; 1 also splits transfers to 2
    (1, 1, 2, 50_000, 0),
    (2, 2, 3, 49_000, DAY),
    (3, 3, 1, 48_000, 2 * DAY),
    (4, 1, 2, 90_000, 10 * DAY),
    (5, 1, 2, 85_000, 10 * DAY + HOUR),
    (6, 1, 2, 95_000, 10 * DAY + 2 * HOUR),
    (7, 4, 1, 10_000, 12 * DAY),
    *background(),
]


@pytest.fixture
def world(store_factory: StoreFactory) -> Iterator[tuple[CaseService, LedgerService]]:
    clock = FixedClock(1_763_000_000 * 10**9)
    ledger = LedgerService(store_factory(), clock)
    yield CaseService(ledger, IdSource(clock, random.Random(5))), ledger
    ledger.close()


def test_alerts_become_cases_with_evidence(world: tuple[CaseService, LedgerService]) -> None:
    cases, _ = world
    graph = graph_of(ROWS)
    alerts = run_scenarios(graph, SETTINGS)
    opened = cases.open_cases(graph, alerts, "KES", "monitor")
    assert [case.subject_account for case in opened] == [1, 2, 3]
    first = cases.detail(opened[0].id)
    assert first.case.status is CaseStatus.open
    assert first.case.typology == "cycle"
    assert first.case.scenarios == ("cycle", "structuring")
    assert [alert.scenario for alert in first.alerts] == ["cycle", "structuring"]
    assert [item.transaction_id for item in first.evidence.transactions] == [1, 2, 3, 4, 5, 6]
    assert first.evidence.accounts[0] == EvidenceAccount(1, 0)
    assert {item.account for item in first.evidence.accounts} == {1, 2, 3, 4}
    assert [note.body for note in first.notes] == ["opened"]
    # The same alerts again join the open case instead of opening another one.
    again = cases.open_cases(graph, [a for a in alerts if a.account == 1], "KES", "monitor")
    assert again[0].id == opened[0].id
    joined = cases.detail(opened[0].id)
    assert len(joined.alerts) == 4
    assert len(joined.evidence.transactions) == 6
    assert len(cases.list_cases()) == 3


def test_the_lifecycle_and_its_refusals(world: tuple[CaseService, LedgerService]) -> None:
    cases, _ = world
    graph = graph_of(ROWS)
    case = cases.open_cases(graph, run_scenarios(graph, SETTINGS), "KES", "monitor")[0]

    def refused(code: str, call: object) -> CaseError:
        with pytest.raises(CaseError) as raised:
            call()  # type: ignore[operator]
        assert raised.value.code == code
        return raised.value

    error = refused("case_transition_invalid", lambda: cases.start_investigation(case.id, "lead"))
    assert error.kind is CaseErrorKind.conflict
    refused("case_transition_invalid", lambda: cases.close(case.id, "false_positive", "a", "n"))
    refused("case_not_found", lambda: cases.assign(12345, "amina", "lead"))
    refused("assignee_invalid", lambda: cases.assign(case.id, "  ", "lead"))

    assigned = cases.assign(case.id, "amina", "lead")
    assert (assigned.status, assigned.assignee) == (CaseStatus.assigned, "amina")
    assert assigned.version == case.version + 1
    reassigned = cases.assign(assigned.id, "baraka", "lead")
    assert reassigned.assignee == "baraka"
    investigating = cases.start_investigation(case.id, "baraka")
    assert investigating.status is CaseStatus.investigating
    note = cases.add_note(case.id, "baraka", "Called the customer; no answer.")
    assert note.kind == "note"
    refused(
        "report_reference_required",
        lambda: cases.close(case.id, "escalated_str_filed", "baraka", "Suspicious."),
    )
    unchanged = cases.get(case.id)
    assert unchanged.status is CaseStatus.investigating  # nothing of a refusal is written
    closed = cases.close(
        case.id, "escalated_str_filed", "baraka", "Round-tripping confirmed.", "FIU-2025-0042"
    )
    assert closed.status is CaseStatus.closed
    assert closed.outcome is CaseOutcome.escalated_str_filed
    assert closed.report_reference == "FIU-2025-0042"
    assert closed.closed_at_ns is not None
    refused("case_closed", lambda: cases.assign(case.id, "amina", "lead"))
    refused("case_closed", lambda: cases.add_note(case.id, "amina", "late"))
    refused("case_closed", lambda: cases.close(case.id, "false_positive", "amina", "again"))

    history = [(n.kind, n.body) for n in cases.detail(case.id).notes]
    assert history == [
        ("status", "opened"),
        ("assignment", "assigned to amina"),
        ("status", "open -> assigned"),
        ("assignment", "assigned to baraka"),
        ("status", "assigned -> investigating"),
        ("note", "Called the customer; no answer."),
        ("note", "Round-tripping confirmed."),
        ("status", "investigating -> closed: escalated_str_filed"),
    ]
    # A new alert on the subject now opens a new case: the closed one stays closed.
    fresh = cases.open_cases(graph, run_scenarios(graph, SETTINGS), "KES", "monitor")[0]
    assert fresh.id != case.id
    assert [c.id for c in cases.list_cases(status=CaseStatus.closed)] == [case.id]
    assert cases.list_cases(assignee="baraka")[0].id == case.id
    page = cases.list_cases(limit=2)
    assert len(page) == 2
    assert cases.list_cases(limit=2, starting_after=page[-1].id)[0].id > page[-1].id
    refused("limit_invalid", lambda: cases.list_cases(limit=0))


def test_concurrent_changes_apply_one_at_a_time(world: tuple[CaseService, LedgerService]) -> None:
    cases, _ = world
    graph = graph_of(ROWS)
    case = cases.open_cases(graph, run_scenarios(graph, SETTINGS), "KES", "monitor")[0]
    cases.assign(case.id, "amina", "lead")
    outcomes: list[str] = []

    def start() -> None:
        try:
            cases.start_investigation(case.id, "amina")
            outcomes.append("ok")
        except CaseError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["case_transition_invalid"] * 3 + ["ok"]
    assert cases.get(case.id).version == case.version + 2


def test_the_database_refuses_a_closed_case_without_outcome(
    world: tuple[CaseService, LedgerService],
) -> None:
    cases, ledger = world
    graph = graph_of(ROWS)
    case = cases.open_cases(graph, run_scenarios(graph, SETTINGS), "KES", "monitor")[0]

    def write_around(unit: object) -> None:
        unit.sql.execute(  # type: ignore[attr-defined]
            "UPDATE risk_cases SET status = 'closed', assignee = 'x' WHERE id = ?", (case.id,)
        )

    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.CheckViolation)):
        ledger.run(write_around)
    assert cases.get(case.id).status is CaseStatus.open


def test_an_escalated_case_exports_as_goaml(world: tuple[CaseService, LedgerService]) -> None:
    cases, _ = world
    graph = graph_of(ROWS)
    case = cases.open_cases(graph, run_scenarios(graph, SETTINGS), "KES", "monitor")[0]
    cases.assign(case.id, "amina", "lead")
    cases.start_investigation(case.id, "amina")
    cases.close(case.id, "escalated_str_filed", "amina", "Filed.", "FIU-1")
    entity = ReportingEntity(7, "Hazina Mobile Money", "HZMM", "KE", "KES")
    codes = ReportCodes()
    report = report_from_case(
        cases.detail(case.id),
        entity,
        ReportingPerson("Wanjiru", "Otieno", title="MLRO"),
        1_763_000_000 * 10**9,
        "Wallet frozen pending the FIU's answer.",
        lambda account: platform_account(entity, account, codes),
    )
    document = render_report(report)
    assert parse_report(document) == report
    assert len(report.transactions) == 6
    assert report.indicators == ("ROUND_TRIPPING", "STRUCTURING")
    assert report.entity_reference == str(case.id)
