"""Segment member counts over the stored profiles, kept one row per UTC day so that each
segment's size has a trend: counted when someone asks (the console's segments page), after a
recompute, and once a day by the server.

A count is one pass over the stored profiles (the segments a profile is in are part of its
document), so the store keeps what it found rather than counting history again.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

import orjson
from pydantic import BaseModel, ConfigDict

from p13n.domain.services.engine import Engine, sql_store
from p13n.domain.store import SegmentCountStore
from p13n.domain.timeutil import DAY

__all__ = ["SegmentCounts", "SegmentTrend", "TREND_DAYS"]

log = logging.getLogger(__name__)

TREND_DAYS = 90


class SegmentTrend(BaseModel):
    """One segment's members at each UTC day a count was kept (oldest first)."""

    model_config = ConfigDict(frozen=True)

    segment: str
    days: list[float]
    members: list[int]
    profiles: list[int]


class SegmentCounts:
    def __init__(self, engine: Engine, *, clock: Callable[[], float] | None = None) -> None:
        self.engine = engine
        self.store = SegmentCountStore(sql_store(engine))
        self.now = clock or engine.now
        self._stop = threading.Event()

    def count(self) -> tuple[Counter[str], int]:
        """Members of each defined segment among the stored profiles now, and the number of
        profiles; kept as today's counts."""
        self.engine.checkpoint()  # profiles written behind count too
        counts: Counter[str] = Counter()
        profiles = 0
        for docs in self.engine.store.iter_profile_docs():
            profiles += len(docs)
            for doc in docs:
                counts.update((orjson.loads(doc).get("segments") or {}).keys())
        now = self.now()
        defined = {s.name: counts.get(s.name, 0) for s in self.engine.state.segments}
        self.store.save(now // DAY * DAY, defined, profiles, now)
        return counts, profiles

    def trends(self, days: int = TREND_DAYS) -> list[SegmentTrend]:
        """Each defined segment's kept counts over the last `days` UTC days."""
        since = (self.now() // DAY - days + 1) * DAY
        found: dict[str, SegmentTrend] = {
            s.name: SegmentTrend(segment=s.name, days=[], members=[], profiles=[])
            for s in self.engine.state.segments
        }
        for segment, day, members, profiles in self.store.history(since):
            trend = found.get(segment)
            if trend is not None:
                trend.days.append(day)
                trend.members.append(members)
                trend.profiles.append(profiles)
        return list(found.values())

    def start_daily(self, *, check_s: float = 3600.0) -> threading.Thread:
        """Count once per UTC day (checked every `check_s`) on a daemon thread, so the trend
        has a point each day whether or not anyone opened the page; `stop` ends it."""

        def loop() -> None:
            while not self._stop.wait(check_s):
                try:
                    last = self.store.last_counted()
                    if last is None or last // DAY < self.now() // DAY:
                        self.count()
                except Exception:  # the next round tries again
                    log.exception("counting segment members failed")

        thread = threading.Thread(target=loop, name="p13n-segment-counts", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
