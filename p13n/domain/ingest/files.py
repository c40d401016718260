"""Read import files (CSV, JSONL, Parquet) as rows, with an optional column mapping."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest.items import Item
from p13n.domain.ingest.validate import UnreadableRow, describe_validation_error

__all__ = ["read_rows", "count_rows", "parse_mapping", "item_from_row", "flat_event_from_csv_row"]

_FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
_ITEM_FIELDS = set(Item.model_fields) - {"attributes"}
_FLAT_NUMERIC = {"quantity", "price"}
_FLAT_FIELDS = {
    "eventId",
    "individualId",
    "deviceId",
    "sessionId",
    "interaction",
    "itemId",
    "quantity",
    "price",
    "orderId",
    "currency",
    "dateTime",
    "channel",
    "personalizationId",
    "personalizationContentId",
}


def _format(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"cannot read '{path.name}': use a .csv, .jsonl or .parquet file.")
    if not path.exists():
        raise InvalidInput(f"no file '{path}'.")
    return fmt


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """['source_col=field', ...] -> {source_col: field}."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        src, sep, dest = pair.partition("=")
        if not sep or not src or not dest:
            raise InvalidInput(f"bad mapping '{pair}': write it as source_column=field.")
        mapping[src] = dest
    return mapping


def count_rows(path: Path) -> int:
    fmt = _format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as fh:
        lines = sum(1 for line in fh if line.strip())
    return lines - 1 if fmt == "csv" else lines


def read_rows(path: Path, mapping: Mapping[str, str] | None = None) -> Iterator[Any]:
    """Yield each row as a dict (JSONL lines that are not objects are yielded as they are)."""
    fmt = _format(path)
    mapping = mapping or {}
    for row in _raw_rows(path, fmt):
        if mapping and isinstance(row, dict):
            row = {mapping.get(k, k): v for k, v in row.items()}
        yield row


def _raw_rows(path: Path, fmt: str) -> Iterator[Any]:
    if fmt == "jsonl":
        with path.open("rb") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    yield UnreadableRow(f"line {number} is not valid JSON: {exc}")
    elif fmt == "csv":
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                yield {k: (v if v != "" else None) for k, v in row.items() if k}
    else:
        import pyarrow.parquet as pq

        table = pq.ParquetFile(path)
        for batch in table.iter_batches(batch_size=10_000):
            yield from batch.to_pylist()


def item_from_row(row: Any) -> Item:
    """A catalog row -> Item; columns that are not item fields go into `attributes`."""
    if not isinstance(row, dict):
        raise InvalidInput(
            str(row) if isinstance(row, UnreadableRow) else "a catalog row must be an object"
        )
    fields = {k: v for k, v in row.items() if k in _ITEM_FIELDS and v is not None}
    attrs = dict(row.get("attributes") or {}) if isinstance(row.get("attributes"), dict) else {}
    attrs.update(
        {
            k: v
            for k, v in row.items()
            if k not in _ITEM_FIELDS and k != "attributes" and v is not None
        }
    )
    if "id" in fields:
        fields["id"] = str(fields["id"])
    if isinstance(fields.get("in_stock"), str):
        fields["in_stock"] = fields["in_stock"].strip().lower() in ("1", "true", "yes", "y")
    try:
        return Item.model_validate({**fields, "attributes": attrs})
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from None


def flat_event_from_csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """CSV cells are text: numbers are parsed by validation; extra columns become attributes."""
    event = {k: v for k, v in row.items() if k in _FLAT_FIELDS and v is not None}
    extra = {k: v for k, v in row.items() if k not in _FLAT_FIELDS and v is not None}
    if extra:
        event["attributes"] = extra
    return event
