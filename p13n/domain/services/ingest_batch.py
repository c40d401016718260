"""One transaction of ingest: consent, identify, update graphs, compute, then write everything.

The steps run in the order of DESIGN.md for each event; the compute step (insight values and
segment membership) runs once per touched profile at the end of the batch, so a batch of a
thousand events by one person evaluates their segments once. The batch works on the process's
`HotState` and the store port; it knows nothing of the engine that opens it.
"""

from __future__ import annotations

from typing import Any

import orjson

from p13n.domain.errors import EventRejected, InvalidInput
from p13n.domain.graphs import (
    ItemGraph,
    ProfileGraph,
    apply_event_to_item_graphs,
    apply_event_to_profile,
    new_profile,
    profile_id_of,
)
from p13n.domain.identity import LinkChange
from p13n.domain.ingest import Event, EventResult, IngestReport, Item, parse_event
from p13n.domain.insights import apply_event_insights
from p13n.domain.services.graph_writes import (
    GRAPHS_SYNCED_KEY,
    cached_profile,
    compute_profile,
    merge_individuals,
    write_graphs,
)
from p13n.domain.services.state import EngineOptions, HotState
from p13n.domain.store import Store, Transaction

__all__ = ["IngestBatch", "complete_report", "parse_batch", "prefetch_profiles"]


