"""Open the relational store: SQLite (WAL) by default, PostgreSQL by URL; schema and version check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlmodel import SQLModel

from p13n.domain.errors import StoreVersionTooNew
from p13n.domain.store.tables import SCHEMA_VERSION, Meta

_META = Meta.__table__  # type: ignore[attr-defined]

__all__ = ["open_engine"]


def _normalize_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def open_engine(url: str, *, synchronous: str = "FULL") -> Engine:
    """Create the engine, create missing tables, and refuse a store written by a newer schema.

    SQLite runs in WAL mode with `synchronous=FULL` by default so that a commit that returned
    is on disk (an accepted event survives a power cut), not only in the OS cache.
    """
    url = _normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    _check_version(engine)
    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        row = conn.execute(select(_META.c.value).where(_META.c.key == "schema_version")).first()
        if row is None:
            conn.execute(_META.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
    return engine


def _check_version(engine: Engine) -> None:
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, _META.name):
            return
        row = conn.execute(select(_META.c.value).where(_META.c.key == "schema_version")).first()
    if row is not None and int(row[0]) > SCHEMA_VERSION:
        raise StoreVersionTooNew(
            f"the store was written by schema version {row[0]}, this p13n knows {SCHEMA_VERSION}.",
            hint="Upgrade p13n, or point P13N_HOME / P13N_DATABASE_URL at another store.",
        )
