"""Calculated affinities: 0-100 per category (every level of the path) and brand.

Each engagement adds a weight that halves every `HALF_LIFE_DAYS`. Scores are kept on a
growing scale (weight * 2^((t - t0) / half-life)), so an event costs O(1) whatever its
order, and the published 0-100 value is the score over the person's strongest score in that
dimension, a ratio that decay does not change between events.
"""

from __future__ import annotations

import math
from operator import itemgetter
from typing import Any

from p13n.domain.ingest import category_prefixes
from p13n.domain.timeutil import DAY

__all__ = [
    "AFFINITY_WEIGHTS",
    "HALF_LIFE_DAYS",
    "add_affinity",
    "published_affinities",
    "publish_affinities",
]

HALF_LIFE_DAYS = 14.0
MAX_KEYS = 100
PUBLISHED_TOP = 20
AFFINITY_WEIGHTS: dict[str, float] = {
    "View Catalog Object": 1.0,
    "Quick View Catalog Object": 1.0,
    "View Catalog Object Detail": 2.0,
    "Share Catalog Object": 2.0,
    "Review Catalog Object": 2.0,
    "Comment Catalog Object": 1.0,
    "Favorite Catalog Object": 3.0,
    "catalog-object-click": 2.0,
    "personalization-click": 2.0,
    "Add To Cart": 4.0,
    "Purchase": 8.0,
}
_second = itemgetter(1)
_RATE = math.log(2.0) / (HALF_LIFE_DAYS * DAY)
_REBASE_EXPONENT = 600.0


def add_affinity(
    state: dict[str, Any], interaction: str, ts: float, category: str | None, brand: str | None
) -> set[str]:
    """Add one engagement to the running scores; returns the dimensions that changed."""
    weight = AFFINITY_WEIGHTS.get(interaction)
    if weight is None or (not category and not brand):
        return set()
    aff = state.setdefault("affinity", {"t0": ts, "category": {}, "brand": {}})
    exponent = (ts - aff["t0"]) * _RATE
    if exponent > _REBASE_EXPONENT:
        _rebase(aff, ts)
        exponent = 0.0
    amount = weight * math.exp(exponent)
    changed: set[str] = set()
    for dim, keys in (
        ("category", category_prefixes(category)),
        ("brand", [brand] if brand else []),
    ):
        if not keys:
            continue
        scores: dict[str, float] = aff[dim]
        for key in keys:
            scores[key] = scores.get(key, 0.0) + amount
        if len(scores) > MAX_KEYS:
            for key in sorted(scores, key=scores.__getitem__)[: len(scores) - MAX_KEYS]:
                del scores[key]
        changed.add(dim)
    return changed


def _rebase(aff: dict[str, Any], ts: float) -> None:
    factor = math.exp(-(ts - aff["t0"]) * _RATE)
    for dim in ("category", "brand"):
        aff[dim] = {k: v * factor for k, v in aff[dim].items()}
    aff["t0"] = ts


def published_affinities(state: dict[str, Any], dim: str) -> dict[str, float]:
    """Top keys of one dimension as 0-100 relative to the strongest, rounded to 0.1.

    Categories are scored against the strongest of their own level, so 'Women' and
    'Women/Tops' can both be 100.
    """
    scores: dict[str, float] = state.get("affinity", {}).get(dim, {})
    if not scores:
        return {}
    top = sorted(scores.items(), key=_second, reverse=True)[:PUBLISHED_TOP]
    if dim != "category":
        scale = 1000.0 / top[0][1]
        return {k: int(v * scale + 0.5) / 10 for k, v in top}
    best: dict[int, float] = {}
    for key, value in top:  # sorted by score: the first key seen at a level is its best
        best.setdefault(key.count("/"), value)
    return {k: int(1000.0 * v / best[k.count("/")] + 0.5) / 10 for k, v in top}


def publish_affinities(state: dict[str, Any], affinities: dict[str, dict[str, float]]) -> None:
    """Refresh the published 0-100 values from the running scores (once per batch, not per event)."""
    for dim in ("category", "brand"):
        values = published_affinities(state, dim)
        if values:
            affinities[dim] = values
