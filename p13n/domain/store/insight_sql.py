"""SQL aggregates over the event log for batch insights (SQLAlchemy Core; SQLite and PostgreSQL).

The store knows nothing of insight definitions: callers pass plain parameters, so the fence
between the domain and the database stays one-directional.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, Table, distinct, func, select

from p13n.domain.store.port import AggregateMeasure
from p13n.domain.store.tables import EventRow

__all__ = ["AggregateMeasure", "AggregateRow", "aggregate_events", "event_unified_ids"]

AggregateRow = tuple[str, str | None, Any]
_TEXT_COLUMNS = frozenset(
    {"item_id", "order_id", "session_id", "category", "brand", "channel", "interaction"}
)
_COLUMNS = _TEXT_COLUMNS | {"value", "price", "quantity", "ts"}


def _events() -> Table:
    table: Table = EventRow.__table__  # type: ignore[attr-defined]
    return table


def event_unified_ids(db: Engine) -> list[str]:
    """Every unified id with at least one event in the log, sorted."""
    events = _events()
    stmt = select(events.c.unified_id).distinct().order_by(events.c.unified_id)
    with db.connect() as conn:
        return [row[0] for row in conn.execute(stmt)]


def aggregate_events(
    db: Engine,
    *,
    measure: AggregateMeasure,
    field: str | None,
    interactions: Sequence[str] = (),
    since: float | None = None,
    dimension: str | None = None,
) -> list[AggregateRow]:
    """Rows (unified_id, dimension value or None, aggregate), one per individual and key.

    Rows are filtered to `interactions` (empty = all) and `ts >= since`; rows whose `field` or
    `dimension` is NULL are left out (all rows count for `count`). Individuals with no matching
    row are absent. `last` is the field of the row with the greatest (ts, seq).
    """
    _check_column(field, allow_none=measure == "count")
    _check_column(dimension, allow_none=True)
    if dimension is not None and dimension not in _TEXT_COLUMNS:
        raise ValueError(f"dimension must be a text column, got {dimension!r}")
    stmt = _statement(measure, field, tuple(interactions), since, dimension)
    with db.connect() as conn:
        return [
            (row[0], row[1] if dimension is not None else None, row[-1])
            for row in conn.execute(stmt)
        ]


def _check_column(name: str | None, *, allow_none: bool) -> None:
    if name is None and allow_none:
        return
    if name not in _COLUMNS:
        raise ValueError(f"not an aggregatable event column: {name!r}")


def _statement(
    measure: AggregateMeasure,
    field: str | None,
    interactions: tuple[str, ...],
    since: float | None,
    dimension: str | None,
) -> Select[Any]:
    events = _events()
    where: list[ColumnElement[bool]] = []
    if interactions:
        where.append(events.c.interaction.in_(interactions))
    if since is not None:
        where.append(events.c.ts >= since)
    if field is not None and measure != "count":
        where.append(events.c[field].is_not(None))
    group: list[ColumnElement[Any]] = [events.c.unified_id]
    if dimension is not None:
        where.append(events.c[dimension].is_not(None))
        group.append(events.c[dimension])
    if measure == "last":
        assert field is not None
        rank = func.row_number().over(
            partition_by=group, order_by=(events.c.ts.desc(), events.c.seq.desc())
        )
        ranked = select(*group, events.c[field].label("v"), rank.label("rn")).where(*where)
        inner = ranked.subquery("ranked")
        keep = [inner.c.unified_id] + ([inner.c[dimension]] if dimension is not None else [])
        return select(*keep, inner.c.v).where(inner.c.rn == 1)
    return select(*group, _aggregate(measure, field).label("v")).where(*where).group_by(*group)


def _aggregate(measure: AggregateMeasure, field: str | None) -> ColumnElement[Any]:
    if measure == "count":
        return func.count()
    assert field is not None
    column = _events().c[field]
    if measure == "distinct_count":
        return func.count(distinct(column))
    if measure == "sum":
        return func.sum(column)
    if measure == "min":
        return func.min(column)
    if measure == "max":
        return func.max(column)
    return func.avg(column)
