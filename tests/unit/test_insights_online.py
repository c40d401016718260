"""Calculated insights on the online path: definitions, running state and derived values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest.events import Event, kind_of
from p13n.domain.insights import (
    BUILTIN_INSIGHTS,
    InsightDefinition,
    apply_event_insights,
    insight_values,
    validate_insight_set,
)

DAY = 86_400.0
NOW = datetime(2024, 5, 15, 12, tzinfo=UTC).timestamp()
TODAY = NOW - 12 * 3600  # 2024-05-15 00:00 UTC
_seq = 0


def event(interaction: str, ts: float, **fields: Any) -> Event:
    global _seq
    _seq += 1
    return Event(
        event_id=f"e{_seq}",
        ts=ts,
        interaction=interaction,
        kind=kind_of(interaction),
        shape="flat",
        unified_id="u1",
        **fields,
    )


def define(**fields: Any) -> InsightDefinition:
    return InsightDefinition.model_validate({"name": "x", **fields})


def run(definitions: Any, events: list[Event], now: float = NOW) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for e in events:
        apply_event_insights(state, definitions, e)
    return insight_values(state, definitions, now)


def test_builtins_count_distinct_orders_so_one_event_per_order_line_is_one_order() -> None:
    events = [
        event("Purchase", TODAY - 10 * DAY, order_id="o1", value=30.0, item_id="a"),
        event("Purchase", TODAY - 10 * DAY, order_id="o1", value=20.0, item_id="b"),
        event("Purchase", TODAY - 2 * DAY, order_id="o2", value=100.0, item_id="c"),
        event("Add To Cart", TODAY - 1 * DAY, item_id="d", value=999.0),
    ]
    values = run(BUILTIN_INSIGHTS, events)
    assert values["order_count"] == 2
    assert values["lifetime_revenue"] == 150.0
    assert values["average_order_value"] == 75.0
    assert values["last_purchase_at"] == TODAY - 2 * DAY


def test_insights_with_no_data_are_absent_not_none_or_zero() -> None:
    values = run(BUILTIN_INSIGHTS, [event("Add To Cart", TODAY, item_id="d")])
    assert values == {}


def test_views_7d_counts_the_three_view_interactions_over_seven_utc_days() -> None:
    events = [
        event("View Catalog Object", TODAY - 6 * DAY, item_id="a"),  # first day of the window
        event("View Catalog Object Detail", TODAY, item_id="a"),
        event("Quick View Catalog Object", TODAY + 3600),
        event("View Catalog Object", TODAY - 6 * DAY - 1),  # a second before the window
        event("Favorite Catalog Object", TODAY, item_id="a"),
    ]
    assert run(BUILTIN_INSIGHTS, events)["views_7d"] == 3


def test_a_windowed_count_falls_as_now_moves_past_its_days() -> None:
    views = [d for d in BUILTIN_INSIGHTS if d.name == "views_7d"]
    state: dict[str, Any] = {}
    apply_event_insights(state, views, event("View Catalog Object", TODAY - 3 * DAY))
    apply_event_insights(state, views, event("View Catalog Object", TODAY))
    assert insight_values(state, views, NOW) == {"views_7d": 2}
    assert insight_values(state, views, NOW + 4 * DAY) == {"views_7d": 1}
    assert insight_values(state, views, NOW + 7 * DAY) == {}


def test_days_older_than_the_window_are_pruned_from_the_state() -> None:
    definition = define(measure="sum", field="value", window_days=2)
    state: dict[str, Any] = {}
    for day in range(10):
        apply_event_insights(state, [definition], event("Purchase", TODAY + day * DAY, value=1.0))
    buckets = state["insights"]["x"]["k"][""]
    assert sorted(buckets) == [str(int(TODAY // DAY) + 8), str(int(TODAY // DAY) + 9)]


def test_an_event_older_than_the_window_of_the_newest_event_is_ignored() -> None:
    definition = define(measure="count", window_days=3)
    values = run(
        [definition],
        [event("View Catalog Object", TODAY), event("View Catalog Object", TODAY - 5 * DAY)],
    )
    assert values == {"x": 1}


def test_count_counts_events_whose_fields_are_empty_but_sum_skips_them() -> None:
    definitions = [
        define(name="n", measure="count", interactions=["Purchase"]),
        define(name="total", measure="sum", field="value", interactions=["Purchase"]),
    ]
    values = run(definitions, [event("Purchase", TODAY), event("Purchase", TODAY, value=5.0)])
    assert values == {"n": 2, "total": 5.0}


def test_min_max_and_avg_of_a_numeric_field() -> None:
    definitions = [
        define(name="lo", measure="min", field="price"),
        define(name="hi", measure="max", field="price"),
        define(name="mean", measure="avg", field="price"),
    ]
    prices = [4.0, 1.5, None, 10.0]
    values = run(definitions, [event("Add To Cart", TODAY, price=p) for p in prices])
    assert values == {"lo": 1.5, "hi": 10.0, "mean": round(15.5 / 3, 6)}


def test_windowed_min_forgets_a_low_value_once_its_day_leaves_the_window() -> None:
    definition = define(measure="min", field="price", window_days=2)
    events = [event("Add To Cart", TODAY - DAY, price=1.0), event("Add To Cart", TODAY, price=7.0)]
    state: dict[str, Any] = {}
    for e in events:
        apply_event_insights(state, [definition], e)
    assert insight_values(state, [definition], NOW) == {"x": 1.0}
    assert insight_values(state, [definition], NOW + DAY) == {"x": 7.0}


def test_last_keeps_the_latest_timestamp_even_when_events_arrive_out_of_order() -> None:
    definition = define(measure="last", field="item_id")
    events = [
        event("View Catalog Object", TODAY + 10, item_id="new"),
        event("View Catalog Object", TODAY, item_id="old"),
    ]
    assert run([definition], events) == {"x": "new"}


def test_last_with_equal_timestamps_keeps_the_later_applied_event() -> None:
    definition = define(measure="last", field="channel")
    events = [event("View Catalog Object", TODAY, channel=c) for c in ("web", "app", "email")]
    assert run([definition], events) == {"x": "email"}


def test_last_skips_events_whose_field_is_empty() -> None:
    definition = define(measure="last", field="channel")
    events = [
        event("View Catalog Object", TODAY, channel="web"),
        event("View Catalog Object", TODAY + 5),
    ]
    assert run([definition], events) == {"x": "web"}


def test_windowed_last_has_no_value_once_the_latest_event_left_the_window() -> None:
    definition = define(measure="last", field="value", window_days=1)
    state: dict[str, Any] = {}
    apply_event_insights(state, [definition], event("Purchase", TODAY, value=3.0))
    assert insight_values(state, [definition], NOW) == {"x": 3.0}
    assert insight_values(state, [definition], NOW + DAY) == {}


def test_windowed_distinct_count_keeps_a_value_seen_again_inside_the_window() -> None:
    definition = define(measure="distinct_count", field="item_id", window_days=3)
    events = [
        event("View Catalog Object", TODAY - 2 * DAY, item_id="a"),
        event("View Catalog Object", TODAY - 2 * DAY, item_id="b"),
        event("View Catalog Object", TODAY, item_id="a"),
        event("View Catalog Object", TODAY - DAY, item_id="a"),  # late arrival, older day
    ]
    state: dict[str, Any] = {}
    for e in events:
        apply_event_insights(state, [definition], e)
    assert insight_values(state, [definition], NOW) == {"x": 2}
    assert insight_values(state, [definition], NOW + DAY) == {"x": 1}


def test_a_dimension_gives_one_value_per_dimension_value_and_skips_empty_ones() -> None:
    definition = define(measure="sum", field="quantity", dimension="category")
    events = [
        event("Add To Cart", TODAY, category="Women/Tops", quantity=2.0),
        event("Add To Cart", TODAY, category="Women/Tops", quantity=1.0),
        event("Add To Cart", TODAY, category="Electronics", quantity=1.0),
        event("Add To Cart", TODAY, quantity=5.0),
    ]
    assert run([definition], events) == {"x": {"Women/Tops": 3.0, "Electronics": 1.0}}


def test_a_dimensioned_ratio_divides_key_by_key_and_drops_zero_denominators() -> None:
    definitions = [
        define(name="rev", measure="sum", field="value", dimension="brand"),
        define(name="orders", measure="distinct_count", field="order_id", dimension="brand"),
        define(name="aov", measure="ratio", numerator="rev", denominator="orders"),
    ]
    events = [
        event("Purchase", TODAY, brand="Acme", order_id="o1", value=10.0),
        event("Purchase", TODAY, brand="Acme", order_id="o2", value=20.0),
        event("Purchase", TODAY, brand="Zed", value=5.0),
    ]
    values = run(definitions, events)
    assert values["aov"] == {"Acme": 15.0}


def test_floats_are_rounded_to_six_decimals() -> None:
    definition = define(measure="sum", field="value")
    values = run([definition], [event("Purchase", TODAY, value=v) for v in (0.1, 0.2, 1e-7)])
    assert values == {"x": 0.3}


def test_state_survives_a_json_round_trip_between_events() -> None:
    state: dict[str, Any] = {}
    first = [
        event("Purchase", TODAY - DAY, order_id="o1", value=12.5),
        event("View Catalog Object", TODAY - DAY, item_id="a"),
    ]
    for e in first:
        apply_event_insights(state, BUILTIN_INSIGHTS, e)
    state = json.loads(json.dumps(state))
    apply_event_insights(
        state, BUILTIN_INSIGHTS, event("Purchase", TODAY, order_id="o2", value=7.5)
    )
    apply_event_insights(state, BUILTIN_INSIGHTS, event("View Catalog Object", TODAY, item_id="b"))
    assert insight_values(state, BUILTIN_INSIGHTS, NOW) == {
        "order_count": 2,
        "lifetime_revenue": 20.0,
        "average_order_value": 10.0,
        "last_purchase_at": TODAY,
        "views_7d": 2,
    }


def test_a_redefined_insight_starts_its_running_state_afresh() -> None:
    before = define(measure="count")
    after = define(measure="count", interactions=["Purchase"])
    state: dict[str, Any] = {}
    apply_event_insights(state, [before], event("View Catalog Object", TODAY))
    assert insight_values(state, [after], NOW) == {}
    apply_event_insights(state, [after], event("Purchase", TODAY))
    assert insight_values(state, [after], NOW) == {"x": 1}


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"measure": "count", "field": "value"}, "takes no field"),
        ({"measure": "sum"}, "needs a field"),
        ({"measure": "sum", "field": "brand"}, "numeric field"),
        ({"measure": "median", "field": "value"}, "measure"),
        ({"measure": "count", "colour": "red"}, "Extra inputs"),
        ({"measure": "count", "window_days": 0}, "greater than or equal to 1"),
        ({"measure": "count", "dimension": "value"}, "dimension"),
        ({"measure": "ratio", "numerator": "a"}, "numerator and denominator"),
        ({"measure": "ratio", "numerator": "a", "denominator": "b", "window_days": 7}, "ratio"),
        ({"measure": "sum", "field": "value", "numerator": "a"}, "only for the 'ratio'"),
        ({"measure": "count", "name": "has space"}, "pattern"),
    ],
)
def test_malformed_definitions_are_rejected_with_a_reason(
    fields: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        InsightDefinition.model_validate({"name": "x", **fields})


def test_a_set_with_a_dangling_ratio_operand_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="'missing' is not a defined insight"):
        validate_insight_set(
            [
                define(name="a", measure="count"),
                define(name="r", measure="ratio", numerator="a", denominator="missing"),
            ]
        )


def test_a_set_with_duplicate_names_or_mixed_ratio_dimensions_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="two insights"):
        validate_insight_set([define(measure="count"), define(measure="count")])
    with pytest.raises(InvalidInput, match="different dimensions"):
        validate_insight_set(
            [
                define(name="a", measure="count", dimension="brand"),
                define(name="b", measure="count"),
                define(name="r", measure="ratio", numerator="a", denominator="b"),
            ]
        )


def test_the_builtin_insights_form_a_valid_set() -> None:
    validate_insight_set(BUILTIN_INSIGHTS)
    assert [d.name for d in BUILTIN_INSIGHTS] == [
        "order_count",
        "lifetime_revenue",
        "average_order_value",
        "last_purchase_at",
        "views_7d",
    ]
