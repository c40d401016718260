"""Metrics as data: definitions, validation, sticky assignment and each unit's value, on a
tiny journey where every number is worked out by hand."""

from __future__ import annotations

from typing import Any, get_args

import numpy as np
import pytest

from p13n.domain.analytics import (
    BUILT_IN_METRIC_NAMES,
    BUILT_IN_METRICS,
    MetricDefinition,
    build_journeys,
    parse_metric,
    resolve_metrics,
)
from p13n.domain.analytics.experiment_cells import ExperimentCells, slice_of_journeys
from p13n.domain.decisions import Metric
from p13n.domain.errors import InvalidInput
from p13n.domain.timeutil import DAY

WEEK = 7 * DAY


def exposure(
    pid: str, ts: float, unit: str, cohort: str, experiment: str = "home"
) -> dict[str, Any]:
    return {
        "personalization_id": pid,
        "request_id": pid,
        "ts": ts,
        "unified_id": unit,
        "experiment": experiment,
        "cohort": cohort,
        "point": "home",
        "content": [{"id": "item-1"}],
    }


def event(eid: str, ts: float, unit: str, interaction: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": eid, "ts": ts, "unified_id": unit, "interaction": interaction, **fields}


# u1 (a): two impressions, one click, a cart, order o1 of two lines (30 + 5 x 2), order o2
#         with neither value nor price (missing, counts 0).
# u2 (a): one impression; an order 8 days later (outside the 7-day window).
# u3 (b): one impression, two clicks, order o3 worth 20, and a purchase of 7 the day before
#         its first exposure (pre-period only).
# u4 (b): exposed in b, then in a (stays in b: one multiple exposure); a cart before exposure.
LOG = [
    exposure("p1", 1000.0, "u1", "a"),
    exposure("p2", 2000.0, "u1", "a"),
    exposure("p3", 1100.0, "u2", "a"),
    exposure("p4", 1200.0, "u3", "b"),
    exposure("p5", 1300.0, "u4", "b"),
    exposure("p6", 1400.0, "u4", "a"),
    exposure("p7", 1500.0, "u9", "b", experiment="other"),
]
EVENTS = [
    event("e1", 1010.0, "u1", "personalization-click", personalization_id="p1"),
    event("e2", 1020.0, "u1", "Add To Cart", value=10.0, item_id="item-1"),
    event("e3", 1030.0, "u1", "Purchase", order_id="o1", value=30.0),
    event("e4", 1030.0, "u1", "Purchase", order_id="o1", price=5.0, quantity=2),
    event("e5", 3000.0, "u1", "Purchase", order_id="o2"),
    event("e6", 1100.0 + 8 * DAY, "u2", "Purchase", order_id="o9", value=99.0),
    event("e7", 1210.0, "u3", "personalization-click", personalization_id="p4"),
    event("e8", 1220.0, "u3", "personalization-click", personalization_id="p4"),
    event("e9", 1300.0, "u3", "Purchase", order_id="o3", value=20.0),
    event("e10", 1200.0 - DAY, "u3", "Purchase", order_id="o0", value=7.0),
    event("e11", 1250.0, "u4", "Add To Cart", value=3.0),
    event("e12", 1600.0, "u9", "Purchase", order_id="o8", value=50.0),
    event("e9", 1300.0, "u3", "Purchase", order_id="o3", value=20.0),  # repeated event id
]


def fold(
    metric: MetricDefinition,
    *,
    rows: list[dict[str, Any]] = EVENTS,
    window: float = WEEK,
    pre_window: float = 14 * DAY,
    units: dict[str, str] | None = None,
) -> ExperimentCells:
    """The cells of experiment `home` (cohorts a, b) folded from the tiny journey."""
    cells = ExperimentCells(("a", "b"), (metric,), window=window, pre_window=pre_window)
    journeys = build_journeys(LOG, EVENTS)
    cells.fold(slice_of_journeys({"home"}, journeys, rows, units=units))
    return cells


def values(name: str, *, window: float = WEEK, pre_window: float = 14 * DAY):
    cells = fold(BUILT_IN_METRICS[name], window=window, pre_window=pre_window)
    return cells, cells.values(BUILT_IN_METRICS[name])


def test_the_built_in_metrics_are_the_seven_an_experiment_may_name() -> None:
    assert get_args(Metric) == BUILT_IN_METRIC_NAMES
    assert all(m.name == n for n, m in BUILT_IN_METRICS.items())


def test_a_unit_belongs_to_the_cohort_of_its_first_exposure_and_switching_is_counted() -> None:
    cells, _ = values("Orders")
    assert cells.ids == ["u1", "u2", "u3", "u4"]
    assert [cells.cohorts[c] for c in cells.cohort] == ["a", "a", "b", "b"]
    assert cells.first.tolist() == [1000.0, 1100.0, 1200.0, 1300.0]
    assert cells.multiple_exposures == 1
    shown = parse_metric({"name": "shown", "kind": "count", "events": ["impression"]})
    assert fold(shown).values(shown).numerator.tolist() == [2, 1, 1, 2]
    clicks = parse_metric({"name": "clicks", "kind": "count", "events": ["click"]})
    assert fold(clicks).values(clicks).numerator.tolist() == [1, 0, 2, 0]


@pytest.mark.parametrize(
    ("name", "numerator", "denominator", "converted"),
    [
        ("Click-Through Rate", [1, 0, 2, 0], [2, 1, 1, 2], [1, 0, 1, 0]),
        ("Conversion Rate", [1, 0, 1, 0], None, [1, 0, 1, 0]),
        ("Add To Cart Rate", [1, 0, 0, 0], None, [1, 0, 0, 0]),
        ("Revenue Per Visitor", [40, 0, 20, 0], None, [1, 0, 1, 0]),
        ("Average Order Value", [40, 0, 20, 0], [2, 0, 1, 0], [1, 0, 1, 0]),
        ("Orders", [2, 0, 1, 0], None, [1, 0, 1, 0]),
        ("Revenue", [40, 0, 20, 0], None, [1, 0, 1, 0]),
    ],
)
def test_every_built_in_metric_on_the_tiny_journey(
    name: str, numerator: list[float], denominator: list[float] | None, converted: list[int]
) -> None:
    _, got = values(name)
    assert got.cohort.tolist() == [0, 0, 1, 1]
    assert got.numerator.tolist() == numerator
    assert (got.denominator.tolist() if got.denominator is not None else None) == denominator
    assert got.converted.astype(int).tolist() == converted


def test_an_event_whose_field_is_missing_counts_zero_and_is_counted() -> None:
    _, revenue = values("Revenue Per Visitor")
    assert revenue.missing == 1  # order o2 has neither value nor price
    _, orders = values("Orders")
    assert orders.missing == 0  # o2 still has its order id


def test_the_pre_exposure_window_reads_the_same_metric_before_the_first_exposure() -> None:
    _, revenue = values("Revenue Per Visitor")
    assert revenue.pre.tolist() == [0, 0, 7, 0]
    _, carts = values("Add To Cart Rate")
    assert carts.pre.tolist() == [0, 0, 0, 1]
    _, off = values("Revenue Per Visitor", pre_window=0)
    assert off.pre.tolist() == [0, 0, 0, 0]


def test_the_window_is_configurable_and_inclusive_at_its_edge() -> None:
    _, nine_days = values("Revenue Per Visitor", window=9 * DAY)
    assert nine_days.numerator.tolist() == [40, 99, 20, 0]
    _, exact = values("Orders", window=8 * DAY)  # u2's order is exactly 8 days after
    assert exact.numerator.tolist() == [2, 1, 1, 0]
    _, short = values("Orders", window=10.0)  # only events within 10 s of the exposure
    assert short.numerator.tolist() == [0, 0, 0, 0]


def test_a_custom_metric_counts_any_interaction_and_sums_a_field() -> None:
    metric = parse_metric(
        {"name": "cart value", "kind": "sum", "events": ["Add To Cart"], "field": "value"}
    )
    got = fold(metric, pre_window=WEEK).values(metric)
    assert got.numerator.tolist() == [10, 0, 0, 0]
    assert got.pre.tolist() == [0, 0, 0, 3]
    items = parse_metric(
        {"name": "items", "kind": "distinct", "events": ["Add To Cart"], "field": "item_id"}
    )
    got = fold(items, pre_window=0).values(items)
    assert got.numerator.tolist() == [1, 0, 0, 0]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"name": "x", "kind": "sum", "events": ["Purchase"], "field": "colour"}, "field"),
        ({"name": "x", "kind": "sum", "events": ["Purchase"]}, "needs a field"),
        ({"name": "x", "kind": "count", "events": ["Purchase"], "field": "value"}, "no field"),
        ({"name": "x", "kind": "distinct", "events": ["Purchase"], "field": "value"}, "order_id"),
        ({"name": "x", "kind": "count", "events": []}, "needs events"),
        ({"name": "x", "kind": "count", "events": [" "]}, "blank"),
        ({"name": "x", "kind": "sum", "events": ["click"], "field": "value"}, "carry no fields"),
        ({"name": "x", "kind": "ratio"}, "numerator and a denominator"),
        (
            {
                "name": "x",
                "kind": "ratio",
                "events": ["Purchase"],
                "numerator": {"kind": "count", "events": ["click"]},
                "denominator": {"kind": "count", "events": ["impression"]},
            },
            "takes no events",
        ),
        ({"name": "x", "kind": "count", "events": ["a"], "window": 3}, "Extra inputs"),
        ({"name": "x", "kind": "median", "events": ["a"]}, "kind"),
    ],
)
def test_a_bad_metric_is_refused_with_a_clear_message(data: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidInput, match="the metric does not validate") as caught:
        parse_metric(data)
    assert words in str(caught.value)


