"""Fixtures for end-to-end tests of the HTTP API: a platform on SQLite or PostgreSQL, a test
client over the real application, and a small world of parties with money in their wallets.

Everything goes through HTTP except two things the tests need to see behind the API: the
fixed clock (to move time) and the ledger (to prove that a refused request moved nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from hazina.api.app import create_app
from hazina.bootstrap import Platform
from hazina.identity.roles import Scope
from hazina.kernel.clock import FixedClock
from hazina.kernel.ids import parse_prefixed
from tests.integration.platform_world import START_NS, clock, database, platform
from tests.unit.api.client import TestClient

__all__ = ["START_NS", "clock", "database", "platform"]  # fixtures shared with integration tests
PROBLEM_MEDIA_TYPE = "application/problem+json"
KES = "KES"


@pytest.fixture
def admin_key(platform: Platform) -> str:
    """A key holding every scope, issued behind the API (the first key has to come from
    somewhere)."""
    return platform.identity.issue_key("test", "tests", list(Scope), "tests").plaintext


class Api:
    """The test client with the caller's credential and a fresh Idempotency-Key per call."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.key = key

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}", **extra}

    def get(self, path: str, *, key: str | None = None, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params, headers=self.headers(key))

    def post(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """POST with an Idempotency-Key (a new one unless given): routes that take none
        ignore it."""
        headers = self.headers(key, **{"Idempotency-Key": idempotency_key or new_key()})
        return self.client.post(path, json=body, headers=headers)

    def created(self, path: str, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """POST and insist on 201 Created; the JSON body."""
        response = self.post(path, body, **kwargs)
        assert response.status_code == 201, response.text
        assert response.headers["content-type"] == "application/json"
        payload: dict[str, Any] = response.json()
        return payload

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        return payload

    def balance(self, wallet: str) -> str:
        return str(self.ok(f"/v1/wallets/{wallet}")["balance"])


def new_key() -> str:
    return f"idem-{uuid.uuid4()}"


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient, admin_key: str) -> Api:
    return Api(client, admin_key)


@dataclass
class World:
    """Parties registered through the API, the agent's float bought and Alice cashed in.

    Wallet and party ids are the API's opaque strings; `wallets` maps each name to its KES
    wallet."""

    platform: Platform
    clock: FixedClock
    api: Api
    parties: dict[str, dict[str, Any]] = field(default_factory=dict)
    wallets: dict[str, str] = field(default_factory=dict)

    def register(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        party = self.api.created("/v1/parties", {"name": name, **body})
        assert [w["currency"] for w in party["wallets"]] == [KES]
        self.parties[name] = party
        self.wallets[name] = party["wallets"][0]["id"]
        return party


ALICE_PHONE = "+254712000001"
BOB_PHONE = "+254712000002"
CAROL_PHONE = "+254712000003"  # not registered when the world starts


@pytest.fixture
def world(platform: Platform, clock: FixedClock, api: Api) -> World:
    return build_world(platform, clock, api)


def build_world(platform: Platform, clock: FixedClock, api: Api) -> World:
    """Alice (full KYC, KES 20,000.00 cashed in), Bob (basic KYC, nothing yet), an agent who
    bought KES 1,020,000.00 of float, a merchant, a biller and a bank."""
    world = World(platform, clock, api)
    world.register("Alice", {"kind": "customer", "phone": ALICE_PHONE, "kyc_tier": 2})
    world.register("Bob", {"kind": "customer", "phone": "+254 712 000 002", "kyc_tier": 1})
    world.register("Agent", {"kind": "agent", "code": "AG001"})
    world.register("Duka", {"kind": "merchant", "code": "M001", "merchant_category_code": "5411"})
    world.register("Power", {"kind": "biller", "code": "KPLC"})
    world.register("Bank", {"kind": "bank", "code": "BNK01"})
    api.created(
        "/v1/float-purchases",
        {
            "agent_wallet": world.wallets["Agent"],
            "amount": "1020000.00",
            "currency": KES,
            "reference": "deposit slip 1",
        },
    )
    api.created(
        "/v1/cash-ins",
        {
            "agent_wallet": world.wallets["Agent"],
            "customer_phone": ALICE_PHONE,
            "amount": "20000",
            "currency": KES,
        },
    )
    return world


@dataclass(frozen=True)
class MoneySnapshot:
    """Everything that would show money moving: every ledger account's four totals, every
    wallet's balance as the payments service reports it, and the number of transactions."""

    accounts: tuple[tuple[int, int, int, int, int], ...]
    balances: tuple[tuple[str, int, int], ...]
    transactions: int


def money_snapshot(world: World) -> MoneySnapshot:
    platform = world.platform
    accounts = platform.ledger.store.all_accounts()
    debits = sum(a.debits_posted for a in accounts)
    credits = sum(a.credits_posted for a in accounts)
    assert debits == credits, "posted debits and credits balance"
    assert sum(a.debits_pending for a in accounts) == sum(a.credits_pending for a in accounts)
    balances = []
    for name, wallet in sorted(world.wallets.items()):
        balance = platform.payments.balance(parse_prefixed("wal", wallet))
        balances.append((name, balance.balance, balance.pending_out))
    return MoneySnapshot(
        tuple(
            sorted(
                (a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending)
                for a in accounts
            )
        ),
        tuple(balances),
        len(platform.payments.list_transactions(None, 0, 1000)),
    )


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 answer with this status and stable code; the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code, problem
    assert problem["status"] == status
    assert problem["type"] == f"https://hazina.dev/problems/{code}"
    assert problem["title"]
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem
