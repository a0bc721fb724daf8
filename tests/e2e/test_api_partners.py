"""Partners through the HTTP API: onboarding with maker-checker, OAuth2 client credentials,
scopes, revocation, rotating keys, per-app limits and quotas, usage, tenants and sandboxes,
and the attacks that must fail (forged, expired, revoked tokens; scope escalation; another
tenant's ids). On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from hazina.bootstrap import Platform
from hazina.identity.roles import Scope
from hazina.kernel.clock import FixedClock
from hazina.kernel.limits import oauth_token_lifetime_s
from tests.e2e.conftest import PROBLEM_MEDIA_TYPE, Api, World
from tests.unit.api.client import TestClient

APP = {
    "name": "Lipa Later",
    "contact_email": "dev@lipalater.example",
    "scopes": ["payments:read", "payments:write", "parties:read", "accounts:read"],
    "rate_per_second": 50,
    "burst": 50,
    "daily_quota": 1_000,
}


def second_admin(platform: Platform) -> str:
    return platform.identity.issue_key("checker", "tests", list(Scope), "tests").plaintext


def onboard(api: Api, platform: Platform, app: dict[str, Any] | None = None) -> dict[str, Any]:
    registered = api.created("/v1/partner-apps", app or APP)
    assert registered["status"] == "pending"
    approval = api.client.post(
        f"/v1/partner-apps/{registered['id']}/approval",
        json={"sandbox_customers": 10},
        headers=api.headers(second_admin(platform)),
    )
    assert approval.status_code == 200, approval.text
    body: dict[str, Any] = approval.json()
    return body


def token(client: TestClient, credentials: dict[str, Any], **form: str) -> httpx.Response:
    return client.post(
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            **form,
        },
    )


def bearer(access_token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}", **extra}


def test_onboarding_needs_a_second_operator(api: Api, platform: Platform) -> None:
    registered = api.created("/v1/partner-apps", APP)
    same = api.post(f"/v1/partner-apps/{registered['id']}/approval", {})
    assert same.status_code == 409
    assert same.json()["code"] == "maker_checker_same_person"
    beyond = api.post("/v1/partner-apps", {**APP, "scopes": ["users:write"]})
    assert beyond.status_code == 422
    assert beyond.json()["code"] == "scope_not_grantable"
    approved = onboard(api, platform)
    assert approved["app"]["status"] == "approved"
    assert approved["credentials"]["client_secret"].startswith("hzcs_")
    assert approved["sandbox"]["tenant"].startswith("sbx-")
    again = api.client.post(
        f"/v1/partner-apps/{approved['app']['id']}/approval",
        json={},
        headers=api.headers(second_admin(platform)),
    )
    assert again.status_code == 409
    assert again.json()["code"] == "partner_app_not_pending"


def test_a_partner_token_moves_money_within_its_scopes(world: World, platform: Platform) -> None:
    api = world.api
    approved = onboard(api, platform)
    issued = token(api.client, approved["credentials"])
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == oauth_token_lifetime_s
    access = body["access_token"]
    header = json.loads(base64.urlsafe_b64decode(access.split(".")[0] + "=="))
    assert header["alg"] == "ES256"
    assert header["kid"] in {
        key["kid"] for key in api.client.get("/.well-known/jwks.json").json()["keys"]
    }
    sent = api.client.post(
        "/v1/p2p-transfers",
        json={"sender_wallet": world.wallets["Alice"], "recipient_phone": "+254712000002",
              "amount": "100.00", "currency": "KES"},
        headers=bearer(access, **{"Idempotency-Key": "partner-1"}),
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    # Not granted: registering parties needs parties:write.
    denied = api.client.post(
        "/v1/parties",
        json={"kind": "customer", "name": "X", "phone": "+254712000099"},
        headers=bearer(access),
    )
    assert denied.status_code == 403
    assert denied.json()["code"] == "forbidden"
    # Scope escalation at the token endpoint: refused, not narrowed or widened.
    wider = token(api.client, approved["credentials"], scope="payments:read users:write")
    assert wider.status_code == 400
    assert wider.json()["code"] == "invalid_scope"
    narrow = token(api.client, approved["credentials"], scope="parties:read").json()
    cannot_pay = api.client.post(
        "/v1/p2p-transfers",
        json={"sender_wallet": world.wallets["Alice"], "recipient_phone": "+254712000002",
              "amount": "1.00", "currency": "KES"},
        headers=bearer(narrow["access_token"], **{"Idempotency-Key": "partner-2"}),
    )  # fmt: skip
    assert cannot_pay.status_code == 403
    usage = api.ok(f"/v1/partner-apps/{approved['app']['id']}/usage")
    assert sum(day["requests"] for day in usage["days"]) == 3


def test_forged_expired_and_revoked_tokens_are_refused(
    api: Api, platform: Platform, clock: FixedClock
) -> None:
    approved = onboard(api, platform)
    credentials = approved["credentials"]
    wrong = token(api.client, {**credentials, "client_secret": "hzcs_wrong"})
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_client"
    access = token(api.client, credentials).json()["access_token"]
    assert api.client.get("/v1/partner/usage", headers=bearer(access)).status_code == 200

    def refused(candidate: str) -> None:
        response = api.client.get("/v1/partner/usage", headers=bearer(candidate))
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE

    head, claims, signature = access.split(".")
    payload = json.loads(base64.urlsafe_b64decode(claims + "=="))
    widened = dict(payload, scope="users:write api_keys:write")
    forged_claims = base64.urlsafe_b64encode(json.dumps(widened).encode()).rstrip(b"=").decode()
    refused(f"{head}.{forged_claims}.{signature}")  # claims changed, signature kept
    kid = json.loads(base64.urlsafe_b64decode(head + "=="))["kid"]
    stranger = ECKey.generate_key("P-256", parameters={"kid": kid})  # our kid, not our key
    refused(jwt.encode({"alg": "ES256", "kid": kid}, payload, stranger, algorithms=["ES256"]))
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    refused(f"{unsigned}.{claims}.")
    # Revoked by its client (RFC 7009), then refused.
    revoked = api.client.post(
        "/oauth2/revoke",
        data={"token": access, "client_id": credentials["client_id"],
              "client_secret": credentials["client_secret"]},
    )  # fmt: skip
    assert revoked.json() == {"revoked": True}
    refused(access)
    # Expired.
    fresh = token(api.client, credentials).json()["access_token"]
    clock.advance_seconds(oauth_token_lifetime_s)
    refused(fresh)
    # A revoked app's tokens stop at once.
    live = token(api.client, credentials).json()["access_token"]
    stopped = api.post(f"/v1/partner-apps/{approved['app']['id']}/revocation")
    assert stopped.json()["status"] == "revoked"
    refused(live)
    assert token(api.client, credentials).status_code == 401


def test_rotated_keys_verify_until_retired(
    api: Api, platform: Platform, client: TestClient
) -> None:
    approved = onboard(api, platform)
    access = token(api.client, approved["credentials"]).json()["access_token"]
    tokens = client.app.state.partners.tokens  # type: ignore[attr-defined]
    tokens.rotate_keys()
    assert api.client.get("/v1/partner/usage", headers=bearer(access)).status_code == 200
    assert len(api.client.get("/.well-known/jwks.json").json()["keys"]) == 2
    tokens.rotate_keys()  # the key that signed `access` is retired now
    assert api.client.get("/v1/partner/usage", headers=bearer(access)).status_code == 401


def test_rate_limit_and_daily_quota(api: Api, platform: Platform) -> None:
    approved = onboard(api, platform, {**APP, "rate_per_second": 1, "burst": 2, "daily_quota": 3})
    access = token(api.client, approved["credentials"]).json()["access_token"]
    answers = [
        api.client.get("/v1/partner/usage", headers=bearer(access)).status_code for _ in range(3)
    ]
    assert answers[:2] == [200, 200]
    limited = api.client.get("/v1/partner/usage", headers=bearer(access))
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["code"] in {"rate_limited", "quota_exceeded"}


def test_tenants_keep_their_data_apart(world: World, platform: Platform) -> None:
    api = world.api
    created = api.created(
        "/v1/tenants",
        {"slug": "acme", "name": "Acme Money",
         "brand": {"display_name": "Acme Pesa", "primary_colour": "#112233"}},
    )  # fmt: skip
    assert created["brand"]["primary_colour"] == "#112233"
    brand = api.client.get("/v1/brand", headers={"Hazina-Tenant": "acme"})
    assert brand.json()["display_name"] == "Acme Pesa"
    acme = {"Hazina-Tenant": "acme"}
    # The home admin's key is unknown in acme's database.
    assert api.client.get("/v1/parties", headers=api.headers(**acme)).status_code == 401
    tenant_platform = api.client.app.state.partners.tenants.platform("acme")  # type: ignore[attr-defined]
    acme_key = tenant_platform.identity.issue_key("acme-admin", "acme", list(Scope), "t").plaintext
    listed = api.client.get("/v1/parties", headers=api.headers(acme_key, **acme))
    assert listed.status_code == 200
    assert [p["kind"] for p in listed.json()["data"]] == ["operator"]  # its own, nothing else
    home_party = world.parties["Alice"]["id"]
    across = api.client.get(f"/v1/parties/{home_party}", headers=api.headers(acme_key, **acme))
    assert across.status_code == 404
    # A home partner's token cannot be pointed at acme.
    approved = onboard(api, platform)
    access = token(api.client, approved["credentials"]).json()["access_token"]
    mismatch = api.client.get("/v1/parties", headers=bearer(access, **acme))
    assert mismatch.status_code == 403
    assert mismatch.json()["code"] == "tenant_mismatch"
    unknown = api.client.get("/v1/parties", headers=api.headers(**{"Hazina-Tenant": "nope"}))
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "tenant_not_found"


def test_the_sandbox_has_test_money_and_no_live_data(world: World, platform: Platform) -> None:
    api = world.api
    approved = onboard(api, platform)
    sandbox = approved["sandbox"]
    access = token(api.client, sandbox).json()["access_token"]
    parties = api.client.get("/v1/parties", headers=bearer(access))
    assert parties.status_code == 200, parties.text
    customers = [p for p in parties.json()["data"] if p["kind"] == "customer"]
    assert len(customers) == 10
    live_alice = world.parties["Alice"]["id"]
    assert api.client.get(f"/v1/parties/{live_alice}", headers=bearer(access)).status_code == 404
    live = token(api.client, approved["credentials"]).json()["access_token"]
    live_parties = api.client.get("/v1/parties", headers=bearer(live)).json()["data"]
    assert {p["id"] for p in live_parties}.isdisjoint({p["id"] for p in customers})


def test_revenue_share_is_paid_once_per_partner_payment(world: World, platform: Platform) -> None:
    api = world.api
    approved = onboard(api, platform, {**APP, "revenue_share_bps": 5_000})
    access = token(api.client, approved["credentials"]).json()["access_token"]
    fees = []
    for n in range(2):
        sent = api.client.post(
            "/v1/p2p-transfers",
            json={"sender_wallet": world.wallets["Alice"], "recipient_phone": "+254712000002",
                  "amount": "1000.00", "currency": "KES"},
            headers=bearer(access, **{"Idempotency-Key": f"share-{n}"}),
        )  # fmt: skip
        assert sent.status_code == 201, sent.text
        fees.append(sent.json()["transaction"]["fee"])
    # A payment by the operator's own key earns the partner nothing.
    api.created(
        "/v1/p2p-transfers",
        {"sender_wallet": world.wallets["Alice"], "recipient_phone": "+254712000002",
         "amount": "10.00", "currency": "KES"},
    )  # fmt: skip
    settled = api.post("/v1/partner-revenue-settlements")
    assert settled.status_code == 200, settled.text
    shares = settled.json()
    assert len(shares) == 2
    assert [s["fee"] for s in shares] == fees
    for share in shares:
        assert share["payout"] is not None
        assert int(share["share"].replace(".", "")) == int(share["fee"].replace(".", "")) // 2
    assert api.post("/v1/partner-revenue-settlements").json() == []  # nothing twice
    party = approved["app"]["revenue_party"]
    wallet = api.ok(f"/v1/parties/{party}")["wallets"][0]["id"]
    paid = sum(int(s["share"].replace(".", "")) for s in shares)
    assert int(api.balance(wallet).replace(".", "")) == paid
