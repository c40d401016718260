"""The catalog as row-aligned numpy arrays: what every recipe scores over at request time.

Built from the engine's items and item graphs (no SQL) whenever the catalog or the item
insights should be refreshed; serving only reads it. Row order is the sorted item ids, so a
snapshot built twice from the same data is identical.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from p13n.domain.graphs import TRENDING_PRIOR, ItemGraph
from p13n.domain.ingest import Item
from p13n.domain.operators import as_timestamp
from p13n.domain.timeutil import day_index, to_ts

__all__ = ["CatalogSnapshot", "build_snapshot", "FloatArray", "IntArray", "BoolArray"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class CatalogSnapshot:
    """Row-aligned item facts. `insights[name][row]` holds the item insight values."""

    built_at: float
    ids: list[str]
    items: list[Item]
    row: dict[str, int]
    price: FloatArray
    in_stock: BoolArray
    created: FloatArray
    insights: dict[str, FloatArray]
    co_viewed: sparse.csr_matrix
    co_bought: sparse.csr_matrix
    category: list[str]
    brand: list[str]
    vectors: npt.NDArray[np.float32] | None = None
    has_vector: BoolArray | None = None
    _columns: dict[str, list[Any]] = field(default_factory=dict)
    _codes: dict[str, tuple[IntArray, list[Any]]] = field(default_factory=dict)
    _numeric: dict[str, FloatArray | None] = field(default_factory=dict)
    _folded: dict[str, tuple[IntArray, dict[str, int]]] = field(default_factory=dict)
    masks: dict[tuple[Any, ...], BoolArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def value(self, row: int, name: str) -> Any:
        """The value of an item field (`check_item_field` names) for one row; None if absent."""
        if name.startswith("insights."):
            return float(self.insights[name[9:]][row])
        item = self.items[row]
        if name.startswith("attributes."):
            return item.attributes.get(name[11:])
        if name == "created_at":
            return None if math.isnan(self.created[row]) else float(self.created[row])
        return getattr(item, name, None)

    def numeric_column(self, name: str) -> FloatArray:
        """A float column for sorting (NaN where absent or not numeric), cached per snapshot."""
        if name == "price":
            return self.price
        if name == "created_at":
            return self.created
        if name.startswith("insights."):
            return self.insights[name[9:]]
        cached = self._columns.get(name)
        if cached is None:
            cached = [self.value(r, name) for r in range(len(self))]
            self._columns[name] = cached
        out = np.full(len(self), np.nan)
        for r, v in enumerate(cached):
            ts = as_timestamp(v) if v is not None and not isinstance(v, bool) else None
            if ts is not None:
                out[r] = ts
        return out

    def column_codes(self, name: str) -> tuple[IntArray, list[Any]]:
        """The field factorized: a code per row and the distinct values (cached per snapshot),
        so that a condition is tested once per distinct value instead of once per row."""
        cached = self._codes.get(name)
        if cached is None:
            index: dict[Any, int] = {}
            uniques: list[Any] = []
            codes = np.empty(len(self), dtype=np.int64)
            for r in range(len(self)):
                v = self.value(r, name)
                key = _key(v)
                c = index.get(key)
                if c is None:
                    c = index[key] = len(uniques)
                    uniques.append(v)
                codes[r] = c
            cached = (codes, uniques)
            self._codes[name] = cached
        return cached

    def folded_codes(self, name: str) -> tuple[IntArray, dict[str, int]]:
        """Per distinct value of the field (see `column_codes`): an id of its casefolded text,
        -1 for values that are not non-blank text; and the casefolded text -> id map."""
        cached = self._folded.get(name)
        if cached is None:
            _, uniques = self.column_codes(name)
            index: dict[str, int] = {}
            ids = np.full(len(uniques), -1, dtype=np.int64)
            for k, v in enumerate(uniques):
                if isinstance(v, str) and v.strip():
                    ids[k] = index.setdefault(v.casefold(), len(index))
            cached = (ids, index)
            self._folded[name] = cached
        return cached

    def numeric_values(self, name: str) -> FloatArray | None:
        """The field as floats (NaN where absent) when every present value is a finite int or
        float (not a bool); else None. Cached per snapshot."""
        if name in self._numeric:
            return self._numeric[name]
        out: FloatArray | None
        if name == "price":
            out = self.price
        elif name == "created_at":
            out = self.created
        elif name.startswith("insights."):
            out = self.insights[name[9:]]
        else:
            codes, uniques = self.column_codes(name)
            vals = np.full(len(uniques), np.nan)
            out = vals
            for k, v in enumerate(uniques):
                if v is None:
                    continue
                if isinstance(v, bool) or not isinstance(v, int | float):
                    out = None
                    break
                vals[k] = float(v)
            if out is not None:
                out = vals[codes]
        if out is not None and np.isinf(out).any():
            out = None
        self._numeric[name] = out
        return out

    def rows_of(self, ids: list[str]) -> list[int]:
        return [self.row[i] for i in ids if i in self.row]


def _key(value: Any) -> Any:
    """A hashable key that keeps values of different types apart (True is not 1)."""
    if isinstance(value, list | tuple):
        return ("list", tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), _key(v)) for k, v in value.items())))
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    try:
        hash(value)
    except TypeError:
        return ("repr", repr(value))
    return (type(value).__name__, value)


def _windows(graph: ItemGraph | None, today: int) -> list[float]:
    """views 1/7/30d, units 1/7/30d, revenue 30d from the day buckets."""
    out = [0.0] * 7
    if graph is None:
        return out
    for key, (views, units, revenue) in graph.buckets.items():
        age = today - int(key)
        if age < 0 or age >= 30:
            continue
        out[2] += views
        out[5] += units
        out[6] += revenue
        if age < 7:
            out[1] += views
            out[4] += units
        if age < 1:
            out[0] += views
            out[3] += units
    return out


def _co_matrix(
    ids: list[str], row: dict[str, int], tables: Sequence[Mapping[str, float]]
) -> sparse.csr_matrix:
    """Normalized co-occurrence: c(a,b) / sqrt(mass(a) * mass(b)), mass = the row's total."""
    r, c, v = [], [], []
    for a, table in enumerate(tables):
        for other, count in table.items():
            b = row.get(other)
            if b is not None and b != a and count > 0:
                r.append(a)
                c.append(b)
                v.append(float(count))
    n = len(ids)
    m = sparse.csr_matrix((v, (r, c)), shape=(n, n), dtype=np.float64)
    m = ((m + m.T) * 0.5).tocsr()  # partner tables are truncated per item; make it symmetric
    mass = np.asarray(m.sum(axis=1)).ravel()
    inv = np.where(mass > 0, 1.0 / np.sqrt(np.maximum(mass, 1e-12)), 0.0)
    d = sparse.diags(inv)
    return (d @ m @ d).tocsr()


