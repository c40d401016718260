"""NDCG@10 of the agent's personalized query ranking against the unpersonalized one, on
held-out simulated shoppers of the demo tenant (part of `python -m bench.agent_tools`).

- Tenant: the demo catalog (`load_mercari(3000)`) and the demo's simulated shoppers
  (`simulate(shoppers=2000, seed=42)`), rebuilt in a temporary home; the item vectors are
  copied from a seeded home when one is given, so the catalog is not embedded again.
- Held out, per simulated shopper device (the five named personas' devices aside) with at
  least `MIN_HISTORY` events before it: its last purchase (the last line of its last order), or
  when the device never bought, its last detail view (the simulator's click-through). Left out
  of the training log with it: that event, every later event of the device, and every event of
  the device about the held-out item (so the answer cannot come from having seen the item).
  Everything else is imported and the recommendation model trained on it.
- Query: the words of the held-out item's leaf category, lower case ("Pants, Tights,
  Leggings" -> "pants tights leggings"), as a shopper names a kind of item.
- Relevance (binary): the held-out item, and every item with the same brand and the same
  category path (when the held-out item has no brand, only itself).
- Rankings: `get_recommendations` (limit 10, in-process, the agent channel) with `individual`
  = the device and the query, against the same call without `individual`.
- NDCG@10 = DCG / ideal DCG, gain 1, discount log2(rank + 1); the ideal ranks
  min(10, relevant items) relevant items first. Shoppers are averaged with equal weight;
  `personalized_wins` is the personalized mean above the unpersonalized one.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p13n.domain.errors import P13nError
from p13n.domain.ingest import Item
from p13n.domain.ingest.validate import parse_event
from p13n.seed.mercari import load_mercari
from p13n.seed.simulator import simulate
from p13n.server.bootstrap import build_services
from p13n.server.settings import Settings
from p13n.tools import get_action

__all__ = ["held_out_ndcg", "ndcg_at"]

K = 10
MIN_HISTORY = 4
NAMED_DEVICES = 7  # demo-device-1..7 belong to the five scripted personas
_DETAIL = "View Catalog Object Detail"


@dataclass(frozen=True)
class HeldOut:
    device: str
    item: str
    query: str
    relevant: frozenset[str]


def ndcg_at(ranked: list[str], relevant: frozenset[str], k: int = K) -> float:
    dcg = sum(1.0 / math.log2(r + 2) for r, i in enumerate(ranked[:k]) if i in relevant)
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def _items_of(event: Any) -> list[str]:
    if event.item_id:
        return [event.item_id]
    return [line.item_id for line in event.lines]


def _query(item: Item) -> str:
    leaf = (item.category or "").split("/")[-1]
    return " ".join(re.findall(r"[a-z0-9']+", leaf.casefold()))


def _relevant(item: Item, catalog: dict[str, Item]) -> frozenset[str]:
    if not item.brand:
        return frozenset({item.id})
    same = {i.id for i in catalog.values() if i.brand == item.brand and i.category == item.category}
    return frozenset(same | {item.id})


def _named(device: str) -> bool:
    tail = device.rsplit("-", 1)[-1]
    return tail.isdigit() and int(tail) <= NAMED_DEVICES


def split(
    raw: list[dict[str, Any]], catalog: dict[str, Item], shoppers: int, now: float
) -> tuple[list[dict[str, Any]], list[HeldOut]]:
    """(the training events, the held-out cases): see the module docstring."""
    parsed = [(r, parse_event(r, now=now + 86_400)) for r in raw]
    by_device: dict[str, list[int]] = defaultdict(list)
    for n, (_, e) in enumerate(parsed):
        if e.device_id and not _named(e.device_id):
            by_device[e.device_id].append(n)
    cases: list[tuple[str, int, str]] = []
    for device, rows in sorted(by_device.items()):
        buys = [
            n for n in rows if parsed[n][1].interaction == "Purchase" and _items_of(parsed[n][1])
        ]
        clicks = [n for n in rows if parsed[n][1].interaction == _DETAIL]
        pick = buys[-1] if buys else (clicks[-1] if clicks else None)
        if pick is None or rows.index(pick) < MIN_HISTORY:
            continue
        item = _items_of(parsed[pick][1])[-1]
        if item in catalog and _query(catalog[item]):
            cases.append((device, pick, item))
    step = max(1, len(cases) // max(1, shoppers))
    chosen = cases[::step][:shoppers]
    dropped: set[int] = set()
    for device, pick, item in chosen:
        t = parsed[pick][1].ts
        for n in by_device[device]:
            e = parsed[n][1]
            if n == pick or e.ts >= t or item in _items_of(e):
                dropped.add(n)
    training = [r for n, (r, _) in enumerate(parsed) if n not in dropped]
    held = [HeldOut(d, i, _query(catalog[i]), _relevant(catalog[i], catalog)) for d, _, i in chosen]
    return training, held


def held_out_ndcg(vectors_from: Path | None, shoppers: int = 200) -> dict[str, Any]:
    """Build the held-out tenant, then score both rankings for each held-out shopper."""
    started = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="p13n-ndcg-"))
    try:
        if vectors_from is not None and vectors_from.is_dir():
            shutil.copytree(vectors_from, home / "vectors")
        services = build_services(Settings(home=home, database_url=None))
        try:
            now = services.engine.now()
            items = load_mercari(3000, now=now)
            catalog = {i.id: i for i in items}
            services.engine.upsert_items(items)
            services.recommend.sync_vectors()
            raw = list(simulate(items, shoppers=2000, end=now, seed=42))
            training, held = split(raw, catalog, shoppers, now)
            services.engine.import_events(training)
            services.recommend.train()
            built_s = time.perf_counter() - started
            return {**_score(services.tool_context(), held), "build_seconds": round(built_s, 1)}
        finally:
            services.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _score(ctx: Any, held: list[HeldOut]) -> dict[str, Any]:
    action = get_action("get_recommendations")
    personal: list[float] = []
    plain: list[float] = []
    errors: list[str] = []
    for case in held:
        try:
            mine = action.invoke(ctx, {"individual": case.device, "query": case.query, "limit": K})
            anyone = action.invoke(ctx, {"query": case.query, "limit": K})
        except P13nError as exc:
            errors.append(f"{case.device}: {exc}")
            continue
        personal.append(ndcg_at([i.id for i in mine.items], case.relevant))
        plain.append(ndcg_at([i.id for i in anyone.items], case.relevant))
    mean_p = round(sum(personal) / len(personal), 4) if personal else None
    mean_u = round(sum(plain) / len(plain), 4) if plain else None
    return {
        "shoppers": len(personal),
        "ndcg_at_10_personalized": mean_p,
        "ndcg_at_10_unpersonalized": mean_u,
        "personalized_wins": mean_p is not None and mean_u is not None and mean_p > mean_u,
        "personalized_better_for": sum(p > u for p, u in zip(personal, plain, strict=True)),
        "unpersonalized_better_for": sum(u > p for p, u in zip(personal, plain, strict=True)),
        "errors": errors[:5],
        "error_count": len(errors),
        "definition": "held-out last purchase (else last detail view) per simulated device; "
        "query = its leaf category's words; relevant = that item and items of its brand and "
        "category path; NDCG@10, gain 1 (bench/agent_ndcg.py)",
    }
