"""AML cases: the analyst's queue (list, read with evidence, assign, investigate, note, close)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from hazina.api.app import Caller, parse_id
from hazina.api.problems import ProblemError
from hazina.api.routing import api_router
from hazina.api.schemas import rfc3339
from hazina.identity.roles import Scope
from hazina.kernel.ids import prefixed
from hazina.risk.aml.case_model import CaseStatus
from hazina.risk.aml.cases import Case, CaseDetail
from hazina.risk.aml.errors import CaseError, CaseErrorKind

router = api_router(tags=["risk cases"])

_status_of_kind = {
    CaseErrorKind.not_found: 404,
    CaseErrorKind.conflict: 409,
    CaseErrorKind.invalid: 422,
}


def _problem(error: CaseError) -> ProblemError:
    return ProblemError(_status_of_kind[error.kind], error.code, "Case refused", error.message)


class CaseOut(BaseModel):
    id: str
    subject_account: int
    status: str
    typology: str | None
    scenarios: list[str]
    summary: str
    assignee: str | None
    outcome: str | None
    report_reference: str | None
    opened_by: str
    opened_at: str
    updated_at: str
    closed_at: str | None
    version: int


class CaseAlertOut(BaseModel):
    scenario: str
    reason: str
    transaction_ids: list[int]
    counterparties: list[int]


class CaseNoteOut(BaseModel):
    kind: str
    author: str
    body: str
    at: str


class CaseDetailOut(BaseModel):
    case: CaseOut
    alerts: list[CaseAlertOut]
    notes: list[CaseNoteOut]
    evidence_transactions: list[int]
    evidence_accounts: list[int]


class CaseAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: str = Field(min_length=1, max_length=200)


class CaseNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=20_000)


class CaseClosing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal[
        "false_positive", "legitimate_activity", "escalated_str_filed", "relationship_exited"
    ]
    note: str = Field(min_length=1, max_length=20_000)
    report_reference: str | None = Field(default=None, max_length=200)


def _case_out(case: Case) -> CaseOut:
    return CaseOut(
        id=prefixed("cas", case.id),
        subject_account=case.subject_account,
        status=case.status.value,
        typology=case.typology,
        scenarios=list(case.scenarios),
        summary=case.summary,
        assignee=case.assignee,
        outcome=None if case.outcome is None else case.outcome.value,
        report_reference=case.report_reference,
        opened_by=case.opened_by,
        opened_at=rfc3339(case.opened_at_ns),
        updated_at=rfc3339(case.updated_at_ns),
        closed_at=None if case.closed_at_ns is None else rfc3339(case.closed_at_ns),
        version=case.version,
    )


def _detail_out(detail: CaseDetail) -> CaseDetailOut:
    return CaseDetailOut(
        case=_case_out(detail.case),
        alerts=[
            CaseAlertOut(
                scenario=a.scenario,
                reason=a.reason,
                transaction_ids=list(a.transaction_ids),
                counterparties=list(a.counterparties),
            )
            for a in detail.alerts
        ],
        notes=[
            CaseNoteOut(kind=n.kind, author=n.author, body=n.body, at=rfc3339(n.created_at_ns))
            for n in detail.notes
        ],
        evidence_transactions=[t.transaction_id for t in detail.evidence.transactions],
        evidence_accounts=[a.account for a in detail.evidence.accounts],
    )


def _case_id(text: str) -> int:
    return parse_id("cas", text, "case")


@router.get("/risk/cases", response_model=list[CaseOut])
def list_cases(
    context: Caller,
    status: Annotated[str | None, Query(pattern="^(open|assigned|investigating|closed)$")] = None,
    assignee: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[CaseOut]:
    """The case queue, oldest first."""
    context.require(Scope.risk_read)
    cases = context.platform.cases.list_cases(
        None if status is None else CaseStatus(status), assignee, limit
    )
    return [_case_out(case) for case in cases]


@router.get("/risk/cases/{case_id}", response_model=CaseDetailOut)
def get_case(case_id: str, context: Caller) -> CaseDetailOut:
    """A case with its alerts, history and evidence."""
    context.require(Scope.risk_read)
    try:
        return _detail_out(context.platform.cases.detail(_case_id(case_id)))
    except CaseError as error:
        raise _problem(error) from None


@router.post("/risk/cases/{case_id}/assignment", response_model=CaseOut)
def assign_case(case_id: str, body: CaseAssignment, context: Caller) -> CaseOut:
    context.require(Scope.risk_write)
    try:
        case = context.platform.cases.assign(_case_id(case_id), body.assignee, context.actor)
    except CaseError as error:
        raise _problem(error) from None
    return _case_out(case)


@router.post("/risk/cases/{case_id}/investigation", response_model=CaseOut)
def investigate_case(case_id: str, context: Caller) -> CaseOut:
    context.require(Scope.risk_write)
    try:
        case = context.platform.cases.start_investigation(_case_id(case_id), context.actor)
    except CaseError as error:
        raise _problem(error) from None
    return _case_out(case)


@router.post("/risk/cases/{case_id}/notes", response_model=CaseNoteOut, status_code=201)
def note_case(case_id: str, body: CaseNoteIn, context: Caller) -> CaseNoteOut:
    context.require(Scope.risk_write)
    try:
        note = context.platform.cases.add_note(_case_id(case_id), context.actor, body.text)
    except CaseError as error:
        raise _problem(error) from None
    return CaseNoteOut(
        kind=note.kind, author=note.author, body=note.body, at=rfc3339(note.created_at_ns)
    )


@router.post("/risk/cases/{case_id}/closing", response_model=CaseOut)
def close_case(case_id: str, body: CaseClosing, context: Caller) -> CaseOut:
    """Close with an outcome and why; `escalated_str_filed` needs the report's reference."""
    context.require(Scope.risk_write)
    try:
        case = context.platform.cases.close(
            _case_id(case_id), body.outcome, context.actor, body.note, body.report_reference
        )
    except CaseError as error:
        raise _problem(error) from None
    context.platform.identity.record(
        context.actor, "risk.case_closed", prefixed("cas", case.id), outcome=body.outcome
    )
    return _case_out(case)
