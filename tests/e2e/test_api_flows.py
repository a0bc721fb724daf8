"""The HTTP API end to end, as clients use it, on SQLite and on PostgreSQL.

Each test tells one story through `/v1` (registration and funding happen in the `world`
fixture, through the API too) and checks what a client can see: statuses, bodies, balances,
statements; then that the ledger still balances.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hazina.identity.totp import totp_code
from tests.e2e.conftest import (
    ALICE_PHONE,
    BOB_PHONE,
    CAROL_PHONE,
    KES,
    World,
    assert_problem,
    money_snapshot,
    new_key,
)

OPERATOR_PASSWORD = "correct horse battery staple 7"


def cents(amount: str) -> int:
    """KES minor units of a decimal string the API wrote (two decimals, never a float)."""
    value = Decimal(amount) * 100
    assert value == value.to_integral_value(), amount
    return int(value)


def balance(world: World, name: str) -> int:
    return cents(world.api.balance(world.wallets[name]))


def p2p(world: World, sender: str, phone: str, amount: str, **kwargs: Any) -> dict[str, Any]:
    body = {
        "sender_wallet": world.wallets[sender],
        "recipient_phone": phone,
        "amount": amount,
        "currency": KES,
        "note": "lunch",
    }
    return world.api.created("/v1/p2p-transfers", body, **kwargs)


def test_registration_float_purchase_and_cash_in(world: World) -> None:
    api = world.api
    alice = world.parties["Alice"]
    assert alice["kind"] == "customer"
    assert alice["phone"] == ALICE_PHONE
    assert alice["kyc_tier"] == 2
    assert alice["status"] == "active"
    assert alice["id"].startswith("pty_")
    assert world.parties["Bob"]["phone"] == BOB_PHONE  # typed with spaces, stored as E.164
    kinds = {name: party["wallets"][0]["kind"] for name, party in world.parties.items()}
    assert kinds == {
        "Alice": "main",
        "Bob": "main",
        "Agent": "float",
        "Duka": "main",
        "Power": "main",
        "Bank": "settlement",
    }
    assert world.parties["Duka"]["details"] == {
        "merchant_category_code": "5411",
        "city": "Nairobi",
    }
    assert api.ok(f"/v1/parties/{alice['id']}") == alice
    found = api.ok("/v1/parties", phone=ALICE_PHONE)
    assert [p["id"] for p in found["data"]] == [alice["id"]]
    found = api.ok("/v1/parties", code="M001")
    assert [p["name"] for p in found["data"]] == ["Duka"]
    customers = api.ok("/v1/parties", kind="customer")
    assert {p["name"] for p in customers["data"]} == {"Alice", "Bob"}

    assert balance(world, "Alice") == 2_000_000
    transactions = api.ok("/v1/transactions")["data"]
    assert [t["type"] for t in transactions] == ["float_purchase", "cash_in"]
    purchase, cash_in = transactions
    assert purchase["amount"] == "1020000.00"
    assert purchase["payee_wallet"] == world.wallets["Agent"]
    assert cash_in["amount"] == "20000.00"
    assert cash_in["fee"] == "0.00"  # cash-in is free for the customer
    assert cash_in["payer_wallet"] == world.wallets["Agent"]
    assert cash_in["payee_wallet"] == world.wallets["Alice"]
    # The agent traded float for cash and earned a commission on top.
    commission = balance(world, "Agent") - (102_000_000 - 2_000_000)
    assert commission > 0
    wallet = api.ok(f"/v1/wallets/{world.wallets['Alice']}")
    assert wallet == {
        "wallet": world.parties["Alice"]["wallets"][0],
        "balance": "20000.00",
        "available": "20000.00",
        "pending_out": "0.00",
        "pending_in": "0.00",
        "currency": KES,
    }
    money_snapshot(world)  # the ledger balances


def test_p2p_to_a_registered_number(world: World) -> None:
    sent = p2p(world, "Alice", "+254 712 000 002", "1500.50")
    transaction = sent["transaction"]
    assert sent["voucher"] is None
    assert transaction["type"] == "p2p"
    assert transaction["status"] == "completed"
    assert transaction["payee_wallet"] == world.wallets["Bob"]
    assert transaction["details"] == {"recipient_phone": BOB_PHONE}
    assert transaction["reference"] == "lunch"
    fee = cents(transaction["fee"])
    assert fee > 0
    assert balance(world, "Bob") == 150_050
    assert balance(world, "Alice") == 2_000_000 - 150_050 - fee
    assert world.api.ok(f"/v1/transactions/{transaction['id']}") == transaction
    bobs = world.api.ok("/v1/transactions", wallet=world.wallets["Bob"])["data"]
    assert [t["id"] for t in bobs] == [transaction["id"]]
    money_snapshot(world)


def test_p2p_to_an_unregistered_number_is_claimed_after_registration(world: World) -> None:
    api = world.api
    sent = p2p(world, "Alice", CAROL_PHONE, "700.00")
    transaction, voucher = sent["transaction"], sent["voucher"]
    assert transaction["type"] == "p2p_voucher"
    assert transaction["status"] == "completed"
    assert voucher["status"] == "issued"
    assert voucher["phone"] == CAROL_PHONE
    assert voucher["amount"] == "700.00"
    code = voucher["code"]
    assert len(code) == 10
    assert code.isdigit()
    fee = cents(transaction["fee"])
    assert balance(world, "Alice") == 2_000_000 - 70_000 - fee

    carol = world.register("Carol", {"kind": "customer", "phone": CAROL_PHONE})
    assert balance(world, "Carol") == 0
    # Bob cannot claim Carol's voucher: the code is bound to her number.
    refused = api.post("/v1/voucher-claims", {"code": code, "wallet": world.wallets["Bob"]})
    assert_problem(refused, 404, "voucher_not_found")
    claimed = api.created("/v1/voucher-claims", {"code": code, "wallet": world.wallets["Carol"]})
    assert claimed["type"] == "voucher_claim"
    assert claimed["payee_wallet"] == carol["wallets"][0]["id"]
    assert claimed["amount"] == "700.00"
    assert balance(world, "Carol") == 70_000
    again = api.post("/v1/voucher-claims", {"code": code, "wallet": world.wallets["Carol"]})
    assert_problem(again, 409, "voucher_settled")
    assert balance(world, "Carol") == 70_000
    money_snapshot(world)


def test_merchant_payment_by_a_dynamic_qr_code(world: World) -> None:
    api = world.api
    merchant = world.parties["Duka"]
    qr = api.created(
        f"/v1/parties/{merchant['id']}/qr-codes",
        {"amount": "250.00", "reference": "order-7", "expires_in_s": 300},
    )
    assert qr["merchant_code"] == "M001"
    assert qr["amount"] == "250.00"
    assert qr["currency"] == KES
    payload = qr["payload"]
    assert payload.startswith("000201")  # EMVCo payload format indicator
    assert "6304" in payload[-8:]  # the CRC is the last field

    paid = api.created(
        "/v1/merchant-payments", {"payer_wallet": world.wallets["Alice"], "qr_payload": payload}
    )
    assert paid["type"] == "merchant_payment"
    assert paid["amount"] == "250.00"  # from the code: the payer typed no amount
    assert paid["reference"] == "order-7"
    assert paid["payee_wallet"] == world.wallets["Duka"]
    fee = cents(paid["fee"])
    discount = 25_000 * 50 // 10_000  # the default tariff's 0.5% merchant discount
    assert balance(world, "Duka") == 25_000 - discount
    assert balance(world, "Alice") == 2_000_000 - 25_000 - fee

    mismatch = api.post(
        "/v1/merchant-payments",
        {"payer_wallet": world.wallets["Alice"], "qr_payload": payload, "amount": "1.00"},
    )
    assert_problem(mismatch, 422, "amount_mismatch")
    by_code = api.created(
        "/v1/merchant-payments",
        {
            "payer_wallet": world.wallets["Alice"],
            "merchant_code": "M001",
            "amount": "100.00",
            "currency": KES,
        },
    )
    assert by_code["payee_wallet"] == world.wallets["Duka"]
    money_snapshot(world)


def test_bill_payment(world: World) -> None:
    paid = world.api.created(
        "/v1/bill-payments",
        {
            "payer_wallet": world.wallets["Alice"],
            "biller_code": "KPLC",
            "bill_account": " ACC-42 ",
            "amount": "1234.56",
            "currency": KES,
        },
    )
    assert paid["type"] == "bill_payment"
    assert paid["details"] == {"bill_account": "ACC-42"}
    assert paid["reference"] == "ACC-42"
    fee = cents(paid["fee"])
    assert balance(world, "Alice") == 2_000_000 - 123_456 - fee
    biller = balance(world, "Power")
    assert 0 < biller <= 123_456  # the biller may give up a commission, never gain
    money_snapshot(world)


def test_bank_transfers_are_held_then_settled_or_failed(world: World) -> None:
    api = world.api
    alice = world.wallets["Alice"]

    def send(amount: str, account: str) -> dict[str, Any]:
        body = {
            "payer_wallet": alice,
            "bank_code": "BNK01",
            "bank_account": account,
            "amount": amount,
            "currency": KES,
        }
        return api.created("/v1/bank-transfers", body)

    first = send("3000.00", "0011223344")
    assert first["type"] == "bank_transfer_out"
    assert first["status"] == "pending"
    first_total = 300_000 + cents(first["fee"])
    held = api.ok(f"/v1/wallets/{alice}")
    assert cents(held["balance"]) == 2_000_000  # held, not yet taken
    assert cents(held["pending_out"]) == first_total
    assert cents(held["available"]) == 2_000_000 - first_total
    assert balance(world, "Bank") == 0

    settled = api.post(f"/v1/bank-transfers/{first['id']}/settlement", {"outcome": "succeeded"})
    assert settled.status_code == 200, settled.text
    assert settled.json()["status"] == "completed"
    after_first = api.ok(f"/v1/wallets/{alice}")
    assert cents(after_first["balance"]) == 2_000_000 - first_total
    assert after_first["pending_out"] == "0.00"
    # A bank's settlement wallet is the operator's position at that bank (an asset, shown
    # debit-normal): paying out through the bank lowers it.
    assert balance(world, "Bank") == -300_000

    second = send("5000.00", "5566778899")
    second_total = 500_000 + cents(second["fee"])
    assert cents(api.ok(f"/v1/wallets/{alice}")["available"]) == (
        2_000_000 - first_total - second_total
    )
    failed = api.post(f"/v1/bank-transfers/{second['id']}/settlement", {"outcome": "failed"})
    assert failed.status_code == 200, failed.text
    assert failed.json()["status"] == "failed"
    after_second = api.ok(f"/v1/wallets/{alice}")
    assert cents(after_second["balance"]) == 2_000_000 - first_total  # all of it came back
    assert after_second["pending_out"] == "0.00"
    assert balance(world, "Bank") == -300_000

    twice = api.post(f"/v1/bank-transfers/{first['id']}/settlement", {"outcome": "failed"})
    assert_problem(twice, 409, "transaction_not_pending")
    statuses = {t["id"]: t["status"] for t in api.ok("/v1/transactions", wallet=alice)["data"]}
    assert statuses[first["id"]] == "completed"
    assert statuses[second["id"]] == "failed"
    money_snapshot(world)


def test_statement_has_running_balances_and_pages_on(world: World) -> None:
    api = world.api
    alice = world.wallets["Alice"]
    p2p(world, "Alice", BOB_PHONE, "100.00")
    p2p(world, "Bob", ALICE_PHONE, "40.00")
    api.created(
        "/v1/bill-payments",
        {
            "payer_wallet": alice,
            "biller_code": "KPLC",
            "bill_account": "ACC-1",
            "amount": "300.00",
            "currency": KES,
        },
    )
    api.created(
        "/v1/incoming-bank-transfers",
        {
            "bank_code": "BNK01",
            "customer_phone": ALICE_PHONE,
            "amount": "999.99",
            "currency": KES,
            "bank_reference": "FT123",
        },
    )

    whole = api.ok(f"/v1/wallets/{alice}/statement", limit=100)
    entries = whole["data"]
    # Statement pages may be longer than other lists' (up to 500 entries): this once was a 500.
    assert api.ok(f"/v1/wallets/{alice}/statement", limit=150) == whole
    assert whole["has_more"] is False
    assert whole["next_cursor"] is None
    assert len(entries) >= 6  # cash-in, p2p + fee, p2p in, bill + fee, bank in
    running = 0
    for entry in entries:
        assert entry["pending"] is False
        signed = cents(entry["amount"]) * (1 if entry["direction"] == "credit" else -1)
        running += signed
        assert cents(entry["balance_after"]) == running, entry
    assert running == balance(world, "Alice")
    assert entries[0]["transaction_type"] == "cash_in"
    assert {"fee", "principal"} <= {e["leg"] for e in entries}
    cursors = [int(e["cursor"]) for e in entries]
    assert cursors == sorted(cursors)
    assert len(set(cursors)) == len(cursors)

    paged: list[dict[str, Any]] = []
    page = api.ok(f"/v1/wallets/{alice}/statement", limit=2)
    pages = 1
    while True:
        assert len(page["data"]) <= 2
        paged.extend(page["data"])
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        assert page["next_cursor"] == page["data"][-1]["cursor"]
        page = api.ok(f"/v1/wallets/{alice}/statement", limit=2, starting_after=page["next_cursor"])
        pages += 1
    assert paged == entries
    assert pages == (len(entries) + 1) // 2

    # Transactions page on by id the same way.
    listed = api.ok("/v1/transactions", limit=2)
    assert listed["has_more"] is True
    rest = api.ok("/v1/transactions", limit=100, starting_after=listed["next_cursor"])
    everything = api.ok("/v1/transactions", limit=100)["data"]
    assert listed["data"] + rest["data"] == everything
    money_snapshot(world)


def test_receipt(world: World) -> None:
    sent = p2p(world, "Alice", BOB_PHONE, "2500.00")["transaction"]
    receipt = world.api.ok(f"/v1/transactions/{sent['id']}/receipt")
    assert receipt["transaction"] == sent
    assert receipt["payer"] == "Alice"
    assert receipt["payee"] == "Bob"
    assert cents(receipt["total_debited"]) == 250_000 + cents(sent["fee"])
    assert receipt["receipt_number"].startswith("R")
    assert receipt["issued_at"] == sent["created_at"]
    assert receipt["issued_at"] == "2025-11-13T02:13:20Z"


def operator_session(world: World, username: str, roles: list[str]) -> str:
    """Create an operator through the API and log in with password and TOTP; the token."""
    created = world.api.created(
        "/v1/operators",
        {
            "username": username,
            "display_name": username.title(),
            "password": OPERATOR_PASSWORD,
            "roles": roles,
        },
    )
    assert created["roles"] == roles
    assert created["status"] == "active"
    secret = created["totp_secret"]
    now_s = world.clock.now_ns() // 1_000_000_000
    wrong = world.api.client.post(
        "/v1/operator-sessions",
        json={"username": username, "password": "not the password at all", "totp_code": "000000"},
    )
    assert_problem(wrong, 401, "unauthenticated")
    session = world.api.client.post(
        "/v1/operator-sessions",
        json={
            "username": username,
            "password": OPERATOR_PASSWORD,
            "totp_code": totp_code(secret, now_s),
        },
    )
    assert session.status_code == 201, session.text
    body = session.json()
    assert body["username"] == username
    assert body["roles"] == roles
    token: str = body["token"]
    # The same code is good once (RFC 6238 section 5.2).
    replayed = world.api.client.post(
        "/v1/operator-sessions",
        json={
            "username": username,
            "password": OPERATOR_PASSWORD,
            "totp_code": totp_code(secret, now_s),
        },
    )
    assert_problem(replayed, 401, "unauthenticated")
    return token


def test_reversal_needs_a_maker_and_a_different_checker(world: World) -> None:
    api = world.api
    before_alice = balance(world, "Alice")
    before_bob = balance(world, "Bob")
    sent = p2p(world, "Alice", BOB_PHONE, "800.00")["transaction"]
    assert balance(world, "Bob") == before_bob + 80_000

    # The maker may request and (for other people's requests) approve: the rule that stops
    # them approving their own is maker-checker, not a missing scope.
    maker = operator_session(world, "maker", ["operations", "risk_analyst"])
    checker = operator_session(world, "checker", ["risk_analyst"])
    me = api.client.get("/v1/me", headers={"Authorization": f"Bearer {maker}"})
    assert me.json()["kind"] == "operator"
    assert me.json()["name"] == "maker"
    assert "reversals:approve" in me.json()["scopes"]

    cannot_request = api.post(
        "/v1/reversal-requests", {"transaction_id": sent["id"], "reason": "x"}, key=checker
    )
    assert_problem(cannot_request, 403, "forbidden")
    requested = api.created(
        "/v1/reversal-requests",
        {"transaction_id": sent["id"], "reason": "sent to the wrong number"},
        key=maker,
    )
    assert requested["status"] == "requested"
    assert requested["requested_by"] == "operator:maker"
    assert requested["transaction_id"] == sent["id"]
    duplicate = api.post(
        "/v1/reversal-requests", {"transaction_id": sent["id"], "reason": "again"}, key=maker
    )
    assert_problem(duplicate, 409, "reversal_already_requested")

    own = api.post(f"/v1/reversal-requests/{requested['id']}/approval", key=maker)
    assert_problem(own, 422, "maker_checker_violation")
    assert balance(world, "Bob") == before_bob + 80_000  # nothing moved

    approval = api.post(f"/v1/reversal-requests/{requested['id']}/approval", key=checker)
    assert approval.status_code == 200, approval.text
    approved = approval.json()
    assert approved["status"] == "approved"
    assert approved["decided_by"] == "operator:checker"
    assert approved["reversal_id"] is not None
    reversal = api.ok(f"/v1/transactions/{approved['reversal_id']}")
    assert reversal["type"] == "reversal"
    assert reversal["reversal_of"] == sent["id"]
    original = api.ok(f"/v1/transactions/{sent['id']}")
    assert original["status"] == "reversed"
    assert original["reversed_by"] == reversal["id"]
    assert balance(world, "Bob") == before_bob
    assert balance(world, "Alice") == before_alice  # the fee came back too

    decided = api.post(f"/v1/reversal-requests/{requested['id']}/rejection", key=checker)
    assert_problem(decided, 409, "reversal_decided")
    approved_list = api.ok("/v1/reversal-requests", status="approved")["data"]
    assert [r["id"] for r in approved_list] == [requested["id"]]
    actions = [e["action"] for e in api.ok("/v1/audit-log", limit=100)["data"]]
    assert actions.count("operator.created") == 2
    assert actions.count("operator.logged_in") == 2
    money_snapshot(world)


def test_api_keys_are_issued_used_and_revoked(world: World) -> None:
    api = world.api
    issued = api.created(
        "/v1/api-keys",
        {"name": "reporting", "owner": "finance", "scopes": ["payments:read", "accounts:read"]},
    )
    plaintext = issued["key"]
    assert plaintext.startswith("hzk_")
    assert issued["scopes"] == ["accounts:read", "payments:read"]
    assert issued["revoked_at"] is None
    listed = api.client.get("/v1/api-keys", headers=api.headers())
    assert listed.status_code == 200
    assert all(k["key"] is None for k in listed.json())  # shown once, never listed
    assert issued["key_id"] in {k["key_id"] for k in listed.json()}

    me = api.get("/v1/me", key=plaintext)
    assert me.status_code == 200
    assert me.json() == {
        "kind": "api_key",
        "name": issued["key_id"],
        "scopes": ["accounts:read", "payments:read"],
    }
    assert api.get("/v1/transactions", key=plaintext).status_code == 200
    assert_problem(api.get("/v1/parties", key=plaintext), 403, "forbidden")

    revoked = api.client.delete(f"/v1/api-keys/{issued['key_id']}", headers=api.headers())
    assert revoked.status_code == 204
    assert revoked.content == b""
    refused = api.get("/v1/me", key=plaintext)
    assert_problem(refused, 401, "unauthenticated")
    assert refused.headers["www-authenticate"] == "Bearer"
    again = api.client.delete(f"/v1/api-keys/{issued['key_id']}", headers=api.headers())
    assert_problem(again, 404, "api_key_not_found")
    records = api.client.get("/v1/api-keys", headers=api.headers()).json()
    record = next(k for k in records if k["key_id"] == issued["key_id"])
    assert record["revoked_at"] == "2025-11-13T02:13:20Z"


def test_a_read_only_key_cannot_move_money(world: World) -> None:
    api = world.api
    auditor = api.created(
        "/v1/api-keys",
        {
            "name": "auditor",
            "owner": "internal audit",
            "scopes": [
                "parties:read",
                "accounts:read",
                "payments:read",
                "tariffs:read",
                "audit:read",
            ],
        },
    )["key"]
    before = money_snapshot(world)
    body = {
        "sender_wallet": world.wallets["Alice"],
        "recipient_phone": BOB_PHONE,
        "amount": "10.00",
        "currency": KES,
    }
    refused = api.post("/v1/p2p-transfers", body, key=auditor)
    problem = assert_problem(refused, 403, "forbidden")
    assert problem["required_scope"] == "payments:write"
    assert_problem(
        api.post("/v1/parties", {"kind": "customer", "name": "Eve"}, key=auditor), 403, "forbidden"
    )
    new_key_body = {"name": "n", "owner": "o", "scopes": ["audit:read"]}
    assert_problem(api.post("/v1/api-keys", new_key_body, key=auditor), 403, "forbidden")
    assert money_snapshot(world) == before
    # What it may do, it does.
    assert api.get(f"/v1/wallets/{world.wallets['Alice']}", key=auditor).status_code == 200
    assert api.get("/v1/audit-log", key=auditor).status_code == 200
    assert api.get(f"/v1/tariffs/{KES}", key=auditor).status_code == 200


def test_request_ids_are_echoed(world: World) -> None:
    client, headers = world.api.client, world.api.headers()
    ok = client.get("/v1/me", headers={**headers, "X-Request-ID": "trace-0042"})
    assert ok.status_code == 200
    assert ok.headers["x-request-id"] == "trace-0042"
    missing = client.get(
        "/v1/transactions/txn_00000000000000ff", headers={**headers, "X-Request-ID": "trace-0043"}
    )
    problem = assert_problem(missing, 404, "transaction_not_found")
    assert problem["request_id"] == "trace-0043"
    # No id, or one that is not a visible-ASCII token: the server makes one up.
    generated = client.get("/v1/me", headers=headers)
    assert generated.headers["x-request-id"].startswith("req_")
    replaced = client.get("/v1/me", headers={**headers, "X-Request-ID": "two words"})
    assert replaced.headers["x-request-id"].startswith("req_")
    unauthenticated = client.get("/v1/me", headers={"X-Request-ID": "trace-0044"})
    assert assert_problem(unauthenticated, 401, "unauthenticated")["request_id"] == "trace-0044"


def test_idempotency_key_replays_and_refuses_reuse(world: World) -> None:
    api = world.api
    key = new_key()
    body = {
        "sender_wallet": world.wallets["Alice"],
        "recipient_phone": BOB_PHONE,
        "amount": "123.45",
        "currency": KES,
        "note": "rent",
    }
    first = api.post("/v1/p2p-transfers", body, idempotency_key=key)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    after_first = money_snapshot(world)

    again = api.post("/v1/p2p-transfers", body, idempotency_key=key)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert again.json() == first.json()
    assert money_snapshot(world) == after_first  # paid once

    different = api.post("/v1/p2p-transfers", {**body, "amount": "123.46"}, idempotency_key=key)
    assert_problem(different, 409, "idempotency_key_reused")
    elsewhere = api.post(
        "/v1/bill-payments",
        {
            "payer_wallet": world.wallets["Alice"],
            "biller_code": "KPLC",
            "bill_account": "ACC-1",
            "amount": "123.45",
            "currency": KES,
        },
        idempotency_key=key,
    )
    assert_problem(elsewhere, 409, "idempotency_key_reused")  # another path is another body
    assert money_snapshot(world) == after_first

    # Keys belong to their caller: another credential's same key is another payment.
    other = api.created(
        "/v1/api-keys", {"name": "app", "owner": "partner", "scopes": ["payments:write"]}
    )["key"]
    theirs = api.post("/v1/p2p-transfers", body, key=other, idempotency_key=key)
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["transaction"]["id"] != first.json()["transaction"]["id"]
    assert money_snapshot(world).transactions == after_first.transactions + 1


def test_the_spec_declares_the_replay_header_on_every_money_moving_success(world: World) -> None:
    spec = world.api.client.get("/openapi.json").json()
    money_moving = [
        (path, method, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
    ]
    assert len(money_moving) >= 8
    for path, method, operation in money_moving:
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, (path, method)
        for response in successes.values():
            assert response["headers"]["Idempotent-Replayed"]["schema"]["enum"] == ["true"]
    # Reads take no key and say nothing of replays.
    accounts = spec["paths"]["/v1/parties"]["get"]["responses"]["200"]
    assert "Idempotent-Replayed" not in accounts.get("headers", {})
