"""A bound on the events one sender (a device, else an individual) may store per clock minute:
a bot or a broken page looping on `POST /events` fills the log and the profile with noise, so
past the bound its events are answered `rejected` (code `flood`) and counted, not stored."""

from __future__ import annotations

import threading

__all__ = ["FLOOD_CODE", "FloodGuard"]

FLOOD_CODE = "flood"


class FloodGuard:
    """At most `per_minute` events per sender in each UTC clock minute (a fixed window: counts
    start again on the minute, so memory holds one minute's senders only)."""

    def __init__(self, per_minute: int) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive; use no guard for no bound")
        self.per_minute = per_minute
        self._minute = -1
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, sender: str, now: float) -> bool:
        """Count one event of `sender` at `now` (epoch seconds); False past the bound."""
        minute = int(now // 60)
        with self._lock:
            if minute != self._minute:
                self._minute, self._counts = minute, {}
            seen = self._counts.get(sender, 0)
            if seen >= self.per_minute:
                return False
            self._counts[sender] = seen + 1
            return True

    def release(self, sender: str, now: float) -> None:
        """Give back one admitted event that was not stored after all (the store refused the
        write): a client retrying a refused call is not held to what it never stored."""
        with self._lock:
            if int(now // 60) == self._minute and self._counts.get(sender, 0) > 0:
                self._counts[sender] -= 1

    @staticmethod
    def seconds_to_next_window(now: float) -> int:
        return max(1, int(60 - now % 60))

    def message(self) -> str:
        return (
            f"more than {self.per_minute} events from this device (or individual) this minute; "
            "counted, not stored (P13N_DEVICE_EVENTS_PER_MINUTE)."
        )
