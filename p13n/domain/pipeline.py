"""One transaction of ingest: consent, identify, update graphs, compute, then write everything.

The steps run in the order of DESIGN.md for each event; the compute step (insight values and
segment membership) runs once per touched profile at the end of the batch, so a batch of a
thousand events by one person evaluates their segments once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from p13n.domain.graphs.affinity import publish_affinities
from p13n.domain.graphs.item_graph import ItemGraph
from p13n.domain.graphs.profile import ProfileGraph
from p13n.domain.graphs.profile_update import VIEW_INTERACTIONS, apply_event_to_profile, new_profile
from p13n.domain.identity import LinkChange
from p13n.domain.ingest.catalog import Item
from p13n.domain.ingest.events import Event
from p13n.domain.ingest.validate import parse_event
from p13n.domain.insights import apply_event_insights, insight_values
from p13n.domain.segments import update_memberships
from p13n.domain.timeutil import DAY

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from p13n.domain.engine import Engine

__all__ = [
    "IngestBatch",
    "replay_profile",
    "write_graphs",
    "compute_profile",
    "event_from_log",
    "GRAPHS_SYNCED_KEY",
]

GRAPHS_SYNCED_KEY = "graphs_synced_seq"

CO_VIEW_WINDOW_S = 1800.0
CO_VIEW_LOOKBACK = 10
CO_BUY_WINDOW_S = 30 * DAY


class IngestBatch:
    """Collects the rows of one transaction; `add` each event, then `finish`."""

    def __init__(
        self, engine: Engine, conn: Connection, now: float, *, defer: bool = False
    ) -> None:
        self.engine, self.conn, self.now, self.defer = engine, conn, now, defer
        # The first deferred batch notes how far the graphs reflect the log (its head before it).
        starts_lag = defer and engine.synced_seq is None
        self.log_head = engine.store.max_event_seq(conn) if starts_lag else None
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
    def add(self, event: Event) -> tuple[str | None, bool]:
        """Returns (unified id, tracked); untracked events are kept only as consent records."""
        if not self._tracked(event):
            self.consent_rows.append(
                {
                    "event_id": event.event_id,
                    "subject": event.subject,
                    "ts": event.ts,
                    "interaction": event.interaction,
                    "status": event.consent or self.engine.consent.get(event.subject),
                    "provider": event.consent_provider,
                }
            )
            return None, False
        change = self.engine.identifier.identify(event)
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
        self._update_item_graphs(profile, event)
        apply_event_to_profile(profile, event)
        apply_event_insights(profile.state, self.engine.insights, event)
        self.dirty_profiles[profile.unified_id] = profile

    def _tracked(self, event: Event) -> bool:
        consent = self.engine.consent
        if event.consent is not None:
            for subject in {event.device_id, event.individual_id} - {None}:
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
        opts = self.engine.options
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
        profile = self.dirty_profiles.get(uid) or self.engine.pending_profiles.get(uid)
        if profile is None and known:
            profile = self.engine.load_profile(uid)
        if profile is None:
            profile = new_profile(uid, ts)
            self.engine.profiles.put(uid, profile)
        return profile

    def _merge(self, change: LinkChange) -> ProfileGraph:
        """Two people turned out to be one: relink their history and rebuild the survivor."""
        self.flush()
        uid = change.unified_id
        self.engine.store.merge_individuals(self.conn, change.merged, uid)
        for loser in change.merged:
            self.engine.profiles.discard(loser)
            self.dirty_profiles.pop(loser, None)
            self.engine.pending_profiles.pop(loser, None)
        profile = replay_profile(self.engine, self.conn, uid)
        self.engine.profiles.put(uid, profile)
        return profile

    def _attach_item(self, event: Event) -> None:
        ids = [ln.item_id for ln in event.lines]
        if event.item_id and event.item_id not in ids:
            ids.append(event.item_id)
        for item_id in ids:
            if item_id not in self.engine.items:
                item = Item(id=item_id, placeholder=True)
                self.engine.items[item_id] = item
                self.placeholder_rows.append(_item_row(item, self.now))
        known = self.engine.items.get(event.item_id) if event.item_id else None
        if known is not None:
            event.category, event.brand = known.category, known.brand

    def _graph(self, item_id: str) -> ItemGraph:
        graph = self.engine.item_graphs.get(item_id)
        if graph is None:
            graph = self.engine.item_graphs[item_id] = ItemGraph(item_id=item_id)
        self.dirty_items.add(item_id)
        return graph

    def _update_item_graphs(self, profile: ProfileGraph, event: Event) -> None:
        ts = event.ts
        if event.interaction in VIEW_INTERACTIONS and event.item_id:
            item_id = event.item_id
            graph = self._graph(item_id)
            graph.add_view(ts)
            for seen in profile.recently_viewed[-CO_VIEW_LOOKBACK:]:
                if seen.item_id != item_id and abs(ts - seen.ts) <= CO_VIEW_WINDOW_S:
                    graph.add_partner("view", seen.item_id)
                    self._graph(seen.item_id).add_partner("view", item_id)
        elif event.interaction == "Purchase" and event.lines:
            bought = [ln.item_id for ln in event.lines]
            earlier = {
                ln.item_id
                for p in profile.purchases
                if ts - p.ts <= CO_BUY_WINDOW_S
                for ln in p.lines
            } - set(bought)
            for ln in event.lines:
                item = self.engine.items.get(ln.item_id)
                price = ln.price if ln.price is not None else (item.price if item else None) or 0.0
                graph = self._graph(ln.item_id)
                graph.add_sale(ts, ln.quantity, price * ln.quantity)
                for other in bought:
                    if other != ln.item_id:
                        graph.add_partner("buy", other)
                for other in earlier:
                    graph.add_partner("buy", other)
                    self._graph(other).add_partner("buy", ln.item_id)

    # -- writing ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the rows collected so far (inside the open transaction)."""
        store, conn = self.engine.store, self.conn
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

    def finish(self) -> None:
        """Write the batch. Deferred (bulk import): graphs stay pending in memory for the next
        checkpoint. Otherwise: compute and write every changed graph and mark them in sync."""
        self.flush()
        engine = self.engine
        engine.pending_profiles.update(self.dirty_profiles)
        engine.pending_items.update(self.dirty_items)
        if not self.defer:
            write_graphs(engine, self.conn, self.now)
        elif self.log_head is not None:
            engine.store.set_meta(self.conn, GRAPHS_SYNCED_KEY, str(self.log_head))
            engine.synced_seq = self.log_head


