"""Roles people hold and the scopes they grant; scopes are what every check asks about.

A request is allowed when the scopes of its principal (an operator user's roles, or a
partner's granted scopes) include the scope the route needs. The table below is the single
source; docs.md shows it as a table for people.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import ClassVar


class Role(StrEnum):
    admin = "admin"
    operations = "operations"
    risk_analyst = "risk_analyst"
    auditor = "auditor"
    agent_manager = "agent_manager"
    partner = "partner"
    customer_service = "customer_service"
    central_bank = "central_bank"


class Scope(StrEnum):
    parties_read = "parties:read"
    parties_write = "parties:write"
    accounts_read = "accounts:read"
    payments_read = "payments:read"
    payments_write = "payments:write"
    reversals_request = "reversals:request"
    reversals_approve = "reversals:approve"
    tariffs_read = "tariffs:read"
    tariffs_write = "tariffs:write"
    limits_write = "limits:write"
    journal_entries_write = "journal_entries:write"
    agents_write = "agents:write"
    audit_read = "audit:read"
    risk_read = "risk:read"
    risk_write = "risk:write"
    users_write = "users:write"
    api_keys_write = "api_keys:write"
    webhooks_read = "webhooks:read"
    webhooks_write = "webhooks:write"
    cbdc_read = "cbdc:read"
    cbdc_write = "cbdc:write"
    cbdc_issuance_write = "cbdc_issuance:write"
    partners_read = "partners:read"
    partners_write = "partners:write"
    tenants_read = "tenants:read"
    tenants_write = "tenants:write"
    conversations_write = "conversations:write"
    assist_read = "assist:read"
    assist_write = "assist:write"


class ScopeError(ValueError):
    """A scope string naming scopes that do not exist; `unknown` lists them."""

    code: ClassVar[str] = "scope_unknown"

    def __init__(self, unknown: tuple[str, ...]) -> None:
        super().__init__(f"unknown scopes: {' '.join(unknown)}")
        self.unknown = unknown


_read_scopes = frozenset(scope for scope in Scope if scope.value.endswith(":read"))

# Reversals need two people: operations and customer service request one, risk approves it,
# because a reversal sends money back and colluding staff are how that goes wrong. Anything
# that changes prices, limits, users or keys is for admins alone. Issuing and redeeming the
# CBDC is the central bank's alone: not even the platform's admin creates money.
_scopes_by_role: Mapping[Role, frozenset[Scope]] = {
    Role.admin: frozenset(Scope) - {Scope.cbdc_issuance_write},
    Role.operations: frozenset(
        {
            Scope.parties_read,
            Scope.parties_write,
            Scope.accounts_read,
            Scope.payments_read,
            Scope.payments_write,
            Scope.reversals_request,
            Scope.tariffs_read,
            Scope.cbdc_read,
            Scope.cbdc_write,
        }
    ),
    Role.risk_analyst: frozenset(
        {
            Scope.risk_read,
            Scope.risk_write,
            Scope.reversals_approve,
            Scope.parties_read,
            Scope.accounts_read,
            Scope.payments_read,
        }
    ),
    # Auditors see everything and change nothing; audit:read is itself a read scope.
    Role.auditor: _read_scopes,
    Role.agent_manager: frozenset({Scope.agents_write, Scope.parties_read, Scope.accounts_read}),
    Role.partner: frozenset(
        {
            Scope.webhooks_read,
            Scope.webhooks_write,
            Scope.payments_write,
            Scope.payments_read,
            Scope.accounts_read,
            Scope.parties_read,
            Scope.cbdc_read,
            Scope.cbdc_write,
            Scope.conversations_write,
        }
    ),
    # Customer service answers the assistant's hand-offs and keeps its knowledge base.
    Role.customer_service: frozenset(
        {
            Scope.parties_read,
            Scope.accounts_read,
            Scope.payments_read,
            Scope.reversals_request,
            Scope.conversations_write,
            Scope.assist_read,
            Scope.assist_write,
        }
    ),
    Role.central_bank: frozenset({Scope.cbdc_issuance_write, Scope.cbdc_read, Scope.audit_read}),
}


def scopes_for(roles: Iterable[Role]) -> frozenset[Scope]:
    """Every scope granted by any of `roles`; no roles grant nothing."""
    granted: set[Scope] = set()
    for role in roles:
        granted |= _scopes_by_role[Role(role)]
    return frozenset(granted)


@functools.lru_cache(maxsize=1024)
def stored_scopes(text: str) -> frozenset[Scope]:
    """The scopes of a space-separated scope string as we store them (every token a scope's
    value). Cached: the same few strings are read back on every authenticated request."""
    return frozenset(Scope(token) for token in text.split())


def parse_scopes(text: str) -> frozenset[Scope]:
    """Parse an OAuth 2.0 scope string (RFC 6749 section 3.3: space-separated, any order).

    Repeated spaces and repeated scopes are tolerated; any unknown token refuses the whole
    string with `ScopeError`, so a typo never silently narrows what a client asked for.
    """
    tokens = [token for token in text.split(" ") if token != ""]
    known = {scope.value for scope in Scope}
    unknown = tuple(dict.fromkeys(token for token in tokens if token not in known))
    if unknown:
        raise ScopeError(unknown)
    return frozenset(Scope(token) for token in tokens)
