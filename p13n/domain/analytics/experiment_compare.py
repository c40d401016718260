"""One metric of an experiment: per-cohort figures and every cohort against the control.

`experiment_results.py` calls `metric_results` once per metric; the rules are in its
docstring. Lower-is-better metrics are read from the side of "better": the chance to beat the
control is P(the cohort is better), the intervals the verdict reads are flipped, and the chance
to be best is the chance to be the lowest.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from p13n.domain.analytics.bandit_state import stratify
from p13n.domain.analytics.bayesian import (
    chance_to_be_best_means,
    chance_to_be_best_rates,
    compare_means,
    compare_rates,
)
from p13n.domain.analytics.cuped import PrePostStats, cuped_adjust
from p13n.domain.analytics.experiment_report import (
    BayesianFigures,
    CohortFigures,
    Comparison,
    CupedFigures,
    FrequentistFigures,
    MetricResults,
    ResultSettings,
    VerdictFigures,
)
from p13n.domain.analytics.frequentist import Effect, two_proportion_test, welch_test
from p13n.domain.analytics.metric_values import UnitValues
from p13n.domain.analytics.metrics import MetricDefinition
from p13n.domain.analytics.sequential import sequential_test
from p13n.domain.analytics.srm import SrmCheck
from p13n.domain.analytics.sufficient import MeanStats, Moments, RateStats, RatioStats, Summary
from p13n.domain.analytics.verdict import metric_verdict

__all__ = ["metric_results", "cohort_strata", "data_warnings", "interval_of"]

Periods = np.ndarray[Any, Any]
_MIN_MULTIPLE = 10  # GrowthBook warns about multiple exposures only from 10 such units


def _cohort_summary(metric: MetricDefinition, values: UnitValues, mask: Periods) -> Summary:
    if metric.is_rate:
        return RateStats(n=int(mask.sum()), conversions=int(values.converted[mask].sum()))
    if values.denominator is not None:
        return RatioStats.from_values(values.numerator[mask], values.denominator[mask])
    return MeanStats.from_values(values.numerator[mask])


def cohort_strata(
    metric: MetricDefinition, values: UnitValues, periods: Periods, k: int
) -> list[list[Summary]]:
    """strata[p][j]: cohort j's statistics among the units first exposed in period p."""
    found = np.unique(periods)
    if not found.size:
        found = np.zeros(1, dtype=np.int64)
    return [
        [_cohort_summary(metric, values, (periods == p) & (values.cohort == j)) for j in range(k)]
        for p in found
    ]


def _cuped(
    values: UnitValues, periods: Periods, k: int, raw: tuple[Summary, ...], pre_window: float
) -> tuple[tuple[Summary, ...] | None, float | None, float | None, str | None]:
    """(adjusted cohorts, θ, variance reduction, note): CUPED per period (θ pooled over the
    period's cohorts), then stratified like the unadjusted figures."""
    if values.denominator is not None:
        return None, None, None, "CUPED is not run on ratio metrics."
    if pre_window <= 0:
        return None, None, None, "CUPED is off (the pre-exposure window is 0)."
    strata: list[list[Summary]] = []
    thetas = []
    for p in np.unique(periods):
        cells = [
            PrePostStats.from_values(values.pre[m], values.numerator[m])
            for m in ((periods == p) & (values.cohort == j) for j in range(k))
        ]
        result = cuped_adjust(cells)
        thetas.append(result.theta)
        strata.append(list(result.cohorts))
    theta = float(np.mean(thetas))
    if all(t == 0 for t in thetas):
        note = "CUPED changed nothing: the metric before exposure does not vary (or after)."
        return None, 0.0, 0.0, note
    adjusted, _ = stratify(strata)
    before = sum(s.variance / s.n for s in raw if s.n)
    after = sum(s.variance / s.n for s in adjusted if s.n)
    return adjusted, theta, (1 - after / before if before > 0 else 0.0), None


def _flip(effect: Effect, better: bool) -> Effect:
    """The effect seen from 'better' rather than 'higher'."""
    if better or not effect.defined:
        return effect
    assert effect.estimate is not None and effect.ci_low is not None and effect.ci_high is not None
    return replace(
        effect, estimate=-effect.estimate, ci_low=-effect.ci_high, ci_high=-effect.ci_low
    )


def _chance(chance: float | None, better: bool) -> float | None:
    return chance if chance is None or better else 1 - chance


