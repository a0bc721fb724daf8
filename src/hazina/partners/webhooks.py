"""Webhooks: partners subscribe to event types of the platform's outbox and get each matching
event POSTed to their endpoint, signed per Standard Webhooks, at least once.

Data flow: every state change others care about is an outbox event, written in the same
database transaction as the change (`payments.service.write_outbox`). `dispatch` reads the
outbox after a stored cursor and creates one delivery per matching live subscription; the
(subscription, event) pair is unique, so a repeated or concurrent dispatch creates nothing
twice. `send_due` claims the deliveries that are due (moving their next attempt a lease ahead,
so two senders do not both take one), POSTs each with the headers `webhook-id`,
`webhook-timestamp` and `webhook-signature`, and records the attempt: a 2xx answer marks the
delivery delivered; anything else (another status, a timeout, a refused connection) schedules
the next attempt after an exponential backoff, and after `webhook_attempts_max` failed
attempts the delivery is dead-lettered. `redeliver` starts a delivered or dead one again.

Rules stated once here (docs/webhooks.md repeats them):
- The retry delay after the n-th failed attempt is `webhook_backoff_first_s * 2**(n - 1)`
  seconds, at most `webhook_backoff_max_s`.
- A subscription receives events written at or after its creation, never an older backlog.
- `webhook-id` is the event's id (`evt_...`), the same on every attempt and redelivery, so a
  receiver can drop duplicates; the body is stored once and every attempt sends the same bytes.
- Endpoints are `https` URLs of public hosts; `http` (and loopback hosts) only where the
  service is told to allow loopback receivers (`HAZINA_WEBHOOKS_ALLOW_HTTP_LOOPBACK=1`), for
  local development and the tests. No credentials in URLs; redirects are not followed.
- Each subscription and delivery belongs to its owner (the API principal that created it); an
  owner's requests never see another's, which read as not found.
- A rotated secret keeps signing (a second signature in the header) for
  `webhook_secret_overlap_s`, so receivers can switch without losing messages.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Protocol

import httpx
from standardwebhooks import Webhook

from hazina.kernel.clock import Clock
from hazina.kernel.ids import IdSource, prefixed
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    webhook_attempts_max,
    webhook_backoff_first_s,
    webhook_backoff_max_s,
    webhook_claim_lease_s,
    webhook_description_length_max,
    webhook_dispatch_events_max,
    webhook_event_types_max,
    webhook_request_timeout_ms,
    webhook_response_excerpt_length_max,
    webhook_secret_bytes_min,
    webhook_secret_overlap_s,
    webhook_send_batch_max,
    webhook_send_workers_max,
    webhook_services_open_max,
    webhook_subscriptions_per_owner_max,
    webhook_url_length_max,
)
from hazina.ledger.service import LedgerService, LedgerUnit
from hazina.ledger.store.base import SqlSession
from hazina.partners.webhook_schema import SCHEMA
from hazina.payments.errors import PaymentError, conflict, invalid, not_found
from hazina.payments.service import PaymentsService

ALLOW_HTTP_LOOPBACK_ENV = "HAZINA_WEBHOOKS_ALLOW_HTTP_LOOPBACK"

_second_ns = 1_000_000_000
_name = r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*"
_pattern = re.compile(rf"\*|{_name}(?:\.\*)?")
_secret_prefix = "whsec_"
_user_agent = "Hazina-Webhooks/1"


# Every family of outbox events, with the scope that reads its subjects through the API; a
# subscription needs that scope (`read_scopes_needed`). A family written to the outbox but
# missing here is delivered to no one (a test lists the families the code writes).
EVENT_FAMILY_SCOPES: Final[Mapping[str, str]] = {
    "transaction": "payments:read",
    "reversal": "payments:read",
    "loan": "payments:read",
    "party": "parties:read",
    "tariff": "tariffs:read",
    "limits": "tariffs:read",
    "loan_product": "tariffs:read",
    "risk": "risk:read",
    "cbdc": "cbdc:read",
}


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its next attempt
    delivered = "delivered"  # the endpoint answered 2xx
    dead = "dead"  # dead-lettered after webhook_attempts_max failed attempts
    cancelled = "cancelled"  # its subscription was deleted before it was delivered


# -- the pure rules ------------------------------------------------------------------------------


def retry_delay_s(failed_attempts: int) -> int:
    """Seconds to wait after the `failed_attempts`-th failed attempt of a round."""
    invariant(failed_attempts >= 1, "a delay follows a failed attempt")
    exponent = min(failed_attempts - 1, 32)  # 2**32 * 5 s is far past the cap already
    delay: int = min(webhook_backoff_first_s * (1 << exponent), webhook_backoff_max_s)
    invariant(webhook_backoff_first_s <= delay <= webhook_backoff_max_s, "delay within limits")
    return delay


def retry_schedule_s() -> list[int]:
    """The delays between the attempts of one round: one fewer than the attempts."""
    return [retry_delay_s(n) for n in range(1, webhook_attempts_max)]


def check_event_types(patterns: Sequence[str]) -> tuple[str, ...]:
    """The subscription's event types, each an exact name (`transaction.completed`), a prefix
    wildcard (`transaction.*`) or `*` for every event; duplicates dropped, order kept."""
    if not 1 <= len(patterns) <= webhook_event_types_max:
        raise invalid(
            "event_types_count",
            f"a subscription names 1 to {webhook_event_types_max} event types",
        )
    for pattern in patterns:
        if _pattern.fullmatch(pattern) is None:
            raise invalid(
                "event_type_invalid",
                f"{pattern!r} is not an event type: lower-case dotted names such as "
                "transaction.completed, a prefix wildcard such as transaction.*, or *",
            )
        if pattern != "*" and family_of(pattern) not in EVENT_FAMILY_SCOPES:
            raise invalid(
                "event_type_unknown",
                f"no events of {pattern!r} are written; the families are "
                + ", ".join(sorted(EVENT_FAMILY_SCOPES)),
            )
    kept = tuple(dict.fromkeys(patterns))
    invariant(0 < len(kept) <= len(patterns), "deduplication keeps at least one")
    return kept


def family_of(event_type: str) -> str:
    """An event type's family: its first dotted part (`transaction` of `transaction.failed`)."""
    return event_type.partition(".")[0]


