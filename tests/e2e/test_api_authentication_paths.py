"""Where a bearer credential is checked: an API key of the home tenant on SQLite on the event
loop (no hop to a pool thread), anything else in the thread pool. Both paths give the same
answers."""

from __future__ import annotations

from typing import Any

import pytest

from hazina.api import app as app_module
from hazina.bootstrap import Platform
from hazina.identity.roles import Scope
from hazina.partners.tenants import home_slug
from tests.e2e.conftest import assert_problem
from tests.unit.api.client import TestClient


@pytest.fixture
def pool_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions `hazina.api.app` hands to the thread pool."""
    calls: list[str] = []
    original = app_module.run_in_threadpool

    async def counted(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        calls.append(function.__name__)
        return await original(function, *args, **kwargs)

    monkeypatch.setattr(app_module, "run_in_threadpool", counted)
    return calls


def test_a_home_api_key_is_checked_where_its_store_is(
    platform: Platform, client: TestClient, admin_key: str, pool_calls: list[str]
) -> None:
    response = client.get("/v1/parties", headers={"Authorization": f"Bearer {admin_key}"})
    assert response.status_code == 200, response.text
    in_process = platform.ledger.store.dialect == "sqlite"
    assert pool_calls == ([] if in_process else ["_authenticated"])


def test_a_tenant_header_is_checked_in_the_pool(
    client: TestClient, admin_key: str, pool_calls: list[str]
) -> None:
    headers = {"Authorization": f"Bearer {admin_key}", "Hazina-Tenant": home_slug}
    response = client.get("/v1/parties", headers=headers)
    assert response.status_code == 200, response.text
    assert pool_calls == ["_authenticated"]


@pytest.mark.parametrize("tenant", [None, home_slug])
def test_both_paths_refuse_a_wrong_or_revoked_key(
    platform: Platform, client: TestClient, admin_key: str, tenant: str | None
) -> None:
    extra = {} if tenant is None else {"Hazina-Tenant": tenant}
    wrong = admin_key[:-4] + ("aaaa" if not admin_key.endswith("aaaa") else "bbbb")
    response = client.get("/v1/parties", headers={"Authorization": f"Bearer {wrong}", **extra})
    assert_problem(response, 401, "unauthenticated")
    issued = platform.identity.issue_key("short-lived", "tests", [Scope.parties_read], "tests")
    headers = {"Authorization": f"Bearer {issued.plaintext}", **extra}
    assert client.get("/v1/parties", headers=headers).status_code == 200
    platform.identity.revoke_key(issued.record.key_id, "tests")
    response = client.get(
        "/v1/parties", headers={"Authorization": f"Bearer {issued.plaintext}", **extra}
    )
    assert_problem(response, 401, "unauthenticated")
    response = client.get("/v1/parties", headers={"Authorization": "Basic abc", **extra})
    assert_problem(response, 401, "unauthenticated")
