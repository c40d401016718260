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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from p13n.domain.analytics.journeys import Journeys, as_text
from p13n.domain.analytics.metric_values import UnitValues, metric_fields
from p13n.domain.analytics.metrics import CLICK, IMPRESSION, MetricDefinition, MetricPart

__all__ = [
    "SLOTS",
    "LoggedExposure",
    "Exposures",
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
class Exposures:
    """A slice's exposures as columns: a fold reads millions of log rows, and an object per
    row was most of its time. `unit` None: the row names nobody; `cohort` None: no cohort."""

    pid: Sequence[str] = ()
    ts: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    unit: Sequence[str | None] = ()
    cohort: Sequence[str | None] = ()
    shown: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @classmethod
    def of(cls, rows: Iterable[LoggedExposure]) -> Exposures:
        found = list(rows)
        return cls(
            pid=[e.personalization_id for e in found],
            ts=np.array([e.ts for e in found], dtype=np.float64),
            unit=[e.unit for e in found],
            cohort=[e.cohort for e in found],
            shown=np.array([e.shown for e in found], dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.pid)


@dataclass(frozen=True, slots=True)
class FoldSlice:
    lo: float
    hi: float
    exposures: Exposures = field(default_factory=Exposures)
    earlier: Mapping[str, LoggedExposure] = field(default_factory=dict)
    engagements: Sequence[Engagement] = ()
    events: Sequence[MetricEvent] = ()


def _room(array: NDArray[Any], size: int) -> NDArray[Any]:
    """`array`, or a copy with room for `size` rows (doubling: slices add units in bulk)."""
    if size <= len(array):
        return array
    bigger = np.zeros((max(size, 2 * len(array), 1024), *array.shape[1:]), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


class ExperimentCells:
    """The folded state of one experiment under one setting (cohorts, metrics, windows).

    Units are numbered in the order they were first exposed; `cohort` is -1 for a unit whose
    first exposure named a cohort the experiment does not have (left out, and counted).
    `changed()` gives the unit numbers changed since the store last saved them. The per-unit
    arrays are views of buffers with room to grow."""

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
        self._cohort: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._first: NDArray[np.float64] = np.zeros(0)
        self._seen: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._cells: NDArray[np.float64] = np.zeros((0, _S * len(self.metrics)))
        self._dirty: NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self.keys: set[tuple[int, int, str]] = set()
        self.marks: set[str] = set()
        self.anonymous = 0
        self.folded_to: float | None = None
        self.new_keys: list[tuple[int, int, str]] = []
        self.new_marks: list[str] = []
        self._cohort_of = {c: j for j, c in enumerate(self.cohorts)}

    # -- state ------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def cohort(self) -> NDArray[np.int64]:
        return self._cohort[: self.size]

    @property
    def first(self) -> NDArray[np.float64]:
        return self._first[: self.size]

    @property
    def seen(self) -> NDArray[np.int64]:
        return self._seen[: self.size]

    @property
    def cells(self) -> NDArray[np.float64]:
        return self._cells[: self.size]

    def changed(self) -> list[int]:
        """The units changed since `saved()`, in order."""
        return np.flatnonzero(self._dirty[: self.size]).tolist()

    def saved(self) -> None:
        self._dirty[:] = False
        self.new_keys.clear()
        self.new_marks.clear()

    def copy(self) -> ExperimentCells:
        """A copy to fold a tail into without changing this one (what is saved)."""
        other = ExperimentCells(
            self.cohorts, self.metrics, window=self.window, pre_window=self.pre_window
        )
        other.ids = list(self.ids)
        other.index = dict(self.index)
        other._cohort, other._first = self.cohort.copy(), self.first.copy()
        other._seen, other._cells = self.seen.copy(), self.cells.copy()
        other._dirty = np.zeros(self.size, dtype=bool)
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
        self._cohort, self._first, self._seen = cohort.copy(), first.copy(), seen.copy()
        self._cells = cells.reshape(len(self.ids), _S * len(self.metrics)).copy()
        self._dirty = np.zeros(len(self.ids), dtype=bool)

    def _add_units(
        self, units: Sequence[str], cohort: NDArray[np.int64], first: NDArray[np.float64]
    ) -> NDArray[np.int64]:
        """Number new units after the known ones; their numbers."""
        start, n = self.size, self.size + len(units)
        self._cohort, self._first = _room(self._cohort, n), _room(self._first, n)
        self._seen, self._cells = _room(self._seen, n), _room(self._cells, n)
        self._dirty = _room(self._dirty, n)
        self._cohort[start:n], self._first[start:n] = cohort, first
        self.ids.extend(units)
        self.index.update(zip(units, range(start, n), strict=True))
        return np.arange(start, n, dtype=np.int64)

    # -- folding ----------------------------------------------------------------------------
    def fold(self, part: FoldSlice) -> None:
        """Fold one slice (slices come in time order, each starting where the last ended)."""
        first_new = self.size
        x = part.exposures
        other = len(self.cohorts)
        unit = np.array(x.unit, dtype=object) if len(x) else np.zeros(0, dtype=object)
        named = np.flatnonzero(~pd.isna(unit))
        self.anonymous += len(x) - len(named)
        coded: Callable[[str | None, int], int] = self._cohort_of.get  # type: ignore[assignment]
        code = np.fromiter(map(coded, x.cohort, repeat(-1)), np.int64, len(x))
        order = named[_time_order(x.ts[named], x.pid, named)]
        codes, uniques = pd.factorize(unit[order])  # distinct units in order of first exposure
        numbers = np.fromiter(map(self.index.get, uniques, repeat(-1)), np.int64, len(uniques))
        new = np.flatnonzero(numbers < 0)
        if len(new):
            top = np.maximum.accumulate(codes)
            firsts = order[np.flatnonzero(np.r_[True, top[1:] > top[:-1]])]  # one per unique
            numbers[new] = self._add_units(
                uniques[new].tolist(), code[firsts[new]], x.ts[firsts[new]]
            )
        rows = numbers[codes]
        cohort = self.cohort
        bits = np.left_shift(1, np.where(code[order] >= 0, code[order], other))
        valid = cohort[rows] >= 0
        np.bitwise_or.at(self._seen, rows[valid], bits[valid])
        self._dirty[rows] = True
        shown = valid & x.shown[order]
        imp_u: list[int] = rows[shown].tolist()
        imp_t: list[float] = x.ts[order][shown].tolist()
        clk_u, clk_t = self._clicks(part, imp_u, imp_t)
        atoms = _atoms(part.events, self, part.lo, first_new)
        atoms[IMPRESSION] = _Atom(np.array(imp_u, dtype=np.int64), np.array(imp_t))
        atoms[CLICK] = _Atom(np.array(clk_u, dtype=np.int64), np.array(clk_t))
        for m, metric in enumerate(self.metrics):
            top_part, bottom = metric.parts
            base = m * _S
            self._part(top_part, atoms, base, _VALUE, _MATCHED, _MISSING, pre=False)
            if bottom is not None:
                self._part(bottom, atoms, base, _DEN, None, None, pre=False)
            elif self.pre_window > 0:
                self._part(top_part, atoms, base, _PRE, _PRE_MATCHED, None, pre=True)
        for atom in atoms.values():
            self._dirty[atom.unit] = True
        self.folded_to = part.hi

    def _clicks(
        self, part: FoldSlice, imp_u: list[int], imp_t: list[float]
    ) -> tuple[list[int], list[float]]:
        """The slice's clicks (unit numbers, times); the first engagement naming a log row
        that carried no content counts its one impression (appended to imp_u, imp_t)."""
        clk_u: list[int] = []
        clk_t: list[float] = []
        if not part.engagements:
            return clk_u, clk_t
        x, index, cohort = part.exposures, self.index, self.cohort
        at = dict(zip(x.pid, range(len(x)), strict=True))
        units, shows, times = x.unit, x.shown.tolist(), x.ts.tolist()
        for g in sorted(part.engagements, key=lambda g: (g.ts, g.event_id)):
            k = at.get(g.personalization_id)
            if k is not None:
                owned, was_shown, ts = units[k], shows[k], times[k]
            else:
                e = part.earlier.get(g.personalization_id)
                if e is None:  # not this experiment's
                    continue
                owned, was_shown, ts = e.unit, e.shown, e.ts
            if owned is None:  # nobody's
                continue
            owner = index.get(owned)
            if not was_shown and g.personalization_id not in self.marks:
                self.marks.add(g.personalization_id)
                self.new_marks.append(g.personalization_id)
                if owner is not None and cohort[owner] >= 0:
                    imp_u.append(owner)
                    imp_t.append(ts)
            clicker = index.get(g.unit) if g.click and g.unit is not None else None
            if clicker is not None and cohort[clicker] >= 0:
                clk_u.append(clicker)
                clk_t.append(g.ts)
        return clk_u, clk_t

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


def _time_order(
    ts: NDArray[np.float64], pids: Sequence[str], rows: NDArray[np.int64]
) -> NDArray[np.int64]:
    """The order of `ts` by time, then by personalization id (`pids[rows[k]]`) where times
    are equal (rare: sorted in Python only there)."""
    order = np.argsort(ts, kind="stable")
    same = np.flatnonzero(ts[order][1:] == ts[order][:-1])
    start = 0
    while start < len(same):  # each run of equal times, sorted by id
        end = start
        while end + 1 < len(same) and same[end + 1] == same[end] + 1:
            end += 1
        lo, hi = int(same[start]), int(same[end]) + 2
        order[lo:hi] = sorted(order[lo:hi].tolist(), key=lambda k: pids[int(rows[k])])
        start = end + 1
    return order


def _atoms(
    events: Iterable[MetricEvent], cells: ExperimentCells, lo: float, first_new: int
) -> dict[str, _Atom]:
    """The slice's events by interaction, kept for assigned units only; an event before `lo`
    only for a unit first exposed in this slice (number >= first_new). Repeated event ids
    count once."""
    found: dict[str, tuple[list[int], list[float], list[Mapping[str, Any]]]] = {}
    seen: set[str] = set()
    index, cohort = cells.index, cells.cohort
    for e in events:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        i = index.get(e.unit)
        if i is None or cohort[i] < 0 or (e.ts < lo and i < first_new):
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
    exposures = Exposures.of(
        LoggedExposure(e.personalization_id, e.ts, e.unit, e.cohort, e.shown)
        for e in journeys.exposures
        if e.experiment in wanted
    )
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
