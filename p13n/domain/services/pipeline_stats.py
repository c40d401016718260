"""Pipeline intelligence for a process: keeps the hourly aggregates as the personalization log
is written, counts ingest outcomes, and answers reports from the aggregates (never a scan of
the log per request) or, to check them, from a recompute over the raw log.

Writing: the log writer thread calls `write_batch(conn, rows)` inside its batch transaction
(the buckets of the batch are merged into the stored hours, so an hour and the log rows it
counts commit together), and `flush_ingest()` once per cycle. Ingest counts are kept in memory
by `count_ingest` (an engine ingest listener: a dict update on the ingest caller's thread) until
that flush, so at most one writer cycle (¼ s) of counts is lost if the process dies.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from p13n.domain.analytics import (
    HOUR,
    BucketKey,
    PipelineBucket,
    PipelineQuery,
    PipelineReport,
    accumulate,
    accumulate_rows,
    decode_state,
    merge_all,
    merge_states,
    parse_pipeline_query,
    pipeline_report,
)
from p13n.domain.ingest import IngestReport
from p13n.domain.store import (
    LOG_COLUMNS,
    PersonalizationLogStore,
    PipelineStore,
    SqlStore,
    Transaction,
)
from p13n.domain.timeutil import now_ts

__all__ = ["PipelineStats", "SETTLE_SECONDS"]

THIRTY_DAYS = 30 * 86_400
DAY = 86_400
SETTLE_SECONDS = 3600
"""A day is read from its day rows once it ended this long ago (the log writer's hours of it
are complete)."""


def _buckets(rows: Iterable[Mapping[str, Any]], key: str) -> dict[BucketKey, PipelineBucket]:
    return {
        (int(r[key]), str(r["channel"]), str(r["point"])): decode_state(r, r["state"]) for r in rows
    }


def _runs(days: list[int]) -> Iterator[tuple[int, int]]:
    """Consecutive midnights as [start, end) ranges."""
    lo = prev = days[0]
    for day in days[1:]:
        if day != prev + DAY:
            yield lo, prev + DAY
            lo = day
        prev = day
    yield lo, prev + DAY


class PipelineStats:
    def __init__(self, store: SqlStore, *, clock: Callable[[], float] = now_ts) -> None:
        self.aggregates = PipelineStore(store)
        self.log_rows = PersonalizationLogStore(store)
        self.now = clock
        self._lock = threading.Lock()
        self._pending: Counter[tuple[int, str, str]] = Counter()
        # Since this process started, for /metrics: (status, reason) -> events.
        self.ingested: Counter[tuple[str, str]] = Counter()

    # -- writing -----------------------------------------------------------------------------
    def write_batch(self, conn: Transaction, rows: Sequence[Sequence[Any]]) -> None:
        """Merge the buckets of these log rows (tuples in `LOG_COLUMNS` order, every row of a
        request among them) into the stored hours, in the log writer's transaction."""
        buckets = accumulate_rows(LOG_COLUMNS, rows)
        deltas = {key: (b.counters(), b) for key, b in buckets.items()}
        self.aggregates.merge_hours(conn, deltas, merge_states)

    def count_ingest(self, report: IngestReport, now: float) -> None:
        """Count an ingest call's outcomes in its hour (an engine ingest listener)."""
        hour = int(now // HOUR) * HOUR
        counts: Counter[tuple[str, str]] = Counter()
        for result in report.results:
            reason = (result.code or "invalid_field") if result.status == "rejected" else ""
            counts[(result.status, reason)] += 1
        with self._lock:
            for (status, reason), n in counts.items():
                self._pending[(hour, status, reason)] += n
            self.ingested.update(counts)

    def flush_ingest(self) -> None:
        """Write the ingest counts kept since the last flush (the log writer calls it each
        cycle; a failure keeps them for the next)."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return
        try:
            with self.aggregates.store.transaction() as conn:
                self.aggregates.add_ingest(conn, pending)
        except Exception:
            with self._lock:
                self._pending.update(pending)
            raise

    # -- reading -----------------------------------------------------------------------------
    def query(
        self,
        *,
        start: str | float | None = None,
        end: str | float | None = None,
        granularity: str = "day",
        group_by: Iterable[str] = (),
    ) -> PipelineQuery:
        """A validated query (InvalidInput for a bad range, granularity or grouping)."""
        return parse_pipeline_query(
            start=start, end=end, granularity=granularity, group_by=group_by, now=self.now()
        )

    def report(self, query: PipelineQuery) -> PipelineReport:
        """The report from the aggregates: by day, the whole UTC days that closed at least
        `SETTLE_SECONDS` ago from their day rows (made from the hours the first time they are
        read, and kept), the rest from the hours."""
        buckets: dict[BucketKey, PipelineBucket] = {}
        start, end = int(query.start), int(query.end)
        first = -(-start // DAY) * DAY
        last = min(end // DAY * DAY, int(self.now() - SETTLE_SECONDS) // DAY * DAY)
        if query.granularity == "day" and first < last:
            buckets.update(self._days(first, last))
            ranges = [(start, first), (last, end)]
        else:
            ranges = [(start, end)]
        for lo, hi in ranges:
            if lo < hi:
                buckets.update(_buckets(self.aggregates.hours(lo, hi), "hour"))
        return pipeline_report(query, buckets, self.aggregates.ingest_hours(query.start, query.end))

    def _days(self, first: int, last: int) -> dict[BucketKey, PipelineBucket]:
        """The day buckets of [first, last) (midnights), the days not made yet made now."""
        made, rows = self.aggregates.days(first, last)
        found = _buckets(rows, "day")
        missing = [d for d in range(first, last, DAY) if d not in made]
        if missing:
            merged: dict[BucketKey, list[PipelineBucket]] = {}
            for lo, hi in _runs(missing):
                for (hour, channel, point), bucket in _buckets(
                    self.aggregates.hours(lo, hi), "hour"
                ).items():
                    merged.setdefault((hour // DAY * DAY, channel, point), []).append(bucket)
            made_now = {key: merge_all(parts) for key, parts in merged.items()}
            self.aggregates.write_days(
                missing,
                [
                    {
                        "day": k[0],
                        "channel": k[1],
                        "point": k[2],
                        **b.counters(),
                        "state": b.state(),
                    }
                    for k, b in sorted(made_now.items())
                ],
            )
            found.update(made_now)
        return found

    def recompute(self, query: PipelineQuery) -> PipelineReport:
        """The same report recomputed from the raw personalization log (ingest counts, which
        the log does not hold, still come from their aggregate): a check of the aggregates."""
        buckets: dict[BucketKey, PipelineBucket] = {}
        for page in self.log_rows.rows_between(query.start, query.end):
            for key, bucket in accumulate(page).items():
                merged = buckets.setdefault(key, PipelineBucket())
                merged.merge(bucket)
        return pipeline_report(query, buckets, self.aggregates.ingest_hours(query.start, query.end))

    def last_thirty_days(self, *, group_by: Iterable[str] = ()) -> PipelineReport:
        """Thirty days to now by day, from the aggregates (what `bench.analytics` times)."""
        now = self.now()
        return self.report(
            self.query(start=now - THIRTY_DAYS, end=now, granularity="day", group_by=group_by)
        )

    def ingest_totals(self) -> Mapping[tuple[str, str], int]:
        """(status, reason) -> events ingested since this process started (for /metrics)."""
        with self._lock:
            return dict(self.ingested)
