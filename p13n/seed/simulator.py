"""A deterministic shopper simulator: believable SDK events for demos, tests and benchmarks.

Shoppers have tastes (top-level categories, brands) and item popularity is Zipf-like, with a few
items trending in the last week, so top sellers, trending, co-browsing, carts, identity
stitching and affinities all have a signal to find. The same seed gives the same events.
`simulate_flat` is the same model planned with numpy, for benchmarks of a million events.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Any

import numpy as np

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest.items import Item
from p13n.domain.timeutil import DAY, to_iso
from p13n.seed.mercari import SHOP_URL

__all__ = ["simulate", "simulate_flat", "NAMED_SHOPPERS", "CONSENTS", "SHOP_URL", "TRENDING_DAYS"]

CONSENTS = ({"provider": "p13n-demo", "purpose": "Tracking", "status": "Opt In"},)
TRENDING_DAYS = 7
_TRENDING_SHARE, _TRENDING_BOOST = 0.02, 8.0
_KNOWN_SHARE, _TWO_DEVICE_SHARE, _PHONE_SHARE, _HEAVY_SHARE = 0.15, 0.35, 0.3, 0.1
_P_REMOVE, _P_ADD, _P_ADD_AFTER_DETAIL, _P_DETAIL = 0.02, 0.07, 0.3, 0.2
_FIRST = ("Liam", "Mia", "Noah", "Zoe", "Omar", "Ivy", "Ravi", "Lena", "Kai", "Nora", "Theo")
_LAST = ("Nguyen", "Smith", "Garcia", "Kowalski", "Haddad", "Ito", "Brown", "Rossi", "Silva")


@dataclass(frozen=True)
class _Persona:
    """Who a shopper is. `plan[j]` is the device (0 or 1) of their j-th session in time order."""

    name: str
    categories: tuple[str, ...]
    brands: tuple[str, ...]
    plan: tuple[int, ...]
    logins: tuple[int, ...] = ()  # sessions (indexes into plan) that start with a login
    phone: bool = False
    buy_in: tuple[int, ...] = ()  # sessions that must end in a purchase
    open_cart: bool = False  # the last session leaves items in the cart
    never_buys: bool = False
    p_buy: float = 0.1  # chance that a session ending with a full cart checks out
    explore: float = 0.1  # share of views drawn from the whole catalog
    likes: str = ""
    did: str = ""


_PERSONAS = (
    _Persona(
        "Ava Martin",
        ("Women",),
        ("Lululemon",),
        (0, 0, 1, 0, 1, 1, 0, 1),
        logins=(0, 4),
        buy_in=(5,),
        open_cart=True,
        explore=0.0,
        likes="Women's fashion, above all Lululemon athletic wear",
        did="8 sessions on her phone (demo-device-1) and laptop (demo-device-2); logs in on both "
        "(the laptop only in its second session); buys once; leaves a cart open at the end",
    ),
    _Persona(
        "Ben Okafor",
        ("Electronics",),
        ("Nintendo",),
        (0,) * 10,
        logins=(0,),
        phone=True,
        buy_in=(3, 8),
        likes="Electronics, mostly Nintendo games and consoles",
        did="10 sessions on one device; logs in with email and phone; buys twice",
    ),
    _Persona(
        "Chloe (anonymous)",
        ("Beauty",),
        ("Sephora", "Too Faced"),
        (0, 0, 0),
        open_cart=True,
        never_buys=True,
        likes="Beauty: Sephora and Too Faced makeup",
        did="3 sessions, never logs in, abandons a cart",
    ),
    _Persona(
        "Diego Alvarez",
        ("Kids",),
        ("Carter's", "Disney"),
        (0, 0, 1, 0, 1),
        logins=(2, 3),
        buy_in=(4,),
        likes="Kids' clothes and toys: Carter's and Disney",
        did="browses anonymously on demo-device-5 for two sessions, logs in on demo-device-6, "
        "then on demo-device-5 (its history joins him); buys once on demo-device-6",
    ),
    _Persona(
        "Emma (anonymous)",
        ("Home",),
        ("Rae Dunn",),
        (0,) * 12,
        never_buys=True,
        likes="Home decor, Rae Dunn pottery",
        did="12 sessions of window shopping on one device; fills a cart now and then, "
        "never logs in, never checks out",
    ),
)


def _named_shoppers() -> list[dict[str, Any]]:
    out, next_device = [], 1
    for k, p in enumerate(_PERSONAS, start=1):
        n_dev = max(p.plan) + 1
        out.append(
            {
                "shopper": k,
                "name": p.name,
                "devices": [f"demo-device-{next_device + d}" for d in range(n_dev)],
                "email": f"shopper{k}@example.com" if p.logins else None,
                "likes": p.likes,
                "did": p.did,
            }
        )
        next_device += n_dev
    return out


NAMED_SHOPPERS: list[dict[str, Any]] = _named_shoppers()


class _Dice:
    """Uniform draws from a numpy Generator, buffered: one call per event would be slow."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng, self._buf = rng, list[float]()

    def u(self) -> float:
        if not self._buf:
            self._buf = self._rng.random(512).tolist()
        return self._buf.pop()

    def below(self, n: int) -> int:
        return min(n - 1, int(self.u() * n))

    def session_length(self) -> int:
        """2..12 events, mostly short (mean about 5)."""
        return 2 + min(10, int(-math.log(1.0 - self.u()) * 3.5))


