"""Charts of the Experiments and Attribution pages, from the Measure service's models.

Two kinds: uPlot time series in the shape of `charts.Chart` (drawn by `static/console.js`),
and horizontal interval or value bars as plain numbers in a 0..1 frame that the templates draw
as inline SVG (no script, deterministic, readable as text by tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from p13n.domain.analytics import AttributionReport, BanditState, Comparison
from p13n.domain.services import ExperimentSeries
from p13n.server.console.charts import Chart, period_seconds

__all__ = [
    "Bar",
    "IntervalRow",
    "attribution_day_chart",
    "bandit_chart",
    "interval_rows",
    "scale_intervals",
    "series_charts",
    "value_bars",
]


@dataclass(frozen=True)
class IntervalRow:
    """One cohort's lift with its interval (relative; None when not estimable), and where it
    sits in the chart's frame (0..1) once scaled (`scale_intervals`)."""

    label: str
    estimate: float | None
    low: float | None
    high: float | None
    x_estimate: float = 0.0
    x_low: float = 0.0
    x_high: float = 0.0

    @property
    def drawn(self) -> bool:
        return None not in (self.estimate, self.low, self.high)


def _engine_figures(c: Comparison, engine: str) -> tuple[float | None, float | None, float | None]:
    if engine == "bayesian":
        return c.bayesian.lift, c.bayesian.ci_low, c.bayesian.ci_high
    f = c.frequentist if engine == "frequentist" else c.sequential
    return f.estimate, f.ci_low, f.ci_high


def interval_rows(
    comparisons: Sequence[Comparison], engine: str
) -> tuple[list[IntervalRow], float]:
    """Per treatment cohort the engine's lift and interval, and the CUPED-adjusted one beside
    it when CUPED ran (its Welch interval for the frequentist and Bayesian engines, its
    always-valid one for the sequential engine)."""
    rows: list[IntervalRow] = []
    for c in comparisons:
        rows.append(IntervalRow(c.cohort, *_engine_figures(c, engine)))
        if c.cuped is not None:
            f = c.cuped.sequential if engine == "sequential" else c.cuped.frequentist
            rows.append(IntervalRow(f"{c.cohort} (CUPED)", c.cuped.lift, f.ci_low, f.ci_high))
    return scale_intervals(rows)


def scale_intervals(rows: Sequence[IntervalRow]) -> tuple[list[IntervalRow], float]:
    """The rows placed in a frame that holds every interval and zero, with a little margin,
    and where zero sits in it."""
    values = [v for r in rows if r.drawn for v in (r.low, r.high) if v is not None]
    values = [v for v in values if math.isfinite(v)]
    lo, hi = min([0.0, *values]), max([0.0, *values])
    pad = (hi - lo) * 0.08 or 0.1
    lo, hi = lo - pad, hi + pad

    def at(v: float | None) -> float:
        if v is None or not math.isfinite(v):
            return 0.0
        return (v - lo) / (hi - lo)

    out = [
        IntervalRow(r.label, r.estimate, r.low, r.high, at(r.estimate), at(r.low), at(r.high))
        for r in rows
    ]
    return out, at(0.0)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    share: float  # of the largest value shown, 0..1


def value_bars(labels_values: Sequence[tuple[str, float]]) -> list[Bar]:
    peak = max((v for _, v in labels_values), default=0.0) or 1.0
    return [Bar(label, value, max(value, 0.0) / peak) for label, value in labels_values]


def series_charts(series: ExperimentSeries) -> list[Chart]:
    """The cumulative metric per cohort, and each treatment's lift with its interval."""
    x = [int(t) for t in series.cutoffs]
    mean_chart: Chart = {
        "id": "cumulative",
        "title": f"{series.metric} so far, per cohort (cumulative, at each day's end)",
        "unit": series.metric,
        "x": x,
        "series": [{"label": c.cohort, "values": c.mean} for c in series.cohorts],
    }
    lift_series: list[dict[str, Any]] = []
    for c in series.cohorts[1:]:
        lift_series += [
            {"label": f"{c.cohort} lift", "values": _pct(c.lift)},
            {"label": f"{c.cohort} low", "values": _pct(c.low)},
            {"label": f"{c.cohort} high", "values": _pct(c.high)},
        ]
    lift_chart: Chart = {
        "id": "lift",
        "title": f"Lift on {series.metric} against the control, with its {series.engine} interval",
        "unit": "% lift",
        "x": x,
        "series": lift_series,
    }
    return [mean_chart, lift_chart]


def _pct(values: Sequence[float | None]) -> list[float | None]:
    return [None if v is None else round(v * 100, 3) for v in values]


def bandit_chart(state: BanditState, now: float) -> Chart:
    """Each cohort's share of new units (%) from each re-weighting on, held until now."""
    history = list(state.history)
    x = [int(e.ts) for e in history]
    if not x or now > x[-1]:
        x.append(int(now))
        history.append(history[-1])
    return {
        "id": "bandit",
        "title": "Bandit weights over time (share of new units)",
        "unit": "%",
        "x": x,
        "series": [
            {"label": c, "values": [round(e.weights.get(c, 0.0) * 100, 2) for e in history]}
            for c in state.cohorts
        ],
    }


def attribution_day_chart(report: AttributionReport) -> Chart | None:
    """Grouped by day alone: clicks, attributed carts and orders per day, and revenue."""
    if report.groupBy != ["day"] or not report.rows:
        return None
    rows = sorted(report.rows, key=lambda r: r.group.get("day") or "")
    x = [period_seconds(str(r.group["day"])) for r in rows if r.group.get("day")]
    rows = [r for r in rows if r.group.get("day")]
    return {
        "id": "attribution-days",
        "title": "Per day: clicks, attributed add-to-carts and orders",
        "unit": "count",
        "x": x,
        "series": [
            {"label": "clicks", "values": [r.clicks for r in rows]},
            {"label": "add-to-carts", "values": [round(r.addToCarts, 3) for r in rows]},
            {"label": "orders", "values": [round(r.orders, 3) for r in rows]},
            {"label": "revenue", "values": [float(r.revenue) for r in rows]},
        ],
    }
