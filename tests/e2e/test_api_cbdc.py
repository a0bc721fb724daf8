"""CBDC over HTTP, on SQLite and PostgreSQL: the central bank issues, a bank distributes,
wallets pay with the waterfall, escrow waits for its confirmer, devices pay offline and sync;
only the central bank may mint; every refusal has a stable code and moves nothing."""

from __future__ import annotations

import random
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hazina.bootstrap import Platform
from hazina.cbdc.offline import DeviceWallet, note_from_json, note_to_json, public_bytes
from hazina.identity.roles import Role, Scope, scopes_for
from hazina.kernel.clock import FixedClock
from tests.e2e.conftest import Api, MoneySnapshot, assert_problem
from tests.unit.api.client import TestClient


class Cbdc:
    """The central bank's and a bank's API clients, and a participant with money to give."""

    def __init__(self, platform: Platform, client: TestClient) -> None:
        def key(name: str, scopes: frozenset[Scope]) -> tuple[Api, str]:
            issued = platform.identity.issue_key(name, "tests", scopes, "tests")
            return Api(client, issued.plaintext), f"api_key:{issued.record.key_id}"

        self.platform = platform
        self.central_bank, _ = key("central bank", scopes_for([Role.central_bank]))
        self.bank, self.bank_actor = key("bank", scopes_for([Role.partner]))
        self.courier, self.courier_actor = key("courier", scopes_for([Role.partner]))
        self.admin, _ = key("admin", scopes_for([Role.admin]))
        self.participant = self.central_bank.created(
            "/v1/cbdc/participants", {"code": "BNK1", "name": "Bank One", "kind": "bank"}
        )["id"]
        self.issue("reserve-deposits", "1000000.00")
        self.issue("mints", "500000.00")

    def issue(self, kind: str, amount: str) -> dict[str, Any]:
        return self.central_bank.created(
            f"/v1/cbdc/{kind}", {"participant": self.participant, "amount": amount}
        )

    def wallet(self, holder: str, tier: str, linked: str | None = None) -> str:
        body = {"participant": self.participant, "holder": holder, "tier": tier}
        if linked is not None:
            body["linked_account"] = linked
        wallet: str = self.bank.created("/v1/cbdc/wallets", body)["id"]
        return wallet

    def balance(self, wallet: str) -> str:
        return str(self.bank.ok(f"/v1/cbdc/wallets/{wallet}")["balance"])

    def snapshot(self) -> MoneySnapshot:
        accounts = self.platform.ledger.store.all_accounts()
        return MoneySnapshot(
            tuple(sorted((a.id, a.debits_posted, a.credits_posted, a.debits_pending,
                          a.credits_pending) for a in accounts)),
            (), 0,
        )  # fmt: skip


@pytest.fixture
def cbdc(platform: Platform, client: TestClient) -> Cbdc:
    return Cbdc(platform, client)


def test_only_the_central_bank_issues(cbdc: Cbdc) -> None:
    body = {"participant": cbdc.participant, "amount": "1.00"}
    before = cbdc.snapshot()
    for api in (cbdc.bank, cbdc.admin):
        for path in ("/v1/cbdc/mints", "/v1/cbdc/redemptions", "/v1/cbdc/reserve-deposits"):
            problem = assert_problem(api.post(path, body), 403, "forbidden")
            assert problem["required_scope"] == "cbdc_issuance:write"
    assert_problem(
        cbdc.bank.post("/v1/cbdc/participants", {"code": "X", "name": "X", "kind": "bank"}),
        403,
        "forbidden",
    )
    assert cbdc.snapshot() == before
    redemption = cbdc.issue("redemptions", "100000.00")
    assert (redemption["kind"], redemption["amount"], redemption["asset"]) == (
        "redeem", "100000.00", "eKES",
    )  # fmt: skip
    view = cbdc.central_bank.ok(f"/v1/cbdc/participants/{cbdc.participant}")
    assert (view["holding"], view["reserves"]) == ("400000.00", "600000.00")
    overview = cbdc.central_bank.ok("/v1/cbdc/overview")
    assert (overview["issued"], overview["redeemed"], overview["circulation"]) == (
        "500000.00", "100000.00", "400000.00",
    )  # fmt: skip
    assert overview["backing"] == "400000.00"
    audit = cbdc.central_bank.ok("/v1/cbdc/audit")
    assert audit["ok"] is True
    assert {c["name"] for c in audit["checks"]} >= {"circulation_is_held", "fully_backed"}


