"""Webhooks end to end against a real HTTP receiver started here (a `http.server` on a free
loopback port) that verifies every message with `standardwebhooks`, on SQLite and PostgreSQL.

Attempts are scheduled by the platform's fixed clock, which the tests move through the backoff
schedule; signatures are stamped by the system clock, which is what the receiver checks them
against (a replayed message is one stamped long before it arrives)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from typer.testing import CliRunner

from hazina.bootstrap import Platform, build_platform
from hazina.cli.main import app as cli
from hazina.cli.webhooks import webhooks_job
from hazina.kernel.clock import Clock, FixedClock, SystemClock
from hazina.kernel.limits import webhook_attempts_max, webhook_secret_overlap_s
from hazina.partners.webhooks import (
    ALLOW_HTTP_LOOPBACK_ENV,
    DeliveryStatus,
    SendReport,
    WebhookService,
    event_id,
    retry_delay_s,
)
from hazina.payments.errors import ErrorKind, PaymentError
from tests.integration.platform_world import Parties, clock, database, platform

__all__ = ["clock", "database", "platform"]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str | None


@dataclass
class Receiver:
    """A partner's endpoint. Each request takes the next mode of `script` (then `otherwise`):
    `verify` answers 204 to a message that verifies with one of `secrets`, 400 otherwise;
    `fail` answers 500; `close` drops the connection without an answer; `slow` answers late."""

    secrets: list[str] = field(default_factory=list)
    script: list[str] = field(default_factory=list)
    otherwise: str = "verify"
    received: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def verify(self, body: bytes, headers: dict[str, str]) -> str | None:
        """None if the message verifies with any of the receiver's secrets, else why not."""
        reason = "no secret"
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError as error:
                reason = str(error)
                continue
            return None
        return reason

    @property
    def verified(self) -> list[dict[str, object]]:
        return [json.loads(r.body) for r in self.received if r.verified]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            mode = state.script.pop(0) if state.script else state.otherwise
            error = state.verify(body, headers) if mode == "verify" else mode
            state.received.append(Received(headers, body, error is None, error))
            if mode == "close":
                self.close_connection = True
                return
            if mode == "slow":
                time.sleep(1.0)
            status = 204 if error is None else (400 if mode == "verify" else 500)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet tests

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def service_for(
    platform: Platform,
    signing_clock: Clock | None = None,
    client: httpx.Client | None = None,
) -> WebhookService:
    return WebhookService(
        platform.ledger,
        platform.clock,
        platform.ids,
        platform.payments,
        allow_http_loopback=True,
        signing_clock=signing_clock or SystemClock(),
        client=client,
    )


@pytest.fixture
def webhooks(platform: Platform) -> Iterator[WebhookService]:
    service = service_for(platform)
    yield service
    service.close()


def subscribe(webhooks: WebhookService, receiver: Receiver, *types: str) -> int:
    subscription, secret = webhooks.subscribe("partner:acme", receiver.url, list(types))
    receiver.secrets.append(secret)
    return subscription.id


@pytest.fixture
def parties(platform: Platform) -> Parties:
    return Parties(platform)


def register(parties: Parties, count: int = 1) -> list[int]:
    """Register customers: each a `party.registered` event in the outbox."""
    return [parties.customer(f"Customer {n}") for n in range(count)]


def test_matching_events_arrive_signed_once_each(
    platform: Platform, parties: Parties, webhooks: WebhookService, receiver: Receiver
) -> None:
    events_before = platform.payments.outbox_after(0, 1_000)
    subscribe(webhooks, receiver, "party.*")
    other, _ = webhooks.subscribe("partner:acme", receiver.url, ["transaction.completed"])
    register(parties, 2)
    created = webhooks.dispatch()
    assert created == 2  # two party.registered events, for the party.* subscription only
    assert webhooks.dispatch() == 0  # the cursor moved on

    report = webhooks.send_due()
    assert (report.delivered, report.retrying, report.dead) == (2, 0, 0)
    assert [r.verified for r in receiver.received] == [True, True]
    types = [m["type"] for m in receiver.verified]
    assert types == ["party.registered", "party.registered"]
    for received, message in zip(receiver.received, receiver.verified, strict=True):
        assert received.headers["webhook-id"] == message["id"]
        assert received.headers["content-type"] == "application/json"
        assert str(message["id"]).startswith("evt_")
    old_ids = {event_id(e[0]) for e in events_before}
    assert old_ids.isdisjoint({m["id"] for m in receiver.verified}), "no backlog from before"
    assert webhooks.list_deliveries("partner:acme", 0, 10, subscription_id=other.id) == []
    assert webhooks.send_due().delivered == 0  # nothing due any more

    # Dispatching the same events again (the cursor lost) creates no second delivery.
    platform.ledger.run(lambda unit: unit.sql.execute("DELETE FROM webhook_dispatch_cursor"))
    assert webhooks.dispatch() == 0
    assert len(webhooks.list_deliveries("partner:acme", 0, 10)) == 2


