"""Mount the console on the API's FastAPI application at `/console`.

The console's own assets (htmx, Chart.js, its stylesheet and script) are served from the
package: the console works without internet.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hazina.api.app import problem_from
from hazina.console.rendering import STATIC_FOLDER, render
from hazina.console.security import ForbiddenError, LoginRequiredError, current_viewer
from hazina.payments.errors import PaymentError
from hazina.risk.aml.errors import CaseError, CaseErrorKind


class ConsoleRefusedError(Exception):
    """A service refused what the operator asked; the page says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_case_status = {
    CaseErrorKind.not_found: 404,
    CaseErrorKind.conflict: 409,
    CaseErrorKind.invalid: 422,
}


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a service's refusal into a console page that says why."""
    try:
        yield
    except PaymentError as error:
        raise ConsoleRefusedError(problem_from(error).status, error.message) from None
    except CaseError as error:
        raise ConsoleRefusedError(_case_status[error.kind], str(error)) from None


def install_console(app: FastAPI) -> None:
    """Add the console's routes, assets and error pages to `app` (whose state holds the
    platform)."""
    from hazina.console import (
        routes_changes,
        routes_customers,
        routes_handoffs,
        routes_home,
        routes_work,
    )

    app.state.console_csrf_key = secrets.token_bytes(32)
    app.mount("/console/static", StaticFiles(directory=STATIC_FOLDER), name="console-static")
    app.include_router(routes_home.router, prefix="/console")
    app.include_router(routes_customers.router, prefix="/console")
    app.include_router(routes_work.router, prefix="/console")
    app.include_router(routes_changes.router, prefix="/console")
    app.include_router(routes_handoffs.router, prefix="/console")

    @app.exception_handler(LoginRequiredError)
    async def _login(request: Request, error: LoginRequiredError) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        if request.headers.get("HX-Request"):  # htmx follows this header, not a redirect
            return Response(status_code=401, headers={"HX-Redirect": "/console/login"})
        return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)

    @app.exception_handler(ForbiddenError)
    async def _forbidden(request: Request, error: ForbiddenError) -> Response:
        return _error_page(request, 403, "Not allowed", error.message)

    @app.exception_handler(ConsoleRefusedError)
    async def _refused(request: Request, error: ConsoleRefusedError) -> Response:
        return _error_page(request, error.status, "Refused", error.message)


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    try:
        viewer = current_viewer(request)
    except LoginRequiredError:
        viewer = None
    return render(
        request, "error.html", viewer, {"title": title, "message": message}, status_code=status
    )
