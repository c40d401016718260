"""Seeded simulations: the tests keep their promises on data where the truth is known.

- A/A (no true difference): a fixed-horizon test read once rejects at rate alpha; read every
  day it rejects far more often (the reason for sequential testing); the sequential test read
  every day stays at or under alpha.
- A/B with a known effect: the 95 % intervals cover it about 95 % of the time.
- CUPED on correlated pre/post data: the variance falls by about ρ², the estimate unbiased.
Rates are judged against a binomial interval: with R reps an honest rate p lands within
p ± 3.3·√(p(1−p)/R) 99.9 % of the time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from p13n.domain.analytics import (
    MeanStats,
    PrePostStats,
    RateStats,
    compare_means,
    compare_rates,
    cuped_adjust,
    sequential_test,
    two_proportion_test,
    welch_test,
)

ALPHA = 0.05


def _band(p: float, reps: int) -> tuple[float, float]:
    half = 3.3 * math.sqrt(p * (1 - p) / reps)
    return p - half, p + half


def _mean_cohorts(
    rng: np.random.Generator, reps: int, n: int, lift: float = 0.0
) -> tuple[list[MeanStats], list[MeanStats]]:
    """Per rep, two cohorts of skewed revenue (10 % buy, lognormal spend)."""

    def cohort(scale: float) -> list[MeanStats]:
        out = []
        for start in range(0, reps, 250):  # in chunks: reps × n values at once is too much memory
            size = min(250, reps - start)
            x = (rng.random((size, n)) < 0.1) * rng.lognormal(3, 1, (size, n)) * scale
            sums, squares = x.sum(axis=1), (x * x).sum(axis=1)
            out += [MeanStats(n, float(s), float(q)) for s, q in zip(sums, squares, strict=True)]
        return out

    return cohort(1.0), cohort(1.0 + lift)


def test_welch_false_positive_rate_is_alpha_in_a_seeded_a_a_simulation() -> None:
    reps = 4000
    a, b = _mean_cohorts(np.random.default_rng(101), reps, 400)
    rejected = [
        welch_test(x, y, scale="absolute").p_value < ALPHA for x, y in zip(a, b, strict=True)
    ]
    low, high = _band(ALPHA, reps)
    assert low <= np.mean(rejected) <= high


def test_a_95_percent_chance_to_beat_appears_in_5_percent_of_a_a_tests_each_way() -> None:
    """With the flat prior the chance to beat (of the absolute difference) is uniform under no
    difference: a one-look 95 % threshold names a false winner 5 % of the time, a false loser
    5 %. (On skewed revenue the relative-scale delta method is lopsided at these sizes, which is
    why the chance to beat is read on the absolute scale: P(μT > μC) is one event either way.)"""
    reps = 4000
    a, b = _mean_cohorts(np.random.default_rng(109), reps, 400)
    chances = np.array(
        [compare_means(x, y, scale="absolute").chance_to_beat for x, y in zip(a, b, strict=True)]
    )
    low, high = _band(ALPHA, reps)
    assert low <= np.mean(chances >= 0.95) <= high
    assert low <= np.mean(chances <= 0.05) <= high


def test_two_proportion_false_positive_rate_is_alpha_in_a_seeded_a_a_simulation() -> None:
    reps, n, p = 4000, 2000, 0.05
    rng = np.random.default_rng(102)
    a, b = rng.binomial(n, p, reps), rng.binomial(n, p, reps)
    rejected = [
        two_proportion_test(RateStats(n, int(x)), RateStats(n, int(y))).p_value < ALPHA  # type: ignore[operator]
        for x, y in zip(a, b, strict=True)
    ]
    low, high = _band(ALPHA, reps)
    assert low <= np.mean(rejected) <= high


@pytest.mark.parametrize("scale", ["absolute", "relative"])
def test_welch_intervals_cover_a_known_lift_95_percent_of_the_time(scale: str) -> None:
    """Revenue is skewed (10 % buy, lognormal spend): the delta method needs a few thousand
    units per cohort before the relative interval's coverage settles at 95 %."""
    reps, lift = 2000, 0.1
    a, b = _mean_cohorts(np.random.default_rng(103), reps, 4000, lift)
    true_mean = 0.1 * math.exp(3 + 0.5)  # E[buy] × E[lognormal(3, 1)]
    truth = lift if scale == "relative" else true_mean * lift
    covered = []
    for x, y in zip(a, b, strict=True):
        e = welch_test(x, y, scale=scale)  # type: ignore[arg-type]
        covered.append(e.ci_low <= truth <= e.ci_high)  # type: ignore[operator]
    low, high = _band(0.95, reps)
    assert low <= np.mean(covered) <= high


def test_two_proportion_intervals_cover_a_known_difference_95_percent_of_the_time() -> None:
    reps, n = 3000, 3000
    rng = np.random.default_rng(104)
    a, b = rng.binomial(n, 0.05, reps), rng.binomial(n, 0.06, reps)
    covered = []
    for x, y in zip(a, b, strict=True):
        e = two_proportion_test(RateStats(n, int(x)), RateStats(n, int(y)), scale="absolute")
        covered.append(e.ci_low <= 0.01 <= e.ci_high)  # type: ignore[operator]
    low, high = _band(0.95, reps)
    assert low <= np.mean(covered) <= high


