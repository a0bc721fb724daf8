"""Request ids are accepted, generated and echoed; rate limits refuse past the burst."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from starlette.types import ASGIApp

from hazina.api.middleware import (
    RateLimitMiddleware,
    RequestIdMiddleware,
    client_key,
    new_request_id,
)
from hazina.api.problems import install_problem_handlers
from hazina.kernel.invariant import InvariantViolationError
from hazina.kernel.limits import request_id_length_max
from tests.unit.api.client import TestClient

PROBLEM_JSON = "application/problem+json"


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now_s = 1_000.0

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


def counting_request_ids() -> Any:
    counter = itertools.count(1)
    return lambda: f"req_{next(counter)}"


def build_app(
    *,
    clock: FakeClock | None = None,
    rate_per_second: float = 0.5,
    burst: int = 3,
    tracked_keys_max: int = 1_000,
    request_id_factory: Any = None,
) -> tuple[ASGIApp, RateLimitMiddleware | None]:
    """A FastAPI app wrapped, outermost first, in request ids and (with a clock) a rate limit."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/echo")
    async def echo(request: Request) -> dict[str, str]:
        return {"request_id": request.state.request_id}

    @app.get("/v1/own-header")
    async def own_header() -> Response:
        return Response(b"", headers={"X-Request-ID": "set-by-route"})

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    inner: ASGIApp = app
    limiter = None
    if clock is not None:
        # Composed by hand rather than with `app.add_middleware`, to keep hold of the limiter.
        limiter = RateLimitMiddleware(
            app,
            rate_per_second=rate_per_second,
            burst=burst,
            clock=clock,
            exempt_paths=frozenset({"/health"}),
            tracked_keys_max=tracked_keys_max,
        )
        inner = limiter
    outer = RequestIdMiddleware(
        inner, request_id_factory=request_id_factory or counting_request_ids()
    )
    return outer, limiter


# Request ids.


