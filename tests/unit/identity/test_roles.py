"""Roles and scopes: the grant table, its separation of duties, and OAuth scope strings."""

from __future__ import annotations

import pytest

from hazina.identity.roles import (
    Role,
    Scope,
    ScopeError,
    parse_scopes,
    scopes_for,
    stored_scopes,
)

S = Scope
READ_SCOPES = frozenset(
    {
        S.assist_read,
        S.parties_read,
        S.accounts_read,
        S.payments_read,
        S.tariffs_read,
        S.audit_read,
        S.risk_read,
        S.cbdc_read,
        S.webhooks_read,
        S.partners_read,
        S.tenants_read,
    }
)
ADMIN_ONLY = frozenset({S.tariffs_write, S.limits_write, S.users_write, S.api_keys_write})


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.admin, frozenset(Scope) - {S.cbdc_issuance_write}),
        (
            Role.operations,
            {
                S.parties_read,
                S.parties_write,
                S.accounts_read,
                S.payments_read,
                S.payments_write,
                S.reversals_request,
                S.tariffs_read,
                S.cbdc_read,
                S.cbdc_write,
            },
        ),
        (
            Role.risk_analyst,
            {
                S.risk_read,
                S.risk_write,
                S.reversals_approve,
                S.parties_read,
                S.accounts_read,
                S.payments_read,
            },
        ),
        (Role.auditor, READ_SCOPES),
        (Role.agent_manager, {S.agents_write, S.parties_read, S.accounts_read}),
        (
            Role.partner,
            {
                S.webhooks_read,
                S.webhooks_write,
                S.payments_write,
                S.payments_read,
                S.accounts_read,
                S.parties_read,
                S.cbdc_read,
                S.cbdc_write,
                S.conversations_write,
            },
        ),
        (
            Role.customer_service,
            {
                S.parties_read,
                S.accounts_read,
                S.payments_read,
                S.reversals_request,
                S.conversations_write,
                S.assist_read,
                S.assist_write,
            },
        ),
        (Role.central_bank, {S.cbdc_issuance_write, S.cbdc_read, S.audit_read}),
    ],
)
def test_scopes_table(role: Role, expected: frozenset[Scope]) -> None:
    assert scopes_for([role]) == frozenset(expected)


def test_scope_values_are_resource_colon_action() -> None:
    assert len(Scope) == 29
    for scope in Scope:
        resource, _, action = scope.value.partition(":")
        assert resource.replace("_", "").isalpha()
        assert action in {"read", "write", "request", "approve"}
    assert {scope for scope in Scope if scope.value.endswith(":read")} == READ_SCOPES


def test_roles_combine_by_union_and_none_grant_nothing() -> None:
    assert scopes_for([]) == frozenset()
    assert scopes_for([Role.agent_manager, Role.partner]) == scopes_for(
        [Role.agent_manager]
    ) | scopes_for([Role.partner])
    assert scopes_for([Role.partner, Role.partner]) == scopes_for([Role.partner])
    assert scopes_for(role for role in [Role.auditor]) == READ_SCOPES


def test_the_auditor_changes_nothing() -> None:
    assert all(scope.value.endswith(":read") for scope in scopes_for([Role.auditor]))


def test_prices_limits_users_and_keys_are_for_admins_alone() -> None:
    for role in Role:
        if role is not Role.admin:
            assert not scopes_for([role]) & ADMIN_ONLY, role


def test_only_the_central_bank_issues_cbdc() -> None:
    holders = [role for role in Role if S.cbdc_issuance_write in scopes_for([role])]
    assert holders == [Role.central_bank]


def test_no_role_but_admin_both_requests_and_approves_a_reversal() -> None:
    both = {S.reversals_request, S.reversals_approve}
    holders = [role for role in Role if both <= scopes_for([role])]
    assert holders == [Role.admin]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", frozenset()),
        ("   ", frozenset()),
        ("payments:read", {S.payments_read}),
        ("payments:read payments:write", {S.payments_read, S.payments_write}),
        ("  payments:write   payments:read payments:write ", {S.payments_read, S.payments_write}),
        (" ".join(scope.value for scope in Scope), frozenset(Scope)),
    ],
)
def test_parse_scopes(text: str, expected: frozenset[Scope]) -> None:
    assert parse_scopes(text) == frozenset(expected)


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("payments:pay", ("payments:pay",)),
        ("Payments:Read", ("Payments:Read",)),
        ("payments:read,accounts:read", ("payments:read,accounts:read",)),
        ("payments:read\taccounts:read", ("payments:read\taccounts:read",)),
        ("payments:read admin nope admin", ("admin", "nope")),
        ("payments_read", ("payments_read",)),
    ],
)
def test_unknown_scopes_refuse_the_whole_string(text: str, unknown: tuple[str, ...]) -> None:
    with pytest.raises(ScopeError) as caught:
        parse_scopes(text)
    assert caught.value.code == "scope_unknown"
    assert caught.value.unknown == unknown
    assert isinstance(caught.value, ValueError)


def test_stored_scopes_read_back_what_was_stored_and_are_cached() -> None:
    every = " ".join(scope.value for scope in Scope)
    assert stored_scopes(every) == frozenset(Scope)
    assert stored_scopes(every) is stored_scopes(every)  # read on every request: parsed once
    assert stored_scopes("payments:write  parties:read") == {
        Scope.payments_write,
        Scope.parties_read,
    }
    assert stored_scopes("") == frozenset()
    with pytest.raises(ValueError, match="no-such"):
        stored_scopes("parties:read no-such:scope")
