"""Attribution reports over a real store (SQLite and PostgreSQL): a hand-built journey whose
every model's answer is worked out by hand, the store's range reads against plain SQL over
whole tables, identities merged after the log was written, and the range's edges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from p13n.domain.analytics import Attribution, attribute, build_journeys, kpis
from p13n.domain.services import Engine, MeasureService, sql_store
from p13n.domain.store import LOG_COLUMNS, PersonalizationLogStore

T = 1_780_000_000.0
HOUR = 3600.0


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _log_row(pid: str, ts: float, uid: str | None, point: str, **extra: Any) -> tuple[Any, ...]:
    row: dict[str, Any] = {c: None for c in LOG_COLUMNS}
    row.update(
        personalization_id=pid,
        request_id=extra.pop("request_id", f"r-{pid}"),
        ts=ts,
        point=point,
        unified_id=uid,
        individual_id=uid,
        channel="web",
        source="api",
        status=200,
        content=orjson.dumps([{"contentId": f"{pid}:0", "id": "mug", "rank": 0}]).decode(),
        augmenting_ms=0.0,
        qualifying_ms=0.0,
        personalizing_ms=0.0,
        total_ms=1.0,
        diagnostics="",
    )
    row.update(extra)
    return tuple(row[c] for c in LOG_COLUMNS)


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[Engine, MeasureService]]:
    engine = Engine.open(database_url, clock=lambda: T + 30 * 86_400)
    try:
        yield engine, MeasureService(engine)
    finally:
        engine.close()


def _journey(engine: Engine) -> str:
    """Ann sees banner (t+0 h), mugs (t+1 h) and banner again (t+2 h, another request), clicks
    the mugs, adds to cart and orders 2 x 5.00 at t+3 h. Returns her unified id."""
    engine.ingest(
        [{"individualId": "ann", "interaction": "view", "itemId": "mug", "dateTime": _iso(T - 60)}]
    )
    ann = engine.resolve("ann")
    assert ann is not None
    PersonalizationLogStore(sql_store(engine)).append(
        [
            _log_row("p1", T, ann, "banner", decision="summer", recommender=None),
            _log_row("p2", T + HOUR, ann, "mugs", decision="mugs_for_you", recommender="co_viewed"),
            _log_row("p3", T + 2 * HOUR, ann, "banner", decision="summer"),
        ]
    )
    engine.ingest(
        [
            {
                "individualId": "ann",
                "interaction": "personalization-click",
                "personalizationId": "p2",
                "personalizationContentId": "p2:0",
                "itemId": "mug",
                "dateTime": _iso(T + HOUR + 60),
            },
            {
                "individualId": "ann",
                "interaction": "add_to_cart",
                "itemId": "mug",
                "price": 5.0,
                "quantity": 2,
                "dateTime": _iso(T + 3 * HOUR - 60),
            },
            {
                "individualId": "ann",
                "interaction": "purchase",
                "itemId": "mug",
                "price": 5.0,
                "quantity": 2,
                "orderId": "o-1",
                "dateTime": _iso(T + 3 * HOUR),
            },
        ]
    )
    return ann


# Touches of the order, oldest first: p1 banner (3 h old), p2 mugs (2 h), p3 banner (1 h).
# Revenue 10.00 = 1000 cents; time decay with a 7-day half-life gives almost a third each.
EXPECTED = {
    "first_touch": {"banner": ("1", "10.00"), "mugs": ("0", "0.00")},
    "last_touch": {"banner": ("1", "10.00"), "mugs": ("0", "0.00")},
    # 1000/3 = 333.33 each: the left-over cent goes to the earliest touch (p1, banner)
    "linear": {"banner": ("2/3", "6.67"), "mugs": ("1/3", "3.33")},
    # 40 % first, 20 % middle, 40 % last
    "position_based": {"banner": ("4/5", "8.00"), "mugs": ("1/5", "2.00")},
}


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_every_model_credits_the_hand_built_journey_as_worked_out_by_hand(
    world: tuple[Engine, MeasureService], model: str
) -> None:
    engine, measure = world
    _journey(engine)
    report = measure.attribution(
        measure.query(model=model, start=T - HOUR, end=T + 4 * HOUR, group_by=["point"])
    )
    by_point = {r.group["point"]: r for r in report.rows}
    for point, (orders, revenue) in EXPECTED[model].items():
        assert by_point[point].orders == pytest.approx(float(Fraction(orders)))
        assert by_point[point].addToCarts == pytest.approx(float(Fraction(orders)))
        assert by_point[point].revenue == Decimal(revenue), (model, point)
    assert (by_point["banner"].impressions, by_point["mugs"].impressions) == (2, 1)
    assert (by_point["banner"].clicks, by_point["mugs"].clicks) == (0, 1)
    assert report.total.requests == 3 and report.total.uniqueIndividuals == 1
    assert report.total.revenue == report.counted.attributedRevenue == Decimal("10.00")
    assert report.counted.conversions == 2 and report.ignored.unattributedOrders == 0


def test_click_basis_credits_only_the_clicked_personalization(
    world: tuple[Engine, MeasureService],
) -> None:
    engine, measure = world
    _journey(engine)
    for model in ("first_touch", "linear", "time_decay"):
        report = measure.attribution(
            measure.query(
                model=model, basis="click", start=T - HOUR, end=T + 4 * HOUR, group_by=["point"]
            )
        )
        credited = {r.group["point"]: r.revenue for r in report.rows}
        assert credited == {"banner": Decimal("0.00"), "mugs": Decimal("10.00")}, model


def test_time_decay_splits_the_order_so_the_cents_add_up_exactly(
    world: tuple[Engine, MeasureService],
) -> None:
    engine, measure = world
    _journey(engine)
    report = measure.attribution(
        measure.query(model="time_decay", start=T - HOUR, end=T + 4 * HOUR, group_by=["point"])
    )
    weights = [2 ** (-age / 7 / 24) for age in (3, 2, 1)]  # hours old over a 7-day half-life
    mugs = weights[1] / sum(weights) * 1000
    by_point = {r.group["point"]: r.revenue for r in report.rows}
    assert abs(by_point["mugs"] * 100 - Decimal(mugs)) < 1  # within the rounding cent
    assert sum(by_point.values()) == Decimal("10.00")


def test_a_window_shorter_than_the_journey_leaves_the_order_unattributed(
    world: tuple[Engine, MeasureService],
) -> None:
    engine, measure = world
    _journey(engine)
    report = measure.attribution(
        measure.query(window="30m", start=T - HOUR, end=T + 4 * HOUR, group_by=["point"])
    )
    assert report.counted.attributedConversions == 0
    assert report.ignored.unattributedOrders == 1 and report.ignored.unattributedCarts == 1
    assert report.ignored.unattributedRevenue == Decimal("10.00")
    assert report.total.revenue == Decimal("0.00") and report.total.impressions == 3


def test_a_range_counts_its_own_traffic_and_credits_touches_before_it_too(
    world: tuple[Engine, MeasureService],
) -> None:
    engine, measure = world
    _journey(engine)
    later = measure.attribution(measure.query(start=T + 1.5 * HOUR, end=T + 4 * HOUR))
    assert later.total.impressions == 1  # p3 only: p1 and p2 are before `from`
    assert later.total.revenue == Decimal("10.00")  # last touch p3 is in the range
    first = measure.attribution(
        measure.query(
            model="first_touch", start=T + 1.5 * HOUR, end=T + 4 * HOUR, group_by=["point"]
        )
    )
    # the order's first touch p1 (banner) came before `from`: its row has the credit, and no
    # impressions of the range but p3's
    assert [(r.group["point"], r.impressions, r.revenue) for r in first.rows] == [
        ("banner", 1, Decimal("10.00"))
    ]
    before = measure.attribution(measure.query(start=T - HOUR, end=T + 2.5 * HOUR))
    assert before.counted.conversions == 0 and before.total.clicks == 1
    empty = measure.attribution(measure.query(start=T - 10 * HOUR, end=T - 5 * HOUR))
    assert empty.empty and empty.rows == [] and empty.total.requests == 0


def test_an_exposure_logged_before_a_merge_is_credited_to_the_surviving_individual(
    world: tuple[Engine, MeasureService],
) -> None:
    engine, measure = world
    engine.ingest(
        [{"deviceId": "dev-9", "interaction": "view", "itemId": "mug", "dateTime": _iso(T)}]
    )
    engine.ingest(
        [{"individualId": "bo", "interaction": "view", "itemId": "mug", "dateTime": _iso(T + 1)}]
    )
    device, person = engine.resolve("dev-9"), engine.resolve("bo")
    assert device is not None and person is not None and device != person
    PersonalizationLogStore(sql_store(engine)).append(
        [_log_row("q1", T + 10, person, "banner"), _log_row("q2", T + 20, device, "mugs")]
    )
    link = {"deviceId": "dev-9", "individualId": "bo", "interaction": "view", "itemId": "mug"}
    engine.ingest([{**link, "dateTime": _iso(T + 30)}])
    assert engine.resolve("dev-9") == engine.resolve("bo")
    engine.ingest(
        [
            {
                "individualId": "bo",
                "interaction": "purchase",
                "itemId": "mug",
                "price": 7.5,
                "orderId": "o-9",
                "dateTime": _iso(T + 100),
            }
        ]
    )
    report = measure.attribution(
        measure.query(model="linear", start=T, end=T + HOUR, group_by=["point"])
    )
    assert {r.group["point"]: r.revenue for r in report.rows} == {
        "banner": Decimal("3.75"),
        "mugs": Decimal("3.75"),
    }
    assert report.total.uniqueIndividuals == 1


def test_the_store_reads_give_what_plain_sql_over_whole_tables_gives(
    world: tuple[Engine, MeasureService],
) -> None:
    engine, measure = world
    _journey(engine)
    rows = [
        _log_row(f"x{k}", T - 20 * HOUR + k * 997.0, f"anon-{k % 5}", ("banner", "mugs")[k % 2])
        for k in range(60)
    ]
    PersonalizationLogStore(sql_store(engine)).append(rows)
    engine.ingest(
        [
            {
                "individualId": f"anon-{k % 5}",
                "interaction": ("purchase", "add_to_cart", "view")[k % 3],
                "itemId": "mug",
                "price": 1.25 + k,
                "orderId": f"o-x{k}",
                "dateTime": _iso(T - 19 * HOUR + k * 1301.0),
            }
            for k in range(40)
        ]
    )
    start, end = T - 18 * HOUR, T + 3.5 * HOUR  # cuts both tables in the middle
    with sql_store(engine).db.connect() as conn:
        log = [dict(r) for r in conn.execute(text("SELECT * FROM personalization_log")).mappings()]
        events = [dict(r) for r in conn.execute(text("SELECT * FROM events")).mappings()]
        links = dict(
            conn.execute(
                text("SELECT value, unified_id FROM identity_links WHERE kind = 'individual'")
            ).all()
        )
    assert set(links) >= {f"anon-{k}" for k in range(5)}  # the log names them, events their uid
    read = measure.journeys(start, end)  # the service's reads (pages of 6 hours)
    plain = build_journeys(
        [r for r in log if start <= r["ts"] < end],
        [e for e in events if start <= e["ts"] < end],
        units=links,
    )
    assert read == plain and len(plain.conversions) > 5
    # the reference: every row read back a window before `start`, credits of the range's
    # conversions only, impressions of the range's exposures only
    back = build_journeys(
        [r for r in log if start - 30 * 86_400 <= r["ts"] < end],
        [e for e in events if start - 30 * 86_400 <= e["ts"] < end],
        units=links,
    )
    full = attribute(back)
    ranged = Attribution(
        full.settings,
        tuple(c for c in full.credits if start <= c.conversion.ts < end),
        tuple(c for c in full.attributed if start <= c.ts < end),
        tuple(c for c in full.unattributed if start <= c.ts < end),
    )
    earned = {
        tuple(v for _, v in row.group): row.revenue
        for row in kpis(back, ranged, group_by=["point", "day"])
        if row.revenue
    }
    report = measure.attribution(measure.query(start=start, end=end, group_by=["point", "day"]))
    assert report.source == "raw log"
    assert {tuple(r.group.values()): r.revenue for r in report.rows if r.revenue} == earned
    shown = {tuple(r.group.values()): r.impressions for r in report.rows if r.impressions}
    assert shown == {
        tuple(v for _, v in row.group): row.impressions
        for row in kpis(plain, attribute(plain), group_by=["point", "day"])
        if row.impressions
    }
    assert report.total.revenue == sum(earned.values()) == report.counted.attributedRevenue > 0


def _traffic(engine: Engine) -> None:
    """Ann's journey and 60 exposures and 40 events of five others over two days."""
    _journey(engine)
    PersonalizationLogStore(sql_store(engine)).append(
        [
            _log_row(
                f"x{k}",
                T - 20 * HOUR + k * 2113.0,
                f"anon-{k % 5}",
                ("banner", "mugs")[k % 2],
                channel=("web", "app", None)[k % 3],
                recommender=("co_viewed", None)[k % 2],
            )
            for k in range(60)
        ]
    )
    kinds = ("purchase", "add_to_cart", "personalization-click", "view")
    engine.ingest(
        [
            {
                "individualId": f"anon-{k % 5}",
                "interaction": kinds[k % 4],
                "itemId": "mug",
                "price": 1.25 + k,
                "orderId": f"o-x{k}",
                "personalizationId": f"x{k}",
                "dateTime": _iso(T - 19 * HOUR + k * 3301.0),
            }
            for k in range(40)
        ]
    )