def test_a_failing_receiver_is_retried_with_backoff_until_it_recovers(
    platform: Platform,
    parties: Parties,
    clock: FixedClock,
    webhooks: WebhookService,
    receiver: Receiver,
) -> None:
    subscribe(webhooks, receiver, "party.registered")
    receiver.script = ["fail", "close", "fail"]
    register(parties)
    webhooks.dispatch()
    (delivery,) = webhooks.list_deliveries("partner:acme", 0, 10)

    for failed in (1, 2, 3):
        assert webhooks.send_due().retrying == 1
        clock.advance_seconds(retry_delay_s(failed) - 1)
        assert webhooks.send_due() == SendReport(0, 0, 0), "not due yet"
        clock.advance_seconds(1)
    assert webhooks.send_due().delivered == 1

    detail = webhooks.get_delivery("partner:acme", delivery.id)
    assert detail.delivery.status is DeliveryStatus.delivered
    assert [a.status_code for a in detail.attempts] == [500, None, 500, 204]
    assert "RemoteProtocolError" in str(detail.attempts[1].error)
    gaps_s = [
        (later.at_ns - earlier.at_ns) // 10**9
        for earlier, later in zip(detail.attempts, detail.attempts[1:], strict=False)
    ]
    assert gaps_s == [retry_delay_s(1), retry_delay_s(2), retry_delay_s(3)]
    assert all(a.duration_ms >= 0 for a in detail.attempts)
    assert len(receiver.received) == 4
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(ids) == 1, "every attempt carries the same webhook-id"
    assert len({r.body for r in receiver.received}) == 1, "and the same bytes"


def test_dead_letter_after_the_limit_then_redelivery_on_demand(
    platform: Platform,
    parties: Parties,
    clock: FixedClock,
    webhooks: WebhookService,
    receiver: Receiver,
) -> None:
    subscribe(webhooks, receiver, "*")
    receiver.otherwise = "fail"
    register(parties)
    webhooks.dispatch()
    (delivery,) = webhooks.list_deliveries("partner:acme", 0, 10)

    for failed in range(1, webhook_attempts_max):
        assert webhooks.send_due().retrying == 1
        clock.advance_seconds(retry_delay_s(failed))
    assert webhooks.send_due().dead == 1
    clock.advance_seconds(10 * 86_400)
    assert webhooks.send_due().delivered + webhooks.send_due().retrying == 0, "dead stays dead"
    dead = webhooks.get_delivery("partner:acme", delivery.id)
    assert dead.delivery.status is DeliveryStatus.dead
    assert len(dead.attempts) == webhook_attempts_max
    assert dead.delivery.next_attempt_at_ns is None
    assert webhooks.list_deliveries("partner:acme", 0, 10, status=DeliveryStatus.dead) == [
        dead.delivery
    ]

    receiver.otherwise = "verify"
    again = webhooks.redeliver("partner:acme", delivery.id)
    assert again.status is DeliveryStatus.pending
    with pytest.raises(PaymentError) as pending:
        webhooks.redeliver("partner:acme", delivery.id)
    assert pending.value.code == "delivery_pending"
    assert webhooks.send_due().delivered == 1
    # A delivered one may be asked for again too (the partner lost it): same id, same body.
    webhooks.redeliver("partner:acme", delivery.id)
    assert webhooks.send_due().delivered == 1
    done = webhooks.get_delivery("partner:acme", delivery.id)
    assert done.delivery.status is DeliveryStatus.delivered
    assert done.delivery.attempts == webhook_attempts_max + 2
    assert [r.verified for r in receiver.received][-2:] == [True, True]
    assert receiver.received[-1].body == receiver.received[-2].body


