"""Measure: experiment statistics, attribution and pipeline intelligence.

Pure functions over exposures, conversions and sufficient statistics that the services hand in;
nothing here reads the store or knows a face. The services keep the aggregates these read.

Experiment statistics: `sufficient` (per-cohort sums, the delta method), `frequentist` (Welch,
two-proportion z), `sequential` (always-valid confidence sequences), `bayesian` (beta–binomial
for rates, normal effect for means), `cuped` (pre-exposure regression adjustment), `srm`
(sample-ratio mismatch), `verdict` (winner / loser / inconclusive / insufficient data) and
`bandit` (Thompson-sampling weights). Checked against gbstats, scipy and statsmodels in
tests/unit/test_analytics_*.py.
"""

from __future__ import annotations

from p13n.domain.analytics.bandit import MIN_SHARE, BanditWeights, floor_shares, thompson_weights
from p13n.domain.analytics.bayesian import (
    UNIFORM,
    BetaPosterior,
    BetaPrior,
    MeanComparison,
    NormalPrior,
    RateComparison,
    chance_to_be_best_means,
    chance_to_be_best_rates,
    compare_means,
    compare_rates,
)
from p13n.domain.analytics.cuped import (
    AdjustedStats,
    CupedResult,
    PrePostStats,
    cuped_adjust,
    pooled_theta,
)
from p13n.domain.analytics.frequentist import Effect, two_proportion_test, welch_test
from p13n.domain.analytics.sequential import DEFAULT_TUNING, sequential_test
from p13n.domain.analytics.srm import SRM_MIN_UNITS, SRM_THRESHOLD, SrmCheck, check_sample_ratio
from p13n.domain.analytics.sufficient import (
    MeanStats,
    Moments,
    RateStats,
    RatioStats,
    Scale,
    Summary,
    effect_moments,
    why_undefined,
)
from p13n.domain.analytics.verdict import MIN_UNITS, WIN_CHANCE, Outcome, Verdict, metric_verdict

__all__ = [
    # sufficient statistics
    "MeanStats",
    "RateStats",
    "RatioStats",
    "Moments",
    "Summary",
    "Scale",
    "effect_moments",
    "why_undefined",
    # engines
    "Effect",
    "welch_test",
    "two_proportion_test",
    "sequential_test",
    "DEFAULT_TUNING",
    "BetaPrior",
    "UNIFORM",
    "BetaPosterior",
    "RateComparison",
    "compare_rates",
    "chance_to_be_best_rates",
    "NormalPrior",
    "MeanComparison",
    "compare_means",
    "chance_to_be_best_means",
    # variance reduction, health, verdict, bandits
    "PrePostStats",
    "AdjustedStats",
    "CupedResult",
    "pooled_theta",
    "cuped_adjust",
    "SRM_THRESHOLD",
    "SRM_MIN_UNITS",
    "SrmCheck",
    "check_sample_ratio",
    "MIN_UNITS",
    "WIN_CHANCE",
    "Outcome",
    "Verdict",
    "metric_verdict",
    "MIN_SHARE",
    "BanditWeights",
    "thompson_weights",
    "floor_shares",
]
