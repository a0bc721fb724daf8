"""The case lifecycle as pure functions: statuses, outcomes, transitions, and case evidence.

    open --assign--> assigned --start--> investigating --close(outcome)--> closed
                     assigned --assign--> assigned      (reassign)
                investigating --assign--> investigating (reassign)

Every other move is refused with a `CaseError` whose code says why. A closed case is final:
no reassignment, no notes, no second outcome. Closing as `escalated_str_filed` needs the
reference of the suspicious-transaction report that was filed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import aml_case_evidence_transactions_max, aml_case_note_length_max
from hazina.risk.aml.alerts import Alert, attributed_typologies
from hazina.risk.aml.errors import conflict, invalid
from hazina.risk.aml.graph import TransactionGraph


class CaseStatus(StrEnum):
    open = "open"
    assigned = "assigned"
    investigating = "investigating"
    closed = "closed"


class CaseOutcome(StrEnum):
    false_positive = "false_positive"  # the scenario fired on innocent behaviour
    legitimate_activity = "legitimate_activity"  # unusual, but explained by the customer
    escalated_str_filed = "escalated_str_filed"  # suspicious: a report went to the FIU
    relationship_exited = "relationship_exited"  # suspicious below the reporting bar: offboarded


class CaseAction(StrEnum):
    assign = "assign"
    start_investigation = "start_investigation"
    close = "close"
    add_note = "add_note"


_allowed: dict[CaseAction, dict[CaseStatus, CaseStatus]] = {
    CaseAction.assign: {
        CaseStatus.open: CaseStatus.assigned,
        CaseStatus.assigned: CaseStatus.assigned,
        CaseStatus.investigating: CaseStatus.investigating,
    },
    CaseAction.start_investigation: {CaseStatus.assigned: CaseStatus.investigating},
    CaseAction.close: {CaseStatus.investigating: CaseStatus.closed},
    CaseAction.add_note: {
        CaseStatus.open: CaseStatus.open,
        CaseStatus.assigned: CaseStatus.assigned,
        CaseStatus.investigating: CaseStatus.investigating,
    },
}


def next_status(current: CaseStatus, action: CaseAction) -> CaseStatus:
    """The status after `action`, or a `CaseError`: `case_closed` for anything on a closed
    case, `case_transition_invalid` for a move the lifecycle does not have."""
    if current is CaseStatus.closed:
        raise conflict("case_closed", f"the case is closed; it cannot {action.value}")
    following = _allowed[action].get(current)
    if following is None:
        allowed = ", ".join(status.value for status in _allowed[action])
        raise conflict(
            "case_transition_invalid",
            f"cannot {action.value} a case that is {current.value}; "
            f"{action.value} needs a case that is {allowed}",
            status=current.value,
            action=action.value,
        )
    return following


def check_actor(actor: str, role: str = "actor") -> str:
    """An operator name: non-empty, at most 200 characters, stripped."""
    name = actor.strip()
    if not name or len(name) > 200:
        raise invalid(f"{role}_invalid", f"the {role} must be a name of 1 to 200 characters")
    return name


def check_note(text: str) -> str:
    body = text.strip()
    if not body:
        raise invalid("note_empty", "a note needs some text")
    if len(body) > aml_case_note_length_max:
        raise invalid(
            "note_too_long", f"a note holds at most {aml_case_note_length_max} characters"
        )
    return body


def check_outcome(outcome: str, report_reference: str | None) -> CaseOutcome:
    try:
        resolved = CaseOutcome(outcome)
    except ValueError:
        known = ", ".join(item.value for item in CaseOutcome)
        raise invalid("outcome_unknown", f"unknown outcome {outcome!r}; known: {known}") from None
    reference = (report_reference or "").strip()
    if resolved is CaseOutcome.escalated_str_filed and not reference:
        raise invalid(
            "report_reference_required",
            "closing as escalated_str_filed needs the filed report's reference",
        )
    if resolved is not CaseOutcome.escalated_str_filed and reference:
        raise invalid(
            "report_reference_unexpected", "only an escalated_str_filed case has a report"
        )
    return resolved


# -- evidence ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceTransaction:
    transaction_id: int
    source: int
    destination: int
    amount: int  # minor units of `currency`
    currency: str
    timestamp_ns: int


@dataclass(frozen=True, slots=True)
class EvidenceAccount:
    account: int
    hops: int  # transfers between this account and the case's subject (0: the subject)


@dataclass(frozen=True, slots=True)
class CaseEvidence:
    """What a case keeps: the alerts' transactions and the subject's graph neighbourhood."""

    transactions: tuple[EvidenceTransaction, ...]  # by time, each once
    accounts: tuple[EvidenceAccount, ...]  # the subject first
    neighbourhood_truncated: bool


def gather_evidence(
    graph: TransactionGraph,
    subject: int,
    alerts: Sequence[Alert],
    currency: str,
    hops: int = 1,
) -> CaseEvidence:
    """The transactions the alerts name (bounded by `aml_case_evidence_transactions_max`,
    earliest first) and the accounts within `hops` transfers of the subject."""
    invariant(all(alert.account == subject for alert in alerts), "alerts are about the subject")
    named = sorted({graph.position_of(tid) for alert in alerts for tid in alert.transaction_ids})
    kept = named[:aml_case_evidence_transactions_max]
    transactions = []
    for position in kept:
        transaction = graph.transaction(position)
        transactions.append(
            EvidenceTransaction(
                transaction.transaction_id,
                transaction.source,
                transaction.destination,
                transaction.amount,
                currency,
                transaction.timestamp_ns,
            )
        )
    neighbourhood = graph.neighbourhood(subject, hops)
    accounts = tuple(
        EvidenceAccount(account, distance)
        for account, distance in zip(neighbourhood.accounts, neighbourhood.distances, strict=True)
    )
    invariant(accounts[0] == EvidenceAccount(subject, 0), "the subject is the first account")
    return CaseEvidence(tuple(transactions), accounts, neighbourhood.truncated)


def case_summary(alerts: Sequence[Alert]) -> tuple[str | None, tuple[str, ...], str]:
    """(typology, scenarios, summary) of a subject's alerts: the attributed typology, the
    scenarios in the order they fired, and their sentences joined."""
    invariant(len(alerts) > 0, "a case starts from at least one alert")
    typology = attributed_typologies(alerts).get(alerts[0].account)
    scenarios = tuple(dict.fromkeys(alert.scenario.value for alert in alerts))
    summary = " ".join(alert.reason for alert in alerts)
    return (typology.value if typology is not None else None), scenarios, summary
