"""Serving latency over a 100,000-item catalog, semantic query latency, and embedding speed.

    python -m bench.serving [--items 100000] [--individuals 20000] [--events 400000]
                            [--requests 400] [--mercari-items 100000] [--queries 300]
                            [--refresh-seconds 60] [--gc-freeze] [--keep]

Part 1 (synthetic, no model): `--items` items in leaf categories of 50 (the blocks
`simulate_flat` shops in), synthetic unit vectors clustered per leaf category, `--events` flat
events through `Engine.import_events` (so co-viewed / co-bought graphs are real), the objective
model trained through `RecommendService.train`. Then every default recommender is served
through `RecommendService.recommend` (the live request path) with 24 items and filters on: a
Static include on a context variable (`price <= {!maxPrice}`), a Static exclude, a Profile Data
Graph exclude (brands the visitor bought), in-stock only, exclude purchased, exclude viewed
today, at most 4 per category and a booster. Each request is timed with `perf_counter_ns`.
The snapshot rebuild a server runs every 60 s (`--refresh-seconds`) stays on in the timed
windows (`rebuilds_in_window` says how many ran); `during_rebuild` times requests while one
runs. Queries alternate between the ONNX Runtime and the torch query embedders (`by_backend`,
`torch_over_onnx`: the ratio in the same run); `query` is the default (ONNX) path.

Part 2 (Mercari): `--mercari-items` real listings imported through `Engine.upsert_items`, which
embeds them with all-MiniLM-L6-v2 into Chroma (items/s, with and without the Chroma write), then
`--queries` natural-language queries served end to end (embedding the query included).

Last line: one JSON object.
One script past 400 lines on purpose: a figure and the code that produced it stay together,
so that BENCHMARKS.md can name one command per figure.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bench._util import code_fingerprint, keep_result, machine_facts, peak_rss_mb, percentile_ms
from p13n.domain.ingest.items import Item
from p13n.domain.recommend import (
    DEFAULT_RECOMMENDERS,
    ItemVectors,
    IvfVectors,
    RecommenderConfig,
    RecommendRequest,
    item_text,
    single_threaded_blas,
)
from p13n.domain.recommend.embeddings import text_hash
from p13n.domain.services import Engine, RecommendService
from p13n.domain.vectors import InMemoryVectorIndex
from p13n.seed.simulator import simulate_flat

SEED = 11
DIM = 384
LIMIT = 24
_TOPS = [
    "Women",
    "Men",
    "Kids",
    "Home",
    "Beauty",
    "Electronics",
    "Sports & Outdoors",
    "Toys",
    "Books",
    "Garden",
]
_COLORS = ["black", "white", "red", "blue", "green", "beige", "grey", "pink"]
_QUERIES = [
    "waterproof hiking boots under 150",
    "nintendo switch games",
    "lululemon leggings size 6",
    "vintage denim jacket",
    "iphone case with card holder",
    "rae dunn mug",
    "baby girl summer dresses under 20",
    "matte liquid lipstick",
    "bluetooth speaker",
    "michael kors handbag between 50 and 120",
    "lego star wars set",
    "yoga mat",
    "nike running shoes for men",
    "kitchen knife set",
    "disney princess costume",
    "coach wallet",
    "gaming headset for ps4",
    "scented candles",
    "harry potter books",
    "winter coat over 40",
]


class _QueryOnlyEmbedder:
    """Part 1 stores precomputed item vectors; only queries (and the category paths a query is
    read against) are embedded, by the real model,
    through the query backend `use` names ("onnx" or "torch": one model of each, loaded on
    first use), so that both can be timed alternately in one run."""

    name = "synthetic"
    dim = DIM
    loading = False

    def __init__(self) -> None:
        self.models: dict[str, Any] = {}
        self.use = "auto"

    def embed(self, texts: list[str]) -> np.ndarray:
        """A query, or the catalog's category paths (read with the first query)."""
        model = self.models.get(self.use)
        if model is None:
            from p13n.domain.vectors import MiniLMEmbedder

            model = self.models[self.use] = MiniLMEmbedder(backend=self.use)  # type: ignore[arg-type]
        out: np.ndarray = model.embed(texts)
        return out