def test_tampered_and_replayed_messages_are_refused_by_the_receiver(
    platform: Platform, parties: Parties, clock: FixedClock, receiver: Receiver
) -> None:
    now_ns = time.time_ns()
    stale = service_for(platform, signing_clock=FixedClock(now_ns - 10 * 60 * 10**9))
    early = service_for(platform, signing_clock=FixedClock(now_ns + 10 * 60 * 10**9))
    honest = service_for(platform)
    try:
        subscribe(honest, receiver, "party.registered")
        register(parties)
        honest.dispatch()
        assert stale.send_due().retrying == 1  # signed 10 minutes ago: a replay
        clock.advance_seconds(retry_delay_s(1))
        assert early.send_due().retrying == 1  # stamped in the future
        clock.advance_seconds(retry_delay_s(2))
        assert honest.send_due().delivered == 1
    finally:
        for service in (stale, early, honest):
            service.close()
    assert [r.error for r in receiver.received[:2]] == [
        "Message timestamp too old",
        "Message timestamp too new",
    ]
    (delivery,) = honest.list_deliveries("partner:acme", 0, 10)
    codes = [a.status_code for a in honest.get_delivery("partner:acme", delivery.id).attempts]
    assert codes == [400, 400, 204]

    good = receiver.received[-1]
    assert good.verified
    secret = receiver.secrets[0]
    Webhook(secret).verify(good.body, good.headers)  # the genuine message verifies
    tampered_body = good.body.replace(b'"party.registered"', b'"party.deleted"')
    assert tampered_body != good.body
    forged_signature = {**good.headers, "webhook-signature": "v1," + "A" * 43 + "="}
    other_id = {**good.headers, "webhook-id": "evt_0000000000000001"}
    for body, headers in [
        (tampered_body, good.headers),
        (good.body, forged_signature),
        (good.body, other_id),
        (good.body, {k: v for k, v in good.headers.items() if k != "webhook-signature"}),
    ]:
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "B" * 32).verify(good.body, good.headers)


def test_a_rotated_secret_overlaps_then_the_old_one_stops_signing(
    platform: Platform,
    parties: Parties,
    clock: FixedClock,
    webhooks: WebhookService,
    receiver: Receiver,
) -> None:
    subscription_id = subscribe(webhooks, receiver, "party.registered")
    old_secret = receiver.secrets[0]
    _, new_secret = webhooks.rotate_secret("partner:acme", subscription_id)
    assert new_secret != old_secret
    assert new_secret.startswith("whsec_")
    receiver.secrets = [new_secret]
    register(parties)
    webhooks.dispatch()
    assert webhooks.send_due().delivered == 1
    first = receiver.received[-1]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(first.body, first.headers)  # both still verify

    clock.advance_seconds(webhook_secret_overlap_s + 1)
    register(parties)
    webhooks.dispatch()
    assert webhooks.send_due().delivered == 1
    second = receiver.received[-1]
    assert len(second.headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(second.body, second.headers)


def test_a_slow_receiver_times_out_and_is_retried(
    platform: Platform, parties: Parties, receiver: Receiver
) -> None:
    service = service_for(platform, client=httpx.Client(timeout=0.2, trust_env=False))
    try:
        subscribe(service, receiver, "party.registered")
        receiver.script = ["slow"]
        register(parties)
        service.dispatch()
        assert service.send_due().retrying == 1
        (delivery,) = service.list_deliveries("partner:acme", 0, 10)
        (attempt,) = service.get_delivery("partner:acme", delivery.id).attempts
    finally:
        service.close()
    assert attempt.status_code is None
    assert str(attempt.error).startswith("timeout")


def test_a_connection_refused_is_retried(
    platform: Platform, parties: Parties, webhooks: WebhookService
) -> None:
    with http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler) as probe:
        closed_port = probe.server_address[1]  # nobody listens there once it is closed
    webhooks.subscribe("partner:acme", f"http://127.0.0.1:{closed_port}/", ["party.*"])
    register(parties)
    webhooks.dispatch()
    assert webhooks.send_due().retrying == 1
    (delivery,) = webhooks.list_deliveries("partner:acme", 0, 10)
    (attempt,) = webhooks.get_delivery("partner:acme", delivery.id).attempts
    assert "ConnectError" in str(attempt.error)


