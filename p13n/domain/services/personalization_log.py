"""The personalization log, off the request path: `record` appends an entry to a bounded
in-memory queue and returns (no lock, no wake-up of another thread); one writer thread wakes
every `linger` seconds and writes everything queued in batches, one transaction per batch.
`close` (app shutdown, end of a CLI command) writes out everything still queued, so a clean
shutdown loses nothing.

When the queue is full (the store is far behind), `record` drops the entry and counts it in
`dropped` rather than stall requests or grow without bound.

With `pipeline`, each batch's hourly aggregates are merged in the batch's transaction and the
ingest counts are flushed once per cycle (`PipelineStats`). A request's entries are queued
together (`record_request`) and a batch never splits them, so that the aggregates count each
request once.

`content_of` answers for an entry recorded a moment ago too (an agent reports a shown item right
after the answer): it looks in the queue first, then the table, and on a miss waits for one
write cycle (`flush`) before saying the entry does not exist, since an entry the writer has
taken off the queue is in neither until its transaction commits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from p13n.domain.services.pipeline_stats import PipelineStats
from p13n.domain.store import LOG_COLUMNS, PersonalizationLogStore, SqlStore

__all__ = ["LoggedContent", "LogEntry", "PersonalizationLog"]

log = logging.getLogger("p13n.decisions.log")


@dataclass(slots=True)
class LoggedContent:
    contentId: str
    id: str | None
    rank: int


@dataclass(slots=True, kw_only=True)
class LogEntry:
    """One decision instance (one point of one request). Timings are milliseconds; `status` is
    the point's diagnostic code (200 content, 201 nothing qualified, ...) and `diagnostics`
    every code of the point and of its request, space-separated; `source` says who asked
    (`api`, `cli`, `agent`, `batch`); `attribution` is the referral context an agent platform
    sent (UCP `attribution`: campaign and click ids), kept as given."""

    personalization_id: str
    request_id: str
    ts: float
    point: str | None = None
    point_id: str | None = None
    decision: str | None = None
    recommender: str | None = None
    experiment: str | None = None
    cohort: str | None = None
    individual_id: str | None = None
    unified_id: str | None = None
    channel: str | None = None
    source: str = "api"
    status: int = 200
    content: list[LoggedContent] = field(default_factory=list)
    augmenting_ms: float = 0.0
    qualifying_ms: float = 0.0
    personalizing_ms: float = 0.0
    total_ms: float = 0.0
    diagnostics: str = ""
    attribution: dict[str, str] | None = None


def _row(entry: LogEntry) -> tuple[Any, ...]:
    """The entry as a row of the log table, in `LOG_COLUMNS` order."""
    encoded = {
        "content": orjson.dumps(
            [{"contentId": c.contentId, "id": c.id, "rank": c.rank} for c in entry.content]
        ).decode(),
        "attribution": None
        if entry.attribution is None
        else orjson.dumps(entry.attribution, option=orjson.OPT_SORT_KEYS).decode(),
    }
    return tuple(encoded[f] if f in encoded else getattr(entry, f) for f in LOG_COLUMNS)


class PersonalizationLog:
    def __init__(
        self,
        store: SqlStore,
        *,
        capacity: int = 100_000,
        batch: int = 2000,
        linger: float = 0.25,
        pipeline: PipelineStats | None = None,
    ) -> None:
        self.rows = PersonalizationLogStore(store)
        self.pipeline = pipeline
        self.capacity, self.batch, self.linger = capacity, batch, linger
        self._queue: deque[LogEntry] = deque()
        self._in_flight: list[LogEntry] = []  # popped from the queue, not yet committed
        self._wake = threading.Event()
        self._flushed = threading.Condition()
        self._cycles = 0
        self.dropped = 0
        self.written = 0
        self.failed = 0
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="p13n-personalization-log", daemon=True
        )
        self._thread.start()

    def record(self, entry: LogEntry) -> bool:
        """Queue an entry; False when it was dropped (closed, or the queue is full)."""
        if self._closed or len(self._queue) >= self.capacity:
            self.dropped += 1
            return False
        self._queue.append(entry)  # deque.append is atomic: no lock on the request path
        return True

    def record_request(self, entries: list[LogEntry]) -> bool:
        """Queue every entry of one request at once (kept together in the queue and in a
        batch); False when they were dropped (closed, or the queue is full)."""
        if not entries:
            return True
        if self._closed or len(self._queue) >= self.capacity:
            self.dropped += len(entries)
            return False
        self._queue.extend(entries)  # one C call under the GIL: the entries stay adjacent
        return True

    def pending(self) -> int:
        return len(self._queue)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything queued so far is written (tests, CLI commands)."""
        if not self._thread.is_alive():
            return
        deadline = time.monotonic() + timeout
        with self._flushed:
            target = self._cycles + 2  # a cycle that started after this call has ended
            while self._cycles < target and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._wake.set()  # each cycle it waits for: the writer may linger long
                self._flushed.wait(min(left, 0.5))

    def close(self, timeout: float = 60.0) -> None:
        """Write everything queued, then stop the writer. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.linger)
            self._wake.clear()
            closing = self._closed
            self._write_queued()
            self._flush_ingest()
            with self._flushed:
                self._cycles += 1
                self._flushed.notify_all()
            if closing:
                self._write_queued()  # entries a racing `record` added meanwhile
                self._flush_ingest()
                return

    def _write_queued(self) -> None:
        """Entries move queue -> in flight -> table, each visible to `_queued` at every moment
        (the in-flight list is published before the first pop and emptied after the commit)."""
        queue = self._queue
        left = len(queue)  # what this cycle found: what arrives meanwhile waits for the next
        while queue and left > 0:
            entries: list[LogEntry] = []
            self._in_flight = entries
            while queue and len(entries) < min(self.batch, left):
                entries.append(queue.popleft())
            # the rest of the last request, so that a batch never splits one
            while queue and queue[0].request_id == entries[-1].request_id:
                entries.append(queue.popleft())
            left -= len(entries)
            self._write(entries)
            self._in_flight = []

    def _flush_ingest(self) -> None:
        if self.pipeline is None:
            return
        try:
            self.pipeline.flush_ingest()
        except Exception:  # kept for the next cycle; the writer must outlive a store hiccup
            log.exception("writing the ingest counts failed")

    def _write(self, entries: list[LogEntry]) -> None:
        try:
            rows: list[tuple[Any, ...]] = []
            for start in range(0, len(entries), 64):
                rows.extend(_row(e) for e in entries[start : start + 64])
                time.sleep(0)  # hand the GIL to request threads between small chunks
            pipeline = self.pipeline
            if pipeline is None:
                self.rows.append(rows)
            else:
                self.rows.append(rows, then=lambda conn: pipeline.write_batch(conn, rows))
            self.written += len(entries)
        except Exception:  # the writer must outlive a store hiccup; the count says what was lost
            self.failed += len(entries)
            log.exception("writing %d personalization log entries failed", len(entries))

    # -- reads -------------------------------------------------------------------------------
    def content_of(self, personalization_id: str) -> dict[str, str | None] | None:
        """contentId -> item id of a logged or queued entry; None when it was never recorded."""
        queued = self._queued(personalization_id)
        if queued is not None:
            return {c.contentId: c.id for c in queued.content}
        found = self.rows.get(personalization_id)
        if found is None:
            return None
        return {str(c["contentId"]): c.get("id") for c in found["content"]}

    def _queued(self, personalization_id: str) -> LogEntry | None:
        snapshot: list[LogEntry] = []
        for _ in range(3):
            try:
                snapshot = list(self._queue)  # copied in one C call, under the GIL
                break
            except RuntimeError:  # mutated during the copy: copy again
                continue
        for entry in [*reversed(snapshot), *self._in_flight]:
            if entry.personalization_id == personalization_id:
                return entry
        return None

    def entry(self, personalization_id: str) -> dict[str, Any] | None:
        """The logged decision with the engagement events that name it (for attribution)."""
        found = self.rows.get(personalization_id)
        if found is None:
            return None
        found["engagements"] = self.rows.engagements(personalization_id)
        return found
