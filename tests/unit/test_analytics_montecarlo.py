"""The Bayesian engine's integrals against 10⁶ seeded posterior draws (±0.002).

p13n integrates (Gauss–Legendre over posterior quantiles); the reference samples the same
posteriors with numpy and counts. A Monte Carlo proportion over 10⁶ draws has a standard
error of at most 0.0005, so ±0.002 is four standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from p13n.domain.analytics import (
    BetaPrior,
    MeanStats,
    RateStats,
    chance_to_be_best_means,
    chance_to_be_best_rates,
    compare_rates,
)

DRAWS = 1_000_000
MC = 0.002
RATE_PAIRS = [
    ((100, 49), (100, 51), BetaPrior()),
    ((100_000, 4000), (100_000, 4150), BetaPrior()),
    ((30, 0), (30, 2), BetaPrior()),
    ((1000, 50), (10_000, 560), BetaPrior()),
    ((2500, 110), (2400, 131), BetaPrior(0.5, 0.5)),
]


def _draws(rng: np.random.Generator, n: int, conversions: int, prior: BetaPrior) -> np.ndarray:
    return rng.beta(prior.alpha + conversions, prior.beta + n - conversions, DRAWS)


@pytest.mark.parametrize(("control", "treatment", "prior"), RATE_PAIRS)
def test_chance_to_beat_control_matches_monte_carlo(
    control: tuple[int, int], treatment: tuple[int, int], prior: BetaPrior
) -> None:
    rng = np.random.default_rng(sum(control) + sum(treatment))
    ours = compare_rates(RateStats(*control), RateStats(*treatment), prior=prior)
    c, t = _draws(rng, *control, prior), _draws(rng, *treatment, prior)
    assert ours.chance_to_beat == pytest.approx(float(np.mean(t > c)), abs=MC)


@pytest.mark.parametrize(("control", "treatment", "prior"), RATE_PAIRS)
def test_the_lift_credible_interval_holds_its_tails_and_the_hdi_half_the_draws(
    control: tuple[int, int], treatment: tuple[int, int], prior: BetaPrior
) -> None:
    """2.5 % of drawn lifts fall below the interval, 2.5 % above; 50 % inside the HDI, which is
    as narrow as the shortest interval holding half the sorted draws."""
    rng = np.random.default_rng(7 + sum(control))
    ours = compare_rates(RateStats(*control), RateStats(*treatment), prior=prior)
    lift = np.sort(_draws(rng, *treatment, prior) / _draws(rng, *control, prior) - 1)
    assert np.mean(lift < ours.ci_low) == pytest.approx(0.025, abs=MC)
    assert np.mean(lift > ours.ci_high) == pytest.approx(0.025, abs=MC)
    inside = np.mean((lift >= ours.hdi50_low) & (lift <= ours.hdi50_high))
    assert inside == pytest.approx(0.5, abs=MC)
    half = DRAWS // 2
    shortest = float(np.min(lift[half:] - lift[:-half]))
    assert ours.hdi50_high - ours.hdi50_low == pytest.approx(shortest, rel=0.02)
    equal_tailed = np.quantile(lift, [0.25, 0.75])
    assert ours.hdi50_high - ours.hdi50_low <= equal_tailed[1] - equal_tailed[0] + 1e-9


def test_chance_to_be_best_of_four_rates_matches_monte_carlo() -> None:
    rng = np.random.default_rng(11)
    arms = [(5000, 250), (5100, 270), (4900, 262), (800, 45)]
    ours = chance_to_be_best_rates([RateStats(*a) for a in arms])
    sample = np.column_stack([_draws(rng, *a, BetaPrior()) for a in arms])
    mc = np.bincount(np.argmax(sample, axis=1), minlength=len(arms)) / DRAWS
    assert ours == pytest.approx(tuple(mc), abs=MC)
    assert sum(ours) == pytest.approx(1, abs=1e-12)


def test_chance_to_be_best_of_three_means_matches_monte_carlo() -> None:
    rng = np.random.default_rng(12)
    arms = [
        MeanStats.from_values(rng.lognormal(1, 1, n) * k)
        for n, k in ((900, 1.0), (1500, 1.03), (300, 1.05))
    ]
    ours = chance_to_be_best_means(arms)
    assert ours is not None
    sample = np.column_stack([rng.normal(a.mean, np.sqrt(a.variance / a.n), DRAWS) for a in arms])
    mc = np.bincount(np.argmax(sample, axis=1), minlength=len(arms)) / DRAWS
    assert ours == pytest.approx(tuple(mc), abs=MC)


def test_chance_to_beat_is_the_two_arm_chance_to_be_best() -> None:
    c, t = RateStats(1000, 52), RateStats(1000, 61)
    assert compare_rates(c, t).chance_to_beat == pytest.approx(
        chance_to_be_best_rates([c, t])[1], abs=1e-8
    )


def test_identical_cohorts_are_equally_likely_to_be_best() -> None:
    same = [RateStats(3000, 150)] * 3
    assert chance_to_be_best_rates(same) == pytest.approx((1 / 3,) * 3, abs=1e-9)
    assert compare_rates(same[0], same[1]).chance_to_beat == pytest.approx(0.5, abs=1e-9)
