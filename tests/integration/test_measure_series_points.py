"""An experiment's results over time from the points kept at each day's end equal the same
series folded from the raw log (SQLite and PostgreSQL): while traffic is written and read
every few hours, from a fresh service, for every engine and metric, and a read that finds no
points (cells saved before them) folds from the raw log and keeps them for the next."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from test_measure_experiment_cells import DAY, HOUR, Clock, T, _experiment, _traffic, _write
from test_measure_experiment_cells import _dump as _rounded
from test_measure_experiment_cells import world as world  # the fixture, shared

from p13n.domain.analytics import ResultSettings, resolve_metrics
from p13n.domain.services import Engine, MeasureService, experiment_series, sql_store
from p13n.domain.store import ExperimentStore


def _raw(measure: MeasureService, experiment: Any, metric: str, engine: str) -> Any:
    """The same series with nothing kept to read: a fold from the raw log per call."""
    measure.experiments.store.forget(experiment.name)
    measure.experiments.forget(experiment.name)
    settings = ResultSettings(engine=engine)  # type: ignore[arg-type]
    return experiment_series(measure, experiment, metric=metric, settings=settings)


def _points(engine: Engine, experiment: Any, metric: str) -> dict[float, str]:
    """The day points stored for `metric`, whatever their basis."""
    sql = text("SELECT cutoff, point FROM experiment_points WHERE experiment = :e AND metric = :m")
    with sql_store(engine).db.connect() as conn:
        rows = conn.execute(sql, {"e": experiment.name, "m": metric}).fetchall()
    return {float(c): str(p) for c, p in rows}


def _basis_of(engine: Engine) -> set[str]:
    with sql_store(engine).db.connect() as conn:
        return {
            str(b) for (b,) in conn.execute(text("SELECT DISTINCT basis FROM experiment_points"))
        }


def test_the_series_from_kept_day_points_equals_the_fold_from_the_raw_log(
    world: tuple[Engine, Clock],
) -> None:
    engine, clock = world
    experiment = _experiment()
    measure = MeasureService(engine, clock=clock)
    traffic = _traffic(seed=5)
    written = 0
    clock.now = T - 11 * DAY
    step = 0
    while written < len(traffic):
        clock.now += (HOUR, 7 * HOUR, 3 * HOUR, 20 * HOUR)[step % 4]
        step += 1
        upto = next((i for i, t in enumerate(traffic) if t[0] >= clock.now), len(traffic))
        _write(engine, traffic[written:upto])
        written = upto
        if clock.now >= T:
            measure.experiment_results(experiment)  # the kept cells fold and keep day points
    clock.now = traffic[-1][0] + 2 * DAY
    measure.experiment_results(experiment)
    days = _points(engine, experiment, "Click-Through Rate")
    assert len(days) >= 5 and all(c % DAY == 0 for c in days)  # one per day passed
    kept_marks = experiment_series(measure, experiment).cutoffs
    for metric in ("Click-Through Rate", "Revenue Per Visitor", "Conversion Rate"):
        for stats in ("bayesian", "frequentist", "sequential"):
            settings = ResultSettings(engine=stats)  # type: ignore[arg-type]
            (definition,) = resolve_metrics([metric])
            stored = measure.experiments.series_points(experiment, definition, kept_marks)
            assert stored is not None  # read from the kept points, not folded again
            kept = experiment_series(measure, experiment, metric=metric, settings=settings)
            fresh = MeasureService(engine, clock=clock)
            again = experiment_series(fresh, experiment, metric=metric, settings=settings)
            raw = _raw(MeasureService(engine, clock=clock), experiment, metric, stats)
            assert len(kept.cutoffs) >= 6 and sum(kept.cohorts[0].units) > 0
            assert _rounded(kept) == _rounded(raw), (metric, stats)
            assert _rounded(again) == _rounded(raw), (metric, stats)
            measure = MeasureService(engine, clock=clock)  # the raw read dropped the cells
            measure.experiment_results(experiment)


def test_a_read_without_points_folds_the_raw_log_once_and_keeps_the_settled_days(
    world: tuple[Engine, Clock],
) -> None:
    engine, clock = world
    experiment = _experiment()
    traffic = _traffic(seed=8)
    clock.now = traffic[-1][0] + 3 * DAY
    _write(engine, traffic)
    measure = MeasureService(engine, clock=clock)
    (ctr,) = resolve_metrics(["Click-Through Rate"])
    marks = [T + DAY * k for k in range(1, 7)] + [clock.now]
    marks = [m // DAY * DAY if m != clock.now else m for m in marks]
    first = experiment_series(measure, experiment, points=marks)
    assert _points(engine, experiment, ctr.name)  # kept by the first read (the cells' fold)
    measure.experiments.store.save_points(experiment.name, [])  # nothing to save: no error
    # drop the day points only: the next read folds the raw log and keeps them again
    store = ExperimentStore(sql_store(engine))
    with sql_store(engine).transaction() as conn:
        conn.execute(text("DELETE FROM experiment_points"))
    second = experiment_series(MeasureService(engine, clock=clock), experiment, points=marks)
    assert _rounded(first) == _rounded(second)
    (basis,) = _basis_of(engine)
    kept = store.points(experiment.name, ctr.name, basis)
    assert set(kept) == {m for m in marks if m % DAY == 0}
    third = experiment_series(MeasureService(engine, clock=clock), experiment, points=marks)
    assert _rounded(third) == _rounded(first)
