"""Who is in which cohort, and each unit's value of a metric, from journeys and event rows.

Assignment is sticky: a unit belongs to the cohort of its first exposure in the experiment
(the journeys' exposures whose `experiment` names it, every channel). A unit later exposed in
another cohort stays where it started and is counted in `multiple_exposures` (GrowthBook warns
above 1 % of units); exposures naming no unit are counted and left out, and so are units whose
first exposure names a cohort the experiment does not have.

A unit's metric value reads its events in `[first exposure, first exposure + window]` (both
edges inclusive, as attribution's window), and for CUPED the same metric over
`[first exposure − pre_window, first exposure)`. Event rows have the event log's columns
(`event_id, unified_id, individual_id, device_id, ts, interaction, item_id, quantity, price,
value, order_id`); repeated event ids count once; `units` maps merged ids to their survivor as
in `build_journeys`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from p13n.domain.analytics.journeys import (
    Journeys,
    as_decimal,
    as_text,
    has_no_revenue,
    line_revenue,
    unit_of,
)
from p13n.domain.analytics.metrics import CLICK, IMPRESSION, MetricDefinition, MetricPart

__all__ = ["Assignment", "UnitEvents", "UnitValues", "assign_units", "unit_events", "unit_values"]

_Fields = dict[str, float | str | None]


@dataclass(frozen=True, slots=True)
class Assignment:
    """units: unit -> (cohort, time of its first exposure), in order of first exposure.
    impressions / clicks: per unit, the times of its shown exposures of this experiment and of
    its clicks on them (sorted)."""

    experiment: str
    cohorts: tuple[str, ...]
    units: dict[str, tuple[str, float]]
    impressions: dict[str, list[float]]
    clicks: dict[str, list[float]]
    multiple_exposures: int = 0
    anonymous_exposures: int = 0
    unknown_cohort_units: int = 0

    def count(self, cohort: str) -> int:
        return sum(1 for c, _ in self.units.values() if c == cohort)


def assign_units(names: Iterable[str], cohorts: Sequence[str], journeys: Journeys) -> Assignment:
    """The sticky assignment of the experiment called any of `names` (its name and id: the log
    records the name)."""
    wanted = set(names)
    allowed = set(cohorts)
    first: dict[str, tuple[str | None, float]] = {}
    seen_in: dict[str, set[str | None]] = {}
    impressions: dict[str, list[float]] = {}
    pids: set[str] = set()
    anonymous = 0
    for exposure in journeys.exposures:  # in time order
        if exposure.experiment not in wanted:
            continue
        if exposure.unit is None:
            anonymous += 1
            continue
        pids.add(exposure.personalization_id)
        first.setdefault(exposure.unit, (exposure.cohort, exposure.ts))
        seen_in.setdefault(exposure.unit, set()).add(exposure.cohort)
        if exposure.shown:
            impressions.setdefault(exposure.unit, []).append(exposure.ts)
    units = {u: (c, ts) for u, (c, ts) in first.items() if c in allowed}
    clicks: dict[str, list[float]] = {}
    for click in journeys.clicks:
        if click.personalization_id in pids and click.unit in units:
            clicks.setdefault(click.unit, []).append(click.ts)
    return Assignment(
        experiment=next(iter(sorted(wanted)), ""),
        cohorts=tuple(cohorts),
        units={u: (str(c), ts) for u, (c, ts) in units.items()},
        impressions={u: sorted(t) for u, t in impressions.items() if u in units},
        clicks={u: sorted(t) for u, t in clicks.items()},
        multiple_exposures=sum(1 for u in units if len(seen_in[u]) > 1),
        anonymous_exposures=anonymous,
        unknown_cohort_units=len(first) - len(units),
    )


@dataclass(frozen=True, slots=True)
class UnitEvents:
    """The assigned units' events: unit -> interaction -> (times, fields), each in time order."""

    by_unit: dict[str, dict[str, tuple[list[float], list[_Fields]]]]


def unit_events(
    rows: Iterable[Mapping[str, Any]],
    assignment: Assignment,
    *,
    units: Mapping[str, str] | None = None,
) -> UnitEvents:
    """Index the rows of assigned units by unit and interaction (other units' rows are
    dropped as they are read)."""
    unique: dict[str, tuple[str, float, str, _Fields]] = {}
    for row in rows:
        event_id = str(row["event_id"])
        if event_id in unique:
            continue
        unit = unit_of(row, units)
        interaction = as_text(row.get("interaction"))
        if unit is None or unit not in assignment.units or interaction is None:
            continue
        unique[event_id] = (unit, float(row["ts"]), interaction, _fields(event_id, row))
    by_unit: dict[str, dict[str, tuple[list[float], list[_Fields]]]] = {}
    for _, (unit, ts, interaction, fields) in sorted(
        unique.items(), key=lambda kv: (kv[1][1], kv[0])
    ):
        times, values = by_unit.setdefault(unit, {}).setdefault(interaction, ([], []))
        times.append(ts)
        values.append(fields)
    return UnitEvents(by_unit)


