"""An experiment's kept cells over a real store (SQLite and PostgreSQL) equal a recompute from
the raw log and the journeys-based domain function, however the reads fall in time: traffic
written as a clock moves, results read every few hours (each read folds what is new and saves
it), a fresh service that loads the saved cells, manual content shown only by a later view,
clicks and the second line of an order arriving days after, events before exposure (CUPED),
anonymous and unknown-cohort exposures."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from p13n.domain.analytics import ResultSettings, build_journeys, experiment_results
from p13n.domain.decisions import Experiment
from p13n.domain.services import Engine, MeasureService, sql_store
from p13n.domain.services.survivors import Survivors
from p13n.domain.store import LOG_COLUMNS, PersonalizationLogStore

T = 1_780_000_000.0
HOUR, DAY = 3600.0, 86_400.0


class Clock:
    def __init__(self) -> None:
        self.now = T

    def __call__(self) -> float:
        return self.now


def _experiment() -> Experiment:
    return Experiment.model_validate(
        {
            "name": "home_test",
            "point": "home",
            "primaryMetric": "Click-Through Rate",
            "secondaryMetrics": ["Revenue Per Visitor", "Orders", "Conversion Rate"],
            "status": "Started",
            "startedAt": T,
            "cohorts": [
                {"id": "control", "weight": 50, "recommender": "r0"},
                {"id": "treat", "weight": 50, "recommender": "r1"},
            ],
        }
    )


def _log_row(pid: str, ts: float, unit: str | None, cohort: str | None, shown: bool) -> Any:
    row: dict[str, Any] = {c: None for c in LOG_COLUMNS}
    content = [{"contentId": f"{pid}:0", "id": "mug", "rank": 0}] if shown else []
    row.update(
        personalization_id=pid,
        request_id=f"r-{pid}",
        ts=ts,
        point="home",
        unified_id=unit,
        individual_id=unit,
        channel="web",
        source="api",
        status=200,
        experiment="home_test",
        cohort=cohort,
        content=orjson.dumps(content).decode(),
        augmenting_ms=0.0,
        qualifying_ms=0.0,
        personalizing_ms=0.0,
        total_ms=1.0,
        diagnostics="",
    )
    return tuple(row[c] for c in LOG_COLUMNS)


def _event(eid: str, ts: float, unit: str, interaction: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": eid,
        "unified_id": unit,
        "device_id": None,
        "individual_id": unit,
        "session_id": None,
        "ts": ts,
        "interaction": interaction,
        "kind": "engagement",
        "item_id": None,
        "category": None,
        "brand": None,
        "quantity": None,
        "price": None,
        "value": None,
        "order_id": None,
        "channel": "web",
        "personalization_id": None,
        "payload": "{}",
    }
    row.update(extra)
    return row


def _traffic(seed: int) -> list[tuple[float, str, Any]]:
    """(time, 'log' | 'event', row) for 120 people over six days, in time order."""
    rng = random.Random(seed)
    out: list[tuple[float, str, Any]] = []
    k = 0
    for p in range(120):
        unit = f"u{p}"
        cohort = ("control", "treat", "other")[p % 3] if p % 17 else "treat"
        start = T + rng.uniform(0, 4 * DAY)
        if rng.random() < 0.4:  # bought something before the first exposure
            ts = start - rng.uniform(HOUR, 10 * DAY)
            out.append((ts, "event", _purchase(f"pre{p}", ts, unit, f"po{p}", 7.0)))
        for j in range(rng.randint(1, 4)):
            k += 1
            pid = f"p{k}"
            ts = start + j * rng.uniform(0, DAY)
            shown = rng.random() > 0.3  # else manual content: shown once viewed
            seen = "control" if j and p % 29 == 0 else cohort  # a few switch cohorts
            out.append((ts, "log", _log_row(pid, ts, unit, seen, shown)))
            if rng.random() < 0.5:  # a view, sometimes days later
                at = ts + rng.choice([30.0, 5 * HOUR, 2 * DAY])
                view = _event(f"v{k}", at, unit, "personalization-view", personalization_id=pid)
                out.append((at, "event", view))
            if rng.random() < 0.3:  # a click naming the content id only
                at = ts + rng.choice([60.0, 3 * HOUR, DAY])
                payload = orjson.dumps({"personalizationContentId": f"{pid}:0"}).decode()
                click = _event(f"c{k}", at, unit, "personalization-click", payload=payload)
                out.append((at, "event", click))
        if rng.random() < 0.5:  # an order of two lines, the second a day or so later
            ts = start + rng.uniform(0, 3 * DAY)
            out.append((ts, "event", _purchase(f"o{p}a", ts, unit, f"ord{p}", 10.0)))
            later = ts + rng.choice([1.0, 20 * HOUR, 8 * DAY])
            out.append((later, "event", _purchase(f"o{p}b", later, unit, f"ord{p}", 5.5)))
        if rng.random() < 0.3:
            ts = start + rng.uniform(0, 2 * DAY)
            cart = _event(f"a{p}", ts, unit, "Add To Cart", kind="cart", value=3.0)
            out.append((ts, "event", cart))
    for a in range(5):  # nobody named: counted, never attributed
        out.append((T + a * HOUR, "log", _log_row(f"anon{a}", T + a * HOUR, None, "treat", True)))
    return sorted(out, key=lambda x: x[0])


def _purchase(eid: str, ts: float, unit: str, order: str, value: float) -> dict[str, Any]:
    return _event(
        eid, ts, unit, "Purchase", kind="order", order_id=order, value=value, quantity=1.0
    )


def _write(engine: Engine, batch: list[tuple[float, str, Any]]) -> None:
    store = sql_store(engine)
    logs = [row for _, kind, row in batch if kind == "log"]
    events = [row for _, kind, row in batch if kind == "event"]
    if logs:
        PersonalizationLogStore(store).append(logs)
    if events:
        with store.transaction() as conn:
            store.append_events(conn, events)


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[Engine, Clock]]:
    clock = Clock()
    engine = Engine.open(database_url, clock=clock)
    try:
        yield engine, clock
    finally:
        engine.close()


def _dump(results: Any) -> Any:
    """The results with floats rounded (sums folded in another order differ in the last bit)."""

    def walk(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(results.model_dump(mode="json"))


def test_kept_cells_equal_a_recompute_and_the_domain_function_whenever_they_are_read(
    world: tuple[Engine, Clock],
) -> None:
    engine, clock = world
    experiment = _experiment()
    measure = MeasureService(engine, clock=clock)
    traffic = _traffic(seed=3)
    written = 0
    reads = 0
    clock.now = T - 11 * DAY
    while written < len(traffic):
        clock.now += rng_step(reads)
        upto = next((i for i, t in enumerate(traffic) if t[0] >= clock.now), len(traffic))
        _write(engine, traffic[written:upto])
        written = upto
        if clock.now >= T:
            measure.experiment_results(experiment)  # folds and saves what settled
            reads += 1
    clock.now = traffic[-1][0] + HOUR / 2  # the tail is still within the settle time
    kept = measure.experiment_results(experiment)
    assert reads > 10 and kept.units > 50 and not kept.empty
    assert kept.anonymous_exposures == 5 and kept.unknown_cohort_units > 0
    assert kept.multiple_exposures > 0
    recomputed = measure.recompute_experiment(experiment)
    assert _dump(kept) == _dump(recomputed)
    # a fresh service loads the saved cells and answers the same
    again = MeasureService(engine, clock=clock).experiment_results(experiment)
    assert _dump(again) == _dump(recomputed)
    # and the journeys-based domain function on every row read whole agrees
    reads_ = measure.reads
    rows = [r for page in reads_.exposures_between(T - 30 * DAY, clock.now + 1) for r in page]
    events = [r for page in reads_.events_between(T - 30 * DAY, clock.now + 1) for r in page]
    units = Survivors(engine.state.identity)
    journeys = build_journeys(rows, events, units=units)
    reference = experiment_results(
        experiment,
        journeys,
        events=events,
        settings=ResultSettings(),
        units=units,
    )
    assert _dump(kept) == _dump(reference)
    ctr = next(m for m in kept.metrics if m.metric == "Click-Through Rate")
    assert sum(c.denominator_total or 0 for c in ctr.cohorts) > 0  # impressions, views merged


def rng_step(k: int) -> float:
    """Irregular steps between reads: an hour to most of a day."""
    return (HOUR, 7 * HOUR, 3 * HOUR, 20 * HOUR, 2 * HOUR)[k % 5]


def test_a_different_window_is_folded_from_the_raw_log_and_not_kept(
    world: tuple[Engine, Clock],
) -> None:
    engine, clock = world
    experiment = _experiment()
    _write(engine, _traffic(seed=5))
    clock.now = T + 12 * DAY
    measure = MeasureService(engine, clock=clock)
    short = ResultSettings(window=DAY, pre_window=0)
    first = measure.experiment_results(experiment, short)
    assert measure.experiments.store.fold_row("home_test") is None
    assert _dump(first) == _dump(measure.recompute_experiment(experiment, short))
    default = measure.experiment_results(experiment)
    assert measure.experiments.store.fold_row("home_test") is not None
    assert default.metrics[1].cohorts[0].total != first.metrics[1].cohorts[0].total


def test_cells_saved_for_other_metrics_are_folded_again_after_the_experiment_is_edited(
    world: tuple[Engine, Clock],
) -> None:
    """An admin edit of the metrics changes the width of a unit's cells: the saved ones are
    set aside (the API fuzzer found the reshape of the old blob answering 500)."""
    engine, clock = world
    experiment = _experiment()
    _write(engine, _traffic(seed=7))
    clock.now = T + 12 * DAY
    MeasureService(engine, clock=clock).experiment_results(experiment)  # saves 4 metrics' cells
    edited = experiment.model_copy(update={"secondary_metrics": []})
    measure = MeasureService(engine, clock=clock)  # nothing in memory: reads the saved state
    kept = measure.experiment_results(edited)
    assert [m.metric for m in kept.metrics] == ["Click-Through Rate"]
    assert _dump(kept) == _dump(measure.recompute_experiment(edited))