def test_a_valid_client_request_id_is_kept_and_echoed() -> None:
    app, _ = build_app()
    response = TestClient(app).get("/v1/echo", headers={"X-Request-ID": "trace-7f3a/9"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "trace-7f3a/9"
    assert response.json() == {"request_id": "trace-7f3a/9"}


def test_a_request_id_of_the_longest_allowed_length_is_kept() -> None:
    app, _ = build_app()
    longest = "x" * request_id_length_max
    response = TestClient(app).get("/v1/echo", headers={"X-Request-ID": longest})
    assert response.headers["x-request-id"] == longest


def test_a_missing_request_id_is_generated_by_the_injected_factory() -> None:
    app, _ = build_app()
    client = TestClient(app)
    first, second = client.get("/v1/echo"), client.get("/v1/echo")
    assert first.headers["x-request-id"] == first.json()["request_id"] == "req_1"
    assert second.headers["x-request-id"] == "req_2"


@pytest.mark.parametrize(
    "bad_id",
    [
        b"",
        b"x" * (request_id_length_max + 1),
        b"has space",
        b"tab\there",
        b"\x7f",
        "caf\u00e9".encode(),
        b"\xff\xfe",
    ],
    ids=["empty", "too-long", "space", "tab", "delete", "non-ascii", "not-utf8"],
)
def test_an_unacceptable_request_id_is_replaced(bad_id: bytes) -> None:
    app, _ = build_app(request_id_factory=lambda: "req_fresh")
    response = TestClient(app).get("/v1/echo", headers=[(b"X-Request-ID", bad_id)])
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req_fresh"
    assert response.json() == {"request_id": "req_fresh"}


def test_the_request_id_is_echoed_on_problem_responses() -> None:
    app, _ = build_app()
    response = TestClient(app).get("/v1/missing", headers={"X-Request-ID": "trace-404"})
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers.get_list("x-request-id") == ["trace-404"]
    assert response.json()["request_id"] == "trace-404"


def test_a_route_that_sets_the_header_itself_is_not_given_a_second_one() -> None:
    app, _ = build_app()
    response = TestClient(app).get("/v1/own-header")
    assert response.headers.get_list("x-request-id") == ["set-by-route"]


def test_a_factory_producing_unacceptable_ids_is_a_bug() -> None:
    app, _ = build_app(request_id_factory=lambda: "not valid")
    with pytest.raises(InvariantViolationError):
        TestClient(app).get("/v1/echo")


def test_default_request_ids_are_prefixed_random_and_acceptable() -> None:
    ids = {new_request_id() for _ in range(100)}
    assert len(ids) == 100
    for request_id in ids:
        assert request_id.startswith("req_")
        assert len(request_id) == 4 + 32
        assert request_id.isascii()
        assert request_id.isprintable()


# Rate limits.


def test_requests_past_the_burst_get_429_with_retry_after_until_the_clock_advances() -> None:
    clock = FakeClock()
    app, _ = build_app(clock=clock, rate_per_second=0.5, burst=3)
    client = TestClient(app)
    remaining = []
    for _ in range(3):
        response = client.get("/v1/echo")
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == "3"
        remaining.append(response.headers["ratelimit-remaining"])
    assert remaining == ["2", "1", "0"]

    refused = client.get("/v1/echo", headers={"X-Request-ID": "trace-429"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert refused.headers["retry-after"] == "2"  # one token at 0.5 per second
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["x-request-id"] == "trace-429"
    body = refused.json()
    assert body["code"] == "rate_limited"
    assert body["type"] == "https://hazina.dev/problems/rate_limited"
    assert body["status"] == 429
    assert body["request_id"] == "trace-429"
    assert body["instance"] == "/v1/echo"
    assert body["retry_after_seconds"] == 2

    clock.advance(1.0)  # half a token: still refused, and the wait shrinks
    refused = client.get("/v1/echo")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"

    clock.advance(1.0)
    recovered = client.get("/v1/echo")
    assert recovered.status_code == 200
    assert recovered.headers["ratelimit-remaining"] == "0"
    assert client.get("/v1/echo").status_code == 429


def test_retry_after_is_rounded_up_and_at_least_one_second() -> None:
    clock = FakeClock()
    app, _ = build_app(clock=clock, rate_per_second=100.0, burst=1)
    client = TestClient(app)
    assert client.get("/v1/echo").status_code == 200
    refused = client.get("/v1/echo")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"  # 10 ms, rounded up to a whole second
    clock.advance(0.01)  # exactly the wait, as far as floating point allows
    assert client.get("/v1/echo").status_code == 200


def test_a_bucket_refills_to_the_burst_and_no_further() -> None:
    clock = FakeClock()
    app, _ = build_app(clock=clock, rate_per_second=1.0, burst=2)
    client = TestClient(app)
    clock.advance(3_600.0)
    assert client.get("/v1/echo").headers["ratelimit-remaining"] == "1"
    assert client.get("/v1/echo").headers["ratelimit-remaining"] == "0"
    assert client.get("/v1/echo").status_code == 429


def test_exempt_paths_are_never_limited_or_counted() -> None:
    clock = FakeClock()
    app, _ = build_app(clock=clock, burst=1)
    client = TestClient(app)
    for _ in range(10):
        response = client.get("/health")
        assert response.status_code == 200
        assert "ratelimit-limit" not in response.headers
    assert client.get("/v1/echo").status_code == 200


def test_each_credential_has_its_own_bucket() -> None:
    clock = FakeClock()
    app, _ = build_app(clock=clock, burst=1)
    client = TestClient(app)
    alice = {"Authorization": "Bearer alice-token"}
    bob = {"Authorization": "Bearer bob-token"}
    assert client.get("/v1/echo", headers=alice).status_code == 200
    assert client.get("/v1/echo", headers=alice).status_code == 429
    assert client.get("/v1/echo", headers=bob).status_code == 200
    assert client.get("/v1/echo").status_code == 200  # by host: not yet spent
    assert client.get("/v1/echo").status_code == 429


def test_the_least_recently_seen_key_is_forgotten_past_the_bound() -> None:
    clock = FakeClock()
    app, limiter = build_app(clock=clock, burst=1, tracked_keys_max=2)
    assert limiter is not None
    client = TestClient(app)
    first, second, third = ({"Authorization": f"Bearer {name}"} for name in "abc")
    assert client.get("/v1/echo", headers=first).status_code == 200
    assert client.get("/v1/echo", headers=second).status_code == 200
    assert client.get("/v1/echo", headers=first).status_code == 429  # first is now most recent
    assert client.get("/v1/echo", headers=third).status_code == 200  # evicts second
    assert limiter.tracked_keys == 2
    assert client.get("/v1/echo", headers=first).status_code == 429  # still remembered
    assert client.get("/v1/echo", headers=second).status_code == 200  # forgotten: a full bucket


@pytest.mark.parametrize(
    ("rate_per_second", "burst", "tracked_keys_max"),
    [(0.0, 1, 10), (-1.0, 1, 10), (float("inf"), 1, 10), (1.0, 0, 10), (1.0, 1, 0)],
)
def test_nonsense_limits_are_refused(
    rate_per_second: float, burst: int, tracked_keys_max: int
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise NotImplementedError

    with pytest.raises(InvariantViolationError):
        RateLimitMiddleware(
            app,
            rate_per_second=rate_per_second,
            burst=burst,
            tracked_keys_max=tracked_keys_max,
        )


def test_client_key_hashes_the_credential_and_falls_back_to_the_host() -> None:
    secret = b"Bearer sk_live_very_secret"
    with_credential = {
        "type": "http",
        "headers": [(b"accept", b"*/*"), (b"authorization", secret)],
        "client": ("203.0.113.9", 50000),
    }
    key = client_key(with_credential)
    assert key == "credential:" + hashlib.sha256(secret).hexdigest()[:16]
    assert "secret" not in key
    assert client_key({"type": "http", "headers": [], "client": ("203.0.113.9", 1)}) == (
        "host:203.0.113.9"
    )
    assert client_key({"type": "http", "headers": [], "client": None}) == "host:unknown"
