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
    subject, a client address); the clock is injectable for tests. Memory is bounded: past
    `max_callers` buckets, the ones that have refilled (callers idle for a full burst's time,
    indistinguishable from new ones) are dropped, so a scan from many addresses cannot grow it
    without end."""

    def __init__(
        self,
        per_second: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_callers: int = 100_000,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive; use no limiter for no limit")
        self.rate = per_second
        self.burst = burst if burst is not None else max(1.0, per_second)
        self._clock = clock
        self.max_callers = max_callers
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, at)
        self._lock = threading.Lock()

    def allow(self, caller: str) -> bool:
        """Take one token for `caller`; False when its bucket is empty."""
        now = self._clock()
        with self._lock:
            found = self._buckets.get(caller)
            if found is None and len(self._buckets) >= self.max_callers:
                self._drop_refilled(now)
            tokens, at = found or (self.burst, now)
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[caller] = (tokens, now)
                return False
            self._buckets[caller] = (tokens - 1.0, now)
            return True

    def _drop_refilled(self, now: float) -> None:
        """Forget callers whose bucket is full again, and if that is not enough (as many
        active callers as the bound) the older half (called with the lock held)."""
        full = self.burst
        kept = {
            c: (t, at) for c, (t, at) in self._buckets.items() if t + (now - at) * self.rate < full
        }
        if len(kept) >= self.max_callers:
            newest = sorted(kept.items(), key=lambda kv: kv[1][1])[len(kept) // 2 :]
            kept = dict(newest)
        self._buckets = kept

    def __len__(self) -> int:
        return len(self._buckets)

    def retry_after(self, caller: str) -> float:
        """Seconds until `caller` has a token again (0 when it has one now)."""
        with self._lock:
            tokens, at = self._buckets.get(caller, (self.burst, self._clock()))
        missing = 1.0 - min(self.burst, tokens + (self._clock() - at) * self.rate)
        return max(0.0, missing / self.rate)
