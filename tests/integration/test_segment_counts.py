"""Segment member counts kept one row per UTC day: a count replaces its day's row, days add
points to the trend, segments without members count 0, and the daily schedule counts only
when today has no count yet; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from p13n.domain.segments import SegmentDefinition
from p13n.domain.services import Engine, SegmentCounts
from p13n.domain.timeutil import DAY

T0 = 1_790_000_000.0 // DAY * DAY + 3600


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    clock = [T0]
    engine = Engine.open(database_url, clock=lambda: clock[0])
    engine.clock_cell = clock  # type: ignore[attr-defined]
    yield engine
    engine.close()


def _view(engine: Engine, who: str, n: int) -> None:
    now = engine.now()
    views = [
        {"eventId": f"{who}-{now}-{k}", "individualId": who, "interaction": "view", "itemId": "i1"}
        for k in range(n)
    ]
    assert engine.ingest(views).accepted == n


def test_counts_are_kept_per_day_and_make_a_trend(engine: Engine) -> None:
    clock = engine.clock_cell  # type: ignore[attr-defined]
    rule = {
        "type": "All",
        "rules": [
            {
                "source": "engagement",
                "field": "View Catalog Object",
                "operator": "Is Greater Than Or Equal To",
                "value": 2,
            }
        ],
    }
    engine.put_segment(SegmentDefinition.model_validate({"name": "viewers", "rule": rule}))
    engine.put_segment(
        SegmentDefinition.model_validate(
            {
                "name": "nobody",
                "rule": {
                    "type": "All",
                    "rules": [{"source": "attribute", "field": "vip", "operator": "Has Value"}],
                },
            }
        )
    )
    counts = SegmentCounts(engine)
    _view(engine, "a", 3)
    found, profiles = counts.count()
    assert found["viewers"] == 1 and profiles == 1
    _view(engine, "b", 2)
    counts.count()  # the same day: replaces its row
    clock[0] += DAY
    _view(engine, "c", 1)
    counts.count()
    trends = {t.segment: t for t in counts.trends()}
    assert trends["viewers"].days == [T0 // DAY * DAY, T0 // DAY * DAY + DAY]
    assert trends["viewers"].members == [2, 2] and trends["viewers"].profiles == [2, 3]
    assert trends["nobody"].members == [0, 0]
    clock[0] += 200 * DAY
    assert all(not t.days for t in counts.trends())  # older than the trend's 90 days


def test_the_daily_schedule_counts_a_day_once(engine: Engine) -> None:
    clock = engine.clock_cell  # type: ignore[attr-defined]
    counts = SegmentCounts(engine)
    counts.store.save(T0 // DAY * DAY - DAY, {"x": 1}, 1, T0 - DAY)  # yesterday's count only
    thread = counts.start_daily(check_s=0.02)
    try:
        for _ in range(250):
            if counts.store.last_counted() == clock[0]:
                break
            thread.join(0.02)
        assert counts.store.last_counted() == clock[0]  # today counted
        clock[0] += 60  # later the same day: no second count
        thread.join(0.2)
        assert counts.store.last_counted() == clock[0] - 60
    finally:
        counts.stop()
        thread.join(2)
    assert not thread.is_alive()
