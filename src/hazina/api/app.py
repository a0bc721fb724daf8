"""The FastAPI application: middleware, error handling, authentication and the `/v1` routes.

Routes hold no business rules: they parse, authorise, call a service, and render.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import resources
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Header, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hazina.api.middleware import RateLimitMiddleware, RequestIdMiddleware
from hazina.api.problems import (
    PROBLEM_RESPONSES,
    ProblemError,
    install_problem_handlers,
    problem_response,
    request_id_of,
)
from hazina.bootstrap import Platform
from hazina.identity.roles import Scope
from hazina.identity.service import AuthenticationError, Principal
from hazina.kernel.ids import parse_prefixed
from hazina.kernel.limits import api_rate_burst_max, api_rate_per_second_max
from hazina.partners.errors import PartnersError
from hazina.partners.gateway import Partners
from hazina.payments.errors import ErrorKind, IdempotentReplayError, PaymentError
from hazina.payments.service import IdempotencyRequest, StepUpAnswer

_status_of_kind = {
    ErrorKind.not_found: 404,
    ErrorKind.conflict: 409,
    ErrorKind.refused: 422,
    ErrorKind.invalid: 422,
}

_titles = {
    ErrorKind.not_found: "Not found",
    ErrorKind.conflict: "Conflicts with the current state",
    ErrorKind.refused: "Refused by a business rule",
    ErrorKind.invalid: "The request cannot be carried out",
}


def problem_from(error: PaymentError) -> ProblemError:
    extensions: dict[str, Any] = {
        k: v for k, v in error.details.items() if isinstance(v, (str, int, bool))
    }
    if error.iso20022 is not None:
        extensions["iso20022_reason"] = error.iso20022
    return ProblemError(
        _status_of_kind[error.kind], error.code, _titles[error.kind], error.message, **extensions
    )


def parse_id(prefix: str, text: str, what: str) -> int:
    try:
        return parse_prefixed(prefix, text)
    except ValueError as error:
        raise ProblemError(404, f"{what}_not_found", "Not found", str(error)) from None


class Context:
    """What a route needs: the platform, the caller, and helpers that keep routes short."""

    def __init__(self, platform: Platform, principal: Principal, request: Request) -> None:
        self.platform = platform
        self.principal = principal
        self.request = request

    @property
    def actor(self) -> str:
        return f"{self.principal.kind}:{self.principal.name}"

    def require(self, scope: Scope) -> None:
        if not self.principal.may(scope):
            raise ProblemError(
                403,
                "forbidden",
                "Forbidden",
                f"this needs the scope {scope.value}",
                required_scope=scope.value,
            )


async def authenticated(
    request: Request,
    authorization: Annotated[
        str | None,
        Header(description="`Bearer <partner access token, API key or operator session token>`"),
    ] = None,
    tenant: Annotated[
        str | None,
        Header(
            alias="Hazina-Tenant",
            max_length=32,
            description="The tenant (operator) whose data the request is for; the home tenant "
            "when absent. A partner access token carries its own tenant.",
        ),
    ] = None,
) -> Context:
    """The caller, from the bearer credential.

    An API key or session of the home tenant on a database read in process (embedded SQLite)
    is checked right here on the event loop: one indexed read (tens of microseconds) costs
    less than the hop to a pool thread. Everything else (a partner's token, another tenant, whose
    platform may first have to be opened, or PostgreSQL, a round trip away) is checked in the
    thread pool."""
    if authorization is None or not authorization.startswith("Bearer "):
        raise ProblemError(
            401,
            "unauthenticated",
            "Authentication required",
            "send Authorization: Bearer <access token, API key or session token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    credential = authorization[7:].strip()
    if tenant is None and not _is_access_token(credential):
        partners: Partners = request.app.state.partners
        _, home = partners.platform_for(None)  # the home platform is always open
        if home.ledger.store.reads_in_process:
            return _authenticated(request, credential, tenant)
    return await run_in_threadpool(_authenticated, request, credential, tenant)


def _is_access_token(credential: str) -> bool:
    """A JWT (three dot-separated parts): a partner's access token, not an API key or
    operator session."""
    return credential.count(".") == 2


def _authenticated(request: Request, credential: str, tenant: str | None) -> Context:
    partners: Partners = request.app.state.partners
    try:
        if _is_access_token(credential):
            principal, platform = partners.authenticate_token(credential, tenant)
        else:
            _, platform = partners.platform_for(tenant)
            principal = platform.identity.authenticate(credential)
    except PartnersError as error:
        raise ProblemError(
            error.status,
            error.code,
            "Too many requests" if error.status == 429 else "Refused",
            error.message,
            headers=error.headers | ({"WWW-Authenticate": "Bearer"} if error.status == 401 else {}),
        ) from None
    except AuthenticationError as error:
        raise ProblemError(
            401,
            "unauthenticated",
            "Authentication required",
            str(error),
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    return Context(platform, principal, request)


Caller = Annotated[Context, Depends(authenticated)]


def create_app(
    platform: Platform,
    *,
    partners: Partners | None = None,
    rate_per_second: float = api_rate_per_second_max,
    burst: int = api_rate_burst_max,
) -> FastAPI:
    app = FastAPI(
        title="Hazina API",
        version="1",
        description=(
            "Wallets, payments and the ledger of a Hazina operator. Errors are RFC 9457 "
            "problem details with a stable `code`; money-moving POSTs take an "
            "`Idempotency-Key`; lists use cursor pagination."
        ),
        responses=PROBLEM_RESPONSES,
        docs_url=None,  # served by `_install_offline_docs`, from the package, not a CDN
        redoc_url=None,
    )
    _install_offline_docs(app)
    app.state.platform = platform
    app.state.partners = partners or Partners(platform, platform.database)
    install_problem_handlers(app)

    @app.exception_handler(PaymentError)
    async def _payment_error(request: Request, error: PaymentError) -> Response:
        problem = problem_from(error)
        extensions: dict[str, Any] = dict(problem.extensions)
        return problem_response(
            problem.status,
            problem.code,
            problem.title,
            problem.detail,
            instance=request.url.path,
            request_id=request_id_of(request.scope),
            **extensions,
        )

    @app.exception_handler(IdempotentReplayError)
    async def _replay(request: Request, error: IdempotentReplayError) -> Response:
        return replayed(error)

    from hazina.api import (
        routes_admin,
        routes_cases,
        routes_cbdc,
        routes_loans,
        routes_parties,
        routes_partners,
        routes_payments,
        routes_risk,
    )

    # Payments first: FastAPI tries the routers in order on every request, and the money
    # routes are the busiest. No two routers share a path, so the order changes nothing else.
    app.include_router(routes_payments.router, prefix="/v1")
    app.include_router(routes_parties.router, prefix="/v1")
    app.include_router(routes_admin.router, prefix="/v1")
    app.include_router(routes_risk.router, prefix="/v1")
    app.include_router(routes_cases.router, prefix="/v1")
    app.include_router(routes_loans.router, prefix="/v1")
    app.include_router(routes_partners.router)
    app.include_router(routes_cbdc.router, prefix="/v1")

    from hazina.api import routes_assist

    app.include_router(routes_assist.router, prefix="/v1")
    app.include_router(routes_assist.page_router)  # the chat widget at /assist

    from hazina.api import routes_webhooks

    app.include_router(routes_webhooks.router, prefix="/v1")

    from hazina.console.app import install_console

    install_console(app)

    @app.get("/healthz", tags=["health"], include_in_schema=True)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(
        RateLimitMiddleware,
        rate_per_second=rate_per_second,
        burst=burst,
        exempt_paths=frozenset({"/healthz", "/openapi.json", "/docs", "/redoc"}),
    )
    app.add_middleware(RequestIdMiddleware)
    _declare_replay_header(app)
    return app


docs_assets_path = "/docs/assets"


def _install_offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs and ReDoc at /redoc with their scripts and styles served by this
    app (from the `fastapi-offline` package) instead of FastAPI's default CDN: a laptop or an
    operator's network without internet access still gets working API docs."""
    app.mount(
        docs_assets_path,
        StaticFiles(directory=str(resources.files("fastapi_offline") / "static")),
        name="docs-assets",
    )
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=oauth2_redirect_url,
            swagger_js_url=f"{docs_assets_path}/swagger-ui-bundle.js",
            swagger_css_url=f"{docs_assets_path}/swagger-ui.css",
            swagger_favicon_url=f"{docs_assets_path}/favicon.png",
        )

    @app.get(oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{docs_assets_path}/redoc.standalone.js",
            redoc_favicon_url=f"{docs_assets_path}/favicon.png",
            with_google_fonts=False,
        )


