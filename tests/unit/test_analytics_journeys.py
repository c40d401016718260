"""Journeys from the rows the store holds: exposures, clicks and conversions, worked out by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from p13n.domain.analytics import build_journeys, unit_of
from p13n.domain.timeutil import DAY

T = 20_000 * DAY


def log_row(pid: str, ts: float, unit: str | None = "u", **kw: Any) -> dict[str, Any]:
    """A personalization log row as the table holds it (content as JSON text)."""
    row: dict[str, Any] = {
        "personalization_id": pid,
        "request_id": kw.pop("request_id", f"req-{pid}"),
        "ts": ts,
        "unified_id": unit,
        "individual_id": kw.pop("individual_id", None),
        "point": kw.pop("point", "home"),
        "source": kw.pop("source", "api"),
        "content": orjson.dumps(
            [
                {"contentId": f"{pid}:{k}", "id": item, "rank": k + 1}
                for k, item in enumerate(kw.pop("items", ["i1"]))
            ]
        ).decode(),
    }
    row.update(kw)
    return row


def event(event_id: str, ts: float, interaction: str, unit: str = "u", **kw: Any) -> dict[str, Any]:
    """An event row; `content_id` goes into the payload as the SDK sends it."""
    payload: dict[str, Any] = kw.pop("payload", {})
    if "content_id" in kw:
        payload["personalizationContentId"] = kw.pop("content_id")
    return {
        "event_id": event_id,
        "ts": ts,
        "interaction": interaction,
        "unified_id": unit,
        "payload": orjson.dumps(payload).decode(),
        **kw,
    }


def test_a_logged_personalization_is_one_exposure_with_what_it_was_and_showed() -> None:
    row = log_row(
        "p1",
        T,
        point="home",
        decision="d",
        recommender="rfy",
        experiment="exp",
        cohort="A",
        channel="web",
        source="agent",
        items=["i1", "i2"],
        request_id="r1",
    )
    journeys = build_journeys([row], [])
    (e,) = journeys.exposures
    assert (e.personalization_id, e.request_id, e.ts, e.unit) == ("p1", "r1", T, "u")
    assert (e.point, e.decision, e.recommender, e.experiment, e.cohort) == (
        "home",
        "d",
        "rfy",
        "exp",
        "A",
    )
    assert (e.channel, e.source, e.items, e.shown, e.viewed, e.logged) == (
        "web",
        "agent",
        ("i1", "i2"),
        True,
        False,
        True,
    )
    assert journeys.exposure("p1") == e


def test_decoded_content_reads_like_json_text_and_a_point_that_served_nothing_is_not_shown() -> (
    None
):
    text = log_row("p1", T, items=["i1"])
    decoded = {**text, "content": orjson.loads(text["content"])}
    assert build_journeys([text], []).exposures == build_journeys([decoded], []).exposures
    (empty,) = build_journeys([log_row("p2", T, items=[])], []).exposures
    assert empty.shown is False and empty.items == ()


def test_the_unit_is_the_unified_individual_else_the_individual_else_the_device() -> None:
    assert unit_of({"unified_id": "U", "individual_id": "I", "device_id": "D"}) == "U"
    assert unit_of({"unified_id": None, "individual_id": "I", "device_id": "D"}) == "I"
    assert unit_of({"unified_id": "", "device_id": "D"}) == "D"
    assert unit_of({}) is None
    assert unit_of({"unified_id": "old"}, {"old": "survivor"}) == "survivor"


def test_merged_identities_meet_in_one_unit_through_the_survivor_map() -> None:
    journeys = build_journeys(
        [log_row("p1", T, unit="old")],
        [event("o1", T + 60, "Purchase", unit="new", value=5.0, order_id="A")],
        units={"old": "new"},
    )
    assert journeys.exposures[0].unit == "new" == journeys.conversions[0].unit


def test_a_view_event_of_a_logged_personalization_adds_no_impression() -> None:
    journeys = build_journeys(
        [log_row("p1", T)],
        [
            event("v1", T + 5, "personalization-view", personalization_id="p1"),
            event("v2", T + 9, "personalization-view", content_id="p1:0"),
        ],
    )
    (e,) = journeys.exposures
    assert e.viewed and e.logged and e.ts == T  # the touch stays at the logged moment
    assert journeys.views_merged == 2


def test_a_view_of_an_unlogged_personalization_is_one_bare_exposure_at_its_first_event() -> None:
    journeys = build_journeys(
        [],
        [
            event("v2", T + 50, "personalization-view", personalization_id="lost", channel="web"),
            event("v1", T + 10, "personalization-view", personalization_id="lost", channel="web"),
        ],
    )
    (e,) = journeys.exposures
    assert (e.personalization_id, e.ts, e.unit, e.channel) == ("lost", T + 10, "u", "web")
    assert e.shown and e.viewed and not e.logged and e.source == "event"
    assert journeys.views_merged == 1


def test_a_click_names_its_personalization_by_id_or_by_its_content_id() -> None:
    journeys = build_journeys(
        [log_row("p1", T), log_row("p2", T)],
        [
            event("c1", T + 1, "personalization-click", personalization_id="p1", item_id="i1"),
            event("c2", T + 2, "catalog-object-click", content_id="p2:0", item_id="i1"),
        ],
    )
    assert [(c.event_id, c.personalization_id, c.content_id) for c in journeys.clicks] == [
        ("c1", "p1", None),
        ("c2", "p2", "p2:0"),
    ]
    assert len(journeys.exposures) == 2


def test_an_organic_catalog_click_is_no_click_and_an_unlinked_personalization_click_is_counted() -> (
    None
):
    journeys = build_journeys(
        [log_row("p1", T)],
        [
            event("c1", T + 1, "catalog-object-click", item_id="i1"),
            event("c2", T + 2, "personalization-click", content_id="no-index"),
            event("v1", T + 3, "personalization-view"),
        ],
    )
    assert journeys.clicks == ()
    assert journeys.unlinked_engagements == 2


def test_a_click_on_an_unlogged_personalization_makes_its_bare_exposure() -> None:
    journeys = build_journeys([], [event("c1", T + 7, "personalization-click", content_id="x:3")])
    (e,) = journeys.exposures
    assert (e.personalization_id, e.ts, e.viewed, e.logged) == ("x", T + 7, False, False)
    assert journeys.clicks[0].personalization_id == "x"


def test_the_lines_of_one_order_are_one_order_whose_revenue_adds_exactly() -> None:
    # 10.10 + 20.20 in floats is 30.299999999999997; in cents it is 30.30.
    journeys = build_journeys(
        [],
        [
            event("l2", T + 9, "Purchase", order_id="A", item_id="i2", quantity=2.0, value=20.20),
            event("l1", T + 5, "Purchase", order_id="A", item_id="i1", quantity=1.0, value=10.10),
        ],
    )
    (order,) = journeys.conversions
    assert (order.kind, order.key, order.order_id, order.ts) == ("order", "A", "A", T + 5)
    assert order.revenue == Decimal("30.30")
    assert order.units == Decimal("3.0")
    assert order.items == ("i1", "i2")
    assert order.event_ids == ("l1", "l2")


def test_an_sdk_order_of_several_lines_keeps_its_items_from_the_payload() -> None:
    payload = {
        "interaction": {
            "name": "Purchase",
            "order": {
                "id": "B",
                "totalValue": 42.5,
                "lineItems": [
                    {"catalogObjectId": "i7", "quantity": 1},
                    {"catalogObjectId": "i8", "quantity": 2},
                ],
            },
        }
    }
    journeys = build_journeys(
        [],
        [
            event(
                "o1",
                T,
                "Purchase",
                order_id="B",
                item_id=None,
                quantity=3.0,
                value=42.5,
                payload=payload,
            )
        ],
    )
    (order,) = journeys.conversions
    assert (order.revenue, order.units, order.items) == (
        Decimal("42.50"),
        Decimal("3.0"),
        ("i7", "i8"),
    )


def test_revenue_is_value_else_price_times_quantity_else_zero_and_counted() -> None:
    journeys = build_journeys(
        [],
        [
            event("a", T + 1, "Purchase", order_id="A", price=2.5, quantity=4.0),  # 10.00
            event("b", T + 2, "Purchase", order_id="B", price=3.25),  # quantity 1: 3.25
            event("c", T + 3, "Purchase", order_id="C"),  # nothing: 0, counted
            event("d", T + 4, "Purchase", order_id="D", value=1.0, price=9.0, quantity=9.0),
        ],
    )
    assert [(c.key, c.revenue) for c in journeys.conversions] == [
        ("A", Decimal("10.00")),
        ("B", Decimal("3.25")),
        ("C", Decimal("0.00")),
        ("D", Decimal("1.00")),
    ]
    assert journeys.revenue_missing == 1


def test_revenue_rounds_to_cents_half_up() -> None:
    journeys = build_journeys([], [event("a", T, "Purchase", order_id="A", value=0.125)])
    assert journeys.conversions[0].revenue == Decimal("0.13")


def test_each_add_to_cart_is_a_conversion_and_other_interactions_are_none() -> None:
    journeys = build_journeys(
        [],
        [
            event("a", T + 1, "Add To Cart", item_id="i1", quantity=1.0, price=4.0, value=4.0),
            event("b", T + 2, "Add To Cart", item_id="i1", quantity=1.0, price=4.0, value=4.0),
            event("c", T + 3, "View Catalog Object", item_id="i1"),
            event("d", T + 4, "Cancel", order_id="A", value=9.0),
            event("e", T + 5, "Remove From Cart", item_id="i1"),
        ],
    )
    assert [(c.kind, c.key, c.revenue) for c in journeys.conversions] == [
        ("cart", "a", Decimal("4.00")),
        ("cart", "b", Decimal("4.00")),
    ]


def test_one_order_id_of_two_units_is_two_orders_and_an_order_without_id_stands_alone() -> None:
    journeys = build_journeys(
        [],
        [
            event("a", T + 1, "Purchase", unit="u", order_id="A", value=1.0),
            event("b", T + 2, "Purchase", unit="v", order_id="A", value=2.0),
            event("c", T + 3, "Purchase", unit="v", value=3.0),
            event("d", T + 4, "Purchase", unit="v", value=4.0),
        ],
    )
    assert [(c.unit, c.key, c.revenue) for c in journeys.conversions] == [
        ("u", "A", Decimal("1.00")),
        ("v", "A", Decimal("2.00")),
        ("v", "event:c", Decimal("3.00")),
        ("v", "event:d", Decimal("4.00")),
    ]


@pytest.mark.parametrize("seed", range(5))
def test_repeated_rows_count_once_in_any_order(seed: int) -> None:
    import random

    rng = random.Random(seed)
    logs = [log_row(f"p{k}", T + k * 60) for k in range(4)]
    events = [
        event("v0", T + 5, "personalization-view", personalization_id="p0"),
        event("c1", T + 70, "personalization-click", content_id="p1:0"),
        event("l1", T + 200, "Purchase", order_id="A", value=10.0, item_id="i1"),
        event("l2", T + 200, "Purchase", order_id="A", value=5.0, item_id="i2"),
        event("k1", T + 150, "Add To Cart", item_id="i1", value=3.0),
    ]
    once = build_journeys(logs, events)
    noisy_logs = logs + rng.sample(logs, 3)
    noisy_events = events + rng.sample(events, 4)
    rng.shuffle(noisy_logs)
    rng.shuffle(noisy_events)
    twice = build_journeys(noisy_logs, noisy_events)
    assert twice == once
    assert (len(once.exposures), len(once.clicks), len(once.conversions)) == (4, 1, 2)
    assert once.conversions[1].revenue == Decimal("15.00")


def test_journeys_come_in_time_order() -> None:
    journeys = build_journeys(
        [log_row("b", T + 2), log_row("a", T + 2), log_row("c", T + 1)],
        [
            event("y", T + 9, "personalization-click", personalization_id="a"),
            event("x", T + 8, "personalization-click", personalization_id="b"),
        ],
    )
    assert [e.personalization_id for e in journeys.exposures] == ["c", "a", "b"]
    assert [c.event_id for c in journeys.clicks] == ["x", "y"]


def test_rows_made_the_way_the_log_and_the_ingest_path_make_them_read_as_expected() -> None:
    """The row shapes are the real ones: a log entry through the log writer's row, and raw
    SDK and flat events through validation and the event writer's row."""
    from p13n.domain.ingest.validate import parse_event
    from p13n.domain.services.ingest_batch import _event_row
    from p13n.domain.services.personalization_log import LogEntry, LoggedContent, _row
    from p13n.domain.store import LOG_COLUMNS

    entry = LogEntry(
        personalization_id="p1",
        request_id="r1",
        ts=T,
        point="home",
        unified_id="u",
        channel="web",
        content=[LoggedContent("p1:0", "i1", 1), LoggedContent("p1:1", "i2", 2)],
    )
    log = dict(zip(LOG_COLUMNS, _row(entry), strict=True))
    when = "2024-10-04T00:10:00Z"  # T + 10 min
    raws = [
        {
            "eventId": "click",
            "deviceId": "dev",
            "dateTime": when,
            "interaction": {"name": "personalization-click", "catalogObject": {"id": "i2"}},
            "personalizationContentId": "p1:1",
        },
        {
            "eventId": "sdk-order",
            "deviceId": "dev",
            "dateTime": when,
            "interaction": {
                "name": "Purchase",
                "order": {
                    "id": "A",
                    "lineItems": [
                        {"catalogObjectId": "i1", "quantity": 2, "price": 1.1},
                        {"catalogObjectId": "i2", "quantity": 1, "price": 2.2},
                    ],
                },
            },
        },
        *[
            {
                "eventId": f"flat-{item}",
                "individualId": "dev",
                "dateTime": when,
                "interaction": "Purchase",
                "itemId": item,
                "quantity": 1,
                "price": price,
                "orderId": "B",
            }
            for item, price in (("i1", 0.1), ("i2", 0.2))
        ],
    ]
    rows = []
    for raw in raws:
        parsed = parse_event(raw, now=T + DAY)
        parsed.unified_id = "u"
        rows.append(_event_row(parsed))
    journeys = build_journeys([log], rows)
    (e,) = journeys.exposures
    assert (e.items, e.channel, e.shown) == (("i1", "i2"), "web", True)
    (c,) = journeys.clicks
    assert (c.personalization_id, c.content_id, c.item_id, c.ts) == ("p1", "p1:1", "i2", T + 600)
    a, b = journeys.conversions
    # A: 2 x 1.1 + 2.2 = 4.40 over 3 units; B: 0.1 + 0.2 = 0.30 (not 0.30000000000000004)
    assert (a.key, a.revenue, a.units, a.items) == (
        "A",
        Decimal("4.40"),
        Decimal("3.0"),
        ("i1", "i2"),
    )
    assert (b.key, b.revenue, b.units, b.items) == (
        "B",
        Decimal("0.30"),
        Decimal("2.0"),
        ("i1", "i2"),
    )
