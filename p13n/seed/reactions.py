"""How a simulated shopper reacts to what p13n shows them, and the events that say so.

The taste model is `match`. A carousel is read slot by slot: the item in slot s (0-based) is
clicked with probability `P_CLICK` x match x `SLOT_DECAY`**s, at most one item per page (the
click leaves it). A clicked item's page is viewed and the item goes in the cart with probability
`P_CART_BASE` + `P_CART_MATCH` x match (when it can be bought); a visit that put something in
its cart checks out at its end with probability `P_BUY`, one order of every line. A banner
(manual content, no items) is clicked with `P_BANNER_CLICK`, or `P_TARGETED_BANNER_CLICK` when a
segment-targeted decision chose it. Every shown personalization gets one `personalization-view`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from p13n.domain.ingest import Item
from p13n.seed.draws import Dice, ItemPools
from p13n.seed.mercari import SHOP_URL
from p13n.seed.personas import Persona
from p13n.seed.sdk_events import item_url, line_item, sdk_event

__all__ = [
    "P_BUY",
    "P_CLICK",
    "Pick",
    "Shown",
    "Trail",
    "banner_clicked",
    "match",
    "pick",
    "wants_cart",
]

P_CLICK, SLOT_DECAY = 0.1, 0.8  # a perfect match in the first slot; each slot down keeps 80 %
P_CART_BASE, P_CART_MATCH, P_BUY = 0.15, 0.35, 0.5
P_BANNER_CLICK, P_TARGETED_BANNER_CLICK = 0.02, 0.06
DEFAULT_BANNER = "default_banner"  # the demo's untargeted home banner decision


def match(persona: Persona, top: str, brand: str | None) -> float:
    """How well an item fits a shopper's tastes, 0..1: their category and brand 1, their
    category 0.5, their brand elsewhere 0.25, anything else 0.05."""
    liked_brand = brand is not None and brand in persona.brands
    if top in persona.categories:
        return 1.0 if liked_brand else 0.5
    return 0.25 if liked_brand else 0.05


@dataclass(frozen=True, slots=True)
class Shown:
    """One personalization on a page: its id, point and decision, and its items in slot order
    as (personalizationContentId, item id); no items for manual content."""

    pid: str
    point: str | None
    decision: str | None
    items: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Pick:
    """The item clicked: which personalization and content id, its index in the pools, and
    how well it matched."""

    shown: Shown
    content_id: str
    i: int
    fit: float


def pick(
    dice: Dice, persona: Persona, cat: ItemPools, index: Mapping[str, int], shown: Sequence[Shown]
) -> Pick | None:
    """The one item clicked on a page of carousels, or None (see the module docstring)."""
    for s in shown:
        for slot, (content_id, item_id) in enumerate(s.items):
            i = index.get(item_id)
            if i is None:
                continue
            fit = match(persona, cat.top[i], cat.items[i].brand)
            if dice.u() < P_CLICK * fit * SLOT_DECAY**slot:
                return Pick(s, content_id, i, fit)
    return None


def banner_clicked(dice: Dice, shown: Shown) -> bool:
    targeted = shown.decision is not None and shown.decision != DEFAULT_BANNER
    return dice.u() < (P_TARGETED_BANNER_CLICK if targeted else P_BANNER_CLICK)


def wants_cart(dice: Dice, cat: ItemPools, chosen: Pick) -> bool:
    return cat.buyable[chosen.i] and dice.u() < P_CART_BASE + P_CART_MATCH * chosen.fit


@dataclass
class Trail:
    """One visit's events as they happen, on device `ctx[0]` in session `ctx[1]`, channel
    `channel` (`Web`, or `agent` for the assistant)."""

    ctx: tuple[str, str]
    channel: str
    out: list[tuple[float, dict[str, Any]]]
    basket: list[dict[str, Any]] = field(default_factory=list)

    def _emit(self, t: float, page: str, url: str, etype: str, **body: Any) -> None:
        event = sdk_event(t, self.ctx, "en_US", page, url, etype, channel=self.channel, **body)
        self.out.append((t, event))

    def viewed(self, t: float, page: str, url: str, shown: Sequence[Shown]) -> None:
        for s in shown:
            interaction = {"name": "personalization-view"}
            self._emit(
                t, page, url, "personalization", interaction=interaction, personalizationId=s.pid
            )

    def clicked(
        self,
        t: float,
        page: str,
        url: str,
        shown: Shown,
        chosen: Pick | None = None,
        item: Item | None = None,
    ) -> None:
        """A click on a banner (`chosen` None) or on the item `chosen` names (`item`)."""
        interaction: dict[str, Any] = {"name": "personalization-click"}
        ids: dict[str, Any] = {"personalizationId": shown.pid}
        if chosen is not None and item is not None:
            interaction["catalogObject"] = {"type": item.type, "id": item.id}
            ids["personalizationContentId"] = chosen.content_id
        self._emit(t, page, url, "personalization", interaction=interaction, **ids)

    def product(self, t: float, item: Item) -> None:
        obj = {"type": item.type, "id": item.id}
        interaction = {"name": "View Catalog Object", "catalogObject": obj}
        self._emit(t, "product", item_url(item), "catalog", interaction=interaction)

    def cart(self, t: float, item: Item) -> None:
        line = line_item(item, 1)
        self.basket.append(line)
        interaction = {"name": "Add To Cart", "lineItem": line}
        self._emit(t, "product", item_url(item), "cart", interaction=interaction)

    def purchase(self, t: float, order_id: str) -> float:
        """Check out the basket as one order; its total."""
        total: float = round(
            sum(float(ln["price"] or 0.0) * ln["quantity"] for ln in self.basket), 2
        )
        order = {"id": order_id, "totalValue": total, "currency": "USD", "lineItems": self.basket}
        url = f"{SHOP_URL}/checkout/confirmation?order={order_id}"
        interaction = {"name": "Purchase", "order": order}
        self._emit(t, "order_confirmation", url, "order", interaction=interaction)
        self.basket = []
        return total
