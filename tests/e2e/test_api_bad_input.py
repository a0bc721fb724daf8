"""Bad requests, one row each: the precise 4xx problem, and not a cent moved.

Every row is sent to a funded world (see `conftest.world`) on SQLite and on PostgreSQL. Some
rows first `prepare` a state (a frozen wallet, a QR code, an earlier payment); the money is
counted after that and again after the bad request, and must be the same: every ledger
account's totals, every wallet's balance, the number of transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import (
    ALICE_PHONE,
    BOB_PHONE,
    KES,
    World,
    assert_problem,
    money_snapshot,
)

Prepared = dict[str, Any]


@dataclass(frozen=True)
class BadInput:
    id: str
    status: int
    code: str
    send: Callable[[World, Prepared], httpx.Response]
    prepare: Callable[[World], Prepared] | None = None
    check: Callable[[dict[str, Any]], None] | None = None  # more about the problem body


def p2p(world: World, **changes: Any) -> dict[str, Any]:
    """A good P2P body, Alice to Bob, with `changes` (None removes a field)."""
    body = {
        "sender_wallet": world.wallets["Alice"],
        "recipient_phone": BOB_PHONE,
        "amount": "10.00",
        "currency": KES,
        "note": "lunch",
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}


def send_p2p(**changes: Any) -> Callable[[World, Prepared], httpx.Response]:
    return lambda world, _: world.api.post("/v1/p2p-transfers", p2p(world, **changes))


def send_raw(content: bytes) -> Callable[[World, Prepared], httpx.Response]:
    def send(world: World, _: Prepared) -> httpx.Response:
        headers = world.api.headers(
            **{"Idempotency-Key": "raw-1", "Content-Type": "application/json"}
        )
        return world.api.client.post("/v1/p2p-transfers", content=content, headers=headers)

    return send


def without_credentials(authorization: str | None) -> Callable[[World, Prepared], httpx.Response]:
    def send(world: World, _: Prepared) -> httpx.Response:
        headers = {"Idempotency-Key": "no-credentials"}
        if authorization is not None:
            headers["Authorization"] = authorization
        return world.api.client.post("/v1/p2p-transfers", json=p2p(world), headers=headers)

    return send


def set_status(name: str, status: str) -> Callable[[World], Prepared]:
    def prepare(world: World) -> Prepared:
        party = world.parties[name]["id"]
        changed = world.api.post(f"/v1/parties/{party}/status", {"status": status})
        assert changed.status_code == 200, changed.text
        assert changed.json()["status"] == status
        return {}

    return prepare


def errors_at(*location: str | int) -> Callable[[dict[str, Any]], None]:
    def check(problem: dict[str, Any]) -> None:
        assert list(location) in [error["location"] for error in problem["errors"]], problem

    return check


def extensions(**expected: Any) -> Callable[[dict[str, Any]], None]:
    def check(problem: dict[str, Any]) -> None:
        assert {name: problem.get(name) for name in expected} == expected, problem

    return check


def dynamic_qr(world: World, **body: Any) -> str:
    merchant = world.parties["Duka"]["id"]
    made = world.api.created(f"/v1/parties/{merchant}/qr-codes", {"amount": "250.00", **body})
    payload: str = made["payload"]
    return payload


def pay_qr(world: World, prepared: Prepared) -> httpx.Response:
    body = {"payer_wallet": world.wallets["Alice"], "qr_payload": prepared["payload"]}
    return world.api.post("/v1/merchant-payments", body)


def expired_qr(world: World) -> Prepared:
    payload = dynamic_qr(world, expires_in_s=60)
    world.clock.advance_seconds(61)
    return {"payload": payload}


def qr_with_wrong_crc(world: World) -> Prepared:
    payload = dynamic_qr(world)
    crc = int(payload[-4:], 16)
    return {"payload": f"{payload[:-4]}{(crc + 1) % 0x10000:04X}"}


def qr_with_altered_amount(world: World) -> Prepared:
    payload = dynamic_qr(world)
    altered = payload.replace("5406250.00", "5406950.00")  # tag 54, length 06: the amount
    assert altered != payload
    return {"payload": altered}


def paid_once(world: World) -> Prepared:
    first = world.api.post("/v1/p2p-transfers", p2p(world), idempotency_key="pay-rent-once")
    assert first.status_code == 201, first.text
    return {}


def customer_at_tier_zero(world: World) -> Prepared:
    world.register("Dan", {"kind": "customer", "phone": "+254712000004", "kyc_tier": 0})
    return {}


def bank_transfer(world: World) -> Prepared:
    held = world.api.created(
        "/v1/bank-transfers",
        {
            "payer_wallet": world.wallets["Alice"],
            "bank_code": "BNK01",
            "bank_account": "0011",
            "amount": "100.00",
            "currency": KES,
        },
    )
    return {"transaction": held["id"]}


def completed_p2p(world: World) -> Prepared:
    sent = world.api.created("/v1/p2p-transfers", p2p(world))
    return {"transaction": sent["transaction"]["id"]}


UNKNOWN_WALLET = "wal_00000000000000ff"
UNKNOWN_TRANSACTION = "txn_00000000000000ff"

CASES = [
    # -- the body is not what the document says ------------------------------------------
    BadInput("malformed_json", 400, "malformed_json", send_raw(b'{"amount": "1.00",')),
    BadInput("empty_body", 422, "validation_error", send_raw(b""), check=errors_at("body")),
    BadInput("body_not_an_object", 422, "validation_error", send_raw(b"[1, 2]")),
    BadInput(
        "amount_as_a_number",
        422,
        "validation_error",
        send_p2p(amount=10.5),
        check=errors_at("body", "amount"),
    ),
    BadInput(
        "unknown_field",
        422,
        "validation_error",
        send_p2p(tip="1.00"),
        check=errors_at("body", "tip"),
    ),
    BadInput(
        "missing_field",
        422,
        "validation_error",
        send_p2p(recipient_phone=None),
        check=errors_at("body", "recipient_phone"),
    ),
    BadInput("negative_amount", 422, "validation_error", send_p2p(amount="-5.00")),
    BadInput("exponent_amount", 422, "validation_error", send_p2p(amount="1e3")),
    BadInput("lower_case_currency", 422, "validation_error", send_p2p(currency="kes")),
    BadInput(
        "malformed_wallet_id",
        422,
        "validation_error",
        send_p2p(sender_wallet="wal_xyz"),
        check=errors_at("body", "sender_wallet"),
    ),
    BadInput(
        "nul_character_in_text",
        422,
        "validation_error",
        send_p2p(note="lunch\x00"),
        check=errors_at("body", "note"),
    ),
    BadInput(
        "missing_idempotency_key",
        422,
        "validation_error",
        lambda world, _: world.api.client.post(
            "/v1/p2p-transfers", json=p2p(world), headers=world.api.headers()
        ),
        check=errors_at("header", "Idempotency-Key"),
    ),
    # -- amounts and currencies ------------------------------------------------------------
    BadInput(
        "too_many_decimals",
        422,
        "amount_precision",
        send_p2p(amount="10.001"),
        check=extensions(minor_units=2),
    ),
    BadInput("zero_amount", 422, "amount_invalid", send_p2p(amount="0.00")),
    BadInput("amount_too_large", 422, "amount_too_large", send_p2p(amount="9" * 19)),
    BadInput("unknown_currency", 422, "currency_unknown", send_p2p(currency="XYZ")),
    BadInput("currency_not_offered", 422, "currency_not_offered", send_p2p(currency="USD")),
    BadInput("invalid_phone", 422, "phone_invalid", send_p2p(recipient_phone="12345")),
    # -- business rules ----------------------------------------------------------------------
    BadInput("self_payment", 422, "self_payment", send_p2p(recipient_phone=ALICE_PHONE)),
    BadInput("frozen_payee", 422, "wallet_frozen", send_p2p(), prepare=set_status("Bob", "frozen")),
    BadInput(
        "frozen_payer", 422, "wallet_frozen", send_p2p(), prepare=set_status("Alice", "frozen")
    ),
    BadInput("closed_payee", 422, "wallet_closed", send_p2p(), prepare=set_status("Bob", "closed")),
    BadInput(
        "limit_per_transaction",
        422,
        "limit_per_transaction",
        lambda world, _: world.api.post(
            "/v1/p2p-transfers",
            # KYC tier 1 sends at most KES 100,000.00 at once (fees included); the limit is
            # checked before the balance, so Bob's empty wallet does not matter.
            p2p(
                world,
                sender_wallet=world.wallets["Bob"],
                recipient_phone=ALICE_PHONE,
                amount="100000.00",
            ),
        ),
        check=extensions(limit=10_000_000),
    ),
    BadInput(
        "amount_out_of_band",
        422,
        "amount_out_of_band",
        send_p2p(amount="250000.01"),  # the tariff offers P2P up to KES 250,000.00
    ),
    BadInput(
        "limit_max_balance",
        422,
        "limit_max_balance",
        lambda world, _: world.api.post(
            "/v1/cash-ins",
            {
                "agent_wallet": world.wallets["Agent"],
                "customer_phone": "+254712000004",
                "amount": "50000.01",  # KYC tier 0 holds at most KES 50,000.00
                "currency": KES,
            },
        ),
        prepare=customer_at_tier_zero,
        check=extensions(limit=5_000_000, attempted=5_000_001),
    ),
    BadInput(
        "insufficient_funds",
        422,
        "insufficient_funds",
        lambda world, _: world.api.post(
            "/v1/p2p-transfers",
            p2p(world, sender_wallet=world.wallets["Bob"], recipient_phone=ALICE_PHONE),
        ),
        check=extensions(iso20022_reason="AM04"),
    ),
    BadInput(
        "payer_of_the_wrong_kind",
        422,
        "payer_kind_invalid",
        lambda world, _: world.api.post(
            "/v1/cash-ins",
            {
                "agent_wallet": world.wallets["Alice"],  # a customer is no agent
                "customer_phone": BOB_PHONE,
                "amount": "10.00",
                "currency": KES,
            },
        ),
    ),
    BadInput(
        "idempotency_key_reused",
        409,
        "idempotency_key_reused",
        lambda world, _: world.api.post(
            "/v1/p2p-transfers", p2p(world, amount="10.01"), idempotency_key="pay-rent-once"
        ),
        prepare=paid_once,
    ),
    BadInput(
        "bank_transfer_reversal",
        409,
        "transaction_not_reversible",
        lambda world, prepared: world.api.post(
            "/v1/reversal-requests",
            {"transaction_id": prepared["transaction"], "reason": "customer asked"},
        ),
        prepare=bank_transfer,
    ),
    BadInput(
        "settling_a_p2p",
        422,
        "not_a_bank_transfer",
        lambda world, prepared: world.api.post(
            f"/v1/bank-transfers/{prepared['transaction']}/settlement", {"outcome": "succeeded"}
        ),
        prepare=completed_p2p,
    ),
    # -- QR codes ----------------------------------------------------------------------------
    BadInput("expired_qr", 422, "qr_expired", pay_qr, prepare=expired_qr),
    BadInput(
        "qr_in_a_currency_the_merchant_does_not_hold",
        422,
        "currency_not_held",
        lambda world, _: world.api.post(
            f"/v1/parties/{world.parties['Duka']['id']}/qr-codes",
            {"amount": "250", "currency": "UGX"},
        ),
    ),
    BadInput("qr_with_wrong_crc", 422, "qr_crc_mismatch", pay_qr, prepare=qr_with_wrong_crc),
    BadInput(
        "qr_with_altered_amount", 422, "qr_crc_mismatch", pay_qr, prepare=qr_with_altered_amount
    ),
    BadInput(
        "qr_and_merchant_code",
        422,
        "merchant_required",
        lambda world, _: world.api.post(
            "/v1/merchant-payments",
            {
                "payer_wallet": world.wallets["Alice"],
                "qr_payload": dynamic_qr(world),
                "merchant_code": "M001",
            },
        ),
    ),
    # -- credentials -------------------------------------------------------------------------
    BadInput("no_credentials", 401, "unauthenticated", without_credentials(None)),
    BadInput("unknown_api_key", 401, "unauthenticated", without_credentials("Bearer hzk_nope")),
    BadInput("unknown_session", 401, "unauthenticated", without_credentials("Bearer hzs_expired")),
    BadInput("basic_scheme", 401, "unauthenticated", without_credentials("Basic dXNlcjpwdw==")),
    # -- things that do not exist ------------------------------------------------------------
    BadInput(
        "unknown_sender_wallet",
        404,
        "wallet_not_found",
        send_p2p(sender_wallet=UNKNOWN_WALLET),
    ),
    BadInput(
        "unknown_agent_code",
        404,
        "party_not_found",
        lambda world, _: world.api.post(
            "/v1/cash-outs",
            {
                "customer_wallet": world.wallets["Alice"],
                "agent_code": "NOBODY",
                "amount": "10.00",
                "currency": KES,
            },
        ),
    ),
    BadInput(
        "unknown_voucher",
        404,
        "voucher_not_found",
        lambda world, _: world.api.post(
            "/v1/voucher-claims", {"code": "0123456789", "wallet": world.wallets["Bob"]}
        ),
    ),
    BadInput(
        "unknown_wallet",
        404,
        "wallet_not_found",
        lambda world, _: world.api.get(f"/v1/wallets/{UNKNOWN_WALLET}"),
    ),
    BadInput(
        "unknown_transaction_receipt",
        404,
        "transaction_not_found",
        lambda world, _: world.api.get(f"/v1/transactions/{UNKNOWN_TRANSACTION}/receipt"),
    ),
    BadInput(
        "unknown_bank_transfer_settlement",
        404,
        "transaction_not_found",
        lambda world, _: world.api.post(
            f"/v1/bank-transfers/{UNKNOWN_TRANSACTION}/settlement", {"outcome": "succeeded"}
        ),
    ),
    BadInput(
        "reversal_of_unknown_transaction",
        404,
        "transaction_not_found",
        lambda world, _: world.api.post(
            "/v1/reversal-requests", {"transaction_id": UNKNOWN_TRANSACTION, "reason": "x"}
        ),
    ),
    BadInput(
        "unknown_reversal_request",
        404,
        "reversal_request_not_found",
        lambda world, _: world.api.post("/v1/reversal-requests/rev_00000000000000ff/approval"),
    ),
    BadInput(
        "malformed_party_id",
        404,
        "party_not_found",
        lambda world, _: world.api.post("/v1/parties/pty_xyz/status", {"status": "frozen"}),
    ),
    BadInput(
        "unknown_api_key_id",
        404,
        "api_key_not_found",
        lambda world, _: world.api.client.delete(
            "/v1/api-keys/abcdefghijkl", headers=world.api.headers()
        ),
    ),
    BadInput(
        "unknown_route",
        404,
        "not_found",
        lambda world, _: world.api.post("/v1/p2p-transfer", p2p(world)),
    ),
    BadInput(
        "wrong_method",
        405,
        "method_not_allowed",
        lambda world, _: world.api.get("/v1/p2p-transfers"),
    ),
    # -- found by fuzzing: these answered 500 before ------------------------------------------
    BadInput(
        "statement_cursor_out_of_range",
        404,
        "cursor_not_found",
        lambda world, _: world.api.get(
            f"/v1/wallets/{world.wallets['Alice']}/statement", starting_after="9" * 19
        ),
    ),
    BadInput(
        "audit_cursor_out_of_range",
        404,
        "cursor_not_found",
        lambda world, _: world.api.get("/v1/audit-log", starting_after="9" * 19),
    ),
    BadInput(
        "tariff_of_an_unknown_currency",
        422,
        "currency_unknown",
        lambda world, _: world.api.get("/v1/tariffs/ABC"),
    ),
    BadInput(
        "api_key_without_scopes",
        422,
        "scopes_required",
        lambda world, _: world.api.post(
            "/v1/api-keys", {"name": "empty", "owner": "tests", "scopes": [""]}
        ),
    ),
    BadInput(
        "nul_character_in_a_name",
        422,
        "validation_error",
        lambda world, _: world.api.post(
            "/v1/parties", {"kind": "merchant", "name": "Du\x00ka", "code": "M002"}
        ),
        check=errors_at("body", "name"),
    ),
    BadInput(
        "nul_character_in_a_code_lookup",
        404,
        "party_not_found",
        lambda world, _: world.api.get("/v1/parties", code="M001\x00"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_and_moves_no_money(world: World, case: BadInput) -> None:
    prepared = case.prepare(world) if case.prepare is not None else {}
    before = money_snapshot(world)
    response = case.send(world, prepared)
    problem = assert_problem(response, case.status, case.code)
    if case.check is not None:
        case.check(problem)
    if case.status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    assert money_snapshot(world) == before


def test_case_ids_are_unique() -> None:
    assert len({case.id for case in CASES}) == len(CASES)
