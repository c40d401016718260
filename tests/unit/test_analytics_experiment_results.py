"""Experiment results: per-cohort figures worked out by hand, each engine wired to the
statistics modules, SRM, verdicts, CUPED, an empty experiment, and bandits staying unbiased."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from scipy import stats

from p13n.domain.analytics import (
    BUILT_IN_METRICS,
    ExperimentResults,
    MetricResults,
    RateStats,
    RatioStats,
    ResultSettings,
    build_journeys,
    cells_of_journeys,
    compare_rates,
    experiment_results,
    metric_summaries,
    parse_metric,
    parse_result_settings,
    rebalance,
    sequential_test,
    start_bandit,
    stratify,
    two_proportion_test,
    welch_test,
)
from p13n.domain.decisions import Experiment
from p13n.domain.errors import InvalidInput

HOUR = 3600.0


def experiment(
    primary: str = "Revenue Per Visitor",
    *,
    weights: Sequence[int] = (50, 50),
    secondary: Sequence[str] = (),
) -> Experiment:
    return Experiment.model_validate(
        {
            "name": "home_test",
            "point": "home",
            "primaryMetric": primary,
            "secondaryMetrics": list(secondary),
            "cohorts": [
                {"id": name, "weight": w, "recommender": f"r{i}"}
                for i, (name, w) in enumerate(zip(("a", "b", "c"), weights, strict=False))
            ],
        }
    )


def population(
    cohorts: Sequence[str],
    orders: Sequence[Sequence[float]] | None = None,
    *,
    pre: Sequence[Sequence[float]] | None = None,
    clicks: Sequence[int] | None = None,
    times: Sequence[float] | None = None,
    switch: Sequence[int] = (),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Log and event rows: unit i is exposed in cohorts[i] at times[i] (default 10,000 + i s),
    orders[i] are its order values a minute apart after that, pre[i] its orders an hour apart
    before, clicks[i] its clicks on the exposure; units in `switch` are exposed once more in
    the other cohort an hour later."""
    log: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for i, cohort in enumerate(cohorts):
        ts = times[i] if times is not None else 10_000.0 + i
        unit = f"u{i}"
        base = {"request_id": f"q{i}", "unified_id": unit, "experiment": "home_test"}
        log.append(
            {
                **base,
                "personalization_id": f"p{i}",
                "ts": ts,
                "cohort": cohort,
                "content": [{"id": "x"}],
            }
        )
        if i in switch:
            other = "b" if cohort == "a" else "a"
            log.append(
                {
                    **base,
                    "personalization_id": f"s{i}",
                    "ts": ts + HOUR,
                    "cohort": other,
                    "content": [{"id": "x"}],
                }
            )
        for k, value in enumerate(orders[i] if orders else ()):
            events.append(
                {
                    "event_id": f"o{i}.{k}",
                    "ts": ts + 60 * (k + 1),
                    "unified_id": unit,
                    "interaction": "Purchase",
                    "order_id": f"o{i}.{k}",
                    "value": value,
                }
            )
        for k, value in enumerate(pre[i] if pre else ()):
            events.append(
                {
                    "event_id": f"b{i}.{k}",
                    "ts": ts - HOUR * (k + 1),
                    "unified_id": unit,
                    "interaction": "Purchase",
                    "order_id": f"b{i}.{k}",
                    "value": value,
                }
            )
        for k in range(clicks[i] if clicks else 0):
            events.append(
                {
                    "event_id": f"c{i}.{k}",
                    "ts": ts + 1 + k,
                    "unified_id": unit,
                    "interaction": "personalization-click",
                    "personalization_id": f"p{i}",
                }
            )
    return log, events


def results(
    exp: Experiment, log: list[dict[str, Any]], events: list[dict[str, Any]], **settings: Any
) -> ExperimentResults:
    return experiment_results(
        exp, build_journeys(log, events), events=events, settings=ResultSettings(**settings)
    )


def metric(found: ExperimentResults, name: str) -> MetricResults:
    return next(m for m in found.metrics if m.metric == name)


