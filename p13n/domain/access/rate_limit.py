"""A token bucket per caller: decision requests past a credential's rate get 406 TOO_MANY_REQUESTS
(HTTP 429) instead of queueing behind each other and missing everyone's latency budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """`per_second` requests per caller on average, bursts of up to `burst` (default: one
    second's worth, at least 1). Callers are whatever key the face passes (a key id, a JWT
    subject); the clock is injectable for tests."""

    def __init__(
        self,
        per_second: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive; use no limiter for no limit")
        self.rate = per_second
        self.burst = burst if burst is not None else max(1.0, per_second)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, at)
        self._lock = threading.Lock()

    def allow(self, caller: str) -> bool:
        """Take one token for `caller`; False when its bucket is empty."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[caller] = (tokens, now)
                return False
            self._buckets[caller] = (tokens - 1.0, now)
            return True

    def retry_after(self, caller: str) -> float:
        """Seconds until `caller` has a token again (0 when it has one now)."""
        with self._lock:
            tokens, at = self._buckets.get(caller, (self.burst, self._clock()))
        missing = 1.0 - min(self.burst, tokens + (self._clock() - at) * self.rate)
        return max(0.0, missing / self.rate)