def _figures(effect: Effect) -> FrequentistFigures:
    return FrequentistFigures(
        method=effect.method,
        estimate=effect.estimate,
        ci_low=effect.ci_low,
        ci_high=effect.ci_high,
        p_value=effect.p_value,
        problem=effect.problem,
    )


def _best(summaries: tuple[Summary, ...], rates: bool, better: bool) -> list[float | None]:
    if rates:
        arms = [s for s in summaries if isinstance(s, RateStats)]
        if not better:
            arms = [RateStats(n=a.n, conversions=a.n - a.conversions) for a in arms]
        return list(chance_to_be_best_rates(arms))
    sign = 1.0 if better else -1.0
    signed = [Moments(s.n, sign * s.mean, s.variance, sign * s.unadjusted_mean) for s in summaries]
    best = chance_to_be_best_means(signed)
    return list(best) if best is not None else [None] * len(summaries)


def _bayesian(
    control: Summary, treatment: Summary, *, rates: bool, better: bool, alpha: float
) -> BayesianFigures:
    if rates and isinstance(control, RateStats) and isinstance(treatment, RateStats):
        rc = compare_rates(control, treatment, level=1 - alpha)
        return BayesianFigures(
            model="beta-binomial",
            chance_to_beat_control=_chance(rc.chance_to_beat, better),
            lift=rc.lift,
            ci_low=rc.ci_low,
            ci_high=rc.ci_high,
            hdi50_low=rc.hdi50_low,
            hdi50_high=rc.hdi50_high,
        )
    relative = compare_means(control, treatment, scale="relative", alpha=alpha)
    absolute = compare_means(control, treatment, scale="absolute", alpha=alpha)
    return BayesianFigures(
        model="normal",
        chance_to_beat_control=_chance(absolute.chance_to_beat, better),
        lift=relative.estimate,
        ci_low=relative.ci_low,
        ci_high=relative.ci_high,
        problem=relative.problem or absolute.problem,
    )


def _fixed(control: Summary, treatment: Summary, *, rates: bool, alpha: float) -> Effect:
    """The fixed-horizon test: two proportions for a rate, else Welch."""
    if rates and isinstance(control, RateStats) and isinstance(treatment, RateStats):
        return two_proportion_test(control, treatment, alpha=alpha)
    return welch_test(control, treatment, alpha=alpha)


def interval_of(
    metric: MetricDefinition, control: Summary, treatment: Summary, settings: ResultSettings
) -> tuple[float | None, float | None, float | None]:
    """(lift, low, high) of `treatment` against `control` under the settings' engine, as
    `metric_results` reports them for fixed weights (one period, no CUPED): what the
    results over time chart from the cohorts' statistics at each day's end."""
    alpha, rates = settings.alpha, metric.is_rate
    if settings.engine == "bayesian":
        b = _bayesian(control, treatment, rates=rates, better=metric.higher_is_better, alpha=alpha)
        return b.lift, b.ci_low, b.ci_high
    if settings.engine == "frequentist":
        effect = _fixed(control, treatment, rates=rates, alpha=alpha)
    else:
        effect = sequential_test(control, treatment, alpha=alpha, tuning=settings.sequential_tuning)
    return effect.estimate, effect.ci_low, effect.ci_high


