"""The engine: the five steps wired over one store, with the process's `HotState`.

Writes are serialized by one lock (`Engine.lock`; SQLite has one writer anyway); reads take no
lock and are served from the hot state. One process owns a store for writing; several readers
are fine. Ingest lives here (with `IngestBatch`); the population batch paths are in
`population`, graph writes and the merge path in `graph_writes`.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from p13n.domain.errors import NotFound, StoreUnavailable
from p13n.domain.graphs import ItemGraph, ProfileGraph, profile_id_of
from p13n.domain.identity import normalize_email, normalize_phone
from p13n.domain.ingest import (
    FLOOD_CODE,
    Event,
    EventResult,
    FloodGuard,
    ImportSummary,
    IngestReport,
    Item,
)
from p13n.domain.insights import BUILTIN_INSIGHTS, InsightDefinition, insight_values
from p13n.domain.segments import DEFAULT_SEGMENTS, SegmentDefinition
from p13n.domain.services import population
from p13n.domain.services.config_repository import ConfigRepository
from p13n.domain.services.graph_writes import (
    GRAPHS_SYNCED_KEY,
    cached_profile,
    event_from_log,
    write_graphs,
)
from p13n.domain.services.group_commit import GraphWriter, GroupCommit, QueuedBatch
from p13n.domain.services.identity_state import load_resolution_state
from p13n.domain.services.ingest_batch import (
    IngestBatch,
    complete_report,
    parse_batch,
    prefetch_profiles,
)
from p13n.domain.services.state import EngineOptions, HotState
from p13n.domain.store import SqlStore, Store, Transaction, open_engine
from p13n.domain.timeutil import now_ts

__all__ = ["Engine", "sql_store"]

IMPORT_CHUNK = 5000
CHECKPOINT_EVERY = 1_000_000
_MAX_REJECTIONS_LISTED = 100


class Engine:
    def __init__(
        self,
        store: Store,
        options: EngineOptions | None = None,
        *,
        clock: Callable[[], float] = now_ts,
    ) -> None:
        self.store = store
        self.options = options or EngineOptions()
        self.now = clock
        self.lock = threading.RLock()
        self.state = HotState(
            self.options.profile_cache_size, compact_profiles=self.options.compact_profiles
        )
        self.insight_configs = ConfigRepository(store, "insight", InsightDefinition, clock=clock)
        self.segment_configs = ConfigRepository(store, "segment", SegmentDefinition, clock=clock)
        # Called with the upserted items after they are committed (e.g. to embed them);
        # a listener's failure does not undo the upsert.
        self.item_listeners: list[Callable[[list[Item]], None]] = []
        # Called with each ingest call's report and time after it committed (the pipeline
        # counts); keep them cheap: they run on the ingest caller's thread.
        self.ingest_listeners: list[Callable[[IngestReport, float], None]] = []
        per_minute = self.options.device_events_per_minute
        self.flood = FloodGuard(per_minute) if per_minute > 0 else None
        self._group = GroupCommit(self.lock, self._ingest_group)
        self.reload()
        self._writer: GraphWriter | None = None
        if self.options.write_behind_s > 0:
            self._writer = GraphWriter(
                self.checkpoint,
                lambda: len(self.state.pending_profiles),
                interval_s=self.options.write_behind_s,
                max_pending=self.options.write_behind_max,
            )

    @classmethod
    def open(cls, database_url: str, options: EngineOptions | None = None, **kwargs: Any) -> Engine:
        return cls(SqlStore(open_engine(database_url)), options, **kwargs)

    def close(self) -> None:
        """Write the pending graphs, then close the store."""
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
            self.checkpoint()
        self.store.close()

    def reload(self) -> None:
        """(Re)build the hot state from the store; also the recovery path after a failed batch.
        It needs only reads: under a store refusing writes (read-only, full) the state is
        rebuilt all the same, and the graphs it replays from the log stay pending in memory
        (served, and written once the store takes writes again)."""
        state, store = self.state, self.store
        state.clear_profiles()
        state.items = {i.id: i for i in (Item.model_validate_json(d) for d in store.load_items())}
        state.item_graphs = {
            g.item_id: g
            for g in (ItemGraph.model_validate_json(d) for d in store.load_item_graphs())
        }
        identity = state.identity
        identity.links, identity.aliases, identity.created = store.load_identity()
        load_resolution_state(store, identity)
        state.consent = store.load_consent_state()
        try:
            self.insight_configs.put_missing(BUILTIN_INSIGHTS)
            self.segment_configs.put_missing(DEFAULT_SEGMENTS)
        except StoreUnavailable:  # stored at the first open; a refused write changes nothing
            pass
        state.insights = self.insight_configs.list()
        state.segments = self.segment_configs.list()
        self._catch_up()

    def _batch(self, conn: Transaction, now: float, *, defer: bool) -> IngestBatch:
        return IngestBatch(self.state, self.store, conn, now, options=self.options, defer=defer)

    def _catch_up(self) -> int:
        """Bring the graphs up to the log: replay events logged after the last checkpoint
        (only after a crash during a bulk import). Returns the number of events replayed."""
        marker = self.store.get_meta(GRAPHS_SYNCED_KEY)
        synced = self.state.synced_seq = None if marker is None else int(marker)
        if synced is None:
            return 0
        replayed = 0
        try:
            with self.store.transaction() as conn:
                batch = self._batch(conn, self.now(), defer=True)
                for rows in self.store.iter_events_after(synced):
                    for row in rows:
                        batch.apply_logged(event_from_log(row))
                    replayed += len(rows)
                batch.finish()  # the replayed graphs are pending (and served) from here
                write_graphs(self.state, self.store, conn, self.now())
        except StoreUnavailable:  # they stay pending; the graph writer or a checkpoint retries
            pass
        return replayed

    def checkpoint(self) -> None:
        """Write the graphs left pending (by write-behind or a deferred import), computing
        insights and segments; the batch paths and readers of stored documents call it first."""
        with self.lock:
            state = self.state
            if state.pending_profiles or state.pending_items or state.synced_seq is not None:
                with self.store.transaction() as conn:
                    write_graphs(state, self.store, conn, self.now())

    # -- ingest ------------------------------------------------------------------------------
    def ingest(
        self,
        raws: list[Any],
        *,
        now: float | None = None,
        defer: bool = False,
        bounded: bool = False,
    ) -> IngestReport:
        """Validate, dedupe and apply a batch; bad events don't stop good ones. Returns once the
        accepted events are committed (concurrent calls share one transaction: `group_commit`).

        The changed graphs are computed at once (a read right after sees the event) and, with
        write-behind on, written by the graph writer shortly after; `defer` (bulk imports)
        skips the compute too and leaves the writing to `checkpoint`. Either way a crash
        before the graphs are written is repaired from the log when the store reopens.
        `bounded` (the public events route) holds each sender to the flood bound.
        """
        now = self.now() if now is None else now
        report, parsed = parse_batch(raws, now)
        guard = self.flood if bounded else None
        if guard is not None:
            parsed = self._bounded(parsed, report, now)
        queued = QueuedBatch(parsed, now, defer)
        try:
            self._group.submit(queued)
        except Exception:
            if guard is not None:  # nothing was stored: the senders' counts go back
                for _, event in parsed:
                    guard.release(event.device_id or event.individual_id or "", now)
            raise
        complete_report(report, queued.results)
        if self._writer is not None and not defer:
            self._writer.nudge()
        for listener in self.ingest_listeners:
            listener(report, now)
        return report

    def _bounded(
        self, parsed: list[tuple[int, Event]], report: IngestReport, now: float
    ) -> list[tuple[int, Event]]:
        """The events within their sender's bound; the others answered rejected (`flood`)."""
        guard = self.flood
        assert guard is not None
        kept = []
        for index, event in parsed:
            sender = event.device_id or event.individual_id or ""
            if guard.admit(sender, now):
                kept.append((index, event))
            else:
                report.results.append(
                    EventResult(
                        index=index,
                        eventId=event.event_id,
                        status="rejected",
                        reason=guard.message(),
                        code=FLOOD_CODE,
                    )
                )
        return kept

    def _ingest_group(self, group: list[QueuedBatch]) -> None:
        """One transaction for the queued batches (called with the write lock held)."""
        events = [e for queued in group for _, e in queued.parsed]
        defer = group[0].defer
        behind = defer or self._writer is not None
        try:
            with self.store.transaction() as conn:
                existing = self.store.existing_event_ids(conn, [e.event_id for e in events])
                prefetch_profiles(self.state, self.store, events)
                batch = self._batch(conn, max(q.now for q in group), defer=behind)
                for queued in group:
                    batch.add_queued(queued.parsed, queued.results, existing)
                batch.finish(compute=not defer)
        except Exception:
            self.reload()
            raise

    def import_events(
        self,
        rows: Iterable[Any],
        *,
        chunk: int = IMPORT_CHUNK,
        checkpoint_every: int = CHECKPOINT_EVERY,
        on_progress: Callable[[int], None] | None = None,
    ) -> ImportSummary:
        """Load history through the same validation as `ingest`, one transaction per chunk, with
        the graphs written at checkpoints (every `checkpoint_every` rows and at the end)."""
        started = time.perf_counter()
        summary = ImportSummary()
        buffer: list[Any] = []

        since_checkpoint = 0
        # The caches hold millions of small acyclic objects; cyclic GC passes over them would
        # cost a third of the import time and free nothing, so it is paused during the import.
        gc_was_enabled = gc.isenabled()
        gc.disable()

        def run() -> None:
            nonlocal since_checkpoint
            report = self.ingest(buffer, defer=True)
            since_checkpoint += len(buffer)
            if since_checkpoint >= checkpoint_every:
                self.checkpoint()
                since_checkpoint = 0
            for r in report.results:
                if r.status == "rejected" and len(summary.rejections) < _MAX_REJECTIONS_LISTED:
                    summary.rejections.append((summary.rows + r.index + 1, r.reason or ""))
                if r.tracked is False:
                    summary.untracked += 1
            summary.rows += len(buffer)
            summary.accepted += report.accepted
            summary.duplicates += report.duplicates
            summary.rejected += report.rejected
            if on_progress is not None:
                on_progress(len(buffer))
            buffer.clear()

        try:
            for row in rows:
                buffer.append(row)
                if len(buffer) >= chunk:
                    run()
            if buffer:
                run()
        finally:
            self.checkpoint()
            if gc_was_enabled:
                gc.enable()
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    # -- reads -------------------------------------------------------------------------------
    def resolve(self, identifier: str, *, honor_consent: bool = True) -> str | None:
        """Unified id for a unified id, alias, device id, individual id, email or phone; None
        for a person who withdrew Tracking consent (`withdrew_consent`), so that nothing
        personalizes from their past data, unless `honor_consent` is False (privacy requests
        and identity administration, which must still find them)."""
        uid = self._resolve(identifier)
        if uid is not None and honor_consent and self.withdrew_consent(identifier, uid):
            return None
        return uid

    def withdrew_consent(self, identifier: str, unified_id: str) -> bool:
        """True when the identifier or the person's latest Tracking consent is Opt Out."""
        consent = self.state.consent
        return consent.get(identifier) == "Opt Out" or consent.get(unified_id) == "Opt Out"

    def _resolve(self, identifier: str) -> str | None:
        ident = self.state.identity
        if identifier in ident.created:
            return ident.resolve(identifier)
        for kind in ("device", "individual"):
            uid = ident.lookup(kind, identifier)
            if uid is not None:
                return uid
        if "@" in identifier:
            return ident.lookup("email", normalize_email(identifier))
        if sum(ch.isdigit() for ch in identifier) >= 7:
            return ident.lookup("phone", normalize_phone(identifier))
        return None

    def forget_people(self, unified_ids: set[str], keys: set[str]) -> None:
        """Drop an erased person from the hot state (the store's rows are gone already): the
        cached and pending profiles of `unified_ids`, their identity state, and the consent
        of every one of their `keys`. Cheaper than `reload` by the store's size."""
        with self.lock:
            state = self.state
            for uid in unified_ids:
                state.profiles.discard(uid)
                state.pending_profiles.pop(uid, None)
                state.computed.discard(uid)
            state.identity.forget(unified_ids, keys)
            for key in keys | unified_ids:
                state.consent.pop(key, None)

    def load_profile(self, uid: str) -> ProfileGraph | None:
        return cached_profile(self.state, self.store, uid)

    def warm_profiles(self, limit: int | None = None) -> int:
        """Load the most recently updated profiles into the cache (a server does it at start,
        so that the hot path does not parse documents). Returns how many were loaded."""
        self.checkpoint()
        profiles = self.state.profiles
        limit = profiles.capacity if limit is None else min(limit, profiles.capacity)
        loaded = 0
        for docs in self.store.iter_recent_profile_docs(limit):
            for doc in reversed(docs):  # older first, so the newest end up most recently used
                uid = profile_id_of(doc)
                if uid not in profiles:
                    profiles.put_doc(uid, doc)
                    loaded += 1
        return loaded

    def get_profile(self, identifier: str) -> ProfileGraph:
        """The profile graph, with insight values brought to the current time (windows move)."""
        uid = self.resolve(identifier)
        profile = self.load_profile(uid) if uid else None
        if profile is not None:
            profile.insights = insight_values(profile.state, self.state.insights, self.now())
        if profile is None:
            raise NotFound(
                f"no profile for '{identifier}'.",
                hint="Use a device id, individual id, unified id, email or phone that has sent a tracked event.",
            )
        return profile

    def get_item(self, item_id: str) -> tuple[Item, ItemGraph]:
        item = self.state.items.get(item_id)
        if item is None:
            raise NotFound(
                f"no item '{item_id}'.",
                hint="Import it with PUT /items/{id} or `p13n import catalog`.",
            )
        return item, self.state.item_graphs.get(item_id) or ItemGraph(item_id=item_id)

    # -- catalog -----------------------------------------------------------------------------
    def upsert_items(self, items: list[Item]) -> int:
        """Create or replace items; builds an item graph for each new one. Returns the count."""
        now = self.now()
        state = self.state
        with self.lock:
            with self.store.transaction() as conn:
                self.store.upsert_items(
                    conn,
                    [
                        {
                            "id": i.id,
                            "type": i.type,
                            "doc": i.model_dump_json(),
                            "placeholder": i.placeholder,
                            "updated_at": now,
                        }
                        for i in items
                    ],
                )
                new_graphs = [
                    ItemGraph(item_id=i.id) for i in items if i.id not in state.item_graphs
                ]
                self.store.upsert_item_graphs(
                    conn,
                    [
                        {"item_id": g.item_id, "doc": g.model_dump_json(), "updated_at": now}
                        for g in new_graphs
                    ],
                )
            for item in items:
                state.items[item.id] = item
            for graph in new_graphs:
                state.item_graphs[graph.item_id] = graph
        for listener in self.item_listeners:
            listener(items)
        return len(items)

    # -- configuration: insights and segments (population.py) -------------------------------
    def put_insight(self, definition: InsightDefinition) -> int:
        """Store a definition and backfill its running state from the event log."""
        with self.lock:
            self.checkpoint()  # the batch paths read and write stored documents
            return population.put_insight(
                self.state, self.store, self.insight_configs, definition, self.now()
            )

    def delete_insight(self, name: str) -> None:
        with self.lock:
            self.checkpoint()  # the batch paths read and write stored documents
            population.delete_insight(self.state, self.insight_configs, name)

    def put_segment(self, definition: SegmentDefinition) -> int:
        """Store a definition and re-evaluate the population's membership."""
        with self.lock:
            self.checkpoint()  # the batch paths read and write stored documents
            return population.put_segment(
                self.state, self.store, self.segment_configs, definition, self.now()
            )

    def delete_segment(self, name: str) -> None:
        """Delete a segment no other segment refers to; every profile leaves it."""
        with self.lock:
            self.checkpoint()  # the batch paths read and write stored documents
            population.delete_segment(
                self.state, self.store, self.segment_configs, name, self.now()
            )

    # -- batch paths (population.py) ---------------------------------------------------------
    def recompute_segments(self, *, on_progress: Callable[[int], None] | None = None) -> int:
        """Re-evaluate every segment for the whole population (windows move with time)."""
        with self.lock:
            self.checkpoint()  # the batch paths read and write stored documents
            return population.recompute_segments(self.state, self.store, self.now(), on_progress)

    def recompute_insights(self, *, on_progress: Callable[[int], None] | None = None) -> int:
        """Insight values as SQL over the event log, written into every profile, then segments."""
        with self.lock:
            self.checkpoint()  # the batch paths read and write stored documents
            return population.recompute_insights(self.state, self.store, self.now(), on_progress)

    def rebuild_profiles(self, *, on_progress: Callable[[int], None] | None = None) -> int:
        """Replay the event log into fresh profiles (after a definition change or to repair)."""
        with self.lock:
            self.checkpoint()  # the batch paths read and write stored documents
            return population.rebuild_profiles(self.state, self.store, self.now(), on_progress)

    def stats(self) -> dict[str, Any]:
        self.checkpoint()  # count the profiles written behind too
        return {
            "events": self.store.count_events(),
            "profiles": self.store.count_profiles(),
            "items": len(self.state.items),
            "insights": [d.name for d in self.state.insights],
            "segments": [d.name for d in self.state.segments],
        }


def sql_store(engine: Engine) -> SqlStore:
    """The engine's store as a `SqlStore`, for the parts that are SQL-only on purpose (identity
    resolution's tables, the personalization log, API keys: see the store port's docstring)."""
    if not isinstance(engine.store, SqlStore):
        raise TypeError(f"this needs the SQL store, not {type(engine.store).__name__}.")
    return engine.store
