"""Writing the graphs: the compute step per profile, the checkpoint write of pending graphs,
the replay of one profile from the log, and the one merge path (ingest and identity resolution).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from p13n.domain.graphs import (
    ProfileGraph,
    apply_event_to_profile,
    new_profile,
    profile_json,
    publish_affinities,
)
from p13n.domain.ingest import Event, parse_event
from p13n.domain.insights import apply_event_insights, insight_values
from p13n.domain.segments import update_memberships
from p13n.domain.services.state import HotState
from p13n.domain.store import Store, Transaction

__all__ = [
    "GRAPHS_SYNCED_KEY",
    "cached_profile",
    "compute_profile",
    "event_from_log",
    "merge_individuals",
    "replay_profile",
    "write_graphs",
]

GRAPHS_SYNCED_KEY = "graphs_synced_seq"
_WRITE_CHUNK = 5000


def cached_profile(state: HotState, store: Store, uid: str) -> ProfileGraph | None:
    """The profile pending a write, else from the cache, else from the store (then cached);
    None when it has none. Pending first: the cache may have evicted a profile whose stored
    document is older (write-behind), and the cache holds a pending profile's last written form.
    A profile from the cache is the caller's own copy (compact cache): a change reaches the
    cache only through a write (`write_graphs`) or an explicit `state.profiles.put`."""
    profile = state.pending_profiles.get(uid) or state.profiles.get(uid)
    if profile is None:
        doc = store.get_profile_doc(uid)
        if doc is None:
            return None
        profile = ProfileGraph.model_validate_json(doc)
        state.profiles.put(uid, profile, doc=doc)
    return profile


def write_graphs(state: HotState, store: Store, conn: Transaction, now: float) -> None:
    """Compute and write every pending profile and item graph; the graphs then reflect the
    whole log again, so the lag marker left by deferred batches is removed."""
    pending = list(state.pending_profiles.values())
    computed = state.computed
    cache = state.profiles
    for start in range(0, len(pending), _WRITE_CHUNK):
        rows = []
        for profile in pending[start : start + _WRITE_CHUNK]:
            uid = profile.unified_id
            if uid not in computed:
                compute_profile(state, profile, now)
            doc = profile_json(profile)
            rows.append({"unified_id": uid, "doc": doc.decode(), "updated_at": now})
            # Before the pending entry goes: a reader finds the new form in one or the other.
            cache.refresh(uid, profile, doc=doc)
        store.upsert_profiles(conn, rows)
    items = sorted(state.pending_items)
    graphs = state.item_graphs
    for start in range(0, len(items), _WRITE_CHUNK):
        store.upsert_item_graphs(
            conn,
            [
                {"item_id": i, "doc": graphs[i].model_dump_json(), "updated_at": now}
                for i in items[start : start + _WRITE_CHUNK]
            ],
        )
    if state.synced_seq is not None:
        store.delete_meta(conn, GRAPHS_SYNCED_KEY)
        state.synced_seq = None
    state.pending_profiles.clear()
    state.pending_items.clear()
    computed.clear()


def compute_profile(state: HotState, profile: ProfileGraph, now: float) -> None:
    """The compute step for one profile: insight values, then segment membership."""
    publish_affinities(profile.state, profile.affinities)
    profile.insights = insight_values(profile.state, state.insights, now)
    update_memberships(profile, state.segments, now)


def replay_profile(
    state: HotState, store: Store, conn: Transaction, uid: str, now: float
) -> ProfileGraph:
    """Rebuild one profile from the event log (the batch path of the update step); `now` is
    its creation time only when the individual's own is unknown."""
    rows = store.events_of(conn, uid)
    created = state.identity.created.get(uid)
    profile = new_profile(uid, created if created is not None else now)
    for row in rows:
        event = event_from_log(row)
        event.unified_id = uid
        apply_event_to_profile(profile, event)
        apply_event_insights(profile.state, state.insights, event)
    publish_affinities(profile.state, profile.affinities)
    return profile


def merge_individuals(
    state: HotState,
    store: Store,
    conn: Transaction,
    merges: Sequence[tuple[str, Sequence[str]]],
    now: float,
    *,
    only_with_profiles: bool = False,
) -> dict[str, ProfileGraph]:
    """People turned out to be one: for each (survivor, losers), relink the losers' history to
    the survivor in the store (they stay resolvable as aliases) and drop them from the cache
    and the pending writes; then rebuild each final survivor from the log and cache it.

    `only_with_profiles` (identity resolution) rebuilds a survivor only when one side of its
    merge had a profile. Returns the rebuilt profiles by unified id (not yet written).
    """
    rebuild: set[str] = set()
    for survivor, losers in merges:
        if only_with_profiles:
            had_profile = any(
                cached_profile(state, store, u) is not None or u in state.pending_profiles
                for u in (survivor, *losers)
            )
        else:
            had_profile = True
        store.merge_individuals(conn, losers, survivor)
        for loser in losers:
            state.profiles.discard(loser)
            state.pending_profiles.pop(loser, None)
            state.computed.discard(loser)
            rebuild.discard(loser)
        if had_profile:
            rebuild.add(state.identity.resolve(survivor))
    rebuilt: dict[str, ProfileGraph] = {}
    for uid in sorted(rebuild):
        state.computed.discard(uid)
        profile = replay_profile(state, store, conn, uid, now)
        state.profiles.put(uid, profile)
        rebuilt[uid] = profile
    return rebuilt


def event_from_log(row: dict[str, Any]) -> Event:
    """An Event rebuilt from its log row (payload re-validated; time, ids and item facts as logged)."""
    event = parse_event(orjson.loads(row["payload"]), now=float("inf"))
    event.event_id, event.ts = row["event_id"], row["ts"]
    event.category, event.brand = row["category"], row["brand"]
    event.unified_id = row.get("unified_id")
    return event
