"""The population batch paths: rewrite every stored profile with one change (segments
re-evaluated, insights recomputed from the log, profiles replayed, a segment left).

Each runs under the engine's write lock (the engine's methods take it) and commits one
transaction per page of profiles; cached profiles are replaced, uncached ones stay uncached.
"""

from __future__ import annotations

from collections.abc import Callable

from p13n.domain.errors import Conflict, NotFound
from p13n.domain.graphs import ProfileGraph, profile_json
from p13n.domain.insights import InsightDefinition, validate_insight_set
from p13n.domain.insights import recompute_insights as recompute_insight_values
from p13n.domain.segments import (
    SegmentDefinition,
    leave_segment,
    referenced_segments,
    update_memberships,
    validate_segment_set,
)
from p13n.domain.services.config_repository import ConfigRepository
from p13n.domain.services.graph_writes import compute_profile, replay_profile
from p13n.domain.services.state import HotState
from p13n.domain.store import Store

__all__ = [
    "rewrite_profiles",
    "recompute_segments",
    "recompute_insights",
    "rebuild_profiles",
    "put_insight",
    "delete_insight",
    "put_segment",
    "delete_segment",
]

Progress = Callable[[int], None] | None


def rewrite_profiles(
    state: HotState,
    store: Store,
    change: Callable[[ProfileGraph], ProfileGraph],
    now: float,
    on_progress: Progress = None,
) -> int:
    """Apply `change` to every stored profile and write it back; returns the count."""
    count = 0
    for docs in store.iter_profile_docs():
        rows = []
        for doc in docs:
            profile = change(ProfileGraph.model_validate_json(doc))
            new_doc = profile_json(profile)
            rows.append(
                {"unified_id": profile.unified_id, "doc": new_doc.decode(), "updated_at": now}
            )
            state.profiles.refresh(profile.unified_id, profile, doc=new_doc)
        with store.transaction() as conn:
            store.upsert_profiles(conn, rows)
        count += len(rows)
        if on_progress is not None:
            on_progress(len(rows))
    return count


def recompute_segments(
    state: HotState, store: Store, now: float, on_progress: Progress = None
) -> int:
    """Re-evaluate every segment for the whole population (windows move with time)."""

    def change(profile: ProfileGraph) -> ProfileGraph:
        update_memberships(profile, state.segments, now)
        return profile

    return rewrite_profiles(state, store, change, now, on_progress)


def recompute_insights(
    state: HotState, store: Store, now: float, on_progress: Progress = None
) -> int:
    """Insight values as aggregates over the event log, written into every profile, then
    segments."""
    values = recompute_insight_values(
        state.insights,
        now,
        unified_ids=store.event_unified_ids(),
        aggregate=store.insight_aggregates,
    )

    def change(profile: ProfileGraph) -> ProfileGraph:
        profile.insights = values.get(profile.unified_id, {})
        update_memberships(profile, state.segments, now)
        return profile

    return rewrite_profiles(state, store, change, now, on_progress)


def rebuild_profiles(
    state: HotState, store: Store, now: float, on_progress: Progress = None
) -> int:
    """Replay the event log into fresh profiles (after a definition change or to repair);
    segment memberships (and their entry times) carry over."""

    def change(profile: ProfileGraph) -> ProfileGraph:
        with store.transaction() as conn:
            fresh = replay_profile(state, store, conn, profile.unified_id, now)
        fresh.segments, fresh.segment_exits = profile.segments, profile.segment_exits
        compute_profile(state, fresh, now)
        return fresh

    return rewrite_profiles(state, store, change, now, on_progress)


def put_insight(
    state: HotState,
    store: Store,
    configs: ConfigRepository[InsightDefinition],
    definition: InsightDefinition,
    now: float,
) -> int:
    """Store a definition and backfill its running state from the event log; its version."""
    insights = [d for d in state.insights if d.name != definition.name] + [definition]
    validate_insight_set(insights)
    version = configs.put(definition)
    state.insights = insights
    rebuild_profiles(state, store, now)
    return version


def delete_insight(
    state: HotState, configs: ConfigRepository[InsightDefinition], name: str
) -> None:
    remaining = [d for d in state.insights if d.name != name]
    validate_insight_set(remaining)
    if not configs.delete(name):
        raise NotFound(f"no insight '{name}'.", hint="GET /admin/insights lists them.")
    state.insights = remaining


def put_segment(
    state: HotState,
    store: Store,
    configs: ConfigRepository[SegmentDefinition],
    definition: SegmentDefinition,
    now: float,
) -> int:
    """Store a definition and re-evaluate every profile's membership; its version."""
    segments = [d for d in state.segments if d.name != definition.name] + [definition]
    validate_segment_set(segments)
    version = configs.put(definition)
    state.segments = segments
    recompute_segments(state, store, now)
    return version


def delete_segment(
    state: HotState,
    store: Store,
    configs: ConfigRepository[SegmentDefinition],
    name: str,
    now: float,
) -> None:
    """Delete a segment no other segment refers to; every profile leaves it (exit recorded)."""
    users = [d.name for d in state.segments if name in referenced_segments(d.rule)]
    if users:
        raise Conflict(
            f"segment '{name}' is used by {', '.join(users)}.",
            hint="Change or delete those segments first.",
        )
    if not configs.delete(name):
        raise NotFound(f"no segment '{name}'.", hint="GET /admin/segments lists them.")
    state.segments = [d for d in state.segments if d.name != name]

    def change(profile: ProfileGraph) -> ProfileGraph:
        leave_segment(profile, name, now)
        return profile

    rewrite_profiles(state, store, change, now)
