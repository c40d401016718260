"""The store's words as facets an agent may use: categories, brands, prices, points, recommenders.

Built from the catalog snapshot the recommendation service serves (so it changes when the catalog
does) and cached per snapshot. Not the query reader's `CatalogVocabulary` (domain/recommend):
that one holds what reading words needs (category terms, brand codes per row); this one what an
agent is shown and what filters accept (in-stock counts, level names, paths); the currency is
one definition for both (`catalog_currency`). Input validation reads it to refuse an unknown category, brand,
recommender or point with the closest real names (RapidFuzz), and `list_catalog_facets` shows it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from p13n.domain.recommend import CatalogSnapshot, catalog_currency
from p13n.tools.context import ToolContext

__all__ = [
    "CatalogFacets",
    "CategoryCount",
    "catalog_facets",
    "closest",
    "point_names",
    "facets_of",
]

_CACHE_SIZE = 4
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class CategoryCount:
    path: str  # 'Top/Sub/Leaf' in the catalog's words
    items: int  # in-stock items at or under it


@dataclass(frozen=True)
class CatalogFacets:
    """Category paths and level names, brands and prices of one snapshot (in-stock counts)."""

    categories: tuple[CategoryCount, ...]  # every path prefix, most items first
    levels: dict[str, str]  # folded level name -> the catalog's spelling
    paths: dict[str, str]  # folded path (every prefix) -> the catalog's spelling
    brands: tuple[tuple[str, int], ...]  # (brand, in-stock items), most items first
    brand_names: dict[str, str]  # folded -> the catalog's spelling
    currencies: tuple[str, ...]  # of in-stock items, most items first
    currency: str | None  # the catalog's (`catalog_currency`: the query reader's too)
    min_price: float | None
    max_price: float | None
    median_price: float | None
    items: int  # in-stock items

    def has_category(self, value: str) -> bool:
        """What `ItemFilter` would match: a path (or a prefix of one), or one level name."""
        folded = _fold_path(value)
        return folded in self.paths or ("/" not in folded and folded in self.levels)

    def category_suggestions(self, value: str, limit: int = 3) -> list[str]:
        names = list(dict.fromkeys([*self.levels.values(), *self.paths.values()]))
        leaf = value.split("/")[-1]
        return closest(leaf if "/" in value else value, names, limit=limit)

    def has_brand(self, value: str) -> bool:
        return value.strip().casefold() in self.brand_names

    def brand_suggestions(self, value: str, limit: int = 3) -> list[str]:
        return closest(value, list(self.brand_names.values()), limit=limit)


def closest(value: str, choices: Sequence[str], *, limit: int = 3, cutoff: float = 70) -> list[str]:
    """The choices nearest `value` (case-insensitive, best first); empty when none is near.

    Candidates come by RapidFuzz's WRatio; among them, one that contains the whole value ranks
    first, then one with more of the value's words (each within a typo; the value written
    without spaces counts as all of them), then the closer and the shorter: 'Video Games'
    suggests 'Video Games & Consoles' before 'Video Game', 'Games' and the longer path that holds
    it, and 'lulu lemon' suggests 'Lululemon' before "Lulu's"."""
    if not value or not choices:
        return []
    folded = [c.casefold() for c in choices]
    found = process.extract(
        value.casefold(), folded, scorer=fuzz.WRatio, limit=max(10, 4 * limit), score_cutoff=cutoff
    )
    phrase = " ".join(_WORD.findall(value.casefold()))
    words = phrase.split()
    compact = "".join(words)

    def covered(choice: str) -> int:
        theirs = _WORD.findall(choice)
        if len(words) > 1 and fuzz.ratio(compact, "".join(theirs)) >= 85:
            return len(words) + 1
        return sum(any(fuzz.ratio(w, t) >= 80 for t in theirs) for w in words)

    def contains(choice: str) -> bool:
        return bool(phrase) and phrase in " ".join(_WORD.findall(choice))

    if len(found) < limit and len(words) > 1:  # 'yoga pants': a word of it names a choice
        seen = {f[2] for f in found}
        found += [
            (c, fuzz.WRatio(value.casefold(), c), k)
            for k, c in enumerate(folded)
            if k not in seen and covered(c)
        ]
    ranked = sorted(
        found, key=lambda f: (not contains(f[0]), -covered(f[0]), -f[1], len(f[0]), f[2])
    )
    return [choices[index] for _, _, index in ranked[:limit]]


def _fold_path(value: str) -> str:
    return "/".join(p.strip() for p in value.split("/") if p.strip()).casefold()


_lock = threading.Lock()
_cache: list[tuple[CatalogSnapshot, CatalogFacets]] = []


def catalog_facets(ctx: ToolContext) -> CatalogFacets:
    """The vocabulary of the snapshot `ctx.recommend` serves now (built once per snapshot)."""
    snap = ctx.recommend.snapshot()
    with _lock:
        for cached, vocab in _cache:
            if cached is snap:
                return vocab
    vocab = facets_of(snap)
    with _lock:
        _cache.insert(0, (snap, vocab))
        del _cache[_CACHE_SIZE:]
    return vocab


def _counts(values: Iterable[Any], weights: Iterable[bool]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value, w in zip(values, weights, strict=True):
        if isinstance(value, str) and value.strip() and w:
            out[value] = out.get(value, 0) + 1
    return out


def facets_of(snap: CatalogSnapshot) -> CatalogFacets:
    """The vocabulary of one snapshot (uncached)."""
    in_stock = [bool(x) for x in snap.in_stock]
    by_category = _counts(snap.category, in_stock)
    paths: dict[str, str] = {}
    levels: dict[str, str] = {}
    prefix_counts: dict[str, int] = {}
    for category in {c for c in snap.category if isinstance(c, str) and c}:
        parts = category.split("/")
        for k, part in enumerate(parts):
            path = "/".join(parts[: k + 1])
            paths.setdefault(path.casefold(), path)
            levels.setdefault(part.casefold(), part)
            prefix_counts.setdefault(path, 0)
    for category, n in by_category.items():
        parts = category.split("/")
        for k in range(len(parts)):
            prefix_counts["/".join(parts[: k + 1])] += n
    brands = _counts(snap.brand, in_stock)
    currencies = _counts((item.currency for item in snap.items), in_stock)
    prices = snap.price[np.asarray(snap.in_stock, dtype=bool) & ~np.isnan(snap.price)]
    return CatalogFacets(
        categories=tuple(
            CategoryCount(path, n)
            for path, n in sorted(prefix_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        levels=levels,
        paths=paths,
        brands=tuple(sorted(brands.items(), key=lambda kv: (-kv[1], kv[0]))),
        brand_names={b.strip().casefold(): b for b in snap.brand if isinstance(b, str) and b},
        currencies=tuple(c for c, _ in sorted(currencies.items(), key=lambda kv: (-kv[1], kv[0]))),
        currency=catalog_currency(snap),
        min_price=float(prices.min()) if len(prices) else None,
        max_price=float(prices.max()) if len(prices) else None,
        median_price=float(np.median(prices)) if len(prices) else None,
        items=sum(in_stock),
    )


def point_names(ctx: ToolContext) -> list[str]:
    """The active personalization points an agent may ask for (none without decisions)."""
    if ctx.decisions is None:
        return []
    points = ctx.decisions.configs.points
    return sorted(name for name, p in points.items() if p.status == "Active")
