"""The shapes of an experiment's results: settings in, a report out, ready to serialise.

Every figure is plain JSON (floats, ints, strings, None where a figure cannot be estimated
and a `problem` says why), so the faces only format.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.timeutil import DAY

__all__ = [
    "Engine",
    "ENGINES",
    "ResultSettings",
    "CohortUnits",
    "SrmFigures",
    "CohortFigures",
    "BayesianFigures",
    "FrequentistFigures",
    "CupedFigures",
    "VerdictFigures",
    "Comparison",
    "MetricResults",
    "ExperimentResults",
]

Engine = Literal["bayesian", "frequentist", "sequential"]
ENGINES: tuple[str, ...] = ("bayesian", "frequentist", "sequential")

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class ResultSettings(BaseModel):
    """How results are read. engine: which figures decide the verdict (every engine's figures
    are reported); window / pre_window: seconds after the first exposure that count, and
    before it for CUPED (0 turns CUPED off); min_units: per cohort before any verdict;
    win_chance: the Bayesian chance that calls a winner; alpha: 1 − the intervals' level;
    sequential_tuning: N*, the total sample at which the always-valid interval is tightest;
    multiple_exposure_threshold: the share of units seen in several cohorts that warns."""

    model_config = _FROZEN

    engine: Engine = "bayesian"
    window: float = Field(default=7 * DAY, gt=0)
    pre_window: float = Field(default=14 * DAY, ge=0)
    min_units: int = Field(default=1000, ge=1)
    win_chance: float = Field(default=0.95, gt=0.5, lt=1)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    sequential_tuning: float = Field(default=5000.0, gt=0)
    srm_threshold: float = Field(default=0.001, gt=0, lt=1)
    multiple_exposure_threshold: float = Field(default=0.01, ge=0, le=1)


class CohortUnits(BaseModel):
    """cohort: its id; weight: configured percent; units: assigned; share: of all units;
    expected: units the weights (or the bandit's history) promise."""

    model_config = _FROZEN

    cohort: str
    weight: float
    units: int
    share: float
    expected: float


class SrmFigures(BaseModel):
    model_config = _FROZEN

    status: Literal["ok", "mismatch", "not enough traffic"]
    flagged: bool
    p_value: float
    chi_square: float
    threshold: float
    message: str


class CohortFigures(BaseModel):
    """One cohort on one metric. conversions: units with at least one of the metric's
    (numerator's) events; total: Σ of the per-unit values (a ratio's numerator);
    denominator_total: a ratio's denominator, else None; mean and variance: per unit (a
    ratio's mean is total / denominator_total, its variance the delta method's);
    chance_to_be_best: of all cohorts (Bayesian), None when not estimable."""

    model_config = _FROZEN

    cohort: str
    units: int
    conversions: int
    total: float
    denominator_total: float | None
    mean: float
    variance: float
    chance_to_be_best: float | None


class BayesianFigures(BaseModel):
    """model: beta-binomial (rates) or normal (means, ratios, stratified or adjusted cohorts).
    chance_to_beat_control: P(the cohort is better than the control), reading
    higher_is_better; lift / ci_*: the relative lift's posterior mean and credible interval;
    hdi50_*: its 50 % highest-density interval (beta-binomial only)."""

    model_config = _FROZEN

    model: Literal["beta-binomial", "normal"]
    chance_to_beat_control: float | None
    lift: float | None
    ci_low: float | None
    ci_high: float | None
    hdi50_low: float | None = None
    hdi50_high: float | None = None
    problem: str | None = None


class FrequentistFigures(BaseModel):
    """method: welch, two-proportion z or sequential (always-valid); estimate and interval on
    the relative lift; p_value two-sided."""

    model_config = _FROZEN

    method: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    problem: str | None = None


class CupedFigures(BaseModel):
    """The same comparison after CUPED, beside the unadjusted one: the relative lift with its
    Welch and sequential intervals, and the chance to beat the control (normal model)."""

    model_config = _FROZEN

    lift: float | None
    frequentist: FrequentistFigures
    sequential: FrequentistFigures
    chance_to_beat_control: float | None


class VerdictFigures(BaseModel):
    """The verdict on `cohort` against the control on `metric`; adjusted: read from the
    CUPED-adjusted figures."""

    model_config = _FROZEN

    metric: str
    cohort: str
    outcome: Literal["winner", "loser", "inconclusive", "insufficient data"]
    reason: str
    engine: Engine
    adjusted: bool


class Comparison(BaseModel):
    """One cohort against the control on one metric. lift: the observed relative lift
    (treatment mean − control mean) / control mean."""

    model_config = _FROZEN

    cohort: str
    lift: float | None
    bayesian: BayesianFigures
    frequentist: FrequentistFigures
    sequential: FrequentistFigures
    cuped: CupedFigures | None
    verdict: VerdictFigures


class MetricResults(BaseModel):
    """missing_fields: events in the window whose field was missing (counted 0). cuped_theta /
    variance_reduction: CUPED's pooled slope and the reduction in the variance of the effect
    (None when CUPED was not run; cuped_note says why)."""

    model_config = _FROZEN

    metric: str
    kind: str
    higher_is_better: bool
    primary: bool
    missing_fields: int
    cohorts: list[CohortFigures]
    comparisons: list[Comparison]
    cuped_theta: float | None
    variance_reduction: float | None
    cuped_note: str | None = None


class ExperimentResults(BaseModel):
    """The whole result. empty: no unit was exposed yet (message says so, metrics are empty).
    multiple_exposures: units seen in more than one cohort (kept in their first);
    stratified_periods: the bandit periods results were stratified by (1 when not a bandit);
    units_left_out: units of periods not every cohort reached (bandits only); warnings: data
    problems in words; verdicts: the primary metric's, one per cohort against the control."""

    model_config = _FROZEN

    experiment: str
    control: str
    engine: Engine
    empty: bool
    message: str
    units: int
    cohorts: list[CohortUnits]
    srm: SrmFigures | None
    multiple_exposures: int
    multiple_exposure_rate: float
    anonymous_exposures: int
    unknown_cohort_units: int
    stratified_periods: int
    units_left_out: int
    metrics: list[MetricResults]
    verdicts: list[VerdictFigures]
    warnings: list[str]
    settings: ResultSettings
