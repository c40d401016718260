"""Experiment results and a bandit's primary metric over a real store (SQLite and PostgreSQL):
exposures written to the personalization log and events ingested by the engine come back per
cohort as worked out by hand and as the domain function gives on the same rows; an experiment
not started is an empty result that says so; identities merged after the log was written make
one unit; and the bandit schedule re-weights only when due, within the minimum share, keeping
units in their cohort."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from p13n.domain.analytics import ResultSettings, build_journeys, experiment_results
from p13n.domain.decisions import Experiment
from p13n.domain.services import Engine, MeasureService, sql_store
from p13n.domain.services.bandits import Bandits
from p13n.domain.services.measure import Survivors
from p13n.domain.store import LOG_COLUMNS, PersonalizationLogStore

T = 1_780_000_000.0
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = T + 2 * 86_400

    def __call__(self) -> float:
        return self.now


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _experiment(**extra: Any) -> Experiment:
    data: dict[str, Any] = {
        "name": "home_test",
        "point": "home",
        "primaryMetric": "Revenue Per Visitor",
        "secondaryMetrics": ["Conversion Rate"],
        "status": "Started",
        "startedAt": T,
        "cohorts": [
            {"id": "control", "weight": 50, "recommender": "r0"},
            {"id": "treat", "weight": 50, "recommender": "r1"},
        ],
    }
    data.update(extra)
    return Experiment.model_validate(data)


def _log_row(pid: str, ts: float, uid: str, cohort: str, experiment: str = "home_test") -> Any:
    row: dict[str, Any] = {c: None for c in LOG_COLUMNS}
    row.update(
        personalization_id=pid,
        request_id=f"r-{pid}",
        ts=ts,
        point="home",
        unified_id=uid,
        individual_id=uid,
        channel="web",
        source="api",
        status=200,
        experiment=experiment,
        cohort=cohort,
        content=orjson.dumps([{"contentId": f"{pid}:0", "id": "mug", "rank": 0}]).decode(),
        augmenting_ms=0.0,
        qualifying_ms=0.0,
        personalizing_ms=0.0,
        total_ms=1.0,
        diagnostics="",
    )
    return tuple(row[c] for c in LOG_COLUMNS)


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[Engine, MeasureService, Clock]]:
    clock = Clock()
    engine = Engine.open(database_url, clock=clock)
    try:
        yield engine, MeasureService(engine), clock
    finally:
        engine.close()


# unit -> (cohort, order values after exposure); c3 and t3 buy nothing
PEOPLE = {
    "c1": ("control", [10.0]),
    "c2": ("control", [5.0, 5.0]),
    "c3": ("control", []),
    "t1": ("treat", [30.0]),
    "t2": ("treat", []),
    "t3": ("treat", []),
}


def _traffic(engine: Engine) -> dict[str, str]:
    """Every person of PEOPLE seen, exposed in their cohort and ordering after; an order of
    c1's 20 days earlier (outside every window); returns the unified ids."""
    views = [
        {"individualId": p, "interaction": "view", "itemId": "mug", "dateTime": _iso(T - 60)}
        for p in PEOPLE
    ]
    engine.ingest(views)
    ids = {p: engine.resolve(p) for p in PEOPLE}
    assert all(ids.values())
    rows = [
        _log_row(f"p{k}", T + 10 * k, str(ids[p]), cohort)
        for k, (p, (cohort, _)) in enumerate(PEOPLE.items())
    ]
    rows.append(_log_row("other", T + 5, str(ids["t2"]), "treat", experiment="another"))
    PersonalizationLogStore(sql_store(engine)).append(rows)
    orders = [
        {
            "individualId": p,
            "interaction": "purchase",
            "itemId": "mug",
            "price": value,
            "quantity": 1,
            "orderId": f"o-{p}-{j}",
            "dateTime": _iso(T + HOUR + j * 60),
        }
        for p, (_, values) in PEOPLE.items()
        for j, value in enumerate(values)
    ]
    old = {**orders[0], "orderId": "o-old", "dateTime": _iso(T - 20 * 86_400)}
    engine.ingest([*orders, old])
    return {p: str(u) for p, u in ids.items()}


def _figures(results: Any, metric: str) -> dict[str, tuple[int, int, float]]:
    found = next(m for m in results.metrics if m.metric == metric)
    return {c.cohort: (c.units, c.conversions, c.mean) for c in found.cohorts}


def test_results_per_cohort_are_the_hand_counted_ones_and_the_domain_functions_on_the_rows(
    world: tuple[Engine, MeasureService, Clock],
) -> None:
    engine, measure, _ = world
    _traffic(engine)
    results = measure.experiment_results(_experiment())
    assert not results.empty and results.units == 6
    assert [(c.cohort, c.units) for c in results.cohorts] == [("control", 3), ("treat", 3)]
    rpv = _figures(results, "Revenue Per Visitor")
    assert rpv["control"] == (3, 2, pytest.approx(20.0 / 3))
    assert rpv["treat"] == (3, 1, pytest.approx(10.0))
    rate = _figures(results, "Conversion Rate")
    assert rate["control"][:2] == (3, 2) and rate["treat"][:2] == (3, 1)
    # the same rows, read whole from the store, through the domain function
    reads = measure.reads
    log_rows = [
        r for page in reads.exposures_between(T - 30 * 86_400, T + 3 * 86_400) for r in page
    ]
    events = [r for page in reads.events_between(T - 30 * 86_400, T + 3 * 86_400) for r in page]
    units = Survivors(engine.state.identity)
    journeys = build_journeys(log_rows, events, units=units)
    reference = experiment_results(_experiment(), journeys, events=events, units=units)
    assert results.model_dump(exclude={"settings"}) == reference.model_dump(exclude={"settings"})
    # the pre-window reaches the old order only when it is long enough
    wide = measure.experiment_results(_experiment(), ResultSettings(pre_window=30 * 86_400.0))
    assert wide.metrics[0].cuped_theta is not None
    assert wide.metrics[0].cohorts == results.metrics[0].cohorts


