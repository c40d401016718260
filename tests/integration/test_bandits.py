"""Experiments in bandit mode over a real store, on SQLite and PostgreSQL: a unit keeps its
first cohort when the weights move, new units follow the new weights, the assignments and the
weights survive a new process, re-weighting follows the primary metric within the minimum
share and only when due, and decisions serve the sticky cohort."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from p13n.domain.analytics import MeanStats
from p13n.domain.decisions import (
    Decision,
    DecisionRequest,
    Experiment,
    PersonalizationPoint,
)
from p13n.domain.services import Bandits, DecisionService, Engine, RecommendService, sql_store

NOW = 1_780_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _bandit(**extra: object) -> Experiment:
    return Experiment.model_validate(
        {
            "name": "banner_bandit",
            "point": "banner",
            "primaryMetric": "Conversion Rate",
            "status": "Started",
            "startedAt": NOW,
            "mode": "bandit",
            "bandit": {"intervalSeconds": 3600, "minShare": 0.1},
            "cohorts": [
                {"id": "a", "weight": 50, "decision": "banner_a"},
                {"id": "b", "weight": 50, "decision": "banner_b"},
            ],
            **extra,
        }
    )


def _arms(rate_a: float, rate_b: float, n: int = 2000) -> dict[str, MeanStats]:
    """Conversion counts as per-unit 0/1 values: n units per cohort."""

    def stats(rate: float) -> MeanStats:
        k = round(rate * n)
        return MeanStats(n=n, sum=float(k), sum_squares=float(k))

    return {"a": stats(rate_a), "b": stats(rate_b)}


@pytest.fixture
def engine(database_url: str) -> Iterator[tuple[Engine, Clock]]:
    clock = Clock()
    engine = Engine.open(database_url, clock=clock)
    yield engine, clock
    engine.close()


def test_units_keep_their_cohort_and_new_units_follow_the_new_weights(
    engine: tuple[Engine, Clock],
) -> None:
    eng, clock = engine
    experiment = _bandit()
    bandits = Bandits(sql_store(eng), clock=clock)
    before = {f"u{k}": bandits.assign(experiment, f"u{k}").id for k in range(2000)}
    shares = Counter(before.values())
    assert 900 < shares["a"] < 1100  # 50/50 to start
    clock.now += 3601
    assert bandits.rebalance_due([experiment], lambda _: _arms(0.05, 0.15)) == ["banner_bandit"]
    weights = bandits.state(experiment).weights
    assert weights["b"] == pytest.approx(0.9, abs=1e-5) and weights["a"] == pytest.approx(
        0.1, abs=1e-5
    )
    assert {k: bandits.assign(experiment, k).id for k in before} == before  # sticky
    new = Counter(bandits.assign(experiment, f"n{k}").id for k in range(2000))
    assert 1700 < new["b"] < 1900  # about 90 %
    # another process reads the same assignments and weights
    other = Bandits(sql_store(eng), clock=clock)
    assert {k: other.assign(experiment, k).id for k in list(before)[:200]} == {
        k: before[k] for k in list(before)[:200]
    }
    assert other.state(experiment).weights == weights
    assert len(other.state(experiment).history) == 2


def test_re_weighting_waits_for_its_interval_and_skips_what_is_not_a_started_bandit(
    engine: tuple[Engine, Clock],
) -> None:
    eng, clock = engine
    bandits = Bandits(sql_store(eng), clock=clock)
    bandit = _bandit()
    ab = _bandit(name="plain", mode="ab")
    stopped = _bandit(name="stopped", status="Stopped")
    arms = _arms(0.05, 0.15)
    clock.now += 1800
    assert bandits.rebalance_due([bandit, ab, stopped], lambda _: arms) == []
    clock.now += 1801
    assert bandits.rebalance_due([bandit, ab, stopped], lambda _: arms) == ["banner_bandit"]
    assert bandits.rebalance_due([bandit], lambda _: arms) == []  # due again an hour later
    failing = bandits.rebalance_due([_bandit(name="broken")], lambda _: {"a": arms["a"]})
    assert failing == []  # a missing cohort is logged, and the weights stay


def test_decisions_serve_the_sticky_cohort_of_a_bandit(engine: tuple[Engine, Clock]) -> None:
    eng, clock = engine
    service = DecisionService(eng, RecommendService(eng))
    service.change(
        lambda r: r.put_point(
            PersonalizationPoint.model_validate(
                {"name": "banner", "contentSchema": {"type": "ManualContent"}}
            )
        )
    )
    for name in ("banner_a", "banner_b"):
        decision = Decision.model_validate(
            {"name": name, "point": "banner", "state": "Draft", "attributes": {"header": name}}
        )
        service.change(lambda r, d=decision: r.put_decision(d))
    service.change(lambda r: r.put_experiment(_bandit()))

    def cohort_of(visitor: str) -> str:
        got = service.decide(
            DecisionRequest.model_validate(
                {
                    "context": {"individualId": visitor},
                    "personalizationPoints": [{"name": "banner"}],
                    "executionFlags": ["EnableDiagnostics"],
                }
            ),
            authenticated=True,
        )
        p = got.personalizations[0]
        assert p.trace is not None and p.attributes["header"] == f"banner_{p.trace['cohort']}"
        return str(p.trace["cohort"])

    first = {f"v{k}": cohort_of(f"v{k}") for k in range(60)}
    assert set(first.values()) == {"a", "b"}
    clock.now += 3601
    experiment = service.configs.experiments["banner_bandit"]
    service.bandits.rebalance_due([experiment], lambda _: _arms(0.15, 0.05))
    assert {k: cohort_of(k) for k in first} == first
    assert service.bandits.state(experiment).weights["a"] == pytest.approx(0.9, abs=1e-5)


def test_a_minimum_share_over_what_the_cohorts_allow_is_refused() -> None:
    with pytest.raises(ValidationError, match="minShare"):
        _bandit(
            bandit={"minShare": 0.4},
            cohorts=[
                {"id": "a", "weight": 34, "decision": "x"},
                {"id": "b", "weight": 33, "decision": "y"},
                {"id": "c", "weight": 33, "decision": "z"},
            ],
        )
