"""The online path: fold one event into running insight state, derive values without scans.

State lives in `profile.state["insights"]` (the caller passes `profile.state`) and is plain
JSON: `{name: {"fp": fingerprint, "top": newest UTC day seen, "k": {dimension key: cell}}}`,
with the key "" when there is no dimension. A cell is, per measure:

- count / sum / min / max: a number; avg: [sum, n];
- with a window, those become {UTC day: number or [sum, n]} so old days can drop out;
- distinct_count: {value: 0}, or {value: newest UTC day seen} with a window;
- last: [ts, value]; a later-applied event with an equal ts wins (the batch path breaks ties
  by seq, the arrival order).

Days older than the window counted back from the newest event day are pruned, so values are
exact for any `now` at or after the newest event. Events whose field is None (or whose
dimension is None) are skipped, except by `count` without a dimension.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from p13n.domain.ingest import Event
from p13n.domain.insights.definitions import (
    NUMERIC_FIELDS,
    InsightDefinition,
    fingerprint,
    finish_values,
)
from p13n.domain.timeutil import day_index, window_start

__all__ = ["apply_event_insights", "insight_values", "STATE_KEY"]

STATE_KEY = "insights"


def apply_event_insights(
    state: dict[str, Any], definitions: Iterable[InsightDefinition], event: Event
) -> None:
    """Fold one event into `state[STATE_KEY]` (pass `profile.state`); never scans past events."""
    store: dict[str, Any] = state.setdefault(STATE_KEY, {})
    for definition in definitions:
        if definition.measure == "ratio":
            continue
        if definition.interactions and event.interaction not in definition.interactions:
            continue
        x = _field_value(event, definition.field)
        if definition.measure != "count" and x is None:
            continue
        key = ""
        if definition.dimension is not None:
            dim = getattr(event, definition.dimension)
            if dim is None:
                continue
            key = str(dim)
        entry = _entry(store, definition)
        day = day_index(event.ts)
        if definition.window_days is not None and not _advance(entry, definition, day):
            continue
        cells: dict[str, Any] = entry["k"]
        cells[key] = _fold(definition, cells.get(key), x, event.ts, day)


def insight_values(
    state: dict[str, Any], definitions: Iterable[InsightDefinition], now: float
) -> dict[str, Any]:
    """Current values at `now`; insights with no data are absent (never None)."""
    store: dict[str, Any] = state.get(STATE_KEY, {})
    definitions = list(definitions)
    raw: dict[str, Any] = {}
    for definition in definitions:
        entry = store.get(definition.name)
        if definition.measure == "ratio" or entry is None or entry["fp"] != fingerprint(definition):
            continue
        first_day = None
        if definition.window_days is not None:
            first_day = day_index(window_start(now, definition.window_days))
        values: dict[str, Any] = {}
        for key, cell in entry["k"].items():
            value = _derive(definition, cell, first_day)
            if value is not None:
                values[key] = value
        if definition.dimension is not None:
            raw[definition.name] = values
        elif "" in values:
            raw[definition.name] = values[""]
    return finish_values(raw, definitions)


def _field_value(event: Event, field: str | None) -> Any:
    if field is None:
        return None
    value = getattr(event, field)
    if value is None or field not in NUMERIC_FIELDS:
        return value
    return float(value) + 0.0  # one float per number; -0.0 becomes 0.0 as in SQL DISTINCT


def _entry(store: dict[str, Any], definition: InsightDefinition) -> dict[str, Any]:
    fp = fingerprint(definition)
    entry: dict[str, Any] | None = store.get(definition.name)
    if entry is None or entry.get("fp") != fp:  # new or redefined: start afresh
        entry = {"fp": fp, "top": None, "k": {}}
        store[definition.name] = entry
    return entry


def _advance(entry: dict[str, Any], definition: InsightDefinition, day: int) -> bool:
    """Move the newest day forward (pruning every cell once per new day); False if too old."""
    assert definition.window_days is not None
    top: int | None = entry["top"]
    if top is None or day > top:
        entry["top"] = top = day
        _prune(entry, definition, top - definition.window_days + 1)
    return day >= top - definition.window_days + 1


def _prune(entry: dict[str, Any], definition: InsightDefinition, horizon: int) -> None:
    cells: dict[str, Any] = entry["k"]
    for key in list(cells):
        if definition.measure == "last":
            if day_index(cells[key][0]) < horizon:
                del cells[key]
            continue
        buckets: dict[str, Any] = cells[key]
        if definition.measure == "distinct_count":
            kept = {v: d for v, d in buckets.items() if d >= horizon}
        else:
            kept = {d: a for d, a in buckets.items() if int(d) >= horizon}
        if kept:
            cells[key] = kept
        else:
            del cells[key]


def _fold(definition: InsightDefinition, cell: Any, x: Any, ts: float, day: int) -> Any:
    measure = definition.measure
    if measure == "last":
        return [ts, x] if cell is None or ts >= cell[0] else cell
    if measure == "distinct_count":
        seen: dict[str, int] = cell if cell is not None else {}
        value = repr(x) if isinstance(x, float) else str(x)
        if definition.window_days is None:
            seen[value] = 0
        else:
            seen[value] = max(seen.get(value, day), day)
        return seen
    if definition.window_days is None:
        return _add(measure, cell, x)
    buckets: dict[str, Any] = cell if cell is not None else {}
    slot = str(day)
    buckets[slot] = _add(measure, buckets.get(slot), x)
    return buckets


def _add(measure: str, agg: Any, x: Any) -> Any:
    if measure == "count":
        return (agg or 0) + 1
    if measure == "sum":
        return x if agg is None else agg + x
    if measure == "min":
        return x if agg is None else min(agg, x)
    if measure == "max":
        return x if agg is None else max(agg, x)
    return [x, 1] if agg is None else [agg[0] + x, agg[1] + 1]  # avg


def _derive(definition: InsightDefinition, cell: Any, first_day: int | None) -> Any:
    measure = definition.measure
    if measure == "last":
        if first_day is not None and day_index(cell[0]) < first_day:
            return None
        return cell[1]
    if measure == "distinct_count":
        count = sum(1 for d in cell.values() if first_day is None or d >= first_day)
        return count or None
    if first_day is None:
        aggs = [cell]
    else:
        aggs = [a for d, a in cell.items() if int(d) >= first_day]
        if not aggs:
            return None
    return _combine(measure, aggs)


def _combine(measure: str, aggs: list[Any]) -> Any:
    if measure in ("count", "sum"):
        return sum(aggs)
    if measure == "min":
        return min(aggs)
    if measure == "max":
        return max(aggs)
    total, n = sum(a[0] for a in aggs), sum(a[1] for a in aggs)  # avg
    return total / n
