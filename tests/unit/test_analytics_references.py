"""p13n's experiment statistics against scipy and statsmodels on the same data, at 1e-6.

Each reference works from the raw per-unit values (or counts) by its own code path; p13n works
from the sufficient statistics its store keeps. Agreement checks both the reduction to sums
and the test built on them.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from p13n.domain.analytics import (
    MeanStats,
    PrePostStats,
    RateStats,
    RatioStats,
    check_sample_ratio,
    cuped_adjust,
    two_proportion_test,
    welch_test,
)

TOL = 1e-6


def _revenue(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """Revenue per visitor: most units spend nothing, buyers spend a skewed amount."""
    return (rng.random(n) < 0.1) * rng.lognormal(3.0, 1.0, n) * scale


@pytest.mark.parametrize(
    ("n_control", "n_treatment", "scale", "seed"),
    [(5, 7, 1.0, 1), (40, 25, 1.1, 2), (2000, 2100, 1.05, 3), (300, 300, 1.0, 4)],
)
def test_welch_matches_scipy_ttest_ind_on_the_raw_values(
    n_control: int, n_treatment: int, scale: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(10, 3, n_control) if n_control < 50 else _revenue(rng, n_control, 1.0)
    b = (
        rng.normal(10 * scale, 4, n_treatment)
        if n_treatment < 50
        else _revenue(rng, n_treatment, scale)
    )
    ours = welch_test(MeanStats.from_values(a), MeanStats.from_values(b), scale="absolute")
    ref = stats.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert ours.estimate == pytest.approx(b.mean() - a.mean(), abs=TOL)
    assert ours.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert ours.dof == pytest.approx(ref.df, rel=TOL)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((ci.low, ci.high), abs=TOL)


def test_welch_p_value_is_the_same_at_any_alpha_and_the_interval_widens_as_alpha_falls() -> None:
    rng = np.random.default_rng(5)
    a, b = (
        MeanStats.from_values(rng.normal(0, 1, 80)),
        MeanStats.from_values(rng.normal(0.3, 1, 90)),
    )
    wide, narrow = (
        welch_test(a, b, scale="absolute", alpha=0.01),
        welch_test(a, b, scale="absolute"),
    )
    assert wide.p_value == pytest.approx(narrow.p_value, abs=1e-12)
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high  # type: ignore[operator]


def test_mean_stats_from_values_match_numpy_mean_and_sample_variance() -> None:
    x = np.random.default_rng(6).lognormal(2, 1, 5000)
    s = MeanStats.from_values(x)
    assert s.mean == pytest.approx(x.mean(), rel=1e-12)
    assert s.variance == pytest.approx(x.var(ddof=1), rel=1e-9)


def test_the_ratio_variance_is_the_delta_method_on_numpys_covariance() -> None:
    """Var(Σnum / Σden) ≈ ∇gᵀ Σ ∇g / n for g(m, d) = m / d, Σ the per-unit covariance."""
    rng = np.random.default_rng(7)
    views = 1 + rng.poisson(3, 4000)
    clicks = rng.binomial(views, 0.12)
    s = RatioStats.from_values(clicks, views)
    m, d = clicks.mean(), views.mean()
    grad = np.array([1 / d, -m / d**2])
    cov = np.cov(np.vstack([clicks, views]), ddof=1)
    assert s.mean == pytest.approx(clicks.sum() / views.sum(), rel=1e-12)
    assert s.variance == pytest.approx(grad @ cov @ grad, rel=1e-9)


@pytest.mark.parametrize(
    ("control", "treatment"),
    [
        ((1396, 3000), (2422, 3461)),
        ((14, 28), (16, 30)),
        ((480, 10000), (530, 10000)),
        ((3, 900), (9, 1000)),
        ((4, 500), (0, 500)),
    ],
)
def test_the_two_proportion_test_matches_statsmodels(
    control: tuple[int, int], treatment: tuple[int, int]
) -> None:
    c, t = (
        RateStats(n=control[1], conversions=control[0]),
        RateStats(n=treatment[1], conversions=treatment[0]),
    )
    absolute = two_proportion_test(c, t, scale="absolute")
    _, p = proportions_ztest([treatment[0], control[0]], [treatment[1], control[1]])
    low, high = confint_proportions_2indep(
        treatment[0], treatment[1], control[0], control[1], method="wald", compare="diff"
    )
    assert absolute.p_value == pytest.approx(p, abs=TOL)
    assert (absolute.ci_low, absolute.ci_high) == pytest.approx((low, high), abs=TOL)
    relative = two_proportion_test(c, t, scale="relative")
    assert relative.p_value == pytest.approx(p, abs=TOL)  # one null hypothesis, one p-value
    assert relative.estimate == pytest.approx(t.mean / c.mean - 1, abs=1e-12)


@pytest.mark.parametrize(
    ("counts", "weights"),
    [
        ([5000, 5000], [50, 50]),
        ([5200, 4800], [50, 50]),
        ([2000, 8150], [20, 80]),
        ([120, 95, 110, 75], [1, 1, 1, 1]),
        ([301, 598, 1101], [0.15, 0.3, 0.55]),
    ],
)
def test_the_srm_check_matches_scipy_chisquare(counts: list[int], weights: list[float]) -> None:
    ours = check_sample_ratio(counts, weights)
    total, w = sum(counts), sum(weights)
    ref = stats.chisquare(counts, [total * x / w for x in weights])
    assert ours.chi_square == pytest.approx(ref.statistic, abs=TOL)
    assert ours.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert ours.flagged == (ref.pvalue < 0.001)


def test_cuped_theta_and_adjusted_variance_match_an_ordinary_least_squares_fit() -> None:
    """θ is the OLS slope of post on pre over all units (scipy.stats.linregress); the adjusted
    cohort's mean and variance are those of post − θ·pre computed from the raw values."""
    rng = np.random.default_rng(8)
    pre = [rng.gamma(2, 5, n) for n in (700, 650, 720)]
    post = [
        0.6 * x + rng.gamma(2, 3, x.size) + lift for x, lift in zip(pre, (0, 1, 2), strict=True)
    ]
    result = cuped_adjust([PrePostStats.from_values(x, y) for x, y in zip(pre, post, strict=True)])
    slope = stats.linregress(np.concatenate(pre), np.concatenate(post)).slope
    assert result.theta == pytest.approx(slope, rel=TOL)
    for x, y, adjusted in zip(pre, post, result.cohorts, strict=True):
        z = y - slope * x
        assert adjusted.mean == pytest.approx(z.mean(), rel=TOL)
        assert adjusted.variance == pytest.approx(z.var(ddof=1), rel=TOL)
        assert adjusted.unadjusted_mean == pytest.approx(y.mean(), rel=1e-12)
