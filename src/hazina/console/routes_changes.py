"""Maker-checker for tariff changes, KYC limit changes and manual journal entries: file a
request (the maker), approve or reject it (a second operator holding the same scope)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from hazina.api.amounts import parse_amount
from hazina.api.problems import ProblemError
from hazina.console.app import ConsoleRefusedError, refusals
from hazina.console.routes_customers import parse_console_id
from hazina.console.security import Page, Viewer, checked_form, page_viewer, platform_of
from hazina.identity.roles import Scope
from hazina.kernel.ids import prefixed
from hazina.kernel.limits import console_page_rows_max
from hazina.payments import tariff_codec
from hazina.payments.approvals import ApprovalService, Change, ChangeKind, JournalEntry
from hazina.payments.domain.limits import KycTier, LimitTableError, TierLimits
from hazina.payments.domain.tariffs import TariffError

router = APIRouter(include_in_schema=False)

ApprovalsViewer = Annotated[Viewer, page_viewer(Page.approvals)]

CURRENCY = "KES"
SCOPE_OF_KIND = {
    ChangeKind.tariff_change: Scope.tariffs_write,
    ChangeKind.limit_change: Scope.limits_write,
    ChangeKind.journal_entry: Scope.journal_entries_write,
}
_limit_fields = ("max_balance", "per_transaction", "daily_volume", "monthly_volume")


def approvals_of(request: Request) -> ApprovalService:
    """The change requests of the console's tenant."""
    return platform_of(request).service(
        "console_approvals", lambda p: ApprovalService(p.ledger, p.ids, p.payments)
    )


def changes_context(request: Request, viewer: Viewer) -> dict[str, Any]:
    """What the approvals page shows of change requests, and the forms the viewer may use."""
    platform = platform_of(request)
    service = approvals_of(request)
    recent = service.list(None, 0, console_page_rows_max * 4)
    context: dict[str, Any] = {
        "changes_waiting": [change for change in recent if change.status == "requested"],
        "changes_decided": [change for change in reversed(recent) if change.status != "requested"][
            :console_page_rows_max
        ],
        "change_scopes": {kind.value: scope.value for kind, scope in SCOPE_OF_KIND.items()},
    }
    if viewer.may(Scope.tariffs_write):
        schedule = platform.payments.tariff_schedule(CURRENCY)
        newest = tariff_codec.tariff_to_dict(schedule.tariffs[-1])
        newest["version"] += 1
        newest["effective_from_ns"] = platform.clock.now_ns()
        context["tariff_draft"] = json.dumps(newest, indent=1)
    if viewer.may(Scope.limits_write):
        context["tier_limits"] = [
            limits for limits in platform.payments.tier_limits() if limits.currency == CURRENCY
        ]
    if viewer.may(Scope.journal_entries_write):
        context["operator_wallets"] = sorted(
            (kind.value, wallet_id)
            for kind, wallet_id in platform.payments.operator_wallets(CURRENCY).items()
        )
    return context


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _amount(form: FormData, name: str, label: str) -> int:
    try:
        return parse_amount(_text(form, name), CURRENCY)
    except ProblemError as error:
        raise ConsoleRefusedError(422, f"{label}: {error.detail}") from None


def change_from_form(kind: ChangeKind, form: FormData) -> Change:
    """The change a filed form describes; a clear refusal for anything malformed."""
    try:
        if kind is ChangeKind.tariff_change:
            body = json.loads(_text(form, "tariff"))
            if not isinstance(body, dict):
                raise ConsoleRefusedError(422, "the tariff is a JSON object")
            return tariff_codec.tariff_from_dict(body)
        if kind is ChangeKind.limit_change:
            tier = _text(form, "tier")
            if tier not in {str(int(t)) for t in KycTier}:
                raise ConsoleRefusedError(422, f"unknown KYC tier {tier!r}")
            amounts = [_amount(form, name, name.replace("_", " ")) for name in _limit_fields]
            return TierLimits(CURRENCY, KycTier(int(tier)), *amounts)
        return JournalEntry(
            parse_console_id("wal", _text(form, "debit"), "account"),
            parse_console_id("wal", _text(form, "credit"), "account"),
            _amount(form, "amount", "amount"),
            CURRENCY,
            _text(form, "memo"),
        )
    except json.JSONDecodeError as error:
        raise ConsoleRefusedError(422, f"the tariff is not valid JSON: {error}") from None
    except (TariffError, LimitTableError) as error:
        raise ConsoleRefusedError(422, str(error)) from None


@router.post("/approvals/changes")
async def file_change(request: Request, viewer: ApprovalsViewer) -> Response:
    form = await checked_form(request, viewer)
    kind_text = _text(form, "kind")
    if kind_text not in ChangeKind.__members__:
        raise ConsoleRefusedError(422, f"unknown kind of change {kind_text!r}")
    kind = ChangeKind(kind_text)
    viewer.require(SCOPE_OF_KIND[kind], f"requesting a {kind.value.replace('_', ' ')}")
    change = change_from_form(kind, form)
    with refusals():
        filed = approvals_of(request).request(change, viewer.actor, _text(form, "reason"))
    platform_of(request).identity.record(
        viewer.actor,
        "change.requested",
        prefixed("chg", filed.id),
        kind=kind.value,
        summary=filed.summary,
    )
    return RedirectResponse("/console/approvals", status_code=303)


@router.post("/approvals/changes/{request_id}")
async def decide_change(request: Request, request_id: str, viewer: ApprovalsViewer) -> Response:
    form = await checked_form(request, viewer)
    decision = form.get("decision")
    if decision not in ("approve", "reject"):
        raise ConsoleRefusedError(422, "decide 'approve' or 'reject'")
    service = approvals_of(request)
    identifier = parse_console_id("chg", request_id, "change request")
    with refusals():
        change = service.get(identifier)
        viewer.require(SCOPE_OF_KIND[change.kind], f"deciding a {change.kind.value}")
        decided = service.decide(identifier, viewer.actor, decision == "approve")
    platform_of(request).identity.record(
        viewer.actor,
        f"change.{decided.status}",
        prefixed("chg", decided.id),
        kind=decided.kind.value,
        outcome=decided.outcome,
    )
    return RedirectResponse("/console/approvals", status_code=303)
