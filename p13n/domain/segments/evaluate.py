"""Evaluate segment rules against one profile data graph and keep its memberships current.

Pure functions over the precomputed profile: no event scans, so they run on every profile
change (online) and over batches of profiles (batch) alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from p13n.domain.graphs import (
    RECENT_ENGAGEMENT_DAYS,
    ProfileGraph,
    SegmentExit,
    SegmentMembership,
)
from p13n.domain.operators import Operator, compare
from p13n.domain.segments.rules import Condition, RuleGroup, SegmentDefinition, referenced_segments
from p13n.domain.timeutil import DAY

__all__ = ["evaluate", "condition_actual", "update_memberships", "SEGMENT_EXITS_MAX"]

SEGMENT_EXITS_MAX = 50


def evaluate(rule: RuleGroup | Condition, profile: ProfileGraph, now: float) -> bool:
    """Whether the profile satisfies the rule at `now` (UTC epoch seconds)."""
    if isinstance(rule, Condition):
        return compare(rule.operator, condition_actual(rule, profile, now), rule.value, now=now)
    results = (evaluate(child, profile, now) for child in rule.rules)
    return all(results) if rule.type == "All" else any(results)


def condition_actual(condition: Condition, profile: ProfileGraph, now: float) -> Any:
    """The value a condition reads from the profile; None when the profile has none."""
    source, field = condition.source, condition.field
    if source == "attribute":
        return profile.attributes.get(field)
    if source == "insight":
        value = profile.insights.get(field)
        if condition.key is None:
            return value
        return value.get(condition.key) if isinstance(value, dict) else None
    if source == "affinity":
        return profile.affinities.get(field, {}).get(condition.key or "")
    if source == "engagement":
        since = now - (condition.window_days or RECENT_ENGAGEMENT_DAYS) * DAY
        # No upper bound: an event stamped slightly ahead of this clock still counts.
        return sum(1 for e in profile.engagement if e.interaction == field and e.ts >= since)
    membership = profile.segments.get(field)
    if condition.operator in (Operator.IS_EQUAL_TO, Operator.IS_NOT_EQUAL_TO):
        return membership is not None
    return None if membership is None else membership.entered_at


def update_memberships(
    profile: ProfileGraph, segments: Iterable[SegmentDefinition], now: float
) -> tuple[list[str], list[str]]:
    """Re-evaluate `segments` and record entries and exits; returns (entered, exited) names.

    Segments that others depend on are evaluated first, so one call settles chains. Memberships
    of segments not passed in are left alone.
    """
    entered: list[str] = []
    exited: list[str] = []
    for segment in _ordered(tuple(segments)):
        member = profile.segments.get(segment.name)
        holds = evaluate(segment.rule, profile, now)
        if holds and member is None:
            profile.segments[segment.name] = SegmentMembership(entered_at=now)
            entered.append(segment.name)
        elif not holds and member is not None:
            del profile.segments[segment.name]
            profile.segment_exits.append(
                SegmentExit(segment=segment.name, entered_at=member.entered_at, exited_at=now)
            )
            exited.append(segment.name)
    if len(profile.segment_exits) > SEGMENT_EXITS_MAX:
        del profile.segment_exits[:-SEGMENT_EXITS_MAX]
    return entered, exited


def leave_segment(profile: ProfileGraph, name: str, now: float) -> bool:
    """End a membership whose segment no longer exists; returns whether there was one."""
    member = profile.segments.pop(name, None)
    if member is None:
        return False
    profile.segment_exits.append(
        SegmentExit(segment=name, entered_at=member.entered_at, exited_at=now)
    )
    if len(profile.segment_exits) > SEGMENT_EXITS_MAX:
        del profile.segment_exits[:-SEGMENT_EXITS_MAX]
    return True


_ORDER_CACHE: dict[tuple[int, ...], list[SegmentDefinition]] = {}


def _ordered(segments: tuple[SegmentDefinition, ...]) -> list[SegmentDefinition]:
    """The dependency order of a set of segments, computed once per set (definitions are frozen).

    Keyed by object ids: the cache holds the objects, so their ids cannot be reused meanwhile.
    """
    key = tuple(id(s) for s in segments)
    ordered = _ORDER_CACHE.get(key)
    if ordered is None:
        if len(_ORDER_CACHE) > 64:
            _ORDER_CACHE.clear()
        ordered = _ORDER_CACHE[key] = _dependency_order(list(segments))
    return ordered


def _dependency_order(segments: list[SegmentDefinition]) -> list[SegmentDefinition]:
    """Dependencies first, otherwise the given order; a cycle (rejected on save) is cut."""
    by_name = {s.name: s for s in segments}
    ordered: list[SegmentDefinition] = []
    seen: set[str] = set()

    def visit(segment: SegmentDefinition) -> None:
        if segment.name in seen:
            return
        seen.add(segment.name)
        for ref in sorted(referenced_segments(segment.rule)):
            if ref in by_name:
                visit(by_name[ref])
        ordered.append(segment)

    for segment in segments:
        visit(segment)
    return ordered