def test_refusals_have_stable_codes_and_move_nothing(cbdc: Cbdc) -> None:
    alice = cbdc.wallet("alice", "anonymous")
    before = cbdc.snapshot()
    cb, bank = cbdc.central_bank, cbdc.bank
    body = {"participant": cbdc.participant, "amount": "600000.00"}
    assert_problem(cb.post("/v1/cbdc/mints", body), 422, "insufficient_reserves")
    assert_problem(
        bank.post("/v1/cbdc/distributions", {"wallet": alice, "amount": "25000.01"}),
        422,
        "holding_limit_exceeded",
    )
    assert_problem(
        bank.post("/v1/cbdc/distributions", {"wallet": alice, "amount": "1.001"}),
        422,
        "amount_precision",
    )
    assert_problem(
        bank.post("/v1/cbdc/distributions", {"wallet": alice, "amount": "0"}),
        422,
        "amount_invalid",
    )
    missing = "cbw_00000000000000ff"
    assert_problem(
        bank.post("/v1/cbdc/payments", {"from_wallet": alice, "to_wallet": missing,
                                         "amount": "1.00"}),
        404, "cbdc_wallet_not_found",
    )  # fmt: skip
    assert_problem(
        bank.post("/v1/cbdc/payments", {"from_wallet": alice, "to_wallet": alice,
                                         "amount": "1.00"}),
        422, "self_payment",
    )  # fmt: skip
    assert_problem(
        bank.post("/v1/cbdc/conversions", {"wallet": alice, "direction": "to_cbdc",
                                            "amount": "1.00"}),
        422, "emoney_wallet_not_linked",
    )  # fmt: skip
    assert_problem(bank.get("/v1/cbdc/wallets/cbw_nothex"), 404, "cbdc_wallet_not_found")
    assert cbdc.snapshot() == before


def test_payments_sweep_the_excess_and_keys_replay(cbdc: Cbdc) -> None:
    bank = cbdc.bank
    alice = cbdc.wallet("alice", "full_kyc", "ACC-A")
    bob = cbdc.wallet("bob", "anonymous", "ACC-B")
    bank.created("/v1/cbdc/distributions", {"wallet": alice, "amount": "100000.00"})
    body = {"from_wallet": alice, "to_wallet": bob, "amount": "30000.00"}
    first = bank.post("/v1/cbdc/payments", body, idempotency_key="pay-1")
    assert first.status_code == 201, first.text
    assert (first.json()["swept"], cbdc.balance(bob)) == ("5000.00", "25000.00")
    again = bank.post("/v1/cbdc/payments", body, idempotency_key="pay-1")
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_problem(
        bank.post("/v1/cbdc/payments", {**body, "amount": "1.00"}, idempotency_key="pay-1"),
        409,
        "idempotency_key_reused",
    )
    assert cbdc.balance(alice) == "70000.00"
    listed = bank.ok("/v1/cbdc/wallets", participant=cbdc.participant)
    assert [w["id"] for w in listed["data"]] == sorted([alice, bob])
    overview = cbdc.central_bank.ok("/v1/cbdc/overview")
    tiers = {row["label"]: row["amount"] for row in overview["by_tier"]}
    assert (tiers["full_kyc"], tiers["anonymous"]) == ("70000.00", "25000.00")
    assert (overview["payments_value"], overview["velocity"]) == ("30000.00", "0.0600")
    assert overview["by_participant"] == [{"label": "BNK1", "amount": "500000.00"}]


