"""The operator console through FastAPI's test client on a seeded demo database: login with
password and TOTP, the session cookie, pages per role (403 pages), CSRF refusals, cursor
pagination, and the work flows (maker-checker reversal, held payment, AML case)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hazina.api.app import create_app
from hazina.api.routes_assist import assist_for
from hazina.bootstrap import Platform
from hazina.cli.demo import DEMO_TOTP_SECRET
from hazina.console.demo import DEMO_OPERATORS
from hazina.identity.roles import Role
from hazina.kernel.ids import parse_prefixed, prefixed
from hazina.kernel.limits import (
    assist_conversation_messages_max,
    assist_pin_attempts_max,
    console_page_rows_max,
)
from hazina.partners.gateway import Partners
from hazina.partners.tenants import Brand
from hazina.payments.approvals import ApprovalService
from hazina.payments.domain.chart import PartyKind, WalletKind
from hazina.payments.records import TransactionSearch
from hazina.risk.aml.cases import Case, CaseNote
from tests.browser.world import (
    CSRF_PATTERN,
    ShiftableClock,
    copy_world,
    open_world,
    seeded_console_world,
)

__all__ = ["seeded_console_world"]  # the session fixture, used by name

PASSWORDS = {"admin": "hazina-demo-admin"} | {o.username: o.password for o in DEMO_OPERATORS}


@pytest.fixture
def world(seeded_console_world: Path, tmp_path: Path) -> Iterator[tuple[Platform, ShiftableClock]]:
    platform, clock = open_world(copy_world(seeded_console_world, tmp_path / "console.sqlite3"))
    yield platform, clock
    platform.close()


@pytest.fixture
def app_client(world: tuple[Platform, ShiftableClock]) -> Iterator[TestClient]:
    with TestClient(create_app(world[0]), follow_redirects=False) as client:
        yield client


def log_in(client: TestClient, clock: ShiftableClock, username: str) -> TestClient:
    client.cookies.clear()
    form = client.get("/console/login")
    token = CSRF_PATTERN.search(form.text)
    assert token is not None
    answer = client.post(
        "/console/login",
        data={
            "csrf_token": token.group(1),
            "username": username,
            "password": PASSWORDS[username],
            "totp": clock.next_totp(),
            "next": "/console/",
        },
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(page: str) -> str:
    token = CSRF_PATTERN.search(page)
    assert token is not None
    return token.group(1)


def first_case(platform: Platform) -> tuple[Case, tuple[CaseNote, ...]]:
    """The oldest AML case and its history as it stands."""
    case = platform.cases.list_cases(limit=1)[0]
    return case, platform.cases.detail(case.id).notes


def test_pages_need_a_session(app_client: TestClient) -> None:
    answer = app_client.get("/console/transactions?status=held")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=/console/transactions%3Fstatus%3Dheld"
    assert app_client.get("/console/", headers={"HX-Request": "true"}).status_code == 401


def test_login_sets_a_strict_http_only_cookie(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    form = app_client.get("/console/login")
    answer = app_client.post(
        "/console/login",
        data={
            "csrf_token": csrf_of(form.text),
            "username": "admin",
            "password": PASSWORDS["admin"],
            "totp": world[1].next_totp(),
            "next": "https://elsewhere.example/",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/"  # never off the console
    cookie = next(
        value
        for name, value in answer.headers.multi_items()
        if name == "set-cookie" and value.startswith("hazina_console=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    assert app_client.get("/console/").status_code == 200


def test_a_wrong_code_or_a_forged_login_form_is_refused(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    form = app_client.get("/console/login")
    wrong = {
        "csrf_token": csrf_of(form.text),
        "username": "admin",
        "password": PASSWORDS["admin"],
        "totp": "000000",
    }
    answer = app_client.post("/console/login", data=wrong)
    assert answer.status_code == 401
    assert "Wrong username, password or code" in answer.text
    forged = dict(wrong, csrf_token="not-the-cookie", totp=world[1].next_totp())
    assert app_client.post("/console/login", data=forged).status_code == 403


def test_the_dashboard_has_chart_data(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    page = log_in(app_client, world[1], "admin").get("/console/").text
    for name in ("volume", "value", "fees", "wallets", "floats", "decisions", "cases", "loans"):
        assert f'id="chart-{name}"' in page
    data = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page)
    assert data is not None
    assert '"cash_in"' in data.group(1)
    assert "Low-float alerts" in page


@pytest.mark.parametrize(
    ("username", "path", "status"),
    [
        ("agents", "/console/cases", 403),
        ("agents", "/console/transactions", 403),
        ("agents", "/console/customers", 200),
        ("ops", "/console/audit", 403),
        ("ops", "/console/approvals", 200),
        ("auditor", "/console/audit", 200),
        ("auditor", "/console/cases", 200),
        ("risk", "/console/audit", 403),
    ],
)
def test_roles_decide_which_pages_open(
    app_client: TestClient,
    world: tuple[Platform, ShiftableClock],
    username: str,
    path: str,
    status: int,
) -> None:
    answer = log_in(app_client, world[1], username).get(path)
    assert answer.status_code == status
    if status == 403:
        assert "Not allowed" in answer.text


def test_an_auditor_reads_cases_but_cannot_work_them(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    case, history = first_case(platform)
    page = log_in(app_client, clock, "auditor").get(f"/console/cases/{prefixed('cas', case.id)}")
    assert "Work the case" not in page.text
    answer = app_client.post(
        f"/console/cases/{prefixed('cas', case.id)}/note",
        data={"csrf_token": csrf_of(page.text), "text": "looked"},
    )
    assert answer.status_code == 403
    assert platform.cases.detail(case.id).notes == history


def test_a_form_without_the_right_csrf_token_is_refused(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    case, history = first_case(platform)
    log_in(app_client, clock, "risk")
    path = f"/console/cases/{prefixed('cas', case.id)}/note"
    assert app_client.post(path, data={"text": "no token"}).status_code == 403
    wrong = app_client.post(path, data={"text": "wrong", "csrf_token": "0" * 64})
    assert wrong.status_code == 403
    assert "CSRF" in wrong.text
    assert platform.cases.detail(case.id).notes == history


def test_transactions_page_by_cursor_newest_first(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    log_in(app_client, world[1], "admin")
    first = app_client.get("/console/transactions?type=cash_in")
    ids = [
        parse_prefixed("txn", t) for t in re.findall(r">(txn_[0-9a-f]{16})</a></td>", first.text)
    ]
    assert len(ids) == console_page_rows_max
    assert ids == sorted(ids, reverse=True)
    next_link = re.search(r'id="next-page" href="([^"]+)"', first.text)
    assert next_link is not None
    second = app_client.get(next_link.group(1).replace("&amp;", "&"))
    later = [
        parse_prefixed("txn", t) for t in re.findall(r">(txn_[0-9a-f]{16})</a></td>", second.text)
    ]
    assert later
    assert max(later) < min(ids)
    assert all(
        world[0].payments.get_transaction(identifier).type == "cash_in" for identifier in later
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("amount_min=12.345", "at most 2 decimal place"),
        ("since=yesterday", "must be a date"),
        ("type=teleport", "unknown transaction type"),
        ("before=txn_zz", "there is no transaction"),
    ],
)
def test_bad_filters_get_a_clear_refusal(
    app_client: TestClient, world: tuple[Platform, ShiftableClock], query: str, message: str
) -> None:
    answer = log_in(app_client, world[1], "admin").get(f"/console/transactions?{query}")
    assert answer.status_code in (404, 422)
    assert message in answer.text


def test_customer_360_by_phone(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    customer = platform.payments.list_parties(PartyKind.customer, 0, 1)[0]
    assert customer.phone is not None
    log_in(app_client, clock, "admin")
    results = app_client.get("/console/customers", params={"q": customer.phone[-9:]})
    link = f"/console/customers/{prefixed('pty', customer.id)}"
    assert link in results.text
    page = app_client.get(link).text
    assert f'<dd id="kyc-tier">{int(customer.kyc_tier)}</dd>' in page
    for section in ("Wallets", "Statement", "Risk decisions", "Loans"):
        assert section in page


def test_maker_cannot_approve_their_own_reversal(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    payment = platform.payments.search_transactions(
        TransactionSearch(type="merchant_payment", status="completed"), None, 1
    )[0]
    path = f"/console/transactions/{prefixed('txn', payment.id)}"
    page = log_in(app_client, clock, "admin").get(path)
    made = app_client.post(
        f"{path}/reversal-request", data={"csrf_token": csrf_of(page.text), "reason": "duplicate"}
    )
    assert made.status_code == 303
    request = platform.payments.list_reversal_requests("requested", 0, 10)[-1]
    assert request.requested_by == "operator:admin"
    approvals = app_client.get("/console/approvals")
    decide = f"/console/approvals/reversals/{prefixed('rev', request.id)}"
    own = app_client.post(
        decide, data={"csrf_token": csrf_of(approvals.text), "decision": "approve"}
    )
    assert own.status_code == 422
    assert "cannot approve" in own.text
    assert platform.payments.get_transaction(payment.id).status == "completed"
    approvals = log_in(app_client, clock, "risk").get("/console/approvals")
    checked = app_client.post(
        decide, data={"csrf_token": csrf_of(approvals.text), "decision": "approve"}
    )
    assert checked.status_code == 303
    assert platform.payments.get_transaction(payment.id).status == "reversed"
    assert platform.payments.get_reversal_request(request.id).decided_by == "operator:risk"


def test_rejecting_a_held_payment_voids_it(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    held = platform.payments.list_transactions(None, 0, 10, status="held")[0]
    queue = log_in(app_client, clock, "risk").get("/console/cases")
    assert prefixed("txn", held.id) in queue.text
    answer = app_client.post(
        f"/console/holds/{prefixed('txn', held.id)}",
        data={"csrf_token": csrf_of(queue.text), "decision": "reject", "fraud": "on"},
    )
    assert answer.status_code == 303
    assert platform.payments.get_transaction(held.id).status == "failed"
    actions = [entry["action"] for entry in platform.identity.audit_entries(0, 10_000)]
    assert "risk.hold_reviewed" in actions


def test_an_analyst_works_a_case_to_a_decision(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    case = platform.cases.list_cases(limit=1)[0]
    path = f"/console/cases/{prefixed('cas', case.id)}"
    token = csrf_of(log_in(app_client, clock, "risk").get(path).text)
    steps = [
        ("assign", {"assignee": "operator:risk"}),
        ("investigate", {}),
        ("note", {"text": "called the customer"}),
        ("close", {"outcome": "false_positive", "text": "salary and rent"}),
    ]
    for action, fields in steps:
        answer = app_client.post(f"{path}/{action}", data={"csrf_token": token, **fields})
        assert answer.status_code == 303, answer.text
    closed = platform.cases.get(case.id)
    assert closed.status.value == "closed"
    assert closed.outcome is not None
    assert closed.outcome.value == "false_positive"
    assert "called the customer" in app_client.get(path).text
    refused = app_client.post(f"{path}/investigate", data={"csrf_token": token})
    assert refused.status_code == 409


def test_the_audit_log_pages_forward(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    for _ in range(3):  # enough entries for a second page: logins are audited
        log_in(app_client, clock, "auditor")
    while len(platform.identity.audit_entries(0, console_page_rows_max + 1)) <= (
        console_page_rows_max
    ):
        platform.identity.record("test", "test.filler", "audit")
    page = app_client.get("/console/audit")
    assert "operator.logged_in" in page.text
    next_link = re.search(r'id="next-page" href="([^"]+)"', page.text)
    assert next_link is not None
    assert app_client.get(next_link.group(1)).status_code == 200


def test_an_agent_low_on_float_is_flagged(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    payments = platform.payments
    agent = payments.register_party(PartyKind.agent, "Agent Lowfloat", ["KES"], code="LOW1")
    payments.purchase_float(payments.wallet_of(agent.id, "KES").id, 1_000_00, "a little float")
    page = log_in(app_client, clock, "agents").get("/console/").text
    alerts = page[page.index('id="low-float"') :]
    assert "Agent Lowfloat" in alerts
    assert "KES 1,000.00" in alerts
    assert 'id="chart-volume"' not in page  # an agent manager sees no payment charts


def test_a_journal_entry_needs_a_second_admin(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    operator = platform.payments.operator_wallets("KES")
    fee_income, suspense = operator[WalletKind.fee_income], operator[WalletKind.suspense]
    page = log_in(app_client, clock, "admin").get("/console/approvals")
    filed = app_client.post(
        "/console/approvals/changes",
        data={
            "csrf_token": csrf_of(page.text),
            "kind": "journal_entry",
            "debit": prefixed("wal", fee_income),
            "credit": prefixed("wal", suspense),
            "amount": "12.50",
            "memo": "fee posted twice",
            "reason": "duplicate fee",
        },
    )
    assert filed.status_code == 303
    page = app_client.get("/console/approvals")
    assert "your request: another operator decides" in page.text
    approvals = platform.service("console_approvals", lambda p: None)  # the console's own
    assert isinstance(approvals, ApprovalService)
    change = approvals.list("requested", 0, 10)[0]
    decide = f"/console/approvals/changes/{prefixed('chg', change.id)}"
    own = app_client.post(decide, data={"csrf_token": csrf_of(page.text), "decision": "approve"})
    assert own.status_code == 422
    assert platform.payments.balance(suspense).balance == 0
    page = log_in(app_client, clock, "risk").get("/console/approvals")
    refused = app_client.post(
        decide, data={"csrf_token": csrf_of(page.text), "decision": "approve"}
    )
    assert refused.status_code == 403  # a risk analyst approves reversals, not journals
    page = log_in(app_client, clock, "supervisor").get("/console/approvals")
    approved = app_client.post(
        decide, data={"csrf_token": csrf_of(page.text), "decision": "approve"}
    )
    assert approved.status_code == 303
    assert platform.payments.balance(suspense).balance == 12_50
    actions = [entry["action"] for entry in platform.identity.audit_entries(0, 10_000)]
    assert {"change.requested", "change.approved"} <= set(actions)


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"kind": "limit_change", "tier": "9"}, 422, "unknown KYC tier"),
        (
            {
                "kind": "limit_change",
                "tier": "1",
                "max_balance": "100",
                "per_transaction": "50",
                "daily_volume": "40",
                "monthly_volume": "400",
            },
            422,
            "exceeds daily_volume",
        ),
        ({"kind": "tariff_change", "tariff": "{not json"}, 422, "not valid JSON"),
        ({"kind": "teleport"}, 422, "unknown kind of change"),
    ],
)
def test_a_malformed_change_gets_a_clear_refusal(
    app_client: TestClient,
    world: tuple[Platform, ShiftableClock],
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    page = log_in(app_client, world[1], "admin").get("/console/approvals")
    answer = app_client.post(
        "/console/approvals/changes",
        data={"csrf_token": csrf_of(page.text), "reason": "test", **fields},
    )
    assert answer.status_code == status
    assert message in answer.text


def test_operations_cannot_file_a_tariff_change(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    page = log_in(app_client, world[1], "ops").get("/console/approvals")
    assert "Request a tariff change" not in page.text
    answer = app_client.post(
        "/console/approvals/changes",
        data={"csrf_token": csrf_of(page.text), "kind": "tariff_change", "tariff": "{}"},
    )
    assert answer.status_code == 403


def test_a_tenants_operators_get_their_own_console_in_its_brand(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    partners: Partners = app_client.app.state.partners  # type: ignore[attr-defined]
    partners.tenants.create(
        "acme", "Acme Money", Brand("Acme Pesa", None, "#112233", "#ffcc00"), "test"
    )
    acme = partners.tenants.platform("acme")
    acme.identity.create_operator(
        "acme-admin", "Acme admin", "acme-console-password-1", [Role.admin], "test",
        totp_secret=DEMO_TOTP_SECRET,
    )  # fmt: skip

    def attempt(username: str, password: str, tenant: str) -> int:
        app_client.cookies.clear()
        form = app_client.get("/console/login")
        answer = app_client.post(
            "/console/login",
            data={"csrf_token": csrf_of(form.text), "username": username, "password": password,
                  "totp": clock.next_totp(), "next": "/console/", "tenant": tenant},
        )  # fmt: skip
        return answer.status_code

    # The home admin is not an operator of acme, and acme's admin is not one of home.
    assert attempt("admin", PASSWORDS["admin"], "acme") == 401
    assert attempt("acme-admin", "acme-console-password-1", "") == 401
    assert attempt("admin", PASSWORDS["admin"], "nope") == 401
    assert attempt("acme-admin", "acme-console-password-1", "acme") == 303
    page = app_client.get("/console/")
    assert page.status_code == 200
    assert "Acme Pesa console" in page.text
    assert "--brand-primary: #112233" in page.text
    # Acme's console reads acme's database: none of home's customers.
    home_customer = platform.payments.list_parties(PartyKind.customer, 0, 1)[0]
    assert (
        app_client.get(f"/console/customers/{prefixed('pty', home_customer.id)}").status_code == 404
    )
    # Back home, the home brand.
    assert attempt("admin", PASSWORDS["admin"], "") == 303
    assert "Hazina console" in app_client.get("/console/").text


def test_the_assistants_hand_offs_are_worked_in_the_console(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    assistant = assist_for(app_client.app, platform)
    customer = platform.payments.list_parties(PartyKind.customer, 0, 1)[0]
    assistant.set_pin(customer.id, "4826", "test")
    chat = assistant.start(customer.id, "web", "test").conversation.id
    assistant.send(chat, "check my balance")
    for _ in range(assist_pin_attempts_max):
        assistant.send(chat, "1111")
    [waiting] = assistant.handoffs("waiting")
    link = f"/console/handoffs/{prefixed('hof', waiting.id)}"
    # Risk analysts do not work the contact centre's queue.
    log_in(app_client, clock, "risk")
    assert app_client.get("/console/handoffs").status_code == 403
    log_in(app_client, clock, "admin")
    queue = app_client.get("/console/handoffs")
    assert queue.status_code == 200
    assert link in queue.text
    assert "pin_attempts" in queue.text
    page = app_client.get(link)
    assert "check my balance" in page.text
    assert "1111" not in page.text  # PINs never reach the transcript
    token = csrf_of(page.text)
    assert app_client.post(link, data={"csrf_token": token, "action": "claim"}).status_code == 303
    answer = {"csrf_token": token, "action": "reply", "text": "I have reset your PIN tries."}
    assert app_client.post(link, data=answer).status_code == 303
    assert app_client.post(link, data={"csrf_token": token, "action": "resolve"}).status_code == 303
    done = assistant.handoff(waiting.id)
    assert done.status == "resolved"
    assert done.assignee == "operator:admin"
    transcript = [m.body for m in assistant.transcript(chat, -1, assist_conversation_messages_max)]
    assert transcript[-1] == "operator:admin: I have reset your PIN tries."
    assert assistant.conversation(chat).status == "closed"
    forged = app_client.post(link, data={"csrf_token": "forged", "action": "claim"})
    assert forged.status_code == 403


def test_an_auditor_verifies_the_ledger_from_the_audit_page(
    app_client: TestClient, world: tuple[Platform, ShiftableClock]
) -> None:
    platform, clock = world
    log_in(app_client, clock, "auditor")
    audit_page = app_client.get("/console/audit")
    assert 'action="/console/audit/ledger-verification"' in audit_page.text
    token = csrf_of(audit_page.text)
    verified = app_client.post("/console/audit/ledger-verification", data={"csrf_token": token})
    assert verified.status_code == 200, verified.text
    assert 'id="verification-result" class="verified"' in verified.text
    head = re.search(r'<code id="journal-head">(\d+:[0-9a-f]{64})</code>', verified.text)
    assert head is not None
    # Against the head just kept: still on the chain. Against one the journal never reached:
    # broken, and said so.
    again = app_client.post(
        "/console/audit/ledger-verification", data={"csrf_token": token, "head": head.group(1)}
    )
    assert 'class="verified"' in again.text
    sequence = int(head.group(1).split(":")[0])
    cut = app_client.post(
        "/console/audit/ledger-verification",
        data={"csrf_token": token, "head": f"{sequence + 10}:{'0' * 64}"},
    )
    assert cut.status_code == 200
    assert "Broken: the journal ends at entry" in cut.text
    malformed = app_client.post(
        "/console/audit/ledger-verification", data={"csrf_token": token, "head": "nope"}
    )
    assert malformed.status_code == 422
    assert "SEQUENCE:64-HEX-DIGITS" in malformed.text
    forged = app_client.post("/console/audit/ledger-verification", data={"csrf_token": "x"})
    assert forged.status_code == 403
    runs = [
        e for e in platform.identity.audit_entries(0, 10_000) if e["action"] == "ledger.verified"
    ]
    assert [r["details"]["ok"] for r in runs] == [True, True, False]
    # The operations role has no audit page, so no verification either.
    log_in(app_client, clock, "ops")
    ops_token = csrf_of(app_client.get("/console/").text)
    refused = app_client.post("/console/audit/ledger-verification", data={"csrf_token": ops_token})
    assert refused.status_code == 403
