"""An experiment's results day by day: the console's "cumulative metric over time" chart.

`MeasureService.experiment_results` answers for the whole run. The chart needs the same
figures as they stood at the end of each UTC day: for cutoff `c`, the units exposed before
`c` and their events before `c`. For fixed weights these come from each cohort's statistics at
the cutoff (`SeriesPoint`): the fold that keeps the experiment's cells stores a point per
metric at every day's end it passes, so a read takes the stored days and folds only what the
saved cells have not reached (today). Without stored points (cells saved before points were,
a window other than the default) the cells are folded from the raw log once, up to each
cutoff in turn, and the settled days' points are stored for the next read. A bandit's figures
are stratified by its weight history: its cells are folded from the raw log and read through
`results_of_cells`, on one metric, CUPED off. Either way the last point equals the full
results' unadjusted figures for the same window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from p13n.domain.analytics import (
    BanditState,
    ExperimentResults,
    ResultSettings,
    point_figures,
    resolve_metrics,
    results_of_cells,
    series_point,
)
from p13n.domain.decisions import Experiment
from p13n.domain.errors import InvalidInput
from p13n.domain.services.measure import MeasureService
from p13n.domain.timeutil import DAY

__all__ = ["MAX_POINTS", "CohortSeries", "ExperimentSeries", "experiment_series", "cutoffs"]

MAX_POINTS = 31
"""At most this many cutoffs: a longer run is read every few days (each cutoff costs one
pass over the rows read so far)."""

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class CohortSeries(BaseModel):
    """One cohort's figures at each cutoff: units exposed so far, the metric's mean per unit
    (a ratio's total / denominator) and, for a treatment, the relative lift against the
    control with the interval of the engine chosen (None before it can be estimated)."""

    model_config = _FROZEN

    cohort: str
    units: list[int]
    mean: list[float | None]
    lift: list[float | None]
    low: list[float | None]
    high: list[float | None]


class ExperimentSeries(BaseModel):
    """cutoffs: UTC epoch seconds (day ends; the last is the run's end or now)."""

    model_config = _FROZEN

    experiment: str
    metric: str
    engine: str
    cutoffs: list[float]
    cohorts: list[CohortSeries]


def cutoffs(start: float, end: float, *, max_points: int = MAX_POINTS) -> list[float]:
    """The ends of the UTC days from `start`'s to `end`, and `end` itself; every k-th day when
    there would be more than `max_points`."""
    if end <= start:
        return []
    first = (start // DAY + 1) * DAY
    days = [first + k * DAY for k in range(int(max(0.0, end - first) // DAY) + 1)]
    days = [d for d in days if d < end]
    step = -(-len(days) // max(1, max_points - 1)) if len(days) >= max_points else 1
    picked = days[::step]
    return [*picked, end]


def _interval(results: ExperimentResults, cohort: str) -> tuple[Any, Any, Any]:
    """(lift, low, high) of `cohort` on the only metric, from the engine of the settings."""
    if not results.metrics:
        return None, None, None
    for c in results.metrics[0].comparisons:
        if c.cohort != cohort:
            continue
        if results.engine == "bayesian":
            return c.bayesian.lift, c.bayesian.ci_low, c.bayesian.ci_high
        figures = c.frequentist if results.engine == "frequentist" else c.sequential
        return figures.estimate, figures.ci_low, figures.ci_high
    return None, None, None


def experiment_series(
    measure: MeasureService,
    experiment: Experiment,
    *,
    metric: str | None = None,
    settings: ResultSettings | None = None,
    bandit: BanditState | None = None,
    points: Sequence[float] | None = None,
) -> ExperimentSeries:
    """The experiment's `metric` (default its primary) at each cutoff (default `cutoffs` of
    the run). InvalidInput for a metric the experiment does not measure."""
    wanted = metric or experiment.primary_metric
    known = [experiment.primary_metric, *experiment.secondary_metrics]
    if wanted not in known:
        raise InvalidInput(
            f"experiment '{experiment.name}' does not measure {wanted!r}.",
            hint=f"Use one of: {', '.join(known)}.",
        )
    base = (settings or ResultSettings()).model_copy(update={"pre_window": 0.0})
    ids = [c.id for c in experiment.cohorts]
    if experiment.started_at is None:
        return ExperimentSeries(
            experiment=experiment.name,
            metric=wanted,
            engine=base.engine,
            cutoffs=[],
            cohorts=[
                CohortSeries(cohort=c, units=[], mean=[], lift=[], low=[], high=[]) for c in ids
            ],
        )
    now = measure.now()
    end = min(now, (experiment.stopped_at or now) + base.window)
    marks = list(points) if points is not None else cutoffs(experiment.started_at, end)
    (definition,) = resolve_metrics([wanted])
    out: dict[str, dict[str, list[Any]]] = {
        c: {"units": [], "mean": [], "lift": [], "low": [], "high": []} for c in ids
    }
    if bandit is None and experiment.mode != "bandit":
        kept = (
            measure.experiments.series_points(experiment, definition, marks)
            if base.window == ResultSettings().window
            else None
        )
        if kept is None:  # folded from the raw log; its settled days are kept for next time
            kept = {
                cutoff: series_point(cells, definition)
                for cutoff, cells in measure.experiments.series(
                    experiment, [definition], base, marks
                )
            }
            if base.window == ResultSettings().window:
                measure.experiments.keep_points(experiment, definition, kept)
        for cutoff in marks:
            for c, f in zip(ids, point_figures(definition, kept[cutoff], base), strict=True):
                for name, value in (
                    ("units", f.units),
                    ("mean", f.mean),
                    ("lift", f.lift),
                    ("low", f.low),
                    ("high", f.high),
                ):
                    out[c][name].append(value)
    else:
        for _, cells in measure.experiments.series(experiment, [definition], base, marks):
            results = results_of_cells(experiment, cells, settings=base, bandit=bandit)
            figures = {f.cohort: f for f in results.metrics[0].cohorts} if results.metrics else {}
            units = {u.cohort: u.units for u in results.cohorts}
            for c in ids:
                found = figures.get(c)
                lift, low, high = _interval(results, c) if c != ids[0] else (None, None, None)
                series = out[c]
                series["units"].append(units.get(c, 0))
                series["mean"].append(found.mean if found is not None and found.units else None)
                series["lift"].append(lift)
                series["low"].append(low)
                series["high"].append(high)
    return ExperimentSeries(
        experiment=experiment.name,
        metric=wanted,
        engine=base.engine,
        cutoffs=marks,
        cohorts=[CohortSeries(cohort=c, **out[c]) for c in ids],
    )
