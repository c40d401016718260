"""Request-level item filters (price range, categories, brands, in stock) as a row mask.

Agents and searches narrow a request without a stored recommender config: the filter is
AND-ed with the recommender's own filters and switches. It is tested once per distinct
category / brand value of the snapshot and with numpy on prices, never row by row.

A category matches an item whose category path equals it or starts with it (`Women` matches
`Women/Tops & Blouses`), or, for a single name, has it as any level (`Tops & Blouses`);
brands match exactly; both case-insensitively. `in_stock_only=False` adds no condition (the
recommender's own in-stock switch still applies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from p13n.domain.recommend.snapshot import BoolArray, CatalogSnapshot

__all__ = ["ItemFilter"]

_MASK_CACHE = 256  # as many as the compiled filters keep (filters.py)


@dataclass(frozen=True)
class ItemFilter:
    min_price: float | None = None
    max_price: float | None = None
    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    in_stock_only: bool = False

    def is_empty(self) -> bool:
        return (
            self.min_price is None
            and self.max_price is None
            and not self.categories
            and not self.brands
            and not self.in_stock_only
        )

    def describe(self) -> str:
        """The conditions in words, for messages ("price ≤ 50, brand Nike")."""
        parts: list[str] = []
        if self.min_price is not None:
            parts.append(f"price >= {self.min_price:g}")
        if self.max_price is not None:
            parts.append(f"price <= {self.max_price:g}")
        if self.categories:
            parts.append("category in " + ", ".join(self.categories))
        if self.brands:
            parts.append("brand in " + ", ".join(self.brands))
        if self.in_stock_only:
            parts.append("in stock")
        return "; ".join(parts) or "no filter"

    def mask(self, snap: CatalogSnapshot) -> BoolArray | None:
        """Rows that pass every condition; None when there is no condition. Kept with the
        snapshot's other masks, so a filter repeated across requests is computed once."""
        if self.is_empty():
            return None
        key = ("item_filter", self)
        cached = snap.masks.get(key)
        if cached is not None:
            return cached
        ok = self._mask(snap)
        if len(snap.masks) >= _MASK_CACHE:
            snap.masks.pop(next(iter(snap.masks)))
        snap.masks[key] = ok
        return ok

    def _mask(self, snap: CatalogSnapshot) -> BoolArray:
        ok = np.ones(len(snap), dtype=np.bool_)
        with np.errstate(invalid="ignore"):
            if self.min_price is not None:
                ok &= snap.price >= self.min_price
            if self.max_price is not None:
                ok &= snap.price <= self.max_price
        if self.in_stock_only:
            ok &= snap.in_stock
        if self.categories:
            ok &= _per_value(snap, "category", _category_test(self.categories))
        if self.brands:
            wanted = {b.strip().casefold() for b in self.brands}
            ok &= _per_value(snap, "brand", lambda v: v.strip().casefold() in wanted)
        return ok


def _category_test(categories: tuple[str, ...]) -> Callable[[str], bool]:
    paths = ["/".join(p.strip() for p in c.split("/") if p.strip()).casefold() for c in categories]
    levels = {p for p in paths if "/" not in p}

    def test(value: str) -> bool:
        folded = value.casefold()
        if any(folded == p or folded.startswith(p + "/") for p in paths):
            return True
        return any(part in levels for part in folded.split("/"))

    return test


def _per_value(snap: CatalogSnapshot, field: str, test: Callable[[str], bool]) -> BoolArray:
    """`test` applied once per distinct text value of `field`, spread to the rows."""
    codes, uniques = snap.column_codes(field)
    per_value = np.fromiter(
        (isinstance(v, str) and bool(v.strip()) and test(v) for v in uniques),
        dtype=np.bool_,
        count=len(uniques),
    )
    out: BoolArray = per_value[codes]
    return out
