"""Columns added to a table after stores were made with it: added in place when a store opens
(`ALTER TABLE … ADD COLUMN`, the same on SQLite and PostgreSQL), so an older store keeps its
rows and gains the column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect, text

__all__ = ["add_missing_columns"]


def add_missing_columns(db: Any, table: str, columns: Sequence[tuple[str, str]]) -> None:
    """Each (name, SQL definition) of `columns` that `table` lacks, added."""
    present = {c["name"] for c in inspect(db).get_columns(table)}
    for column, definition in columns:
        if column not in present:
            with db.begin() as conn:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {definition}"))
