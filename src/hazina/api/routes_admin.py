"""Operator sessions, operators, API keys, tariffs, the audit log and the ledger's verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from hazina.api.amounts import resolve_currency
from hazina.api.app import Caller
from hazina.api.pagination import numeric_cursor
from hazina.api.problems import ProblemError
from hazina.api.routing import api_router
from hazina.api.schemas import ApiKeyCreate, OperatorCreate, SessionCreate, rfc3339
from hazina.identity.passwords import PasswordPolicyError
from hazina.identity.roles import Role, Scope, ScopeError, parse_scopes
from hazina.identity.service import AuthenticationError, IdentityError
from hazina.ledger.audit import JournalHead
from hazina.payments import tariff_codec
from hazina.payments.domain.tariffs import TariffError


class SessionOut(BaseModel):
    token: str
    expires_at: str
    username: str
    roles: list[str]


class MeOut(BaseModel):
    kind: str
    name: str
    scopes: list[str]


class ApiKeyOut(BaseModel):
    key_id: str
    display_prefix: str
    name: str
    owner: str
    scopes: list[str]
    created_at: str
    revoked_at: str | None
    key: str | None = None  # the plaintext, in the response that issues it only


class OperatorOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    status: str
    totp_secret: str | None = None  # once, for the authenticator app


class AuditEntryOut(BaseModel):
    id: int
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    at: str


class AuditPage(BaseModel):
    data: list[AuditEntryOut]
    has_more: bool
    next_cursor: str | None


class LedgerVerificationOut(BaseModel):
    ok: bool
    journal_entries: int
    records: int
    transfers: int
    accounts: int
    head: str | None  # SEQUENCE:HASH of the newest entry verified: keep it, pass it back later
    first_break: str | None
    problems: list[str]


router = api_router(tags=["administration"])


@router.post("/operator-sessions", status_code=201, response_model=SessionOut)
def log_in(body: SessionCreate, request: Request) -> SessionOut:
    """Log in with username, password and the current TOTP code; use the token as a
    Bearer credential."""
    try:
        session = request.app.state.platform.identity.log_in(
            body.username, body.password, body.totp_code
        )
    except AuthenticationError as error:
        raise ProblemError(
            401,
            "unauthenticated",
            "Authentication required",
            str(error),
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    return SessionOut(
        token=session.token,
        expires_at=rfc3339(session.expires_at_ns),
        username=session.operator.username,
        roles=[r.value for r in session.operator.roles],
    )


@router.get("/me", response_model=MeOut)
def me(context: Caller) -> MeOut:
    return MeOut(
        kind=context.principal.kind,
        name=context.principal.name,
        scopes=sorted(s.value for s in context.principal.scopes),
    )


@router.post("/operators", status_code=201, response_model=OperatorOut)
def create_operator(body: OperatorCreate, context: Caller) -> OperatorOut:
    context.require(Scope.users_write)
    try:
        roles = [Role(r) for r in body.roles]
    except ValueError:
        raise ProblemError(
            422, "role_unknown", "Unknown role", f"roles are {[r.value for r in Role]}"
        ) from None
    try:
        created = context.platform.identity.create_operator(
            body.username, body.display_name, body.password, roles, context.actor
        )
    except PasswordPolicyError as error:
        raise ProblemError(422, error.code, "Password too weak", str(error)) from None
    except IdentityError as error:
        status = 409 if error.code == "username_taken" else 422
        raise ProblemError(
            status, error.code, "Cannot create the operator", error.message
        ) from None
    operator = created.operator
    return OperatorOut(
        username=operator.username,
        display_name=operator.display_name,
        roles=[r.value for r in operator.roles],
        status=operator.status,
        totp_secret=created.totp_secret,
    )


def key_out(record: Any, plaintext: str | None = None) -> ApiKeyOut:
    return ApiKeyOut(
        key_id=record.key_id,
        display_prefix=record.display_prefix,
        name=record.name,
        owner=record.owner,
        scopes=sorted(s.value for s in record.scopes),
        created_at=rfc3339(record.created_at_ns),
        revoked_at=None if record.revoked_at_ns is None else rfc3339(record.revoked_at_ns),
        key=plaintext,
    )


@router.post("/api-keys", status_code=201, response_model=ApiKeyOut)
def issue_key(body: ApiKeyCreate, context: Caller) -> ApiKeyOut:
    """Issue an API key; the `key` in this response is shown once and never again."""
    context.require(Scope.api_keys_write)
    try:
        scopes = parse_scopes(" ".join(body.scopes))
    except ScopeError as error:
        raise ProblemError(422, error.code, "Unknown scope", str(error)) from None
    try:
        issued = context.platform.identity.issue_key(body.name, body.owner, scopes, context.actor)
    except IdentityError as error:  # e.g. `scopes_required`: only empty scope names were sent
        raise ProblemError(422, error.code, "Cannot issue the key", error.message) from None
    return key_out(issued.record, issued.plaintext)


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_keys(context: Caller) -> list[ApiKeyOut]:
    context.require(Scope.api_keys_write)
    return [key_out(r) for r in context.platform.identity.list_keys()]


@router.delete("/api-keys/{key_id}", status_code=204, response_class=Response)
def revoke_key(key_id: str, context: Caller) -> Response:
    context.require(Scope.api_keys_write)
    if "\x00" in key_id:  # no key has one, and PostgreSQL refuses it in a text parameter
        raise ProblemError(404, "api_key_not_found", "Not found", f"no active API key {key_id!r}")
    try:
        context.platform.identity.revoke_key(key_id, context.actor)
    except IdentityError as error:
        raise ProblemError(404, error.code, "Not found", error.message) from None
    return Response(status_code=204)


@router.get("/tariffs/{currency}", response_model=list[dict[str, Any]])
def tariffs(currency: str, context: Caller) -> list[dict[str, Any]]:
    """Every version of a currency's tariff, oldest first (amounts in minor units)."""
    context.require(Scope.tariffs_read)
    # A code ISO 4217 does not define cannot have a tariff schedule (building one raises).
    code = resolve_currency(currency).code
    schedule = context.platform.payments.tariff_schedule(code)
    return [tariff_codec.tariff_to_dict(t) for t in schedule.tariffs]