def read_scopes_needed(patterns: Sequence[str]) -> frozenset[str]:
    """The read scopes a subscriber to `patterns` must hold: those of every family they can
    match (`*`: all of them), so that webhooks show no one what the API would not."""
    checked = check_event_types(patterns)
    if "*" in checked:
        return frozenset(EVENT_FAMILY_SCOPES.values())
    needed = frozenset(EVENT_FAMILY_SCOPES[family_of(pattern)] for pattern in checked)
    invariant(1 <= len(needed) <= len(checked), "each pattern is of one family")
    return needed


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """Whether an event of `event_type` goes to a subscription of `patterns`. `*` matches
    the known families only: a new family reaches no one who was not checked for it."""
    for pattern in patterns:
        if pattern == event_type:
            return True
        if pattern == "*" and family_of(event_type) in EVENT_FAMILY_SCOPES:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def check_url(url: str, *, allow_http_loopback: bool) -> str:
    """An endpoint a webhook may be sent to: https to a public host, or (where allowed)
    http or https to a loopback host. Credentials, fragments and odd characters are refused."""
    if not 1 <= len(url) <= webhook_url_length_max:
        raise invalid("url_invalid", f"a URL has 1 to {webhook_url_length_max} characters")
    if not url.isascii() or any(ch <= " " or ch == "\x7f" for ch in url):
        raise invalid("url_invalid", "a URL is printable ASCII without spaces")
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a port that is no number or out of range
    except ValueError as error:
        raise invalid("url_invalid", f"not a URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        raise invalid("url_invalid", "a webhook URL is https://host/path")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise invalid("url_invalid", "a webhook URL carries no credentials and no fragment")
    loopback = _is_loopback(host)
    if scheme == "http" and not (allow_http_loopback and loopback):
        raise invalid("url_not_https", "webhooks are sent over https only")
    if not _is_public(host) and not (allow_http_loopback and loopback):
        raise invalid("url_not_public", f"{host} is not a public host")
    return url


def _ip_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_loopback(host: str) -> bool:
    address = _ip_of(host)
    if address is None:
        return host.lower() == "localhost"
    return address.is_loopback


def _is_public(host: str) -> bool:
    """Whether `host` may be a public endpoint: no private, loopback, link-local or reserved
    address literals, no `localhost`. (Names are not resolved here: where that matters, the
    sender runs behind an egress proxy that refuses internal addresses.)"""
    address = _ip_of(host)
    if address is None:
        lowered = host.lower().rstrip(".")
        return lowered != "localhost" and not lowered.endswith(".localhost") and "." in lowered
    return address.is_global and not address.is_multicast


def new_secret(random_bytes: Callable[[int], bytes]) -> str:
    """A signing secret in the Standard Webhooks format: `whsec_` and base64."""
    raw = random_bytes(webhook_secret_bytes_min)
    invariant(len(raw) == webhook_secret_bytes_min, "the secret has its length")
    return _secret_prefix + base64.b64encode(raw).decode("ascii")


def event_id(outbox_id: int) -> str:
    return prefixed("evt", outbox_id)


def message_body(
    outbox_id: int, event_type: str, subject: str, payload: dict[str, Any], at_ns: int
) -> str:
    """The JSON body of an event's webhook, written once and sent as is by every attempt."""
    moment = datetime.fromtimestamp(at_ns // _second_ns, tz=UTC)
    micros = (at_ns // 1_000) % 1_000_000
    timestamp = moment.replace(microsecond=micros).isoformat().replace("+00:00", "Z")
    body = {
        "id": event_id(outbox_id),
        "type": event_type,
        "timestamp": timestamp,
        "subject": subject,
        "data": payload,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def signature_headers(
    signing_secrets: Sequence[str], message_id: str, at_ns: int, body: str
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt: one `v1,` signature per live secret."""
    invariant(len(signing_secrets) >= 1, "at least one secret signs")
    moment = datetime.fromtimestamp(at_ns // _second_ns, tz=UTC)
    signatures = [Webhook(secret).sign(message_id, moment, body) for secret in signing_secrets]
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(at_ns // _second_ns),
        "webhook-signature": " ".join(signatures),
    }
    invariant(all(s.startswith("v1,") for s in signatures), "version 1 signatures only")
    return headers


def allow_http_loopback_from_environment() -> bool:
    """Whether this process may send to http/loopback receivers (development and tests)."""
    return os.environ.get(ALLOW_HTTP_LOOPBACK_ENV, "") in ("1", "true", "yes")


# -- records -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    owner: str
    url: str
    event_types: tuple[str, ...]
    description: str
    created_at_ns: int
    updated_at_ns: int


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    subscription_id: int
    event_id: int
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at_ns: int | None
    created_at_ns: int
    updated_at_ns: int
    delivered_at_ns: int | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one POST came to: the endpoint's status (None if no answer came) or the error,
    the start of its response body, and how long it took."""

    status_code: int | None
    error: str | None
    response: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Attempt(Outcome):
    """An outcome in a delivery's log: its number (from 1) and when it was made."""

    number: int
    at_ns: int


@dataclass(frozen=True, slots=True)
class DeliveryDetail:
    delivery: Delivery
    body: str
    attempts: list[Attempt]


@dataclass(frozen=True, slots=True)
class SendReport:
    delivered: int
    retrying: int
    dead: int


@dataclass(frozen=True, slots=True)
class _Claim:
    delivery_id: int
    event_id: int
    url: str
    body: str
    signing_secrets: tuple[str, ...]


_SUBSCRIPTION_COLUMNS = "id, owner, url, event_types, description, created_at_ns, updated_at_ns"
_DELIVERY_COLUMNS = (
    "id, subscription_id, event_id, event_type, status, attempts, next_attempt_at_ns,"
    " created_at_ns, updated_at_ns, delivered_at_ns"
)


def _subscription_from(row: tuple[Any, ...]) -> Subscription:
    return Subscription(
        int(row[0]), row[1], row[2], tuple(json.loads(row[3])), row[4], int(row[5]), int(row[6])
    )


def _delivery_from(row: tuple[Any, ...]) -> Delivery:
    return Delivery(
        int(row[0]),
        int(row[1]),
        int(row[2]),
        row[3],
        DeliveryStatus(row[4]),
        int(row[5]),
        None if row[6] is None else int(row[6]),
        int(row[7]),
        int(row[8]),
        None if row[9] is None else int(row[9]),
    )


# -- the service ---------------------------------------------------------------------------------


class WebhookService:
    """Subscriptions, dispatch from the outbox, signed delivery with retries, and the log.

    `clock` schedules attempts; `signing_clock` (default: `clock`) stamps `webhook-timestamp`,
    which receivers compare with their own wall clock: tests that move a fixed clock through
    hours of backoff sign with the system clock."""

    def __init__(
        self,
        ledger: LedgerService,
        clock: Clock,
        ids: IdSource,
        payments: PaymentsService,
        *,
        allow_http_loopback: bool = False,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        signing_clock: Clock | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._ids = ids
        self._payments = payments
        self.allow_http_loopback = allow_http_loopback
        self._random_bytes = random_bytes
        self._signing_clock = signing_clock or clock
        self._client = client or httpx.Client(
            timeout=webhook_request_timeout_ms / 1_000,
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": _user_agent},
        )
        ledger.store.ensure_schema("webhooks", SCHEMA)

    def close(self) -> None:
        self._client.close()

    # -- subscriptions -------------------------------------------------------------------------

    def subscribe(
        self, owner: str, url: str, event_types: Sequence[str], description: str = ""
    ) -> tuple[Subscription, str]:
        """A new subscription of `owner`, and its signing secret (shown this once)."""
        checked_url = check_url(url, allow_http_loopback=self.allow_http_loopback)
        patterns = check_event_types(event_types)
        if len(description) > webhook_description_length_max:
            raise invalid(
                "description_too_long",
                f"a description has at most {webhook_description_length_max} characters",
            )
        secret = new_secret(self._random_bytes)

        def work(unit: LedgerUnit) -> Subscription:
            row = unit.sql.fetch_one(
                "SELECT COUNT(*) FROM webhook_subscriptions WHERE owner = ? AND status = 'active'",
                (owner,),
            )
            if row is not None and int(row[0]) >= webhook_subscriptions_per_owner_max:
                raise conflict(
                    "subscriptions_limit",
                    f"an owner has at most {webhook_subscriptions_per_owner_max} subscriptions",
                )
            subscription = Subscription(
                self._ids.next_id(),
                owner,
                checked_url,
                patterns,
                description,
                unit.now_ns,
                unit.now_ns,
            )
            unit.sql.execute(
                "INSERT INTO webhook_subscriptions (id, owner, url, event_types, description,"
                " secret, status, created_at_ns, updated_at_ns)"
                " VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)",
                (
                    subscription.id,
                    owner,
                    checked_url,
                    json.dumps(list(patterns)),
                    description,
                    secret,
                    unit.now_ns,
                    unit.now_ns,
                ),
            )
            return subscription

        subscription = self._ledger.run(work)
        invariant(subscription.owner == owner, "the caller owns what it created")
        return subscription, secret

    def get_subscription(self, owner: str, subscription_id: int) -> Subscription:
        row = self._reader().fetch_one(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions"
            " WHERE id = ? AND owner = ? AND status = 'active'",
            (subscription_id, owner),
        )
        if row is None:
            raise _subscription_not_found(subscription_id)
        return _subscription_from(row)

    def list_subscriptions(self, owner: str, after_id: int, limit: int) -> list[Subscription]:
        """The owner's live subscriptions, oldest first, after `after_id`."""
        invariant(limit >= 1, "a page holds something")
        rows = self._reader().fetch_all(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions"
            " WHERE owner = ? AND status = 'active' AND id > ? ORDER BY id LIMIT ?",
            (owner, after_id, limit),
        )
        return [_subscription_from(row) for row in rows]

    def delete_subscription(self, owner: str, subscription_id: int) -> None:
        """Stop a subscription; its deliveries not yet made are cancelled, its log kept."""

        def work(unit: LedgerUnit) -> None:
            changed = unit.sql.execute(
                "UPDATE webhook_subscriptions SET status = 'deleted', updated_at_ns = ?"
                " WHERE id = ? AND owner = ? AND status = 'active'",
                (unit.now_ns, subscription_id, owner),
            )
            if changed != 1:
                raise _subscription_not_found(subscription_id)
            unit.sql.execute(
                "UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at_ns = NULL,"
                " updated_at_ns = ? WHERE subscription_id = ? AND status = 'pending'",
                (unit.now_ns, subscription_id),
            )

        self._ledger.run(work)

    def rotate_secret(self, owner: str, subscription_id: int) -> tuple[Subscription, str]:
        """A new signing secret (shown this once); the old one also signs for a while."""
        secret = new_secret(self._random_bytes)

        def work(unit: LedgerUnit) -> Subscription:
            row = unit.sql.fetch_one(
                "SELECT secret FROM webhook_subscriptions"
                " WHERE id = ? AND owner = ? AND status = 'active'",
                (subscription_id, owner),
            )
            if row is None:
                raise _subscription_not_found(subscription_id)
            changed = unit.sql.execute(
                "UPDATE webhook_subscriptions SET secret = ?, previous_secret = ?,"
                " previous_secret_until_ns = ?, updated_at_ns = ? WHERE id = ? AND secret = ?",
                (
                    secret,
                    row[0],
                    unit.now_ns + webhook_secret_overlap_s * _second_ns,
                    unit.now_ns,
                    subscription_id,
                    row[0],
                ),
            )
            invariant(changed == 1, "units run one at a time, so the secret read is current")
            found = unit.sql.fetch_one(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = ?",
                (subscription_id,),
            )
            invariant(found is not None, "the subscription is still there")
            assert found is not None  # for mypy: invariant() has just checked it
            return _subscription_from(found)

        return self._ledger.run(work), secret

    # -- the delivery log ----------------------------------------------------------------------

    def list_deliveries(
        self,
        owner: str,
        before_id: int,
        limit: int,
        *,
        status: DeliveryStatus | None = None,
        subscription_id: int | None = None,
    ) -> list[Delivery]:
        """The owner's deliveries, newest first, older than `before_id` (0: from the newest)."""
        invariant(limit >= 1, "a page holds something")
        conditions = ["owner = ?"]
        parameters: list[Any] = [owner]
        if before_id > 0:
            conditions.append("id < ?")
            parameters.append(before_id)
        if status is not None:
            conditions.append("status = ?")
            parameters.append(status.value)
        if subscription_id is not None:
            conditions.append("subscription_id = ?")
            parameters.append(subscription_id)
        rows = self._reader().fetch_all(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries"
            f" WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT ?",
            (*parameters, limit),
        )
        return [_delivery_from(row) for row in rows]

    def get_delivery(self, owner: str, delivery_id: int) -> DeliveryDetail:
        """A delivery of the owner with its body and every attempt, oldest first."""
        reader = self._reader()
        row = reader.fetch_one(
            f"SELECT {_DELIVERY_COLUMNS}, body FROM webhook_deliveries WHERE id = ? AND owner = ?",
            (delivery_id, owner),
        )
        if row is None:
            raise _delivery_not_found(delivery_id)
        attempts = [
            Attempt(
                status_code=None if r[2] is None else int(r[2]),
                error=r[3],
                response=r[4],
                duration_ms=int(r[5]),
                number=int(r[0]),
                at_ns=int(r[1]),
            )
            for r in reader.fetch_all(
                "SELECT number, at_ns, status_code, error, response, duration_ms"
                " FROM webhook_attempts WHERE delivery_id = ? ORDER BY number",
                (delivery_id,),
            )
        ]
        delivery = _delivery_from(row[:-1])
        invariant(len(attempts) == delivery.attempts, "every attempt is logged")
        return DeliveryDetail(delivery, row[-1], attempts)

    def redeliver(self, owner: str, delivery_id: int) -> Delivery:
        """Send a delivered or dead-lettered delivery again, now, with a fresh round of
        attempts. One still pending is refused (it is on its way), as is one whose
        subscription was deleted."""

        def work(unit: LedgerUnit) -> Delivery:
            row = unit.sql.fetch_one(
                "SELECT status FROM webhook_deliveries WHERE id = ? AND owner = ?",
                (delivery_id, owner),
            )
            if row is None:
                raise _delivery_not_found(delivery_id)
            status = DeliveryStatus(row[0])
            if status is DeliveryStatus.pending:
                raise conflict("delivery_pending", "the delivery is already waiting to be sent")
            if status is DeliveryStatus.cancelled:
                raise conflict("subscription_deleted", "the delivery's subscription is deleted")
            unit.sql.execute(
                "UPDATE webhook_deliveries SET status = 'pending', round_attempts = 0,"
                " next_attempt_at_ns = ?, delivered_at_ns = NULL, updated_at_ns = ?"
                " WHERE id = ? AND status = ?",
                (self._clock.now_ns(), unit.now_ns, delivery_id, status.value),
            )
            found = unit.sql.fetch_one(
                f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?", (delivery_id,)
            )
            invariant(found is not None, "the delivery is still there")
            assert found is not None  # for mypy: invariant() has just checked it
            return _delivery_from(found)

        delivery = self._ledger.run(work)
        invariant(delivery.status is DeliveryStatus.pending, "a redelivery is pending")
        return delivery

    # -- dispatch and send ---------------------------------------------------------------------

    def dispatch(self, limit: int = webhook_dispatch_events_max) -> int:
        """Create the deliveries of up to `limit` outbox events after the stored cursor; the
        number created. Repeating it, or racing another dispatcher, creates nothing twice."""
        invariant(1 <= limit <= webhook_dispatch_events_max, "a dispatch batch has a limit")
        row = self._reader().fetch_one("SELECT after_id FROM webhook_dispatch_cursor WHERE id = 1")
        after = 0 if row is None else int(row[0])
        events = self._payments.outbox_after(after, limit)
        if not events:
            return 0
        last = events[-1][0]
        invariant(last > after, "the outbox is read forwards")

        def work(unit: LedgerUnit) -> int:
            subscriptions = [
                (int(r[0]), r[1], tuple(json.loads(r[2])), int(r[3]))
                for r in unit.sql.fetch_all(
                    "SELECT id, owner, event_types, created_at_ns FROM webhook_subscriptions"
                    " WHERE status = 'active' ORDER BY id"
                )
            ]
            created = 0
            for outbox_id, event_type, subject, payload, at_ns in events:
                body: str | None = None
                for subscription_id, owner, patterns, since_ns in subscriptions:
                    if at_ns < since_ns or not matches(patterns, event_type):
                        continue
                    body = body or message_body(outbox_id, event_type, subject, payload, at_ns)
                    created += unit.sql.execute(
                        "INSERT INTO webhook_deliveries (id, subscription_id, owner, event_id,"
                        " event_type, body, status, attempts, round_attempts,"
                        " next_attempt_at_ns, created_at_ns, updated_at_ns)"
                        " VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?, ?)"
                        " ON CONFLICT (subscription_id, event_id) DO NOTHING",
                        (
                            self._ids.next_id(),
                            subscription_id,
                            owner,
                            outbox_id,
                            event_type,
                            body,
                            self._clock.now_ns(),
                            unit.now_ns,
                            unit.now_ns,
                        ),
                    )
            unit.sql.execute(
                "INSERT INTO webhook_dispatch_cursor (id, after_id) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET after_id = excluded.after_id"
                " WHERE webhook_dispatch_cursor.after_id < excluded.after_id",
                (last,),
            )
            return created

        created = self._ledger.run(work)
        invariant(created >= 0, "a count")
        return created

    def send_due(self, limit: int = webhook_send_batch_max) -> SendReport:
        """Claim up to `limit` due deliveries, POST each, and record what happened."""
        invariant(1 <= limit <= webhook_send_batch_max, "a send batch has a limit")
        claims = self._claim(limit)
        if not claims:
            return SendReport(0, 0, 0)
        # Endpoints are slow or down independently: one that times out holds up one worker.
        workers = min(webhook_send_workers_max, len(claims))
        with ThreadPoolExecutor(workers, thread_name_prefix="webhook-send") as pool:
            statuses = list(pool.map(lambda claim: self._record(claim, self._post(claim)), claims))
        delivered = retrying = dead = 0
        for status in statuses:
            delivered += status is DeliveryStatus.delivered
            retrying += status is DeliveryStatus.pending
            dead += status is DeliveryStatus.dead
        invariant(delivered + retrying + dead <= len(claims), "each claim counted once")
        return SendReport(delivered, retrying, dead)

    def run_once(self) -> SendReport:
        """One pass of the background job: dispatch new events, then send what is due."""
        self.dispatch()
        return self.send_due()

    def _claim(self, limit: int) -> list[_Claim]:
        def work(unit: LedgerUnit) -> list[_Claim]:
            now_ns = self._clock.now_ns()  # the schedule's time (the ledger's may run ahead)
            rows = unit.sql.fetch_all(
                "SELECT d.id, d.event_id, d.body, d.next_attempt_at_ns, s.url, s.secret,"
                " s.previous_secret, s.previous_secret_until_ns"
                " FROM webhook_deliveries d JOIN webhook_subscriptions s"
                " ON s.id = d.subscription_id"
                " WHERE d.status = 'pending' AND d.next_attempt_at_ns <= ? AND s.status = 'active'"
                " ORDER BY d.next_attempt_at_ns, d.id LIMIT ?",
                (now_ns, limit),
            )
            claims: list[_Claim] = []
            for row in rows:
                taken = unit.sql.execute(
                    "UPDATE webhook_deliveries SET next_attempt_at_ns = ?"
                    " WHERE id = ? AND status = 'pending' AND next_attempt_at_ns = ?",
                    (now_ns + webhook_claim_lease_s * _second_ns, row[0], row[3]),
                )
                if taken != 1:
                    continue
                live = [row[5]]
                if row[6] is not None and int(row[7]) > now_ns:
                    live.append(row[6])
                claims.append(_Claim(int(row[0]), int(row[1]), row[4], row[2], tuple(live)))
            return claims

        claims = self._ledger.run(work)
        invariant(len(claims) <= limit, "no more claims than asked for")
        return claims

    def _post(self, claim: _Claim) -> Outcome:
        headers = signature_headers(
            claim.signing_secrets,
            event_id(claim.event_id),
            self._signing_clock.now_ns(),
            claim.body,
        )
        headers["content-type"] = "application/json"
        started = time.perf_counter()
        try:
            response = self._client.post(claim.url, content=claim.body.encode(), headers=headers)
        except httpx.TimeoutException as error:
            return Outcome(None, f"timeout: {type(error).__name__}", "", _ms_since(started))
        except httpx.HTTPError as error:
            message = f"{type(error).__name__}: {error}"[:webhook_response_excerpt_length_max]
            return Outcome(None, message, "", _ms_since(started))
        excerpt = response.text[:webhook_response_excerpt_length_max]
        return Outcome(response.status_code, None, excerpt, _ms_since(started))

    def _record(self, claim: _Claim, outcome: Outcome) -> DeliveryStatus:
        def work(unit: LedgerUnit) -> DeliveryStatus:
            now_ns = self._clock.now_ns()
            row = unit.sql.fetch_one(
                "SELECT status, attempts, round_attempts FROM webhook_deliveries WHERE id = ?",
                (claim.delivery_id,),
            )
            invariant(row is not None, "a claimed delivery exists")
            assert row is not None  # for mypy: invariant() has just checked it
            status, attempts, round_attempts = DeliveryStatus(row[0]), int(row[1]), int(row[2])
            unit.sql.execute(
                "INSERT INTO webhook_attempts (delivery_id, number, at_ns, status_code, error,"
                " response, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    claim.delivery_id,
                    attempts + 1,
                    now_ns,
                    outcome.status_code,
                    outcome.error,
                    outcome.response,
                    outcome.duration_ms,
                ),
            )
            next_at: int | None = None
            delivered_at: int | None = None
            if status is not DeliveryStatus.pending:
                pass  # cancelled (or finished by another sender) meanwhile: only log it
            elif outcome.succeeded:
                status, delivered_at = DeliveryStatus.delivered, now_ns
            elif round_attempts + 1 >= webhook_attempts_max:
                status = DeliveryStatus.dead
            else:
                next_at = now_ns + retry_delay_s(round_attempts + 1) * _second_ns
            unit.sql.execute(
                "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1,"
                " round_attempts = round_attempts + 1, next_attempt_at_ns = ?,"
                " delivered_at_ns = COALESCE(?, delivered_at_ns), updated_at_ns = ?"
                " WHERE id = ?",
                (status.value, next_at, delivered_at, now_ns, claim.delivery_id),
            )
            return status

        return self._ledger.run(work)

    def _reader(self) -> SqlSession:
        return self._ledger.store.reader()


def _ms_since(started: float) -> int:
    return max(0, round((time.perf_counter() - started) * 1_000))


def _subscription_not_found(subscription_id: int) -> PaymentError:
    return not_found(
        "subscription_not_found", f"no subscription {prefixed('whs', subscription_id)}"
    )


def _delivery_not_found(delivery_id: int) -> PaymentError:
    return not_found("delivery_not_found", f"no delivery {prefixed('whd', delivery_id)}")


class PlatformServices(Protocol):
    """What a webhook service is made of: a platform's (`hazina.bootstrap.Platform`)."""

    @property
    def ledger(self) -> LedgerService: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def ids(self) -> IdSource: ...

    @property
    def payments(self) -> PaymentsService: ...


class WebhookServices:
    """One webhook service per platform (the home one and each tenant's), made on first use
    and kept while the platform is; past `webhook_services_open_max` the oldest is let go
    (tenants' platforms come and go). Thread-safe."""

    def __init__(self, *, allow_http_loopback: bool | None = None) -> None:
        self._allow_http_loopback = (
            allow_http_loopback_from_environment()
            if allow_http_loopback is None
            else allow_http_loopback
        )
        self._services: dict[int, tuple[PlatformServices, WebhookService]] = {}
        self._lock = threading.RLock()

    def of(self, platform: PlatformServices) -> WebhookService:
        with self._lock:
            entry = self._services.get(id(platform))
            if entry is not None and entry[0] is platform:
                return entry[1]
            service = WebhookService(
                platform.ledger,
                platform.clock,
                platform.ids,
                platform.payments,
                allow_http_loopback=self._allow_http_loopback,
            )
            self.keep(platform, service)
            return service

    def keep(self, platform: PlatformServices, service: WebhookService) -> None:
        """Use `service` for `platform` from now on (tests give one a signing clock)."""
        with self._lock:
            self._services[id(platform)] = (platform, service)
            while len(self._services) > webhook_services_open_max:
                self._services.pop(next(iter(self._services)))[1].close()
            invariant(self._services[id(platform)][1] is service, "the new service is kept")

    def close(self) -> None:
        with self._lock:
            for _, service in self._services.values():
                service.close()
            self._services.clear()
