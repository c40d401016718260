"""The attribution aggregates: per UTC day, the exposure cells (one row per personalization
dimensions), the credit cells of each attribution setting, and one summary row per (day,
setting) that also marks the day as made.

Rows of a day are replaced whole (`write_days`: delete, then insert, in one transaction), so a
remade day never doubles. Sketches are opaque bytes to the store. '' stands for a missing
dimension (a value is never ''), `setting` '' for the exposure side.

Contracts as in `sql_store`: days are UTC day indexes (epoch seconds // 86,400); reads come
back in key order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, Float, LargeBinary, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from p13n.domain.store.sql_store import SqlStore
from p13n.domain.store.sql_store import table_of as _t

__all__ = [
    "AttributionStore",
    "AttributionExposureRow",
    "AttributionCreditRow",
    "AttributionDayRow",
    "CELL_DIMENSIONS",
    "DAY_COUNTERS",
]

CELL_DIMENSIONS = ("point", "decision", "recommender", "experiment", "cohort", "channel")
DAY_COUNTERS = (
    "conversions",
    "attributed",
    "attributed_orders",
    "attributed_cents",
    "order_cents",
    "unattributed_carts",
    "unattributed_orders",
    "unattributed_cents",
    "exposures",
    "unlinked",
    "revenue_missing",
)


def _key(name: str) -> Any:
    return Field(default="", sa_column=Column(name, Text, primary_key=True))


def _count(name: str) -> Any:
    return Field(default=0, sa_column=Column(name, BigInteger, nullable=False))


class AttributionExposureRow(SQLModel, table=True):
    __tablename__ = "attribution_exposures"
    day: int = Field(sa_column=Column("day", BigInteger, primary_key=True))
    point: str = _key("point")
    decision: str = _key("decision")
    recommender: str = _key("recommender")
    experiment: str = _key("experiment")
    cohort: str = _key("cohort")
    channel: str = _key("channel")
    impressions: int = _count("impressions")
    clicks: int = _count("clicks")
    requests: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))
    units: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))


class AttributionCreditRow(SQLModel, table=True):
    __tablename__ = "attribution_credits"
    day: int = Field(sa_column=Column("day", BigInteger, primary_key=True))
    setting: str = _key("setting")
    point: str = _key("point")
    decision: str = _key("decision")
    recommender: str = _key("recommender")
    experiment: str = _key("experiment")
    cohort: str = _key("cohort")
    channel: str = _key("channel")
    carts: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    orders: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    revenue_cents: int = _count("revenue_cents")
    units: float = Field(default=0.0, sa_column=Column(Float, nullable=False))


class AttributionDayRow(SQLModel, table=True):
    __tablename__ = "attribution_days"
    day: int = Field(sa_column=Column("day", BigInteger, primary_key=True))
    setting: str = _key("setting")
    conversions: int = _count("conversions")
    attributed: int = _count("attributed")
    attributed_orders: int = _count("attributed_orders")
    attributed_cents: int = _count("attributed_cents")
    order_cents: int = _count("order_cents")
    unattributed_carts: int = _count("unattributed_carts")
    unattributed_orders: int = _count("unattributed_orders")
    unattributed_cents: int = _count("unattributed_cents")
    exposures: int = _count("exposures")
    unlinked: int = _count("unlinked")
    revenue_missing: int = _count("revenue_missing")
    made_at: float = Field(default=0.0, sa_column=Column(Float, nullable=False))


_MODELS = (AttributionExposureRow, AttributionCreditRow, AttributionDayRow)


class AttributionStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._mark = "?" if store.db.dialect.name == "sqlite" else "%s"
        for model in _MODELS:
            _t(model).create(store.db, checkfirst=True)

    def days_made(self, setting: str, first: int, last: int) -> set[int]:
        """The days of [first, last) made for `setting` ('' : the exposure side)."""
        t = _t(AttributionDayRow)
        stmt = select(t.c.day).where(t.c.setting == setting, t.c.day >= first, t.c.day < last)
        with self.store.db.connect() as conn:
            return {int(d) for d in conn.execute(stmt).scalars()}

    def write_days(
        self,
        days: Sequence[int],
        setting: str,
        *,
        exposures: Sequence[dict[str, Any]] | None,
        credits: Sequence[dict[str, Any]],
        summaries: Sequence[dict[str, Any]],
    ) -> None:
        """Replace the rows of `days`: the setting's credits and summaries, and the exposure
        cells (with their '' summaries) when `exposures` is given, in one transaction."""
        if not days:
            return
        # another process making the same days at the same moment: theirs are the same
        with contextlib.suppress(IntegrityError):
            self._replace(list(days), setting, exposures, credits, summaries)

    def _replace(
        self,
        wanted: list[int],
        setting: str,
        exposures: Sequence[dict[str, Any]] | None,
        credits: Sequence[dict[str, Any]],
        summaries: Sequence[dict[str, Any]],
    ) -> None:
        with self.store.transaction() as conn:
            credit_t, day_t = _t(AttributionCreditRow), _t(AttributionDayRow)
            settings = [setting] if exposures is None else [setting, ""]
            conn.execute(
                delete(credit_t).where(credit_t.c.setting == setting, credit_t.c.day.in_(wanted))
            )
            conn.execute(
                delete(day_t).where(day_t.c.setting.in_(settings), day_t.c.day.in_(wanted))
            )
            if exposures is not None:
                exp_t = _t(AttributionExposureRow)
                conn.execute(delete(exp_t).where(exp_t.c.day.in_(wanted)))
                self._insert(conn, AttributionExposureRow, exposures)
            self._insert(conn, AttributionCreditRow, credits)
            self._insert(conn, AttributionDayRow, summaries)

    def _insert(self, conn: Any, model: Any, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        cols = list(rows[0])
        marks = ", ".join([self._mark] * len(cols))
        sql = f"INSERT INTO {_t(model).name} ({', '.join(cols)}) VALUES ({marks})"  # table and column names are the code's own; every value is a bound parameter  # nosec B608
        for start in range(0, len(rows), 1000):
            conn.exec_driver_sql(
                sql, [tuple(r[c] for c in cols) for r in rows[start : start + 1000]]
            )

    def exposures(self, first: int, last: int) -> list[dict[str, Any]]:
        return self._read(AttributionExposureRow, first, last, None)

    def credits(self, setting: str, first: int, last: int) -> list[dict[str, Any]]:
        return self._read(AttributionCreditRow, first, last, setting)

    def summaries(self, setting: str, first: int, last: int) -> list[dict[str, Any]]:
        return self._read(AttributionDayRow, first, last, setting)

    def _read(self, model: Any, first: int, last: int, setting: str | None) -> list[dict[str, Any]]:
        t = _t(model)
        stmt = select(t).where(t.c.day >= first, t.c.day < last)
        if setting is not None:
            stmt = stmt.where(t.c.setting == setting)
        stmt = stmt.order_by(*t.primary_key.columns)
        with self.store.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def clear(self) -> None:
        """Forget every made day (the next report makes them again from the raw log)."""
        with self.store.transaction() as conn:
            for model in _MODELS:
                conn.execute(delete(_t(model)))
