"""Shared fixtures: every storage test runs on SQLite and, when configured, on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get("P13N_TEST_POSTGRES_URL")


def _postgres_database() -> Iterator[str]:
    """A fresh database per test on the server named by P13N_TEST_POSTGRES_URL."""
    assert POSTGRES_URL is not None
    name = "p13n_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(
        POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: SQLite in tmp_path, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'p13n.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set P13N_TEST_POSTGRES_URL (CI does)")
    yield from _postgres_database()


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An empty implementation of the store port: SqlStore on SQLite and on PostgreSQL (when
    configured), and MemoryStore."""
    from p13n.domain.store import MemoryStore, SqlStore, open_engine

    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'p13n.db'}"])
    elif not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set P13N_TEST_POSTGRES_URL (CI does)")
    else:
        urls = _postgres_database()
    for url in urls:
        store = SqlStore(open_engine(url))
        try:
            yield store
        finally:
            store.close()
