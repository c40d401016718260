"""Experiment cells: each exposed unit's metric parts, folded from the log and the events one
time slice at a time, so that an experiment's results come from per-unit aggregates kept up to
date incrementally rather than from a scan of the raw log per request.

The rules are `metric_values.py`'s (sticky assignment at the first exposure, a unit's window
`[first, first + window]` and its pre-exposure window `[first - pre_window, first)`), and
`journeys.py`'s for what is an impression and a click; folding the whole log in one slice and
folding it in many slices give the same cells (tested), and `experiment_results` reads
journeys through the same fold, so there is one implementation of a unit's value.

A slice `[lo, hi)` hands in:
- `exposures`: the experiment's log rows with `lo <= ts < hi`;
- `earlier`: the experiment's log rows before `lo` that the slice's engagements name (a view
  or click arriving later shows manual content, which logs no items, was displayed: its one
  impression is counted when the first engagement naming it is folded; `marks` remembers it);
- `engagements`: views and clicks naming a personalization, `lo <= ts < hi`;
- `events`: the metrics' events with `lo - pre_window <= ts < hi`; those before `lo` count only
  for units first exposed in this slice (their pre-exposure window), since every earlier unit
  already folded them.
One simplification against a single pass: a click by a unit on the experiment's content
*before* its own first exposure is not read back for its pre-exposure window (only custom
metrics that count clicks before exposure could see it).

Cells per unit and metric (`SLOTS`): the numerator's value, its matching events and its events
with the field missing, the denominator's value, and the numerator's value and matches before
exposure (CUPED). `distinct` parts keep the keys counted (`keys`), so an order whose lines
arrive in two slices counts once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from p13n.domain.analytics.journeys import Journeys, as_text
from p13n.domain.analytics.metric_values import UnitValues, metric_fields
from p13n.domain.analytics.metrics import CLICK, IMPRESSION, MetricDefinition, MetricPart

__all__ = [
    "SLOTS",
    "LoggedExposure",
    "Engagement",
    "MetricEvent",
    "FoldSlice",
    "ExperimentCells",
    "slice_of_journeys",
]

SLOTS = ("value", "matched", "missing", "denominator", "pre", "pre_matched")
_VALUE, _MATCHED, _MISSING, _DEN, _PRE, _PRE_MATCHED = range(len(SLOTS))
_S = len(SLOTS)


class LoggedExposure(NamedTuple):
    """One log row of the experiment; `shown` when it carried content (journeys' rule)."""

    personalization_id: str
    ts: float
    unit: str | None
    cohort: str | None
    shown: bool


class Engagement(NamedTuple):
    """A view or click naming a personalization (`unit`: the engaging unit)."""

    event_id: str
    ts: float
    unit: str | None
    personalization_id: str
    click: bool


class MetricEvent(NamedTuple):
    """One event row as the metrics read it (`fields`: `metric_values.metric_fields`)."""

    event_id: str
    ts: float
    unit: str
    interaction: str
    fields: Mapping[str, float | str | None]


@dataclass(frozen=True, slots=True)
class FoldSlice:
    lo: float
    hi: float
    exposures: Sequence[LoggedExposure] = ()
    earlier: Mapping[str, LoggedExposure] = field(default_factory=dict)
    engagements: Sequence[Engagement] = ()
    events: Sequence[MetricEvent] = ()


def _grow(array: NDArray[Any], size: int) -> NDArray[Any]:
    if size <= len(array):
        return array
    bigger = np.zeros((max(size, 2 * len(array), 1024), *array.shape[1:]), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


class ExperimentCells:
    """The folded state of one experiment under one setting (cohorts, metrics, windows).

    Units are numbered in the order they were first exposed; `cohort` is -1 for a unit whose
    first exposure named a cohort the experiment does not have (left out, and counted).
    `dirty` holds the unit numbers changed since the store last saved them."""

    def __init__(
        self,
        cohorts: Sequence[str],
        metrics: Sequence[MetricDefinition],
        *,
        window: float,
        pre_window: float,
    ) -> None:
        self.cohorts = tuple(cohorts)
        self.metrics = tuple(metrics)
        self.window = float(window)
        self.pre_window = float(pre_window)
        self.ids: list[str] = []
        self.index: dict[str, int] = {}
        self.cohort: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.first: NDArray[np.float64] = np.zeros(0)
        self.seen: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.cells: NDArray[np.float64] = np.zeros((0, _S * len(self.metrics)))
        self.keys: set[tuple[int, int, str]] = set()
        self.marks: set[str] = set()
        self.anonymous = 0
        self.folded_to: float | None = None
        self.dirty: set[int] = set()
        self.new_keys: list[tuple[int, int, str]] = []
        self.new_marks: list[str] = []
        self._cohort_of = {c: j for j, c in enumerate(self.cohorts)}

    # -- state ------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self.ids)

    def copy(self) -> ExperimentCells:
        """A copy to fold a tail into without changing this one (what is saved)."""
        other = ExperimentCells(
            self.cohorts, self.metrics, window=self.window, pre_window=self.pre_window
        )
        other.ids = list(self.ids)
        other.index = dict(self.index)
        other.cohort = self.cohort.copy()
        other.first = self.first.copy()
        other.seen = self.seen.copy()
        other.cells = self.cells.copy()
        other.keys = set(self.keys)
        other.marks = set(self.marks)
        other.anonymous = self.anonymous
        other.folded_to = self.folded_to
        return other

    def load_units(
        self,
        ids: Sequence[str],
        cohort: NDArray[np.int64],
        first: NDArray[np.float64],
        seen: NDArray[np.int64],
        cells: NDArray[np.float64],
    ) -> None:
        """Restore saved units (in their numbering)."""
        self.ids = list(ids)
        self.index = {u: i for i, u in enumerate(self.ids)}
        self.cohort, self.first, self.seen = cohort.copy(), first.copy(), seen.copy()
        self.cells = cells.reshape(len(self.ids), _S * len(self.metrics)).copy()

    def _add(self, unit: str, cohort: int, ts: float) -> int:
        i = len(self.ids)
        self.ids.append(unit)
        self.index[unit] = i
        if i >= len(self.cohort):  # grown by doubling: a slice adds thousands of units
            n = i + 1
            self.cohort, self.first = _grow(self.cohort, n), _grow(self.first, n)
            self.seen, self.cells = _grow(self.seen, n), _grow(self.cells, n)
        self.cohort[i], self.first[i] = cohort, ts
        return i

    # -- folding ----------------------------------------------------------------------------
    def fold(self, part: FoldSlice) -> None:
        """Fold one slice (slices come in time order, each starting where the last ended)."""
        first_new = self.size
        ordered = sorted(part.exposures, key=lambda e: (e.ts, e.personalization_id))
        named = [e for e in ordered if e.unit is not None]
        self.anonymous += len(ordered) - len(named)
        index, cohort_of = self.index, self._cohort_of
        for e in named:  # new units numbered in order of first exposure
            if e.unit not in index:
                self._add(e.unit, cohort_of.get(e.cohort or "\0", -1), e.ts)  # type: ignore[arg-type]
        n = self.size
        self.cohort, self.first, self.seen = self.cohort[:n], self.first[:n], self.seen[:n]
        self.cells = self.cells[:n]
        other = len(self.cohorts)
        rows = np.fromiter((index[e.unit] for e in named), dtype=np.int64, count=len(named))  # type: ignore[index]
        bits = np.fromiter(
            (1 << cohort_of.get(e.cohort or "", other) for e in named),
            dtype=np.int64,
            count=len(named),
        )
        shown = np.fromiter((e.shown for e in named), dtype=bool, count=len(named))
        times = np.fromiter((e.ts for e in named), dtype=np.float64, count=len(named))
        valid = self.cohort[rows] >= 0
        np.bitwise_or.at(self.seen, rows[valid], bits[valid])
        self.dirty.update(np.unique(rows).tolist())
        imp_u: list[int] = rows[valid & shown].tolist()
        imp_t: list[float] = times[valid & shown].tolist()
        pids = {e.personalization_id: e for e in part.exposures}
        clk_u: list[int] = []
        clk_t: list[float] = []
        for g in sorted(part.engagements, key=lambda g: (g.ts, g.event_id)):
            x = pids.get(g.personalization_id) or part.earlier.get(g.personalization_id)
            if x is None or x.unit is None:  # not this experiment's, or nobody's
                continue
            owner = self.index.get(x.unit)
            if not x.shown and g.personalization_id not in self.marks:
                self.marks.add(g.personalization_id)
                self.new_marks.append(g.personalization_id)
                if owner is not None and self.cohort[owner] >= 0:
                    imp_u.append(owner)
                    imp_t.append(x.ts)
            clicker = self.index.get(g.unit) if g.click and g.unit is not None else None
            if clicker is not None and self.cohort[clicker] >= 0:
                clk_u.append(clicker)
                clk_t.append(g.ts)
        atoms = _atoms(part.events, self, part.lo, first_new)
        atoms[IMPRESSION] = _Atom(np.array(imp_u, dtype=np.int64), np.array(imp_t))
        atoms[CLICK] = _Atom(np.array(clk_u, dtype=np.int64), np.array(clk_t))
        for m, metric in enumerate(self.metrics):
            top, bottom = metric.parts
            base = m * _S
            self._part(top, atoms, base, _VALUE, _MATCHED, _MISSING, pre=False)
            if bottom is not None:
                self._part(bottom, atoms, base, _DEN, None, None, pre=False)
            elif self.pre_window > 0:
                self._part(top, atoms, base, _PRE, _PRE_MATCHED, None, pre=True)
        for atom in atoms.values():
            self.dirty.update(atom.unit.tolist())
        self.folded_to = part.hi

    def _part(
        self,
        part: MetricPart,
        atoms: dict[str, _Atom],
        base: int,
        value_slot: int,
        matched_slot: int | None,
        missing_slot: int | None,
        *,
        pre: bool,
    ) -> None:
        n = self.size
        for name in part.events:
            atom = atoms.get(name)
            if atom is None or not len(atom.unit):
                continue
            f = self.first[atom.unit]
            if pre:
                inside = (atom.ts >= f - self.pre_window) & (atom.ts < f)
            else:
                inside = (atom.ts >= f) & (atom.ts <= f + self.window)
            units = atom.unit[inside]
            if not len(units):
                continue
            hits = np.bincount(units, minlength=n).astype(float)
            if matched_slot is not None:
                self.cells[:, base + matched_slot] += hits
            if part.kind == "count":
                self.cells[:, base + value_slot] += hits
                continue
            assert part.field is not None
            got = [atom.fields[int(k)].get(part.field) for k in np.flatnonzero(inside)]
            absent = np.array([v is None for v in got])
            if missing_slot is not None and absent.any():
                self.cells[:, base + missing_slot] += np.bincount(units[absent], minlength=n)
            if part.kind == "sum":
                weights = np.array([0.0 if v is None else float(v) for v in got])
                self.cells[:, base + value_slot] += np.bincount(units, weights, minlength=n)
                continue
            slot = base + value_slot
            for u, v in zip(units.tolist(), got, strict=True):
                if v is None:
                    continue
                key = (u, slot, str(v))
                if key not in self.keys:
                    self.keys.add(key)
                    self.new_keys.append(key)
                    self.cells[u, slot] += 1.0

    # -- reading ----------------------------------------------------------------------------
    @property
    def assigned(self) -> NDArray[np.bool_]:
        return self.cohort >= 0

    @property
    def multiple_exposures(self) -> int:
        seen = self.seen[self.assigned]
        return int(np.count_nonzero(seen & (seen - 1)))  # more than one bit set

    @property
    def unknown_cohort_units(self) -> int:
        return int(np.count_nonzero(~self.assigned))

    def values(self, metric: MetricDefinition) -> UnitValues:
        """The metric's `UnitValues` over the assigned units, in order of first exposure."""
        m = self.metrics.index(metric)
        mask = self.assigned
        block = self.cells[mask, m * _S : (m + 1) * _S]
        matched = block[:, _MATCHED]
        numerator = (matched > 0).astype(float) if metric.is_rate else block[:, _VALUE].copy()
        bottom = metric.parts[1]
        pre = np.zeros(len(block))
        if bottom is None and self.pre_window > 0:
            pre = (block[:, _PRE_MATCHED] > 0).astype(float) if metric.is_rate else block[:, _PRE]
        return UnitValues(
            cohort=self.cohort[mask].copy(),
            first_ts=self.first[mask].copy(),
            numerator=numerator,
            denominator=block[:, _DEN].copy() if bottom is not None else None,
            converted=matched > 0,
            pre=np.ascontiguousarray(pre),
            missing=int(block[:, _MISSING].sum()),
        )


@dataclass(frozen=True, slots=True)
class _Atom:
    """One event name's occurrences in a slice: unit numbers, times, fields (by position)."""

    unit: NDArray[np.int64]
    ts: NDArray[np.float64]
    fields: Sequence[Mapping[str, float | str | None]] = ()


def _atoms(
    events: Iterable[MetricEvent], cells: ExperimentCells, lo: float, first_new: int
) -> dict[str, _Atom]:
    """The slice's events by interaction, kept for assigned units only; an event before `lo`
    only for a unit first exposed in this slice (number >= first_new). Repeated event ids
    count once."""
    found: dict[str, tuple[list[int], list[float], list[Mapping[str, Any]]]] = {}
    seen: set[str] = set()
    for e in events:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        i = cells.index.get(e.unit)
        if i is None or cells.cohort[i] < 0 or (e.ts < lo and i < first_new):
            continue
        units, times, fields = found.setdefault(e.interaction, ([], [], []))
        units.append(i)
        times.append(e.ts)
        fields.append(e.fields)
    return {
        name: _Atom(np.array(u, dtype=np.int64), np.array(t), f)
        for name, (u, t, f) in found.items()
    }


def slice_of_journeys(
    names: Iterable[str],
    journeys: Journeys,
    events: Iterable[Mapping[str, Any]],
    *,
    units: Mapping[str, str] | None = None,
) -> FoldSlice:
    """The whole of `journeys` as one slice: the experiment's exposures (their `shown` as the
    journeys made it, views and clicks already merged), its clicks, and the event rows."""
    from p13n.domain.analytics.journeys import unit_of

    wanted = set(names)
    exposures = [
        LoggedExposure(e.personalization_id, e.ts, e.unit, e.cohort, e.shown)
        for e in journeys.exposures
        if e.experiment in wanted
    ]
    engagements = [
        Engagement(c.event_id, c.ts, c.unit, c.personalization_id, True) for c in journeys.clicks
    ]
    rows = []
    for row in events:
        unit, interaction = unit_of(row, units), as_text(row.get("interaction"))
        if unit is None or interaction is None:
            continue
        event_id = str(row["event_id"])
        rows.append(
            MetricEvent(event_id, float(row["ts"]), unit, interaction, metric_fields(event_id, row))
        )
    return FoldSlice(
        lo=float("-inf"), hi=float("inf"), exposures=exposures, engagements=engagements, events=rows
    )