class IngestBatch:
    """Collects the rows of one transaction; `add` each event, then `finish`."""

    def __init__(
        self,
        state: HotState,
        store: Store,
        conn: Transaction,
        now: float,
        *,
        options: EngineOptions,
        defer: bool = False,
    ) -> None:
        self.state, self.store, self.conn, self.now = state, store, conn, now
        self.options, self.defer = options, defer
        # The first deferred batch notes how far the graphs reflect the log (its head before it).
        starts_lag = defer and state.synced_seq is None
        self.log_head = store.max_event_seq(conn) if starts_lag else None
        self.event_rows: list[dict[str, Any]] = []
        self.consent_rows: list[dict[str, Any]] = []
        self.consent_state_rows: dict[str, dict[str, Any]] = {}
        self.individual_rows: list[dict[str, Any]] = []
        self.link_rows: list[dict[str, Any]] = []
        self.source_rows: list[dict[str, Any]] = []
        self.placeholder_rows: list[dict[str, Any]] = []
        self.dirty_profiles: dict[str, ProfileGraph] = {}
        self.dirty_items: set[str] = set()

    # -- per event ---------------------------------------------------------------------------
    def add_queued(
        self, parsed: list[tuple[int, Event]], results: list[EventResult], existing: set[str]
    ) -> None:
        """Add one caller's parsed events, answering each in `results`; `existing` (ids in
        the log, then the ids added) is shared by the batches of one transaction."""
        for index, event in parsed:
            if event.event_id in existing:
                results.append(EventResult(index=index, eventId=event.event_id, status="duplicate"))
                continue
            existing.add(event.event_id)
            uid, tracked = self.add(event)
            results.append(
                EventResult(
                    index=index,
                    eventId=event.event_id,
                    status="accepted",
                    unifiedIndividualId=uid,
                    tracked=tracked,
                )
            )

    def add(self, event: Event) -> tuple[str | None, bool]:
        """Returns (unified id, tracked); untracked events are kept only as consent records."""
        if not self._tracked(event):
            self.consent_rows.append(
                {
                    "event_id": event.event_id,
                    "subject": event.subject,
                    "ts": event.ts,
                    "interaction": event.interaction,
                    "status": event.consent or self.state.consent.get(event.subject),
                    "provider": event.consent_provider,
                }
            )
            return None, False
        change = self.state.identifier.identify(event)
        self._record_identity(event, change)
        uid = change.unified_id
        if change.merged:
            profile = self._merge(change)
        else:
            profile = self._profile(uid, event.ts, known=not change.new_individual)
        event.unified_id = uid
        self._attach_item(event)
        self._apply(profile, event)
        self.event_rows.append(_event_row(event))
        return uid, True

    def apply_logged(self, event: Event) -> None:
        """Re-apply an event that is already in the log (recovery of graphs behind the log)."""
        assert event.unified_id is not None
        self._apply(self._profile(event.unified_id, event.ts, known=True), event)

    def _apply(self, profile: ProfileGraph, event: Event) -> None:
        apply_event_to_item_graphs(self._graph, profile, event, self.state.items)
        apply_event_to_profile(profile, event)
        apply_event_insights(profile.state, self.state.insights, event)
        self.dirty_profiles[profile.unified_id] = profile
        self.state.computed.discard(profile.unified_id)

    def _person_of(self, event: Event) -> str | None:
        """The unified id the event's device or individual id already belongs to, if any."""
        identity = self.state.identity
        if event.device_id and (uid := identity.lookup("device", event.device_id)):
            return uid
        if event.individual_id:
            return identity.lookup("individual", event.individual_id)
        return None

    def _tracked(self, event: Event) -> bool:
        """Whether the event may be used. A Tracking consent the event states is recorded
        against its device and individual ids and against the person they belong to, so a
        withdrawal on one device stops every device of that person at once. A device's own
        statement holds for it; the person's latest one holds for devices that stated none
        (so opting in again on one device restores that device, not one that opted out)."""
        consent = self.state.consent
        person = self._person_of(event)
        if event.consent is not None:
            for subject in {event.device_id, event.individual_id, person} - {None}:
                assert subject is not None
                consent[subject] = event.consent
                self.consent_state_rows[subject] = {
                    "subject": subject,
                    "status": event.consent,
                    "provider": event.consent_provider,
                    "updated_at": event.ts,
                }
            status: str | None = event.consent
        else:
            status = consent.get(event.device_id or "") or consent.get(event.individual_id or "")
            if person is not None and consent.get(person) == "Opt Out":
                status = "Opt Out"
        opts = self.options
        required = opts.require_consent_sdk if event.shape == "sdk" else opts.require_consent_flat
        return status == "Opt In" if required else status != "Opt Out"

    def _record_identity(self, event: Event, change: LinkChange) -> None:
        if change.new_individual:
            self.individual_rows.append(
                {"unified_id": change.unified_id, "created_at": event.ts, "merged_into": None}
            )
        for kind, value in change.new_links:
            self.link_rows.append(
                {
                    "kind": kind,
                    "value": value,
                    "unified_id": change.unified_id,
                    "linked_at": event.ts,
                }
            )
            self.source_rows.append(
                {
                    "id": f"{kind}:{value}",
                    "source": "events",
                    "source_record_id": value,
                    "unified_id": change.unified_id,
                    "data": orjson.dumps(
                        {"kind": kind, "value": value, "event_id": event.event_id}
                    ).decode(),
                    "updated_at": event.ts,
                }
            )
        self.source_rows.extend(change.source_rows)  # identity events' source records

    def _profile(self, uid: str, ts: float, *, known: bool) -> ProfileGraph:
        state = self.state
        profile = self.dirty_profiles.get(uid) or state.pending_profiles.get(uid)
        if profile is None and known:
            profile = cached_profile(state, self.store, uid)
        if profile is None:
            profile = new_profile(uid, ts)
            state.profiles.put(uid, profile)
        return profile

    def _merge(self, change: LinkChange) -> ProfileGraph:
        """Two people turned out to be one: write what came before, then merge (one path)."""
        self.flush()
        for loser in change.merged:
            self.dirty_profiles.pop(loser, None)
        uid = change.unified_id
        rebuilt = merge_individuals(
            self.state, self.store, self.conn, [(uid, change.merged)], self.now
        )
        return rebuilt[uid]

    def _attach_item(self, event: Event) -> None:
        items = self.state.items
        ids = [ln.item_id for ln in event.lines]
        if event.item_id and event.item_id not in ids:
            ids.append(event.item_id)
        for item_id in ids:
            if item_id not in items:
                item = Item(id=item_id, placeholder=True)
                items[item_id] = item
                self.placeholder_rows.append(_item_row(item, self.now))
        known = items.get(event.item_id) if event.item_id else None
        if known is not None:
            event.category, event.brand = known.category, known.brand

    def _graph(self, item_id: str) -> ItemGraph:
        graphs = self.state.item_graphs
        graph = graphs.get(item_id)
        if graph is None:
            graph = graphs[item_id] = ItemGraph(item_id=item_id)
        self.dirty_items.add(item_id)
        return graph

    # -- writing ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the rows collected so far (inside the open transaction)."""
        store, conn = self.store, self.conn
        store.insert_individuals(conn, self.individual_rows)
        store.insert_links(conn, self.link_rows)
        store.upsert_source_records(conn, self.source_rows)
        store.insert_items_if_missing(conn, self.placeholder_rows)
        store.append_events(conn, self.event_rows)
        store.append_consent_records(conn, self.consent_rows)
        store.upsert_consent_state(conn, list(self.consent_state_rows.values()))
        for rows in (
            self.individual_rows,
            self.link_rows,
            self.source_rows,
            self.placeholder_rows,
            self.event_rows,
            self.consent_rows,
        ):
            rows.clear()
        self.consent_state_rows.clear()

    def finish(self, *, compute: bool = False) -> None:
        """Write the batch. Deferred: graphs stay pending in memory for the next checkpoint,
        computed first when `compute` (online write-behind: a read right after sees the
        event's insights and segments); bulk imports skip that. Otherwise: compute and write
        every changed graph and mark them in sync."""
        self.flush()
        state = self.state
        if compute and self.defer:
            for profile in self.dirty_profiles.values():
                compute_profile(state, profile, self.now)
            state.computed.update(self.dirty_profiles)
        state.pending_profiles.update(self.dirty_profiles)
        state.pending_items.update(self.dirty_items)
        if not self.defer:
            write_graphs(state, self.store, self.conn, self.now)
        elif self.log_head is not None:
            self.store.set_meta(self.conn, GRAPHS_SYNCED_KEY, str(self.log_head))
            state.synced_seq = self.log_head


