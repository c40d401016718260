"""An experiment's results: per cohort, per metric, every engine, CUPED, SRM and a verdict.

`experiment_results` reads the journeys (who was exposed in which cohort: `metric_values`)
and the exposed units' event rows, reduces each metric to per-cohort sufficient statistics
and compares each cohort with the control (the first cohort):
- Bayesian (the default engine): beta–binomial for proportions, the normal model on the
  effect for means and ratios; the chance to beat the control is read on the absolute scale,
  the lift and its credible interval on the relative one (see `bayesian.compare_means`);
- frequentist: the two-proportion z-test for proportions, Welch for the rest; and the
  always-valid sequential interval for everyone;
- CUPED on the same metric in the pre-exposure window (not for ratios), beside the unadjusted
  figures, with the variance reduction achieved; the verdict reads the adjusted figures when
  CUPED reduced the variance;
- the SRM check against the cohort weights (the bandit's history when there is one);
- a verdict per metric and cohort from the engine chosen in the settings (`verdict.py`).
A bandit experiment is stratified by the periods of its weight history (`bandit_state.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from p13n.domain.analytics.bandit_state import BanditState, stratify
from p13n.domain.analytics.experiment_cells import ExperimentCells, slice_of_journeys
from p13n.domain.analytics.experiment_compare import cohort_strata, data_warnings, metric_results
from p13n.domain.analytics.experiment_report import (
    CohortUnits,
    ExperimentResults,
    MetricResults,
    ResultSettings,
    SrmFigures,
)
from p13n.domain.analytics.journeys import Journeys
from p13n.domain.analytics.metrics import MetricDefinition, resolve_metrics, validated
from p13n.domain.analytics.srm import check_sample_ratio
from p13n.domain.analytics.sufficient import Summary

if TYPE_CHECKING:
    from p13n.domain.decisions import Experiment

__all__ = [
    "experiment_results",
    "results_of_cells",
    "cells_of_journeys",
    "metric_summaries",
    "parse_result_settings",
]


def parse_result_settings(data: Mapping[str, Any] | ResultSettings | None) -> ResultSettings:
    """Settings from a mapping (query parameters, CLI flags); InvalidInput says what is wrong
    (a window that is not positive, an unknown engine)."""
    return ResultSettings() if data is None else validated(ResultSettings, data, "settings")


def cells_of_journeys(
    experiment: Experiment,
    journeys: Journeys,
    metrics: Sequence[MetricDefinition],
    *,
    events: Iterable[Mapping[str, Any]] = (),
    settings: ResultSettings,
    units: Mapping[str, str] | None = None,
) -> ExperimentCells:
    """The experiment's cells folded from `journeys` and the event rows in one slice."""
    cells = ExperimentCells(
        tuple(c.id for c in experiment.cohorts),
        metrics,
        window=settings.window,
        pre_window=settings.pre_window,
    )
    names = {experiment.name, experiment.id}
    cells.fold(slice_of_journeys(names, journeys, events, units=units))
    return cells


def experiment_results(
    experiment: Experiment,
    journeys: Journeys,
    metrics: Sequence[MetricDefinition] | None = None,
    *,
    events: Iterable[Mapping[str, Any]] = (),
    settings: ResultSettings | None = None,
    units: Mapping[str, str] | None = None,
    bandit: BanditState | None = None,
) -> ExperimentResults:
    """The experiment's results. metrics: the definitions to read (default: the built-ins the
    experiment names, primary first); events: the exposed units' event rows; units: the
    survivor map of merged identities; bandit: its weight history, when run as a bandit."""
    settings = settings or ResultSettings()
    chosen = (
        tuple(metrics)
        if metrics is not None
        else tuple(resolve_metrics([experiment.primary_metric, *experiment.secondary_metrics]))
    )
    cells = cells_of_journeys(
        experiment, journeys, chosen, events=events, settings=settings, units=units
    )
    return results_of_cells(experiment, cells, settings=settings, bandit=bandit)