def test_per_cohort_figures_are_the_hand_computed_ones() -> None:
    # a: revenue 40, 0, 10 (mean 50/3, sample variance 1300/3); b: 20, 0 (mean 10, variance 200)
    log, events = population("aaabb", [[30, 10], [], [10], [20], []])
    found = results(experiment(), log, events, min_units=1)
    rpv = metric(found, "Revenue Per Visitor")
    a, b = rpv.cohorts
    assert (a.units, a.conversions, a.total, b.units, b.conversions, b.total) == (
        3,
        2,
        50,
        2,
        1,
        20,
    )
    assert a.mean == pytest.approx(50 / 3) and a.variance == pytest.approx(1300 / 3)
    assert b.mean == pytest.approx(10) and b.variance == pytest.approx(200)
    (vs,) = rpv.comparisons
    assert vs.lift == pytest.approx(10 / (50 / 3) - 1)
    # The relative lift's delta-method variance, written out: σT²/(μC² nT) + σC² μT²/(μC⁴ nC).
    mc, mt = 50 / 3, 10.0
    var = 200 / (mc**2 * 2) + (1300 / 3) * mt**2 / (mc**4 * 3)
    dof = (1300 / 9 + 100) ** 2 / ((1300 / 9) ** 2 / 2 + 100**2 / 1)
    half = stats.t.ppf(0.975, dof) * math.sqrt(var)
    assert vs.frequentist.method == "welch"
    assert vs.frequentist.ci_low == pytest.approx(vs.lift - half)
    assert vs.frequentist.ci_high == pytest.approx(vs.lift + half)
    # Chance to beat, on the absolute scale: Φ(Δ / se) with se² = σC²/nC + σT²/nT.
    chance = stats.norm.cdf((mt - mc) / math.sqrt(1300 / 9 + 100))
    assert vs.bayesian.chance_to_beat_control == pytest.approx(chance)
    assert found.units == 5 and [c.units for c in found.cohorts] == [3, 2]
    assert found.empty is False and found.control == "a"


def test_a_rate_uses_the_beta_binomial_model_and_the_two_proportion_test() -> None:
    converted = [1, 1, 0, 0, 0, 1, 0, 0]  # a: 2 of 5, b: 1 of 3
    log, events = population("aaaaabbb", [[5.0] if c else [] for c in converted])
    found = results(experiment("Conversion Rate"), log, events, min_units=1)
    (vs,) = metric(found, "Conversion Rate").comparisons
    reference = compare_rates(RateStats(5, 2), RateStats(3, 1))
    assert vs.bayesian.model == "beta-binomial"
    assert vs.bayesian.chance_to_beat_control == pytest.approx(reference.chance_to_beat)
    assert vs.bayesian.hdi50_low == pytest.approx(reference.hdi50_low)
    z = two_proportion_test(RateStats(5, 2), RateStats(3, 1))
    assert vs.frequentist.p_value == pytest.approx(z.p_value)


def test_a_ratio_metric_is_the_delta_method_of_sufficient_statistics() -> None:
    clicks = [0, 1, 2, 0, 3, 1, 0, 0, 1, 2]
    cohorts = "aaaaabbbbb"
    switch = (0, 3, 6)  # a second impression for these units
    log, events = population(cohorts, clicks=clicks, switch=switch)
    found = results(experiment("Click-Through Rate"), log, events, min_units=1)
    ctr = metric(found, "Click-Through Rate")
    impressions = np.array([2 if i in switch else 1 for i in range(10)], dtype=float)
    num = np.array(clicks, dtype=float)
    refs = [
        RatioStats.from_values(num[:5], impressions[:5]),
        RatioStats.from_values(num[5:], impressions[5:]),
    ]
    for got, ref, lo in zip(ctr.cohorts, refs, (0, 5), strict=True):
        x, y = num[lo : lo + 5], impressions[lo : lo + 5]
        assert got.mean == pytest.approx(x.sum() / y.sum())
        # delta method by hand: (σx² − 2 r σxy + r² σy²) / ȳ², r = x̄ / ȳ
        r = x.mean() / y.mean()
        cov = np.cov(x, y)
        by_hand = (cov[0, 0] - 2 * r * cov[0, 1] + r**2 * cov[1, 1]) / y.mean() ** 2
        assert got.variance == pytest.approx(by_hand) == pytest.approx(ref.variance)
        assert got.denominator_total == y.sum()
    (vs,) = ctr.comparisons
    welch = welch_test(*refs)
    assert (vs.frequentist.ci_low, vs.frequentist.p_value) == pytest.approx(
        (welch.ci_low, welch.p_value)
    )
    seq = sequential_test(*refs)
    assert vs.sequential.ci_high == pytest.approx(seq.ci_high)
    assert ctr.cuped_theta is None and "ratio" in (ctr.cuped_note or "")


