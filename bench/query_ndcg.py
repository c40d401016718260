"""NDCG@10 of personalized query ranking against the same query unpersonalized, on the demo
tenant's held-out simulated shoppers.

    python -m bench.query_ndcg [--home DIR] [--shoppers 2000] [--people 200]

The blend's weights were tuned on the five named shoppers; shoppers 6.. are held out. Their
tastes are the simulator's own ground truth (each persona's top categories and brands,
rebuilt from the seed exactly as `simulate` draws them), never what the profile learned. Each
shopper asks a query in words of their favourite top category ("tops" for Women, "games" for
Electronics, ...); an item's gain is 1 for a brand the persona likes plus 1 for its top
category. The same query is ranked by `get_recommendations` for the shopper (their first
device id) and for nobody; NDCG@10 is averaged over shoppers. `query_ndcg` is the function
the agent-tools benchmark calls with its own demo tenant.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from p13n.domain.ingest import Item
from p13n.seed.draws import Dice, ItemPools
from p13n.seed.mercari import load_mercari
from p13n.seed.personas import STORY_PERSONAS, Persona, random_persona
from p13n.tools import ToolContext, get_action

QUERIES = {
    "Women": "tops",
    "Men": "shirts",
    "Kids": "toys",
    "Electronics": "games",
    "Beauty": "makeup",
    "Home": "decor",
    "Sports & Outdoors": "fitness gear",
    "Vintage & Collectibles": "collectibles",
    "Handmade": "handmade gifts",
    "Other": "gift ideas",
}
K = 10


def held_out_personas(
    items: list[Item], shoppers: int, seed: int = 42
) -> list[tuple[str, Persona]]:
    """(first device id, persona) of each simulated shopper after the named ones, drawn as
    `p13n.seed.simulator.simulate` draws them (same generators, same device numbering)."""
    cat = ItemPools(items, np.random.default_rng([seed, 0]))
    out: list[tuple[str, Persona]] = []
    next_device = 1
    for k in range(1, shoppers + 1):
        dice = Dice(np.random.default_rng([seed, k]))
        if k <= len(STORY_PERSONAS):
            plan = STORY_PERSONAS[k - 1].plan
            next_device += max(plan) + 1
            continue
        persona = random_persona(k, cat, dice)
        out.append((f"demo-device-{next_device}", persona))
        next_device += max(persona.plan) + 1
    return out


def _ndcg(gains: list[float], ideal: list[float]) -> float:
    def dcg(values: list[float]) -> float:
        return sum(g / math.log2(i + 2) for i, g in enumerate(values[:K]))

    best = dcg(sorted(ideal, reverse=True))
    return dcg(gains) / best if best > 0 else 0.0


def query_ndcg(
    ctx: ToolContext, items: list[Item], *, shoppers: int, people: int = 200, seed: int = 42
) -> dict[str, Any]:
    """Mean NDCG@10 of the personalized and the anonymous ranking of each held-out shopper's
    query (shoppers the store knows, at most `people`), and how often personalized wins."""
    act = get_action("get_recommendations")
    personal, anonymous, wins, ties = [], [], 0, 0
    cache: dict[str, list[Any]] = {}
    for device, persona in held_out_personas(items, shoppers, seed):
        if len(personal) >= people:
            break
        if ctx.engine.resolve(device) is None:
            continue
        query = QUERIES.get(persona.categories[0], "gift ideas")

        def gain(item: Any, p: Persona = persona) -> float:
            top = (item.category or "Other").split("/")[0]
            return float(item.brand in p.brands) + float(top in p.categories)

        mine = act.invoke(ctx, {"individual": device, "query": query, "limit": K}).items
        if query not in cache:
            cache[query] = act.invoke(ctx, {"query": query, "limit": K}).items
        ideal = [gain(i) for i in mine + cache[query]]
        a = _ndcg([gain(i) for i in mine], ideal)
        b = _ndcg([gain(i) for i in cache[query]], ideal)
        personal.append(a)
        anonymous.append(b)
        wins += a > b
        ties += a == b
    n = len(personal)
    return {
        "shoppers": n,
        "ndcg_at_10_personalized": round(float(np.mean(personal)), 4) if n else None,
        "ndcg_at_10_unpersonalized": round(float(np.mean(anonymous)), 4) if n else None,
        "personalized_wins": wins,
        "ties": ties,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from p13n.domain.recommend import ItemVectors
    from p13n.domain.services import Engine, RecommendService
    from p13n.domain.vectors import ChromaVectorIndex
    from p13n.seed import load_demo
    from p13n.server.bootstrap import shared_embedder

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=None, help="a seeded demo P13N_HOME")
    parser.add_argument("--shoppers", type=int, default=2000, help="shoppers it was seeded with")
    parser.add_argument("--people", type=int, default=200, help="held-out shoppers to ask for")
    args = parser.parse_args(argv)
    home = args.home or Path(tempfile.mkdtemp(prefix="p13n-ndcg-"))
    engine = Engine.open(f"sqlite:///{home / 'p13n.db'}")
    vectors = ItemVectors(ChromaVectorIndex(home / "vectors"), shared_embedder())
    service = RecommendService(engine, vectors=vectors, model_dir=home / "models")
    try:
        if args.home is None:
            load_demo(engine, shoppers=args.shoppers)
            service.train()
        started = time.perf_counter()
        items = load_mercari(3000, now=engine.now())
        result = query_ndcg(
            ToolContext(engine=engine, recommend=service),
            items,
            shoppers=args.shoppers,
            people=args.people,
        )
        result["seconds"] = round(time.perf_counter() - started, 1)
    finally:
        engine.close()
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return result


if __name__ == "__main__":
    main()
