"""Request ids and rate limits, as pure ASGI middleware.

Pure ASGI rather than Starlette's `BaseHTTPMiddleware`: that one runs the rest of the app in a
separate task and copies every body through a stream, which costs more per request than all of
the work done here.

Order matters. Add `RateLimitMiddleware` first and `RequestIdMiddleware` last, so the request id
is the outermost layer: it is assigned before anything can fail, and echoed on every response,
refusals by the rate limiter included.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
from collections.abc import Callable
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hazina.api.problems import problem_response, request_id_of
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import rate_limit_keys_max, request_id_length_max
from hazina.kernel.rate import TokenBucket, TokenBuckets

_request_id_header: Final = b"x-request-id"
_acceptable_request_id: Final = re.compile(rb"[\x21-\x7e]{1,%d}" % request_id_length_max)
# Refill is computed in floating point from clock differences, so a client that waited exactly
# `Retry-After` can find 0.9999999999 tokens; that much short of one still counts as one.
_token_tolerance: Final = 1e-9


def new_request_id() -> str:
    """A fresh request id: 128 random bits, prefixed as the platform's other opaque ids are."""
    return f"req_{secrets.token_hex(16)}"


class RequestIdMiddleware:
    """Give each HTTP request an id in `scope["state"]["request_id"]` and echo it back.

    A client's `X-Request-ID` is kept when it is 1 to `request_id_length_max` visible ASCII
    characters, so one id can follow a request across services; anything else (empty, too long,
    spaces, control characters, non-ASCII) is replaced rather than refused, because a bad
    correlation id is no reason to fail a payment.
    """

    def __init__(
        self, app: ASGIApp, *, request_id_factory: Callable[[], str] = new_request_id
    ) -> None:
        self.app = app
        self.request_id_factory = request_id_factory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id: bytes | None = None
        for name, value in scope["headers"]:
            if name == _request_id_header:  # ASGI servers lower-case header names
                if _acceptable_request_id.fullmatch(value):
                    request_id = value
                break  # only the first one counts
        if request_id is None:
            generated = self.request_id_factory()
            invariant(generated.isascii(), "a generated request id is ASCII")
            request_id = generated.encode("ascii")
            invariant(
                _acceptable_request_id.fullmatch(request_id) is not None,
                "a generated request id is one a client could have sent",
            )
        scope.setdefault("state", {})["request_id"] = request_id.decode("ascii")

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = _mutable_headers(message)
                # Never twice: the 500 handler runs outside this middleware and sets the
                # header itself, and a route may set its own.
                if not any(name.lower() == _request_id_header for name, _ in headers):
                    headers.append((_request_id_header, request_id))
            await send(message)

        await self.app(scope, receive, send_with_request_id)


def client_key(scope: Scope) -> str:
    """Rate-limit by credential when the request has one, else by the client's address.

    The credential is hashed so that no secret stays in memory as a dictionary key; 64 bits of
    the hash are plenty to tell clients apart. The address is the connection's peer: behind a
    proxy, run the server with trusted forwarded headers (uvicorn `--forwarded-allow-ips`) or
    every client shares the proxy's bucket.
    """
    for name, value in scope["headers"]:
        if name == b"authorization":
            return "credential:" + hashlib.sha256(value).hexdigest()[:16]
    client = scope.get("client")
    return f"host:{client[0]}" if client else "host:unknown"


class RateLimitMiddleware:
    """A token bucket per key: `burst` requests at once, refilled at `rate_per_second`.

    Refused requests get 429 problem+json, code `rate_limited`, with `Retry-After`. Every answer
    carries `RateLimit-Limit` (the burst) and `RateLimit-Remaining` (whole tokens left).

    State lives in this process: with several worker processes each keeps its own buckets, so
    the effective limit is that many times higher. No lock is needed: the buckets are only
    touched from the event loop, between awaits. At most `tracked_keys_max` keys are remembered;
    the least recently seen is forgotten first, which loses nothing once its bucket has refilled.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        rate_per_second: float,
        burst: int,
        key: Callable[[Scope], str] = client_key,
        clock: Callable[[], float] = time.monotonic,
        exempt_paths: frozenset[str] = frozenset(),
        tracked_keys_max: int = rate_limit_keys_max,
    ) -> None:
        invariant(rate_per_second > 0 and math.isfinite(rate_per_second), "rate must be positive")
        invariant(burst >= 1, "a burst of at least one request")
        invariant(tracked_keys_max >= 1, "at least one tracked key")
        self.app = app
        self.rate_per_second = float(rate_per_second)
        self.burst = burst
        self.key = key
        self.clock = clock
        self.exempt_paths = exempt_paths
        self.tracked_keys_max = tracked_keys_max
        self._buckets = TokenBuckets(tracked_keys_max)
        self._limit_header = (b"ratelimit-limit", str(burst).encode("ascii"))

    @property
    def tracked_keys(self) -> int:
        return len(self._buckets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        bucket = self._refilled_bucket(self.key(scope), self.clock())
        if bucket.tokens < 1.0 - _token_tolerance:
            await self._refuse(bucket.tokens, scope, receive, send)
            return
        bucket.tokens = max(0.0, bucket.tokens - 1.0)
        invariant(0.0 <= bucket.tokens <= self.burst, "a bucket holds between none and a burst")
        rate_limit_headers = [
            self._limit_header,
            (b"ratelimit-remaining", str(int(bucket.tokens)).encode("ascii")),
        ]

        async def send_with_rate_limit(message: Message) -> None:
            if message["type"] == "http.response.start":
                _mutable_headers(message).extend(rate_limit_headers)
            await send(message)

        await self.app(scope, receive, send_with_rate_limit)

    def _refilled_bucket(self, key: str, now: float) -> TokenBucket:
        return self._buckets.refilled(key, now, self.rate_per_second, self.burst)

    async def _refuse(self, tokens: float, scope: Scope, receive: Receive, send: Send) -> None:
        wait_s = (1.0 - tokens) / self.rate_per_second
        # Whole seconds (RFC 9110 delay-seconds), rounded up so a client that waits exactly
        # that long finds a token; never 0, which clients read as "retry at once".
        retry_after_s = max(1, math.ceil(wait_s))
        response = problem_response(
            429,
            "rate_limited",
            "Too many requests",
            f"Slow down: retry after {retry_after_s} second(s).",
            instance=scope["path"],
            headers={
                "Retry-After": str(retry_after_s),
                "RateLimit-Limit": str(self.burst),
                "RateLimit-Remaining": "0",
            },
            request_id=request_id_of(scope),
            retry_after_seconds=retry_after_s,
        )
        await response(scope, receive, send)


def _mutable_headers(message: Message) -> list[tuple[bytes, bytes]]:
    # Starlette sends a list, but ASGI allows any iterable of pairs; copy only when needed.
    headers = message.setdefault("headers", [])
    if not isinstance(headers, list):
        headers = list(headers)
        message["headers"] = headers
    return headers
