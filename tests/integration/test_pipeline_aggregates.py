"""The pipeline aggregates over a real store (SQLite and PostgreSQL): kept by the log writer as
decisions are made from several threads, they give the same report as a recompute from the raw
log, and their counts match the raw log read with plain SQL; ingest counts by reason."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from p13n.domain.decisions import Decision, DecisionRequest, PersonalizationPoint
from p13n.domain.ingest.items import Item
from p13n.domain.services import (
    DecisionService,
    Engine,
    PersonalizationLog,
    PipelineStats,
    RecommendService,
    sql_store,
)

START = 1_780_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[Engine, DecisionService, PipelineStats, Clock]]:
    clock = Clock()
    engine = Engine.open(database_url, clock=clock)
    engine.upsert_items(
        [Item(id=f"i{k}", name=f"Item {k}", category="Home/Mugs", price=5.0) for k in range(8)]
    )
    stats = PipelineStats(sql_store(engine), clock=clock)
    engine.ingest_listeners.append(stats.count_ingest)
    log = PersonalizationLog(sql_store(engine), batch=7, linger=0.01, pipeline=stats)
    service = DecisionService(engine, RecommendService(engine), log=log)
    service.change(
        lambda r: r.put_point(
            PersonalizationPoint.model_validate(
                {"name": "banner", "contentSchema": {"type": "ManualContent"}}
            )
        )
    )
    service.change(
        lambda r: r.put_point(
            PersonalizationPoint.model_validate(
                {"name": "mugs", "contentSchema": {"type": "Recommendations"}, "maxItems": 3}
            )
        )
    )
    service.change(
        lambda r: r.put_decision(
            Decision.model_validate(
                {
                    "name": "hello",
                    "point": "banner",
                    "state": "Live",
                    "attributes": {"header": "Hi"},
                }
            )
        )
    )
    service.change(
        lambda r: r.put_decision(
            Decision.model_validate(
                {"name": "newest_mugs", "point": "mugs", "state": "Live", "recommender": "newest"}
            )
        )
    )
    try:
        yield engine, service, stats, clock
    finally:
        service.close()
        engine.close()


def _decide(service: DecisionService, k: int) -> None:
    points = [{"name": "banner"}, {"name": "mugs"}, {"name": "gone"}][: 1 + k % 3]
    body: dict[str, Any] = {
        "context": {"channel": ["web", "app", "agent"][k % 3]},
        "personalizationPoints": points,
    }
    if k % 4:
        body["context"]["individualId"] = f"shopper-{k % 11}"
    service.decide(DecisionRequest.model_validate(body), authenticated=True)


def test_aggregates_kept_while_deciding_equal_a_recompute_and_the_raw_log(
    world: tuple[Engine, DecisionService, PipelineStats, Clock],
) -> None:
    engine, service, stats, clock = world
    for hour in range(3):  # three UTC hours, each decided from four threads at once
        clock.now = START + hour * 3600

        def run(offset: int) -> None:
            for k in range(offset, 120, 4):
                _decide(service, k)

        threads = [threading.Thread(target=run, args=(o,)) for o in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    engine.ingest(
        [
            {"individualId": "a", "interaction": "view", "itemId": "i1", "eventId": "e1"},
            {"individualId": "a", "interaction": "view", "itemId": "i1", "eventId": "e1"},
            {"interaction": "view", "itemId": "i1"},
            {"individualId": "a", "interaction": "view"},
            "not an event",
        ]
    )
    assert service.log is not None
    service.log.flush()
    assert service.log.failed == 0 and service.log.written == 3 * 120 * 2
    for granularity in ("hour", "day"):
        for group_by in ([], ["channel"], ["point"], ["channel", "point"]):
            query = stats.query(start=START - 3600, granularity=granularity, group_by=group_by)
            assert stats.report(query) == stats.recompute(query), (granularity, group_by)
    report = stats.report(stats.query(start=START - 3600, granularity="hour"))
    with sql_store(engine).db.connect() as conn:
        raw = conn.execute(
            text(
                "SELECT count(DISTINCT request_id), count(*), "
                "sum(CASE WHEN status = 200 THEN 1 ELSE 0 END), "
                "count(DISTINCT coalesce(unified_id, individual_id)) FROM personalization_log"
            )
        ).one()
        per_hour = dict(
            conn.execute(
                text(
                    "SELECT CAST(ts AS BIGINT) / 3600, count(DISTINCT request_id) "
                    "FROM personalization_log GROUP BY CAST(ts AS BIGINT) / 3600"
                )
            ).all()
        )
    assert (report.total.requests, report.total.points, report.total.served) == tuple(raw[:3])
    assert report.total.individuals == raw[3]
    assert [r.requests for r in report.rows] == [per_hour[k] for k in sorted(per_hour)]
    assert report.total.diagnostics["401"] == 3 * 40  # k % 3 == 2 asks for the missing point
    assert report.total.diagnostics["512"] > 0  # shoppers without a profile
    assert report.ingestTotal.model_dump() == {
        "period": report.ingestTotal.period,
        "accepted": 1,
        "duplicate": 1,
        "rejected": 3,
        "rejectedByReason": {"no_identity": 1, "no_item": 1, "unreadable": 1},
    }


def test_a_store_written_before_the_diagnostics_column_gains_it_on_open(database_url: str) -> None:
    engine = Engine.open(database_url)
    try:
        db = sql_store(engine).db
        PersonalizationLog(sql_store(engine)).close()
        with db.begin() as conn:
            conn.execute(text("ALTER TABLE personalization_log DROP COLUMN diagnostics"))
        log = PersonalizationLog(sql_store(engine))
        log.close()
        with db.connect() as conn:
            conn.execute(text("SELECT diagnostics FROM personalization_log")).all()
    finally:
        engine.close()


def test_closed_days_are_read_from_day_rows_made_once_and_equal_a_recompute(
    world: tuple[Engine, DecisionService, PipelineStats, Clock],
) -> None:
    engine, service, stats, clock = world
    day = 86_400
    for d in range(3):  # three UTC days, two hours each
        for hour in (1, 7):
            clock.now = START // day * day + d * day + hour * 3600
            for k in range(30):
                _decide(service, k)
    assert service.log is not None
    service.log.flush()
    clock.now = START // day * day + 3 * day + 1800  # day 3 has not settled: its hours serve
    start = START // day * day - 3600
    for group_by in ([], ["channel", "point"]):
        query = stats.query(start=start, granularity="day", group_by=group_by)
        made = stats.report(query)  # makes the two settled days' rows
        assert stats.report(query) == made == stats.recompute(query), group_by
    with sql_store(engine).db.connect() as conn:
        made_days = set(conn.execute(text("SELECT day FROM pipeline_days_made")).scalars())
        first = START // day * day  # the query starts at the midnight before: a day made empty
        assert {first, first + day} <= made_days and first + 2 * day not in made_days
        rows = conn.execute(text("SELECT count(*) FROM pipeline_days")).scalar_one()
    assert rows > 0
    clock.now += 2 * 3600  # now day 3 is settled too, and is made on the next read
    query = stats.query(start=start, granularity="day")
    assert stats.report(query) == stats.recompute(query)
