"""An experiment's metric as it stood at a day's end, kept small enough to store.

The results over time (the console's chart) need, at each UTC day's end, each cohort's units
and the metric's statistics among them. Folding the raw log up to every cutoff costs a pass
over the whole run per read; a day that has ended never changes (its units and their events
before the cutoff are fixed), so the fold that keeps an experiment's cells records a
`SeriesPoint` per metric each time it passes a day's end, and the chart reads those. A point
holds the per-cohort sufficient statistics (`RateStats`, `MeanStats` or `RatioStats`): the
figures at that cutoff follow from them alone (`point_figures`), for fixed weights (one
period; a bandit's results are stratified by its weight history and are folded instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from p13n.domain.analytics.experiment_cells import ExperimentCells
from p13n.domain.analytics.experiment_compare import cohort_strata, interval_of
from p13n.domain.analytics.experiment_report import ResultSettings
from p13n.domain.analytics.metrics import MetricDefinition
from p13n.domain.analytics.sufficient import MeanStats, RateStats, RatioStats, Summary

__all__ = ["PointFigures", "SeriesPoint", "point_figures", "point_from_json", "series_point"]


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """units: the units assigned to each cohort so far; summaries: the metric per cohort."""

    units: tuple[int, ...]
    summaries: tuple[Summary, ...]

    def to_json(self) -> bytes:
        return orjson.dumps(
            {"units": list(self.units), "cohorts": [_dump(s) for s in self.summaries]}
        )


@dataclass(frozen=True, slots=True)
class PointFigures:
    """One cohort at a cutoff: units, the metric's mean (None before any unit has it) and, for
    a treatment, its lift with the interval of the engine (None for the control)."""

    units: int
    mean: float | None
    lift: float | None
    low: float | None
    high: float | None


def series_point(cells: ExperimentCells, metric: MetricDefinition) -> SeriesPoint:
    """The point of `metric` (one of the cells') for the cells as they stand."""
    values = cells.values(metric)
    k = len(cells.cohorts)
    periods = np.zeros(len(values.cohort), dtype=np.int64)
    (strata,) = cohort_strata(metric, values, periods, k)
    units = np.bincount(cells.cohort[cells.assigned], minlength=k)
    return SeriesPoint(tuple(int(u) for u in units), tuple(strata))


def point_figures(
    metric: MetricDefinition, point: SeriesPoint, settings: ResultSettings
) -> list[PointFigures]:
    """Each cohort's figures at the point, the first cohort being the control."""
    control = point.summaries[0]
    out = []
    for j, (units, summary) in enumerate(zip(point.units, point.summaries, strict=True)):
        lift, low, high = (
            interval_of(metric, control, summary, settings) if j else (None, None, None)
        )
        mean = summary.mean if summary.n else None
        out.append(PointFigures(units=units, mean=mean, lift=lift, low=low, high=high))
    return out


def _dump(summary: Summary) -> dict[str, Any]:
    if isinstance(summary, RateStats):
        return {"rate": [summary.n, summary.conversions]}
    if isinstance(summary, RatioStats):
        num, den = summary.numerator, summary.denominator
        return {
            "ratio": [summary.n, num.sum, num.sum_squares, den.sum, den.sum_squares],
            "cross": summary.cross_sum,
        }
    if isinstance(summary, MeanStats):
        return {"mean": [summary.n, summary.sum, summary.sum_squares]}
    raise TypeError(f"no stored form for {type(summary).__name__}")


def _load(doc: dict[str, Any]) -> Summary:
    if "rate" in doc:
        n, conversions = doc["rate"]
        return RateStats(n=int(n), conversions=int(conversions))
    if "ratio" in doc:
        n, nsum, nsq, dsum, dsq = doc["ratio"]
        return RatioStats(
            n=int(n),
            numerator=MeanStats(n=int(n), sum=float(nsum), sum_squares=float(nsq)),
            denominator=MeanStats(n=int(n), sum=float(dsum), sum_squares=float(dsq)),
            cross_sum=float(doc["cross"]),
        )
    n, total, squares = doc["mean"]
    return MeanStats(n=int(n), sum=float(total), sum_squares=float(squares))


def point_from_json(data: bytes | str) -> SeriesPoint:
    doc = orjson.loads(data)
    return SeriesPoint(tuple(int(u) for u in doc["units"]), tuple(_load(c) for c in doc["cohorts"]))