def rates_population(
    n: int, every: dict[str, int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """n units per cohort; in cohort c unit k converts when k % every[c] == 0 (exact rates)."""
    cohorts = [c for c in every for _ in range(n)]
    orders = [[10.0] if k % every[c] == 0 else [] for c in every for k in range(n)]
    return population(cohorts, orders)


@pytest.mark.parametrize("engine", ["bayesian", "sequential", "frequentist"])
def test_a_clearly_better_cohort_wins_and_the_worse_one_loses_on_every_engine(engine: str) -> None:
    log, events = rates_population(1200, {"a": 10, "b": 5})  # 10 % against 20 %
    found = results(experiment("Conversion Rate"), log, events, engine=engine)
    (verdict,) = found.verdicts
    assert (verdict.metric, verdict.cohort, verdict.outcome, verdict.engine) == (
        "Conversion Rate",
        "b",
        "winner",
        engine,
    )
    if engine == "frequentist":
        assert "95% confidence interval" in verdict.reason
    log, events = rates_population(1200, {"a": 5, "b": 10})
    assert (
        results(experiment("Conversion Rate"), log, events, engine=engine).verdicts[0].outcome
        == "loser"
    )


def test_a_lower_is_better_metric_turns_the_winner_into_a_loser() -> None:
    log, events = rates_population(1200, {"a": 10, "b": 5})
    returns = parse_metric(
        {
            "name": "Orders Returned",
            "kind": "proportion",
            "events": ["Purchase"],
            "higherIsBetter": False,
        }
    )
    found = experiment_results(
        experiment("Conversion Rate"), build_journeys(log, events), [returns], events=events
    )
    (vs,) = found.metrics[0].comparisons
    assert vs.verdict.outcome == "loser"
    assert (
        vs.bayesian.chance_to_beat_control is not None and vs.bayesian.chance_to_beat_control < 0.01
    )
    a, b = found.metrics[0].cohorts
    assert a.chance_to_be_best is not None and a.chance_to_be_best > 0.99


def test_too_few_units_or_equal_rates_give_no_winner() -> None:
    log, events = rates_population(1200, {"a": 10, "b": 5})
    short = results(experiment("Conversion Rate"), log, events, min_units=1500)
    assert short.verdicts[0].outcome == "insufficient data"
    assert "1,200 units" in short.verdicts[0].reason
    log, events = rates_population(1200, {"a": 10, "b": 10})
    same = results(experiment("Conversion Rate"), log, events)
    assert same.verdicts[0].outcome == "inconclusive"


def test_a_skewed_split_is_flagged_and_never_declared_a_winner() -> None:
    cohorts = ["a"] * 1400 + ["b"] * 1000
    orders = [[10.0] if k % 10 == 0 else [] for k in range(1400)] + [
        [10.0] if k % 4 == 0 else [] for k in range(1000)
    ]
    log, events = population(cohorts, orders)
    found = results(experiment("Conversion Rate"), log, events)
    p = stats.chisquare([1400, 1000], [1200, 1200]).pvalue
    assert found.srm is not None and found.srm.flagged and found.srm.p_value == pytest.approx(p)
    assert found.verdicts[0].outcome == "inconclusive"
    assert "sample ratio mismatch" in found.verdicts[0].reason
    assert any("Sample ratio mismatch" in w for w in found.warnings)
    balanced = results(experiment("Conversion Rate", weights=(58, 42)), log, events)
    assert balanced.srm is not None and not balanced.srm.flagged


def test_an_experiment_with_no_exposures_is_an_empty_result_that_says_so() -> None:
    log, events = population("ab", [[1.0], []])
    for row in log:
        row["experiment"] = "another"
    found = results(experiment(), log, events)
    assert found.empty and found.units == 0 and found.metrics == [] and found.srm is None
    assert "No unit has been exposed" in found.message
    assert ExperimentResults.model_validate_json(found.model_dump_json()) == found


def test_missing_fields_and_multiple_exposures_are_reported() -> None:
    cohorts = ["a", "b"] * 50
    log, events = population(cohorts, [[5.0]] * 100, switch=range(0, 100, 5))
    for row in events[:7]:
        del row["value"]
    found = results(experiment(), log, events)
    assert metric(found, "Revenue Per Visitor").missing_fields == 7
    assert found.multiple_exposures == 20 and found.multiple_exposure_rate == pytest.approx(0.2)
    assert any("more than one cohort" in w for w in found.warnings)


def test_cuped_reduces_the_variance_on_a_correlated_pre_period() -> None:
    rng = np.random.default_rng(7)
    n = 1500
    before = rng.gamma(2.0, 20.0, size=2 * n)
    after = np.maximum(0.8 * before + rng.normal(0, 10, size=2 * n), 0.0)
    cohorts = ["a"] * n + ["b"] * n
    log, events = population(cohorts, [[float(v)] for v in after], pre=[[float(v)] for v in before])
    found = results(experiment(), log, events)
    rpv = metric(found, "Revenue Per Visitor")
    rho = np.corrcoef(before, after)[0, 1]
    assert rpv.variance_reduction is not None and rpv.variance_reduction == pytest.approx(
        rho**2, abs=0.02
    )
    assert rpv.cuped_theta == pytest.approx(stats.linregress(before, after).slope, rel=1e-6)
    (vs,) = rpv.comparisons
    assert vs.cuped is not None and vs.verdict.adjusted
    raw = vs.frequentist.ci_high - vs.frequentist.ci_low  # type: ignore[operator]
    adjusted = vs.cuped.frequentist.ci_high - vs.cuped.frequentist.ci_low  # type: ignore[operator]
    assert adjusted == pytest.approx(raw * math.sqrt(1 - rpv.variance_reduction), rel=0.02)
    off = metric(results(experiment(), log, events, pre_window=0), "Revenue Per Visitor")
    assert off.comparisons[0].cuped is None and off.variance_reduction is None


def test_bad_settings_are_refused_with_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="window"):
        parse_result_settings({"window": 0})
    with pytest.raises(InvalidInput, match="engine"):
        parse_result_settings({"engine": "magic"})
    assert parse_result_settings({"engine": "sequential"}).engine == "sequential"


def test_stratifying_a_bandit_by_period_stays_unbiased_when_the_true_effect_is_zero() -> None:
    """Traffic moves to b while the baseline rises (both cohorts equal in every period): pooling
    favours b; the period-stratified estimate is centred on 0 and its tests hold their size."""
    rng = np.random.default_rng(12)
    runs, size = 2000, 400
    share_b = np.array([0.5, 0.6, 0.7, 0.8, 0.9])
    base = np.array([0.05, 0.10, 0.15, 0.20, 0.25])
    nb = rng.binomial(size, share_b, size=(runs, 5))
    na = size - nb
    ca, cb = rng.binomial(na, base), rng.binomial(nb, base)
    pooled = cb.sum(1) / nb.sum(1) - ca.sum(1) / na.sum(1)
    diffs, rejections = [], 0
    for r in range(runs):
        strata = [
            [RateStats(int(na[r, p]), int(ca[r, p])), RateStats(int(nb[r, p]), int(cb[r, p]))]
            for p in range(5)
        ]
        (a, b), dropped = stratify(strata)
        assert dropped == 0
        diffs.append(b.mean - a.mean)
        test = welch_test(a, b, scale="absolute")
        rejections += test.p_value is not None and test.p_value < 0.05
    se = np.std(diffs) / math.sqrt(runs)
    assert abs(np.mean(diffs)) < 4 * se
    assert np.mean(pooled) > 10 * np.std(pooled) / math.sqrt(runs)  # pooling is biased
    # size 5 %, within 4 binomial standard errors plus a point for the plug-in variance
    assert abs(rejections / runs - 0.05) < 4 * math.sqrt(0.05 * 0.95 / runs) + 0.01


def test_a_bandit_experiment_is_stratified_by_its_weight_history() -> None:
    rng = np.random.default_rng(3)
    state = start_bandit("home_test", {"a": 50, "b": 50}, now=0.0)
    assert state.due(HOUR) and not state.due(HOUR - 1)
    arms = {"a": RateStats(100, 10), "b": RateStats(100, 30)}
    state = rebalance(state, arms, now=HOUR, rng=rng)
    assert state.weights["b"] > 0.9 and state.weights["a"] >= state.min_share
    assert len(state.history) == 2 and state.history[1].units == {"a": 100, "b": 100}
    # 200 units before the re-weighting split 100 / 100, 400 after split 40 / 360.
    cohorts = ["a"] * 100 + ["b"] * 100 + ["a"] * 40 + ["b"] * 360
    times = [10.0 + i for i in range(200)] + [HOUR + 10.0 + i for i in range(400)]
    orders = [[1.0] if i % 4 == 0 else [] for i in range(600)]
    log, events = population(cohorts, orders, times=times)
    journeys = build_journeys(log, events)
    exact = state.model_copy(
        update={
            "history": (
                state.history[0],
                state.history[1].model_copy(update={"weights": {"a": 0.1, "b": 0.9}}),
            )
        }
    )
    found = experiment_results(experiment("Conversion Rate"), journeys, events=events, bandit=exact)
    assert found.stratified_periods == 2
    assert [c.expected for c in found.cohorts] == pytest.approx([100 + 40, 100 + 360])
    assert found.srm is not None and not found.srm.flagged
    rate = metric(found, "Conversion Rate")
    ref, _ = stratify(
        [[RateStats(100, 25), RateStats(100, 25)], [RateStats(40, 10), RateStats(360, 90)]]
    )
    assert [c.mean for c in rate.cohorts] == pytest.approx([s.mean for s in ref])
    assert rate.comparisons[0].bayesian.model == "normal"
    with pytest.raises(InvalidInput, match="every cohort"):
        rebalance(state, {"a": RateStats(1, 0)}, now=2 * HOUR, rng=rng)


def test_the_results_serialise_as_json_and_back() -> None:
    log, events = rates_population(50, {"a": 3, "b": 4})
    exp = experiment("Conversion Rate", secondary=list(BUILT_IN_METRICS))
    found = results(exp, log, events, min_units=10)
    assert [m.metric for m in found.metrics][0] == "Conversion Rate"
    assert ExperimentResults.model_validate_json(found.model_dump_json()) == found


def test_the_primary_metrics_cohort_statistics_feed_the_bandit() -> None:
    log, events = rates_population(40, {"a": 4, "b": 2})  # a: 10 of 40, b: 20 of 40
    exp, metric = experiment("Conversion Rate"), BUILT_IN_METRICS["Conversion Rate"]
    cells = cells_of_journeys(
        exp, build_journeys(log, events), (metric,), events=events, settings=ResultSettings()
    )
    found = metric_summaries(exp, cells, metric)
    assert found == {"a": RateStats(40, 10), "b": RateStats(40, 20)}
    state = rebalance(
        start_bandit("home_test", {"a": 1, "b": 1}, now=0.0),
        found,
        now=HOUR,
        rng=np.random.default_rng(1),
    )
    assert state.weights["b"] > state.weights["a"]
    assert sum(state.weights.values()) == 1.0