def _without_source(report: Any) -> dict[str, Any]:
    return report.model_dump(exclude={"source"})


def test_whole_days_come_from_aggregates_that_equal_a_recompute_from_the_raw_log(
    world: tuple[Engine, MeasureService],
) -> None:
    engine, measure = world
    _traffic(engine)
    day = T // 86_400 * 86_400
    for model in ("last_touch", "first_touch", "linear", "time_decay", "position_based"):
        for basis in ("view", "click"):
            for group_by in ([], ["point", "day"], ["channel", "recommender"]):
                query = measure.query(
                    model=model,
                    basis=basis,
                    start=day - 86_400,
                    end=day + 2 * 86_400,
                    group_by=group_by,
                )
                made = measure.attribution(query)
                assert made.source == "aggregates"
                assert _without_source(made) == _without_source(measure.recompute(query)), (
                    model,
                    basis,
                    group_by,
                )
    assert made.total.revenue == made.counted.attributedRevenue > 0
    assert made.total.impressions == 63 and made.total.uniqueIndividuals == 6
    partial = measure.query(start=day - 86_400 + 60, end=day + 2 * 86_400)
    assert measure.attribution(partial).source == "raw log"


def test_days_made_once_are_read_back_and_missing_ones_made_around_them(
    world: tuple[Engine, MeasureService],
) -> None:
    engine, measure = world
    _traffic(engine)
    day = T // 86_400 * 86_400
    one = measure.query(model="linear", start=day, end=day + 86_400, group_by=["point"])
    measure.attribution(one)
    setting = "linear/view/604800/604800"
    first = int(day // 86_400)
    assert measure.cells.days_made(setting, first - 5, first + 5) == {first}
    three = measure.query(
        model="linear", start=day - 86_400, end=day + 2 * 86_400, group_by=["point"]
    )
    assert _without_source(measure.attribution(three)) == _without_source(measure.recompute(three))
    assert measure.cells.days_made(setting, first - 5, first + 5) == {first - 1, first, first + 1}
    assert measure.cells.days_made("", first - 5, first + 5) == {first - 1, first, first + 1}
    # a late order of a made day shows once the aggregates are made again
    engine.ingest(
        [
            {
                "individualId": "ann",
                "interaction": "purchase",
                "itemId": "mug",
                "price": 3.0,
                "orderId": "o-late",
                "dateTime": _iso(T + 3.5 * HOUR),
            }
        ]
    )
    stale = measure.attribution(three)
    assert stale.total.revenue + Decimal("3.00") == measure.recompute(three).total.revenue
    measure.forget_aggregates()
    assert _without_source(measure.attribution(three)) == _without_source(measure.recompute(three))


def test_closed_days_are_made_ahead_so_a_report_only_reads_them(
    world: tuple[Engine, MeasureService],
) -> None:
    engine, measure = world
    _traffic(engine)
    made = measure.make_closed_days(days=35)
    assert made == 35 and measure.make_closed_days(days=35) == 0
    day = T // 86_400 * 86_400
    query = measure.query(start=day - 86_400, end=day + 2 * 86_400, group_by=["point"])
    reads: list[float] = []
    real = measure.reads.exposures_between
    measure.reads.exposures_between = lambda *a, **k: reads.append(a[0]) or real(*a, **k)  # type: ignore[method-assign]
    report = measure.attribution(query)
    assert reads == [] and report.source == "aggregates"  # not one read of the raw log
    assert _without_source(report) == _without_source(measure.recompute(query))


def test_a_click_in_the_range_on_an_earlier_personalization_counts_for_someone_who_never_buys(
    world: tuple[Engine, MeasureService],
) -> None:
    engine, measure = world
    engine.ingest(
        [{"individualId": "cy", "interaction": "view", "itemId": "mug", "dateTime": _iso(T)}]
    )
    cy = engine.resolve("cy")
    PersonalizationLogStore(sql_store(engine)).append(
        [_log_row("z1", T, cy, "banner"), _log_row("z2", T + 10, "someone-else", "banner")]
    )
    click = {"individualId": "cy", "interaction": "personalization-click", "itemId": "mug"}
    engine.ingest(
        [
            {**click, "personalizationContentId": "z1:0", "dateTime": _iso(T + 2 * HOUR)},
            {**click, "personalizationId": "z2", "dateTime": _iso(T + 2 * HOUR + 1)},
        ]
    )
    report = measure.attribution(
        measure.query(start=T + HOUR, end=T + 3 * HOUR, group_by=["point"])
    )
    assert [(r.group["point"], r.impressions, r.clicks) for r in report.rows] == [("banner", 0, 2)]
