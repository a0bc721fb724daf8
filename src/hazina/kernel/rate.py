"""Token buckets by key, for rate limits: `burst` requests at once, refilled at a rate.

Kept in memory, least recently used first to go past `keys_max` keys (a forgotten key's
bucket had refilled anyway, or soon would). Callers serialise access (the API's middleware
runs on the event loop; the partner limiter holds a lock)."""

from __future__ import annotations

from collections import OrderedDict

from hazina.kernel.invariant import invariant


class TokenBucket:
    """Tokens left for one key, as of `updated_at` on the limiter's clock."""

    __slots__ = ("tokens", "updated_at")

    def __init__(self, tokens: float, updated_at: float) -> None:
        self.tokens = tokens
        self.updated_at = updated_at


class TokenBuckets:
    def __init__(self, keys_max: int) -> None:
        invariant(keys_max >= 1, "at least one tracked key")
        self.keys_max = keys_max
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def refilled(self, key: str, now: float, rate_per_second: float, burst: int) -> TokenBucket:
        """The key's bucket as of `now`: full for a new key, else refilled for the time since
        it was last seen (a clock that steps back refills nothing rather than draining)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(float(burst), now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.keys_max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed_s = now - bucket.updated_at
            if elapsed_s > 0:
                bucket.tokens = min(float(burst), bucket.tokens + elapsed_s * rate_per_second)
                bucket.updated_at = now
        invariant(len(self._buckets) <= self.keys_max, "tracked keys stay bounded")
        return bucket