class _Pool:
    """Items to draw from, weighted by popularity before and during the trending window."""

    def __init__(self, idx: list[int], base: np.ndarray, late: np.ndarray) -> None:
        self.idx = idx
        self._cum = list(accumulate(base[idx].tolist()))
        self._cum_late = list(accumulate(late[idx].tolist()))

    def pick(self, u: float, late: bool) -> int:
        cum = self._cum_late if late else self._cum
        return self.idx[min(len(cum) - 1, bisect_right(cum, u * cum[-1]))]


class _Catalog:
    """Popularity (Zipf over a seeded shuffle, some items trending) and pools per facet."""

    def __init__(self, items: Sequence[Item], rng: np.random.Generator) -> None:
        n = len(items)
        self.items = items
        base = 1.0 / (rng.permutation(n) + 3.0) ** 0.9
        late = base * np.where(rng.random(n) < _TRENDING_SHARE, _TRENDING_BOOST, 1.0)
        self.top = [(it.category or "Other").split("/")[0] for it in items]
        self.leaf = [it.category or "Other" for it in items]
        self.buyable = [it.in_stock and it.price is not None for it in items]
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, it in enumerate(items):
            groups.setdefault(("top", self.top[i]), []).append(i)
            groups.setdefault(("leaf", self.leaf[i]), []).append(i)
            if it.brand:  # a brand within a top category: Nike for women is not Nike for kids
                groups.setdefault(("brand", self.top[i], it.brand), []).append(i)
        self.pools = {key: _Pool(idx, base, late) for key, idx in groups.items()}
        self.all = _Pool(list(range(n)), base, late)
        self.weight = {key: float(base[idx].sum()) for key, idx in groups.items()}
        tops = [(key[1], w) for key, w in self.weight.items() if key[0] == "top"]
        self.tops = sorted(tops, key=lambda p: (-p[1], p[0]))
        self._brands: dict[tuple[str, ...], list[tuple[str, float]]] = {}

    def brands_in(self, tops: tuple[str, ...]) -> list[tuple[str, float]]:
        """Brands sold in these top categories with their popularity mass, most popular first."""
        if tops not in self._brands:
            mass: dict[str, float] = {}
            for key, w in self.weight.items():
                if key[0] == "brand" and key[1] in tops:
                    mass[key[2]] = mass.get(key[2], 0.0) + w
            self._brands[tops] = sorted(mass.items(), key=lambda p: (-p[1], p[0]))
        return self._brands[tops]


def _weighted(dice: _Dice, pairs: list[tuple[str, float]], k: int) -> tuple[str, ...]:
    """Up to `k` distinct values drawn by weight."""
    pool, out = list(pairs), list[str]()
    while pool and len(out) < k:
        cum = list(accumulate(w for _, w in pool))
        j = min(len(pool) - 1, bisect_right(cum, dice.u() * cum[-1]))
        out.append(pool.pop(j)[0])
    return tuple(out)


