"""Erasure and export of one person's rows, across every table that holds them.

One person here is a whole unified cluster: the survivor's unified id, the ids merged into it,
every source record, identity link and event identifier that points at them (`Footprint`).
`footprint` reads it; `erase` deletes (or, in the experiment aggregates, anonymizes) every row
of it in one transaction; `export_rows` reads the same rows for a data-access request.

Which table holds what (the test `tests/integration/test_privacy_erasure.py` scans every
table in the database's own catalog, so a table added later without a line here fails it):

- deleted: events, consent_records, consent_state, source_records, source_record_history,
  identity_pair_links, identity_splits (a split naming an erased record in `apart_from` keeps
  its other records), individuals, identity_links, profiles, personalization_log,
  bandit_assignments;
- anonymized (aggregates keep only counts): experiment_units' `unit` and experiment_keys' `key`
  become opaque random tokens, so an experiment's results keep the person's counts;
- scrubbed: audit_log rows of the person's privacy requests and identity splits keep only
  that they happened (target: the erasure's receipt id, no documents);
- untouched, holding no identifier: item_graphs (per-item counts), attribution_* and
  pipeline_hours (counts and hashed sketches), experiment folds, marks and points, the
  configuration, keys, meta.

On SQLite the erasing connection runs with `secure_delete` on (freed pages are zeroed) and the
write-ahead log is truncated afterwards, so no copy is left in the database's files either.
Contracts as in `sql_store`: times are UTC epoch seconds.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Table, delete, or_, select, text, update

from p13n.domain.store.audit_table import AUDIT_SCRUBBED_KINDS, AuditRow, scrub_audit
from p13n.domain.store.bandit_tables import BanditAssignmentRow
from p13n.domain.store.experiment_table import ExperimentKeyRow, ExperimentUnitRow
from p13n.domain.store.identity_tables import IdentityPairLink, IdentitySplit, SourceRecordHistory
from p13n.domain.store.log_table import PersonalizationLogRow
from p13n.domain.store.sql_store import SqlStore
from p13n.domain.store.sql_store import table_of as _t
from p13n.domain.store.tables import (
    ConsentRecord,
    ConsentStateRow,
    EventRow,
    IdentityLink,
    IndividualRow,
    ProfileDoc,
    SourceRecord,
)

__all__ = ["ErasureStore", "Footprint"]

_IN_CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield list(values[start : start + _IN_CHUNK])


@dataclass
class Footprint:
    """Every key by which one person's rows are found. `unified_ids` are the survivor and the
    ids merged into it; `subjects` the identifiers events and consent name them by (device
    and individual ids, link values); `record_ids` their source records' keys, with the
    `kind:value` names of their identity links (pair links point at those too)."""

    unified_id: str
    unified_ids: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    record_ids: list[str] = field(default_factory=list)

    def all_keys(self) -> list[str]:
        return sorted({*self.unified_ids, *self.subjects, *self.record_ids})


class ErasureStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.db = store.db
        # The tables outside `tables.py` are created by their own stores; erasure must find
        # them present even in a process that never opened those stores.
        for model in (BanditAssignmentRow, ExperimentUnitRow, ExperimentKeyRow, AuditRow):
            _t(model).create(self.db, checkfirst=True)
        _t(PersonalizationLogRow).create(self.db, checkfirst=True)

    # -- reading the footprint ----------------------------------------------------------------
    def footprint(self, unified_id: str) -> Footprint:
        """The keys of the cluster whose survivor is `unified_id` (the caller resolved it)."""
        ind, links, src, ev = _t(IndividualRow), _t(IdentityLink), _t(SourceRecord), _t(EventRow)
        with self.db.connect() as conn:
            uids = {unified_id}
            frontier = [unified_id]
            while frontier:  # aliases of aliases (a merged id that absorbed others)
                found = set(
                    conn.execute(
                        select(ind.c.unified_id).where(ind.c.merged_into.in_(frontier))
                    ).scalars()
                )
                frontier = sorted(found - uids)
                uids |= found
            ids = sorted(uids)
            subjects: set[str] = set()
            records: set[str] = set()
            for chunk in _chunks(ids):
                for kind, value in conn.execute(
                    select(links.c.kind, links.c.value).where(links.c.unified_id.in_(chunk))
                ):
                    subjects.add(value)
                    records.add(f"{kind}:{value}")
                for rid, srid in conn.execute(
                    select(src.c.id, src.c.source_record_id).where(src.c.unified_id.in_(chunk))
                ):
                    records.add(rid)
                    subjects.add(srid)
                for row in conn.execute(
                    select(ev.c.device_id, ev.c.individual_id)
                    .where(ev.c.unified_id.in_(chunk))
                    .distinct()
                ):
                    subjects.update(v for v in row if v)
        return Footprint(
            unified_id=unified_id,
            unified_ids=ids,
            subjects=sorted(subjects),
            record_ids=sorted(records),
        )

    # -- export -------------------------------------------------------------------------------
    def export_rows(self, fp: Footprint) -> dict[str, list[dict[str, Any]]]:
        """Every row held about the person, per table (JSON columns left as text), oldest first
        where the table has a time."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.db.connect() as conn:
            for name, table, column, keys, order in self._row_sets(fp):
                rows: list[dict[str, Any]] = []
                for chunk in _chunks(keys):
                    stmt = select(table).where(table.c[column].in_(chunk))
                    if order is not None:
                        stmt = stmt.order_by(table.c[order])
                    rows.extend(dict(r._mapping) for r in conn.execute(stmt))
                if order is not None:
                    rows.sort(key=lambda r: r[order])
                out[name] = rows
            pair = _t(IdentityPairLink)
            out["identity_pair_links"] = self._pair_links(conn, pair, fp.record_ids)
        for rows in out.values():
            for row in rows:
                for key, value in row.items():
                    if isinstance(value, bytes):
                        row[key] = value.hex()
        return out

    def _row_sets(self, fp: Footprint) -> list[tuple[str, Table, str, list[str], str | None]]:
        """(name, table, key column, keys, time column) of the tables read by key."""
        uids = fp.unified_ids
        own_records = fp.record_ids
        return [
            ("individuals", _t(IndividualRow), "unified_id", uids, "created_at"),
            ("identity_links", _t(IdentityLink), "unified_id", uids, "linked_at"),
            ("source_records", _t(SourceRecord), "unified_id", uids, "updated_at"),
            ("source_record_history", _t(SourceRecordHistory), "record_id", own_records, "seq"),
            ("identity_splits", _t(IdentitySplit), "record_id", own_records, "seq"),
            ("profiles", _t(ProfileDoc), "unified_id", uids, None),
            ("events", _t(EventRow), "unified_id", uids, "seq"),
            ("consent_records", _t(ConsentRecord), "subject", fp.all_keys(), "ts"),
            ("consent_state", _t(ConsentStateRow), "subject", fp.all_keys(), "updated_at"),
            ("personalization_log", _t(PersonalizationLogRow), "unified_id", uids, "ts"),
            ("bandit_assignments", _t(BanditAssignmentRow), "unit", fp.all_keys(), "ts"),
        ]

    @staticmethod
    def _pair_links(conn: Connection, pair: Table, records: Sequence[str]) -> list[dict[str, Any]]:
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for chunk in _chunks(records):
            stmt = select(pair).where(or_(pair.c.record_a.in_(chunk), pair.c.record_b.in_(chunk)))
            for r in conn.execute(stmt):
                row = dict(r._mapping)
                seen[(row["record_a"], row["record_b"])] = row
        return [seen[k] for k in sorted(seen)]

    # -- erasure ------------------------------------------------------------------------------
    def erase(self, fp: Footprint, *, audit_target: str) -> dict[str, int]:
        """Delete every row of `fp` (anonymize the experiment units) in one transaction, in
        which the audit rows naming the person are scrubbed too (target `audit_target`).
        Returns the rows affected per table (tables with none left out)."""
        counts: dict[str, int] = {}
        sqlite = self.db.dialect.name == "sqlite"
        with self.db.connect() as conn:
            if sqlite:
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
                conn.commit()  # ends SQLAlchemy's autobegun block (SQLite opened none for it)
            try:
                with conn.begin():
                    self._erase_in(conn, fp, counts)
                    counts["audit_log"] = scrub_audit(
                        conn, AUDIT_SCRUBBED_KINDS, fp.all_keys(), audit_target
                    )
            finally:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA secure_delete=OFF")
                    conn.commit()
        if sqlite:
            self._truncate_wal()
        return {k: v for k, v in counts.items() if v}

    def _erase_in(self, conn: Connection, fp: Footprint, counts: dict[str, int]) -> None:
        every_key = fp.all_keys()
        self._anonymize_experiments(conn, every_key, counts)
        splits = _t(IdentitySplit)
        own_records = fp.record_ids
        counts["identity_splits"] = self._delete_in(conn, splits, "record_id", own_records)
        counts["identity_splits"] += self._delete_in(
            conn, splits, "from_unified_id", fp.unified_ids
        )
        counts["identity_splits"] += self._delete_in(conn, splits, "to_unified_id", fp.unified_ids)
        counts["identity_splits"] += self._forget_apart(conn, set(fp.record_ids))
        pair = _t(IdentityPairLink)
        gone = 0
        for chunk in _chunks(fp.record_ids):
            where = or_(pair.c.record_a.in_(chunk), pair.c.record_b.in_(chunk))
            gone += conn.execute(delete(pair).where(where)).rowcount or 0
        counts["identity_pair_links"] = gone
        log = _t(PersonalizationLogRow)
        counts["personalization_log"] = self._delete_in(conn, log, "unified_id", fp.unified_ids)
        counts["personalization_log"] += self._delete_in(conn, log, "individual_id", fp.subjects)
        for name, table, column, keys, _ in self._row_sets(fp):
            if name in ("identity_splits", "personalization_log"):
                continue
            counts[name] = counts.get(name, 0) + self._delete_in(conn, table, column, keys)

    @staticmethod
    def _delete_in(conn: Connection, table: Table, column: str, keys: Sequence[str]) -> int:
        gone = 0
        for chunk in _chunks(sorted(set(keys))):
            gone += conn.execute(delete(table).where(table.c[column].in_(chunk))).rowcount or 0
        return gone

    @staticmethod
    def _forget_apart(conn: Connection, records: set[str]) -> int:
        """Other people's splits kept apart from an erased record: the record leaves their
        `apart_from` list (the split itself stays). Returns the rows rewritten."""
        t = _t(IdentitySplit)
        changed = 0
        for seq, apart in conn.execute(select(t.c.seq, t.c.apart_from)).all():
            members = orjson.loads(apart)
            kept = [m for m in members if m not in records]
            if len(kept) != len(members):
                conn.execute(
                    update(t).where(t.c.seq == seq).values(apart_from=orjson.dumps(kept).decode())
                )
                changed += 1
        return changed

    @staticmethod
    def _anonymize_experiments(
        conn: Connection, keys: Sequence[str], counts: dict[str, int]
    ) -> None:
        """The person's experiment units keep their cells (counts) under a random token; the
        distinct keys they counted (order ids and the like) become tokens too."""
        units, dkeys = _t(ExperimentUnitRow), _t(ExperimentKeyRow)
        renamed = rekeyed = 0
        for chunk in _chunks(sorted(set(keys))):
            found = conn.execute(
                select(units.c.experiment, units.c.idx).where(units.c.unit.in_(chunk))
            ).all()
            for experiment, idx in found:
                token = f"erased:{secrets.token_hex(12)}"
                conn.execute(
                    update(units)
                    .where(units.c.experiment == experiment, units.c.idx == idx)
                    .values(unit=token)
                )
                renamed += 1
                for slot, key in conn.execute(
                    select(dkeys.c.slot, dkeys.c.key).where(
                        dkeys.c.experiment == experiment, dkeys.c.idx == idx
                    )
                ).all():
                    conn.execute(
                        update(dkeys)
                        .where(
                            dkeys.c.experiment == experiment,
                            dkeys.c.idx == idx,
                            dkeys.c.slot == slot,
                            dkeys.c.key == key,
                        )
                        .values(key=f"erased:{secrets.token_hex(12)}")
                    )
                    rekeyed += 1
        counts["experiment_units"] = renamed
        counts["experiment_keys"] = rekeyed

    def _truncate_wal(self, *, attempts: int = 50) -> bool:
        """Fold the write-ahead log into the database and empty it, so that no copy of an
        erased row stays in the log's frames. A checkpoint running beside it (the store's own
        checkpointer) or a reader on an old snapshot makes SQLite answer busy: it is tried
        again, every 0.1 s for up to `attempts` times. True when the log was emptied."""
        for _ in range(attempts):
            with self.db.connect() as conn:
                busy = conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).first()
                conn.commit()
            if busy is None or not busy[0]:
                return True
            time.sleep(0.1)
        return False
