"""Time in p13n is UTC epoch seconds (float) inside, ISO 8601 with 'Z' at the edges."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["DAY", "now_ts", "to_ts", "to_iso", "day_index", "window_start"]

DAY = 86_400.0


def now_ts() -> float:
    return time.time()


def to_ts(value: datetime) -> float:
    """Naive datetimes are taken as UTC (the SDK sends UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def to_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day_index(ts: float) -> int:
    """The UTC day number; windows count whole UTC days so that online and SQL paths agree."""
    return int(ts // DAY)


def window_start(now: float, days: int) -> float:
    """Start of a window of `days` UTC days ending today (today counts as day 1)."""
    return (day_index(now) - days + 1) * DAY