def _fit_persona(p: _Persona, cat: _Catalog) -> _Persona:
    """Keep a named persona's tastes where the catalog has them; else its most popular ones."""
    tops = tuple(c for c in p.categories if ("top", c) in cat.pools) or (cat.tops[0][0],)
    brands = tuple(b for b in p.brands if any(("brand", t, b) in cat.pools for t in tops))
    if not brands:
        brands = tuple(b for b, _ in cat.brands_in(tops)[:1])
    return replace(p, categories=tops, brands=brands, p_buy=0.0)  # buys only when scripted


def _random_persona(k: int, cat: _Catalog, dice: _Dice) -> _Persona:
    tops = _weighted(dice, cat.tops, 2 if dice.u() < 0.4 else 1)
    brands = _weighted(dice, cat.brands_in(tops)[:40], 2 + dice.below(3))
    heavy = dice.u() < _HEAVY_SHARE
    n = 8 + dice.below(17) if heavy else 1 + min(4, int(-math.log(1.0 - dice.u()) * 0.9))
    known = dice.u() < _KNOWN_SHARE
    two = known and dice.u() < _TWO_DEVICE_SHARE
    plan = [dice.below(2) if two else 0 for _ in range(max(n, 2) if two else n)]
    if two and len(set(plan)) == 1:
        plan[dice.below(len(plan))] ^= 1
    logins: list[int] = []
    for dev in sorted(set(plan)) if known else []:
        mine = [j for j, d in enumerate(plan) if d == dev]
        logins.append(mine[0] if dice.u() < 0.6 else mine[dice.below(len(mine))])
    name = f"{_FIRST[k * 7 % len(_FIRST)]} {_LAST[k * 5 % len(_LAST)]}"
    return _Persona(
        name,
        tops,
        brands,
        tuple(plan),
        logins=tuple(sorted(logins)),
        phone=known and dice.u() < _PHONE_SHARE,
        p_buy=0.03 + 0.09 * dice.u(),
    )


@dataclass
class _Shopper:
    """One shopper's run: who they are, their devices, and what carries across sessions."""

    k: int
    persona: _Persona
    devices: list[str]
    dice: _Dice
    cat: _Catalog
    seed: int
    locale: str = "en_US"
    cart: dict[int, int] = field(default_factory=dict)
    recent: list[int] = field(default_factory=list)
    out: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    orders: int = 0
    logged_in: bool = False
    brand_pools: list[_Pool] = field(default_factory=list)

    def __post_init__(self) -> None:
        tops, brands = self.persona.categories, self.persona.brands
        keys = [("brand", t, b) for t in tops for b in brands]
        self.brand_pools = [self.cat.pools[key] for key in keys if key in self.cat.pools]

    def emit(
        self, t: float, ctx: tuple[str, str], page: str, url: str, etype: str, **body: Any
    ) -> None:
        source = {"pageType": page, "url": url, "channel": "Web", "locale": self.locale}
        event = {
            "eventId": "",
            "deviceId": ctx[0],
            "sessionId": ctx[1],
            "dateTime": to_iso(t),
            "eventType": etype,
            **body,
            "source": source,
            "consents": [dict(c) for c in CONSENTS],
        }
        self.out.append((t, event))

    def item_url(self, i: int) -> str:
        return self.cat.items[i].url or f"{SHOP_URL}/items/{self.cat.items[i].id}"

    def line(self, i: int, qty: int) -> dict[str, Any]:
        it = self.cat.items[i]
        return {
            "catalogObjectType": it.type,
            "catalogObjectId": it.id,
            "quantity": qty,
            "price": it.price,
        }

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


