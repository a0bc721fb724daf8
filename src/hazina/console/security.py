"""Who is looking at the console, what they may see, and the guards on every form.

An operator logs in with password and TOTP (the identity service's `log_in`); the session
token travels in an HttpOnly, SameSite=Strict cookie scoped to `/console`. Every form and
htmx request carries a CSRF token derived from the session token with a key the application
holds, so a page from elsewhere can neither read nor forge it. Before login, the login form
uses a double-submit token (a random cookie repeated in the form).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from hazina.bootstrap import Platform
from hazina.identity.roles import Role, Scope
from hazina.identity.service import AuthenticationError, Operator, Principal
from hazina.partners.errors import PartnersError
from hazina.partners.gateway import Partners
from hazina.partners.tenants import Brand, home_slug

SESSION_COOKIE = "hazina_console"
TENANT_COOKIE = "hazina_console_tenant"  # which operator's console (a tenant's slug)
LOGIN_COOKIE = "hazina_console_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
COOKIE_PATH = "/console"


class Page(StrEnum):
    """The console's pages; each is open to the operators holding its scope."""

    dashboard = "dashboard"
    customers = "customers"
    transactions = "transactions"
    cases = "cases"
    approvals = "approvals"
    audit = "audit"
    handoffs = "handoffs"


# The scope a page needs (any one of them). The dashboard is every operator's home; its
# panels are filtered by `Panel` below.
_page_scopes: dict[Page, frozenset[Scope]] = {
    Page.dashboard: frozenset(),
    Page.customers: frozenset({Scope.parties_read}),
    Page.transactions: frozenset({Scope.payments_read}),
    Page.cases: frozenset({Scope.risk_read}),
    Page.approvals: frozenset(
        {
            Scope.reversals_request,
            Scope.reversals_approve,
            Scope.tariffs_write,
            Scope.limits_write,
            Scope.journal_entries_write,
        }
    ),
    Page.audit: frozenset({Scope.audit_read}),
    Page.handoffs: frozenset({Scope.assist_read}),
}


class LoginRequiredError(Exception):
    """No session, or an expired one: the console answers with the login page."""


class ForbiddenError(Exception):
    """The operator's roles do not allow this page or action: a 403 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Viewer:
    """The logged-in operator of one request."""

    operator: Operator
    principal: Principal
    csrf_token: str

    @property
    def actor(self) -> str:
        """How the audit log and the services name this operator (as the API does)."""
        return f"operator:{self.operator.username}"

    @property
    def roles(self) -> tuple[Role, ...]:
        return self.operator.roles

    def may(self, scope: Scope) -> bool:
        return self.principal.may(scope)

    def may_see(self, page: Page) -> bool:
        needed = _page_scopes[page]
        return not needed or any(self.may(scope) for scope in needed)

    def require(self, scope: Scope, what: str) -> None:
        if not self.may(scope):
            raise ForbiddenError(f"{what} needs the scope {scope.value}, which your roles lack")

    def require_page(self, page: Page) -> None:
        if not self.may_see(page):
            raise ForbiddenError(f"the {page.value} page is not open to your roles")


def tenant_of(request: Request) -> str:
    """The tenant whose console this is: the one logged in to (a cookie), else the home one."""
    return request.cookies.get(TENANT_COOKIE) or home_slug


def platform_of(request: Request, tenant: str | None = None) -> Platform:
    """The platform of the console's tenant (each tenant's operators, data and sessions live
    in its own database); an unknown tenant means logging in again."""
    slug = tenant or tenant_of(request)
    home: Platform = request.app.state.platform
    partners: Partners | None = getattr(request.app.state, "partners", None)
    if slug == home_slug or partners is None:
        return home
    try:
        return partners.tenants.platform(slug)
    except PartnersError:
        raise LoginRequiredError() from None


def brand_of(request: Request) -> Brand:
    """The tenant's brand (name, logo, colours) for the console's header."""
    slug = tenant_of(request)
    partners: Partners | None = getattr(request.app.state, "partners", None)
    if slug == home_slug or partners is None:
        return Brand(display_name="Hazina")
    try:
        return partners.tenants.get(slug).brand
    except PartnersError:
        return Brand(display_name="Hazina")


def csrf_for(request: Request, session_token: str) -> str:
    key: bytes = request.app.state.console_csrf_key
    return hmac.new(key, session_token.encode(), hashlib.sha256).hexdigest()


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


def current_viewer(request: Request) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequiredError()
    identity = platform_of(request).identity
    try:
        principal = identity.authenticate(token)
    except AuthenticationError:
        raise LoginRequiredError() from None
    operator = identity.get_operator(principal.name) if principal.kind == "operator" else None
    if operator is None:  # an API key in the cookie is not an operator session
        raise LoginRequiredError()
    return Viewer(operator, principal, csrf_for(request, token))


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


def page_viewer(page: Page) -> object:
    """A dependency: the viewer, refused with a 403 page unless their roles open `page`."""

    def dependency(viewer: CurrentViewer) -> Viewer:
        viewer.require_page(page)
        return viewer

    return Depends(dependency)


async def checked_form(request: Request, viewer: Viewer) -> FormData:
    """The posted form, once its CSRF token (field or header) matches the session's."""
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not isinstance(sent, str) or not hmac.compare_digest(sent, viewer.csrf_token):
        raise ForbiddenError("the form's CSRF token is missing or wrong; reload the page")
    return form


def check_login_token(request: Request, form: FormData) -> None:
    """The login form's double-submit token must match its cookie."""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get(CSRF_FIELD)
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(sent, cookie):
        raise ForbiddenError("the login form expired or was not sent from this console")