def _daily_a_a(
    rng: np.random.Generator, reps: int, days: int, per_day: int
) -> tuple[np.ndarray, ...]:
    """Cumulative (n, sum, sum of squares) per rep and day for two identical cohorts."""
    out = []
    for _ in range(2):
        x = rng.normal(5.0, 2.0, (reps, days, per_day))
        out += [np.cumsum(x.sum(axis=2), axis=1), np.cumsum((x * x).sum(axis=2), axis=1)]
    return tuple(out)


def test_peeking_daily_at_a_fixed_test_inflates_false_positives_but_not_the_sequential_test() -> (
    None
):
    """30 daily looks at an A/A test: Welch read daily rejects well above alpha (this is the
    failure the sequential engine exists for); the confidence sequence stays at or below it."""
    reps, days, per_day = 1500, 30, 50
    sa, qa, sb, qb = _daily_a_a(np.random.default_rng(105), reps, days, per_day)
    fixed = np.zeros(reps, dtype=bool)
    always_valid = np.zeros(reps, dtype=bool)
    for r in range(reps):
        for d in range(days):
            n = per_day * (d + 1)
            a = MeanStats(n, float(sa[r, d]), float(qa[r, d]))
            b = MeanStats(n, float(sb[r, d]), float(qb[r, d]))
            if not always_valid[r]:
                always_valid[r] = (
                    sequential_test(a, b, scale="absolute", tuning=3000).p_value < ALPHA
                )  # type: ignore[operator]
            if not fixed[r]:
                fixed[r] = welch_test(a, b, scale="absolute").p_value < ALPHA  # type: ignore[operator]
    assert np.mean(always_valid) <= _band(ALPHA, reps)[1]
    assert np.mean(fixed) > 2 * ALPHA


def test_cuped_reduces_variance_by_rho_squared_and_keeps_the_estimate_unbiased() -> None:
    """Across reps of an A/B test with pre/post correlation ρ, the adjusted difference's
    spread is √(1 − ρ²) of the unadjusted one; each run reports ≈ ρ² reduction."""
    reps, n, rho, lift = 800, 500, 0.7, 0.5
    rng = np.random.default_rng(106)
    raw, adjusted, reported = [], [], []
    for _ in range(reps):
        cohorts = []
        for shift in (0.0, lift):
            z1, z2 = rng.normal(size=n), rng.normal(size=n)
            pre = 10 + 3 * z1
            post = 10 + shift + 3 * (rho * z1 + math.sqrt(1 - rho**2) * z2)
            cohorts.append(PrePostStats.from_values(pre, post))
        result = cuped_adjust(cohorts)
        c, t = result.cohorts
        raw.append(t.unadjusted_mean - c.unadjusted_mean)
        adjusted.append(t.mean - c.mean)
        reported.append(result.variance_reduction)
    assert np.mean(reported) == pytest.approx(rho**2, abs=0.01)
    assert 1 - np.var(adjusted) / np.var(raw) == pytest.approx(rho**2, abs=0.05)
    se = math.sqrt(np.var(adjusted) / reps)
    assert abs(np.mean(adjusted) - lift) < 4 * se


def test_cuped_adjusted_welch_intervals_cover_the_lift_95_percent_of_the_time() -> None:
    reps, n, rho, lift = 2000, 300, 0.8, 0.4
    rng = np.random.default_rng(107)
    covered = []
    for _ in range(reps):
        cohorts = []
        for shift in (0.0, lift):
            z1, z2 = rng.normal(size=n), rng.normal(size=n)
            cohorts.append(
                PrePostStats.from_values(
                    20 + 4 * z1, 20 + shift + 4 * (rho * z1 + math.sqrt(1 - rho**2) * z2)
                )
            )
        c, t = cuped_adjust(cohorts).cohorts
        e = welch_test(c, t, scale="absolute")
        covered.append(e.ci_low <= lift <= e.ci_high)  # type: ignore[operator]
    low, high = _band(0.95, reps)
    assert low <= np.mean(covered) <= high


def test_beta_binomial_credible_intervals_are_calibrated_when_rates_come_from_the_prior() -> None:
    """Draw each rep's true rates from the uniform prior, then counts: the 95 % credible
    interval of the lift holds the true lift 95 % of the time (Bayesian calibration)."""
    reps, n = 600, 400
    rng = np.random.default_rng(108)
    pc, pt = rng.uniform(0, 1, reps), rng.uniform(0, 1, reps)
    covered = []
    for c, t in zip(rng.binomial(n, pc), rng.binomial(n, pt), strict=True):
        covered.append(compare_rates(RateStats(n, int(c)), RateStats(n, int(t))))
    hits = [r.ci_low <= b / a - 1 <= r.ci_high for r, a, b in zip(covered, pc, pt, strict=True)]
    low, high = _band(0.95, reps)
    assert low <= np.mean(hits) <= high