def parse_batch(raws: list[Any], now: float) -> tuple[IngestReport, list[tuple[int, Event]]]:
    """Validate each raw event: the report with the rejected ones, and the (index, event) of
    the others (done before the write lock is taken)."""
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
                    code=exc.reason if isinstance(exc, EventRejected) else "invalid_field",
                )
            )
    return report, parsed


def complete_report(report: IngestReport, results: list[EventResult]) -> None:
    """Add the answers of the transaction to the rejections, in input order, and count them."""
    report.results.extend(results)
    report.results.sort(key=lambda r: r.index)
    for r in report.results:
        if r.status == "accepted":
            report.accepted += 1
        elif r.status == "duplicate":
            report.duplicates += 1
        else:
            report.rejected += 1


def prefetch_profiles(state: HotState, store: Store, events: list[Event]) -> None:
    """Load the batch's known profiles that are not cached in one query instead of one each."""
    wanted: set[str] = set()
    for event in events:
        for kind, value in (("individual", event.individual_id), ("device", event.device_id)):
            uid = state.identity.lookup(kind, value) if value else None
            if uid is not None and uid not in state.pending_profiles and uid not in state.profiles:
                wanted.add(uid)
    for doc in store.get_profile_docs(sorted(wanted)):
        state.profiles.put_doc(profile_id_of(doc), doc)


def _event_row(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "unified_id": event.unified_id,
        "device_id": event.device_id,
        "individual_id": event.individual_id,
        "session_id": event.session_id,
        "ts": event.ts,
        "interaction": event.interaction,
        "kind": event.kind,
        "item_id": event.item_id,
        "category": event.category,
        "brand": event.brand,
        "quantity": event.quantity,
        "price": event.price,
        "value": event.value,
        "order_id": event.order_id,
        "channel": event.channel,
        "personalization_id": event.personalization_id,
        "payload": orjson.dumps(event.raw).decode(),
    }


def _item_row(item: Item, now: float) -> dict[str, Any]:
    return {
        "id": item.id,
        "type": item.type,
        "doc": item.model_dump_json(),
        "placeholder": item.placeholder,
        "updated_at": now,
    }