def _declare_replay_header(app: FastAPI) -> None:
    """Say in the spec what a replayed money-moving request answers with: the original
    response plus `Idempotent-Replayed: true`. Every operation that takes an Idempotency-Key
    gets the header on its success responses."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                names = {p.get("name") for p in operation.get("parameters", [])}
                if "Idempotency-Key" not in names:
                    continue
                for status, response in operation.get("responses", {}).items():
                    if status.startswith("2"):
                        response.setdefault("headers", {})["Idempotent-Replayed"] = {
                            "description": "`true` when this is the stored response of an "
                            "earlier request with the same Idempotency-Key and body.",
                            "schema": {"type": "string", "enum": ["true"]},
                        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description=(
            "A key of the client's choosing, unique per payment. A retry with the same key and "
            "body gets the original response; the same key with another body gets 409."
        ),
    ),
]


async def step_up_answer(
    challenge: Annotated[
        str | None,
        Header(
            alias="Step-Up-Challenge",
            max_length=64,
            description="With `Step-Up-Code`: the `challenge_id` of a `step_up_required` problem.",
        ),
    ] = None,
    code: Annotated[
        str | None,
        Header(
            alias="Step-Up-Code",
            max_length=16,
            description="The one-time code risk control sent to the customer's phone.",
        ),
    ] = None,
) -> StepUpAnswer | None:
    """The customer's answer to a step-up challenge, sent with the repeated request."""
    if challenge is None and code is None:
        return None
    if challenge is None or code is None:
        raise ProblemError(
            422,
            "step_up_incomplete",
            "Incomplete step-up",
            "send both Step-Up-Challenge and Step-Up-Code",
        )
    if not challenge.isdigit() or not code.isdigit() or len(challenge) > 19:
        raise ProblemError(
            422, "step_up_malformed", "Malformed step-up", "the challenge and code are digits"
        )
    return StepUpAnswer(int(challenge), code)


StepUp = Annotated[StepUpAnswer | None, Depends(step_up_answer)]


def idempotency_for(
    context: Context, key: str, body: BaseModel, status: int, render: Callable[[Any], BaseModel]
) -> IdempotencyRequest:
    """The idempotency record of one money-moving request: who, which key, and a hash of
    the method, path and body (canonical JSON)."""
    canonical = orjson.dumps(
        [context.request.method, context.request.url.path, body.model_dump(mode="json")],
        option=orjson.OPT_SORT_KEYS,
    )
    return IdempotencyRequest(
        principal=context.actor,
        key=key,
        request_hash=hashlib.sha256(canonical).hexdigest(),
        status=status,
        render=lambda record: render(record).model_dump_json(),
    )


def replayed(error: IdempotentReplayError) -> Response:
    return Response(
        error.body,
        status_code=error.status,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )
