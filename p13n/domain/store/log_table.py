"""The personalization log table and its queries: one row per decision instance (per point
per request), and the engagement events that name it, ready for attribution.

Contracts as in `sql_store`: a missing id reads as None; times are UTC epoch seconds; lists come
back in time order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Column, Connection, Float, Index, Text, func, select
from sqlmodel import Field, SQLModel

from p13n.domain.store.migrations import add_missing_columns
from p13n.domain.store.sql_store import SqlStore
from p13n.domain.store.sql_store import table_of as _t
from p13n.domain.store.tables import EventRow

__all__ = [
    "PersonalizationLogRow",
    "PersonalizationLogStore",
    "ENGAGEMENT_INTERACTIONS",
    "LOG_COLUMNS",
]

ENGAGEMENT_INTERACTIONS = ("personalization-view", "personalization-click", "catalog-object-click")


class PersonalizationLogRow(SQLModel, table=True):
    """One decision instance. `content` is a JSON list of {contentId, id, rank};
    `diagnostics` the instance's diagnostic codes, space-separated (the request's too);
    `attribution` the referral context an agent platform sent with the request (UCP
    `attribution`: campaign and click ids, source and medium) as a JSON object, else null."""

    __tablename__ = "personalization_log"
    __table_args__ = (Index("ix_personalization_log_ts", "ts"),)
    personalization_id: str = Field(primary_key=True)
    request_id: str = Field(index=True)
    ts: float = Field(sa_column=Column(Float, nullable=False))
    point: str | None = None
    point_id: str | None = None
    decision: str | None = None
    recommender: str | None = None
    experiment: str | None = None
    cohort: str | None = None
    individual_id: str | None = None
    unified_id: str | None = Field(default=None, index=True)
    channel: str | None = None
    source: str = "api"
    status: int = 200
    content: str = Field(sa_column=Column(Text, nullable=False))
    augmenting_ms: float = 0.0
    qualifying_ms: float = 0.0
    personalizing_ms: float = 0.0
    total_ms: float = 0.0
    diagnostics: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    attribution: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


# Engagement events are found by the personalization id they carry.
_EVENTS_BY_PERSONALIZATION = Index(
    "ix_events_personalization_id", _t(EventRow).c.personalization_id
)
LOG_COLUMNS = tuple(c.name for c in _t(PersonalizationLogRow).columns)


# Columns added after a store was created, each with its definition: both databases add a
# nullable column or one with a constant default without rewriting the table.
_ADDED_COLUMNS = (
    ("diagnostics", "TEXT NOT NULL DEFAULT ''"),  # issue 12
    ("attribution", "TEXT"),  # issue 16: the UCP request's attribution
)


class PersonalizationLogStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        db = store.db
        _t(PersonalizationLogRow).create(db, checkfirst=True)
        _EVENTS_BY_PERSONALIZATION.create(db, checkfirst=True)
        add_missing_columns(db, _t(PersonalizationLogRow).name, _ADDED_COLUMNS)

    def append(
        self,
        rows: Sequence[Sequence[Any]],
        *,
        then: Callable[[Connection], None] | None = None,
    ) -> None:
        """Insert log rows, each a tuple of every column in `LOG_COLUMNS` order (`content` as JSON
        text), in one transaction; a repeated personalization id is ignored (at-least-once
        writers). Rows go to the driver in small batches: the driver releases the GIL while
        SQLite works, so request threads of the same process keep running. `then` runs in the
        same transaction after the rows (the pipeline aggregates), so both commit or neither."""
        if not rows:
            return
        mark = "?" if self.store.db.dialect.name == "sqlite" else "%s"
        sql = (
            f"INSERT INTO {_t(PersonalizationLogRow).name} ({', '.join(LOG_COLUMNS)}) "  # table and column names are the code's own; every value is a bound parameter  # nosec B608
            f"VALUES ({', '.join([mark] * len(LOG_COLUMNS))}) ON CONFLICT DO NOTHING"
        )
        with self.store.transaction() as conn:
            for start in range(0, len(rows), 128):
                conn.exec_driver_sql(sql, list(rows[start : start + 128]))
            if then is not None:
                then(conn)

    def rows_between(
        self, start: float, end: float, *, hours: int = 1
    ) -> Iterator[list[dict[str, Any]]]:
        """Every log row with `start` <= ts < `end` as a dict of `LOG_COLUMNS` (content left as
        JSON text), in pages of `hours` hours of log time, each page in one short read: a
        request's rows share one time, so a page never splits a request."""
        t = _t(PersonalizationLogRow)
        step = 3600.0 * hours
        low = start
        while low < end:
            high = min(low + step, end)
            with self.store.db.connect() as conn:
                found = conn.execute(select(t).where(t.c.ts >= low, t.c.ts < high)).all()
            if found:
                yield [dict(r._mapping) for r in found]
            low = high

    def get(self, personalization_id: str) -> dict[str, Any] | None:
        t = _t(PersonalizationLogRow)
        with self.store.db.connect() as conn:
            row = conn.execute(
                select(t).where(t.c.personalization_id == personalization_id)
            ).first()
        if row is None:
            return None
        entry = dict(row._mapping)
        entry["content"] = orjson.loads(entry["content"])
        if entry.get("attribution") is not None:
            entry["attribution"] = orjson.loads(entry["attribution"])
        return entry

    def of_request(self, request_id: str) -> list[dict[str, Any]]:
        t = _t(PersonalizationLogRow)
        with self.store.db.connect() as conn:
            ids = conn.execute(
                select(t.c.personalization_id).where(t.c.request_id == request_id).order_by(t.c.ts)
            ).scalars()
            wanted = list(ids)
        return [e for e in (self.get(i) for i in wanted) if e is not None]

    def of_units(self, unified_ids: Sequence[str], *, limit: int = 50) -> list[dict[str, Any]]:
        """The latest `limit` rows logged for any of `unified_ids` (a person and the ids merged
        into them), newest first, `content` parsed; [] for none."""
        if not unified_ids:
            return []
        t = _t(PersonalizationLogRow)
        stmt = (
            select(t)
            .where(t.c.unified_id.in_(list(unified_ids)))
            .order_by(t.c.ts.desc(), t.c.personalization_id)
            .limit(limit)
        )
        with self.store.db.connect() as conn:
            found = [dict(r._mapping) for r in conn.execute(stmt).all()]
        for entry in found:
            entry["content"] = orjson.loads(entry["content"])
        return found

    def events_naming(self, personalization_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every event that carries one of `personalization_ids` (views, clicks, carts, orders
        sent with the personalizationId), oldest first: what a person did with what they saw."""
        if not personalization_ids:
            return []
        t = _t(EventRow)
        stmt = (
            select(
                t.c.ts,
                t.c.interaction,
                t.c.item_id,
                t.c.value,
                t.c.personalization_id,
            )
            .where(t.c.personalization_id.in_(list(personalization_ids)))
            .order_by(t.c.ts, t.c.seq)
        )
        with self.store.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt).all()]

    def count(self) -> int:
        t = _t(PersonalizationLogRow)
        with self.store.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)

    def engagements(self, personalization_id: str) -> list[dict[str, Any]]:
        """Events carrying this personalization id, oldest first, with the content id they name."""
        t = _t(EventRow)
        stmt = (
            select(
                t.c.event_id,
                t.c.ts,
                t.c.interaction,
                t.c.item_id,
                t.c.unified_id,
                t.c.value,
                t.c.payload,
            )
            .where(t.c.personalization_id == personalization_id)
            .order_by(t.c.ts, t.c.seq)
        )
        with self.store.db.connect() as conn:
            rows = conn.execute(stmt).all()
        out = []
        for row in rows:
            payload = orjson.loads(row.payload)
            out.append(
                {
                    "eventId": row.event_id,
                    "ts": row.ts,
                    "interaction": row.interaction,
                    "itemId": row.item_id,
                    "unifiedIndividualId": row.unified_id,
                    "value": row.value,
                    "personalizationContentId": payload.get("personalizationContentId"),
                }
            )
        return out
