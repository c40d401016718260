"""Shared fixtures: every storage test and every e2e test that touches the store runs on SQLite
and, when configured (P13N_TEST_POSTGRES_URL; CI sets it), on PostgreSQL. The seeded demo
tenant (`demo_template`, `demo_home`) is built once per session for the suites that query it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from _database import POSTGRES_URL, Database, postgres_database
from _demo_home import DEMO_HOME_ENV, copy_home, seed_demo

_NO_POSTGRES = "PostgreSQL not configured: set P13N_TEST_POSTGRES_URL (CI does)"

# The suites send bursts from one address (TestClient's) far past any one visitor's rate; the
# public scope's rates are off for them unless a test sets them (tests/e2e/test_limits.py).
# Servers started through `server_env` (the fuzz and soak runs) drop P13N_ variables and so
# run with the defaults, except where they say otherwise.
os.environ.setdefault("P13N_PUBLIC_ADDRESS_PER_SECOND", "0")
os.environ.setdefault("P13N_PUBLIC_KEY_PER_SECOND", "0")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: SQLite in tmp_path, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'p13n.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip(_NO_POSTGRES)
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An empty implementation of the store port: SqlStore on SQLite and on PostgreSQL (when
    configured), and MemoryStore."""
    from p13n.domain.store import MemoryStore, SqlStore, open_engine

    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip(_NO_POSTGRES)
    with ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path / 'p13n.db'}"
            if request.param == "sqlite"
            else stack.enter_context(postgres_database())
        )
        store = SqlStore(open_engine(url))
        try:
            yield store
        finally:
            store.close()


# The e2e suites: one parameter per module, so a module's tests run on SQLite, then all of them
# on PostgreSQL (module-scoped servers and tenants are set up once per database, not per test).
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def e2e_dialect(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip(_NO_POSTGRES)
    return str(request.param)


@contextmanager
def _database(dialect: str) -> Iterator[Database]:
    """The store, also named in the environment as a deployment names it (P13N_DATABASE_URL,
    unset on the SQLite run), so `Settings()`, `p13n` subprocesses and servers all open it."""
    with ExitStack() as stack:
        url = None if dialect == "sqlite" else stack.enter_context(postgres_database())
        env = stack.enter_context(pytest.MonkeyPatch.context())
        if url is None:
            env.delenv("P13N_DATABASE_URL", raising=False)
        else:
            env.setenv("P13N_DATABASE_URL", url)
        yield Database(dialect, url)


@pytest.fixture
def e2e_db(e2e_dialect: str) -> Iterator[Database]:
    """An empty store for one e2e test: the default SQLite under its P13N_HOME, or PostgreSQL."""
    with _database(e2e_dialect) as db:
        yield db


@pytest.fixture(scope="module")
def e2e_module_db(e2e_dialect: str) -> Iterator[Database]:
    """An empty store shared by a module's tests (for module-scoped servers and tenants)."""
    with _database(e2e_dialect) as db:
        yield db


# The demo tenant (tests/_demo_home.py): seeded once per session, SQLite only (the suites that
# use it judge answers, not stores), shared by tests/integration/test_query_demo.py and
# tests/conversations instead of each seeding its own.
@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded demo home that no test writes to (copy it with `demo_home`)."""
    given = os.environ.get(DEMO_HOME_ENV)
    if given:
        return copy_home(Path(given), tmp_path_factory.mktemp("demo-template"))
    return seed_demo(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture(scope="module")
def demo_home(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A module's own copy of the seeded demo home (conversations and queries record
    interactions, so each module works on a copy)."""
    return copy_home(demo_template, tmp_path_factory.mktemp("demo"))


# Under pytest-xdist (`-n 2 --dist loadscope`, pyproject's addopts), a worker runs whole modules
# (their module-scoped servers and tenants are set up once), and every suite on the demo tenant
# runs on one worker, so the session's seed happens once rather than once per worker.
_DEMO_TENANT_SUITES = (
    "tests/conversations/",
    "tests/integration/test_query_demo.py",
    "tests/e2e/test_api_fuzz.py",
    "tests/e2e/test_mcp_fuzz.py",
    "tests/e2e/test_soak.py",
)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesAndTheDemoTenant(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(_DEMO_TENANT_SUITES):
                return "demo-tenant"
            return nodeid.split("::", 1)[0]

    return ModulesAndTheDemoTenant(config, log)
