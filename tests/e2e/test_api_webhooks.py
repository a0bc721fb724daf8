"""The webhook routes over HTTP: subscribe, list, read, rotate, delete, the delivery log and
redelivery, with a real receiver on a loopback port; every caller sees only its own
subscriptions and deliveries (another's read as 404), and the scopes are enforced."""

from __future__ import annotations

from typing import Any

import pytest
from standardwebhooks import Webhook

from hazina.api.routes_webhooks import webhook_services
from hazina.bootstrap import Platform
from hazina.identity.roles import Scope
from hazina.kernel.clock import SystemClock
from hazina.partners.webhooks import WebhookService
from tests.e2e.conftest import Api, assert_problem
from tests.e2e.test_api_partners import APP, bearer, onboard, token
from tests.integration.test_webhooks import Receiver, receiver

__all__ = ["receiver"]


PARTNER_SCOPES = (
    Scope.webhooks_read,
    Scope.webhooks_write,
    Scope.parties_read,
    Scope.payments_read,
)


def key_with(platform: Platform, name: str, *scopes: Scope) -> str:
    return platform.identity.issue_key(name, name, list(scopes), "tests").plaintext


@pytest.fixture
def partner(platform: Platform) -> str:
    return key_with(platform, "partner-a", *PARTNER_SCOPES)


@pytest.fixture
def intruder(platform: Platform) -> str:
    return key_with(platform, "partner-b", *PARTNER_SCOPES)


def subscribe(api: Api, key: str, url: str, *types: str) -> dict[str, Any]:
    return api.created(
        "/v1/webhooks/subscriptions", {"url": url, "event_types": list(types)}, key=key
    )


@pytest.fixture(autouse=True)
def webhooks(api: Api) -> WebhookService:
    """The service the routes use, made here first: it stamps signatures with the system
    clock, which the receiver checks them against, while the platform's clock stands still."""
    state = api.client.app.state
    platform = state.platform
    service = WebhookService(
        platform.ledger,
        platform.clock,
        platform.ids,
        platform.payments,
        allow_http_loopback=True,
        signing_clock=SystemClock(),
    )
    webhook_services(state).keep(platform, service)
    return service


def deliver_once(webhooks: WebhookService) -> None:
    """What `hazina serve` does every few seconds: dispatch new events, send what is due."""
    webhooks.run_once()


def test_subscribe_receive_read_the_log_and_redeliver(
    api: Api, partner: str, receiver: Receiver, webhooks: WebhookService
) -> None:
    created = subscribe(api, partner, receiver.url, "party.*")
    assert created["id"].startswith("whs_")
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["party.*"]
    receiver.secrets.append(created["secret"])
    read = api.get(f"/v1/webhooks/subscriptions/{created['id']}", key=partner)
    assert read.status_code == 200
    assert "secret" not in read.json(), "the secret is shown once only"

    api.created("/v1/parties", {"kind": "customer", "name": "Wanjiru", "phone": "+254712000009"})
    deliver_once(webhooks)
    assert [r.verified for r in receiver.received] == [True]
    message = receiver.verified[0]
    assert message["type"] == "party.registered"

    log = api.get("/v1/webhooks/deliveries", key=partner).json()
    (delivery,) = log["data"]
    assert delivery["status"] == "delivered"
    assert delivery["event_id"] == message["id"]
    assert delivery["subscription_id"] == created["id"]
    detail = api.get(f"/v1/webhooks/deliveries/{delivery['id']}", key=partner).json()
    assert detail["payload"] == message
    (attempt,) = detail["attempt_log"]
    assert attempt["status_code"] == 204
    assert attempt["error"] is None
    assert attempt["duration_ms"] >= 0

    again = api.post(f"/v1/webhooks/deliveries/{delivery['id']}/redelivery", key=partner)
    assert again.status_code == 202, again.text
    assert again.json()["status"] == "pending"
    twice = api.post(f"/v1/webhooks/deliveries/{delivery['id']}/redelivery", key=partner)
    assert_problem(twice, 409, "delivery_pending")
    deliver_once(webhooks)
    assert len(receiver.received) == 2
    assert receiver.received[1].headers["webhook-id"] == receiver.received[0].headers["webhook-id"]
    delivered = api.get("/v1/webhooks/deliveries", key=partner, status="delivered").json()
    assert [d["attempts"] for d in delivered["data"]] == [2]
    assert api.get("/v1/webhooks/deliveries", key=partner, status="dead").json()["data"] == []


