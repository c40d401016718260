"""Hand-built catalogs where the right answer is known, for the recommender unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from p13n.domain.graphs.item_graph import ItemGraph
from p13n.domain.ingest.items import Item
from p13n.domain.recommend import (
    ExactVectors,
    History,
    Interactions,
    RecommenderConfig,
    ScoreRequest,
    build_snapshot,
)
from p13n.domain.recommend.filters import FilterContext
from p13n.domain.recommend.ranking import allowed_rows, compile_rules, rank
from p13n.domain.recommend.recipes import RuleRecipe
from p13n.domain.recommend.snapshot import CatalogSnapshot

NOW = 1_780_000_000.0
DAY = 86_400.0


def items() -> list[Item]:
    def mk(i: str, **kw: Any) -> Item:
        return Item(id=i, name=f"Item {i}", **kw)

    return [
        mk(
            "a",
            category="Outdoors/Boots",
            brand="Acme",
            price=100.0,
            created_at=datetime.fromtimestamp(NOW - 10 * DAY, UTC),
            attributes={"color": "red", "restock": NOW - 60},
        ),
        mk(
            "b",
            category="Outdoors/Boots",
            brand="Acme",
            price=50.0,
            created_at=datetime.fromtimestamp(NOW - 1 * DAY, UTC),
            attributes={"color": "blue", "restock": NOW + 2 * DAY},
        ),
        mk(
            "c",
            category="Outdoors/Tents",
            brand="Zed",
            price=300.0,
            created_at=datetime.fromtimestamp(NOW - 5 * DAY, UTC),
            attributes={"restock": NOW - 3 * DAY},
        ),
        mk(
            "d",
            category="Home/Mugs",
            brand="Zed",
            price=10.0,
            in_stock=False,
            created_at=datetime.fromtimestamp(NOW - 2 * DAY, UTC),
        ),
        mk(
            "e",
            category="Home/Mugs",
            brand="Cup",
            price=12.0,
            created_at=datetime.fromtimestamp(NOW - 30 * DAY, UTC),
            attributes={"promoted": True},
        ),
    ]


def graphs() -> dict[str, ItemGraph]:
    g = {i.id: ItemGraph(item_id=i.id) for i in items()}
    # views: a 5 today, b 1 today + 20 ten days ago, c 3 today, e 2 today
    for item, today, old in (("a", 5, 0), ("b", 1, 20), ("c", 3, 0), ("e", 2, 0)):
        for _ in range(today):
            g[item].add_view(NOW - 60)
        for _ in range(old):
            g[item].add_view(NOW - 10 * DAY)
    g["c"].add_sale(NOW - 60, 4, 1200.0)
    g["a"].add_sale(NOW - 2 * DAY, 2, 200.0)
    g["e"].add_sale(NOW - 40 * DAY, 9, 108.0)  # outside 30 days
    for x, y, n in (("a", "b", 6.0), ("a", "c", 1.0), ("c", "d", 2.0)):
        g[x].add_partner("view", y, n)
        g[y].add_partner("view", x, n)
    for x, y, n in (("a", "c", 3.0), ("b", "e", 1.0)):
        g[x].add_partner("buy", y, n)
        g[y].add_partner("buy", x, n)
    return g


def snapshot() -> CatalogSnapshot:
    return build_snapshot({i.id: i for i in items()}, graphs(), NOW)


def vectors(snap: CatalogSnapshot) -> ExactVectors:
    """A test double: hand-set 3-d directions (boots close together, mugs apart)."""
    raw = {
        "a": [1.0, 0.0, 0.0],
        "b": [0.9, 0.1, 0.0],
        "c": [0.6, 0.6, 0.0],
        "d": [0.0, 0.0, 1.0],
        "e": [0.0, 0.2, 0.9],
    }
    m = np.array([raw[i] for i in snap.ids], dtype=np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return ExactVectors(m, np.ones(len(snap.ids), dtype=np.bool_))


def interactions() -> Interactions:
    """Whoever views a views b; c goes with e; a and c are bought; e is often carted."""
    rows: list[tuple[str, str, str]] = []
    for u in range(8):
        rows += [(f"u{u}", "a", "View Catalog Object"), (f"u{u}", "b", "View Catalog Object")]
    for u in range(8, 14):
        rows += [(f"u{u}", "c", "View Catalog Object"), (f"u{u}", "e", "View Catalog Object")]
        rows += [(f"u{u}", "e", "Add To Cart")]
    rows += [("u0", "c", "View Catalog Object"), ("u1", "c", "View Catalog Object")]
    rows += [("u8", "c", "Purchase"), ("u9", "c", "Purchase")]
    rows += [("u9", "b", "View Catalog Object"), ("u10", "b", "Purchase")]
    return Interactions(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [NOW] * len(rows)
    )


def run(
    config: dict[str, Any] | RecommenderConfig,
    *,
    history: History | None = None,
    anchor: str | None = None,
    variables: dict[str, Any] | None = None,
    need: int = 12,
    snap: CatalogSnapshot | None = None,
) -> list[str]:
    """The ids one rule recipe ranks through the shared serving code."""
    cfg = (
        config
        if isinstance(config, RecommenderConfig)
        else RecommenderConfig.model_validate({"name": "t", "fallback": None, **config})
    )
    snap = snap or snapshot()
    history = history or History()
    anchor_row = snap.row[anchor] if anchor else None
    req = ScoreRequest(snap, NOW, history, anchor_row, vectors=vectors(snap))
    ctx = FilterContext(snap, NOW, anchor_row, variables or {}, history.sources())
    rules = [compile_rules(cfg, ctx)]
    allowed = allowed_rows(snap, cfg.switches, history, NOW, anchor_row=anchor_row)
    slots, _, _, _ = rank(cfg, RuleRecipe(cfg.recipe), req, rules, allowed, need)  # type: ignore[arg-type]
    return [snap.ids[s.row] for s in slots]
