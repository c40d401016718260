"""list_catalog_facets: the store's vocabulary, so an agent can use the catalog's own words.

Categories one level at a time (the top levels, or the children of `category`) with in-stock
counts and their next level's names, the main brands and the price range there, the currency,
and the personalization points and recommenders an agent may name. Every list is bounded, so
the answer stays small on a catalog of any size; counts are of in-stock items.
"""

from __future__ import annotations

import threading

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from p13n.domain.recommend import CatalogSnapshot
from p13n.tools.catalog_words import catalog_facets, closest
from p13n.tools.context import ToolContext
from p13n.tools.models import tool_context

__all__ = [
    "ListFacetsInput",
    "ListFacetsOutput",
    "CategoryFacet",
    "PointFacet",
    "list_catalog_facets",
    "points_facet",
]

MAX_CATEGORIES = 40
MAX_SUBCATEGORIES = 12
MAX_BRANDS = 30
MAX_POINTS = 30


class ListFacetsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(
        default=None,
        max_length=300,
        description="A category path to list the subcategories, brands and prices of (e.g. "
        "'Electronics' or 'Women/Athletic Apparel'); omit for the whole catalog.",
    )

    @field_validator("category")
    @classmethod
    def _known(cls, value: str | None, info: ValidationInfo) -> str | None:
        ctx = tool_context(info)
        if value is None or ctx is None:
            return value
        vocab = catalog_facets(ctx)
        folded = "/".join(p.strip() for p in value.split("/") if p.strip()).casefold()
        if folded in vocab.paths:
            return vocab.paths[folded]
        near = closest(value, list(vocab.paths.values()))
        hint = f"closest: {', '.join(map(repr, near))}" if near else "omit it for the top levels"
        raise ValueError(f"no category path '{value}'; {hint}")


class CategoryFacet(BaseModel):
    path: str = Field(description="The category path, usable in `filters.categories`.")
    items: int = Field(description="In-stock items at or under it.")
    subcategories: list[str] = Field(
        description=f"Names of its next level, most items first (at most {MAX_SUBCATEGORIES})."
    )
    more_subcategories: int = Field(description="How many more next-level names there are.")


class BrandFacet(BaseModel):
    name: str = Field(description="The brand as the catalog spells it.")
    items: int = Field(description="In-stock items of the brand (in the listed category).")


class PriceRange(BaseModel):
    min: float | None = Field(description="Lowest in-stock price.")
    median: float | None = Field(description="Median in-stock price.")
    max: float | None = Field(description="Highest in-stock price.")
    currency: str | None = Field(description="ISO 4217 code every price is in.")


class PointFacet(BaseModel):
    name: str = Field(description="Pass it in get_personalization_decisions `points`.")
    label: str = Field(description="What the store calls it.")
    description: str = Field(description="What it is for.")
    content: str = Field(description="'Recommendations' (items) or 'ManualContent' (texts).")


class ListFacetsOutput(BaseModel):
    category: str | None = Field(description="The category listed, or null for the catalog.")
    items: int = Field(description="In-stock items in it.")
    currency: str | None = Field(description="The catalog's currency: every price is in it.")
    price: PriceRange = Field(description="In-stock prices in it.")
    categories: list[CategoryFacet] = Field(
        description=f"Its subcategories (the top levels without `category`), most items first, "
        f"at most {MAX_CATEGORIES}."
    )
    more_categories: int = Field(description="How many more subcategories there are.")
    brands: list[BrandFacet] = Field(
        description=f"Its main brands, most items first (at most {MAX_BRANDS})."
    )
    more_brands: int = Field(description="How many more brands there are.")
    personalization_points: list[PointFacet] = Field(
        description="The points get_personalization_decisions can decide ([] when none is "
        "configured)."
    )
    recommenders: list[str] = Field(description="Names get_recommendations takes as `recommender`.")


_lock = threading.Lock()
_cache: dict[tuple[int, str | None], tuple[CatalogSnapshot, ListFacetsOutput]] = {}