def build_snapshot(
    items: Mapping[str, Item], graphs: Mapping[str, ItemGraph], now: float
) -> CatalogSnapshot:
    """Arrays for every non-placeholder item, insights computed for `now`."""
    ids = sorted(i for i, item in items.items() if not item.placeholder)
    row = {item_id: r for r, item_id in enumerate(ids)}
    n = len(ids)
    its = [items[i] for i in ids]
    today = day_index(now)
    win = np.array([_windows(graphs.get(i), today) for i in ids], dtype=np.float64).reshape(n, 7)
    totals = np.array(
        [
            (g.views_total, g.units_sold_total, g.revenue_total) if g else (0.0, 0.0, 0.0)
            for g in (graphs.get(i) for i in ids)
        ],
        dtype=np.float64,
    ).reshape(n, 3)
    baseline = (win[:, 2] + 2 * win[:, 5]) / 30.0
    trending = (win[:, 0] + 2 * win[:, 3] + TRENDING_PRIOR) / (baseline + TRENDING_PRIOR)
    insights = {
        "views_1d": win[:, 0],
        "views_7d": win[:, 1],
        "views_30d": win[:, 2],
        "units_sold_1d": win[:, 3],
        "units_sold_7d": win[:, 4],
        "units_sold_30d": win[:, 5],
        "revenue_30d": win[:, 6],
        "views_total": totals[:, 0],
        "units_sold_total": totals[:, 1],
        "revenue_total": totals[:, 2],
        "trending_score": np.round(trending, 3),
    }
    empty: dict[str, float] = {}
    co_v = [(graphs[i].co_viewed if i in graphs else empty) for i in ids]
    co_b = [(graphs[i].co_bought if i in graphs else empty) for i in ids]
    return CatalogSnapshot(
        built_at=now,
        ids=ids,
        items=its,
        row=row,
        price=np.array([np.nan if i.price is None else i.price for i in its], dtype=np.float64),
        in_stock=np.array([i.in_stock for i in its], dtype=np.bool_),
        created=np.array(
            [np.nan if i.created_at is None else to_ts(i.created_at) for i in its],
            dtype=np.float64,
        ),
        insights=insights,
        co_viewed=_co_matrix(ids, row, co_v),
        co_bought=_co_matrix(ids, row, co_b),
        category=[i.category or "" for i in its],
        brand=[i.brand or "" for i in its],
    )
