"""The audit log table: one row per configuration change, key creation or revocation,
identity split and privacy request (who, when, what, before and after as JSON text).

Contracts as in `sql_store`: times are UTC epoch seconds; `page` reads newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    Text,
    insert,
    select,
    update,
)
from sqlmodel import Field, SQLModel

from p13n.domain.store.sql_store import table_of as _t

__all__ = ["AuditRow", "AuditStore", "AUDIT_SCRUBBED_KINDS", "scrub_audit"]

# The kinds whose rows can name a person (erasure scrubs them).
AUDIT_SCRUBBED_KINDS = ("privacy", "identity_split")

_BIGINT = BigInteger().with_variant(Integer, "sqlite")


class AuditRow(SQLModel, table=True):
    """`actor_id` is the key id (`key_…`), a JWT subject or `local` (CLI, in-process);
    `kind` what changed (a configuration kind, `key`, `identity_split`, `privacy`), `action`
    how (`create`, `update`, `delete`, `revoke`, `split`, `activate`, `erase`, `export`),
    `target` its name; `before` and `after` JSON documents (null where there is none)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_kind_seq", "kind", "seq"),)
    seq: int | None = Field(
        default=None, sa_column=Column(_BIGINT, primary_key=True, autoincrement=True)
    )
    ts: float = Field(sa_column=Column(Float, nullable=False, index=True))
    actor_id: str = Field(sa_column=Column(Text, nullable=False))
    actor_name: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    target: str = Field(sa_column=Column(Text, nullable=False))
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class AuditStore:
    """Over the database engine itself (not a `SqlStore`), so that `p13n keys`, which opens
    only the key table, records its changes too."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        _t(AuditRow).create(db, checkfirst=True)

    def append(self, row: dict[str, Any]) -> int:
        """Write one row (its own transaction); returns its seq."""
        t = _t(AuditRow)
        with self.db.begin() as conn:
            result = conn.execute(insert(t).values(**row).returning(t.c.seq))
            return int(result.scalar_one())

    def page(
        self,
        *,
        kinds: Sequence[str] = (),
        since: float | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Up to `limit` rows, newest first, of `kinds` (all when empty), with `ts >= since`
        and `seq < before_seq` (the cursor of the page before)."""
        t = _t(AuditRow)
        stmt = select(t).order_by(t.c.seq.desc()).limit(limit)
        if kinds:
            stmt = stmt.where(t.c.kind.in_(list(kinds)))
        if since is not None:
            stmt = stmt.where(t.c.ts >= since)
        if before_seq is not None:
            stmt = stmt.where(t.c.seq < before_seq)
        with self.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def scrub(self, kinds: Sequence[str], keys: Sequence[str], to: str) -> int:
        """Rows of `kinds` whose target, before or after names one of `keys` (an erased
        person's ids) keep only that they happened: target `to`, before and after null.
        Returns how many rows were scrubbed."""
        with self.db.begin() as conn:
            return scrub_audit(conn, kinds, keys, to)


def scrub_audit(conn: Connection, kinds: Sequence[str], keys: Sequence[str], to: str) -> int:
    """`AuditStore.scrub` inside the caller's transaction (the erasure's)."""
    if not keys or not kinds:
        return 0
    t = _t(AuditRow)
    wanted = set(keys)
    found = conn.execute(
        select(t.c.seq, t.c.target, t.c.before, t.c.after).where(t.c.kind.in_(list(kinds)))
    ).all()
    hit = [
        seq
        for seq, target, before, after in found
        if target in wanted or any(k in (before or "") or k in (after or "") for k in wanted)
    ]
    for start in range(0, len(hit), 500):
        chunk = hit[start : start + 500]
        conn.execute(update(t).where(t.c.seq.in_(chunk)).values(target=to, before=None, after=None))
    return len(hit)