def test_a_rotated_secret_signs_and_a_deleted_subscription_is_gone(
    api: Api, partner: str, receiver: Receiver, webhooks: WebhookService
) -> None:
    created = subscribe(api, partner, receiver.url, "party.registered")
    rotated = api.post(f"/v1/webhooks/subscriptions/{created['id']}/secret", key=partner)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != created["secret"]
    receiver.secrets.append(new_secret)
    api.created("/v1/parties", {"kind": "customer", "name": "Otieno", "phone": "+254712000010"})
    deliver_once(webhooks)
    (received,) = receiver.received
    Webhook(new_secret).verify(received.body, received.headers)

    deleted = api.client.delete(
        f"/v1/webhooks/subscriptions/{created['id']}", headers=api.headers(partner)
    )
    assert deleted.status_code == 204
    gone = api.get(f"/v1/webhooks/subscriptions/{created['id']}", key=partner)
    assert_problem(gone, 404, "subscription_not_found")
    assert api.get("/v1/webhooks/subscriptions", key=partner).json()["data"] == []


def test_callers_never_see_or_touch_each_others_webhooks(
    api: Api, partner: str, intruder: str, receiver: Receiver, webhooks: WebhookService
) -> None:
    created = subscribe(api, partner, receiver.url, "party.registered")
    receiver.secrets.append(created["secret"])
    api.created("/v1/parties", {"kind": "customer", "name": "Achieng", "phone": "+254712000011"})
    deliver_once(webhooks)
    (delivery,) = api.get("/v1/webhooks/deliveries", key=partner).json()["data"]
    subscription_path = f"/v1/webhooks/subscriptions/{created['id']}"
    delivery_path = f"/v1/webhooks/deliveries/{delivery['id']}"

    assert api.get("/v1/webhooks/subscriptions", key=intruder).json()["data"] == []
    assert api.get("/v1/webhooks/deliveries", key=intruder).json()["data"] == []
    filtered = api.get("/v1/webhooks/deliveries", key=intruder, subscription=created["id"])
    assert filtered.json()["data"] == []
    assert_problem(api.get(subscription_path, key=intruder), 404, "subscription_not_found")
    assert_problem(
        api.client.delete(subscription_path, headers=api.headers(intruder)),
        404,
        "subscription_not_found",
    )
    assert_problem(
        api.post(f"{subscription_path}/secret", key=intruder), 404, "subscription_not_found"
    )
    assert_problem(api.get(delivery_path, key=intruder), 404, "delivery_not_found")
    assert_problem(api.post(f"{delivery_path}/redelivery", key=intruder), 404, "delivery_not_found")
    # Nothing the intruder tried changed anything of the owner's.
    assert api.get(subscription_path, key=partner).status_code == 200
    assert api.get(delivery_path, key=partner).json()["status"] == "delivered"


def test_scopes_are_required(api: Api, platform: Platform, partner: str) -> None:
    reader = key_with(platform, "reader", Scope.webhooks_read)
    stranger = key_with(platform, "stranger", Scope.payments_read)
    body = {"url": "https://partner.example/hooks", "event_types": ["transaction.*"]}
    assert_problem(api.post("/v1/webhooks/subscriptions", body, key=reader), 403, "forbidden")
    assert_problem(api.get("/v1/webhooks/subscriptions", key=stranger), 403, "forbidden")
    assert_problem(api.get("/v1/webhooks/deliveries", key=stranger), 403, "forbidden")
    assert api.get("/v1/webhooks/subscriptions", key=reader).status_code == 200


def test_events_need_the_scope_that_reads_them(api: Api, platform: Platform) -> None:
    """No more through webhooks than through the API: a subscriber needs the read scope of
    every family of events it subscribes to, and all of them for `*`."""
    parties_only = key_with(platform, "parties-only", Scope.webhooks_write, Scope.parties_read)
    url = "https://partner.example/hooks"
    for types, missing in [
        (["transaction.completed"], "payments:read"),
        (["party.registered", "transaction.*"], "payments:read"),
        (["cbdc.*"], "cbdc:read"),
        (["*"], "cbdc:read"),
    ]:
        refused = api.post(
            "/v1/webhooks/subscriptions", {"url": url, "event_types": types}, key=parties_only
        )
        problem = assert_problem(refused, 403, "forbidden")
        assert problem["required_scope"] == missing, types
    allowed = api.post(
        "/v1/webhooks/subscriptions",
        {"url": url, "event_types": ["party.*"]},
        key=parties_only,
    )
    assert allowed.status_code == 201, allowed.text
    unknown = api.post(
        "/v1/webhooks/subscriptions",
        {"url": url, "event_types": ["payroll.paid"]},
        key=parties_only,
    )
    assert_problem(unknown, 422, "event_type_unknown")
    unauthenticated = api.client.get("/v1/webhooks/subscriptions")
    assert_problem(unauthenticated, 401, "unauthenticated")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "http://partner.example/hooks", "event_types": ["party.*"]}, "url_not_https"),
        ({"url": "https://10.0.0.7/hooks", "event_types": ["party.*"]}, "url_not_public"),
        ({"url": "https://169.254.169.254/latest", "event_types": ["party.*"]}, "url_not_public"),
        ({"url": "https://user:pw@partner.example/", "event_types": ["party.*"]}, "url_invalid"),
        ({"url": "ftp://partner.example/", "event_types": ["party.*"]}, "url_invalid"),
        ({"url": "https://partner.example/", "event_types": ["Transaction"]}, "validation_error"),
        ({"url": "https://partner.example/", "event_types": []}, "validation_error"),
        (
            {"url": "https://partner.example/", "event_types": ["party.*"], "x": 1},
            "validation_error",
        ),
    ],
)
def test_bad_subscriptions_are_refused(
    api: Api, partner: str, body: dict[str, Any], code: str
) -> None:
    assert_problem(api.post("/v1/webhooks/subscriptions", body, key=partner), 422, code)


