"""A store that refuses writes, read-only or out of disk, on SQLite and PostgreSQL: writes are a
503 with a message saying why and a Retry-After, reads keep working, nothing refused is stored
or served, and once the cause is gone the same calls succeed on an undamaged store.

How each fault is made, on the running app's own connections (closed first, so every new one
gets it): read-only is SQLite's `query_only` pragma, or PostgreSQL's
`default_transaction_read_only` for the database; a full disk is SQLite's `max_page_count`
pinned at the file's size (SQLite answers SQLITE_FULL, as on a full disk). Root ignores file
modes, so chmod cannot make the test's file read-only; a full PostgreSQL disk is not simulated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _client import api_client
from _database import Database
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from p13n.server.app import create_app


def _events(start: int, n: int, person: str = "ada") -> dict[str, Any]:
    return {
        "events": [
            {
                "eventId": f"fault-{start + k}",
                "individualId": person,
                "interaction": "View Catalog Object",
                "itemId": f"item-{k % 7}",
                "description": "x" * 400,  # rows big enough to need new pages
            }
            for k in range(n)
        ]
    }


@pytest.fixture
def app(tmp_path: Path, e2e_db: Database) -> Iterator[FastAPI]:
    yield create_app(e2e_db.settings(tmp_path))


def _db(app: FastAPI) -> Engine:
    db: Engine = app.state.services.engine.store.db
    return db


def _on_every_connection(db: Engine, statement: str) -> None:
    @event.listens_for(db, "connect")
    def _apply(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(statement)
        cur.close()

    db.dispose()  # the pooled connections go; every new one runs `statement`
    _on_every_connection.listeners = (db, _apply)  # type: ignore[attr-defined]


def _lift(db: Engine) -> None:
    target, listener = _on_every_connection.listeners  # type: ignore[attr-defined]
    event.remove(target, "connect", listener)
    db.dispose()


def _set_read_only(app: FastAPI, on: bool) -> None:
    db = _db(app)
    if db.dialect.name == "sqlite":
        if on:
            _on_every_connection(db, "PRAGMA query_only=ON")
        else:
            _lift(db)
        return
    name = db.url.database
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SET default_transaction_read_only = off"))  # this session may write
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {on}'))
    db.dispose()


def _assert_refused(answer: Any, why: str) -> None:
    assert answer.status_code == 503, answer.text
    assert (
        why in answer.json()["error"]
        and "nothing from this call was stored" in answer.json()["error"]
    )
    assert int(answer.headers["Retry-After"]) > 0


def _event_count(client: TestClient, person: str = "ada") -> int:
    answer = client.get(f"/profiles/{person}")
    assert answer.status_code == 200, answer.text
    return int(
        answer.json()["eventCount"]
        if "eventCount" in answer.json()
        else answer.json()["event_count"]
    )


def _store_is_whole(app: FastAPI) -> None:
    db = _db(app)
    if db.dialect.name == "sqlite":
        with db.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_a_read_only_store_refuses_writes_with_503_and_serves_reads(app: FastAPI) -> None:
    with api_client(app) as client:
        assert client.post("/events", json=_events(0, 5)).status_code == 200
        before = _event_count(client)
        _set_read_only(app, True)
        try:
            _assert_refused(client.post("/events", json=_events(100, 5)), "read-only")
            _assert_refused(
                client.put("/items/z", json={"id": "z", "name": "Zed", "price": 3.0}), "read-only"
            )
            assert _event_count(client) == before  # nothing refused is served
            decided = client.post(
                "/personalization/decisions",
                json={"context": {"individualId": "ada"}, "personalizationPoints": [{"name": "p"}]},
            )
            assert decided.status_code in (200, 400), decided.text  # reads still answer
        finally:
            _set_read_only(app, False)
        assert client.post("/events", json=_events(100, 5)).json()["accepted"] == 5
        assert _event_count(client) == before + 5
        _store_is_whole(app)


def test_a_full_disk_refuses_writes_with_503_and_the_store_stays_whole(app: FastAPI) -> None:
    with api_client(app) as client:
        db = _db(app)
        if db.dialect.name != "sqlite":
            pytest.skip("a full PostgreSQL disk is not simulated (see the module docstring)")
        assert client.post("/events", json=_events(0, 5)).status_code == 200
        before = _event_count(client)
        with db.connect() as conn:
            pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)
        _on_every_connection(db, f"PRAGMA max_page_count={pages}")
        try:
            refused = client.post("/events", json=_events(1000, 500))
            _assert_refused(refused, "disk is full")
            assert _event_count(client) == before
        finally:
            _lift(db)
        _store_is_whole(app)
        assert client.post("/events", json=_events(1000, 500)).json()["accepted"] == 500
        assert _event_count(client) == before + 500


def test_the_cli_says_in_one_line_that_a_read_only_store_refused_an_import(
    tmp_path: Path, e2e_db: Database
) -> None:
    import subprocess
    import sys

    from sqlalchemy import create_engine

    from p13n.domain.services import Engine

    url = e2e_db.url_for(tmp_path)
    Engine.open(url).close()  # the store exists, with its tables
    file = tmp_path / "events.jsonl"
    file.write_text('{"eventId": "e1", "individualId": "ada", "interaction": "Purchase"}\n')
    env = e2e_db.env(tmp_path)
    if e2e_db.url is None:  # SQLite opened read-only (root ignores file modes)
        env["P13N_DATABASE_URL"] = f"sqlite:///file:{tmp_path / 'p13n.db'}?mode=ro&uri=true"
        admin = None
    else:
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            name = admin.url.database
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    try:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("p13n")), "import", "events", str(file)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        if admin is not None:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("SET default_transaction_read_only = off"))
                conn.execute(
                    text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
                )
            admin.dispose()
    assert done.returncode == 1, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: the store refused a write: it is read-only"), lines
    assert "Traceback" not in done.stderr
