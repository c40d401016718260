"""The pipeline aggregates: one row per (UTC hour, channel, point) of the decision pipeline,
and one per (hour, status, reason) of ingest counts.

Counters are columns; the sketches (individuals, timing histograms, diagnostics) are one
`state` blob whose merge the caller supplies (the store does not know its format). Written by
the personalization log's writer inside its batch transaction (`merge_hours`), so an hour's row
and the log rows it counts commit together. Several processes may write: a row is first
created if missing, then read under a row lock (`FOR UPDATE` on PostgreSQL; on SQLite the
transaction already holds the database's write lock) and updated.

Contracts as in `sql_store`: times are UTC epoch seconds; '' stands for a missing channel or point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Column, Connection, LargeBinary, Text, select, tuple_
from sqlmodel import Field, SQLModel

from p13n.domain.store.sql_store import SqlStore
from p13n.domain.store.sql_store import table_of as _t

__all__ = ["PIPELINE_COUNTERS", "IngestHourRow", "PipelineHourRow", "PipelineStore"]

PIPELINE_COUNTERS = ("requests", "point_requests", "points", "served", "decisions")
_KEY_CHUNK = 200


class PipelineHourRow(SQLModel, table=True):
    __tablename__ = "pipeline_hours"
    hour: int = Field(sa_column=Column(BigInteger, primary_key=True))
    channel: str = Field(sa_column=Column(Text, primary_key=True))
    point: str = Field(sa_column=Column(Text, primary_key=True))
    requests: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    point_requests: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    points: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    served: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    decisions: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    state: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))


class PipelineDayRow(SQLModel, table=True):
    """One closed UTC day of `PipelineHourRow`s merged (the hours of a 30-day report by day
    would be thousands of sketches to decode; its days are a few hundred)."""

    __tablename__ = "pipeline_days"
    day: int = Field(sa_column=Column(BigInteger, primary_key=True))
    channel: str = Field(sa_column=Column(Text, primary_key=True))
    point: str = Field(sa_column=Column(Text, primary_key=True))
    requests: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    point_requests: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    points: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    served: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    decisions: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    state: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))


class PipelineDayMadeRow(SQLModel, table=True):
    """A day whose `PipelineDayRow`s are made (a day without traffic has none)."""

    __tablename__ = "pipeline_days_made"
    day: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class IngestHourRow(SQLModel, table=True):
    __tablename__ = "ingest_hours"
    hour: int = Field(sa_column=Column(BigInteger, primary_key=True))
    status: str = Field(sa_column=Column(Text, primary_key=True))
    reason: str = Field(sa_column=Column(Text, primary_key=True))
    n: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


Key = tuple[int, str, str]
S = TypeVar("S")


class PipelineStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._mark = "?" if store.db.dialect.name == "sqlite" else "%s"
        self._pg = store.db.dialect.name == "postgresql"
        for model in (PipelineHourRow, PipelineDayRow, PipelineDayMadeRow, IngestHourRow):
            _t(model).create(store.db, checkfirst=True)

    def merge_hours(
        self,
        conn: Connection,
        deltas: Mapping[Key, tuple[Mapping[str, int], S]],
        merge: Callable[[bytes | None, S], bytes],
    ) -> None:
        """Add (counters, state) per key to the stored hours in the caller's transaction;
        `merge(old_state, new_state)` gives the stored blob (old is None for a new row; the
        new state is whatever the caller's `merge` reads: bytes, or the batch's own bucket)."""
        if not deltas:
            return
        t = _t(PipelineHourRow)
        m = self._mark
        keys = sorted(deltas)  # one lock order for every writer
        conn.exec_driver_sql(
            f"INSERT INTO {t.name} (hour, channel, point, requests, point_requests, points, "  # table and column names are the code's own; every value is a bound parameter  # nosec B608
            f"served, decisions, state) VALUES ({m}, {m}, {m}, 0, 0, 0, 0, 0, {m}) "
            "ON CONFLICT DO NOTHING",
            [(h, c, p, b"") for h, c, p in keys],
        )
        stored: dict[Key, Any] = {}
        for start in range(0, len(keys), _KEY_CHUNK):
            chunk = keys[start : start + _KEY_CHUNK]
            stmt = select(t).where(tuple_(t.c.hour, t.c.channel, t.c.point).in_(chunk))
            if self._pg:
                stmt = stmt.with_for_update()
            for row in conn.execute(stmt):
                stored[(row.hour, row.channel, row.point)] = row
        updates = []
        for key in keys:
            counters, state = deltas[key]
            old = stored[key]
            sums = [int(getattr(old, c)) + int(counters.get(c, 0)) for c in PIPELINE_COUNTERS]
            blob = merge(bytes(old.state) if old.state else None, state)
            updates.append((*sums, blob, *key))
        sets = ", ".join(f"{c} = {m}" for c in (*PIPELINE_COUNTERS, "state"))
        conn.exec_driver_sql(
            f"UPDATE {t.name} SET {sets} WHERE hour = {m} AND channel = {m} AND point = {m}",  # table and column names are the code's own; every value is a bound parameter  # nosec B608
            updates,
        )

    def add_ingest(self, conn: Connection, counts: Mapping[tuple[int, str, str], int]) -> None:
        """Add ingest counts per (hour, status, reason) in the caller's transaction."""
        if not counts:
            return
        t, m = _t(IngestHourRow).name, self._mark
        conn.exec_driver_sql(
            f"INSERT INTO {t} (hour, status, reason, n) VALUES ({m}, {m}, {m}, {m}) "  # table and column names are the code's own; every value is a bound parameter  # nosec B608
            f"ON CONFLICT (hour, status, reason) DO UPDATE SET n = {t}.n + excluded.n",
            [(h, s, r, n) for (h, s, r), n in sorted(counts.items())],
        )

    def hours(self, start: int, end: int) -> list[dict[str, Any]]:
        """Stored pipeline rows with `start` <= hour < `end`, in key order."""
        t = _t(PipelineHourRow)
        stmt = (
            select(t)
            .where(t.c.hour >= start, t.c.hour < end)
            .order_by(t.c.hour, t.c.channel, t.c.point)
        )
        with self.store.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def days(self, start: int, end: int) -> tuple[set[int], list[dict[str, Any]]]:
        """(the days made among [start, end), their rows in key order); `start`, `end` and
        the days are UTC epoch seconds of midnight."""
        t, made = _t(PipelineDayRow), _t(PipelineDayMadeRow)
        with self.store.db.connect() as conn:
            found = set(
                conn.execute(
                    select(made.c.day).where(made.c.day >= start, made.c.day < end)
                ).scalars()
            )
            stmt = (
                select(t)
                .where(t.c.day >= start, t.c.day < end)
                .order_by(t.c.day, t.c.channel, t.c.point)
            )
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        return {int(d) for d in found}, rows

    def write_days(self, days: Sequence[int], rows: Sequence[dict[str, Any]]) -> None:
        """Store made days and their rows (another process making the same days: theirs are
        the same, so a conflict keeps the first)."""
        t, made, m = _t(PipelineDayRow), _t(PipelineDayMadeRow), self._mark
        cols = ("day", "channel", "point", *PIPELINE_COUNTERS, "state")
        with self.store.transaction() as conn:
            if rows:
                conn.exec_driver_sql(
                    f"INSERT INTO {t.name} ({', '.join(cols)}) VALUES "  # table and column names are the code's own; every value is a bound parameter  # nosec B608
                    f"({', '.join([m] * len(cols))}) ON CONFLICT DO NOTHING",
                    [tuple(r[c] for c in cols) for r in rows],
                )
            conn.exec_driver_sql(
                f"INSERT INTO {made.name} (day) VALUES ({m}) ON CONFLICT DO NOTHING",  # table and column names are the code's own; every value is a bound parameter  # nosec B608
                [(d,) for d in days],
            )

    def ingest_hours(self, start: int, end: int) -> list[tuple[int, str, str, int]]:
        """(hour, status, reason, n) with `start` <= hour < `end`, in key order."""
        t = _t(IngestHourRow)
        stmt = (
            select(t.c.hour, t.c.status, t.c.reason, t.c.n)
            .where(t.c.hour >= start, t.c.hour < end)
            .order_by(t.c.hour, t.c.status, t.c.reason)
        )
        with self.store.db.connect() as conn:
            return [(int(h), str(s), str(r), int(n)) for h, s, r, n in conn.execute(stmt)]