def write_graphs(engine: Engine, conn: Connection, now: float) -> None:
    """Compute and write every pending profile and item graph; the graphs then reflect the
    whole log again, so the lag marker left by deferred batches is removed."""
    store = engine.store
    pending = list(engine.pending_profiles.values())
    for start in range(0, len(pending), 5000):
        rows = []
        for profile in pending[start : start + 5000]:
            compute_profile(engine, profile, now)
            rows.append(
                {
                    "unified_id": profile.unified_id,
                    "doc": profile.model_dump_json(),
                    "updated_at": now,
                }
            )
        store.upsert_profiles(conn, rows)
    items = sorted(engine.pending_items)
    for start in range(0, len(items), 5000):
        store.upsert_item_graphs(
            conn,
            [
                {"item_id": i, "doc": engine.item_graphs[i].model_dump_json(), "updated_at": now}
                for i in items[start : start + 5000]
            ],
        )
    if engine.synced_seq is not None:
        store.delete_meta(conn, GRAPHS_SYNCED_KEY)
        engine.synced_seq = None
    engine.pending_profiles.clear()
    engine.pending_items.clear()


def compute_profile(engine: Engine, profile: ProfileGraph, now: float) -> None:
    """The compute step for one profile: insight values, then segment membership."""
    publish_affinities(profile.state, profile.affinities)
    profile.insights = insight_values(profile.state, engine.insights, now)
    update_memberships(profile, engine.segments, now)


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


def replay_profile(engine: Engine, conn: Connection, uid: str) -> ProfileGraph:
    """Rebuild one profile from the event log (the batch path of the update step)."""
    rows = engine.store.events_of(conn, uid)
    created = engine.identity.created.get(uid)
    profile = new_profile(uid, created if created is not None else engine.now())
    for row in rows:
        event = event_from_log(row)
        event.unified_id = uid
        apply_event_to_profile(profile, event)
        apply_event_insights(profile.state, engine.insights, event)
    publish_affinities(profile.state, profile.affinities)
    return profile


def event_from_log(row: dict[str, Any]) -> Event:
    """An Event rebuilt from its log row (payload re-validated; time, ids and item facts as logged)."""
    event = parse_event(orjson.loads(row["payload"]), now=float("inf"))
    event.event_id, event.ts = row["event_id"], row["ts"]
    event.category, event.brand = row["category"], row["brand"]
    event.unified_id = row.get("unified_id")
    return event
