"""Loans over HTTP, on SQLite and PostgreSQL: product, application, disbursement, end of
day, repayment, write-off and recovery, and every bad input answered with a stable code and
no posting."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import (
    KES,
    World,
    assert_problem,
    money_snapshot,
    new_key,
)

DAY_S = 86_400

PRODUCT = {
    "name": "Biashara 30",
    "currency": KES,
    "amount_min": "1000.00",
    "amount_max": "50000.00",
    "term_min": 1,
    "term_max": 6,
    "period_days": 30,
    "interest_method": "declining",
    "rate_bps": 1_000,
    "fee_bps": 100,
    "penalty_fee": "50.00",
    "penalty_after_days": 5,
    "max_default_probability_bps": 2_000,
    "min_kyc_tier": 1,
}


def _product(world: World) -> dict[str, Any]:
    return world.api.created("/v1/loan-products", PRODUCT)


def _apply(world: World, product: dict[str, Any], amount: str, term: int = 3) -> Any:
    body = {
        "party": world.parties["Alice"]["id"],
        "product": product["id"],
        "amount": amount,
        "currency": KES,
        "term": term,
    }
    return world.api.post("/v1/loan-applications", body)


def test_a_loan_from_application_to_repayment(world: World) -> None:
    api = world.api
    product = _product(world)
    assert product["id"].startswith("lpr_")
    assert api.ok("/v1/loan-products")["data"] == [product]
    response = _apply(world, product, "10000.00")
    assert response.status_code == 201, response.text
    loan = response.json()
    assert (loan["status"], loan["fee"], loan["schedule"]) == ("approved", "100.00", [])
    before = api.balance(world.wallets["Alice"])
    key = new_key()
    disbursed = api.post(f"/v1/loans/{loan['id']}/disbursement", idempotency_key=key)
    assert disbursed.status_code == 200, disbursed.text
    body = disbursed.json()
    assert [(i["principal"], i["interest"], i["total"]) for i in body["schedule"]] == [
        ("3021.15", "1000.00", "4021.15"),
        ("3323.26", "697.89", "4021.15"),
        ("3655.59", "365.56", "4021.15"),
    ]
    assert float(api.balance(world.wallets["Alice"])) == float(before) + 9_900
    replay = api.post(f"/v1/loans/{loan['id']}/disbursement", idempotency_key=key)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == body
    assert_problem(api.post(f"/v1/loans/{loan['id']}/disbursement"), 409, "loan_already_disbursed")

    world.clock.advance_seconds(15 * DAY_S)
    closed = api.post("/v1/loans/close-day", {})
    assert closed.status_code == 200, closed.text
    assert [(r["accrued"], r["accrued_days"], r["stage"]) for r in closed.json()["loans"]] == [
        ("500.00", 15, 1)
    ]
    again = api.post("/v1/loans/close-day", {}).json()["loans"]
    assert [(r["accrued"], r["provision_change"]) for r in again] == [("0.00", "0.00")]

    detail = api.ok(f"/v1/loans/{loan['id']}")
    assert detail["balances"]["outstanding"] == "10500.00"
    too_much = api.post(
        f"/v1/loans/{loan['id']}/repayments", {"amount": "10500.01", "currency": KES}
    )
    problem = assert_problem(too_much, 422, "repayment_exceeds_outstanding")
    assert problem["outstanding"] == 1_050_000
    paid = api.created(f"/v1/loans/{loan['id']}/repayments", {"amount": "600", "currency": KES})
    assert (paid["interest"], paid["principal"]) == ("500.00", "100.00")
    api.created(
        "/v1/cash-ins",
        {
            "agent_wallet": world.wallets["Agent"],
            "customer_phone": world.parties["Alice"]["phone"],
            "amount": "1000",
            "currency": KES,
        },
    )
    swept = api.post("/v1/loans/sweeps")  # the cash-in is an inflow, but nothing is due yet
    assert swept.status_code == 200, swept.text
    assert swept.json() == {"repayments": []}
    api.created(f"/v1/loans/{loan['id']}/repayments", {"amount": "9900.00", "currency": KES})
    final = api.ok(f"/v1/loans/{loan['id']}")
    assert (final["status"], final["balances"]["outstanding"], final["repaid"]) == (
        "repaid",
        "0.00",
        "10500.00",
    )
    money_snapshot(world)  # the ledger balances


def test_bad_loan_input_moves_no_money(world: World) -> None:
    api = world.api
    product = _product(world)
    before = money_snapshot(world)
    assert_problem(_apply(world, product, "999.99"), 422, "amount_outside_product")
    assert_problem(_apply(world, product, "50000.01"), 422, "amount_outside_product")
    assert_problem(_apply(world, product, "5000", term=7), 422, "term_outside_product")
    bad = {**PRODUCT, "name": "Bad", "amount_min": "0"}
    assert_problem(api.post("/v1/loan-products", bad), 422, "product_amounts_invalid")
    assert_problem(api.post("/v1/loan-products", PRODUCT), 409, "product_name_taken")
    assert_problem(api.get("/v1/loans/lon_00000000000000ff"), 404, "loan_not_found")
    future = api.post("/v1/loans/close-day", {"day": "2999-01-01"})
    assert_problem(future, 422, "day_in_future")
    assert money_snapshot(world) == before
    bob_loan = api.created(
        "/v1/loan-applications",
        {
            "party": world.parties["Bob"]["id"],
            "product": product["id"],
            "amount": "5000",
            "currency": KES,
            "term": 2,
        },
    )
    assert bob_loan["status"] == "approved"  # Bob has basic KYC, the product's minimum
    loan = _apply(world, product, "5000").json()
    repay = api.post(f"/v1/loans/{loan['id']}/repayments", {"amount": "1", "currency": KES})
    assert_problem(repay, 409, "loan_not_active")
    assert_problem(api.post(f"/v1/loans/{loan['id']}/write-off"), 409, "loan_not_active")
    api.post(f"/v1/loans/{loan['id']}/disbursement")
    assert_problem(api.post(f"/v1/loans/{loan['id']}/write-off"), 409, "loan_not_impaired")
    second = _apply(world, product, "5000").json()
    assert (second["status"], second["reasons"]) == ("declined", ["active_loan_limit"])
    assert_problem(api.post(f"/v1/loans/{second['id']}/disbursement"), 409, "loan_declined")
    money_snapshot(world)


def test_arrears_to_write_off_and_recovery(world: World) -> None:
    api = world.api
    product = _product(world)
    loan = _apply(world, product, "10000").json()
    api.post(f"/v1/loans/{loan['id']}/disbursement")
    world.clock.advance_seconds(181 * DAY_S)
    day = api.post("/v1/loans/close-day", {}).json()["loans"][0]
    assert (day["stage"], day["days_past_due"], day["accrued_days"]) == (3, 151, 181)
    assert day["penalties"] == "150.00"
    written = api.post(f"/v1/loans/{loan['id']}/write-off")
    assert written.status_code == 200, written.text
    assert written.json()["written_off"] == "12213.45"  # 10,000 + 2,063.45 interest + 150
    detail = api.ok(f"/v1/loans/{loan['id']}")
    assert detail["balances"]["outstanding"] == "0.00"
    assert detail["balances"]["allowance"] == "0.00"
    recovery = api.created(
        f"/v1/loans/{loan['id']}/recoveries", {"amount": "5000", "currency": KES}
    )
    assert recovery["kind"] == "recovery"
    over = api.post(f"/v1/loans/{loan['id']}/recoveries", {"amount": "7213.46", "currency": KES})
    assert_problem(over, 422, "recovery_exceeds_written_off")
    assert api.ok(f"/v1/loans/{loan['id']}")["recovered"] == "5000.00"
    listed = api.ok("/v1/loans", party=world.parties["Alice"]["id"])
    assert [item["id"] for item in listed["data"]] == [loan["id"]]
    money_snapshot(world)
