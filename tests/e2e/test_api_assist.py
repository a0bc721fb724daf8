"""The assistant over HTTP: a conversation with a PIN-checked action, problem details with
stable codes, scopes, the hand-off queue with its transcript, knowledge-base edits, and the
chat widget page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hazina.api.app import create_app
from hazina.assist.model import IntentModel
from hazina.assist.training import starter_model
from hazina.bootstrap import Platform
from hazina.kernel.clock import FixedClock
from hazina.partners.tenants import Brand
from tests.e2e.conftest import PROBLEM_MEDIA_TYPE, Api, World, build_world
from tests.unit.api.client import TestClient

PIN = "4821"


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return starter_model()


@pytest.fixture
def chat_world(
    platform: Platform, clock: FixedClock, admin_key: str, model: IntentModel
) -> Iterator[World]:
    app = create_app(platform)
    app.state.assist_model = model
    with TestClient(app) as client:
        yield build_world(platform, clock, Api(client, admin_key))


def problem(response: object, status: int, code: str) -> None:
    assert getattr(response, "status_code", None) == status, getattr(response, "text", "")
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE  # type: ignore[attr-defined]
    assert response.json()["code"] == code  # type: ignore[attr-defined]


def test_a_conversation_with_a_pin_checked_balance(chat_world: World) -> None:
    api = chat_world.api
    alice = chat_world.parties["Alice"]["id"]
    response = api.client.put(
        f"/v1/assist/customers/{alice}/pin", json={"pin": PIN}, headers=api.headers()
    )
    assert response.status_code == 204
    started = api.created("/v1/assist/conversations", {"customer": alice, "channel": "web"})
    conversation = started["conversation"]["id"]
    assert conversation.startswith("cnv_")
    assert started["messages"][0]["role"] == "assistant"
    path = f"/v1/assist/conversations/{conversation}/messages"
    asked = api.post(path, {"text": "what is my balance"}).json()
    assert asked["step"] == "ask_pin"
    assert asked["conversation"]["awaiting"] == "pin"
    answered = api.post(path, {"text": PIN}).json()
    assert answered["step"] == "perform"
    assert answered["reply"].startswith("Your balance is")
    assert answered["messages"][0]["text"] == "[withheld: PIN]"
    detail = api.ok(f"/v1/assist/conversations/{conversation}")
    assert [m["role"] for m in detail["messages"]] == ["assistant"] + ["customer", "assistant"] * 2
    assert PIN not in str(detail)
    odd = api.post(path, {"text": {"not": "text"}}).json()
    assert odd["step"] == "fallback"
    closed = api.post(f"/v1/assist/conversations/{conversation}/close").json()
    assert closed["status"] == "closed"
    problem(api.post(path, {"text": "hello"}), 409, "conversation_closed")


def test_problems_have_stable_codes(chat_world: World) -> None:
    api = chat_world.api
    problem(
        api.post("/v1/assist/conversations/cnv_00000000000000ff/messages", {"text": "hi"}),
        404,
        "conversation_not_found",
    )
    problem(
        api.post("/v1/assist/conversations/nonsense/messages", {"text": "hi"}),
        404,
        "conversation_not_found",
    )
    problem(
        api.post("/v1/assist/conversations", {"customer": "pty_00000000000000ff"}),
        404,
        "party_not_found",
    )
    problem(
        api.post("/v1/assist/conversations/cnv_00000000000000ff/messages", {}),
        422,
        "validation_error",
    )
    bob = chat_world.parties["Bob"]["id"]
    response = api.client.put(
        f"/v1/assist/customers/{bob}/pin", json={"pin": "1234"}, headers=api.headers()
    )
    problem(response, 422, "pin_too_simple")
    problem(api.get("/v1/assist/articles/nothing-here"), 404, "article_not_found")


def test_scopes_are_enforced(chat_world: World, platform: Platform) -> None:
    api = chat_world.api
    reader = platform.identity.issue_key("reader", "tests", ["assist:read"], "tests").plaintext
    problem(api.post("/v1/assist/conversations", {}, key=reader), 403, "forbidden")
    assert api.get("/v1/assist/handoffs", key=reader).status_code == 200
    problem(
        api.post("/v1/assist/articles", {"slug": "x", "markdown": "# X\n\ny"}, key=reader),
        403,
        "forbidden",
    )


def test_the_hand_off_queue(chat_world: World) -> None:
    api = chat_world.api
    started = api.created("/v1/assist/conversations", {"channel": "api"})
    conversation = started["conversation"]["id"]
    exchange = api.post(
        f"/v1/assist/conversations/{conversation}/messages", {"text": "I want to talk to a human"}
    ).json()
    assert exchange["step"] == "hand_off"
    handoff = exchange["handoff"]
    assert handoff["reason"] == "customer_asked"
    page = api.ok("/v1/assist/handoffs", status="waiting")
    assert [h["id"] for h in page["data"]] == [handoff["id"]]
    detail = api.ok(f"/v1/assist/handoffs/{handoff['id']}")
    assert detail["transcript"][1]["text"] == "I want to talk to a human"
    claimed = api.post(f"/v1/assist/handoffs/{handoff['id']}/claim").json()
    assert claimed["status"] == "claimed"
    reply = api.created(
        f"/v1/assist/conversations/{conversation}/agent-messages", {"text": "Hello, Amina here."}
    )
    assert reply["role"] == "agent"
    resolved = api.post(f"/v1/assist/handoffs/{handoff['id']}/resolve").json()
    assert resolved["status"] == "resolved"
    problem(api.post(f"/v1/assist/handoffs/{handoff['id']}/claim"), 409, "handoff_resolved")


def test_operators_edit_the_knowledge_base(chat_world: World) -> None:
    api = chat_world.api
    articles = api.client.get("/v1/assist/articles", headers=api.headers()).json()
    assert "fees" in [a["slug"] for a in articles]
    created = api.created(
        "/v1/assist/articles",
        {"slug": "ussd", "markdown": "# USSD menu\n\nDial *334# to use Hazina without data."},
    )
    assert created["version"] == 1
    problem(
        api.post("/v1/assist/articles", {"slug": "ussd", "markdown": "# U\n\nx"}),
        409,
        "article_exists",
    )
    response = api.client.put(
        "/v1/assist/articles/ussd",
        json={"markdown": "# USSD menu\n\nDial *334# from any phone.", "version": 1},
        headers=api.headers(),
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert "any phone" in api.ok("/v1/assist/articles/ussd")["markdown"]


def test_the_widget_page_is_served_without_a_cdn(chat_world: World) -> None:
    response = chat_world.api.client.get("/assist")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/v1/assist/conversations" in response.text
    assert "<script src=" not in response.text
    assert "http://" not in response.text
    assert "https://" not in response.text


def test_the_widget_wears_a_tenants_brand(chat_world: World) -> None:
    client = chat_world.api.client
    partners = client.app.state.partners  # type: ignore[attr-defined]
    partners.tenants.create("acme", "Acme", Brand("Acme <Pesa>", None, "#112233"), "test")
    branded = client.get("/assist", params={"tenant": "acme"})
    assert branded.status_code == 200
    assert "Acme &lt;Pesa&gt; assistant" in branded.text  # escaped, never markup
    assert "#112233" in branded.text
    assert '<meta name="hazina-tenant" content="acme">' in branded.text
    home = client.get("/assist")
    assert "Hazina assistant" in home.text
    assert '<meta name="hazina-tenant" content="">' in home.text
    unknown = client.get("/assist", params={"tenant": "nope"})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "tenant_not_found"
    assert client.get("/assist", params={"tenant": "<x>"}).status_code == 422
