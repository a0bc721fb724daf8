"""The dashboard's figures, read through the services' public reports.

Charts get series of integers (counts, or money in minor units with the currency's scale for
the axis labels); the page formats them. Each panel is built only for operators whose roles
open it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from hazina.bootstrap import Platform
from hazina.console.rendering import moment
from hazina.credit.loans.service import LoansService
from hazina.identity.roles import Scope
from hazina.kernel.limits import (
    console_agent_float_low_minor_units,
    console_agents_max,
    console_chart_buckets_max,
    console_dashboard_window_s,
    console_loans_max,
    loan_page_max,
)
from hazina.kernel.money import currency
from hazina.payments.domain.chart import PartyKind
from hazina.risk.aml.case_model import CaseStatus

_ns = 1_000_000_000
# Bucket lengths a chart may use, shortest first: the shortest that keeps the window within
# `console_chart_buckets_max` buckets wins (a freshly seeded demo spans seconds, a live
# platform weeks).
_bucket_lengths_s = (1, 10, 60, 600, 3_600, 6 * 3_600, 86_400, 7 * 86_400)
_arrears_bands = ((1, 30, "1-30 days"), (31, 60, "31-60 days"), (61, 90, "61-90 days"))


def bucket_length_s(span_s: int) -> int:
    """The shortest bucket length that shows `span_s` seconds in at most the bucket cap."""
    for length in _bucket_lengths_s:
        if span_s // length < console_chart_buckets_max:
            return length
    return _bucket_lengths_s[-1]


@dataclass(slots=True)
class Dashboard:
    currency: str
    scale: int
    charts: dict[str, Any] = field(default_factory=dict)  # JSON for the chart script
    totals: dict[str, int] = field(default_factory=dict)
    low_float_agents: list[dict[str, Any]] = field(default_factory=list)
    case_backlog: dict[str, int] = field(default_factory=dict)
    held_payments: int = 0
    loans_shown: bool = False


def build_dashboard(platform: Platform, scopes: frozenset[Scope], currency_code: str) -> Dashboard:
    dashboard = Dashboard(currency_code, currency(currency_code).scale)
    now_ns = platform.clock.now_ns()
    since_ns = now_ns - console_dashboard_window_s * _ns
    if Scope.payments_read in scopes:
        _payments_panels(platform, dashboard, since_ns)
    if Scope.accounts_read in scopes:
        _agent_panel(platform, dashboard)
    if Scope.risk_read in scopes:
        _risk_panels(platform, dashboard, since_ns)
    if Scope.accounts_read in scopes and Scope.parties_read in scopes:
        _loan_panel(platform.loans, dashboard)
    return dashboard


def _payments_panels(platform: Platform, dashboard: Dashboard, since_ns: int) -> None:
    payments = platform.payments
    span = payments.activity_span(since_ns)
    if span is None:
        dashboard.charts["volume"] = {"labels": [], "series": {}}
        return
    length_ns = bucket_length_s((span[1] - span[0]) // _ns) * _ns
    buckets = payments.activity(since_ns, length_ns)
    starts = sorted({bucket.start_ns for bucket in buckets})
    position = {start: index for index, start in enumerate(starts)}
    labels = [moment(start) for start in starts]
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(starts))
    values: dict[str, list[int]] = defaultdict(lambda: [0] * len(starts))
    fees = [0] * len(starts)
    for bucket in buckets:
        index = position[bucket.start_ns]
        counts[bucket.type][index] += bucket.count
        values[bucket.type][index] += bucket.amount
        fees[index] += bucket.fee
    active = dict(payments.active_wallets(since_ns, length_ns))
    dashboard.charts["volume"] = {"labels": labels, "series": dict(sorted(counts.items()))}
    dashboard.charts["value"] = {"labels": labels, "series": dict(sorted(values.items()))}
    dashboard.charts["fees"] = {"labels": labels, "series": {"fee income": fees}}
    dashboard.charts["wallets"] = {
        "labels": labels,
        "series": {"active wallets": [active.get(start, 0) for start in starts]},
    }
    dashboard.totals["payments"] = sum(bucket.count for bucket in buckets)
    dashboard.totals["value"] = sum(bucket.amount for bucket in buckets)
    dashboard.totals["fees"] = sum(fees)
    dashboard.totals["wallets_peak"] = max(active.values(), default=0)


def _agent_panel(platform: Platform, dashboard: Dashboard) -> None:
    payments = platform.payments
    agents = {
        party.id: party for party in payments.list_parties(PartyKind.agent, 0, console_agents_max)
    }
    floats = [
        balance
        for balance in payments.wallet_balances(PartyKind.agent, console_agents_max)
        if balance.wallet.currency == dashboard.currency
    ]
    floats.sort(key=lambda balance: balance.balance)
    dashboard.charts["floats"] = {
        "labels": [agents[b.wallet.party_id].name for b in floats if b.wallet.party_id in agents],
        "series": {"float": [b.balance for b in floats if b.wallet.party_id in agents]},
        "threshold": console_agent_float_low_minor_units,
    }
    dashboard.low_float_agents = [
        {"party": agents[b.wallet.party_id], "balance": b.balance}
        for b in floats
        if b.balance < console_agent_float_low_minor_units and b.wallet.party_id in agents
    ]
    dashboard.totals["agents"] = len(floats)


def _risk_panels(platform: Platform, dashboard: Dashboard, since_ns: int) -> None:
    decisions = platform.risk.decision_counts(since_ns)
    dashboard.charts["decisions"] = {
        "labels": list(decisions),
        "series": {"decisions": list(decisions.values())},
    }
    backlog = platform.cases.count_by_status()
    dashboard.case_backlog = {status.value: backlog[status] for status in CaseStatus}
    dashboard.charts["cases"] = {
        "labels": [status.value for status in CaseStatus],
        "series": {"cases": [backlog[status] for status in CaseStatus]},
    }
    held = platform.payments.list_transactions(None, 0, console_agents_max, status="held")
    dashboard.held_payments = len(held)


def _loan_panel(loans: LoansService, dashboard: Dashboard) -> None:
    dashboard.loans_shown = True
    by_status: Counter[str] = Counter()
    principal_by_status: Counter[str] = Counter()
    arrears_count: Counter[str] = Counter()
    arrears_principal: Counter[str] = Counter()
    after = 0
    read = 0
    while read < console_loans_max:
        page = loans.list_loans(None, after, loan_page_max)
        if not page:
            break
        read += len(page)
        after = page[-1].id
        for loan in page:
            if loan.currency != dashboard.currency:
                continue
            by_status[loan.status] += 1
            principal_by_status[loan.status] += loan.amount
            if loan.status == "active":
                band = _arrears_band(loan.days_past_due)
                arrears_count[band] += 1
                arrears_principal[band] += loan.amount
    bands = ["current", *(band[2] for band in _arrears_bands), "over 90 days"]
    dashboard.charts["loans"] = {
        "labels": bands,
        "series": {"principal": [arrears_principal[band] for band in bands]},
        "counts": [arrears_count[band] for band in bands],
    }
    dashboard.totals["loans_active"] = by_status["active"]
    dashboard.totals["loan_book"] = principal_by_status["active"]
    dashboard.totals["loans_in_arrears"] = sum(arrears_count[band] for band in bands[1:])


def _arrears_band(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    for low, high, name in _arrears_bands:
        if low <= days_past_due <= high:
            return name
    return "over 90 days"
