"""Templates, their filters and the page frame every console page shares.

Money stays integer minor units until a template shows it; `money` formats it with the
currency's decimals and thousands separators, for display only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from hazina.api.amounts import format_amount
from hazina.console.security import CSRF_FIELD, CSRF_HEADER, Page, Viewer, brand_of
from hazina.kernel.ids import prefixed

_folder = Path(__file__).parent
STATIC_FOLDER = _folder / "static"

_nav: tuple[tuple[Page, str, str], ...] = (
    (Page.dashboard, "Dashboard", "/console/"),
    (Page.customers, "Customers", "/console/customers"),
    (Page.transactions, "Transactions", "/console/transactions"),
    (Page.cases, "Cases", "/console/cases"),
    (Page.approvals, "Approvals", "/console/approvals"),
    (Page.handoffs, "Hand-offs", "/console/handoffs"),
    (Page.audit, "Audit log", "/console/audit"),
)


def money(minor: int, currency: str) -> str:
    """`1234550, "KES"` -> `"KES 12,345.50"`."""
    text = format_amount(minor, currency)
    sign = "-" if text.startswith("-") else ""
    whole, point, fraction = text.lstrip("-").partition(".")
    return f"{currency} {sign}{int(whole):,}{point}{fraction}"


def moment(timestamp_ns: int | None) -> str:
    """A UTC time to the second, or a dash."""
    if timestamp_ns is None:
        return "-"
    at = datetime.fromtimestamp(timestamp_ns // 1_000_000_000, tz=UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: int) -> str:
    """`5400` -> `"1 h 30 min"`; negative durations read as overdue by the caller."""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _prefixed(value: int, prefix: str) -> str:
    return prefixed(prefix, value)


templates = Jinja2Templates(directory=str(_folder / "templates"))
templates.env.filters["money"] = money
templates.env.filters["decimal"] = format_amount  # a form's value: "1234.50", no grouping
templates.env.filters["moment"] = moment
templates.env.filters["duration"] = duration
templates.env.filters["prefixed"] = _prefixed
templates.env.globals["csrf_field"] = CSRF_FIELD
templates.env.globals["csrf_header"] = CSRF_HEADER


def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    page: Page | None = None,
) -> HTMLResponse:
    """A console page: the template with the viewer, the navigation open to them, and the
    CSRF token forms carry."""
    nav = [] if viewer is None else [item for item in _nav if viewer.may_see(item[0])]
    return templates.TemplateResponse(
        request,
        template,
        {"viewer": viewer, "nav": nav, "page": page, "brand": brand_of(request), **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
