"""Where a test's store lives, and how each way of opening p13n is pointed at it.

`Database` is what the `e2e_db` / `e2e_module_db` fixtures (tests/conftest.py) hand an
end-to-end test: on the SQLite run its `url` is None, so the app, the CLI and the servers use
their default (SQLite at `<P13N_HOME>/p13n.db`); on the PostgreSQL run it names a throwaway
database on the server of P13N_TEST_POSTGRES_URL. The fixtures also set (or, for SQLite, unset)
P13N_DATABASE_URL in the environment for the test's or module's duration, the setting a
deployment uses, so `Settings()`, `p13n` subprocesses and servers follow without being told;
`url_for`, `settings` and `env` say it explicitly where a test opens the store itself.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from p13n.server.settings import Settings

__all__ = ["POSTGRES_URL", "Database", "postgres_database"]

POSTGRES_URL = os.environ.get("P13N_TEST_POSTGRES_URL")


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the server named by P13N_TEST_POSTGRES_URL, dropped afterwards."""
    assert POSTGRES_URL is not None
    name = "p13n_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(_psycopg(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class Database:
    """The store of one e2e test (or module): SQLite under the home, or a PostgreSQL database."""

    dialect: str  # "sqlite" or "postgresql"
    url: str | None  # None: the default, SQLite at <home>/p13n.db

    def url_for(self, home: Path) -> str:
        """The URL to open directly (e.g. `Engine.open`), the same store the app would use."""
        return self.url or f"sqlite:///{(home / 'p13n.db').resolve()}"

    def settings(self, home: Path, **overrides: Any) -> Settings:
        """Settings for `create_app` / `build_engine` on this store (P13N_DATABASE_URL ignored)."""
        return Settings(home=home, database_url=self.url, **overrides)

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """The environment of a `p13n` subprocess on this store."""
        env = {**os.environ, "P13N_HOME": str(home), **extra}
        env.pop("P13N_DATABASE_URL", None)
        if self.url:
            env["P13N_DATABASE_URL"] = self.url
        return env

    def count(self, table: str, home: Path) -> int:
        """Rows in `table`, read straight from the database: proof of where a process wrote."""
        url = self.url_for(home)
        engine = create_engine(_psycopg(url) if url.startswith("postgresql://") else url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
        finally:
            engine.dispose()
