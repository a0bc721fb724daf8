"""The case lifecycle: every move of the table, and every refusal with its code."""

from __future__ import annotations

import pytest

from hazina.risk.aml.alerts import Alert, Scenario
from hazina.risk.aml.case_model import (
    CaseAction,
    CaseOutcome,
    CaseStatus,
    EvidenceAccount,
    case_summary,
    check_note,
    check_outcome,
    gather_evidence,
    next_status,
)
from hazina.risk.aml.errors import CaseError, CaseErrorKind
from tests.unit.risk.aml.graphs import graph_of

S = CaseStatus
A = CaseAction

ALLOWED = [
    (S.open, A.assign, S.assigned),
    (S.assigned, A.assign, S.assigned),
    (S.investigating, A.assign, S.investigating),
    (S.assigned, A.start_investigation, S.investigating),
    (S.investigating, A.close, S.closed),
    (S.open, A.add_note, S.open),
    (S.assigned, A.add_note, S.assigned),
    (S.investigating, A.add_note, S.investigating),
]


@pytest.mark.parametrize(("current", "action", "following"), ALLOWED)
def test_allowed_moves(current: CaseStatus, action: CaseAction, following: CaseStatus) -> None:
    assert next_status(current, action) is following


REFUSED = [
    (current, action)
    for current in CaseStatus
    for action in CaseAction
    if (current, action) not in {(c, a) for c, a, _ in ALLOWED}
]


@pytest.mark.parametrize(("current", "action"), REFUSED)
def test_every_other_move_is_refused_with_a_stable_code(
    current: CaseStatus, action: CaseAction
) -> None:
    with pytest.raises(CaseError) as refused:
        next_status(current, action)
    expected = "case_closed" if current is CaseStatus.closed else "case_transition_invalid"
    assert refused.value.code == expected
    assert refused.value.kind is CaseErrorKind.conflict
    assert action.value in refused.value.message


def test_outcomes_and_report_references() -> None:
    assert check_outcome("false_positive", None) is CaseOutcome.false_positive
    assert check_outcome("escalated_str_filed", "FIU-1") is CaseOutcome.escalated_str_filed
    for outcome, reference, code in [
        ("shrug", None, "outcome_unknown"),
        ("escalated_str_filed", None, "report_reference_required"),
        ("escalated_str_filed", "  ", "report_reference_required"),
        ("false_positive", "FIU-1", "report_reference_unexpected"),
    ]:
        with pytest.raises(CaseError) as refused:
            check_outcome(outcome, reference)
        assert refused.value.code == code
        assert refused.value.kind is CaseErrorKind.invalid


def test_notes_must_say_something_and_not_too_much() -> None:
    assert check_note("  seen it  ") == "seen it"
    with pytest.raises(CaseError, match="needs some text"):
        check_note("   ")
    with pytest.raises(CaseError) as refused:
        check_note("x" * 20_001)
    assert refused.value.code == "note_too_long"


def test_evidence_holds_the_alerts_transactions_and_the_neighbourhood() -> None:
    graph = graph_of([(1, 1, 2, 500, 0), (2, 2, 3, 400, 10), (3, 3, 4, 300, 20)])
    alert = Alert(Scenario.structuring, 2, (2, 1), (1, 3), "Split transfers: something.")
    evidence = gather_evidence(graph, 2, [alert], "KES", hops=1)
    assert [item.transaction_id for item in evidence.transactions] == [1, 2]
    assert evidence.transactions[0].currency == "KES"
    assert evidence.accounts == (
        EvidenceAccount(2, 0),
        EvidenceAccount(1, 1),
        EvidenceAccount(3, 1),
    )
    typology, scenarios, summary = case_summary([alert])
    assert (typology, scenarios, summary) == (None, ("structuring",), alert.reason)
