"""Import files: CSV, JSONL and Parquet rows, column mappings, catalog rows into items."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest.files import (
    count_rows,
    flat_event_from_csv_row,
    item_from_row,
    parse_mapping,
    read_rows,
)


def test_parquet_rows_are_read_with_a_mapping_and_become_items(tmp_path: Path) -> None:
    path = tmp_path / "items.parquet"
    pq.write_table(
        pa.table(
            {
                "sku": ["a", "b"],
                "title": ["A", "B"],
                "price": [1.5, 2.0],
                "in_stock": ["yes", "0"],
                "color": ["red", None],
            }
        ),
        path,
    )
    assert count_rows(path) == 2
    items = [item_from_row(r) for r in read_rows(path, parse_mapping(["sku=id", "title=name"]))]
    assert [(i.id, i.name, i.price, i.in_stock) for i in items] == [
        ("a", "A", 1.5, True),
        ("b", "B", 2.0, False),
    ]
    assert items[0].attributes == {"color": "red"} and items[1].attributes == {}


def test_a_catalog_row_with_a_bad_price_says_which_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="price"):
        item_from_row({"id": "x", "price": "cheap"})
    with pytest.raises(InvalidInput, match="id"):
        item_from_row({"name": "no id"})


def test_csv_flat_events_put_extra_columns_in_attributes_and_drop_empty_cells(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.csv"
    path.write_text("individualId,interaction,itemId,price,store\nc1,view,i1,,Paris\n")
    rows = [flat_event_from_csv_row(r) for r in read_rows(path)]
    assert rows == [
        {
            "individualId": "c1",
            "interaction": "view",
            "itemId": "i1",
            "attributes": {"store": "Paris"},
        }
    ]


def test_a_mapping_must_be_source_equals_field() -> None:
    with pytest.raises(InvalidInput, match="source_column=field"):
        parse_mapping(["sku"])
