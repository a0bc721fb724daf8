"""AML cases through the HTTP API, on SQLite and PostgreSQL: the queue, a case with its
evidence, assignment, investigation, notes and closing, and the refusals on the way."""

from __future__ import annotations

from hazina.bootstrap import Platform
from hazina.risk.aml.scenarios import run_scenarios
from tests.e2e.conftest import Api, assert_problem
from tests.unit.risk.aml.graphs import DAY, HOUR, SETTINGS, background, graph_of

ROWS = [
    (1, 1, 2, 50_000, 0),  # 1 -> 2 -> 3 -> 1: a cycle
    (2, 2, 3, 49_000, DAY),
    (3, 3, 1, 48_000, 2 * DAY),
    (4, 1, 2, 90_000, 10 * DAY),  # and 1 splits transfers to 2
    (5, 1, 2, 85_000, 10 * DAY + HOUR),
    (6, 1, 2, 95_000, 10 * DAY + 2 * HOUR),
    *background(),
]


def open_cases(platform: Platform) -> list[str]:
    graph = graph_of(ROWS)
    opened = platform.cases.open_cases(graph, run_scenarios(graph, SETTINGS), "KES", "monitor")
    return [f"cas_{case.id:016x}" for case in opened]


def test_an_analyst_works_a_case_from_the_queue(platform: Platform, api: Api) -> None:
    ids = open_cases(platform)
    queue = api.client.get("/v1/risk/cases", params={"status": "open"}, headers=api.headers())
    assert queue.status_code == 200, queue.text
    assert [case["id"] for case in queue.json()] == ids
    case_id = ids[0]
    detail = api.ok(f"/v1/risk/cases/{case_id}")
    assert detail["case"]["subject_account"] == 1
    assert detail["case"]["typology"] == "cycle"
    assert [alert["scenario"] for alert in detail["alerts"]] == ["cycle", "structuring"]
    assert detail["evidence_transactions"] == [1, 2, 3, 4, 5, 6]

    early = api.post(
        f"/v1/risk/cases/{case_id}/closing",
        {"outcome": "escalated_str_filed", "note": "filed"},
    )
    assert_problem(early, 422, "report_reference_required")  # an escalation names its report
    assigned = api.post(f"/v1/risk/cases/{case_id}/assignment", {"assignee": "amina"})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["status"] == "assigned"
    assert assigned.json()["assignee"] == "amina"
    investigating = api.post(f"/v1/risk/cases/{case_id}/investigation")
    assert investigating.json()["status"] == "investigating"
    note = api.post(f"/v1/risk/cases/{case_id}/notes", {"text": "called the customer"})
    assert note.status_code == 201, note.text
    closed = api.post(
        f"/v1/risk/cases/{case_id}/closing",
        {"outcome": "escalated_str_filed", "note": "cycle confirmed", "report_reference": "STR-7"},
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["report_reference"] == "STR-7"
    history = [n["body"] for n in api.ok(f"/v1/risk/cases/{case_id}")["notes"]]
    assert "called the customer" in history
    assert "cycle confirmed" in history
    again = api.post(f"/v1/risk/cases/{case_id}/investigation")
    assert_problem(again, 409, "case_closed")
    missing = api.get("/v1/risk/cases/cas_00000000000000ff")
    assert_problem(missing, 404, "case_not_found")
    bad = api.post(f"/v1/risk/cases/{case_id}/notes", {"text": ""})
    assert_problem(bad, 422, "validation_error")
