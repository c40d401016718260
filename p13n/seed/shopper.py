"""One simulated shopper's visits: the sessions of a persona and the SDK events they emit.

A session is a run of views, detail views and cart changes, drawn from the shopper's tastes
(co-browsing within a leaf category, recent items, favourite brands, now and then the whole
catalog), that may end in a purchase of exactly what is in the cart; logins, scripted purchases
and open carts come from the persona.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from p13n.domain.timeutil import DAY
from p13n.seed.draws import Dice, ItemPools, Pool
from p13n.seed.mercari import SHOP_URL
from p13n.seed.personas import Persona
from p13n.seed.sdk_events import item_url, line_item, sdk_event

__all__ = ["Shopper", "TRENDING_DAYS"]

TRENDING_DAYS = 7
_P_REMOVE, _P_ADD, _P_ADD_AFTER_DETAIL, _P_DETAIL = 0.02, 0.07, 0.3, 0.2


@dataclass
class Shopper:
    """One shopper's run: who they are, their devices, and what carries across sessions."""

    k: int
    persona: Persona
    devices: list[str]
    dice: Dice
    cat: ItemPools
    seed: int
    locale: str = "en_US"
    cart: dict[int, int] = field(default_factory=dict)
    recent: list[int] = field(default_factory=list)
    out: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    orders: int = 0
    logged_in: bool = False
    brand_pools: list[Pool] = field(default_factory=list)

    def __post_init__(self) -> None:
        tops, brands = self.persona.categories, self.persona.brands
        keys = [("brand", t, b) for t in tops for b in brands]
        self.brand_pools = [self.cat.pools[key] for key in keys if key in self.cat.pools]

    def emit(
        self, t: float, ctx: tuple[str, str], page: str, url: str, etype: str, **body: Any
    ) -> None:
        self.out.append((t, sdk_event(t, ctx, self.locale, page, url, etype, **body)))

    def item_url(self, i: int) -> str:
        return item_url(self.cat.items[i])

    def line(self, i: int, qty: int) -> dict[str, Any]:
        return line_item(self.cat.items[i], qty)

    def login(self, t: float, ctx: tuple[str, str]) -> float:
        p, url = self.persona, f"{SHOP_URL}/account/login"
        first, _, last = p.name.partition(" ")
        attrs: list[dict[str, Any]] = [
            {"eventType": "contactPointEmail", "email": f"shopper{self.k}@example.com"},
            {"eventType": "identity", "firstName": first, "lastName": last, "isAnonymous": False},
        ]
        if p.phone and not self.logged_in:
            attrs.append(
                {
                    "eventType": "contactPointPhone",
                    "phoneNumber": f"+1 415 555 {self.k % 10000:04d}",
                }
            )
        for a in attrs:
            self.emit(t, ctx, "login", url, a["eventType"], user={"attributes": a})
            t += 1.0
        self.logged_in = True
        return t

    def next_view(self, last: int | None, late: bool) -> int:
        d, cat, p = self.dice, self.cat, self.persona
        r = d.u()
        if last is not None and r < 0.2:  # co-browsing: same leaf category
            pick = cat.pools[("leaf", cat.leaf[last])].pick(d.u(), late)
        elif self.recent and r < 0.3:
            pick = self.recent[-1 - d.below(min(10, len(self.recent)))]
        elif r < 0.3 + p.explore:
            pick = cat.all.pick(d.u(), late)
        elif self.brand_pools and r < 0.65:
            pick = self.brand_pools[d.below(len(self.brand_pools))].pick(d.u(), late)
        else:
            top = p.categories[0 if len(p.categories) == 1 or d.u() < 0.7 else 1]
            pick = cat.pools[("top", top)].pick(d.u(), late)
        return cat.all.pick(d.u(), late) if pick == last else pick

    def view(self, t: float, ctx: tuple[str, str], i: int, *, detail: bool = False) -> None:
        name = "View Catalog Object Detail" if detail else "View Catalog Object"
        url = self.item_url(i) + ("#details" if detail else "")
        obj = {"type": self.cat.items[i].type, "id": self.cat.items[i].id}
        self.emit(
            t, ctx, "product", url, "catalog", interaction={"name": name, "catalogObject": obj}
        )
        if not detail:
            self.recent = [*self.recent[-19:], i]

    def add(self, t: float, ctx: tuple[str, str], i: int) -> None:
        qty = 2 if self.dice.u() < 0.08 else 1
        self.cart[i] = self.cart.get(i, 0) + qty
        self.emit(
            t,
            ctx,
            "product",
            self.item_url(i),
            "cart",
            interaction={"name": "Add To Cart", "lineItem": self.line(i, qty)},
        )

    def remove(self, t: float, ctx: tuple[str, str]) -> None:
        i = list(self.cart)[self.dice.below(len(self.cart))]
        line = self.line(i, self.cart.pop(i))
        self.emit(
            t,
            ctx,
            "cart",
            f"{SHOP_URL}/cart",
            "cart",
            interaction={"name": "Remove From Cart", "lineItem": line},
        )

    def purchase(self, t: float, ctx: tuple[str, str]) -> None:
        self.orders += 1
        order_id = f"sim-{self.seed}-o{self.k}-{self.orders}"
        lines = [self.line(i, q) for i, q in self.cart.items()]
        total = round(sum((ln["price"] or 0.0) * ln["quantity"] for ln in lines), 2)
        order = {"id": order_id, "totalValue": total, "currency": "USD", "lineItems": lines}
        url = f"{SHOP_URL}/checkout/confirmation?order={order_id}"
        self.emit(
            t,
            ctx,
            "order_confirmation",
            url,
            "order",
            interaction={"name": "Purchase", "order": order},
        )
        self.cart.clear()

    def session(self, j: int, t: float, ctx: tuple[str, str], late: bool) -> None:
        """One visit: views, details, cart changes, and maybe a purchase at the end."""
        p, d = self.persona, self.dice
        last_session = j == len(p.plan) - 1
        keep_cart = p.open_cart and last_session
        if j in p.logins:
            t = self.login(t, ctx)
        last: int | None = None
        detailed = False
        for step in range(d.session_length()):
            t += 5.0 + min(145.0, d.u() * d.u() * 240.0)
            r = d.u()
            can_add = step and last is not None and self.cat.buyable[last] and last not in self.cart
            if step and self.cart and not keep_cart and r < _P_REMOVE:
                self.remove(t, ctx)
            elif (
                can_add
                and last is not None
                and r < _P_REMOVE + (_P_ADD_AFTER_DETAIL if detailed else _P_ADD)
            ):
                self.add(t, ctx, last)
            elif step and last is not None and not detailed and d.u() < _P_DETAIL:
                self.view(t, ctx, last, detail=True)
                detailed = True
            else:
                last, detailed = self.next_view(last, late), False
                self.view(t, ctx, last)
        must_buy = j in p.buy_in
        if (must_buy or keep_cart) and not self.cart:
            t = self.fill_cart(t, ctx, last, late)
        if self.cart and not keep_cart and (must_buy or (not p.never_buys and d.u() < p.p_buy)):
            self.purchase(t + 40.0, ctx)

    def fill_cart(self, t: float, ctx: tuple[str, str], last: int | None, late: bool) -> float:
        """Make sure a scripted purchase or open cart has something in it."""
        for _ in range(50):
            if last is not None and self.cat.buyable[last]:
                break
            t += 20.0
            last = self.next_view(last, late)
            self.view(t, ctx, last)
        if last is not None and self.cat.buyable[last]:
            t += 15.0
            self.add(t, ctx, last)
        return t

    def run(self, start: float, end: float) -> None:
        n = len(self.persona.plan)
        span = max(0.0, end - start - 3600.0)
        gap = min(3600.0, span / (n + 1))
        offsets = np.sort(np.array([self.dice.u() for _ in range(n)])) * (span - n * gap)
        visits = [0] * len(self.devices)
        for j, dev in enumerate(self.persona.plan):
            t0 = start + float(offsets[j]) + j * gap
            visits[dev] += 1
            ctx = (self.devices[dev], f"{self.devices[dev]}-s{visits[dev]}")
            self.session(j, t0, ctx, late=t0 >= end - TRENDING_DAYS * DAY)
