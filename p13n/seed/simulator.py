"""A deterministic shopper simulator: believable SDK events for demos, tests and benchmarks.

Shoppers have tastes (top-level categories, brands) and item popularity is Zipf-like, with a few
items trending in the last week, so top sellers, trending, co-browsing, carts, identity
stitching and affinities all have a signal to find. The same seed gives the same events.
`simulate_flat` is the same model planned with numpy, for benchmarks of a million events.

The pieces: `personas` (who shops), `draws` (random draws and popularity-weighted item pools),
`shopper` (one shopper's sessions), `sdk_events` (what an event looks like) and `flat_plan`
(the numpy plan behind `simulate_flat`); this module runs them and numbers the events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest import Item
from p13n.domain.timeutil import DAY
from p13n.seed.draws import Dice, ItemPools
from p13n.seed.flat_plan import ADD, BUY, FLAT_NAMES, plan_flat
from p13n.seed.personas import STORY_PERSONAS, Persona, fit_persona, random_persona
from p13n.seed.sdk_events import CONSENTS
from p13n.seed.shopper import Shopper

__all__ = ["simulate", "simulate_flat", "cast", "Member", "NAMED_SHOPPERS"]

_FLAT_CHUNK = 65_536


def _named_shoppers() -> list[dict[str, Any]]:
    out, next_device = [], 1
    for k, p in enumerate(STORY_PERSONAS, start=1):
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


@dataclass(frozen=True, slots=True)
class Member:
    """One shopper of the cast: number, persona, device ids, and the generator they draw from."""

    k: int
    persona: Persona
    devices: list[str]
    dice: Dice


def cast(cat: ItemPools, shoppers: int, seed: int) -> Iterator[Member]:
    """Shoppers 1..`shoppers`: the scripted `STORY_PERSONAS` first, then seeded random ones,
    devices numbered in order (`demo-device-<n>`). Shopper k draws from its own generator
    `[seed, k]`, so a longer cast starts with the same shoppers."""
    next_device = 1
    for k in range(1, shoppers + 1):
        dice = Dice(np.random.default_rng([seed, k]))
        if k <= len(STORY_PERSONAS):
            persona = fit_persona(STORY_PERSONAS[k - 1], cat)
        else:
            persona = random_persona(k, cat, dice)
        n_dev = max(persona.plan) + 1
        yield Member(k, persona, [f"demo-device-{next_device + d}" for d in range(n_dev)], dice)
        next_device += n_dev


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
    cat = ItemPools(items, np.random.default_rng([seed, 0]))
    start = end - days * DAY
    timeline: list[tuple[float, int, int, dict[str, Any]]] = []
    for member in cast(cat, shoppers, seed):
        shopper = Shopper(member.k, member.persona, member.devices, member.dice, cat, seed)
        shopper.locale = "en_GB" if member.dice.u() < 0.1 else "en_US"
        shopper.run(start, end)
        timeline.extend((t, member.k, n, ev) for n, (t, ev) in enumerate(shopper.out))
    timeline.sort(key=lambda row: row[:3])
    for n, (_, _, _, event) in enumerate(timeline, start=1):
        event["eventId"] = f"sim-{seed}-{n}"
        yield event


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
    ts, who, kind, item, qty, order = plan_flat(
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
            priced = k >= ADD
            event = {
                "eventId": f"flat-{seed}-{n}",
                "individualId": people[w],
                "interaction": FLAT_NAMES[k],
                "itemId": item_ids[i],
                "quantity": q if priced else None,
                "price": item_prices[i] if priced else None,
                "orderId": f"flat-{seed}-o{o}" if k == BUY else None,
                "dateTime": stamp + "Z",
            }
            if consent:
                event["consents"] = [dict(c) for c in CONSENTS]
            yield event