def test_a_metric_is_frozen_data_that_round_trips_through_json() -> None:
    metric = BUILT_IN_METRICS["Average Order Value"]
    again = MetricDefinition.model_validate_json(metric.model_dump_json(by_alias=True))
    assert again == metric
    with pytest.raises(Exception, match="frozen"):
        metric.name = "y"  # type: ignore[misc]


def test_resolving_names_refuses_unknown_metrics_and_lets_a_saved_one_refine_a_built_in() -> None:
    with pytest.raises(InvalidInput, match="unknown metric.*'Bounces'"):
        resolve_metrics(["Orders", "Bounces"])
    refined = BUILT_IN_METRICS["Orders"].model_copy(update={"description": "ours"})
    got = resolve_metrics(["Orders", "Revenue", "Orders"], {"Orders": refined})
    assert [m.name for m in got] == ["Orders", "Revenue"]
    assert got[0].description == "ours"


def test_units_are_mapped_to_their_survivor_when_identities_merged() -> None:
    rows = [event("m1", 1150.0, "old-u2", "Purchase", order_id="x", value=5.0)]
    revenue = BUILT_IN_METRICS["Revenue"]
    got = fold(revenue, rows=rows, pre_window=0, units={"old-u2": "u2"}).values(revenue)
    assert np.array_equal(got.numerator, [0, 5, 0, 0])