@router.post("/tariffs", status_code=201, response_model=list[dict[str, Any]])
def publish_tariff(body: dict[str, Any], context: Caller) -> list[dict[str, Any]]:
    """Publish a new tariff version, effective from `effective_from_ns`."""
    context.require(Scope.tariffs_write)
    try:
        tariff = tariff_codec.tariff_from_dict(body)
    except TariffError as error:
        raise ProblemError(422, error.code, "Invalid tariff", str(error)) from None
    schedule = context.platform.payments.publish_tariff(tariff, context.actor)
    context.platform.identity.record(
        context.actor, "tariff.published", f"{tariff.currency}:{tariff.version}"
    )
    return [tariff_codec.tariff_to_dict(t) for t in schedule.tariffs]


@router.get("/audit-log", response_model=AuditPage)
def audit_log(
    context: Caller,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    starting_after: Annotated[str | None, Query(pattern=r"^[0-9]{1,19}$")] = None,
) -> AuditPage:
    """The append-only log of who did what, oldest first."""
    context.require(Scope.audit_read)
    after = numeric_cursor(starting_after)
    entries = context.platform.identity.audit_entries(after, limit + 1)
    data = [
        AuditEntryOut(
            id=e["id"],
            actor=e["actor"],
            action=e["action"],
            subject=e["subject"],
            details=e["details"],
            at=rfc3339(e["at_ns"]),
        )
        for e in entries[:limit]
    ]
    return AuditPage(
        data=data,
        has_more=len(entries) > limit,
        next_cursor=str(data[-1].id) if len(entries) > limit else None,
    )


@router.get("/ledger-verification", response_model=LedgerVerificationOut)
def ledger_verification(
    context: Caller,
    head: Annotated[
        str | None,
        Query(
            description="A head from an earlier verification (SEQUENCE:HASH): also check that"
            " the journal still passes through it",
            max_length=100,
        ),
    ] = None,
) -> LedgerVerificationOut:
    """Re-derive the ledger from its records, as `hazina ledger verify` does: the journal's
    hash chain, every balance, pending state, closed flag and balance history. Reads the whole
    ledger: seconds on a large one. The run is written to the audit log."""
    context.require(Scope.audit_read)
    try:
        expected = None if head is None else JournalHead.parse(head)
    except ValueError as error:
        raise ProblemError(
            422, "journal_head_invalid", "Invalid journal head", str(error)
        ) from None
    report = context.platform.verify_ledger(context.actor, expected)
    return LedgerVerificationOut(
        ok=report.ok,
        journal_entries=report.journal_entries,
        records=report.records,
        transfers=report.transfers,
        accounts=report.accounts,
        head=None if report.head is None else str(report.head),
        first_break=report.first_break,
        problems=report.problems,
    )