def test_a_conditional_payment_is_released_by_its_confirmer(cbdc: Cbdc, clock: FixedClock) -> None:
    bank = cbdc.bank
    alice = cbdc.wallet("alice", "full_kyc", "ACC-A")
    bob = cbdc.wallet("bob", "full_kyc", "ACC-B")
    bank.created("/v1/cbdc/distributions", {"wallet": alice, "amount": "1000.00"})
    payment = bank.created(
        "/v1/cbdc/conditional-payments",
        {"from_wallet": alice, "to_wallet": bob, "amount": "400.00",
         "confirmer": cbdc.courier_actor, "expires_in_s": 3_600},
    )  # fmt: skip
    assert (payment["status"], payment["confirmer"]) == ("pending", cbdc.courier_actor)
    assert bank.ok(f"/v1/cbdc/wallets/{alice}")["held"] == "400.00"
    path = f"/v1/cbdc/conditional-payments/{payment['id']}"
    assert_problem(bank.post(f"{path}/confirmation"), 422, "not_the_confirmer")
    released = cbdc.courier.post(f"{path}/confirmation")
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "released"
    assert (cbdc.balance(alice), cbdc.balance(bob)) == ("600.00", "400.00")
    assert_problem(bank.post(f"{path}/cancellation"), 409, "conditional_payment_decided")
    expiring = bank.created(
        "/v1/cbdc/conditional-payments",
        {"from_wallet": alice, "to_wallet": bob, "amount": "100.00",
         "confirmer": cbdc.courier_actor, "expires_in_s": 60},
    )  # fmt: skip
    clock.advance_seconds(61)
    assert bank.ok(f"/v1/cbdc/conditional-payments/{expiring['id']}")["status"] == "expired"
    assert_problem(
        cbdc.courier.post(f"/v1/cbdc/conditional-payments/{expiring['id']}/confirmation"),
        409,
        "conditional_payment_expired",
    )
    assert bank.post("/v1/cbdc/conditional-payments/releases").json() == {"released": []}


def test_devices_pay_offline_and_sync(cbdc: Cbdc) -> None:
    bank = cbdc.bank
    alice = cbdc.wallet("alice", "full_kyc", "ACC-A")
    bob = cbdc.wallet("bob", "full_kyc", "ACC-B")
    bank.created("/v1/cbdc/distributions", {"wallet": alice, "amount": "1000.00"})
    issuer = bank.ok("/v1/cbdc/issuer-key")
    assert issuer["algorithm"] == "Ed25519"
    issuer_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(issuer["public_key"]))
    keys = [Ed25519PrivateKey.from_private_bytes(random.Random(s).randbytes(32)) for s in (1, 2)]
    devices = [
        bank.created("/v1/cbdc/devices", {"wallet": w, "public_key": public_bytes(k).hex()})["id"]
        for w, k in zip((alice, bob), keys, strict=True)
    ]
    phone_a, phone_b = (DeviceWallet(k, issuer_key, 500_000) for k in keys)
    load = bank.created(f"/v1/cbdc/devices/{devices[0]}/loads", {"amount": "250.00"})
    assert load["operation"]["amount"] == "250.00"
    assert cbdc.balance(alice) == "750.00"
    now_s = cbdc.platform.clock.now_ns() // 10**9
    phone_a.receive([note_from_json(n) for n in load["notes"]], now_s)
    phone_b.receive(phone_a.pay(20_000, phone_b.public), now_s)
    notes = [note_to_json(n) for n in phone_b.notes.values()]
    synced = bank.post(f"/v1/cbdc/devices/{devices[1]}/syncs", {"notes": notes})
    assert synced.status_code == 200, synced.text
    assert synced.json()["credited"] == "200.00"
    assert {o["status"] for o in synced.json()["outcomes"]} == {"redeemed"}
    assert cbdc.balance(bob) == "200.00"
    replay = bank.post(f"/v1/cbdc/devices/{devices[1]}/syncs", {"notes": notes}).json()
    assert (replay["credited"], {o["status"] for o in replay["outcomes"]}) == ("0.00", {"replayed"})
    forged = [{**notes[0], "token": {**notes[0]["token"], "amount": 99_999}}]
    outcome = bank.post(f"/v1/cbdc/devices/{devices[1]}/syncs", {"notes": forged}).json()
    assert outcome["outcomes"][0]["status"] == "token_forged"
    assert bank.ok(f"/v1/cbdc/devices/{devices[0]}")["offline_outstanding"] == "50.00"
    assert_problem(
        bank.post(f"/v1/cbdc/devices/{devices[0]}/loads", {"amount": "4950.01"}),
        422,
        "offline_cap_exceeded",
    )
    assert cbdc.central_bank.ok("/v1/cbdc/audit")["ok"] is True
