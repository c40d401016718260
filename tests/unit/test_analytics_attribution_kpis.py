"""KPIs on a hand-built day of traffic, each figure counted by hand.

D is midnight UTC of a day. Four logged personalizations:

    p1  r1  D+0h     u1  home  d_home  rfy   exp/A  web     shown  clicked twice (D+10m, D+20m)
    p2  r1  D+1h     u1  pdp   d_pdp   -     -      web     shown
    p3  r2  D+1d     u2  home  d_home  rfy2  exp/B  (agent) shown  clicked once (D+1d+5m)
    p4  r3  D+1d     u3  home  -       -     -      web     served nothing

Conversions: u1 orders O1 (50.00, 3 units) at D+2h; u2 adds to cart at D+1d+1h and orders O2
(30.00, 1 unit) at D+1d+2h; u3 orders O3 (10.00) with nothing shown (unattributed).
Last touch: O1 -> p2, cart and O2 -> p3. Linear: O1 half to p1, half to p2.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from p13n.domain.analytics import (
    KPI_GROUPINGS,
    AttributionSettings,
    Click,
    Conversion,
    Exposure,
    Journeys,
    KpiRow,
    attribute,
    kpis,
)
from p13n.domain.errors import InvalidInput
from p13n.domain.timeutil import DAY

D = 20_000 * DAY
H = 3600.0


def order(
    key: str, ts: float, unit: str, revenue: str, units: int, kind: str = "order"
) -> Conversion:
    return Conversion(
        key=key,
        kind="order" if kind == "order" else "cart",
        ts=ts,
        unit=unit,
        revenue=Decimal(revenue),
        units=Decimal(units),
        items=("i1",),
        event_ids=(key,),
    )


def clicked(event_id: str, pid: str, ts: float, unit: str) -> Click:
    return Click(event_id, ts, unit, pid, f"{pid}:0", "i1", "personalization-click")


JOURNEYS = Journeys(
    exposures=(
        Exposure("p1", "r1", D, "u1", "home", "d_home", "rfy", "exp", "A", "web"),
        Exposure("p2", "r1", D + H, "u1", "pdp", "d_pdp", None, None, None, "web"),
        Exposure("p3", "r2", D + DAY, "u2", "home", "d_home", "rfy2", "exp", "B", None, "agent"),
        Exposure("p4", "r3", D + DAY, "u3", "home", None, None, None, None, "web", shown=False),
    ),
    clicks=(
        clicked("c1", "p1", D + 600, "u1"),
        clicked("c2", "p1", D + 1200, "u1"),
        clicked("c3", "p3", D + DAY + 300, "u2"),
    ),
    conversions=(
        order("O1", D + 2 * H, "u1", "50.00", 3),
        order("K1", D + DAY + H, "u2", "0.00", 1, kind="cart"),
        order("O2", D + DAY + 2 * H, "u2", "30.00", 1),
        order("O3", D + DAY + 3 * H, "u3", "10.00", 1),
    ),
)


def figures(row: KpiRow) -> tuple[object, ...]:
    return (
        row.requests,
        row.impressions,
        row.clicks,
        row.ctr,
        row.add_to_carts,
        row.orders,
        row.revenue,
        row.units,
        row.unique_individuals,
    )


def test_no_grouping_gives_one_row_of_totals() -> None:
    (total,) = kpis(JOURNEYS)
    assert total.group == ()
    # requests r1 r2 r3; impressions p1 p2 p3; clicks c1 c2 c3 -> CTR 3/3; the cart; O1 + O2
    # (O3 unattributed) = 80.00 and 3 + 1 units; individuals u1 u2 u3
    assert figures(total) == (3, 3, 3, Fraction(1), 1, 2, Decimal("80.00"), 4, 3)


def test_grouped_by_point_under_last_touch() -> None:
    home, pdp = kpis(JOURNEYS, group_by=["point"])
    assert (home.value("point"), pdp.value("point")) == ("home", "pdp")
    # home: p1 p3 p4 -> requests r1 r2 r3, impressions p1 p3, clicks 3 -> CTR 3/2,
    # cart and O2 last-touched by p3, 30.00 and 1 unit, individuals u1 u2 u3
    assert figures(home) == (3, 2, 3, Fraction(3, 2), 1, 1, Decimal("30.00"), 1, 3)
    # pdp: p2 -> r1, one impression, no click (CTR 0), O1 last-touched: 50.00, 3 units, u1
    assert figures(pdp) == (1, 1, 0, Fraction(0), 0, 1, Decimal("50.00"), 3, 1)


def test_a_shared_order_credits_each_touch_its_share_of_orders_revenue_and_units() -> None:
    linear = attribute(JOURNEYS, AttributionSettings(model="linear"))
    home, pdp = kpis(JOURNEYS, linear, group_by="point")
    # O1 is shared by p1 (home) and p2 (pdp): 1/2 order, 25.00 and 3/2 units each
    assert (home.orders, home.revenue, home.units) == (
        Fraction(3, 2),
        Decimal("55.00"),
        Fraction(5, 2),
    )
    assert (pdp.orders, pdp.revenue, pdp.units) == (
        Fraction(1, 2),
        Decimal("25.00"),
        Fraction(3, 2),
    )


def test_grouped_by_experiment_and_cohort_with_the_unassigned_first() -> None:
    rows = kpis(JOURNEYS, group_by=["experiment", "cohort"])
    assert [r.group for r in rows] == [
        (("experiment", None), ("cohort", None)),
        (("experiment", "exp"), ("cohort", "A")),
        (("experiment", "exp"), ("cohort", "B")),
    ]
    none, a, b = rows
    # none: p2 p4 -> requests r1 r3, impression p2, O1 via p2, individuals u1 u3
    assert figures(none) == (2, 1, 0, Fraction(0), 0, 1, Decimal("50.00"), 3, 2)
    assert figures(a) == (1, 1, 2, Fraction(2), 0, 0, Decimal("0.00"), 0, 1)
    assert figures(b) == (1, 1, 1, Fraction(1), 1, 1, Decimal("30.00"), 1, 1)


def test_a_channel_not_logged_groups_under_the_source() -> None:
    agent, web = kpis(JOURNEYS, group_by="channel")
    assert (agent.value("channel"), web.value("channel")) == ("agent", "web")
    assert (agent.impressions, agent.revenue, web.impressions, web.revenue) == (
        1,
        Decimal("30.00"),
        2,
        Decimal("50.00"),
    )


def test_grouped_by_day_each_thing_counts_on_the_utc_day_it_happened() -> None:
    late = Journeys(
        exposures=(Exposure("p", "r", D + 23 * H, "u", "home"),),
        clicks=(clicked("c", "p", D + DAY + 60, "u"),),
        conversions=(order("O", D + DAY + H, "u", "9.99", 1),),
    )
    first, second = kpis(late, group_by="day")
    assert first.value("day") == "2024-10-04" and second.value("day") == "2024-10-05"
    assert figures(first) == (1, 1, 0, Fraction(0), 0, 0, Decimal("0.00"), 0, 1)
    # the click and the order of the next day credit the same exposure on their own day
    assert figures(second) == (0, 0, 1, None, 0, 1, Decimal("9.99"), 1, 0)


@pytest.mark.parametrize("grouping", [[g] for g in KPI_GROUPINGS] + [list(KPI_GROUPINGS)])
def test_rows_add_up_to_the_attributed_totals_under_any_grouping(grouping: list[str]) -> None:
    for model in ("last_touch", "linear", "time_decay"):
        result = attribute(JOURNEYS, AttributionSettings(model=model))  # type: ignore[arg-type]
        rows = kpis(JOURNEYS, result, group_by=grouping)
        orders = [c for c in result.attributed if c.kind == "order"]
        assert sum(r.revenue for r in rows) == sum(c.revenue for c in orders)
        assert sum(r.orders for r in rows) == len(orders)
        assert sum(r.add_to_carts for r in rows) == 1
        assert sum(r.impressions for r in rows) == 3
        assert sum(r.clicks for r in rows) == 3
        assert [r.group for r in rows] == sorted(
            (r.group for r in rows), key=lambda g: [(v is not None, v or "") for _, v in g]
        )


def test_an_unknown_grouping_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(InvalidInput, match="unknown grouping 'segment'") as raised:
        kpis(JOURNEYS, group_by=["point", "segment"])
    assert "point, decision, recommender, experiment, cohort, channel, day" in str(raised.value)


def test_a_grouping_named_twice_groups_once_and_no_data_gives_no_rows() -> None:
    assert [r.group for r in kpis(JOURNEYS, group_by=["point", "point"])] == [
        (("point", "home"),),
        (("point", "pdp"),),
    ]
    assert kpis(Journeys()) == ()
