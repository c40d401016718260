"""Storage of API keys: one row per key, the secret only as its SHA-256 hash.

Its own table beside `tables.py`, created on first use (`KeysStore` creates it if missing), so
stores written before keys existed open unchanged. Contracts as in `sql_store`: reads of a
missing key return None; times are UTC epoch seconds; lists come in creation order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Engine, Float, Text, select, update
from sqlmodel import Field, SQLModel

from p13n.domain.store.migrations import add_missing_columns

__all__ = ["ApiKeyRow", "KeysStore"]


class ApiKeyRow(SQLModel, table=True):
    """An API key. `scopes` is space separated (as in an OAuth `scope` claim)."""

    __tablename__ = "api_keys"
    id: str = Field(primary_key=True)
    key_hash: str = Field(unique=True, index=True)
    label: str = Field(sa_column=Column(Text, nullable=False))
    scopes: str = Field(sa_column=Column(Text, nullable=False))
    created_at: float = Field(sa_column=Column(Float, nullable=False))
    revoked: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    revoked_at: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    tools: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The tools the key may call, space separated; None: every tool its scopes allow."""


_T: Any = ApiKeyRow.__table__  # type: ignore[attr-defined]


def _row(r: Any) -> ApiKeyRow:
    return ApiKeyRow.model_validate(dict(r._mapping))


class KeysStore:
    def __init__(self, db: Engine) -> None:
        self.db = db
        _T.create(db, checkfirst=True)
        add_missing_columns(db, _T.name, [("tools", "TEXT")])

    def insert(self, row: ApiKeyRow) -> None:
        with self.db.begin() as conn:
            conn.execute(_T.insert().values(**row.model_dump()))

    def by_hash(self, key_hash: str) -> ApiKeyRow | None:
        """The key whose secret hashes to `key_hash` (revoked or not), or None."""
        with self.db.connect() as conn:
            r = conn.execute(select(_T).where(_T.c.key_hash == key_hash)).first()
        return None if r is None else _row(r)

    def get(self, key_id: str) -> ApiKeyRow | None:
        with self.db.connect() as conn:
            r = conn.execute(select(_T).where(_T.c.id == key_id)).first()
        return None if r is None else _row(r)

    def list(self) -> list[ApiKeyRow]:
        with self.db.connect() as conn:
            rows = conn.execute(select(_T).order_by(_T.c.created_at, _T.c.id)).all()
        return [_row(r) for r in rows]

    def revoke(self, key_id: str, at: float) -> bool:
        """Mark the key revoked; False when no such key. Revoking twice keeps the first time."""
        with self.db.begin() as conn:
            found = conn.execute(select(_T.c.revoked).where(_T.c.id == key_id)).first()
            if found is None:
                return False
            if not found[0]:
                conn.execute(
                    update(_T).where(_T.c.id == key_id).values(revoked=True, revoked_at=at)
                )
        return True