def _rows(snap: CatalogSnapshot, path: str | None) -> np.ndarray:
    """In-stock rows at or under `path` (every in-stock row without one)."""
    ok = np.asarray(snap.in_stock, dtype=np.bool_).copy()
    if path is None:
        return ok
    folded = path.casefold()
    codes, uniques = snap.column_codes("category")
    per_value = np.fromiter(
        (
            isinstance(v, str) and (v.casefold() == folded or v.casefold().startswith(folded + "/"))
            for v in uniques
        ),
        dtype=np.bool_,
        count=len(uniques),
    )
    ok &= per_value[codes]
    return ok


def _scope(snap: CatalogSnapshot, path: str | None) -> ListFacetsOutput:
    """Categories, brands and prices at or under `path` (points and recommenders left empty)."""
    rows = _rows(snap, path)
    depth = 0 if path is None else len(path.split("/"))
    children: dict[str, dict[str, int]] = {}
    counts: dict[str, int] = {}
    brands: dict[str, int] = {}
    for r in np.flatnonzero(rows):
        category = snap.category[r]
        parts = category.split("/") if category else []
        if len(parts) > depth:
            child = "/".join(parts[: depth + 1])
            counts[child] = counts.get(child, 0) + 1
            if len(parts) > depth + 1:
                grand = children.setdefault(child, {})
                grand[parts[depth + 1]] = grand.get(parts[depth + 1], 0) + 1
        brand = snap.brand[r]
        if brand:
            brands[brand] = brands.get(brand, 0) + 1
    ordered = sorted(counts, key=lambda c: (-counts[c], c))
    facets = []
    for child in ordered[:MAX_CATEGORIES]:
        subs = children.get(child, {})
        names = sorted(subs, key=lambda s: (-subs[s], s))
        facets.append(
            CategoryFacet(
                path=child,
                items=counts[child],
                subcategories=names[:MAX_SUBCATEGORIES],
                more_subcategories=max(0, len(names) - MAX_SUBCATEGORIES),
            )
        )
    top_brands = sorted(brands, key=lambda b: (-brands[b], b))
    prices = snap.price[rows]
    prices = prices[~np.isnan(prices)]
    has = len(prices) > 0
    currencies = {snap.items[r].currency for r in np.flatnonzero(rows)} - {None}
    currency = next(iter(currencies)) if len(currencies) == 1 else None
    return ListFacetsOutput(
        category=path,
        items=int(rows.sum()),
        currency=currency,
        price=PriceRange(
            min=float(prices.min()) if has else None,
            median=round(float(np.median(prices)), 2) if has else None,
            max=float(prices.max()) if has else None,
            currency=currency,
        ),
        categories=facets,
        more_categories=max(0, len(ordered) - MAX_CATEGORIES),
        brands=[BrandFacet(name=b, items=brands[b]) for b in top_brands[:MAX_BRANDS]],
        more_brands=max(0, len(top_brands) - MAX_BRANDS),
        personalization_points=[],
        recommenders=[],
    )


def points_facet(ctx: ToolContext) -> list[PointFacet]:
    """The active points of the store's decisioning, by name (none without decisions)."""
    if ctx.decisions is None:
        return []
    points = ctx.decisions.configs.points
    active = sorted((p for p in points.values() if p.status == "Active"), key=lambda p: p.name)
    return [
        PointFacet(
            name=p.name,
            label=p.label,
            description=p.description,
            content=p.content_schema.type,
        )
        for p in active[:MAX_POINTS]
    ]


def list_catalog_facets(ctx: ToolContext, data: ListFacetsInput) -> ListFacetsOutput:
    snap = ctx.recommend.snapshot()
    key = (id(snap), data.category)
    with _lock:
        hit = _cache.get(key)
    if hit is None or hit[0] is not snap:
        scope = _scope(snap, data.category)
        with _lock:
            if len(_cache) > 64:
                _cache.clear()
            _cache[key] = (snap, scope)
    else:
        scope = hit[1]
    return scope.model_copy(
        update={
            "personalization_points": points_facet(ctx),
            "recommenders": sorted(ctx.recommend.configs),
        }
    )
