"""The relational store behind small methods: the SQL implementation of the `Store` port.

The contracts are the port's (`port.py`): reads of a missing key return None (never raise);
lists come back in insertion (`seq`) order unless said otherwise; times are UTC epoch seconds.
Every write method takes the open connection of the caller's transaction (the port's opaque
`Transaction`) so that one batch of events commits atomically. `db` is the SQLAlchemy engine.
It is long because it implements the whole port (one short method per port call); the tables
outside the port live in their own modules (`identity_store`, `keys_store`, `log_table`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    Table,
    and_,
    case,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError

from p13n.domain.store.faults import store_fault
from p13n.domain.store.identity_tables import IdentitySplit
from p13n.domain.store.insight_sql import AggregateMeasure, aggregate_events, event_unified_ids
from p13n.domain.store.tables import (
    ConfigObject,
    ConsentRecord,
    ConsentStateRow,
    EventRow,
    IdentityLink,
    IndividualRow,
    ItemGraphDoc,
    ItemRow,
    Meta,
    ProfileDoc,
    SourceRecord,
)
from p13n.domain.store.wal import WalCheckpointer

__all__ = ["SqlStore", "table_of", "driver_rows"]

_IN_CHUNK = 500


def driver_rows(db: Any, stmt: Any) -> list[tuple[Any, ...]]:
    """The rows of a Core `stmt` as the driver's tuples: compiled by SQLAlchemy, run on the
    driver's cursor. SQLAlchemy's own rows cost as much again when a read returns millions
    (Measure's folds); only for columns that need no type processing."""
    with db.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.params
        args: Any = (
            tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional else params
        )
        cursor = conn.connection.cursor()
        try:
            cursor.execute(str(compiled), args)
            return [tuple(r) for r in cursor.fetchall()]
        finally:
            cursor.close()


def _t(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


table_of = _t


class SqlStore:
    def __init__(self, db: Engine) -> None:
        self.db = db
        self._dialect = db.dialect.name
        self._checkpointer: WalCheckpointer | None = None
        database = db.url.database
        if self._dialect == "sqlite" and database and database != ":memory:":

            @event.listens_for(db, "connect")
            def _no_autocheckpoint(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")

            db.dispose()  # pooled connections pick up the pragma
            self._checkpointer = WalCheckpointer(database)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction; a store refusing it (read-only, full, down) is `StoreUnavailable`."""
        try:
            with self.db.begin() as conn:
                yield conn
        except DBAPIError as exc:
            fault = store_fault(exc)
            if fault is None:
                raise
            raise fault from exc

    def pages(
        self, stmt: Select[Any], key: ColumnElement[Any], *, after: Any, batch: int
    ) -> Iterator[list[Row[Any]]]:
        """Rows of `stmt` with `key` > `after`, in key order, in batches (keyset pagination: one
        short connection per batch, so a long scan never holds a read transaction open).
        `stmt` must select `key`."""
        while True:
            with self.db.connect() as conn:
                rows = conn.execute(stmt.where(key > after).order_by(key).limit(batch)).all()
            if not rows:
                return
            after = rows[-1]._mapping[key]
            yield list(rows)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.db.dispose()

    # -- bulk writes ------------------------------------------------------------------------
    # Written as plain SQL through the driver's executemany: the hot path of ingest inserts
    # thousands of rows per transaction, and the ON CONFLICT syntax is the same on both databases.
    def _write_many(
        self,
        conn: Connection,
        model: Any,
        rows: Sequence[dict[str, Any]],
        *,
        keys: Sequence[str] = (),
        on_conflict: str = "error",
    ) -> None:
        if not rows:
            return
        table = _t(model).name
        cols = list(rows[0])
        mark = "?" if self._dialect == "sqlite" else "%s"
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))})"  # table and column names are the code's own; every value is a bound parameter  # nosec B608
        if on_conflict == "update":
            sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in keys)
            sql += f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"  # table and column names are the code's own; every value is a bound parameter  # nosec B608
        elif on_conflict == "ignore":
            sql += " ON CONFLICT DO NOTHING"
        conn.exec_driver_sql(sql, [tuple(r[c] for c in cols) for r in rows])

    def _upsert(
        self, conn: Connection, model: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str]
    ) -> None:
        self._write_many(conn, model, rows, keys=keys, on_conflict="update")

    # -- events -----------------------------------------------------------------------------
    def existing_event_ids(self, conn: Connection, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are already in the event log or kept as consent records."""
        found: set[str] = set()
        mark = "?" if self._dialect == "sqlite" else "%s"
        ev, cr = _t(EventRow).name, _t(ConsentRecord).name
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = tuple(ids[start : start + _IN_CHUNK])
            marks = ", ".join([mark] * len(chunk))
            sql = (
                f"SELECT event_id FROM {ev} WHERE event_id IN ({marks}) "  # table and column names are the code's own; every value is a bound parameter  # nosec B608
                f"UNION ALL SELECT event_id FROM {cr} WHERE event_id IN ({marks})"
            )
            found.update(r[0] for r in conn.exec_driver_sql(sql, chunk + chunk))
        return found

    def append_events(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self._write_many(conn, EventRow, rows)

    def append_consent_records(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self._write_many(conn, ConsentRecord, rows)

    def events_of(self, conn: Connection, unified_id: str) -> list[dict[str, Any]]:
        """Every logged event of one individual, in arrival order."""
        ev = _t(EventRow)
        rows = conn.execute(
            select(ev.c.seq, ev.c.ts, ev.c.payload, ev.c.category, ev.c.brand, ev.c.event_id)
            .where(ev.c.unified_id == unified_id)
            .order_by(ev.c.seq)
        ).mappings()
        return [dict(r) for r in rows]

    def max_event_seq(self, conn: Connection) -> int:
        """The seq of the newest logged event; 0 for an empty log."""
        return int(conn.execute(select(func.max(_t(EventRow).c.seq))).scalar() or 0)

    def iter_events_after(self, seq: int, *, batch: int = 5000) -> Iterator[list[dict[str, Any]]]:
        """Logged events with seq > `seq`, in seq order, in batches."""
        ev = _t(EventRow)
        cols = (
            ev.c.seq,
            ev.c.ts,
            ev.c.payload,
            ev.c.category,
            ev.c.brand,
            ev.c.event_id,
            ev.c.unified_id,
        )
        for rows in self.pages(select(*cols), ev.c.seq, after=seq, batch=batch):
            yield [dict(r._mapping) for r in rows]

    def iter_item_interactions(
        self, *, batch: int = 50_000
    ) -> Iterator[list[tuple[str, str | None, str, float, str | None]]]:
        """Item-level events for model training, in seq order, in batches of tuples
        (unified_id, item_id, interaction, ts, payload); the payload only for orders that
        name no single item (their line items are in it), else None."""
        ev = _t(EventRow)
        payload = case(
            (and_(ev.c.item_id.is_(None), ev.c.kind == "order"), ev.c.payload), else_=None
        )
        cols = (ev.c.seq, ev.c.unified_id, ev.c.item_id, ev.c.interaction, ev.c.ts, payload)
        where = (ev.c.item_id.is_not(None)) | (ev.c.kind == "order")
        for rows in self.pages(select(*cols).where(where), ev.c.seq, after=0, batch=batch):
            yield [(r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def get_meta(self, key: str) -> str | None:
        t = _t(Meta)
        with self.db.connect() as conn:
            return conn.execute(select(t.c.value).where(t.c.key == key)).scalar()

    def set_meta(self, conn: Connection, key: str, value: str) -> None:
        self._upsert(conn, Meta, [{"key": key, "value": value}], ["key"])

    def delete_meta(self, conn: Connection, key: str) -> None:
        conn.execute(delete(_t(Meta)).where(_t(Meta).c.key == key))

    def count_events(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_t(EventRow))).scalar() or 0)

    # -- consent ----------------------------------------------------------------------------
    def upsert_consent_state(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self._upsert(conn, ConsentStateRow, rows, ["subject"])

    def load_consent_state(self) -> dict[str, str]:
        t = _t(ConsentStateRow)
        with self.db.connect() as conn:
            return {s: st for s, st in conn.execute(select(t.c.subject, t.c.status))}

    # -- identity ---------------------------------------------------------------------------
    def insert_individuals(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self._upsert(conn, IndividualRow, rows, ["unified_id"])

    def insert_links(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self._upsert(conn, IdentityLink, rows, ["kind", "value"])

    def upsert_source_records(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self._upsert(conn, SourceRecord, rows, ["id"])

    def load_identity(self) -> tuple[dict[tuple[str, str], str], dict[str, str], dict[str, float]]:
        """(links, aliases loser -> survivor, creation times)."""
        links_t, ind_t = _t(IdentityLink), _t(IndividualRow)
        with self.db.connect() as conn:
            links = {
                (k, v): u
                for k, v, u in conn.execute(
                    select(links_t.c.kind, links_t.c.value, links_t.c.unified_id)
                )
            }
            aliases: dict[str, str] = {}
            created: dict[str, float] = {}
            for uid, ts, merged in conn.execute(
                select(ind_t.c.unified_id, ind_t.c.created_at, ind_t.c.merged_into)
            ):
                created[uid] = ts
                if merged:
                    aliases[uid] = merged
        return links, aliases, created

    def merge_individuals(self, conn: Connection, losers: Sequence[str], survivor: str) -> None:
        """Point every event, link and source record of `losers` at `survivor`; keep losers as aliases."""
        for model, col in (
            (EventRow, "unified_id"),
            (IdentityLink, "unified_id"),
            (SourceRecord, "unified_id"),
        ):
            t = _t(model)
            conn.execute(update(t).where(t.c[col].in_(list(losers))).values({col: survivor}))
        ind = _t(IndividualRow)
        conn.execute(
            update(ind).where(ind.c.unified_id.in_(list(losers))).values(merged_into=survivor)
        )
        conn.execute(
            update(ind).where(ind.c.merged_into.in_(list(losers))).values(merged_into=survivor)
        )
        conn.execute(delete(_t(ProfileDoc)).where(_t(ProfileDoc).c.unified_id.in_(list(losers))))

    def iter_resolution_records(
        self, *, batch: int = 50_000
    ) -> Iterator[list[tuple[str, str, str]]]:
        """(id, unified id, data) of every resolvable record (imported ones and identity-event
        subjects; not the `device:...` identifier rows), in id order, in batches."""
        t = _t(SourceRecord)
        resolvable = or_(t.c.source != "events", t.c.id.like("events:%"))
        stmt = select(t.c.id, t.c.unified_id, t.c.data).where(resolvable)
        for rows in self.pages(stmt, t.c.id, after="", batch=batch):
            yield [(r[0], r[1], r[2]) for r in rows]

    def load_splits(self) -> list[dict[str, Any]]:
        t = _t(IdentitySplit)
        with self.db.connect() as conn:
            return [dict(r) for r in conn.execute(select(t).order_by(t.c.seq)).mappings()]

    # -- profiles ---------------------------------------------------------------------------
    def upsert_profiles(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self._upsert(conn, ProfileDoc, rows, ["unified_id"])

    def get_profile_doc(self, unified_id: str) -> str | None:
        t = _t(ProfileDoc)
        with self.db.connect() as conn:
            return conn.execute(select(t.c.doc).where(t.c.unified_id == unified_id)).scalar()

    def get_profile_docs(self, unified_ids: Sequence[str]) -> list[str]:
        """Documents of those ids that exist, in no particular order."""
        t = _t(ProfileDoc)
        docs: list[str] = []
        with self.db.connect() as conn:
            for start in range(0, len(unified_ids), _IN_CHUNK):
                chunk = list(unified_ids[start : start + _IN_CHUNK])
                docs.extend(
                    conn.execute(select(t.c.doc).where(t.c.unified_id.in_(chunk))).scalars()
                )
        return docs

    def iter_profile_docs(self, *, batch: int = 2000) -> Iterator[list[str]]:
        """All profile documents, in unified-id order, in batches."""
        t = _t(ProfileDoc)
        stmt = select(t.c.unified_id, t.c.doc)
        for rows in self.pages(stmt, t.c.unified_id, after="", batch=batch):
            yield [r[1] for r in rows]

    def iter_recent_profile_docs(self, limit: int, *, batch: int = 5000) -> Iterator[list[str]]:
        """Up to `limit` profile documents, most recently updated first, in batches."""
        t = _t(ProfileDoc)
        with self.db.connect() as conn:
            result = conn.execute(
                select(t.c.doc).order_by(t.c.updated_at.desc()).limit(limit)
            ).scalars()
            while chunk := result.fetchmany(batch):
                yield list(chunk)

    def count_profiles(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_t(ProfileDoc))).scalar() or 0)

    # -- items ------------------------------------------------------------------------------
    def upsert_items(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self._upsert(conn, ItemRow, rows, ["id"])

    def insert_items_if_missing(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Placeholders for items first seen in events; an imported item is never overwritten."""
        self._write_many(conn, ItemRow, rows, on_conflict="ignore")

    def load_items(self) -> list[str]:
        t = _t(ItemRow)
        with self.db.connect() as conn:
            return list(conn.execute(select(t.c.doc)).scalars())

    def upsert_item_graphs(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self._upsert(conn, ItemGraphDoc, rows, ["item_id"])

    def load_item_graphs(self) -> list[str]:
        t = _t(ItemGraphDoc)
        with self.db.connect() as conn:
            return list(conn.execute(select(t.c.doc)).scalars())

    # -- configuration ----------------------------------------------------------------------
    def put_config(self, kind: str, name: str, doc: str, now: float) -> int:
        """Store a configuration object; returns its new version (1 for a new object)."""
        t = _t(ConfigObject)
        with self.transaction() as conn:
            version = conn.execute(
                select(t.c.version).where(t.c.kind == kind, t.c.name == name)
            ).scalar()
            new_version = 1 if version is None else int(version) + 1
            self._upsert(
                conn,
                ConfigObject,
                [
                    {
                        "kind": kind,
                        "name": name,
                        "doc": doc,
                        "version": new_version,
                        "updated_at": now,
                    }
                ],
                ["kind", "name"],
            )
        return new_version

    def list_config(self, kind: str) -> list[str]:
        t = _t(ConfigObject)
        with self.db.connect() as conn:
            return list(
                conn.execute(select(t.c.doc).where(t.c.kind == kind).order_by(t.c.name)).scalars()
            )

    def delete_config(self, kind: str, name: str) -> bool:
        t = _t(ConfigObject)
        with self.transaction() as conn:
            return bool(conn.execute(delete(t).where(t.c.kind == kind, t.c.name == name)).rowcount)

    def put_configs_if_missing(
        self, kind: str, docs: Iterable[tuple[str, str]], now: float
    ) -> None:
        with self.transaction() as conn:
            rows = [
                {"kind": kind, "name": n, "doc": d, "version": 1, "updated_at": now}
                for n, d in docs
            ]
            self._write_many(conn, ConfigObject, rows, on_conflict="ignore")

    # -- batch insights ---------------------------------------------------------------------
    def insight_aggregates(
        self,
        *,
        measure: AggregateMeasure,
        field: str | None,
        interactions: Sequence[str] = (),
        since: float | None = None,
        dimension: str | None = None,
    ) -> list[tuple[str, str | None, Any]]:
        return aggregate_events(
            self.db,
            measure=measure,
            field=field,
            interactions=interactions,
            since=since,
            dimension=dimension,
        )

    def event_unified_ids(self) -> list[str]:
        return event_unified_ids(self.db)
