"""The work queues: fraud holds and AML cases, maker-checker approvals, the audit log and the
ledger's verification."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hazina.console.app import ConsoleRefusedError, refusals
from hazina.console.rendering import render
from hazina.console.routes_changes import changes_context
from hazina.console.routes_customers import parse_console_id
from hazina.console.security import Page, Viewer, checked_form, page_viewer, platform_of
from hazina.identity.roles import Scope
from hazina.kernel.ids import prefixed
from hazina.kernel.limits import (
    aml_case_page_max,
    console_case_sla_s,
    console_hold_sla_s,
    console_page_rows_max,
)
from hazina.ledger.audit import JournalHead
from hazina.risk.aml.case_model import CaseOutcome, CaseStatus

router = APIRouter(include_in_schema=False)

CasesViewer = Annotated[Viewer, page_viewer(Page.cases)]
ApprovalsViewer = Annotated[Viewer, page_viewer(Page.approvals)]
AuditViewer = Annotated[Viewer, page_viewer(Page.audit)]

_ns = 1_000_000_000


def _sla_left_s(started_ns: int, now_ns: int, sla_s: int) -> int:
    """Seconds left of the service level (negative: overdue by that much)."""
    return sla_s - (now_ns - started_ns) // _ns


# -- cases and holds --------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
def cases(
    request: Request,
    viewer: CasesViewer,
    status: Annotated[str, Query(pattern="^(|open|assigned|investigating|closed)$")] = "",
) -> Response:
    platform = platform_of(request)
    now_ns = platform.clock.now_ns()
    held = platform.payments.list_transactions(None, 0, console_page_rows_max, status="held")
    case_list = platform.cases.list_cases(
        CaseStatus(status) if status else None, None, aml_case_page_max
    )
    return render(
        request,
        "cases.html",
        viewer,
        {
            "held": [
                (txn, _sla_left_s(txn.created_at_ns, now_ns, console_hold_sla_s)) for txn in held
            ],
            "cases": [
                (case, _sla_left_s(case.opened_at_ns, now_ns, console_case_sla_s))
                for case in case_list
            ],
            "status": status,
            "statuses": [s.value for s in CaseStatus],
        },
        page=Page.cases,
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case(request: Request, case_id: str, viewer: CasesViewer) -> Response:
    platform = platform_of(request)
    with refusals():
        detail = platform.cases.detail(parse_console_id("cas", case_id, "case"))
    held = [
        txn
        for txn in (
            platform.payments.get_transaction(t.transaction_id)
            for t in detail.evidence.transactions[:console_page_rows_max]
        )
        if txn.status == "held"
    ]
    now_ns = platform.clock.now_ns()
    return render(
        request,
        "case.html",
        viewer,
        {
            "detail": detail,
            "held": held,
            "sla_left_s": _sla_left_s(detail.case.opened_at_ns, now_ns, console_case_sla_s),
            "outcomes": [outcome.value for outcome in CaseOutcome],
        },
        page=Page.cases,
    )


@router.post("/cases/{case_id}/{action}")
async def work_case(request: Request, case_id: str, action: str, viewer: CasesViewer) -> Response:
    form = await checked_form(request, viewer)
    viewer.require(Scope.risk_write, "working a case")
    identifier = parse_console_id("cas", case_id, "case")
    service = platform_of(request).cases
    text = str(form.get("text") or "")
    with refusals():
        if action == "assign":
            service.assign(identifier, str(form.get("assignee") or ""), viewer.actor)
        elif action == "investigate":
            service.start_investigation(identifier, viewer.actor)
        elif action == "note":
            service.add_note(identifier, viewer.actor, text)
        elif action == "close":
            outcome = str(form.get("outcome") or "")
            reference = str(form.get("report_reference") or "") or None
            closed = service.close(identifier, outcome, viewer.actor, text, reference)
            platform_of(request).identity.record(
                viewer.actor, "risk.case_closed", prefixed("cas", closed.id), outcome=outcome
            )
        else:
            raise ConsoleRefusedError(404, f"a case has no action {action!r}")
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


@router.post("/holds/{transaction_id}")
async def review_hold(request: Request, transaction_id: str, viewer: CasesViewer) -> Response:
    """Release a held payment (its legs post) or reject it (voided: the money goes back)."""
    form = await checked_form(request, viewer)
    viewer.require(Scope.risk_write, "reviewing a held payment")
    identifier = parse_console_id("txn", transaction_id, "transaction")
    decision = form.get("decision")
    if decision not in ("release", "reject"):
        raise ConsoleRefusedError(422, "decide 'release' or 'reject'")
    release = decision == "release"
    fraud = form.get("fraud") == "on"
    platform = platform_of(request)
    with refusals():
        platform.payments.review_held_payment(identifier, release, viewer.actor, fraud=fraud)
    platform.identity.record(
        viewer.actor,
        "risk.hold_reviewed",
        transaction_id,
        decision=decision,
        fraud=fraud,
    )
    back = str(form.get("back") or "/console/cases")
    return RedirectResponse(back if back.startswith("/console/") else "/console/cases", 303)


# -- maker-checker approvals -------------------------------------------------------------------


@router.get("/approvals", response_class=HTMLResponse)
def approvals(request: Request, viewer: ApprovalsViewer) -> Response:
    payments = platform_of(request).payments
    waiting = payments.list_reversal_requests("requested", 0, console_page_rows_max)
    decided = [
        r
        for r in payments.list_reversal_requests(None, 0, console_page_rows_max * 4)
        if r.status != "requested"
    ][-console_page_rows_max:]
    return render(
        request,
        "approvals.html",
        viewer,
        {
            "waiting": [(r, payments.get_transaction(r.transaction_id)) for r in waiting],
            "decided": list(reversed(decided)),
            **changes_context(request, viewer),
        },
        page=Page.approvals,
    )


@router.post("/approvals/reversals/{request_id}")
async def decide_reversal(request: Request, request_id: str, viewer: ApprovalsViewer) -> Response:
    form = await checked_form(request, viewer)
    viewer.require(Scope.reversals_approve, "deciding a reversal")
    decision = form.get("decision")
    if decision not in ("approve", "reject"):
        raise ConsoleRefusedError(422, "decide 'approve' or 'reject'")
    identifier = parse_console_id("rev", request_id, "reversal request")
    with refusals():
        platform_of(request).payments.decide_reversal(
            identifier, viewer.actor, decision == "approve"
        )
    return RedirectResponse("/console/approvals", status_code=303)


# -- audit -------------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    viewer: AuditViewer,
    after: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    entries = platform_of(request).identity.audit_entries(after, console_page_rows_max + 1)
    has_more = len(entries) > console_page_rows_max
    entries = entries[:console_page_rows_max]
    return render(
        request,
        "audit.html",
        viewer,
        {
            "entries": entries,
            "has_more": has_more,
            "next_cursor": entries[-1]["id"] if has_more else None,
            "first_page": after == 0,
        },
        page=Page.audit,
    )


@router.post("/audit/ledger-verification", response_class=HTMLResponse)
async def verify_the_ledger(request: Request, viewer: AuditViewer) -> Response:
    """Re-derive the ledger from its records now (as `hazina ledger verify`), optionally
    against a journal head kept from an earlier run; the run goes in the audit log."""
    form = await checked_form(request, viewer)
    viewer.require(Scope.audit_read, "verifying the ledger")
    head_text = str(form.get("head") or "").strip()
    try:
        expected = JournalHead.parse(head_text) if head_text else None
    except ValueError as error:
        raise ConsoleRefusedError(422, str(error)) from None
    report = await run_in_threadpool(platform_of(request).verify_ledger, viewer.actor, expected)
    return render(
        request,
        "ledger_verification.html",
        viewer,
        {"report": report, "head": report.head, "expected": head_text},
        page=Page.audit,
    )