def test_an_experiment_not_started_is_an_empty_result_that_says_so(
    world: tuple[Engine, MeasureService, Clock],
) -> None:
    engine, measure, _ = world
    _traffic(engine)
    created = _experiment(status="Created", startedAt=None)
    results = measure.experiment_results(created)
    assert results.empty and results.units == 0 and results.metrics == []
    assert "No unit has been exposed" in results.message and "home_test" in results.message
    unused = measure.experiment_results(_experiment(name="quiet_test"))
    assert unused.empty and unused.units == 0


def test_identities_merged_after_the_log_was_written_are_counted_once(
    world: tuple[Engine, MeasureService, Clock],
) -> None:
    engine, measure, _ = world
    engine.ingest(
        [{"deviceId": "dev-1", "interaction": "view", "itemId": "mug", "dateTime": _iso(T - 9)}]
    )
    engine.ingest(
        [{"individualId": "zoe", "interaction": "view", "itemId": "mug", "dateTime": _iso(T - 8)}]
    )
    device, person = engine.resolve("dev-1"), engine.resolve("zoe")
    assert device is not None and person is not None and device != person
    PersonalizationLogStore(sql_store(engine)).append(
        [_log_row("q1", T + 10, device, "treat"), _log_row("q2", T + 20, person, "control")]
    )
    before = measure.experiment_results(_experiment())
    assert before.units == 2
    link = {"deviceId": "dev-1", "individualId": "zoe", "interaction": "view", "itemId": "mug"}
    engine.ingest([{**link, "dateTime": _iso(T + 30)}])
    assert engine.resolve("dev-1") == engine.resolve("zoe")
    after = measure.experiment_results(_experiment())
    assert after.units == 1 and after.multiple_exposures == 1
    assert [(c.cohort, c.units) for c in after.cohorts] == [("control", 0), ("treat", 1)]


def _bandit() -> Experiment:
    return _experiment(
        name="banner_bandit",
        mode="bandit",
        primaryMetric="Conversion Rate",
        secondaryMetrics=[],
        bandit={"intervalSeconds": 3600, "minShare": 0.1},
        startedAt=None,
    )


def test_the_bandit_schedule_moves_weight_to_the_arm_that_converts_when_due_only(
    world: tuple[Engine, MeasureService, Clock],
) -> None:
    engine, measure, clock = world
    clock.now = T
    bandit = _bandit().model_copy(update={"started_at": T})
    bandits = Bandits(sql_store(engine), clock=clock)
    people = [f"v{k}" for k in range(400)]
    engine.ingest(
        [
            {"individualId": p, "interaction": "view", "itemId": "mug", "dateTime": _iso(T - 60)}
            for p in people
        ]
    )
    first = {}
    rows = []
    for k, p in enumerate(people):
        unit = str(engine.resolve(p))
        cohort = bandits.assign(bandit, unit).id
        first[unit] = cohort
        rows.append(_log_row(f"b{k}", T + k, unit, cohort, experiment="banner_bandit"))
    PersonalizationLogStore(sql_store(engine)).append(rows)
    # every treat unit orders, one control unit in ten does
    by_unit = {str(engine.resolve(p)): p for p in people}
    buyers = [
        p
        for k, (u, p) in enumerate(by_unit.items())
        if first[u] == "treat" or (first[u] == "control" and k % 10 == 0)
    ]
    engine.ingest(
        [
            {
                "individualId": p,
                "interaction": "purchase",
                "itemId": "mug",
                "price": 5.0,
                "orderId": f"o-{p}",
                "dateTime": _iso(T + 1000),
            }
            for p in buyers
        ]
    )
    clock.now = T + 1800  # not due yet
    assert measure.rebalance_bandits(bandits, [bandit]) == []
    assert bandits.state(bandit).weights == {"control": 0.5, "treat": 0.5}
    clock.now = T + 3601
    assert measure.rebalance_bandits(bandits, [bandit, _experiment()]) == ["banner_bandit"]
    weights = bandits.state(bandit).weights
    assert weights["treat"] == pytest.approx(0.9, abs=1e-6)  # all it may take: min share 0.1
    assert weights["control"] == pytest.approx(0.1, abs=1e-6)
    assert measure.rebalance_bandits(bandits, [bandit]) == []  # next due an hour later
    assert {u: bandits.assign(bandit, u).id for u in first} == first  # sticky
    arms = measure.primary_arms(bandit, bandits.state(bandit))
    treat = sum(1 for c in first.values() if c == "treat")
    assert arms["treat"].n == treat and arms["treat"].mean == pytest.approx(1.0)


def test_a_server_runs_the_bandit_schedule_on_a_thread_that_stop_ends(
    world: tuple[Engine, MeasureService, Clock],
) -> None:
    engine, measure, clock = world
    clock.now = T + 3601
    bandit = _bandit().model_copy(update={"started_at": T})
    bandits = Bandits(sql_store(engine), clock=clock)
    thread = measure.start_bandit_schedule(lambda: bandits, lambda: [bandit], check_s=0.05)
    for _ in range(100):
        if len(bandits.state(bandit).history) > 1:
            break
        thread.join(0.05)
    assert len(bandits.state(bandit).history) == 2  # re-weighted once (exploring: no data)
    measure.stop()
    thread.join(2)
    assert not thread.is_alive()