def synthetic_items(n: int, now: float, rng: np.random.Generator) -> list[Item]:
    """Items in leaf categories of 50 consecutive ids (10 top x 10 mid x leaf)."""
    price = np.round(np.exp(rng.normal(3.3, 0.9, n)), 2)
    created = now - rng.uniform(0, 365 * 86_400.0, n)
    in_stock = rng.random(n) >= 0.05
    promoted = rng.random(n) < 0.05
    brands = [f"brand-{k}" for k in range(2000)]
    brand = rng.integers(0, len(brands), n)
    items = []
    for i in range(n):
        leaf = i // 50
        top = _TOPS[leaf % len(_TOPS)]
        category = f"{top}/{top} {leaf // 10 % 10}/leaf {leaf}"
        items.append(
            Item(
                id=f"s-{i:06d}",
                name=f"item {i} {category.split('/')[-1]}",
                category=category,
                brand=brands[(leaf * 7 + int(brand[i]) % 5) % len(brands)],
                price=float(price[i]),
                in_stock=bool(in_stock[i]),
                created_at=float(created[i]),
                attributes={"promoted": bool(promoted[i]), "color": _COLORS[i % len(_COLORS)]},
            )
        )
    return items


def synthetic_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors clustered by leaf category (what text embeddings of a catalog look like)."""
    leaves = (n + 49) // 50
    centre = rng.normal(size=(leaves, DIM)).astype(np.float32)
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    v = centre[np.arange(n) // 50] + 0.8 * rng.normal(size=(n, DIM)).astype(np.float32) / np.sqrt(
        DIM
    )
    out: np.ndarray = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    return out


def filtered(config: RecommenderConfig) -> RecommenderConfig:
    """The default recommender with 24 items and filters of every type on."""
    raw = config.model_dump(mode="json")
    raw.update(
        limit=LIMIT,
        include={
            "match": "All",
            "conditions": [
                {"field": "price", "operator": "Is Less Than Or Equal To", "value": "{!maxPrice}"}
            ],
        },
        exclude={
            "match": "Any",
            "conditions": [
                {"field": "attributes.color", "operator": "Is Equal To", "value": "beige"},
                {
                    "type": "Profile Data Graph",
                    "field": "brand",
                    "operator": "Is Equal To",
                    "profile_field": "purchased.brand",
                },
            ],
        },
        switches={"in_stock_only": True, "exclude_purchased": True, "exclude_viewed_days": 1},
        diversity={"field": "category", "max_per_value": 4},
        boosters=[
            {
                "when": {
                    "conditions": [
                        {"field": "attributes.promoted", "operator": "Is Equal To", "value": True}
                    ]
                },
                "factor": 1.5,
                "label": "promoted",
            }
        ],
    )
    return RecommenderConfig.model_validate(raw)


def _time(fn: Callable[[], Any]) -> tuple[int, Any]:
    t = time.perf_counter_ns()
    out = fn()
    return time.perf_counter_ns() - t, out


def part_catalog(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    engine = Engine.open(f"sqlite:///{home / 'p13n.db'}")
    now = engine.now()
    out: dict[str, Any] = {"items": args.items}
    items = synthetic_items(args.items, now, rng)
    index = InMemoryVectorIndex(DIM)
    embedder = _QueryOnlyEmbedder()
    vecs = synthetic_vectors(args.items, rng)
    index.upsert(
        [i.id for i in items], vecs, [text_hash(embedder.name, item_text(i)) for i in items]
    )
    # The periodic snapshot rebuild (a background thread every `--refresh-seconds`, 60 s as a
    # server runs it) stays on inside the timed windows; `rebuilds_in_window` counts the ones
    # that ran, and `during_rebuild` times requests while one is certainly running.
    service = RecommendService(
        engine, vectors=ItemVectors(index, embedder), refresh_seconds=args.refresh_seconds
    )
    rebuilds = _count_rebuilds(service)
    t = time.perf_counter()
    for start in range(0, len(items), 5000):
        engine.upsert_items(items[start : start + 5000])
    out["import_items_s"] = round(time.perf_counter() - t, 1)
    ids = [i.id for i in items]
    prices = [float(i.price or 0.0) for i in items]
    events = simulate_flat(
        ids, prices, individuals=args.individuals, events=args.events, end=now, seed=SEED
    )
    t = time.perf_counter()
    summary = engine.import_events(events)
    out["import_events"] = {
        "accepted": summary.accepted,
        "seconds": round(time.perf_counter() - t, 1),
    }
    t = time.perf_counter()
    model = service.train()
    out["train"] = {
        "seconds": round(time.perf_counter() - t, 2),
        "model_items": len(model.item_ids),
    }
    for config in DEFAULT_RECOMMENDERS:
        service.put_config(filtered(config))
    t = time.perf_counter()
    snap = service.refresh()
    out["refresh_s"] = round(time.perf_counter() - t, 2)
    graphs = engine.state.item_graphs
    out["item_graphs"] = {
        "with_co_viewed": sum(1 for g in graphs.values() if g.co_viewed),
        "with_co_bought": sum(1 for g in graphs.values() if g.co_bought),
    }
    people = [f"ind-{k}" for k in range(1, args.individuals + 1)] + [
        f"new-visitor-{k}" for k in range(args.individuals // 20)
    ]
    popular = np.argsort(-snap.insights["views_30d"])[:5000]
    anchors = [snap.ids[int(r)] for r in popular]
    gc.collect()
    if args.gc_freeze:
        gc.freeze()  # what a server does after loading: long-lived objects leave the GC's scans
    per: dict[str, Any] = {}
    every: list[int] = []
    window_start = rebuilds[0]
    for config in DEFAULT_RECOMMENDERS:
        samples: list[int] = []
        sizes: list[int] = []
        for k in range(args.requests + args.requests // 10):
            request = RecommendRequest(
                config.name,
                individual=people[int(rng.integers(len(people)))],
                anchor=anchors[int(rng.integers(len(anchors)))]
                if config.recipe.algorithm in ("co-bought", "co-viewed", "similar-items") or k % 2
                else None,
                limit=LIMIT,
                variables={"maxPrice": float(rng.choice([25.0, 50.0, 100.0, 1000.0]))},
                request_id=f"r{k}",
            )
            ns, rec = _time(lambda r=request: service.recommend(r))
            if k >= args.requests // 10:  # warm-up excluded
                samples.append(ns)
                sizes.append(len(rec.items))
        every += samples
        per[config.name] = {
            "p50_ms": percentile_ms(samples, 50),
            "p99_ms": percentile_ms(samples, 99),
            "max_ms": percentile_ms(samples, 100),
            "mean_items": round(float(np.mean(sizes)), 1),
        }
        print(config.name, per[config.name], file=sys.stderr, flush=True)
    out["per_recommender"] = per
    out["all_p50_ms"] = percentile_ms(every, 50)
    out["all_p99_ms"] = percentile_ms(every, 99)
    out["worst_p99_ms"] = max(v["p99_ms"] for v in per.values())
    out["rebuilds_in_window"] = rebuilds[0] - window_start
    out["during_rebuild"] = _during_rebuild(service, people, anchors, rng)
    if args.queries:
        start = rebuilds[0]
        out["query"] = _queries(service, args.queries, people, rng, embedder=embedder)
        out["query"]["rebuilds_in_window"] = rebuilds[0] - start
    engine.close()
    return out


def _count_rebuilds(service: RecommendService) -> list[int]:
    """Wrap `service.refresh` to count the snapshot rebuilds (background or not)."""
    counter = [0]
    refresh = service.refresh

    def counted() -> Any:
        counter[0] += 1
        return refresh()

    service.refresh = counted  # type: ignore[method-assign]
    return counter


def _during_rebuild(
    service: RecommendService, people: list[str], anchors: list[str], rng: np.random.Generator
) -> dict[str, Any]:
    """Requests (recommended-for-you and similar-items, alternately) timed while a snapshot
    rebuild runs in a background thread, as it does every `refresh_seconds` in a server."""
    import threading

    worker = threading.Thread(target=service.refresh, daemon=True)
    samples: list[int] = []
    t = time.perf_counter()
    worker.start()
    k = 0
    while worker.is_alive() and k < 5000:
        request = RecommendRequest(
            "similar-items" if k % 2 else "recommended-for-you",
            individual=people[int(rng.integers(len(people)))],
            anchor=anchors[int(rng.integers(len(anchors)))] if k % 2 else None,
            limit=LIMIT,
            variables={"maxPrice": 100.0},
            request_id=f"b{k}",
        )
        ns, _ = _time(lambda r=request: service.recommend(r))
        samples.append(ns)
        k += 1
    worker.join()
    return {
        "rebuild_s": round(time.perf_counter() - t, 2),
        "requests": len(samples),
        "p50_ms": percentile_ms(samples, 50) if samples else None,
        "p99_ms": percentile_ms(samples, 99) if samples else None,
    }


def _queries(
    service: RecommendService,
    n: int,
    people: list[str],
    rng: np.random.Generator,
    *,
    embedder: _QueryOnlyEmbedder | None = None,
) -> dict[str, Any]:
    """Natural-language queries end to end (the query is embedded inside each timed call),
    half of them for a known visitor; the text varies so that nothing can be cached. Then,
    reported apart as `cached_query_vector`, 100 texts asked before (a query-vector cache hit).
    With `embedder` (part 1), requests alternate between the ONNX Runtime and the torch query
    path, one each in turn, and each is also reported apart (`by_backend`, same run)."""
    samples: list[int] = []
    counts: list[int] = []
    backends = ("onnx", "torch")
    by_backend: dict[str, list[int]] = {b: [] for b in backends}
    for k in range(n + 20):
        if embedder is not None:
            embedder.use = backends[k % 2]
        q = _QUERIES[k % len(_QUERIES)]
        if k >= len(_QUERIES):
            q = f"{q} {['please', 'cheap', 'new', 'used', 'gift'][int(rng.integers(5))]} {k}"
        request = RecommendRequest(
            "recommended-for-you",
            individual=people[int(rng.integers(len(people)))] if people and k % 2 else None,
            query=q,
            limit=LIMIT,
            variables={"maxPrice": 1000.0},
            request_id=f"q{k}",
        )
        ns, rec = _time(lambda r=request: service.recommend(r))
        if k >= 20:  # the first ones load the model
            counts.append(len(rec.items))
            if embedder is None or embedder.use == "onnx":
                samples.append(ns)  # the default path: ONNX Runtime where installed
            if embedder is not None:
                by_backend[embedder.use].append(ns)
    if embedder is not None:
        embedder.use = "onnx"
    cached: list[int] = []
    for k in range(100):  # texts asked before: the query vector comes from the cache
        request = RecommendRequest(
            "recommended-for-you",
            query=_QUERIES[k % len(_QUERIES)],
            limit=LIMIT,
            variables={"maxPrice": 1000.0},
            request_id=f"c{k}",
        )
        ns, _ = _time(lambda r=request: service.recommend(r))
        cached.append(ns)
    out: dict[str, Any] = {
        "p50_ms": percentile_ms(samples, 50),
        "p99_ms": percentile_ms(samples, 99),
        "max_ms": percentile_ms(samples, 100),
        "mean_items": round(float(np.mean(counts)), 1),
        "cached_query_vector": {
            "p50_ms": percentile_ms(cached, 50),
            "p99_ms": percentile_ms(cached, 99),
        },
    }
    if embedder is not None:
        out["by_backend"] = {
            b: {"p50_ms": percentile_ms(v, 50), "p99_ms": percentile_ms(v, 99)}
            for b, v in by_backend.items()
        }
        torch_p, onnx_p = out["by_backend"]["torch"], out["by_backend"]["onnx"]
        out["torch_over_onnx"] = {
            q: round(torch_p[q] / onnx_p[q], 2) for q in ("p50_ms", "p99_ms") if onnx_p[q]
        }
    return out


def part_mercari(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    from p13n.domain.vectors import ChromaVectorIndex, MiniLMEmbedder
    from p13n.seed.mercari import load_mercari

    engine = Engine.open(f"sqlite:///{home / 'mercari.db'}")
    out: dict[str, Any] = {"items": args.mercari_items}
    items = load_mercari(args.mercari_items, now=engine.now())
    embedder = MiniLMEmbedder()
    t = time.perf_counter()
    embedder.embed(["warm up"])
    out["model_load_s"] = round(time.perf_counter() - t, 1)
    vectors = ItemVectors(ChromaVectorIndex(home / "vectors"), embedder)
    service = RecommendService(engine, vectors=vectors)
    texts = [item_text(i) for i in items[:2000]]
    t = time.perf_counter()
    embedder.embed(texts)
    out["embed_only_items_per_s"] = round(len(texts) / (time.perf_counter() - t), 1)
    t = time.perf_counter()
    done = 0
    for start in range(0, len(items), 5000):
        done += engine.upsert_items(items[start : start + 5000])
        print(f"embedded {done}", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t
    out["import_with_embedding"] = {
        "seconds": round(seconds, 1),
        "items_per_s": round(len(items) / seconds, 1),
    }
    t = time.perf_counter()
    service.refresh()
    out["refresh_s"] = round(time.perf_counter() - t, 2)
    out["ann"] = _ann_recall(
        vectors, embedder, [_QUERIES[k % len(_QUERIES)] + f" {k}" for k in range(200)]
    )
    out["query"] = _queries(service, args.queries, [], np.random.default_rng(SEED))
    engine.close()
    return out


def _ann_recall(vectors: ItemVectors, embedder: Any, queries: list[str]) -> dict[str, Any]:
    """Recall@24 of the serving index (IVF) against exact search, and both search times."""
    known = vectors.vectors()
    ids = sorted(known)
    matrix = np.stack([known[i] for i in ids])
    index = IvfVectors(matrix, np.ones(len(ids), dtype=np.bool_))
    q = embedder.embed(queries)
    hits, ann_ns, exact_ns = 0, [], []
    with single_threaded_blas():  # as on the request path
        for v in q:
            ns, (rows, _) = _time(lambda v=v: index.nearest(v, LIMIT))
            ann_ns.append(ns)
            ns, sims = _time(lambda v=v: matrix @ v)
            exact_ns.append(ns)
            truth = np.argpartition(-sims, LIMIT)[:LIMIT]
            hits += len(set(truth.tolist()) & set(rows.tolist()))
    return {
        "cells": index.cells,
        "probe": index.probe,
        "recall_at_24": round(hits / (LIMIT * len(q)), 4),
        "ann_p50_ms": percentile_ms(ann_ns, 50),
        "ann_p99_ms": percentile_ms(ann_ns, 99),
        "exact_matvec_p50_ms": percentile_ms(exact_ns, 50),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--individuals", type=int, default=20_000)
    ap.add_argument("--events", type=int, default=400_000)
    ap.add_argument("--requests", type=int, default=400, help="timed requests per recommender")
    ap.add_argument(
        "--mercari-items", type=int, default=20_000, help="listings embedded in part 2; 0 skips"
    )
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() after loading, before timing"
    )
    ap.add_argument(
        "--refresh-seconds",
        type=float,
        default=60.0,
        help="snapshot age that triggers a background rebuild (a server's default: 60)",
    )
    ap.add_argument("--keep", action="store_true", help="write the JSON under bench/results/")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    figures: dict[str, Any] = {
        "benchmark": "serving",
        "code": code_fingerprint(),
        "machine": machine_facts(),
        "load_average": list(os.getloadavg()),
        "settings": vars(args),
    }
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        if args.items:
            figures["catalog"] = part_catalog(args, home)
            print(orjson.dumps(figures["catalog"]).decode(), file=sys.stderr, flush=True)
        if args.mercari_items:
            figures["mercari"] = part_mercari(args, home)
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    summary = {
        "request_p99_ms": figures.get("catalog", {}).get("worst_p99_ms"),
        "query_p99_ms": figures.get("catalog", {}).get("query", {}).get("p99_ms"),
        "query_torch_over_onnx": figures.get("catalog", {}).get("query", {}).get("torch_over_onnx"),
        "embed_items_per_s": figures.get("mercari", {})
        .get("import_with_embedding", {})
        .get("items_per_s"),
        **figures,
    }
    if args.keep:
        keep_result(
            "serving", orjson.loads(orjson.dumps(summary, option=orjson.OPT_SERIALIZE_NUMPY))
        )
    print(orjson.dumps(summary, option=orjson.OPT_SERIALIZE_NUMPY).decode())
    return summary


if __name__ == "__main__":
    main()
