"""The experiment statistics' rules: validation, undefined cases, SRM, verdicts, bandit weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from p13n.domain.analytics import (
    BetaPrior,
    MeanStats,
    NormalPrior,
    PrePostStats,
    RateStats,
    RatioStats,
    chance_to_be_best_means,
    chance_to_be_best_rates,
    check_sample_ratio,
    compare_means,
    compare_rates,
    cuped_adjust,
    floor_shares,
    metric_verdict,
    sequential_test,
    thompson_weights,
    two_proportion_test,
    welch_test,
    why_undefined,
)
from p13n.domain.analytics.frequentist import Effect
from p13n.domain.errors import InvalidInput

# --- sufficient statistics -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: MeanStats(-1, 0, 0),
        lambda: MeanStats(3, math.nan, 1),
        lambda: MeanStats(3, 1, -1),
        lambda: MeanStats(0, 2, 4),
        lambda: MeanStats(2, 10, 1),  # (Σx)² = 100 > n·Σx² = 2
        lambda: RateStats(10, 11),
        lambda: RateStats(10, -1),
        lambda: RateStats.from_values([0, 1, 2]),
        lambda: RatioStats(3, MeanStats(3, 3, 3), MeanStats(2, 2, 2), 1),
        lambda: RatioStats(3, MeanStats(3, 3, 3), MeanStats(3, 3, 3), 10),
        lambda: PrePostStats(3, MeanStats(3, 3, 3), MeanStats(4, 4, 4), 1),
    ],
)
def test_impossible_sufficient_statistics_are_refused_with_a_reason(make: object) -> None:
    with pytest.raises(InvalidInput):
        make()  # type: ignore[operator]


def test_rate_stats_from_values_count_units_and_conversions() -> None:
    s = RateStats.from_values(np.array([True, False, True, True]))
    assert (s.n, s.conversions, s.mean, s.variance) == (4, 3, 0.75, 0.75 * 0.25)


def test_an_effect_with_an_empty_or_constant_cohort_is_undefined_and_says_why() -> None:
    empty, data = MeanStats(0, 0, 0), MeanStats.from_values([1.0, 2.0, 4.0])
    zero = MeanStats.from_values([0.0, 0.0, 0.0])
    assert "no units" in (why_undefined(empty, data, scale="absolute") or "")
    assert "control's value is 0" in (why_undefined(zero, data, scale="relative") or "")
    assert "same value" in (why_undefined(zero, data, scale="absolute") or "")
    effect = welch_test(empty, data)
    assert not effect.defined and effect.estimate is None and effect.p_value is None
    assert effect.problem == "a cohort has no units yet"
    assert sequential_test(zero, data).problem is not None
    assert compare_means(zero, data).problem is not None
    assert two_proportion_test(RateStats(100, 0), RateStats(100, 3)).problem is not None


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5])
def test_alpha_outside_zero_one_is_refused(alpha: float) -> None:
    a, b = MeanStats.from_values([1.0, 2, 3]), MeanStats.from_values([2.0, 3, 5])
    with pytest.raises(InvalidInput):
        welch_test(a, b, alpha=alpha)
    with pytest.raises(InvalidInput):
        sequential_test(a, b, alpha=alpha)


# --- engines ---------------------------------------------------------------------------------


def test_the_always_valid_interval_is_wider_than_the_fixed_one_on_the_same_data() -> None:
    rng = np.random.default_rng(1)
    a, b = (
        MeanStats.from_values(rng.normal(10, 2, 3000)),
        MeanStats.from_values(rng.normal(10.2, 2, 3000)),
    )
    fixed, always = welch_test(a, b), sequential_test(a, b)
    assert always.ci_low < fixed.ci_low < fixed.ci_high < always.ci_high  # type: ignore[operator]
    assert always.estimate == fixed.estimate


def test_a_huge_sequential_statistic_gives_p_zero_without_overflow() -> None:
    a = MeanStats.from_values(np.tile([1.0, 1.1], 50_000))
    b = MeanStats.from_values(np.tile([5.0, 5.1], 50_000))
    with pytest.raises(InvalidInput):
        sequential_test(a, b, tuning=0)
    assert sequential_test(a, b).p_value == 0.0


def test_with_no_units_the_rate_posterior_is_the_prior() -> None:
    r = compare_rates(RateStats(0, 0), RateStats(0, 0), prior=BetaPrior(2, 8))
    assert r.control.mean == pytest.approx(0.2) and r.chance_to_beat == pytest.approx(0.5, abs=1e-9)
    assert r.ci_low < 0 < r.ci_high
    with pytest.raises(InvalidInput):
        BetaPrior(0, 1)


def test_a_proper_prior_pulls_the_lift_towards_its_mean() -> None:
    a, b = MeanStats(10, 100, 1002.25), MeanStats(10, 105, 1111.5)
    flat = compare_means(a, b)
    pulled = compare_means(a, b, prior=NormalPrior(0.0, 0.001))
    assert 0 < pulled.estimate < flat.estimate  # type: ignore[operator]
    assert pulled.std < flat.std  # type: ignore[operator]


def test_chance_to_be_best_of_means_waits_for_two_units_per_cohort() -> None:
    arms = [MeanStats.from_values([1.0, 2.0]), MeanStats.from_values([3.0])]
    assert chance_to_be_best_means(arms) is None
    with pytest.raises(InvalidInput):
        chance_to_be_best_rates([RateStats(10, 1)])


# --- CUPED -----------------------------------------------------------------------------------


def test_without_pre_exposure_variance_cuped_changes_nothing() -> None:
    """New visitors have no pre-period: θ = 0 and the figures are the unadjusted ones."""
    cohorts = [PrePostStats.from_values(np.zeros(50), np.arange(50.0)) for _ in range(2)]
    result = cuped_adjust(cohorts)
    assert result.theta == 0 and result.variance_reduction == 0
    assert result.cohorts[0].mean == pytest.approx(24.5)
    assert result.cohorts[0].variance == pytest.approx(np.arange(50.0).var(ddof=1))


def test_cuped_reports_each_cohorts_reduction_and_the_effects() -> None:
    rng = np.random.default_rng(2)
    pre = rng.normal(0, 1, (2, 5000))
    post = 0.9 * pre + math.sqrt(1 - 0.81) * rng.normal(0, 1, (2, 5000))
    result = cuped_adjust([PrePostStats.from_values(x, y) for x, y in zip(pre, post, strict=True)])
    for cohort in result.cohorts:
        assert cohort.variance_reduction == pytest.approx(0.81, abs=0.02)
    assert result.variance_reduction == pytest.approx(0.81, abs=0.02)
    with pytest.raises(InvalidInput):
        cuped_adjust([])


# --- SRM -------------------------------------------------------------------------------------


def test_srm_flags_a_mismatch_only_below_one_in_a_thousand() -> None:
    assert check_sample_ratio([5100, 4900], [50, 50]).status == "ok"  # p ≈ 0.046
    bad = check_sample_ratio([5200, 4800], [50, 50])
    assert bad.flagged and bad.status == "mismatch" and "52.0%" in bad.message


def test_srm_says_not_enough_traffic_below_eight_units_and_never_flags_then() -> None:
    check = check_sample_ratio([7, 300], [50, 50])
    assert check.status == "not enough traffic" and not check.flagged and check.p_value < 0.001


@pytest.mark.parametrize(
    ("counts", "weights"), [([10, 10], [50, 0]), ([10, 10], [1]), ([10], [1]), ([10, -1], [1, 1])]
)
def test_srm_refuses_zero_weights_mismatched_lengths_and_negative_counts(
    counts: list[int], weights: list[float]
) -> None:
    with pytest.raises(InvalidInput):
        check_sample_ratio(counts, weights)


def test_srm_of_an_experiment_without_units_is_not_an_error() -> None:
    check = check_sample_ratio([0, 0], [50, 50])
    assert check.p_value == 1.0 and check.status == "not enough traffic"


# --- verdict ---------------------------------------------------------------------------------

UNITS = {"control": 5000, "treatment": 5100}


def _verdict(**kwargs: object) -> tuple[str, str]:
    args: dict[str, object] = {
        "metric": "Conversion Rate",
        "cohort": "treatment",
        "control": "control",
        "units": UNITS,
    }
    v = metric_verdict(**(args | kwargs))  # type: ignore[arg-type]
    return v.outcome, v.reason


def _interval(low: float, high: float) -> Effect:
    return Effect("sequential", "relative", 0.05, (low + high) / 2, 0.01, low, high, 0.01)


def test_no_verdict_until_every_cohort_has_the_minimum_sample() -> None:
    outcome, reason = _verdict(units={"control": 999, "treatment": 5000}, chance_to_beat=0.999)
    assert (
        outcome == "insufficient data" and "control has 999 units" in reason and "1,000" in reason
    )
    assert (
        _verdict(units={"control": 999, "treatment": 5000}, chance_to_beat=0.999, min_units=500)[0]
        == "winner"
    )


@pytest.mark.parametrize(
    ("chance", "outcome"),
    [
        (0.95, "winner"),
        (0.97, "winner"),
        (0.949, "inconclusive"),
        (0.5, "inconclusive"),
        (0.051, "inconclusive"),
        (0.05, "loser"),
        (0.01, "loser"),
    ],
)
def test_chance_to_beat_of_95_percent_wins_and_5_percent_loses(chance: float, outcome: str) -> None:
    assert _verdict(chance_to_beat=chance)[0] == outcome


def test_a_sequential_interval_that_excludes_zero_decides_on_its_own() -> None:
    assert _verdict(chance_to_beat=0.9, sequential=_interval(0.01, 0.08))[0] == "winner"
    assert _verdict(sequential=_interval(-0.08, -0.01))[0] == "loser"
    assert _verdict(sequential=_interval(-0.01, 0.08))[0] == "inconclusive"


def test_engines_that_disagree_give_no_verdict() -> None:
    outcome, reason = _verdict(chance_to_beat=0.97, sequential=_interval(-0.08, -0.01))
    assert outcome == "inconclusive" and "disagree" in reason


def test_a_sample_ratio_mismatch_is_never_a_winner() -> None:
    srm = check_sample_ratio([5200, 4800], [50, 50])
    outcome, reason = _verdict(chance_to_beat=0.999, srm=srm)
    assert outcome == "inconclusive" and "sample ratio mismatch" in reason


def test_the_reason_is_a_sentence_with_the_numbers() -> None:
    outcome, reason = _verdict(chance_to_beat=0.973)
    assert outcome == "winner"
    assert reason == "treatment beats control on Conversion Rate: a 97.3% chance to beat control."
    assert "needs a 95.0% chance" in _verdict(chance_to_beat=0.6)[1]


# --- bandit ----------------------------------------------------------------------------------


def test_bandit_weights_sum_to_exactly_one_and_respect_the_minimum_share() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        k = int(rng.integers(2, 8))
        arms = [RateStats(1000, int(c)) for c in rng.integers(0, 200, k)]
        min_share = float(rng.uniform(0, 1 / k))
        w = thompson_weights(arms, rng=rng, min_share=min_share, draws=500)
        assert sum(w.weights) == 1.0
        assert math.fsum(w.weights) == 1.0
        assert min(w.weights) >= min_share - 2**-20


def test_bandit_weights_replay_exactly_from_the_same_seed() -> None:
    arms = [RateStats(2000, 100), RateStats(2000, 112), RateStats(2000, 95)]
    first = thompson_weights(arms, rng=np.random.default_rng(4))
    assert first == thompson_weights(arms, rng=np.random.default_rng(4))
    assert first != thompson_weights(arms, rng=np.random.default_rng(5))


def test_thompson_shares_estimate_the_chance_to_be_best() -> None:
    arms = [RateStats(3000, 150), RateStats(3000, 165), RateStats(3000, 158)]
    w = thompson_weights(arms, rng=np.random.default_rng(6), draws=200_000, min_share=0)
    assert w.best == pytest.approx(chance_to_be_best_rates(arms), abs=0.005)
    assert w.weights == pytest.approx(w.best, abs=2**-19)


def test_a_clear_winner_leaves_the_others_their_minimum_share() -> None:
    arms = [RateStats(5000, 100), RateStats(5000, 400), RateStats(5000, 110)]
    w = thompson_weights(arms, rng=np.random.default_rng(7), min_share=0.05)
    assert w.weights == pytest.approx((0.05, 0.90, 0.05), abs=2**-19)


def test_mean_metric_bandits_explore_equally_until_every_cohort_has_data() -> None:
    arms = [MeanStats.from_values([1.0, 3.0]), MeanStats(0, 0, 0)]
    w = thompson_weights(arms, rng=np.random.default_rng(8))
    assert w.exploring and w.weights == (0.5, 0.5)
    rich = [MeanStats.from_values(np.random.default_rng(9).normal(m, 1, 500)) for m in (1.0, 1.5)]
    assert thompson_weights(rich, rng=np.random.default_rng(10)).weights[1] > 0.9


def test_floor_shares_water_fills_below_the_minimum() -> None:
    w = floor_shares(np.array([0.98, 0.015, 0.005]), 0.01)
    assert w == pytest.approx((0.99 * 0.98 / 0.995, 0.99 * 0.015 / 0.995, 0.01), abs=2**-19)
    assert sum(w) == 1.0
    with pytest.raises(InvalidInput):
        thompson_weights([RateStats(1, 0)] * 3, rng=np.random.default_rng(0), min_share=0.4)


def test_a_rate_test_with_one_silent_cohort_is_still_a_test_but_all_silent_is_not() -> None:
    one = two_proportion_test(RateStats(500, 4), RateStats(500, 0), scale="absolute")
    assert one.defined and one.estimate == pytest.approx(-0.008)
    none = two_proportion_test(RateStats(500, 0), RateStats(500, 0), scale="absolute")
    assert not none.defined and "nothing to compare" in (none.problem or "")


def test_statistics_hold_python_numbers_even_when_built_from_numpy_scalars() -> None:
    s = MeanStats(np.int64(3), np.float64(6.0), np.float64(14.0))
    r = RateStats(np.int64(10), np.int64(2))
    assert type(s.n) is int and type(s.sum) is float and type(r.conversions) is int


@pytest.mark.parametrize(
    ("control", "treatment"),
    [
        ((0, 0), (0, 0)),
        ((10, 10), (10, 0)),
        ((10_000_000, 0), (10_000_000, 1)),
        ((10_000_000, 10_000_000), (5, 5)),
        ((3, 1), (5_000_000, 250_000)),
        ((1_000_000, 500_000), (1_000_000, 500_000)),
    ],
)
def test_extreme_counts_give_ordered_finite_rate_results(
    control: tuple[int, int], treatment: tuple[int, int]
) -> None:
    r = compare_rates(RateStats(*control), RateStats(*treatment))
    assert 0 <= r.chance_to_beat <= 1
    assert -1 <= r.ci_low < r.ci_high and math.isfinite(r.ci_high)
    # A 50 % HDI may reach past the equal-tailed 95 % interval when the density is monotone
    # (5/5 converted: the lift's density peaks at its upper end), but it is never wider.
    assert -1 <= r.hdi50_low < r.hdi50_high and math.isfinite(r.hdi50_high)
    assert r.hdi50_high - r.hdi50_low < r.ci_high - r.ci_low