def _number(value: Any) -> float | None:
    number = as_decimal(value)
    return None if number is None else float(number)


def _fields(event_id: str, row: Mapping[str, Any]) -> _Fields:
    """The metric fields of one row (None when missing); `revenue` and the `order_id` fallback
    follow `journeys.py`."""
    return {
        "value": _number(row.get("value")),
        "quantity": _number(row.get("quantity")),
        "price": _number(row.get("price")),
        "revenue": None if has_no_revenue(row) else float(line_revenue(row)),
        "order_id": as_text(row.get("order_id")) or f"event:{event_id}",
        "item_id": as_text(row.get("item_id")),
    }


@dataclass(frozen=True, slots=True)
class UnitValues:
    """One metric over the assigned units, in the assignment's order. numerator: the value per
    unit (a ratio's numerator); denominator: a ratio's denominator, else None; converted: the
    unit had at least one numerator event; pre: the numerator over the pre-exposure window;
    missing: numerator events in the window whose field was missing (counted 0)."""

    cohort: NDArray[np.int64]
    first_ts: NDArray[np.float64]
    numerator: NDArray[np.float64]
    denominator: NDArray[np.float64] | None
    converted: NDArray[np.bool_]
    pre: NDArray[np.float64]
    missing: int


def _part(
    part: MetricPart,
    unit: str,
    lo: float,
    hi: float,
    *,
    hi_open: bool,
    assignment: Assignment,
    events: UnitEvents,
) -> tuple[float, int, int]:
    """(value, matching events, events with the field missing) of one unit in [lo, hi]
    (or [lo, hi) when `hi_open`)."""
    edge = bisect_left if hi_open else bisect_right
    value = 0.0
    matched = missing = 0
    keys: set[str] = set()
    for name in part.events:
        if name in (IMPRESSION, CLICK):
            times = (assignment.impressions if name == IMPRESSION else assignment.clicks).get(
                unit, []
            )
            matched += edge(times, hi) - bisect_left(times, lo)
            continue
        found = events.by_unit.get(unit, {}).get(name)
        if found is None:
            continue
        times, rows = found
        chosen = rows[bisect_left(times, lo) : edge(times, hi)]
        matched += len(chosen)
        if part.field is None:
            continue
        for fields in chosen:
            got = fields[part.field]
            if got is None:
                missing += 1
            elif part.kind == "sum":
                assert isinstance(got, float)
                value += got
            else:
                keys.add(str(got))
    if part.kind == "count":
        value = float(matched)
    elif part.kind == "distinct":
        value = float(len(keys))
    return value, matched, missing


def unit_values(
    metric: MetricDefinition,
    assignment: Assignment,
    events: UnitEvents,
    *,
    window: float,
    pre_window: float,
) -> UnitValues:
    """Each assigned unit's value of `metric` (see the module docstring for the windows)."""
    index = {c: i for i, c in enumerate(assignment.cohorts)}
    top, bottom = metric.parts
    size = len(assignment.units)
    num, den, pre = np.zeros(size), np.zeros(size), np.zeros(size)
    converted = np.zeros(size, dtype=bool)
    cohort = np.zeros(size, dtype=np.int64)
    first = np.zeros(size)
    missing = 0

    def part(
        p: MetricPart, unit: str, lo: float, hi: float, hi_open: bool
    ) -> tuple[float, int, int]:
        return _part(p, unit, lo, hi, hi_open=hi_open, assignment=assignment, events=events)

    for i, (unit, (name, ts)) in enumerate(assignment.units.items()):
        cohort[i], first[i] = index[name], ts
        value, matched, lost = part(top, unit, ts, ts + window, False)
        missing += lost
        converted[i] = matched > 0
        num[i] = float(matched > 0) if metric.is_rate else value
        if bottom is not None:
            den[i] = part(bottom, unit, ts, ts + window, False)[0]
        elif pre_window > 0:
            before, seen, _ = part(top, unit, ts - pre_window, ts, True)
            pre[i] = float(seen > 0) if metric.is_rate else before
    return UnitValues(
        cohort=cohort,
        first_ts=first,
        numerator=num,
        denominator=den if bottom is not None else None,
        converted=converted,
        pre=pre,
        missing=missing,
    )
