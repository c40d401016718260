"""Storage of identity resolution: source records (in `source_records`), their history, pair
links (lineage), splits, rulesets (configuration objects) and the matcher's state (meta).

Contracts as in `sql_store`: reads of a missing key return None; write methods take the
caller's open connection so that a resolution commits atomically with its merges.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, delete, or_, select

from p13n.domain.store.identity_tables import IdentityPairLink, IdentitySplit, SourceRecordHistory
from p13n.domain.store.sql_store import SqlStore
from p13n.domain.store.sql_store import table_of as _t
from p13n.domain.store.tables import SourceRecord

__all__ = ["IdentityStore", "RULESET_KIND"]

RULESET_KIND = "identity_ruleset"
_IN_CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield list(values[start : start + _IN_CHUNK])


class IdentityStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.db = store.db

    # -- source records ---------------------------------------------------------------------
    def upsert_records(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self.store.upsert_source_records(conn, rows)

    def append_history(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self.store._write_many(conn, SourceRecordHistory, rows)

    def set_owners(self, conn: Connection, owners: Sequence[tuple[str, str]]) -> None:
        """(record id, unified id) for records whose unified id changed."""
        if not owners:
            return
        t = _t(SourceRecord)
        mark = "?" if self.db.dialect.name == "sqlite" else "%s"
        conn.exec_driver_sql(
            f"UPDATE {t.name} SET unified_id = {mark} WHERE id = {mark}",  # table and column names are the code's own; every value is a bound parameter  # nosec B608
            [(uid, key) for key, uid in owners],
        )

    def mark_merged(
        self, conn: Connection, merges: Sequence[tuple[str, str]], *, were_survivors: set[str]
    ) -> None:
        """(loser, survivor) for individuals known only from source records (no events, links
        or profile): the loser, and the aliases that pointed at it (losers that had absorbed
        others: `were_survivors`), now point at the survivor."""
        if not merges:
            return
        mark = "?" if self.db.dialect.name == "sqlite" else "%s"
        conn.exec_driver_sql(
            f"UPDATE individuals SET merged_into = {mark} WHERE unified_id = {mark}",  # table and column names are the code's own; every value is a bound parameter  # nosec B608
            [(survivor, loser) for loser, survivor in merges],
        )
        chained = [(s, loser) for loser, s in merges if loser in were_survivors]
        if chained:
            conn.exec_driver_sql(
                f"UPDATE individuals SET merged_into = {mark} WHERE merged_into = {mark}",  # table and column names are the code's own; every value is a bound parameter  # nosec B608
                chained,
            )
        conn.exec_driver_sql(
            f"UPDATE source_records SET unified_id = {mark} WHERE unified_id = {mark}",  # table and column names are the code's own; every value is a bound parameter  # nosec B608
            [(survivor, loser) for loser, survivor in merges],
        )

    def load_records(self, *, batch: int = 50_000) -> Iterator[list[tuple[str, str, str]]]:
        """(id, unified id, data) of every resolvable record, in id order, in batches."""
        return self.store.iter_resolution_records(batch=batch)

    def records_of(self, unified_id: str) -> list[dict[str, Any]]:
        t = _t(SourceRecord)
        with self.db.connect() as conn:
            rows = conn.execute(
                select(t).where(t.c.unified_id == unified_id).order_by(t.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    def record(self, record_id: str) -> dict[str, Any] | None:
        t = _t(SourceRecord)
        with self.db.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == record_id)).mappings().first()
        return None if row is None else dict(row)

    def records_by_source_id(self, source_record_id: str) -> list[dict[str, Any]]:
        t = _t(SourceRecord)
        with self.db.connect() as conn:
            rows = conn.execute(
                select(t).where(t.c.source_record_id == source_record_id)
            ).mappings()
            return [dict(r) for r in rows]

    def history(self, record_id: str) -> list[dict[str, Any]]:
        t = _t(SourceRecordHistory)
        with self.db.connect() as conn:
            rows = conn.execute(
                select(t).where(t.c.record_id == record_id).order_by(t.c.seq)
            ).mappings()
            return [dict(r) for r in rows]

    def export_rows(self, *, batch: int = 50_000) -> Iterator[list[tuple[str, str, str]]]:
        """(source record id, unified id, source) of every source record, in id order."""
        t = _t(SourceRecord)
        stmt = select(t.c.id, t.c.source_record_id, t.c.unified_id, t.c.source)
        for rows in self.store.pages(stmt, t.c.id, after="", batch=batch):
            yield [(r[1], r[2], r[3]) for r in rows]

    def changed_since(self, ts: float) -> list[str]:
        """Ids of records received (imports) or updated (identity events) after `ts`."""
        h, t = _t(SourceRecordHistory), _t(SourceRecord)
        with self.db.connect() as conn:
            imported = conn.execute(select(h.c.record_id).where(h.c.received_at > ts)).scalars()
            found = set(imported)
            found.update(
                conn.execute(
                    select(t.c.id).where(t.c.id.like("events:%"), t.c.updated_at > ts)
                ).scalars()
            )
        return sorted(found)

    # -- pair links (lineage) ---------------------------------------------------------------
    def replace_pair_links(
        self, conn: Connection, record_ids: Sequence[str] | None, rows: Sequence[dict[str, Any]]
    ) -> None:
        """Drop the links touching `record_ids` (all links when None), then write `rows`."""
        t = _t(IdentityPairLink)
        if record_ids is None:
            conn.execute(delete(t))
        else:
            for chunk in _chunks(record_ids):
                conn.execute(delete(t).where(or_(t.c.record_a.in_(chunk), t.c.record_b.in_(chunk))))
        self.add_pair_links(conn, rows)

    def add_pair_links(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        self.store._upsert(conn, IdentityPairLink, rows, ["record_a", "record_b"])

    def pair_links_of(self, record_ids: Sequence[str]) -> list[dict[str, Any]]:
        t = _t(IdentityPairLink)
        out: list[dict[str, Any]] = []
        with self.db.connect() as conn:
            for chunk in _chunks(record_ids):
                rows = conn.execute(
                    select(t).where(or_(t.c.record_a.in_(chunk), t.c.record_b.in_(chunk)))
                ).mappings()
                out.extend(dict(r) for r in rows)
        return out

    # -- splits -----------------------------------------------------------------------------
    def add_split(self, conn: Connection, row: dict[str, Any]) -> None:
        self.store._write_many(conn, IdentitySplit, [row])

    def load_splits(self) -> list[dict[str, Any]]:
        return self.store.load_splits()