def results_of_cells(
    experiment: Experiment,
    cells: ExperimentCells,
    *,
    settings: ResultSettings,
    bandit: BanditState | None = None,
    metrics: Sequence[MetricDefinition] | None = None,
) -> ExperimentResults:
    """The results of folded cells on `metrics` (default all the cells hold; each must be
    among them), the experiment's primary metric marked primary (else the first);
    `settings`' windows must be the cells'."""
    cohorts = cells.cohorts
    assigned = cells.assigned
    first = cells.first[assigned]
    periods = _periods(first, bandit)
    counts = np.bincount(cells.cohort[assigned], minlength=len(cohorts)).tolist()
    expected = _expected_shares(experiment, periods, bandit)
    total = sum(counts)
    cohort_units = [
        CohortUnits(
            cohort=c.id,
            weight=float(c.weight),
            units=n,
            share=n / total if total else 0.0,
            expected=total * e,
        )
        for c, n, e in zip(experiment.cohorts, counts, expected, strict=True)
    ]
    multiple, unknown = cells.multiple_exposures, cells.unknown_cohort_units
    base: dict[str, Any] = {
        "experiment": experiment.name,
        "control": cohorts[0],
        "engine": settings.engine,
        "units": total,
        "cohorts": cohort_units,
        "multiple_exposures": multiple,
        "multiple_exposure_rate": multiple / total if total else 0.0,
        "anonymous_exposures": cells.anonymous,
        "unknown_cohort_units": unknown,
        "stratified_periods": len(set(periods.tolist())) if total else 0,
        "settings": settings,
    }
    if total == 0:
        return ExperimentResults(
            **base,
            empty=True,
            message=(
                f"No unit has been exposed to experiment '{experiment.name}' yet, so there is"
                " nothing to compare; results appear once its point serves traffic."
            ),
            srm=None,
            units_left_out=0,
            metrics=[],
            verdicts=[],
            warnings=[],
        )
    srm = check_sample_ratio(counts, expected, threshold=settings.srm_threshold)
    primary = experiment.primary_metric
    results: list[MetricResults] = []
    left_out = 0
    for metric in cells.metrics if metrics is None else metrics:
        figures, dropped = metric_results(
            metric,
            cells.values(metric),
            cohorts,
            periods,
            settings,
            srm,
            primary=metric.name == primary,
        )
        results.append(figures)
        left_out = max(left_out, dropped)
    if results and not any(r.primary for r in results):
        results[0] = results[0].model_copy(update={"primary": True})
    head = next(r for r in results if r.primary) if results else None
    verdicts = [c.verdict for c in head.comparisons] if head else []
    return ExperimentResults(
        **base,
        empty=False,
        message=" ".join(v.reason for v in verdicts) or "No metric was asked for.",
        srm=SrmFigures(
            status=srm.status,
            flagged=srm.flagged,
            p_value=srm.p_value,
            chi_square=srm.chi_square,
            threshold=srm.threshold,
            message=srm.message,
        ),
        units_left_out=left_out,
        metrics=results,
        verdicts=verdicts,
        warnings=data_warnings(total, multiple, unknown, settings, srm, left_out),
    )


def metric_summaries(
    experiment: Experiment,
    cells: ExperimentCells,
    metric: MetricDefinition,
    *,
    bandit: BanditState | None = None,
) -> dict[str, Summary]:
    """Each cohort's statistics on one of the cells' metrics (stratified for a bandit): what
    `bandit_state.rebalance` reads."""
    values = cells.values(metric)
    periods = _periods(values.first_ts, bandit)
    strata = cohort_strata(metric, values, periods, len(cells.cohorts))
    combined, _ = stratify(strata)
    return dict(zip(cells.cohorts, combined, strict=True))


def _periods(first: np.ndarray[Any, Any], bandit: BanditState | None) -> np.ndarray[Any, Any]:
    """Each unit's bandit period (0 for every unit of a fixed-weight experiment): the entry of
    the weight history in force at its first exposure (`BanditState.period_of`)."""
    if bandit is None:
        return np.zeros(len(first), dtype=np.int64)
    starts = np.array([e.ts for e in bandit.history])
    found = np.searchsorted(starts, first, side="right") - 1
    return np.maximum(found, 0).astype(np.int64)


def _expected_shares(
    experiment: Experiment, periods: np.ndarray[Any, Any], bandit: BanditState | None
) -> list[float]:
    """The share of units each cohort should hold: its weight, or for a bandit Σ_p N_p w_pk / N
    (each unit's logged propensity, summed)."""
    weights = [c.weight / 100 for c in experiment.cohorts]
    if bandit is None or not len(periods):
        return weights
    per_period = np.bincount(periods, minlength=len(bandit.history))
    shares = np.zeros(len(weights))
    for p, n in enumerate(per_period):
        entry = bandit.history[p].weights
        shares += n * np.array([entry.get(c.id, 0.0) for c in experiment.cohorts])
    shares /= per_period.sum()
    return [float(s) if s > 0 else w for s, w in zip(shares, weights, strict=True)]