def simulate(
    items: list[Item], *, shoppers: int, days: int = 30, end: float, seed: int = 42
) -> Iterator[dict[str, Any]]:
    """SDK-shaped events of `shoppers` shoppers over `days` days up to `end`, in time order.

    Shoppers 1..5 are the scripted `NAMED_SHOPPERS`; each shopper draws from its own seeded
    generator, so adding shoppers does not change what the first ones do. Event ids are
    `sim-<seed>-<n>`, numbered in time order; sessions are `<deviceId>-s<n>`.
    """
    if shoppers < 0 or days < 1:
        raise InvalidInput(f"need shoppers >= 0 and days >= 1, got {shoppers} and {days}")
    if not items:
        return
    cat = _Catalog(items, np.random.default_rng([seed, 0]))
    start = end - days * DAY
    timeline: list[tuple[float, int, int, dict[str, Any]]] = []
    next_device = 1
    for k in range(1, shoppers + 1):
        dice = _Dice(np.random.default_rng([seed, k]))
        if k <= len(_PERSONAS):
            persona = _fit_persona(_PERSONAS[k - 1], cat)
        else:
            persona = _random_persona(k, cat, dice)
        n_dev = max(persona.plan) + 1
        devices = [f"demo-device-{next_device + d}" for d in range(n_dev)]
        next_device += n_dev
        shopper = _Shopper(k, persona, devices, dice, cat, seed)
        shopper.locale = "en_GB" if dice.u() < 0.1 else "en_US"
        shopper.run(start, end)
        timeline.extend((t, k, n, ev) for n, (t, ev) in enumerate(shopper.out))
    timeline.sort(key=lambda row: row[:3])
    for n, (_, _, _, event) in enumerate(timeline, start=1):
        event["eventId"] = f"sim-{seed}-{n}"
        yield event


_FLAT_NAMES = (
    "View Catalog Object",
    "View Catalog Object Detail",
    "Add To Cart",
    "Remove From Cart",
    "Purchase",
)
_VIEW, _DETAIL, _ADD, _REMOVE, _BUY = range(5)
_FLAT_GROUP, _FLAT_P_BUY, _FLAT_CHUNK = 50, 0.15, 65_536


def simulate_flat(
    item_ids: list[str],
    item_prices: list[float],
    *,
    individuals: int,
    events: int,
    days: int = 30,
    end: float,
    seed: int = 42,
    consent: bool = False,
) -> Iterator[dict[str, Any]]:
    """Exactly `events` flat events in time order, for benchmarks: the same shopping model,
    planned as numpy arrays (items grouped in blocks of ~50 stand in for leaf categories).

    Purchases are one event per order line sharing `orderId`. `consent=True` adds a Tracking
    opt-in to every event, for pipelines that drop events without one.
    """
    if len(item_ids) != len(item_prices) or days < 1:
        raise InvalidInput("need one price per item id and days >= 1")
    if events <= 0 or not item_ids or individuals <= 0:
        return
    ts, who, kind, item, qty, order = _plan_flat(
        len(item_ids), individuals, events, float(days) * DAY, end, seed
    )
    people = [f"ind-{k}" for k in range(1, individuals + 1)]
    for lo in range(0, events, _FLAT_CHUNK):
        hi = min(events, lo + _FLAT_CHUNK)
        stamps = np.datetime_as_string(
            np.rint(ts[lo:hi] * 1000.0).astype(np.int64).astype("datetime64[ms]"), unit="ms"
        ).tolist()
        rows = zip(
            stamps,
            who[lo:hi].tolist(),
            kind[lo:hi].tolist(),
            item[lo:hi].tolist(),
            qty[lo:hi].tolist(),
            order[lo:hi].tolist(),
            strict=True,
        )
        for n, (stamp, w, k, i, q, o) in enumerate(rows, start=lo + 1):
            priced = k >= _ADD
            event = {
                "eventId": f"flat-{seed}-{n}",
                "individualId": people[w],
                "interaction": _FLAT_NAMES[k],
                "itemId": item_ids[i],
                "quantity": q if priced else None,
                "price": item_prices[i] if priced else None,
                "orderId": f"flat-{seed}-o{o}" if k == _BUY else None,
                "dateTime": stamp + "Z",
            }
            if consent:
                event["consents"] = [dict(c) for c in CONSENTS]
            yield event


