"""Item insights from day buckets, trending, and co-occurrence partners."""

from __future__ import annotations

from p13n.domain.graphs.item_graph import CO_MAX, ItemGraph
from p13n.domain.timeutil import DAY

NOW = 1_800_000_000.0


def test_views_and_sales_are_counted_in_1_7_and_30_day_windows() -> None:
    g = ItemGraph(item_id="a")
    for days_ago in (0, 0, 3, 10, 40):
        g.add_view(NOW - days_ago * DAY)
    g.add_sale(NOW - 2 * DAY, 2, 20.0)
    g.add_sale(NOW - 20 * DAY, 1, 10.0)
    ins = g.insights(NOW)
    assert (ins.views_1d, ins.views_7d, ins.views_30d, ins.views_total) == (2, 3, 4, 5)
    assert (ins.units_sold_7d, ins.units_sold_30d, ins.revenue_30d, ins.revenue_total) == (
        2,
        3,
        30.0,
        30.0,
    )


def test_a_burst_today_is_trending_and_a_steady_item_is_not() -> None:
    burst, steady = ItemGraph(item_id="b"), ItemGraph(item_id="s")
    for _ in range(30):
        burst.add_view(NOW)
    for d in range(30):
        steady.add_view(NOW - d * DAY)
    assert burst.insights(NOW).trending_score > 5
    assert 0.8 < steady.insights(NOW).trending_score < 1.2


def test_partners_are_ranked_by_count_and_capped() -> None:
    g = ItemGraph(item_id="a")
    for i in range(CO_MAX + 30):
        g.add_partner("view", f"p{i}", weight=float(i))
    g.add_partner("buy", "x")
    g.add_partner("buy", "y")
    g.add_partner("buy", "y")
    assert len(g.co_viewed) <= CO_MAX + 10
    ins = g.insights(NOW)
    assert ins.top_co_viewed[0] == f"p{CO_MAX + 29}"
    assert ins.top_co_bought == ["y", "x"]
