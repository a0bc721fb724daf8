"""Risk control through the HTTP API, on SQLite and PostgreSQL: rules saved and refused,
a step-up answered with the code the customer received, a hold reviewed by an analyst, and
the decisions an analyst reads back."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import BOB_PHONE, KES, World, assert_problem, money_snapshot, new_key


def rule(action: str, minimum_minor: int) -> dict[str, Any]:
    return {
        "name": f"{action}-large",
        "when": {"feature": "amount", "op": ">=", "value": minimum_minor},
        "action": action,
        "reason": f"{action} large payments",
    }


def p2p_body(world: World, amount: str) -> dict[str, Any]:
    return {
        "sender_wallet": world.wallets["Alice"],
        "recipient_phone": BOB_PHONE,
        "amount": amount,
        "currency": KES,
        "note": "rent",
    }


def save_rules(world: World, rules: list[dict[str, Any]]) -> dict[str, Any]:
    response = world.api.client.put(
        "/v1/risk/rules", json={"rules": rules}, headers=world.api.headers()
    )
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def test_rules_are_versioned_and_bad_ones_refused_with_a_code(world: World) -> None:
    api = world.api
    assert api.ok("/v1/risk/rules")["version"] == 0
    features = {
        f["name"]: f["type"]
        for f in api.client.get("/v1/risk/features", headers=api.headers()).json()
    }
    assert features["amount"] == "number"
    assert features["payment_type"] == "text"
    saved = save_rules(world, [rule("hold", 500_000)])
    assert saved["version"] == 1
    assert saved["rules"] == [rule("hold", 500_000)]
    bad = {"name": "x", "when": {"feature": "no_such", "op": ">", "value": 1}, "action": "hold"}
    response = api.client.put("/v1/risk/rules", json={"rules": [bad]}, headers=api.headers())
    assert_problem(response, 422, "rule_feature_unknown")
    assert api.ok("/v1/risk/rules")["version"] == 1
    assert api.ok("/v1/risk/rules/1")["rules"] == [rule("hold", 500_000)]
    assert_problem(api.get("/v1/risk/rules/7"), 404, "rule_set_not_found")
    audit = api.ok("/v1/audit-log")["data"]
    assert any(entry["action"] == "risk.rules_saved" for entry in audit)


def test_step_up_through_the_api(world: World) -> None:
    api = world.api
    save_rules(world, [rule("step_up", 300_000)])
    before = money_snapshot(world)
    key = new_key()
    body = p2p_body(world, "3500.00")
    first = api.post("/v1/p2p-transfers", body, idempotency_key=key)
    assert_problem(first, 422, "step_up_required")
    challenge = first.json()["challenge_id"]
    assert money_snapshot(world) == before
    (event,) = [
        e
        for e in world.platform.payments.outbox_after(0, 10_000)
        if e[1] == "risk.step_up_required"
    ]
    code = event[3]["code"]
    headers = api.headers(**{"Idempotency-Key": key, "Step-Up-Challenge": str(challenge)})
    half = api.client.post("/v1/p2p-transfers", json=body, headers=headers)
    assert_problem(half, 422, "step_up_incomplete")
    wrong = api.client.post(
        "/v1/p2p-transfers",
        json=body,
        headers=headers | {"Step-Up-Code": f"{(int(code) + 1) % 10**6:06d}"},
    )
    assert_problem(wrong, 422, "step_up_code_wrong")
    passed = api.client.post(
        "/v1/p2p-transfers", json=body, headers=headers | {"Step-Up-Code": code}
    )
    assert passed.status_code == 201, passed.text
    assert passed.json()["transaction"]["status"] == "completed"
    replay = api.client.post(
        "/v1/p2p-transfers", json=body, headers=headers | {"Step-Up-Code": code}
    )
    assert replay.status_code == 201  # the idempotency key answers first: same response
    assert replay.headers["Idempotent-Replayed"] == "true"
    steps = api.ok("/v1/risk/decisions", action="step_up")["data"]
    # The decision that asked for the code, and the one the passed payment carries.
    assert [d["transaction"] for d in steps] == [None, passed.json()["transaction"]["id"]]
    assert steps[0]["rule_hits"][0]["rule"] == "step_up-large"


def test_a_held_payment_is_listed_and_reviewed(world: World) -> None:
    api = world.api
    save_rules(world, [rule("hold", 300_000)])
    held = api.created("/v1/p2p-transfers", p2p_body(world, "3000"))["transaction"]
    assert held["status"] == "held"
    listed = api.ok("/v1/transactions", status="held")["data"]
    assert [t["id"] for t in listed] == [held["id"]]
    review = api.post(f"/v1/risk/held-payments/{held['id']}/review", {"release": True})
    assert review.status_code == 200, review.text
    assert review.json()["status"] == "completed"
    assert api.ok("/v1/transactions", status="held")["data"] == []
    again = api.post(f"/v1/risk/held-payments/{held['id']}/review", {"release": False})
    assert_problem(again, 409, "transaction_not_held")
    decisions = api.ok("/v1/risk/decisions", transaction=held["id"])["data"]
    assert [d["action"] for d in decisions] == ["hold"]
    assert decisions[0]["transaction"] == held["id"]


def test_a_declined_payment_moves_nothing(world: World) -> None:
    save_rules(world, [rule("decline", 100_000)])
    before = money_snapshot(world)
    response = world.api.post("/v1/p2p-transfers", p2p_body(world, "1000.00"))
    assert_problem(response, 422, "risk_declined")
    assert money_snapshot(world) == before
    assert response.json()["decision_id"] > 0
