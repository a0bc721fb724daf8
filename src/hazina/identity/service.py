"""Operators (password + TOTP, roles), API keys (hashed, shown once) and sessions.

Tables live in the ledger's database and are written through ledger units of work, so a login's
TOTP step and a key's issue are committed like everything else. Every change is written to the
append-only audit log in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hazina.identity.api_keys import (
    ApiKeyError,
    issue_api_key,
    parse_api_key,
    verify_api_key_secret,
)
from hazina.identity.passwords import check_password_policy, hash_password, verify_password
from hazina.identity.roles import Role, Scope, scopes_for, stored_scopes
from hazina.identity.totp import new_totp_secret, verify_totp
from hazina.kernel.clock import Clock
from hazina.kernel.ids import IdSource
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import operator_session_lifetime_s
from hazina.ledger.service import LedgerService, LedgerUnit
from hazina.ledger.store.base import SqlSession

SCHEMA = """
CREATE TABLE IF NOT EXISTS operators (
    id             BIGINT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    totp_secret    TEXT NOT NULL,
    totp_last_step BIGINT,
    roles          TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at_ns  BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id         TEXT PRIMARY KEY,
    secret_hash    TEXT NOT NULL,
    display_prefix TEXT NOT NULL,
    name           TEXT NOT NULL,
    owner          TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    created_at_ns  BIGINT NOT NULL,
    revoked_at_ns  BIGINT
);
CREATE TABLE IF NOT EXISTS operator_sessions (
    token_hash    TEXT PRIMARY KEY,
    operator_id   BIGINT NOT NULL REFERENCES operators (id),
    expires_at_ns BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    id      BIGINT PRIMARY KEY,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    at_ns   BIGINT NOT NULL
);
"""

_session_prefix = "hzs_"
_seconds_ns = 1_000_000_000


class AuthenticationError(Exception):
    """Credentials were missing, malformed, wrong, expired or revoked. One message for all, so
    a caller learns nothing about which part was wrong."""

    code = "unauthenticated"


class IdentityError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an operator (by session) or an API key, and what they may do."""

    kind: str  # "operator" or "api_key"
    name: str  # the operator's username, or the key id
    scopes: frozenset[Scope]

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class Operator:
    id: int
    username: str
    display_name: str
    roles: tuple[Role, ...]
    status: str
    created_at_ns: int


@dataclass(frozen=True, slots=True)
class NewOperator:
    operator: Operator
    totp_secret: str  # shown once, for the authenticator app


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    display_prefix: str
    name: str
    owner: str
    scopes: frozenset[Scope]
    created_at_ns: int
    revoked_at_ns: int | None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    record: ApiKeyRecord
    plaintext: str  # shown once; only its hash is stored


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    operator: Operator
    expires_at_ns: int


def _operator_from_row(row: tuple[Any, ...]) -> Operator:
    return Operator(
        int(row[0]),
        row[1],
        row[2],
        tuple(Role(r) for r in row[3].split()),
        row[4],
        int(row[5]),
    )


_operator_columns = "id, username, display_name, roles, status, created_at_ns"
_key_columns = "key_id, display_prefix, name, owner, scopes, created_at_ns, revoked_at_ns"


