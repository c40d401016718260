"""The engine: the five steps wired over one store, with the in-process caches of the hot path.

Writes are serialized by one lock (SQLite has one writer anyway); reads take no lock and are
served from the caches. One process owns a store for writing; several readers are fine.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from p13n.domain.caches import LruCache
from p13n.domain.errors import Conflict, InvalidInput, NotFound
from p13n.domain.graphs.item_graph import ItemGraph
from p13n.domain.graphs.profile import ProfileGraph
from p13n.domain.identity import Identifier, IdentityLinks, normalize_email, normalize_phone
from p13n.domain.identity.state import load_resolution_state
from p13n.domain.ingest.catalog import Item
from p13n.domain.ingest.events import Event
from p13n.domain.ingest.report import EventResult, ImportSummary, IngestReport
from p13n.domain.ingest.validate import parse_event
from p13n.domain.insights import (
    BUILTIN_INSIGHTS,
    InsightDefinition,
    insight_values,
    recompute_insights,
    validate_insight_set,
)
from p13n.domain.pipeline import (
    GRAPHS_SYNCED_KEY,
    IngestBatch,
    compute_profile,
    event_from_log,
    replay_profile,
    write_graphs,
)
from p13n.domain.segments import (
    DEFAULT_SEGMENTS,
    SegmentDefinition,
    leave_segment,
    referenced_segments,
    update_memberships,
    validate_segment_set,
)
from p13n.domain.store import SqlStore, open_engine
from p13n.domain.timeutil import now_ts

__all__ = ["Engine", "EngineOptions"]

IMPORT_CHUNK = 5000
CHECKPOINT_EVERY = 1_000_000
_MAX_REJECTIONS_LISTED = 100


@dataclass(frozen=True)
class EngineOptions:
    """Tenant policy and cache sizes (built from settings by the composition root)."""

    require_consent_sdk: bool = True
    require_consent_flat: bool = False
    profile_cache_size: int = 100_000


class Engine:
    def __init__(
        self,
        store: SqlStore,
        options: EngineOptions | None = None,
        *,
        clock: Callable[[], float] = now_ts,
    ) -> None:
        self.store = store
        self.options = options or EngineOptions()
        self.now = clock
        self.lock = threading.RLock()
        self.profiles: LruCache[ProfileGraph] = LruCache(self.options.profile_cache_size)
        self.items: dict[str, Item] = {}
        self.item_graphs: dict[str, ItemGraph] = {}
        self.identity = IdentityLinks()
        self.identifier = Identifier(self.identity)
        self.consent: dict[str, str] = {}
        self.pending_profiles: dict[str, ProfileGraph] = {}
        self.pending_items: set[str] = set()
        # None while the graphs reflect the whole log; else the log seq they reflect (bulk import).
        self.synced_seq: int | None = None
        self.insights: list[InsightDefinition] = []
        self.segments: list[SegmentDefinition] = []
        # Called with the upserted items after they are committed (e.g. to embed them);
        # a listener's failure does not undo the upsert.
        self.item_listeners: list[Callable[[list[Item]], None]] = []
        self.reload()

    @classmethod
    def open(cls, database_url: str, options: EngineOptions | None = None, **kwargs: Any) -> Engine:
        return cls(SqlStore(open_engine(database_url)), options, **kwargs)

    def close(self) -> None:
        self.store.close()

    def reload(self) -> None:
        """(Re)build every cache from the store; also the recovery path after a failed batch."""
        self.profiles.clear()
        self.pending_profiles.clear()
        self.pending_items.clear()
        self.items = {
            i.id: i for i in (Item.model_validate_json(d) for d in self.store.load_items())
        }
        self.item_graphs = {
            g.item_id: g
            for g in (ItemGraph.model_validate_json(d) for d in self.store.load_item_graphs())
        }
        links, aliases, created = self.store.load_identity()
        self.identity.links, self.identity.aliases, self.identity.created = links, aliases, created
        load_resolution_state(self.store, self.identity)
        self.consent = self.store.load_consent_state()
        now = self.now()
        self.store.put_configs_if_missing(
            "insight", [(d.name, d.model_dump_json()) for d in BUILTIN_INSIGHTS], now
        )
        self.store.put_configs_if_missing(
            "segment", [(d.name, d.model_dump_json()) for d in DEFAULT_SEGMENTS], now
        )
        self.insights = [
            InsightDefinition.model_validate_json(d) for d in self.store.list_config("insight")
        ]
        self.segments = [
            SegmentDefinition.model_validate_json(d) for d in self.store.list_config("segment")
        ]
        self._catch_up()

    def _catch_up(self) -> int:
        """Bring the graphs up to the log: replay events logged after the last checkpoint
        (only after a crash during a bulk import). Returns the number of events replayed."""
        marker = self.store.get_meta(GRAPHS_SYNCED_KEY)
        self.synced_seq = None if marker is None else int(marker)
        if self.synced_seq is None:
            return 0
        synced = self.synced_seq
        replayed = 0
        with self.store.transaction() as conn:
            batch = IngestBatch(self, conn, self.now(), defer=True)
            for rows in self.store.iter_events_after(synced):
                for row in rows:
                    batch.apply_logged(event_from_log(row))
                replayed += len(rows)
            batch.finish()
            write_graphs(self, conn, self.now())
        return replayed

    def checkpoint(self) -> None:
        """Write the graphs a deferred import left pending (computing insights and segments)."""
        with self.lock, self.store.transaction() as conn:
            write_graphs(self, conn, self.now())

    # -- ingest ------------------------------------------------------------------------------
    def ingest(
        self, raws: list[Any], *, now: float | None = None, defer: bool = False
    ) -> IngestReport:
        """Validate, dedupe and apply a batch in one transaction; bad events don't stop good ones.

        `defer` (bulk imports) commits the events but leaves the changed graphs pending in
        memory until `checkpoint`, so a profile touched by many batches is computed and written
        once; a crash before the checkpoint is repaired from the log when the store reopens.
        """
        now = self.now() if now is None else now
        report = IngestReport()
        parsed: list[tuple[int, Event]] = []
        for index, raw in enumerate(raws):
            try:
                parsed.append((index, parse_event(raw, now=now)))
            except InvalidInput as exc:
                event_id = raw.get("eventId") if isinstance(raw, dict) else None
                report.results.append(
                    EventResult(
                        index=index,
                        eventId=event_id if isinstance(event_id, str) else None,
                        status="rejected",
                        reason=exc.message,
                    )
                )
        with self.lock:
            try:
                with self.store.transaction() as conn:
                    existing = self.store.existing_event_ids(conn, [e.event_id for _, e in parsed])
                    self._prefetch_profiles([e for _, e in parsed])
                    batch = IngestBatch(self, conn, now, defer=defer)
                    for index, event in parsed:
                        if event.event_id in existing:
                            report.results.append(
                                EventResult(index=index, eventId=event.event_id, status="duplicate")
                            )
                            continue
                        existing.add(event.event_id)
                        uid, tracked = batch.add(event)
                        report.results.append(
                            EventResult(
                                index=index,
                                eventId=event.event_id,
                                status="accepted",
                                unifiedIndividualId=uid,
                                tracked=tracked,
                            )
                        )
                    batch.finish()
            except Exception:
                self.reload()
                raise
        report.results.sort(key=lambda r: r.index)
        for r in report.results:
            if r.status == "accepted":
                report.accepted += 1
            elif r.status == "duplicate":
                report.duplicates += 1
            else:
                report.rejected += 1
        return report

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

    def _prefetch_profiles(self, events: list[Event]) -> None:
        """Load the batch's known profiles that are not cached in one query instead of one each."""
        wanted: set[str] = set()
        for event in events:
            for kind, value in (("individual", event.individual_id), ("device", event.device_id)):
                uid = self.identity.lookup(kind, value) if value else None
                if (
                    uid is not None
                    and uid not in self.pending_profiles
                    and self.profiles.get(uid) is None
                ):
                    wanted.add(uid)
        for doc in self.store.get_profile_docs(sorted(wanted)):
            profile = ProfileGraph.model_validate_json(doc)
            self.profiles.put(profile.unified_id, profile)

    # -- reads -------------------------------------------------------------------------------
    def resolve(self, identifier: str) -> str | None:
        """Unified id for a unified id, alias, device id, individual id, email or phone."""
        ident = self.identity
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

    def load_profile(self, uid: str) -> ProfileGraph | None:
        profile = self.profiles.get(uid)
        if profile is None:
            doc = self.store.get_profile_doc(uid)
            if doc is None:
                return None
            profile = ProfileGraph.model_validate_json(doc)
            self.profiles.put(uid, profile)
        return profile

    def warm_profiles(self, limit: int | None = None) -> int:
        """Load the most recently updated profiles into the cache (a server does it at start,
        so that the hot path does not parse documents). Returns how many were loaded."""
        limit = self.profiles.capacity if limit is None else min(limit, self.profiles.capacity)
        loaded = 0
        for docs in self.store.iter_recent_profile_docs(limit):
            for doc in reversed(docs):  # older first, so the newest end up most recently used
                profile = ProfileGraph.model_validate_json(doc)
                if self.profiles.get(profile.unified_id) is None:
                    self.profiles.put(profile.unified_id, profile)
                    loaded += 1
        return loaded

    def get_profile(self, identifier: str) -> ProfileGraph:
        """The profile graph, with insight values brought to the current time (windows move)."""
        uid = self.resolve(identifier)
        profile = self.load_profile(uid) if uid else None
        if profile is not None:
            profile.insights = insight_values(profile.state, self.insights, self.now())
        if profile is None:
            raise NotFound(
                f"no profile for '{identifier}'.",
                hint="Use a device id, individual id, unified id, email or phone that has sent a tracked event.",
            )
        return profile

    def get_item(self, item_id: str) -> tuple[Item, ItemGraph]:
        item = self.items.get(item_id)
        if item is None:
            raise NotFound(
                f"no item '{item_id}'.",
                hint="Import it with PUT /items/{id} or `p13n import catalog`.",
            )
        return item, self.item_graphs.get(item_id) or ItemGraph(item_id=item_id)

    # -- catalog -----------------------------------------------------------------------------
    def upsert_items(self, items: list[Item]) -> int:
        """Create or replace items; builds an item graph for each new one. Returns the count."""
        now = self.now()
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
                    ItemGraph(item_id=i.id) for i in items if i.id not in self.item_graphs
                ]
                self.store.upsert_item_graphs(
                    conn,
                    [
                        {"item_id": g.item_id, "doc": g.model_dump_json(), "updated_at": now}
                        for g in new_graphs
                    ],
                )
            for item in items:
                self.items[item.id] = item
            for graph in new_graphs:
                self.item_graphs[graph.item_id] = graph
        for listener in self.item_listeners:
            listener(items)
        return len(items)

    # -- configuration: insights and segments ------------------------------------------------
    def put_insight(self, definition: InsightDefinition) -> int:
        """Store a definition and backfill its running state from the event log."""
        with self.lock:
            insights = [d for d in self.insights if d.name != definition.name] + [definition]
            validate_insight_set(insights)
            version = self.store.put_config(
                "insight", definition.name, definition.model_dump_json(), self.now()
            )
            self.insights = insights
            self.rebuild_profiles()
        return version

    def delete_insight(self, name: str) -> None:
        with self.lock:
            remaining = [d for d in self.insights if d.name != name]
            validate_insight_set(remaining)
            if not self.store.delete_config("insight", name):
                raise NotFound(f"no insight '{name}'.", hint="GET /admin/insights lists them.")
            self.insights = remaining

    def put_segment(self, definition: SegmentDefinition) -> int:
        with self.lock:
            segments = [d for d in self.segments if d.name != definition.name] + [definition]
            validate_segment_set(segments)
            version = self.store.put_config(
                "segment", definition.name, definition.model_dump_json(), self.now()
            )
            self.segments = segments
            self.recompute_segments()
        return version

    def delete_segment(self, name: str) -> None:
        with self.lock:
            users = [d.name for d in self.segments if name in referenced_segments(d.rule)]
            if users:
                raise Conflict(
                    f"segment '{name}' is used by {', '.join(users)}.",
                    hint="Change or delete those segments first.",
                )
            if not self.store.delete_config("segment", name):
                raise NotFound(f"no segment '{name}'.", hint="GET /admin/segments lists them.")
            self.segments = [d for d in self.segments if d.name != name]
            now = self.now()

            def change(profile: ProfileGraph) -> ProfileGraph:
                leave_segment(profile, name, now)
                return profile

            self._rewrite_profiles(change, None)

    # -- batch paths -------------------------------------------------------------------------
    def _rewrite_profiles(
        self,
        change: Callable[[ProfileGraph], ProfileGraph],
        on_progress: Callable[[int], None] | None,
    ) -> int:
        count = 0
        now = self.now()
        for docs in self.store.iter_profile_docs():
            rows = []
            for doc in docs:
                profile = change(ProfileGraph.model_validate_json(doc))
                rows.append(
                    {
                        "unified_id": profile.unified_id,
                        "doc": profile.model_dump_json(),
                        "updated_at": now,
                    }
                )
                if self.profiles.get(profile.unified_id) is not None:
                    self.profiles.put(profile.unified_id, profile)
            with self.store.transaction() as conn:
                self.store.upsert_profiles(conn, rows)
            count += len(rows)
            if on_progress is not None:
                on_progress(len(rows))
        return count

    def recompute_segments(self, *, on_progress: Callable[[int], None] | None = None) -> int:
        """Re-evaluate every segment for the whole population (windows move with time)."""
        now = self.now()

        def change(profile: ProfileGraph) -> ProfileGraph:
            update_memberships(profile, self.segments, now)
            return profile

        with self.lock:
            return self._rewrite_profiles(change, on_progress)

    def recompute_insights(self, *, on_progress: Callable[[int], None] | None = None) -> int:
        """Insight values as SQL over the event log, written into every profile, then segments."""
        now = self.now()
        with self.lock:
            values = recompute_insights(self.store.engine, self.insights, now)

            def change(profile: ProfileGraph) -> ProfileGraph:
                profile.insights = values.get(profile.unified_id, {})
                update_memberships(profile, self.segments, now)
                return profile

            return self._rewrite_profiles(change, on_progress)

    def rebuild_profiles(self, *, on_progress: Callable[[int], None] | None = None) -> int:
        """Replay the event log into fresh profiles (after a definition change or to repair)."""
        now = self.now()
        with self.lock:

            def change(profile: ProfileGraph) -> ProfileGraph:
                with self.store.transaction() as conn:
                    fresh = replay_profile(self, conn, profile.unified_id)
                fresh.segments, fresh.segment_exits = profile.segments, profile.segment_exits
                compute_profile(self, fresh, now)
                return fresh

            return self._rewrite_profiles(change, on_progress)

    def stats(self) -> dict[str, Any]:
        return {
            "events": self.store.count_events(),
            "profiles": self.store.count_profiles(),
            "items": len(self.items),
            "insights": [d.name for d in self.insights],
            "segments": [d.name for d in self.segments],
        }
