"""The item-graph update rule: what one event adds to the item graphs (views, sales, pairs)."""

from __future__ import annotations

from p13n.domain.graphs import ItemGraph, apply_event_to_item_graphs, apply_event_to_profile
from p13n.domain.graphs.item_update import CO_BUY_WINDOW_S, CO_VIEW_WINDOW_S
from p13n.domain.graphs.profile_update import new_profile
from p13n.domain.ingest import Event, Item, Line
from p13n.domain.ingest.events import kind_of

T0 = 1_800_000_000.0


def ev(interaction: str, ts: float, **kw: object) -> Event:
    base: dict[str, object] = {
        "event_id": f"{interaction}-{ts}-{kw.get('item_id')}",
        "ts": ts,
        "interaction": interaction,
        "kind": kind_of(interaction),
        "shape": "sdk",
        "device_id": "d1",
    }
    base.update(kw)
    return Event(**base)  # type: ignore[arg-type]


class Graphs:
    """The lookup the orchestrator passes: creates graphs on demand and notes what changed."""

    def __init__(self) -> None:
        self.graphs: dict[str, ItemGraph] = {}
        self.touched: set[str] = set()

    def __call__(self, item_id: str) -> ItemGraph:
        self.touched.add(item_id)
        return self.graphs.setdefault(item_id, ItemGraph(item_id=item_id))


def run(events: list[Event], items: dict[str, Item] | None = None) -> Graphs:
    graphs, profile = Graphs(), new_profile("u", T0)
    for event in events:
        apply_event_to_item_graphs(graphs, profile, event, items or {})
        apply_event_to_profile(profile, event)
    return graphs


def test_views_within_half_an_hour_are_co_viewed_both_ways() -> None:
    g = run(
        [
            ev("View Catalog Object", T0, item_id="a"),
            ev("View Catalog Object", T0 + 60, item_id="b"),
            ev("View Catalog Object", T0 + 60 + CO_VIEW_WINDOW_S + 1, item_id="c"),
        ]
    )
    assert g.graphs["a"].co_viewed == {"b": 1.0}
    assert g.graphs["b"].co_viewed == {"a": 1.0}
    assert g.graphs["c"].co_viewed == {}  # too long after both
    assert [g.graphs[i].views_total for i in "abc"] == [1, 1, 1]


def test_an_order_counts_sales_at_the_catalog_price_and_pairs_its_lines() -> None:
    items = {"a": Item(id="a", price=4.0)}
    g = run([ev("Purchase", T0, order_id="o", lines=[Line("a", 2), Line("b", 1, 3.0)])], items)
    assert g.graphs["a"].revenue_total == 8.0 and g.graphs["a"].units_sold_total == 2
    assert g.graphs["b"].revenue_total == 3.0
    assert g.graphs["a"].co_bought == {"b": 1.0} and g.graphs["b"].co_bought == {"a": 1.0}


def test_purchases_within_30_days_are_co_bought_and_older_ones_are_not() -> None:
    g = run(
        [
            ev("Purchase", T0, order_id="o1", lines=[Line("old", 1, 1.0)]),
            ev("Purchase", T0 + CO_BUY_WINDOW_S, order_id="o2", lines=[Line("a", 1, 1.0)]),
            ev("Purchase", T0 + CO_BUY_WINDOW_S + 60, order_id="o3", lines=[Line("b", 1, 1.0)]),
        ]
    )
    assert g.graphs["b"].co_bought == {"a": 1.0}  # "old" is 30 days and a minute before
    assert g.graphs["a"].co_bought == {"b": 1.0, "old": 1.0}
    assert g.graphs["old"].co_bought == {"a": 1.0}


def test_an_event_without_items_touches_no_graph() -> None:
    assert run([ev("Search", T0)]).touched == set()
