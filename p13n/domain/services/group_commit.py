"""Group commit and write-behind: the two halves of a cheap durable ingest.

Group commit: concurrent `Engine.ingest` callers queue their parsed batches; whichever caller
takes the write lock first runs every queued batch of its kind in ONE transaction (one
duplicate check, one insert per table, one commit and fsync) and hands each caller its own
report. A caller whose batch ran inside another's transaction returns as soon as that commit
did, so a reply still means "committed".

Write-behind: online batches commit the events (the log is the source of truth) and leave the
changed profile and item documents pending in memory; `GraphWriter` writes them from a daemon
thread every `interval_s` (or sooner when many are pending). A crash before that write is
repaired at the next start by replaying the log after the lag marker (`Engine._catch_up`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GraphWriter", "GroupCommit", "QueuedBatch"]

_log = logging.getLogger("p13n.ingest")


@dataclass(eq=False)
class QueuedBatch:
    """One caller's parsed events waiting for (or done by) a group transaction."""

    parsed: list[tuple[int, Any]]
    now: float
    defer: bool
    results: list[Any] = field(default_factory=list)
    done: bool = False
    error: BaseException | None = None


class GroupCommit:
    """The queue of batches waiting for the write lock; `run_group` does one transaction."""

    def __init__(
        self, lock: threading.RLock, run_group: Callable[[list[QueuedBatch]], None]
    ) -> None:
        self._lock, self._run_group = lock, run_group
        self._queue: list[QueuedBatch] = []
        self._queue_lock = threading.Lock()

    def submit(self, batch: QueuedBatch) -> None:
        """Returns once `batch` is committed (by this thread or another); raises its error."""
        with self._queue_lock:
            self._queue.append(batch)
        with self._lock:
            if not batch.done:
                group = self._take(batch.defer)
                try:
                    self._run_group(group)
                except BaseException as exc:
                    for queued in group:
                        queued.error = exc
                    raise
                finally:
                    for queued in group:
                        queued.done = True
        if batch.error is not None:
            raise batch.error

    def _take(self, defer: bool) -> list[QueuedBatch]:
        """Every queued batch of the same kind, in arrival order (the others wait their turn)."""
        with self._queue_lock:
            group = [b for b in self._queue if b.defer == defer]
            self._queue = [b for b in self._queue if b.defer != defer]
        return group


class GraphWriter:
    """Writes pending graphs from a daemon thread: every `interval_s`, or at once when
    `pending()` passes `max_pending`; `stop` writes what is left."""

    def __init__(
        self,
        write: Callable[[], None],
        pending: Callable[[], int],
        *,
        interval_s: float,
        max_pending: int,
    ) -> None:
        self._write, self._pending = write, pending
        self._interval, self._max = interval_s, max_pending
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="p13n-graph-writer", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Called after each online batch: wakes the writer early when much is pending."""
        if self._pending() >= self._max:
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._write_once()

    def _write_once(self) -> None:
        if not self._pending():
            return
        try:
            self._write()
        except Exception:  # the graphs stay pending; the next round (or a restart) retries
            _log.exception("writing pending graphs failed; they stay pending")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