def test_owners_never_see_or_touch_each_others_webhooks(
    platform: Platform, parties: Parties, webhooks: WebhookService, receiver: Receiver
) -> None:
    subscription_id = subscribe(webhooks, receiver, "party.registered")
    register(parties)
    webhooks.dispatch()
    (delivery,) = webhooks.list_deliveries("partner:acme", 0, 10)
    intruder = "partner:evil"
    assert webhooks.list_subscriptions(intruder, 0, 10) == []
    assert webhooks.list_deliveries(intruder, 0, 10) == []
    attempts = [
        lambda: webhooks.get_subscription(intruder, subscription_id),
        lambda: webhooks.delete_subscription(intruder, subscription_id),
        lambda: webhooks.rotate_secret(intruder, subscription_id),
        lambda: webhooks.get_delivery(intruder, delivery.id),
        lambda: webhooks.redeliver(intruder, delivery.id),
    ]
    for attempt in attempts:
        with pytest.raises(PaymentError) as refused:
            attempt()
        assert refused.value.kind is ErrorKind.not_found
    assert webhooks.get_subscription("partner:acme", subscription_id).id == subscription_id


def test_deleting_a_subscription_cancels_what_it_has_not_sent(
    platform: Platform, parties: Parties, webhooks: WebhookService, receiver: Receiver
) -> None:
    subscription_id = subscribe(webhooks, receiver, "party.registered")
    register(parties)
    webhooks.dispatch()
    webhooks.delete_subscription("partner:acme", subscription_id)
    assert webhooks.send_due().delivered == 0
    assert receiver.received == []
    (delivery,) = webhooks.list_deliveries("partner:acme", 0, 10)
    assert delivery.status is DeliveryStatus.cancelled
    with pytest.raises(PaymentError) as deleted:
        webhooks.redeliver("partner:acme", delivery.id)
    assert deleted.value.code == "subscription_deleted"
    register(parties)
    assert webhooks.dispatch() == 0, "a deleted subscription gets no new deliveries"
    with pytest.raises(PaymentError):
        webhooks.get_subscription("partner:acme", subscription_id)


def test_the_cli_runs_one_delivery_pass(
    database: str,
    platform: Platform,
    parties: Parties,
    webhooks: WebhookService,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscribe(webhooks, receiver, "party.registered")
    register(parties, 2)
    monkeypatch.setenv(ALLOW_HTTP_LOOPBACK_ENV, "1")
    result = CliRunner().invoke(cli, ["webhooks", "deliver", "--database", database])
    assert result.exit_code == 0, result.output
    assert "2 new deliveries; 2 delivered, 0 to retry, 0 dead-lettered" in result.output
    assert [r.verified for r in receiver.received] == [True, True]
    again = CliRunner().invoke(cli, ["webhooks", "deliver", "--database", database])
    assert "0 new deliveries; 0 delivered" in again.output


def test_slow_endpoints_are_posted_to_at_once(
    platform: Platform, parties: Parties, webhooks: WebhookService, receiver: Receiver
) -> None:
    subscribe(webhooks, receiver, "party.registered")
    register(parties, 6)
    webhooks.dispatch()
    receiver.otherwise = "slow"  # each answer takes a second (and fails: a 500)
    started = time.perf_counter()
    assert webhooks.send_due().retrying == 6
    elapsed_s = time.perf_counter() - started
    assert len(receiver.received) == 6
    assert elapsed_s < 4, f"six one-second answers took {elapsed_s:.1f} s: not sent at once"


def test_the_server_job_delivers_for_every_tenant_platform(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hazina serve`'s job covers the home platform and each tenant's (a database each):
    each platform's events go to its own subscribers only."""
    monkeypatch.setenv(ALLOW_HTTP_LOOPBACK_ENV, "1")
    home, tenant = (
        build_platform(str(tmp_path / f"{name}.sqlite3"), clock=FixedClock(time.time_ns()))
        for name in ("home", "tenant")
    )
    try:
        for platform in (home, tenant):
            subscriber = service_for(platform, signing_clock=platform.clock)
            subscribe(subscriber, receiver, "party.registered")
            subscriber.close()
        register(Parties(home), 1)
        register(Parties(tenant), 2)
        job = webhooks_job(lambda: [home, tenant])
        job()
        job()  # nothing new: nothing sent twice
    finally:
        home.close()
        tenant.close()
    assert [r.verified for r in receiver.received] == [True, True, True]
    home_secret, tenant_secret = receiver.secrets
    by_secret = [
        [secret for secret in (home_secret, tenant_secret) if _verifies(secret, r)]
        for r in receiver.received
    ]
    assert by_secret == [[home_secret], [tenant_secret], [tenant_secret]]


def _verifies(secret: str, received: Received) -> bool:
    try:
        Webhook(secret).verify(received.body, received.headers)
    except WebhookVerificationError:
        return False
    return True
