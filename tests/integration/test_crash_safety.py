"""kill -9 during the long-running writes, on SQLite and PostgreSQL: a bulk import (`p13n import
events`), an identity resolution and a batch run over the population. After the restart the
store says only what was committed, and exactly once: every logged event once, profiles equal to
a recompute from the log, identity clusters either the ones before the run or, after running it
again, the ones a resolution of an uncrashed copy gives; no half-written document is served.
(`test_ingest_survives_sigkill.py` covers kill -9 during HTTP-style ingest.)"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from _crash_checks import (
    differences,
    event_counts,
    kill_when,
    partition,
    profile_docs,
    run_child_until_it_dies,
)
from _database import POSTGRES_URL, postgres_database

from p13n.domain.services import Engine, IdentityService
from p13n.domain.store import SqlStore, open_engine

NOW = 1_800_000_000.0
_CHILD = Path(__file__).with_name("_crash_child.py")
_P13N = str(Path(sys.executable).with_name("p13n"))


def _events(n: int) -> Iterator[dict[str, Any]]:
    kinds = ("View Catalog Object", "View Catalog Object", "Add To Cart", "Purchase")
    for k in range(n):
        kind = kinds[k % 4]
        event: dict[str, Any] = {
            "eventId": f"imp-{k}",
            "individualId": f"person-{k * 7 % 300}",
            "interaction": kind,
            "itemId": f"item-{k * 13 % 80}",
            "quantity": 1,
            "price": 4.0 + k % 9,
            "dateTime": f"2026-11-{1 + k % 28:02d}T{k % 24:02d}:00:00Z",
        }
        if kind == "Purchase":
            event["orderId"] = f"order-{k}"
        yield event


def _env(home: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("P13N_")}
    env["P13N_HOME"] = str(home)
    if url.startswith("postgresql"):
        env["P13N_DATABASE_URL"] = url
    return env


def _logged(url: str) -> int:
    """Events in the log now (0 before the import has made its tables)."""
    store = SqlStore(open_engine(url))
    try:
        with store.db.connect() as conn:
            return int(conn.exec_driver_sql("SELECT COUNT(*) FROM events").scalar() or 0)
    except Exception:  # the tables are not there yet
        return 0
    finally:
        store.close()


def _assert_profiles_are_the_log_recomputed(url: str) -> dict[str, dict[str, Any]]:
    """Reopen (the crash recovery path), then compare every profile with a rebuild from the
    log; every logged event is in exactly one profile's count."""
    engine = Engine.open(url, clock=lambda: NOW)
    try:
        logged, per_person, ids = event_counts(engine)
        assert max(ids.values(), default=1) == 1  # no event logged twice
        stored = profile_docs(engine)
        assert {uid: doc["event_count"] for uid, doc in stored.items() if doc["event_count"]} == {
            uid: n for uid, n in per_person.items()
        }
        engine.rebuild_profiles()
        rebuilt = profile_docs(engine)
        assert stored == rebuilt, differences(stored, rebuilt)
        assert sum(doc["event_count"] for doc in rebuilt.values()) == logged
        return rebuilt
    finally:
        engine.close()


def test_a_kill_dash_9_during_a_bulk_import_keeps_whole_chunks_and_a_rerun_completes_it(
    database_url: str, tmp_path: Path
) -> None:
    total = 40_000
    file = tmp_path / "events.jsonl"
    file.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in _events(total)))
    env = _env(tmp_path, database_url)  # SQLite: the fixture's file is <home>/p13n.db
    kill_when([_P13N, "import", "events", str(file)], env, lambda: _logged(database_url) >= 10_000)
    partial = _logged(database_url)
    assert 10_000 <= partial < total
    assert partial % 5000 == 0  # whole chunks (one transaction each), never part of one
    _assert_profiles_are_the_log_recomputed(database_url)

    done = subprocess.run(
        [_P13N, "import", "events", str(file)], env=env, capture_output=True, timeout=600
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert f"{total - partial} accepted" in done.stdout.decode(), done.stdout.decode()
    assert f"{partial} duplicates" in done.stdout.decode()
    profiles = _assert_profiles_are_the_log_recomputed(database_url)
    assert sum(p["event_count"] for p in profiles.values()) == total
