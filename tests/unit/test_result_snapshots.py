"""Result snapshots: a reading is computed once, answered from its snapshot while young, answered
stale while one refresh runs behind it, and computed in the request when asked fresh."""

from __future__ import annotations

import threading

from p13n.domain.analytics import ExperimentResults, ResultSettings
from p13n.domain.decisions import Experiment
from p13n.domain.services import ResultSnapshots

EXPERIMENT = Experiment.model_validate(
    {
        "name": "home",
        "point": "home",
        "primaryMetric": "Click-Through Rate",
        "cohorts": [
            {"id": "control", "weight": 50, "deferToDecisions": True},
            {"id": "treatment", "weight": 50, "recommender": "top_sellers"},
        ],
    }
)


class _Found(dict[str, object]):
    """A result as the snapshots read it: `empty` when nobody was exposed."""

    @property
    def empty(self) -> bool:
        return bool(self.get("empty"))


class _Results:
    """The compute port's test double: counts calls, each result numbered by its call, and
    can hold a call until released (a slow refresh)."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()

    def __call__(self, experiment: Experiment, settings: ResultSettings, bandit: object) -> object:
        self.calls += 1
        self.started.set()
        self.release.wait(5)
        return _Found(
            {"call": self.calls, "engine": settings.engine, "experiment": experiment.name}
        )


def _snapshots(clock: list[float], results: _Results) -> ResultSnapshots:
    return ResultSnapshots(results, clock=lambda: clock[0], max_age_s=60)  # type: ignore[arg-type]


def _call(found: ExperimentResults) -> int:
    return int(found["call"])  # type: ignore[index]


def test_a_young_snapshot_is_answered_without_computing() -> None:
    clock, results = [1000.0], _Results()
    snapshots = _snapshots(clock, results)
    first = snapshots.get(EXPERIMENT, ResultSettings())
    clock[0] += 59
    again = snapshots.get(EXPERIMENT, ResultSettings())
    assert results.calls == 1
    assert _call(again.results) == 1 and again.as_of == 1000.0 and not again.refreshing
    assert first.as_of == 1000.0 and not first.refreshing


def test_an_old_snapshot_is_answered_while_one_refresh_runs_behind_it() -> None:
    clock, results = [1000.0], _Results()
    snapshots = _snapshots(clock, results)
    snapshots.get(EXPERIMENT, ResultSettings())
    clock[0] += 61
    results.release.clear()
    results.started.clear()
    stale = snapshots.get(EXPERIMENT, ResultSettings())
    assert stale.refreshing and _call(stale.results) == 1 and stale.as_of == 1000.0
    assert results.started.wait(5)
    still = snapshots.get(EXPERIMENT, ResultSettings())  # a second reader starts no second one
    assert still.refreshing and _call(still.results) == 1
    results.release.set()
    for _ in range(500):
        newer = snapshots.get(EXPERIMENT, ResultSettings())
        if _call(newer.results) == 2:
            break
        threading.Event().wait(0.01)
    assert _call(newer.results) == 2 and newer.as_of == 1061.0 and not newer.refreshing
    assert results.calls == 2


def test_fresh_computes_in_the_request_and_keeps_the_result() -> None:
    clock, results = [1000.0], _Results()
    snapshots = _snapshots(clock, results)
    snapshots.get(EXPERIMENT, ResultSettings())
    clock[0] += 5
    fresh = snapshots.get(EXPERIMENT, ResultSettings(), fresh=True)
    assert _call(fresh.results) == 2 and fresh.as_of == 1005.0
    assert _call(snapshots.get(EXPERIMENT, ResultSettings()).results) == 2


def test_another_engine_or_an_edited_experiment_is_another_reading() -> None:
    clock, results = [1000.0], _Results()
    snapshots = _snapshots(clock, results)
    snapshots.get(EXPERIMENT, ResultSettings())
    other = snapshots.get(EXPERIMENT, ResultSettings(engine="frequentist"))
    edited = EXPERIMENT.model_copy(update={"primary_metric": "Conversion Rate"})
    snapshots.get(edited, ResultSettings())
    assert other.results["engine"] == "frequentist"  # type: ignore[index]
    assert results.calls == 3


def test_a_failed_refresh_keeps_the_last_snapshot() -> None:
    clock = [1000.0]
    calls: list[int] = []

    def compute(experiment: Experiment, settings: ResultSettings, bandit: object) -> object:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("the store is gone")
        return _Found({"call": 1})

    snapshots = ResultSnapshots(compute, clock=lambda: clock[0], max_age_s=60)  # type: ignore[arg-type]
    snapshots.get(EXPERIMENT, ResultSettings())
    clock[0] += 120
    assert snapshots.get(EXPERIMENT, ResultSettings()).refreshing
    for _ in range(500):
        if len(calls) == 2 and not snapshots._making:
            break
        threading.Event().wait(0.01)
    kept = snapshots.get(EXPERIMENT, ResultSettings())
    assert _call(kept.results) == 1 and kept.as_of == 1000.0


def test_with_a_wait_a_reading_without_a_snapshot_is_made_behind_the_page() -> None:
    clock, results = [1000.0], _Results()
    snapshots = _snapshots(clock, results)
    results.release.clear()
    first = snapshots.get(EXPERIMENT, ResultSettings(), wait_s=0.05)
    assert first.results is None and first.refreshing and first.error is None
    again = snapshots.get(EXPERIMENT, ResultSettings(), wait_s=0.05)  # no second make
    assert again.results is None
    results.release.set()
    ready = snapshots.get(EXPERIMENT, ResultSettings(), wait_s=5)
    assert ready.results is not None and _call(ready.results) == 1 and results.calls == 1


def test_with_a_wait_a_fresh_make_that_is_not_done_answers_the_older_snapshot() -> None:
    clock, results = [1000.0], _Results()
    snapshots = _snapshots(clock, results)
    snapshots.get(EXPERIMENT, ResultSettings())
    results.release.clear()
    clock[0] += 5
    older = snapshots.get(EXPERIMENT, ResultSettings(), fresh=True, wait_s=0.05)
    assert older.results is not None and _call(older.results) == 1 and older.refreshing
    results.release.set()
    newer = snapshots.get(EXPERIMENT, ResultSettings(), fresh=True, wait_s=5)
    assert newer.results is not None and _call(newer.results) >= 2 and newer.as_of == 1005.0


def test_a_first_make_that_fails_says_why() -> None:
    def compute(experiment: Experiment, settings: ResultSettings, bandit: object) -> object:
        raise RuntimeError("the store is gone")

    snapshots = ResultSnapshots(compute, clock=lambda: 1000.0)  # type: ignore[arg-type]
    failed = snapshots.get(EXPERIMENT, ResultSettings(), wait_s=5)
    assert failed.results is None and failed.error == "RuntimeError: the store is gone"


def test_an_empty_result_is_not_kept_so_the_first_units_show_at_once() -> None:
    clock, calls = [1000.0], []

    def compute(experiment: Experiment, settings: ResultSettings, bandit: object) -> object:
        calls.append(1)
        return _Found({"call": len(calls), "empty": len(calls) == 1})

    snapshots = ResultSnapshots(compute, clock=lambda: clock[0])  # type: ignore[arg-type]
    assert snapshots.get(EXPERIMENT, ResultSettings()).results.empty  # type: ignore[union-attr]
    second = snapshots.get(EXPERIMENT, ResultSettings())
    assert _call(second.results) == 2  # type: ignore[arg-type]
    assert _call(snapshots.get(EXPERIMENT, ResultSettings()).results) == 2  # type: ignore[arg-type]
