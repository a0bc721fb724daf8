"""Partner onboarding, OAuth2 client credentials, tenants and brands.

`/oauth2/token` (RFC 6749 client credentials; client id and secret in the form or as HTTP
Basic), `/oauth2/revoke` (RFC 7009), `/.well-known/jwks.json` (the public signing keys),
`/v1/partner-apps...` (register, approve as another operator, reject, revoke, usage),
`/v1/partner/usage` (a partner's own), `/v1/tenants...` and `/v1/brand`. OAuth errors are
problem details whose `code` is also the RFC 6749 `error` value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import date, timedelta
from html import escape
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from markdown_it import MarkdownIt
from pydantic import BaseModel, Field

from hazina.api.amounts import format_amount
from hazina.api.app import Caller, Context
from hazina.api.pagination import Page, PageParameters, page_from
from hazina.api.problems import ProblemError
from hazina.api.routing import api_router
from hazina.api.schemas import Strict, rfc3339
from hazina.identity.roles import Scope, ScopeError, parse_scopes
from hazina.kernel.ids import parse_prefixed, prefixed
from hazina.kernel.limits import (
    partner_burst_max,
    partner_daily_quota_max,
    partner_rate_per_second_max,
    sandbox_customers_max,
)
from hazina.partners.apps import AppTerms, PartnerApp, PartnerAppService
from hazina.partners.errors import PartnersError
from hazina.partners.gateway import Partners
from hazina.partners.tenants import Brand, Tenant, home_slug

router = api_router(tags=["partners"])
_epoch = date(1970, 1, 1)


def partners_of(request: Request) -> Partners:
    partners: Partners = request.app.state.partners
    return partners


def _refused(error: PartnersError) -> ProblemError:
    return ProblemError(error.status, error.code, "Refused", error.message, headers=error.headers)


def _tenant_of(context: Context) -> str:
    return str(context.request.headers.get("hazina-tenant") or home_slug)


# -- OAuth2 -----------------------------------------------------------------------------------


class TokenOut(BaseModel):
    access_token: str
    token_type: str = Field(examples=["Bearer"])
    expires_in: int = Field(description="Seconds the token is valid.")
    scope: str


def _oauth_problem(status: int, error: str, detail: str) -> ProblemError:
    headers = {"WWW-Authenticate": 'Basic realm="hazina"'} if status == 401 else None
    return ProblemError(status, error, "OAuth2 request refused", detail, headers=headers,
                        error=error)  # fmt: skip


def _client_credentials(
    authorization: str | None, client_id: str | None, client_secret: str | None
) -> tuple[str, str]:
    if authorization is not None and authorization.startswith("Basic "):
        try:
            decoded = base64.b64decode(authorization[6:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _oauth_problem(401, "invalid_client", "malformed Basic credentials") from None
        user, _, password = decoded.partition(":")
        return user, password
    if not client_id or not client_secret:
        raise _oauth_problem(401, "invalid_client", "send client_id and client_secret")
    return client_id, client_secret


@router.post("/oauth2/token", response_model=TokenOut)
def token(
    request: Request,
    grant_type: Annotated[str, Form(max_length=64)],
    client_id: Annotated[str | None, Form(max_length=128)] = None,
    client_secret: Annotated[str | None, Form(max_length=256)] = None,
    scope: Annotated[str | None, Form(max_length=1_000)] = None,
    authorization: Annotated[str | None, Header(max_length=1_000)] = None,
) -> TokenOut:
    """An access token for a partner app (OAuth 2.0 client credentials grant): a JWT valid
    for `expires_in` seconds, for the scopes asked (all the app's when `scope` is left out)."""
    if grant_type != "client_credentials":
        raise _oauth_problem(400, "unsupported_grant_type", "only client_credentials")
    identifier, secret = _client_credentials(authorization, client_id, client_secret)
    try:
        requested = None if scope is None else parse_scopes(scope)
    except ScopeError as error:
        raise _oauth_problem(400, "invalid_scope", str(error)) from None
    try:
        issued = partners_of(request).token_for(identifier, secret, requested)
    except PartnersError as error:
        raise _oauth_problem(error.status, error.code, error.message) from None
    return TokenOut(
        access_token=issued.token,
        token_type="Bearer",
        expires_in=issued.expires_in_s,
        scope=" ".join(issued.scopes),
    )


class RevokeOut(BaseModel):
    revoked: bool = Field(description="Whether a live token of this client was revoked.")


@router.post("/oauth2/revoke", response_model=RevokeOut)
def revoke_token(
    request: Request,
    token: Annotated[str, Form(max_length=4_000)],
    client_id: Annotated[str | None, Form(max_length=128)] = None,
    client_secret: Annotated[str | None, Form(max_length=256)] = None,
    authorization: Annotated[str | None, Header(max_length=1_000)] = None,
) -> RevokeOut:
    """Revoke an access token (RFC 7009). The client authenticates; only its own tokens are
    revoked. An unknown or expired token is not an error."""
    identifier, secret = _client_credentials(authorization, client_id, client_secret)
    partners = partners_of(request)
    try:
        partners.authenticate_client(identifier, secret)
    except PartnersError:
        raise _oauth_problem(401, "invalid_client", "client authentication failed") from None
    try:
        claims = partners.tokens.verify(token)
    except Exception:
        return RevokeOut(revoked=False)
    if claims.client_id != identifier:
        return RevokeOut(revoked=False)
    return RevokeOut(revoked=partners.tokens.revoke(token))


@router.get("/.well-known/jwks.json")
def jwks(request: Request) -> dict[str, Any]:
    """The public keys that sign access tokens (JWK set; ES256, by `kid`)."""
    return partners_of(request).tokens.jwks()


# -- partner apps -----------------------------------------------------------------------------


class AppCreate(Strict):
    name: str = Field(min_length=1, max_length=80)
    contact_email: str = Field(min_length=3, max_length=254)
    scopes: list[Scope] = Field(min_length=1, max_length=32)
    rate_per_second: int = Field(default=10, ge=1, le=partner_rate_per_second_max)
    burst: int = Field(default=20, ge=1, le=partner_burst_max)
    daily_quota: int = Field(default=10_000, ge=1, le=partner_daily_quota_max)
    revenue_share_bps: int = Field(
        default=0, ge=0, le=10_000, description="Share of fees on the app's payments paid to it."
    )


class AppOut(BaseModel):
    id: str
    client_id: str
    tenant: str
    name: str
    contact_email: str
    scopes: list[str]
    status: str = Field(examples=["pending", "approved", "rejected", "revoked"])
    requested_by: str
    decided_by: str | None
    rate_per_second: int
    burst: int
    daily_quota: int
    revenue_share_bps: int
    revenue_party: str | None
    sandbox_tenant: str | None
    created_at: str


class Credentials(BaseModel):
    tenant: str
    client_id: str
    client_secret: str = Field(description="Shown once; only its hash is kept.")


class ApprovalOut(BaseModel):
    app: AppOut
    credentials: Credentials
    sandbox: Credentials | None


class ApprovalCreate(Strict):
    sandbox_customers: int = Field(
        default=50,
        ge=10,
        le=sandbox_customers_max,
        description="Simulated customers in the sandbox.",
    )


def app_out(app: PartnerApp, tenant: str) -> AppOut:
    return AppOut(
        id=prefixed("app", app.id),
        client_id=app.client_id,
        tenant=tenant,
        name=app.name,
        contact_email=app.contact_email,
        scopes=sorted(scope.value for scope in app.scopes),
        status=app.status,
        requested_by=app.requested_by,
        decided_by=app.decided_by,
        rate_per_second=app.rate_per_second,
        burst=app.burst,
        daily_quota=app.daily_quota,
        revenue_share_bps=app.revenue_share_bps,
        revenue_party=None if app.party_id is None else prefixed("pty", app.party_id),
        sandbox_tenant=app.sandbox_tenant,
        created_at=rfc3339(app.created_at_ns),
    )


def _app_id(text: str) -> int:
    try:
        return parse_prefixed("app", text)
    except ValueError as error:
        raise ProblemError(404, "partner_app_not_found", "Not found", str(error)) from None


@router.post("/v1/partner-apps", response_model=AppOut, status_code=201)
def register_app(body: AppCreate, context: Caller) -> AppOut:
    """Register a partner's app (the maker); another operator approves it."""
    context.require(Scope.partners_write)
    tenant = _tenant_of(context)
    terms = AppTerms(
        body.name, body.contact_email, frozenset(body.scopes), body.rate_per_second,
        body.burst, body.daily_quota, body.revenue_share_bps,
    )  # fmt: skip
    try:
        app = partners_of(context.request).apps(tenant).register(terms, context.actor)
    except PartnersError as error:
        raise _refused(error) from None
    return app_out(app, tenant)


@router.get("/v1/partner-apps", response_model=Page[AppOut])
def list_apps(context: Caller, page: Annotated[PageParameters, Depends()]) -> Page[AppOut]:
    context.require(Scope.partners_read)
    tenant = _tenant_of(context)
    after = 0 if page.starting_after is None else _app_id(page.starting_after)
    apps = partners_of(context.request).apps(tenant).page(after, page.limit + 1)
    return page_from([app_out(app, tenant) for app in apps], page.limit, lambda app: app.id)


@router.get("/v1/partner-apps/{app_id}", response_model=AppOut)
def get_app(app_id: str, context: Caller) -> AppOut:
    context.require(Scope.partners_read)
    tenant = _tenant_of(context)
    try:
        return app_out(partners_of(context.request).apps(tenant).get(_app_id(app_id)), tenant)
    except PartnersError as error:
        raise _refused(error) from None


@router.post("/v1/partner-apps/{app_id}/approval", response_model=ApprovalOut)
def approve_app(app_id: str, body: ApprovalCreate, context: Caller) -> ApprovalOut:
    """Approve an app (the checker: not the operator who registered it). Answers the client
    credentials, once, and those of the partner's new sandbox tenant."""
    context.require(Scope.partners_write)
    tenant = _tenant_of(context)
    partners = partners_of(context.request)
    try:
        live, sandbox = partners.approve(
            tenant, _app_id(app_id), context.actor, body.sandbox_customers
        )
    except PartnersError as error:
        raise _refused(error) from None
    context.platform.identity.record(context.actor, "partner_app.approve", live.app.client_id)
    return ApprovalOut(
        app=app_out(live.app, tenant),
        credentials=Credentials(
            tenant=tenant, client_id=live.app.client_id, client_secret=live.client_secret
        ),
        sandbox=None
        if sandbox is None
        else Credentials(
            tenant=str(live.app.sandbox_tenant),
            client_id=sandbox.app.client_id,
            client_secret=sandbox.client_secret,
        ),
    )


def _decide(
    app_id: str, context: Context, act: Callable[[PartnerAppService, int, str], PartnerApp]
) -> AppOut:
    context.require(Scope.partners_write)
    tenant = _tenant_of(context)
    try:
        app = act(partners_of(context.request).apps(tenant), _app_id(app_id), context.actor)
    except PartnersError as error:
        raise _refused(error) from None
    context.platform.identity.record(context.actor, f"partner_app.{app.status}", app.client_id)
    return app_out(app, tenant)


@router.post("/v1/partner-apps/{app_id}/rejection", response_model=AppOut)
def reject_app(app_id: str, context: Caller) -> AppOut:
    """Reject a pending app (another operator than the one who registered it)."""
    return _decide(app_id, context, PartnerAppService.reject)


@router.post("/v1/partner-apps/{app_id}/revocation", response_model=AppOut)
def revoke_app(app_id: str, context: Caller) -> AppOut:
    """Revoke an approved app: every token it holds stops working at once."""
    return _decide(app_id, context, PartnerAppService.revoke)


class UsageDay(BaseModel):
    day: str
    requests: int


class UsageOut(BaseModel):
    client_id: str
    daily_quota: int
    days: list[UsageDay]


def _usage(context: Context, tenant: str, app: PartnerApp, days: int) -> UsageOut:
    partners = partners_of(context.request)
    partners.flush_usage()
    today = context.platform.clock.now_ns() // (86_400 * 10**9)
    rows = partners.apps(tenant).usage(app.client_id, today - days + 1, today)
    return UsageOut(
        client_id=app.client_id,
        daily_quota=app.daily_quota,
        days=[
            UsageDay(day=(_epoch + timedelta(days=day)).isoformat(), requests=requests)
            for day, requests in rows
        ],
    )


Days = Annotated[int, Query(ge=1, le=366, description="How many days back, today included.")]


@router.get("/v1/partner-apps/{app_id}/usage", response_model=UsageOut)
def app_usage(app_id: str, context: Caller, days: Days = 30) -> UsageOut:
    """Metered requests of an app per day (UTC)."""
    context.require(Scope.partners_read)
    tenant = _tenant_of(context)
    try:
        app = partners_of(context.request).apps(tenant).get(_app_id(app_id))
    except PartnersError as error:
        raise _refused(error) from None
    return _usage(context, tenant, app, days)


@router.get("/v1/partner/usage", response_model=UsageOut)
def own_usage(context: Caller, days: Days = 30) -> UsageOut:
    """A partner's own metered requests per day (with its access token)."""
    if context.principal.kind != "partner":
        raise ProblemError(403, "partner_only", "Forbidden", "only a partner's access token")
    tenant = context.principal.name.split(".", 1)[0]
    app = partners_of(context.request).apps(tenant).by_client_id(context.principal.name)
    if app is None:
        raise ProblemError(404, "partner_app_not_found", "Not found", "no such partner app")
    return _usage(context, tenant, app, days)


class SettlementOut(BaseModel):
    client_id: str
    transaction: str = Field(description="The partner-originated payment.")
    currency: str
    fee: str
    share: str
    payout: str | None = Field(description="The revenue-share payment; null when nothing.")


@router.post("/v1/partner-revenue-settlements", response_model=list[SettlementOut])
def settle_revenue(context: Caller) -> list[SettlementOut]:
    """Pay partners their share of the fees on payments their apps originated since the
    last run (the server also runs it every minute). Each payment is settled once."""
    context.require(Scope.partners_write)
    settled = partners_of(context.request).apps(_tenant_of(context)).settle_revenue_share()
    return [
        SettlementOut(
            client_id=each.client_id,
            transaction=prefixed("txn", each.transaction_id),
            currency=each.currency,
            fee=format_amount(each.fee, each.currency),
            share=format_amount(each.share, each.currency),
            payout=None
            if each.payout_transaction_id is None
            else prefixed("txn", each.payout_transaction_id),
        )
        for each in settled
    ]


# -- tenants ----------------------------------------------------------------------------------


class BrandBody(Strict):
    display_name: str = Field(min_length=1, max_length=80)
    logo_url: str | None = Field(default=None, max_length=500)
    primary_colour: str = Field(default="#0b5394", pattern=r"^#[0-9a-fA-F]{6}$")
    accent_colour: str = Field(default="#f1c232", pattern=r"^#[0-9a-fA-F]{6}$")


class TenantCreate(Strict):
    slug: str = Field(pattern=r"^[a-z][a-z0-9-]{1,31}$")
    name: str = Field(min_length=1, max_length=80)
    brand: BrandBody


class TenantOut(BaseModel):
    slug: str
    name: str
    kind: str
    brand: BrandBody
    owner_app: str | None
    created_at: str


def tenant_out(tenant: Tenant) -> TenantOut:
    return TenantOut(
        slug=tenant.slug,
        name=tenant.name,
        kind=tenant.kind,
        brand=BrandBody(
            display_name=tenant.brand.display_name,
            logo_url=tenant.brand.logo_url,
            primary_colour=tenant.brand.primary_colour,
            accent_colour=tenant.brand.accent_colour,
        ),
        owner_app=tenant.owner_app,
        created_at=rfc3339(tenant.created_at_ns),
    )


def _home_only(context: Context) -> None:
    if _tenant_of(context) != home_slug or context.principal.kind == "partner":
        raise ProblemError(
            403, "home_tenant_only", "Forbidden", "tenants are managed by the home operator"
        )


@router.post("/v1/tenants", response_model=TenantOut, status_code=201)
def create_tenant(body: TenantCreate, context: Caller) -> TenantOut:
    """A new operator on this installation, with its own database and brand."""
    context.require(Scope.tenants_write)
    _home_only(context)
    brand = Brand(**body.brand.model_dump())
    try:
        tenant = partners_of(context.request).tenants.create(
            body.slug, body.name, brand, context.actor
        )
    except PartnersError as error:
        raise _refused(error) from None
    partners_of(context.request).tenants.platform(tenant.slug).payments.setup_currency("KES")
    context.platform.identity.record(context.actor, "tenant.create", tenant.slug)
    return tenant_out(tenant)


@router.get("/v1/tenants", response_model=list[TenantOut])
def list_tenants(context: Caller) -> list[TenantOut]:
    context.require(Scope.tenants_read)
    _home_only(context)
    return [tenant_out(t) for t in partners_of(context.request).tenants.list()]


@router.get("/v1/brand", response_model=BrandBody)
def brand(
    request: Request,
    tenant: Annotated[str | None, Header(alias="Hazina-Tenant", max_length=32)] = None,
) -> BrandBody:
    """The tenant's brand (display name, logo, colours) for customer-facing pages; public."""
    partners = partners_of(request)
    if tenant is None or tenant == home_slug:
        home = Brand(display_name="Hazina")
        return BrandBody(
            display_name=home.display_name,
            logo_url=home.logo_url,
            primary_colour=home.primary_colour,
            accent_colour=home.accent_colour,
        )
    try:
        found = partners.tenants.get(tenant).brand
    except PartnersError as error:
        raise _refused(error) from None
    return BrandBody(
        display_name=found.display_name,
        logo_url=found.logo_url,
        primary_colour=found.primary_colour,
        accent_colour=found.accent_colour,
    )


# -- developer portal -------------------------------------------------------------------------

_guide = Path(__file__).resolve().parent.parent / "partners" / "portal" / "getting-started.md"
_page = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hazina for developers</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
       color: #1b1b1b; line-height: 1.5; }}
nav a {{ margin-right: 1rem; }} a {{ color: #0b5394; }}
pre {{ background: #f4f4f4; padding: 0.75rem; overflow-x: auto; }}
code {{ font-family: ui-monospace, monospace; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; }}
</style></head><body>
<nav aria-label="Developer portal"><a href="/developers">Getting started</a>
<a href="/developers/reference">API reference</a><a href="/docs">Try it (Swagger UI)</a>
<a href="/openapi.json">OpenAPI document</a>
<a href="/.well-known/jwks.json">Signing keys</a>
<a href="/developers/getting-started.md">This guide as markdown</a></nav>
<main>{body}</main></body></html>"""


@router.get("/developers", response_class=HTMLResponse, include_in_schema=False)
def developer_portal() -> HTMLResponse:
    """The developer portal: the getting-started guide, links to the API reference."""
    body = MarkdownIt("commonmark", {"html": False}).render(_guide.read_text())
    return HTMLResponse(_page.format(body=body))


@router.get("/developers/reference", response_class=HTMLResponse, include_in_schema=False)
def api_reference(request: Request) -> HTMLResponse:
    """The API reference rendered on the server from the OpenAPI document: every operation
    with its parameters, body and answers; no script, so it reads offline."""
    document = request.app.openapi()
    parts = ["<h1>API reference</h1>", f"<p>{escape(document['info'].get('description', ''))}</p>"]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, operations in sorted(document.get("paths", {}).items()):
        for method, operation in operations.items():
            tag = (operation.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((method.upper(), path, operation))
    parts.append("<ul>" + "".join(
        f'<li><a href="#tag-{escape(tag)}">{escape(tag)}</a></li>' for tag in sorted(by_tag)
    ) + "</ul>")  # fmt: skip
    for tag in sorted(by_tag):
        parts.append(f'<h2 id="tag-{escape(tag)}">{escape(tag)}</h2>')
        for method, path, operation in by_tag[tag]:
            parts.append(_operation_html(method, path, operation))
    return HTMLResponse(_page.format(body="\n".join(parts)))


def _operation_html(method: str, path: str, operation: dict[str, Any]) -> str:
    html = [f"<h3><code>{method} {escape(path)}</code></h3>"]
    if operation.get("summary"):
        html.append(f"<p><strong>{escape(operation['summary'])}</strong></p>")
    if operation.get("description"):
        html.append(f"<p>{escape(operation['description'])}</p>")
    parameters = operation.get("parameters", [])
    if parameters:
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p.get('in', ''))}</td>"
            f"<td>{'yes' if p.get('required') else 'no'}</td>"
            f"<td>{escape(p.get('description', '') or '')}</td></tr>"
            for p in parameters
        )
        html.append(
            "<table><caption>Parameters</caption><tr><th scope=col>name</th><th scope=col>in"
            f"</th><th scope=col>required</th><th scope=col>description</th></tr>{rows}</table>"
        )
    body = operation.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        reference = content.get("schema", {}).get("$ref", "")
        html.append(f"<p>Body: <code>{escape(media)}</code> {escape(reference.split('/')[-1])}</p>")
    answers = ", ".join(
        f"<code>{escape(status)}</code> {escape(answer.get('description', ''))}"
        for status, answer in operation.get("responses", {}).items()
    )
    html.append(f"<p>Answers: {answers}</p>")
    return "\n".join(html)


@router.get("/developers/getting-started.md", include_in_schema=False)
def developer_guide() -> PlainTextResponse:
    return PlainTextResponse(_guide.read_text(), media_type="text/markdown; charset=utf-8")