def _compare(
    metric: MetricDefinition,
    j: int,
    summaries: tuple[Summary, ...],
    adjusted: tuple[Summary, ...] | None,
    *,
    rates: bool,
    use_adjusted: bool,
    names: tuple[str, ...],
    counts: dict[str, int],
    settings: ResultSettings,
    srm: SrmCheck,
) -> Comparison:
    better, alpha = metric.higher_is_better, settings.alpha
    control, treatment = summaries[0], summaries[j]
    bayes = _bayesian(control, treatment, rates=rates, better=better, alpha=alpha)
    fixed = _fixed(control, treatment, rates=rates, alpha=alpha)
    tuning = settings.sequential_tuning
    always = sequential_test(control, treatment, alpha=alpha, tuning=tuning)
    cuped = None
    chance, fixed_used, always_used = bayes.chance_to_beat_control, fixed, always
    if adjusted is not None:
        ca, ta = adjusted[0], adjusted[j]
        a_fixed = welch_test(ca, ta, alpha=alpha)
        a_always = sequential_test(ca, ta, alpha=alpha, tuning=tuning)
        a_chance = _chance(
            compare_means(ca, ta, scale="absolute", alpha=alpha).chance_to_beat, better
        )
        cuped = CupedFigures(
            lift=a_fixed.estimate,
            frequentist=_figures(a_fixed),
            sequential=_figures(a_always),
            chance_to_beat_control=a_chance,
        )
        if use_adjusted:
            chance, fixed_used, always_used = a_chance, a_fixed, a_always
    engine = settings.engine
    evidence = _flip(fixed_used if engine == "frequentist" else always_used, better)
    verdict = metric_verdict(
        metric=metric.name,
        cohort=names[j],
        control=names[0],
        units=counts,
        chance_to_beat=chance if engine == "bayesian" else None,
        sequential=evidence if engine != "bayesian" else None,
        srm=srm,
        min_units=settings.min_units,
        win_chance=settings.win_chance,
    )
    reason = verdict.reason
    if engine == "frequentist":  # verdict.py words the interval it reads as the sequential one
        reason = reason.replace(
            "an always-valid interval", f"a {1 - alpha:.0%} confidence interval"
        )
    base = control.unadjusted_mean
    return Comparison(
        cohort=names[j],
        lift=(treatment.unadjusted_mean - base) / base if base else None,
        bayesian=bayes,
        frequentist=_figures(fixed),
        sequential=_figures(always),
        cuped=cuped,
        verdict=VerdictFigures(
            metric=metric.name,
            cohort=names[j],
            outcome=verdict.outcome,
            reason=reason,
            engine=engine,
            adjusted=use_adjusted and adjusted is not None,
        ),
    )


def metric_results(
    metric: MetricDefinition,
    values: UnitValues,
    names: tuple[str, ...],
    periods: Periods,
    settings: ResultSettings,
    srm: SrmCheck,
    *,
    primary: bool,
) -> tuple[MetricResults, int]:
    """One metric's figures from each unit's value, and the units left out of the
    stratification."""
    k = len(names)
    sizes = np.bincount(values.cohort, minlength=k)
    counts = {c: int(sizes[j]) for j, c in enumerate(names)}
    strata = cohort_strata(metric, values, periods, k)
    summaries, dropped = stratify(strata)
    rates = metric.is_rate and len(strata) == 1
    best = _best(summaries, rates, metric.higher_is_better)
    adjusted, theta, reduction, note = _cuped(values, periods, k, summaries, settings.pre_window)
    use_adjusted = adjusted is not None and (reduction or 0.0) > 0
    cohorts = []
    for j, name in enumerate(names):
        mask = values.cohort == j
        den = values.denominator
        cohorts.append(
            CohortFigures(
                cohort=name,
                units=int(mask.sum()),
                conversions=int(values.converted[mask].sum()),
                total=float(values.numerator[mask].sum()),
                denominator_total=float(den[mask].sum()) if den is not None else None,
                mean=summaries[j].mean,
                variance=summaries[j].variance,
                chance_to_be_best=best[j],
            )
        )
    comparisons = [
        _compare(
            metric,
            j,
            summaries,
            adjusted,
            rates=rates,
            use_adjusted=use_adjusted,
            names=names,
            counts=counts,
            settings=settings,
            srm=srm,
        )
        for j in range(1, k)
    ]
    figures = MetricResults(
        metric=metric.name,
        kind=metric.kind,
        higher_is_better=metric.higher_is_better,
        primary=primary,
        missing_fields=values.missing,
        cohorts=cohorts,
        comparisons=comparisons,
        cuped_theta=theta,
        variance_reduction=reduction,
        cuped_note=note,
    )
    return figures, dropped


def data_warnings(
    total: int,
    multiple: int,
    unknown_cohort_units: int,
    settings: ResultSettings,
    srm: SrmCheck,
    left_out: int,
) -> list[str]:
    """What makes the numbers less trustworthy, in words."""
    found = []
    if srm.flagged:
        found.append(srm.message)
    if multiple >= _MIN_MULTIPLE and multiple / total > settings.multiple_exposure_threshold:
        found.append(
            f"{multiple:,} units ({multiple / total:.1%}) were exposed in more than one cohort;"
            " each is counted in the cohort it saw first. Check that assignment is sticky"
            " across channels and identities."
        )
    if unknown_cohort_units:
        found.append(
            f"{unknown_cohort_units:,} units were first exposed in a cohort the"
            " experiment does not have and are left out."
        )
    if left_out:
        found.append(
            f"{left_out:,} units are left out: they arrived in bandit periods that not every"
            " cohort reached with 2 units."
        )
    return found