def test_lists_are_paged_with_cursors(api: Api, partner: str) -> None:
    ids = [
        subscribe(api, partner, f"https://partner.example/hooks/{n}", "transaction.*")["id"]
        for n in range(3)
    ]
    first = api.get("/v1/webhooks/subscriptions", key=partner, limit=2).json()
    assert [s["id"] for s in first["data"]] == ids[:2]
    assert first["has_more"] is True
    second = api.get(
        "/v1/webhooks/subscriptions", key=partner, limit=2, starting_after=first["next_cursor"]
    ).json()
    assert [s["id"] for s in second["data"]] == ids[2:]
    assert second["has_more"] is False
    assert second["next_cursor"] is None
    bad_cursor = api.get("/v1/webhooks/subscriptions", key=partner, starting_after="nope")
    assert_problem(bad_cursor, 404, "cursor_not_found")
    bad_id = api.get("/v1/webhooks/deliveries/whd_zz", key=partner)
    assert_problem(bad_id, 404, "delivery_not_found")


def test_a_partner_app_subscribes_with_its_oauth_token(
    api: Api, platform: Platform, partner: str
) -> None:
    """A partner app's access token is its principal: its subscriptions are its own."""
    app = {**APP, "scopes": ["webhooks:read", "webhooks:write", "payments:read"]}
    first, second = (
        onboard(api, platform, {**app, "name": "One"}),
        onboard(api, platform, {**app, "name": "Two"}),
    )
    one = token(api.client, first["credentials"]).json()["access_token"]
    two = token(api.client, second["credentials"]).json()["access_token"]
    body = {"url": "https://one.example/hooks", "event_types": ["transaction.*"]}
    created = api.client.post("/v1/webhooks/subscriptions", json=body, headers=bearer(one))
    assert created.status_code == 201, created.text
    path = f"/v1/webhooks/subscriptions/{created.json()['id']}"
    assert api.client.get(path, headers=bearer(one)).status_code == 200
    assert_problem(api.client.get(path, headers=bearer(two)), 404, "subscription_not_found")
    assert api.get("/v1/webhooks/subscriptions", key=partner).json()["data"] == []
    parties = {**body, "event_types": ["party.*"]}  # parties:read was not granted to the app
    refused = api.client.post("/v1/webhooks/subscriptions", json=parties, headers=bearer(one))
    assert_problem(refused, 403, "forbidden")


def test_a_tenants_subscriptions_stay_in_that_tenant(api: Api) -> None:
    brand = {"display_name": "Acme Pesa", "primary_colour": "#112233"}
    api.created("/v1/tenants", {"slug": "acme", "name": "Acme Money", "brand": brand})
    acme = {"Hazina-Tenant": "acme"}
    tenant_platform = api.client.app.state.partners.tenants.platform("acme")
    acme_key = tenant_platform.identity.issue_key("acme", "acme", list(Scope), "t").plaintext
    body = {"url": "https://acme.example/hooks", "event_types": ["party.*"]}
    created = api.client.post(
        "/v1/webhooks/subscriptions", json=body, headers=api.headers(acme_key, **acme)
    )
    assert created.status_code == 201, created.text
    path = f"/v1/webhooks/subscriptions/{created.json()['id']}"
    assert api.client.get(path, headers=api.headers(acme_key, **acme)).status_code == 200
    assert_problem(api.get(path), 404, "subscription_not_found")  # the home admin's view
    assert api.get("/v1/webhooks/subscriptions").json()["data"] == []
    services = webhook_services(api.client.app.state)
    assert services.of(tenant_platform) is not services.of(api.client.app.state.platform)
