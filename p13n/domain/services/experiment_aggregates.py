"""An experiment's cells kept up to date from the log and the events, for results read in
milliseconds rather than by a scan of the raw log per request.

The saved state is the experiment's cells (`domain/analytics/experiment_cells.py`) under its
default setting (its metrics, the default window and pre-exposure window) folded up to
`settle_s` before now: each read folds what the log gained since, saves it, and folds the last
`settle_s` (where late writers may still add rows) into a copy that is answered and dropped. So
an answer always covers the log up to now, and the saved part never misses a row that arrived
late by less than `settle_s`. Rows written later than that behind the saved mark (an import of
old events) need `forget` (the next read folds from the start, which is also `recompute`).

Identities merged after the cells were folded move events between units: the saved state
records the number of merged ids it was folded under, and a change folds again from the start.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import orjson

from p13n.domain.analytics import (
    CLICK,
    CLICK_INTERACTIONS,
    IMPRESSION,
    SLOTS,
    Engagement,
    ExperimentCells,
    Exposures,
    FoldSlice,
    LoggedExposure,
    MetricDefinition,
    MetricEvent,
    ResultSettings,
    SeriesPoint,
    engagement_pid,
    metric_fields,
    point_from_json,
    resolve_metrics,
    series_point,
)
from p13n.domain.decisions import Experiment
from p13n.domain.services.survivors import Survivors
from p13n.domain.store import ExperimentStore, MeasureReads
from p13n.domain.timeutil import DAY

__all__ = ["ExperimentAggregates", "SLICE_SECONDS", "metrics_of"]

SLICE_SECONDS = 7 * 86_400.0
"""A fold from the start reads the log in slices of a week (bounded memory)."""
_BY_ID_MAX = 20_000  # up to this many new units, their earlier events are read by id


class ExperimentAggregates:
    def __init__(
        self,
        reads: MeasureReads,
        survivors: Callable[[], Survivors],
        merged: Callable[[], int],
        *,
        clock: Callable[[], float],
        settle_s: float,
    ) -> None:
        self.reads = reads
        self.store = ExperimentStore(reads.store)
        self.survivors = survivors
        self.merged = merged
        self.now = clock
        self.settle_s = settle_s
        self._saved: dict[str, tuple[str, int, ExperimentCells]] = {}
        self._lock = threading.Lock()

    # -- reading ----------------------------------------------------------------------------
    def cells(
        self, experiment: Experiment, metrics: Sequence[MetricDefinition], settings: ResultSettings
    ) -> tuple[ExperimentCells, str]:
        """The cells of `experiment` over the log up to now, and where they came from:
        'aggregates' (the saved state brought up to date) or 'raw log' (a setting other than
        the saved one, folded from the start and not kept)."""
        default = ResultSettings()
        if (settings.window, settings.pre_window) != (default.window, default.pre_window):
            return self.recompute(experiment, metrics, settings), "raw log"
        end = self._end(experiment, settings)
        settled = max(experiment.started_at or end, min(end, self.now() - self.settle_s))
        with self._lock:
            saved = self._up_to(experiment, metrics, settings, settled)
        if saved.folded_to is not None and saved.folded_to >= end:
            return saved, "aggregates"
        tail = saved.copy()
        self._fold(experiment, tail, tail.folded_to or settled, end)
        return tail, "aggregates"

    def recompute(
        self, experiment: Experiment, metrics: Sequence[MetricDefinition], settings: ResultSettings
    ) -> ExperimentCells:
        """The cells folded from the raw log, from the start (nothing saved)."""
        cells = self._empty(experiment, metrics, settings)
        if experiment.started_at is not None:
            self._fold(experiment, cells, experiment.started_at, self._end(experiment, settings))
        return cells

    def series(
        self,
        experiment: Experiment,
        metrics: Sequence[MetricDefinition],
        settings: ResultSettings,
        cutoffs: Sequence[float],
    ) -> Iterator[tuple[float, ExperimentCells]]:
        """The cells as they stood at each cutoff (the log before it), folded in one pass."""
        cells = self._empty(experiment, metrics, settings)
        at = experiment.started_at
        if at is None:
            return
        for cutoff in sorted(cutoffs):
            if cutoff > at:
                self._fold(experiment, cells, at, cutoff)
                at = cutoff
            yield cutoff, cells

    def series_points(
        self, experiment: Experiment, metric: MetricDefinition, cutoffs: Sequence[float]
    ) -> dict[float, SeriesPoint] | None:
        """`metric`'s point at each cutoff from the points kept at day ends and, for cutoffs
        past the saved cells (today), the saved cells folded on; None when a day's point is
        missing (cells saved before points were, a bandit, another metric: the caller folds
        from the raw log)."""
        settings = ResultSettings()
        metrics = metrics_of(experiment)
        if experiment.started_at is None or experiment.mode == "bandit" or metric not in metrics:
            return None
        end = self._end(experiment, settings)
        settled = max(experiment.started_at, min(end, self.now() - self.settle_s))
        with self._lock:
            saved = self._up_to(experiment, metrics, settings, settled)
        basis = _basis(experiment, metric, settings.window, self.merged())
        stored = self.store.points(experiment.name, metric.name, basis)
        found: dict[float, SeriesPoint] = {}
        tail: ExperimentCells | None = None
        for cutoff in sorted(cutoffs):
            if cutoff in stored:
                found[cutoff] = point_from_json(stored[cutoff])
                continue
            at = saved.folded_to if tail is None else tail.folded_to
            if at is None or cutoff < at:
                return None
            if tail is None:
                tail = saved.copy()
            if cutoff > at:
                self._fold(experiment, tail, at, cutoff)
            found[cutoff] = series_point(tail, metric)
        return found

    def keep_points(
        self, experiment: Experiment, metric: MetricDefinition, points: dict[float, SeriesPoint]
    ) -> None:
        """Store the points of UTC day ends that have settled (a fold from the raw log made
        them), so that the next read of the series finds them."""
        if experiment.mode == "bandit":
            return
        settings = ResultSettings()
        basis = _basis(experiment, metric, settings.window, self.merged())
        settled = self.now() - self.settle_s
        rows = [
            (metric.name, cutoff, basis, point.to_json().decode())
            for cutoff, point in points.items()
            if cutoff % DAY == 0 and cutoff <= settled
        ]
        self.store.save_points(experiment.name, rows)

    def forget(self, experiment: str | None = None) -> None:
        with self._lock:
            if experiment is None:
                self._saved.clear()
            else:
                self._saved.pop(experiment, None)
            self.store.forget(experiment)

    def fold_all(self, experiments: Iterable[Experiment]) -> int:
        """Bring every Started experiment's saved cells up to date (the server's hourly job,
        so that the first read after a quiet hour does not pay for it); how many folded."""
        done = 0
        for experiment in experiments:
            if experiment.started_at is None or experiment.status not in ("Started", "Stopped"):
                continue
            settings = ResultSettings()
            end = self._end(experiment, settings)
            settled = max(experiment.started_at, min(end, self.now() - self.settle_s))
            with self._lock:
                self._up_to(experiment, metrics_of(experiment), settings, settled)
            done += 1
        return done

    # -- the saved state --------------------------------------------------------------------
    def _up_to(
        self,
        experiment: Experiment,
        metrics: Sequence[MetricDefinition],
        settings: ResultSettings,
        settled: float,
    ) -> ExperimentCells:
        setting = _setting(experiment, metrics, settings)
        merged = self.merged()
        cached = self._saved.get(experiment.name)
        cells = cached[2] if cached is not None and cached[:2] == (setting, merged) else None
        if cells is None:
            cells = self._load(experiment, metrics, settings, setting, merged)
        replace = cells is None
        if cells is None:
            cells = self._empty(experiment, metrics, settings)
        start = cells.folded_to if cells.folded_to is not None else experiment.started_at
        if start is not None and start < settled:
            points: list[tuple[str, float, str, str]] | None = (
                None if experiment.mode == "bandit" else []
            )
            self._fold(experiment, cells, start, settled, points=points)
            self._save(experiment, cells, setting, merged, replace=replace)
            if points:
                self.store.save_points(experiment.name, points)
        elif replace:
            cells.folded_to = settled
            self._save(experiment, cells, setting, merged, replace=True)
        self._saved[experiment.name] = (setting, merged, cells)
        return cells

    def _load(
        self,
        experiment: Experiment,
        metrics: Sequence[MetricDefinition],
        settings: ResultSettings,
        setting: str,
        merged: int,
    ) -> ExperimentCells | None:
        # The setting first: cells saved for other metrics (the experiment was edited) have
        # another width and are folded again, not reshaped.
        fold = self.store.fold_row(experiment.name)
        if fold is None or fold["setting"] != setting or fold["identity"] != merged:
            return None
        saved = self.store.load(experiment.name, len(SLOTS) * len(metrics))
        if saved is None or saved.fold["setting"] != setting or saved.fold["identity"] != merged:
            return None
        cells = self._empty(experiment, metrics, settings)
        cells.load_units(saved.ids, saved.cohort, saved.first, saved.seen, saved.cells)
        cells.keys, cells.marks = saved.keys, saved.marks
        cells.anonymous = int(saved.fold["anonymous"])
        cells.folded_to = float(saved.fold["folded_to"])
        return cells

    def _save(
        self,
        experiment: Experiment,
        cells: ExperimentCells,
        setting: str,
        merged: int,
        *,
        replace: bool,
    ) -> None:
        chosen = range(cells.size) if replace else cells.changed()
        units = [
            (
                i,
                cells.ids[i],
                int(cells.cohort[i]),
                float(cells.first[i]),
                int(cells.seen[i]),
                cells.cells[i].tobytes(),
            )
            for i in chosen
        ]
        fold = {
            "setting": setting,
            "folded_to": cells.folded_to,
            "anonymous": cells.anonymous,
            "identity": merged,
            "made_at": self.now(),
        }
        keys = cells.keys if replace else cells.new_keys
        marks = cells.marks if replace else cells.new_marks
        self.store.save(experiment.name, fold, units, replace=replace, keys=keys, marks=marks)
        cells.saved()

    # -- folding from the raw log -----------------------------------------------------------
    def _empty(
        self, experiment: Experiment, metrics: Sequence[MetricDefinition], settings: ResultSettings
    ) -> ExperimentCells:
        return ExperimentCells(
            tuple(c.id for c in experiment.cohorts),
            metrics,
            window=settings.window,
            pre_window=settings.pre_window,
        )

    def _end(self, experiment: Experiment, settings: ResultSettings) -> float:
        now = self.now()
        return min(now, (experiment.stopped_at or now) + settings.window) + 1e-6

    def _fold(
        self,
        experiment: Experiment,
        cells: ExperimentCells,
        start: float,
        end: float,
        *,
        points: list[tuple[str, float, str, str]] | None = None,
    ) -> None:
        """Fold [start, end) into `cells`, a week at a time. A fold of several slices reads the
        events once: each slice's new units find their pre-exposure events among the rows the
        earlier slices read (and the first slice's read of the window before `start`). With
        `points` (a list) slices also end at each UTC day's end, where each metric's
        `SeriesPoint` is appended to it as (metric, cutoff, basis, JSON)."""
        survivors = self.survivors()
        interactions = {
            name
            for metric in cells.metrics
            for part in metric.parts
            if part is not None
            for name in part.events
            if name not in (IMPRESSION, CLICK)
        }
        recent: list[dict[str, Any]] | None = None
        if end - start > SLICE_SECONDS and interactions and cells.pre_window > 0:
            recent = self._metric_rows(interactions, start - cells.pre_window, start, survivors)
        lo = start
        while lo < end:
            hi = min(lo + SLICE_SECONDS, end)
            if points is not None:
                hi = min(hi, (lo // DAY + 1) * DAY)
            part, rows = self._slice(experiment, cells, lo, hi, survivors, interactions, recent)
            cells.fold(part)
            if recent is not None:
                recent = [r for r in (*recent, *rows) if r["ts"] >= hi - cells.pre_window]
            if points is not None and hi % DAY == 0:
                merged = self.merged()
                for metric in cells.metrics:
                    basis = _basis(experiment, metric, cells.window, merged)
                    points.append(
                        (metric.name, hi, basis, series_point(cells, metric).to_json().decode())
                    )
            lo = hi

    def _slice(
        self,
        experiment: Experiment,
        cells: ExperimentCells,
        lo: float,
        hi: float,
        survivors: Survivors,
        interactions: set[str],
        recent: list[dict[str, Any]] | None,
    ) -> tuple[FoldSlice, list[dict[str, Any]]]:
        """The slice [lo, hi) read from the store, and its metric event rows. `recent`: the
        metric event rows of at least `pre_window` before `lo` when the caller holds them."""
        names = (experiment.name, experiment.id)
        exposures = _exposures(self.reads.experiment_rows(names, lo, hi), survivors)
        engagements, earlier = self._engagements(names, exposures, lo, hi, survivors)
        rows: list[dict[str, Any]] = []
        before: list[dict[str, Any]] = []
        if interactions:
            rows = self._metric_rows(interactions, lo, hi, survivors)
            new = {u for u in exposures.unit if u is not None} - cells.index.keys()
            if new and cells.pre_window > 0:
                since = lo - cells.pre_window
                if recent is None:
                    before = self._before(interactions, new, since, lo, survivors)
                else:
                    before = [r for r in recent if since <= r["ts"] < lo and r["unit"] in new]
        valued = _valued(cells.metrics)
        events = []
        for row in (*rows, *before):
            unit = row["unit"]
            if unit is None:
                continue
            event_id, interaction = str(row["event_id"]), str(row["interaction"])
            fields = metric_fields(event_id, row) if interaction in valued else _NO_FIELDS
            events.append(MetricEvent(event_id, float(row["ts"]), unit, interaction, fields))
        part = FoldSlice(
            lo=lo,
            hi=hi,
            exposures=exposures,
            earlier=earlier,
            engagements=engagements,
            events=events,
        )
        return part, rows

    def _engagements(
        self,
        names: tuple[str, str],
        exposures: Exposures,
        lo: float,
        hi: float,
        survivors: Survivors,
    ) -> tuple[list[Engagement], dict[str, LoggedExposure]]:
        """The slice's views and clicks of the experiment's personalizations, and the log rows
        before `lo` that they name."""
        joined = self.reads.experiment_engagements(names, lo, hi)
        who = survivors.units([r[1] for r in joined])
        logged = survivors.units([r[5] for r in joined])
        engagements = [
            Engagement(str(r[0]), float(r[2]), u, str(r[8]), r[3] in CLICK_INTERACTIONS)
            for r, u in zip(joined, who, strict=True)
        ]
        earlier = {
            str(r[8]): LoggedExposure(str(r[8]), float(r[4]), u, r[6] or None, bool(r[7]))
            for r, u in zip(joined, logged, strict=True)
            if r[4] < lo
        }
        unnamed = []  # views and clicks naming a personalization in their payload only
        for event_id, unit, ts, interaction, payload in self.reads.unnamed_engagements(lo, hi):
            pid = engagement_pid({"payload": payload})
            if pid is not None:
                click = interaction in CLICK_INTERACTIONS
                unnamed.append((str(event_id), float(ts), unit, pid, click))
        if unnamed:
            here = set(exposures.pid)
            named = {g[3] for g in unnamed} - here - earlier.keys()
            earlier.update(
                (str(r[0]), _exposure(r, survivors))
                for r in self.reads.experiment_rows_named(names, named, lo)
            )
            units = survivors.units([g[2] for g in unnamed])
            engagements.extend(
                Engagement(e, ts, u, pid, click)
                for (e, ts, _, pid, click), u in zip(unnamed, units, strict=True)
                if pid in here or pid in earlier
            )
        return engagements, earlier

    def _before(
        self,
        interactions: set[str],
        units: set[str],
        lo: float,
        hi: float,
        survivors: Survivors,
    ) -> list[dict[str, Any]]:
        """The events of [lo, hi) of the units first exposed in a slice (their pre-exposure
        window): by id (each unit and the ids merged into it) when they are few."""
        if len(units) > _BY_ID_MAX:
            found = self._metric_rows(interactions, lo, hi, survivors)
        else:
            ids = set(units)
            for unit in units:
                ids.update(survivors.aliases_of(unit))
            found = self._metric_rows(interactions, lo, hi, survivors, unified_ids=ids)
        return [r for r in found if r["unit"] in units]

    def _metric_rows(
        self,
        interactions: set[str],
        lo: float,
        hi: float,
        survivors: Survivors,
        *,
        unified_ids: set[str] | None = None,
    ) -> list[dict[str, Any]]:
        """`MeasureReads.metric_events_between`'s rows, each with its `unit` (as `unit_of`
        finds it: the ids mapped once per distinct id)."""
        rows = self.reads.metric_events_between(interactions, lo, hi, unified_ids=unified_ids)
        for row, unit in zip(rows, survivors.units([r["who"] for r in rows]), strict=True):
            row["unit"] = unit
        return rows


_NO_FIELDS: dict[str, float | str | None] = {}


def _valued(metrics: Sequence[MetricDefinition]) -> set[str]:
    """The events whose fields some metric sums or counts distinct (the others' fields are
    never read: most of what building an event row costs)."""
    return {
        name
        for metric in metrics
        for part in metric.parts
        if part is not None and part.kind != "count"
        for name in part.events
    }


def metrics_of(experiment: Experiment) -> tuple[MetricDefinition, ...]:
    """The built-ins the experiment names, primary first (what its saved cells hold)."""
    return tuple(resolve_metrics([experiment.primary_metric, *experiment.secondary_metrics]))


def _exposures(rows: Sequence[tuple[Any, ...]], survivors: Survivors) -> Exposures:
    """Log rows of `MeasureReads.experiment_rows` (pid, ts, who, cohort, shown) as columns,
    each id through `survivors` once (not once per row)."""
    if not rows:
        return Exposures()
    pid, ts, who, cohort, shown = (list(map(itemgetter(k), rows)) for k in range(5))
    return Exposures(
        pid=pid,
        ts=np.array(ts, dtype=np.float64),
        unit=survivors.units(who),
        cohort=cohort,
        shown=np.array(shown, dtype=bool),
    )


def _exposure(row: Sequence[Any], survivors: Survivors) -> LoggedExposure:
    """A log row of `MeasureReads.experiment_rows` (pid, ts, who, cohort, shown): its unit as
    `unit_of` finds it."""
    pid, ts, who, cohort, shown = row
    unit = survivors.get(str(who), str(who)) if who else None
    return LoggedExposure(str(pid), float(ts), unit, str(cohort) if cohort else None, bool(shown))


def _setting(
    experiment: Experiment, metrics: Sequence[MetricDefinition], settings: ResultSettings
) -> str:
    """What the saved cells depend on: a change of any folds again from the start."""
    described = {
        "id": experiment.id,
        "started": experiment.started_at,
        "cohorts": [c.id for c in experiment.cohorts],
        "metrics": [m.model_dump(mode="json") for m in metrics],
        "window": settings.window,
        "pre": settings.pre_window,
    }
    return hashlib.sha256(orjson.dumps(described, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _basis(experiment: Experiment, metric: MetricDefinition, window: float, merged: int) -> str:
    """What a day's point depends on: a change of any makes the stored points unreadable."""
    described = {
        "id": experiment.id,
        "started": experiment.started_at,
        "cohorts": [c.id for c in experiment.cohorts],
        "metric": metric.model_dump(mode="json"),
        "window": window,
        "identity": merged,
    }
    return hashlib.sha256(orjson.dumps(described, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
