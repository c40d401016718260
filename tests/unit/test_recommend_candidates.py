"""The candidate-based ranking (issue 14) answers exactly what the dense per-request masks did.

Seeded catalogs and shoppers (`simulate_flat`) on the in-memory store; each request is answered
twice by the same `RecommendService`: by the code as it is, and with the pre-issue-14 dense
functions (`_dense_ranking_reference.py`, copied from commit 6f77390) patched in. Items, order,
scores and reasons must agree for every request.
"""

from __future__ import annotations

import random
from typing import Any

import _dense_ranking_reference as dense
import pytest

from p13n.domain.ingest import Item
from p13n.domain.recommend import ItemFilter, RecommenderConfig, RecommendRequest
from p13n.domain.services import Engine, RecommendService
from p13n.domain.store import MemoryStore
from p13n.seed.simulator import simulate_flat

NOW = 1_800_000_000.0
BRANDS = ["Acme", "Zed", "Homey", "Glow"]

CONFIGS: list[dict[str, Any]] = [
    {
        "name": "co-viewed-filtered",
        "recipe": {"algorithm": "co-viewed"},
        "include": {
            "match": "All",
            "conditions": [
                {"field": "price", "operator": "Is Less Than Or Equal To", "value": "{!maxPrice}"}
            ],
        },
        "exclude": {
            "match": "Any",
            "conditions": [{"field": "brand", "operator": "Is Equal To", "value": "{!hideBrand}"}],
        },
        "fallback": "top-sellers",
    },
    {
        "name": "co-viewed-boosted",
        "recipe": {"algorithm": "co-viewed"},
        "switches": {"exclude_viewed_days": 30, "exclude_in_cart": True},
        "boosters": [
            {
                "when": {
                    "match": "All",
                    "conditions": [{"field": "brand", "operator": "Is Equal To", "value": "Glow"}],
                },
                "factor": 3.0,
                "label": "Glow pick",
            }
        ],
        "diversity": {"field": "brand", "max_per_value": 2},
        "fallback": "top-sellers",
    },
    {"name": "co-bought-plain", "recipe": {"algorithm": "co-bought"}, "fallback": "top-sellers"},
]


def _engine(seed: int, n_items: int, individuals: int) -> tuple[Engine, list[Item]]:
    rng = random.Random(seed)
    items = [
        Item(
            id=f"it-{k:04d}",
            name=f"Item {k}",
            category=f"Top{(k // 20) % 3}/Leaf{k // 20}",
            brand=BRANDS[(k // 7) % len(BRANDS)],
            price=round(5 + rng.random() * 200, 2),
            in_stock=rng.random() > 0.15,
        )
        for k in range(n_items)
    ]
    engine = Engine(MemoryStore(), clock=lambda: NOW)
    engine.upsert_items(items)
    flat = simulate_flat(
        [i.id for i in items],
        [i.price or 0.0 for i in items],
        individuals=individuals,
        events=individuals * 8,
        end=NOW,
        seed=seed,
    )
    engine.import_events(flat)
    return engine, items


def _requests(seed: int, items: list[Item], individuals: int) -> list[RecommendRequest]:
    rng = random.Random(seed + 100)
    out: list[RecommendRequest] = []
    for k in range(60):
        filt = None
        if k % 4 == 3:
            filt = ItemFilter(max_price=rng.choice([40.0, 120.0]), brands=(rng.choice(BRANDS),))
        out.append(
            RecommendRequest(
                recommender=CONFIGS[k % len(CONFIGS)]["name"],
                individual=f"ind-{rng.randint(1, individuals)}",
                anchor=rng.choice(items).id if k % 5 else None,
                limit=rng.choice([4, 12, 24]),
                variables={"maxPrice": rng.choice([30, 150]), "hideBrand": rng.choice(BRANDS)},
                exclude_seen=k % 6 == 0,
                exclude_items=[rng.choice(items).id] if k % 7 == 0 else (),
                item_filter=filt,
                request_id=f"req-{seed}-{k}",
            )
        )
    return out


def _answer(service: RecommendService, request: RecommendRequest) -> list[tuple[Any, ...]]:
    recs = service.recommend(request)
    return [(i.id, i.score, i.reason, i.recommender) for i in recs.items]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_candidate_ranking_gives_the_answers_of_the_dense_masks(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, items = _engine(seed, n_items=400, individuals=150)
    service = RecommendService(engine)
    for cfg in CONFIGS:
        service.put_config(RecommenderConfig.model_validate(cfg))
    requests = _requests(seed, items, 150)
    now = [_answer(service, r) for r in requests]
    monkeypatch.setattr("p13n.domain.services.recommend_service.allowed_rows", dense.allowed_rows)
    monkeypatch.setattr("p13n.domain.services.recommend_service.rank", dense.rank)
    monkeypatch.setattr("p13n.domain.recommend.recipes._co_occurrence", dense._co_occurrence)
    before = [_answer(service, r) for r in requests]
    assert sum(len(a) for a in now) > 200  # the requests do get items
    assert any(a and a[0][3] != "top-sellers" for a in now)  # ... from the co-occurrences too
    assert any(any(x[3] == "top-sellers" for x in a) for a in now)  # ... and from the fallback
    for request, got, want in zip(requests, now, before, strict=True):
        assert got == want, request
