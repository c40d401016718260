"""Analytics over a large store: attribution over 30 days (every model), pipeline intelligence
for 30 days, and the pipeline's full recompute from the raw log.

    python -m bench.analytics [--scale 1.0] [--days 30] [--seed 7]
                              [--home DIR [--reuse]] [--postgres URL]

Build (skipped with `--home DIR --reuse` when DIR holds a store of the same sizes): at scale 1
the issue's 10,000,000 logged decisions and 1,000,000 conversions (half add-to-carts, half
orders) plus 500,000 personalization clicks, over `--days` days ending an hour before the
benchmark's clock, among decisions/10 individuals; four points (one with an experiment of two
cohorts, two with recommenders), three channels, one or two points per request, 5 % of them
served nothing. A conversion follows a random decision of its individual by an exponential
delay (mean one day). Log rows are written through `PersonalizationLogStore.append` with the
pipeline aggregates merged in the same transaction (`PipelineStats.write_batch`, as the log
writer does), events through the store's `append_events`: the decision and ingest paths are
measured by `bench.decisions` and `bench.ingest`, and would take hours here.

Timed (wall clock, one run each, after one warm-up read of the log), for each model (view
basis, 7-day window, grouped by point) over the last `--days` whole UTC days:
`MeasureService.attribution` twice, the first call making the days' aggregates from the raw
log (`attribution_make_days_s`: a full recompute that is also stored), the second reading them
(`attribution_s`); then `MeasureService.recompute` of last touch from the raw log, checked equal
to the aggregates (`--skip-attribution` leaves all of these out); `PipelineStats.last_thirty_days`
twice (the first makes the closed days' rows from the hourly aggregates when missing:
`pipeline_30d_first_ms`; the second reads them: `pipeline_30d_ms`) and
`PipelineStats.recompute` over the same 30 days (from the raw log), checked equal
(`--skip-pipeline-recompute` leaves it out). The
experiment (`home_recommendations`, about a quarter of the decisions, three metrics): its cells
dropped, then `MeasureService.recompute_experiment` (folded from the raw log, not kept:
`experiment_recompute_s`), the first `experiment_results` (the same fold, saved:
`experiment_make_s`), the second (the kept cells, brought up to date: `experiment_read_s`) and
one from a new service that loads the saved cells (`experiment_cold_read_s`), all checked
equal. SQLite under `--home` (a temporary directory by
default), or PostgreSQL at `--postgres` (a database that the run empties first).

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bench._util import machine_facts, peak_rss_mb
from p13n.domain.analytics import ATTRIBUTION_MODELS
from p13n.domain.decisions import Experiment
from p13n.domain.services import Engine, MeasureService, PipelineStats, sql_store
from p13n.domain.store import LOG_COLUMNS, PersonalizationLogStore

__all__ = ["parse_args", "make_log_rows", "make_events", "main"]

DECISIONS, CONVERSIONS = 10_000_000, 1_000_000
NOW = 1_790_000_000.0
POINTS = ("home_recommendations", "summer_banner", "pdp_similar", "cart_upsell")
DECISIONS_OF = {
    "home_recommendations": "home_experiment",
    "summer_banner": "summer_sale",
    "pdp_similar": "similar_items",
    "cart_upsell": "upsell",
}
RECOMMENDERS = {
    "home_recommendations": ("recommended_for_you", "revenue_for_you"),
    "pdp_similar": ("co_viewed",),
    "cart_upsell": ("co_bought",),
}
CHANNELS = ("web", "app", "agent")
_BATCH = 20_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.analytics", description=__doc__)
    p.add_argument("--scale", type=float, default=1.0, help="Fraction of the issue's sizes.")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--home", type=Path, default=None, help="Keep the store here.")
    p.add_argument("--reuse", action="store_true", help="Reuse --home's store if sizes match.")
    p.add_argument("--postgres", default=None, help="A PostgreSQL URL (emptied first).")
    p.add_argument("--build-only", action="store_true", help="Build (or reuse) and stop.")
    p.add_argument(
        "--skip-attribution",
        action="store_true",
        help="Leave out the attribution figures (at full scale they take half an hour).",
    )
    p.add_argument(
        "--skip-pipeline-recompute",
        action="store_true",
        help="Leave out the pipeline's recompute from the raw log (minutes at full scale).",
    )
    args = p.parse_args(argv)
    if args.scale <= 0 or args.days <= 0:
        p.error("--scale and --days must be positive")
    if args.reuse and args.home is None and args.postgres is None:
        p.error("--reuse needs --home (or --postgres)")
    return args


def sizes(scale: float) -> tuple[int, int]:
    return max(100, round(DECISIONS * scale)), max(10, round(CONVERSIONS * scale))


def _content(rng: np.random.Generator, pid: str) -> str:
    items = rng.integers(0, 5000, 3)
    return orjson.dumps(
        [{"contentId": f"{pid}:{k}", "id": f"i-{int(i)}", "rank": k} for k, i in enumerate(items)]
    ).decode()


def make_log_rows(
    decisions: int, *, days: int, seed: int, batch: int = _BATCH
) -> Iterator[list[tuple[Any, ...]]]:
    """The log rows (tuples in `LOG_COLUMNS` order) in batches, in time order; a request's rows
    (one or two points) are adjacent and share one time."""
    rng = np.random.default_rng(seed)
    units = max(10, decisions // 10)
    start = NOW - 3600 - days * 86_400
    times = np.sort(rng.uniform(start, NOW - 3600, decisions))
    made = 0
    request = 0
    out: list[tuple[Any, ...]] = []
    while made < decisions:
        ts = float(times[made])
        unit = f"u-{int(rng.integers(0, units))}"
        channel = CHANNELS[int(rng.integers(0, 3))]
        width = min(1 + int(rng.random() < 0.3), decisions - made)
        for point in rng.choice(len(POINTS), width, replace=False):
            name = POINTS[int(point)]
            pid = f"p{made}"
            recommenders = RECOMMENDERS.get(name, (None,))
            pick = int(rng.integers(0, len(recommenders)))
            experiment = "home_recommendations" if name == "home_recommendations" else None
            shown = rng.random() >= 0.05
            row = {
                "personalization_id": pid,
                "request_id": f"r{request}",
                "ts": ts,
                "point": name,
                "point_id": None,
                "decision": DECISIONS_OF[name] if shown else None,
                "recommender": recommenders[pick] if shown else None,
                "experiment": experiment,
                "cohort": ("control", "treatment")[pick] if experiment else None,
                "individual_id": unit,
                "unified_id": unit,
                "channel": channel,
                "source": "agent" if channel == "agent" else "api",
                "status": 200 if shown else 201,
                "content": _content(rng, pid) if shown else "[]",
                "augmenting_ms": 0.1,
                "qualifying_ms": 0.2,
                "personalizing_ms": float(rng.uniform(0.5, 3.0)),
                "total_ms": 4.0,
                "diagnostics": "" if shown else "201",
                "attribution": None,
            }
            out.append(tuple(row[c] for c in LOG_COLUMNS))
            made += 1
        request += 1
        if len(out) >= batch:
            yield out
            out = []
    if out:
        yield out


def make_events(
    decisions: int, conversions: int, *, days: int, seed: int, batch: int = _BATCH
) -> Iterator[list[dict[str, Any]]]:
    """Conversions (half carts, half orders) and clicks (half as many) of the decisions of
    `make_log_rows(decisions, days=days, seed=seed)`, as event-table rows, in batches."""
    rows = _log_index(decisions, days=days, seed=seed)
    rng = np.random.default_rng(seed + 1)
    out: list[dict[str, Any]] = []
    total = conversions + conversions // 2
    picks = rng.integers(0, decisions, total)
    delays = rng.exponential(86_400.0, total)
    for k in range(total):
        pid, ts, unit = rows[int(picks[k])]
        click = k >= conversions
        at = min(ts + (60.0 if click else float(delays[k])), NOW - 1)
        kind = "engagement" if click else ("cart" if k % 2 else "order")
        interaction = {
            "engagement": "personalization-click",
            "cart": "Add To Cart",
            "order": "Purchase",
        }[kind]
        price = round(float(rng.uniform(5, 120)), 2)
        out.append(
            {
                "event_id": f"e{k}",
                "unified_id": unit,
                "device_id": None,
                "individual_id": unit,
                "session_id": None,
                "ts": at,
                "interaction": interaction,
                "kind": kind,
                "item_id": None if click else f"i-{int(rng.integers(0, 5000))}",
                "category": None,
                "brand": None,
                "quantity": None if click else 1.0,
                "price": None if click else price,
                "value": None if click else price,
                "order_id": f"o{k}" if kind == "order" else None,
                "channel": "web",
                "personalization_id": pid if click else None,
                "payload": orjson.dumps(
                    {"personalizationContentId": f"{pid}:0"} if click else {}
                ).decode(),
            }
        )
        if len(out) >= batch:
            yield out
            out = []
    if out:
        yield out


def _log_index(decisions: int, *, days: int, seed: int) -> list[tuple[str, float, str]]:
    """(personalization id, time, unit) of each generated decision."""
    pid, ts, unit = (
        LOG_COLUMNS.index("personalization_id"),
        LOG_COLUMNS.index("ts"),
        LOG_COLUMNS.index("unified_id"),
    )
    return [
        (r[pid], r[ts], r[unit])
        for page in make_log_rows(decisions, days=days, seed=seed)
        for r in page
    ]


def _build(engine: Engine, decisions: int, conversions: int, days: int, seed: int) -> float:
    started = time.perf_counter()
    store = sql_store(engine)
    log = PersonalizationLogStore(store)
    pipeline = PipelineStats(store, clock=lambda: NOW)
    for page in make_log_rows(decisions, days=days, seed=seed):
        log.append(page, then=lambda conn, rows=page: pipeline.write_batch(conn, rows))
    for events in make_events(decisions, conversions, days=days, seed=seed):
        with store.transaction() as conn:
            store.append_events(conn, events)
    with store.transaction() as conn:
        store.set_meta(conn, "bench.analytics", json.dumps([decisions, conversions, days, seed]))
    return time.perf_counter() - started


def _timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = call()
    return round(time.perf_counter() - started, 3), out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    decisions, conversions = sizes(args.scale)
    temp = None
    if args.postgres:
        url = args.postgres
    else:
        home = args.home or Path(tempfile.mkdtemp(prefix="p13n-bench-analytics-"))
        temp = None if args.home else home
        home.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{home / 'p13n.db'}"
    engine = Engine.open(url, clock=lambda: NOW)
    try:
        store = sql_store(engine)
        wanted = json.dumps([decisions, conversions, args.days, args.seed])
        reused = args.reuse and store.get_meta("bench.analytics") == wanted
        build_s = None
        if not reused:
            _empty(engine)
            build_s = round(_build(engine, decisions, conversions, args.days, args.seed), 1)
        figures = (
            {}
            if args.build_only
            else _measure(engine, args.days, args.skip_attribution, args.skip_pipeline_recompute)
        )
    finally:
        engine.close()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    result = {
        "benchmark": "analytics",
        "dialect": "postgresql" if args.postgres else "sqlite",
        "decisions": decisions,
        "conversions": conversions,
        "clicks": conversions // 2,
        "days": args.days,
        "reused": reused,
        "build_s": build_s,
        **figures,
        "peak_rss_mb": peak_rss_mb(),
        "machine": machine_facts(),
    }
    print(json.dumps(result))
    return result


def _measure(
    engine: Engine, days: int, skip_attribution: bool = False, skip_pipeline: bool = False
) -> dict[str, Any]:
    measure = MeasureService(engine, clock=lambda: NOW)
    pipeline = PipelineStats(sql_store(engine), clock=lambda: NOW)
    measure.forget_aggregates()  # a reused store: make the days again, timed
    end = NOW // 86_400 * 86_400  # the last `days` whole UTC days
    start = end - days * 86_400
    list(measure.reads.exposures_between(NOW - 3600, NOW))  # a warm-up read
    make: dict[str, float] = {}
    read: dict[str, float] = {}
    checked: dict[str, str] = {}
    for model in () if skip_attribution else ATTRIBUTION_MODELS:
        query = measure.query(model=model, start=start, end=end, group_by=["point"])
        make[model], _ = _timed(lambda q=query: measure.attribution(q))
        read[model], report = _timed(lambda q=query: measure.attribution(q))
        if report.source != "aggregates":
            raise AssertionError(f"{model}: the whole days were not read from the aggregates")
        if report.total.revenue != report.counted.attributedRevenue:
            raise AssertionError(f"{model}: credited revenue differs from the orders' revenue")
        checked[model] = str(report.total.revenue)
    raw_s = None
    if not skip_attribution:
        query = measure.query(start=start, end=end, group_by=["point"])
        raw_s, raw = _timed(lambda: measure.recompute(query))
        if raw.model_dump(exclude={"source"}) != measure.attribution(query).model_dump(
            exclude={"source"}
        ):
            raise AssertionError("the attribution recompute differs from its aggregates")
    experiment = _experiment(NOW - 3600 - days * 86_400)
    measure.experiments.forget()
    exp_raw_s, exp_raw = _timed(lambda: measure.recompute_experiment(experiment))
    exp_make_s, _ = _timed(lambda: measure.experiment_results(experiment))
    exp_read_s, exp_kept = _timed(lambda: measure.experiment_results(experiment))
    cold = MeasureService(engine, clock=lambda: NOW)
    exp_cold_s, exp_cold = _timed(lambda: cold.experiment_results(experiment))
    if not (_rounded(exp_raw) == _rounded(exp_kept) == _rounded(exp_cold)):
        raise AssertionError("the experiment's kept cells differ from the recompute")
    pipe_first_s, _ = _timed(pipeline.last_thirty_days)  # makes closed days' rows if missing
    pipe_s, _ = _timed(pipeline.last_thirty_days)
    pquery = pipeline.query(start=NOW - 30 * 86_400, end=NOW, granularity="day")
    recompute_s = None
    if not skip_pipeline:
        recompute_s, recomputed = _timed(lambda: pipeline.recompute(pquery))
        if recomputed != pipeline.report(pquery):
            raise AssertionError("the pipeline recompute differs from its aggregates")
    return {
        "attribution_s": read,
        "attribution_max_s": max(read.values(), default=None),
        "attribution_make_days_s": make,
        "attribution_recompute_s": raw_s,
        "attributed_revenue": checked,
        "experiment_units": exp_kept.units,
        "experiment_read_s": exp_read_s,
        "experiment_cold_read_s": exp_cold_s,
        "experiment_make_s": exp_make_s,
        "experiment_recompute_s": exp_raw_s,
        "pipeline_30d_first_ms": round(pipe_first_s * 1000, 1),
        "pipeline_30d_ms": round(pipe_s * 1000, 1),
        "pipeline_recompute_s": recompute_s,
    }


def _experiment(started_at: float) -> Experiment:
    """The generated rows' experiment: home_recommendations, control against treatment."""
    return Experiment.model_validate(
        {
            "name": "home_recommendations",
            "point": "home_recommendations",
            "primaryMetric": "Click-Through Rate",
            "secondaryMetrics": ["Conversion Rate", "Revenue Per Visitor"],
            "cohorts": [
                {"id": "control", "weight": 50, "deferToDecisions": True},
                {"id": "treatment", "weight": 50, "recommender": "revenue_for_you"},
            ],
            "status": "Started",
            "startedAt": started_at,
        }
    )


def _rounded(results: Any) -> Any:
    """Results with floats to 9 places: sums folded in another order differ in the last bit."""

    def walk(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(results.model_dump(mode="json"))


def _empty(engine: Engine) -> None:
    """Drop the rows a previous run left (a reused PostgreSQL database, a stale home)."""
    store = sql_store(engine)
    with store.transaction() as conn:
        for table in ("personalization_log", "pipeline_hours", "events"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        store.delete_meta(conn, "bench.analytics")


if __name__ == "__main__":
    main()