def _plan_flat(
    m: int, n: int, events: int, span: float, end: float, seed: int
) -> tuple[np.ndarray, ...]:
    """Arrays (ts, individual, kind, item, quantity, order) of `events` events, sorted by ts."""
    rng = np.random.default_rng([seed, 1])
    pop = 1.0 / (rng.permutation(m) + 3.0) ** 0.9
    groups = max(1, m // _FLAT_GROUP)
    group = rng.permutation(m) % groups
    by_group = np.lexsort((np.arange(m), group))
    g_sorted, w = group[by_group], pop[by_group]
    g_first = np.searchsorted(g_sorted, np.arange(groups))
    g_last = np.append(g_first[1:], m) - 1
    g_mass = np.add.reduceat(w, g_first)
    cum = np.cumsum(w)
    key = g_sorted + (cum - (cum[g_first] - w[g_first])[g_sorted]) / g_mass[g_sorted]
    all_cum = np.cumsum(pop) / pop.sum()
    g_cum = np.cumsum(g_mass) / g_mass.sum()

    def in_group(g: np.ndarray) -> np.ndarray:
        j = np.searchsorted(key, g + rng.random(len(g)))
        return by_group[np.clip(j, g_first[g], g_last[g])]

    def any_of(cum_: np.ndarray, size: int) -> np.ndarray:
        return np.minimum(np.searchsorted(cum_, rng.random(size)), len(cum_) - 1)

    activity = np.cumsum(rng.lognormal(0.0, 1.0, n))
    taste = any_of(g_cum, 2 * n).reshape(n, 2)
    s = events // 4 + 16
    while True:
        length = 2 + np.minimum(10, rng.exponential(3.5, s).astype(np.int64))
        if length.sum() >= events:
            break
        s *= 2
    owner = np.minimum(np.searchsorted(activity, rng.random(s) * activity[-1]), n - 1)
    r = rng.random(s)
    anchor = np.where(r < 0.7, taste[owner, 0], taste[owner, 1])
    anchor = np.where(r < 0.9, anchor, any_of(g_cum, s))
    total = int(length.sum())
    sess = np.repeat(np.arange(s), length)
    first = np.cumsum(length) - length
    pos = np.arange(total) - first[sess]
    r = np.where(pos == 0, 1.0, rng.random(total))
    kind = np.select([r < 0.07, r < 0.09, r < 0.25], [_ADD, _REMOVE, _DETAIL], _VIEW)
    idx = np.arange(total)
    last_add = np.maximum.accumulate(np.where(kind == _ADD, idx, -1))
    converts = rng.random(s) < _FLAT_P_BUY
    bad_remove = (kind == _REMOVE) & ((last_add < first[sess]) | converts[sess])
    kind[bad_remove] = _VIEW
    mode = rng.random(total)
    item = np.where(mode < 0.65, in_group(anchor[sess]), in_group(taste[owner[sess], 1]))
    item = np.where(mode < 0.8, item, any_of(all_cum, total))
    review = (mode >= 0.9) & (pos >= 2)
    item[review] = item[np.maximum(idx[review] - 2, 0)]
    is_view = kind == _VIEW
    item = np.where(is_view, item, item[np.maximum.accumulate(np.where(is_view, idx, 0))])
    item = np.where(kind == _REMOVE, item[np.maximum(last_add, 0)], item)
    qty = np.where(rng.random(total) < 0.08, 2, 1)
    gaps = 5.0 + np.minimum(145.0, rng.random(total) * rng.random(total) * 240.0)
    csum = np.cumsum(gaps)
    starts = end - span + rng.random(s) * max(0.0, span - 3600.0)
    ts = starts[sess] + csum - (csum[first] - gaps[first])[sess]
    bought = np.flatnonzero((kind == _ADD) & converts[sess])
    b_sess = sess[bought]
    last_ts = ts[first + length - 1]
    cols = (
        np.concatenate([sess, b_sess]),
        np.concatenate([pos, length[b_sess] + np.arange(len(bought))]),
        np.concatenate([ts, last_ts[b_sess] + 40.0]),
        np.concatenate([owner[sess], owner[b_sess]]),
        np.concatenate([kind, np.full(len(bought), _BUY)]),
        np.concatenate([item, item[bought]]),
        np.concatenate([qty, qty[bought]]),
    )
    keep = np.lexsort((cols[1], cols[0]))[:events]
    when = np.round(cols[2][keep], 3)
    order = np.argsort(when, kind="stable")
    return when[order], *(c[keep][order] for c in cols[3:]), cols[0][keep][order]
