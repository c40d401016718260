"""The update rule of the item data graph: what one event adds to the item graphs it touches.

The item-side twin of `profile_update.apply_event_to_profile`: views and sales, co-viewed
pairs (items the same person viewed within half an hour) and co-bought pairs (items in the same
order, or bought within 30 days of each other). It reads the person's history *before* the
event, so call it before `apply_event_to_profile`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from p13n.domain.graphs.item_graph import ItemGraph
from p13n.domain.graphs.profile import ProfileGraph
from p13n.domain.graphs.profile_update import VIEW_INTERACTIONS
from p13n.domain.ingest import Event, Item
from p13n.domain.timeutil import DAY

__all__ = [
    "apply_event_to_item_graphs",
    "CO_VIEW_WINDOW_S",
    "CO_VIEW_LOOKBACK",
    "CO_BUY_WINDOW_S",
]

CO_VIEW_WINDOW_S = 1800.0
CO_VIEW_LOOKBACK = 10
CO_BUY_WINDOW_S = 30 * DAY


def apply_event_to_item_graphs(
    graph: Callable[[str], ItemGraph],
    profile: ProfileGraph,
    event: Event,
    items: Mapping[str, Item],
) -> None:
    """Apply `event` by `profile`'s owner to the item graphs. `graph(item_id)` returns the
    graph to change (creating it if need be; the caller notes it as changed); `items` gives the
    catalog price of a purchase line that carries none."""
    ts = event.ts
    if event.interaction in VIEW_INTERACTIONS and event.item_id:
        item_id = event.item_id
        viewed = graph(item_id)
        viewed.add_view(ts)
        for seen in profile.recently_viewed[-CO_VIEW_LOOKBACK:]:
            if seen.item_id != item_id and abs(ts - seen.ts) <= CO_VIEW_WINDOW_S:
                viewed.add_partner("view", seen.item_id)
                graph(seen.item_id).add_partner("view", item_id)
    elif event.interaction == "Purchase" and event.lines:
        bought = [ln.item_id for ln in event.lines]
        earlier = {
            ln.item_id for p in profile.purchases if ts - p.ts <= CO_BUY_WINDOW_S for ln in p.lines
        } - set(bought)
        for ln in event.lines:
            item = items.get(ln.item_id)
            price = ln.price if ln.price is not None else (item.price if item else None) or 0.0
            sold = graph(ln.item_id)
            sold.add_sale(ts, ln.quantity, price * ln.quantity)
            for other in bought:
                if other != ln.item_id:
                    sold.add_partner("buy", other)
            for other in earlier:
                sold.add_partner("buy", other)
                graph(other).add_partner("buy", ln.item_id)
