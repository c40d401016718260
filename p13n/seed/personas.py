"""Who the simulated shoppers are: the five scripted demo personas and seeded random ones.

A persona holds a shopper's tastes (top-level categories, brands), the device of each of their
sessions, when they log in and whether they buy; `fit_persona` keeps a scripted persona's tastes
where the catalog has them, `random_persona` draws everyone else from the catalog's popularity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from p13n.seed.draws import Dice, ItemPools, weighted

__all__ = ["Persona", "STORY_PERSONAS", "fit_persona", "random_persona"]

_KNOWN_SHARE, _TWO_DEVICE_SHARE, _PHONE_SHARE, _HEAVY_SHARE = 0.15, 0.35, 0.3, 0.1
_FIRST = ("Liam", "Mia", "Noah", "Zoe", "Omar", "Ivy", "Ravi", "Lena", "Kai", "Nora", "Theo")
_LAST = ("Nguyen", "Smith", "Garcia", "Kowalski", "Haddad", "Ito", "Brown", "Rossi", "Silva")


@dataclass(frozen=True)
class Persona:
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


STORY_PERSONAS = (
    Persona(
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
    Persona(
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
    Persona(
        "Chloe (anonymous)",
        ("Beauty",),
        ("Sephora", "Too Faced"),
        (0, 0, 0),
        open_cart=True,
        never_buys=True,
        likes="Beauty: Sephora and Too Faced makeup",
        did="3 sessions, never logs in, abandons a cart",
    ),
    Persona(
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
    Persona(
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


def fit_persona(p: Persona, cat: ItemPools) -> Persona:
    """Keep a named persona's tastes where the catalog has them; else its most popular ones."""
    tops = tuple(c for c in p.categories if ("top", c) in cat.pools) or (cat.tops[0][0],)
    brands = tuple(b for b in p.brands if any(("brand", t, b) in cat.pools for t in tops))
    if not brands:
        brands = tuple(b for b, _ in cat.brands_in(tops)[:1])
    return replace(p, categories=tops, brands=brands, p_buy=0.0)  # buys only when scripted


def random_persona(k: int, cat: ItemPools, dice: Dice) -> Persona:
    tops = weighted(dice, cat.tops, 2 if dice.u() < 0.4 else 1)
    brands = weighted(dice, cat.brands_in(tops)[:40], 2 + dice.below(3))
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
    return Persona(
        name,
        tops,
        brands,
        tuple(plan),
        logins=tuple(sorted(logins)),
        phone=known and dice.u() < _PHONE_SHARE,
        p_buy=0.03 + 0.09 * dice.u(),
    )
