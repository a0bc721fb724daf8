"""Log in (password + TOTP), log out, and the dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hazina.console.dashboard import build_dashboard
from hazina.console.rendering import render
from hazina.console.security import (
    COOKIE_PATH,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    TENANT_COOKIE,
    CurrentViewer,
    LoginRequiredError,
    Page,
    check_login_token,
    checked_form,
    new_login_token,
    platform_of,
)
from hazina.identity.service import AuthenticationError
from hazina.kernel.limits import operator_session_lifetime_s
from hazina.partners.tenants import home_slug

router = APIRouter(include_in_schema=False)

_currency = "KES"


def _safe_next(target: str | None) -> str:
    """Only a console path: a login link must not send the operator to another site."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console/"


def _login_page(request: Request, next_path: str, error: str | None, status: int) -> Response:
    token = new_login_token()
    response = render(
        request,
        "login.html",
        None,
        {"login_token": token, "next": next_path, "error": error},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, next_path: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    return _login_page(request, _safe_next(next_path), None, 200)


@router.post("/login")
async def log_in(request: Request) -> Response:
    form = await request.form()
    check_login_token(request, form)
    fields: dict[str, Any] = {name: form.get(name) for name in ("username", "password", "totp")}
    next_path = _safe_next(str(form.get("next") or ""))
    if not all(isinstance(value, str) and value for value in fields.values()):
        return _login_page(request, next_path, "Enter username, password and code.", 422)
    tenant = str(form.get("tenant") or "").strip() or home_slug
    try:
        identity = platform_of(request, tenant).identity
    except LoginRequiredError:  # no such operator: answered as a wrong password is
        return _login_page(request, next_path, "Wrong username, password or code.", 401)
    try:
        session = identity.log_in(fields["username"], fields["password"], fields["totp"].strip())
    except AuthenticationError as error:
        return _login_page(request, next_path, str(error).capitalize() + ".", 401)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=operator_session_lifetime_s,
        httponly=True,
        samesite="strict",
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
    )
    response.set_cookie(
        TENANT_COOKIE,
        tenant,
        max_age=operator_session_lifetime_s,
        httponly=True,
        samesite="strict",
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/logout")
async def log_out(request: Request, viewer: CurrentViewer) -> Response:
    await checked_form(request, viewer)
    token = request.cookies.get(SESSION_COOKIE, "")
    identity = platform_of(request).identity
    identity.log_out(token)
    identity.record(viewer.operator.username, "operator.logged_out", viewer.operator.username)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    response.delete_cookie(TENANT_COOKIE, path=COOKIE_PATH)
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, viewer: CurrentViewer) -> Response:
    data = build_dashboard(platform_of(request), viewer.principal.scopes, _currency)
    return render(request, "dashboard.html", viewer, {"board": data}, page=Page.dashboard)