def _key_from_row(row: tuple[Any, ...]) -> ApiKeyRecord:
    return ApiKeyRecord(
        row[0],
        row[1],
        row[2],
        row[3],
        stored_scopes(row[4]),
        int(row[5]),
        None if row[6] is None else int(row[6]),
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class IdentityService:
    def __init__(
        self,
        ledger: LedgerService,
        clock: Clock,
        ids: IdSource,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._ids = ids
        self._random_bytes = random_bytes
        ledger.store.ensure_schema("identity", SCHEMA)

    def _reader(self) -> SqlSession:
        return self._ledger.store.reader()

    def audit(
        self, unit: LedgerUnit, actor: str, action: str, subject: str, **details: object
    ) -> None:
        unit.sql.execute(
            "INSERT INTO audit_log (id, actor, action, subject, details, at_ns)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                self._ids.next_id(),
                actor,
                action,
                subject,
                json.dumps(details, sort_keys=True, default=str),
                unit.now_ns,
            ),
        )

    def record(self, actor: str, action: str, subject: str, **details: object) -> None:
        """Append one entry to the audit log on its own."""
        self._ledger.run(lambda unit: self.audit(unit, actor, action, subject, **details))

    def audit_entries(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        rows = self._reader().fetch_all(
            "SELECT id, actor, action, subject, details, at_ns FROM audit_log WHERE id > ?"
            " ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [
            {
                "id": int(r[0]),
                "actor": r[1],
                "action": r[2],
                "subject": r[3],
                "details": json.loads(r[4]),
                "at_ns": int(r[5]),
            }
            for r in rows
        ]

    # -- operators -----------------------------------------------------------------------------

    def create_operator(
        self,
        username: str,
        display_name: str,
        password: str,
        roles: Iterable[Role],
        created_by: str,
        *,
        totp_secret: str | None = None,
    ) -> NewOperator:
        username = username.strip().lower()
        if not username or not username.replace(".", "").replace("-", "").isalnum():
            raise IdentityError("username_invalid", "a username is letters, digits, '.' or '-'")
        role_list = tuple(dict.fromkeys(Role(r) for r in roles))
        if not role_list:
            raise IdentityError("roles_required", "an operator needs at least one role")
        check_password_policy(password)
        secret = totp_secret or new_totp_secret(self._random_bytes)
        password_hash = hash_password(password)

        def work(unit: LedgerUnit) -> Operator:
            if unit.sql.fetch_one("SELECT 1 FROM operators WHERE username = ?", (username,)):
                raise IdentityError("username_taken", f"the username {username!r} is taken")
            operator = Operator(
                self._ids.next_id(),
                username,
                display_name.strip() or username,
                role_list,
                "active",
                unit.now_ns,
            )
            unit.sql.execute(
                "INSERT INTO operators (id, username, display_name, password_hash, totp_secret,"
                " totp_last_step, roles, status, created_at_ns)"
                " VALUES (?, ?, ?, ?, ?, NULL, ?, 'active', ?)",
                (
                    operator.id,
                    username,
                    operator.display_name,
                    password_hash,
                    secret,
                    " ".join(r.value for r in role_list),
                    operator.created_at_ns,
                ),
            )
            self.audit(
                unit, created_by, "operator.created", username, roles=[r.value for r in role_list]
            )
            return operator

        return NewOperator(self._ledger.run(work), secret)

    def get_operator(self, username: str) -> Operator | None:
        row = self._reader().fetch_one(
            f"SELECT {_operator_columns} FROM operators WHERE username = ?", (username,)
        )
        return None if row is None else _operator_from_row(row)

    def list_operators(self) -> list[Operator]:
        rows = self._reader().fetch_all(f"SELECT {_operator_columns} FROM operators ORDER BY id")
        return [_operator_from_row(r) for r in rows]

    def log_in(self, username: str, password: str, totp: str) -> Session:
        """Password and a TOTP code (each code once) give a session token."""
        row = self._reader().fetch_one(
            "SELECT id, password_hash, totp_secret, totp_last_step, status FROM operators"
            " WHERE username = ?",
            (username.strip().lower(),),
        )
        if row is None:
            verify_password(_dummy_hash(), password)  # same work either way: no user probing
            raise AuthenticationError("wrong username, password or code")
        operator_id, password_hash, secret, last_step, status = row
        if status != "active" or not verify_password(password_hash, password):
            raise AuthenticationError("wrong username, password or code")
        now_s = self._clock.now_ns() // _seconds_ns
        step = verify_totp(secret, totp, now_s, None if last_step is None else int(last_step))
        if step is None:
            raise AuthenticationError("wrong username, password or code")
        token = _session_prefix + secrets.token_urlsafe(32)

        def work(unit: LedgerUnit) -> Session:
            changed = unit.sql.execute(
                "UPDATE operators SET totp_last_step = ? WHERE id = ?"
                " AND (totp_last_step IS NULL OR totp_last_step < ?)",
                (step, operator_id, step),
            )
            if changed != 1:  # the same code raced in twice: only one wins
                raise AuthenticationError("wrong username, password or code")
            expires = unit.now_ns + operator_session_lifetime_s * _seconds_ns
            unit.sql.execute(
                "INSERT INTO operator_sessions (token_hash, operator_id, expires_at_ns)"
                " VALUES (?, ?, ?)",
                (_token_hash(token), operator_id, expires),
            )
            self.audit(unit, username, "operator.logged_in", username)
            operator_row = unit.sql.fetch_one(
                f"SELECT {_operator_columns} FROM operators WHERE id = ?", (operator_id,)
            )
            invariant(operator_row is not None, "the operator exists")
            return Session(token, _operator_from_row(operator_row), expires)  # type: ignore[arg-type]

        return self._ledger.run(work)

    def log_out(self, token: str) -> None:
        self._ledger.run(
            lambda unit: unit.sql.execute(
                "DELETE FROM operator_sessions WHERE token_hash = ?", (_token_hash(token),)
            )
        )

    # -- API keys ------------------------------------------------------------------------------

    def issue_key(
        self, name: str, owner: str, scopes: Iterable[Scope], issued_by: str
    ) -> NewApiKey:
        scope_set = frozenset(Scope(s) for s in scopes)
        if not scope_set:
            raise IdentityError("scopes_required", "an API key needs at least one scope")
        issued = issue_api_key(self._random_bytes)

        def work(unit: LedgerUnit) -> ApiKeyRecord:
            record = ApiKeyRecord(
                issued.key_id,
                issued.display_prefix,
                name.strip() or owner,
                owner,
                scope_set,
                unit.now_ns,
                None,
            )
            unit.sql.execute(
                "INSERT INTO api_keys (key_id, secret_hash, display_prefix, name, owner, scopes,"
                " created_at_ns, revoked_at_ns) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    record.key_id,
                    issued.secret_hash,
                    record.display_prefix,
                    record.name,
                    owner,
                    " ".join(sorted(s.value for s in scope_set)),
                    record.created_at_ns,
                ),
            )
            self.audit(
                unit,
                issued_by,
                "api_key.issued",
                record.key_id,
                scopes=sorted(s.value for s in scope_set),
                owner=owner,
            )
            return record

        return NewApiKey(self._ledger.run(work), issued.plaintext)

    def revoke_key(self, key_id: str, revoked_by: str) -> None:
        def work(unit: LedgerUnit) -> None:
            changed = unit.sql.execute(
                "UPDATE api_keys SET revoked_at_ns = ? WHERE key_id = ? AND revoked_at_ns IS NULL",
                (unit.now_ns, key_id),
            )
            if changed != 1:
                raise IdentityError("api_key_not_found", f"no active API key {key_id!r}")
            self.audit(unit, revoked_by, "api_key.revoked", key_id)

        self._ledger.run(work)

    def list_keys(self) -> list[ApiKeyRecord]:
        rows = self._reader().fetch_all(
            f"SELECT {_key_columns} FROM api_keys ORDER BY created_at_ns"
        )
        return [_key_from_row(r) for r in rows]

    # -- authentication ------------------------------------------------------------------------

    def authenticate(self, credential: str) -> Principal:
        """A bearer credential: an API key (`hzk_...`) or an operator session (`hzs_...`)."""
        if credential.startswith(_session_prefix):
            row = self._reader().fetch_one(
                f"SELECT {', '.join('o.' + c.strip() for c in _operator_columns.split(','))},"
                " s.expires_at_ns FROM operator_sessions s JOIN operators o"
                " ON o.id = s.operator_id WHERE s.token_hash = ?",
                (_token_hash(credential),),
            )
            if row is None or int(row[6]) <= self._clock.now_ns() or row[4] != "active":
                raise AuthenticationError("the session is unknown or has expired")
            operator = _operator_from_row(row[:6])
            return Principal("operator", operator.username, scopes_for(operator.roles))
        try:
            key_id, secret = parse_api_key(credential)
        except ApiKeyError:
            raise AuthenticationError("the credential is malformed") from None
        row = self._reader().fetch_one(
            "SELECT secret_hash, scopes, revoked_at_ns FROM api_keys WHERE key_id = ?", (key_id,)
        )
        if row is None or row[2] is not None or not verify_api_key_secret(secret, row[0]):
            raise AuthenticationError("the API key is unknown or revoked")
        return Principal("api_key", key_id, stored_scopes(row[1]))


_dummy: list[str] = []


def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(hash_password("unused-password-for-timing"))
    return _dummy[0]
