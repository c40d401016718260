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
from _crash_checks import (
    differences,
    event_counts,
    kill_when,
    partition,
    profile_docs,
    run_child_until_it_dies,
)
from _database import postgres_database

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


@contextmanager
def _reference_database(url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty store of the same dialect, for the uncrashed run to compare with."""
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'reference.db'}"
        return
    with postgres_database() as other:
        yield other


def _owners(engine: Engine) -> dict[str, str]:
    ident = engine.state.identity
    return {key: str(ident.owner(key)) for key in ident.index.records}


def _with_records(url: str, rows: list[dict[str, Any]]) -> dict[str, str]:
    engine = Engine.open(url, clock=lambda: NOW)
    try:
        IdentityService(engine).import_records(rows)
        return _owners(engine)
    finally:
        engine.close()


def test_a_kill_dash_9_inside_identity_resolution_leaves_the_clusters_it_found(
    database_url: str, tmp_path: Path
) -> None:
    from bench.identity_data import generated_rows

    rows = list(generated_rows(800, seed=7))
    before = _with_records(database_url, rows)
    run_child_until_it_dies(_CHILD, "resolve", database_url)

    engine = Engine.open(database_url, clock=lambda: NOW)
    try:
        assert _owners(engine) == before  # the run's transaction never committed
        assert engine.store.get_meta("identity.last_resolve_at") is None  # nor marked as run
        resumed = IdentityService(engine).resolve()
        after = _owners(engine)
    finally:
        engine.close()

    with _reference_database(database_url, tmp_path) as reference:
        assert _with_records(reference, rows) == before
        fresh_engine = Engine.open(reference, clock=lambda: NOW)
        try:
            fresh = IdentityService(fresh_engine).resolve()
            expected = _owners(fresh_engine)
        finally:
            fresh_engine.close()
    assert fresh.merges > 0  # the run does change the clusters, so the check can fail
    assert partition(after) == partition(expected)
    assert after == expected  # the same survivors too
    assert (resumed.clusters, resumed.links) == (fresh.clusters, fresh.links)
    reopened = Engine.open(database_url, clock=lambda: NOW)
    try:
        assert _owners(reopened) == after  # and that is what is stored, not only held
    finally:
        reopened.close()


def _population(url: str, people: int) -> dict[str, dict[str, Any]]:
    """`people` profiles from a few events each, ingested at NOW."""
    engine = Engine.open(url, clock=lambda: NOW)
    try:
        events = [
            {
                "eventId": f"pop-{p}-{k}",
                "individualId": f"shopper-{p}",
                "interaction": ("View Catalog Object", "Add To Cart", "Purchase")[k],
                "itemId": f"item-{(p + k) % 50}",
                "quantity": 1,
                "price": 10.0 + p % 7,
                "orderId": f"po-{p}" if k == 2 else None,
                "dateTime": "2027-01-14T09:00:00Z",
            }
            for p in range(people)
            for k in range(2 + p % 2)
        ]
        for start in range(0, len(events), 1000):
            engine.ingest(events[start : start + 1000])
        engine.checkpoint()
        return profile_docs(engine, keep_segments=True)
    finally:
        engine.close()


def test_a_kill_dash_9_during_a_batch_run_leaves_each_profile_whole_and_a_rerun_completes_it(
    database_url: str, tmp_path: Path
) -> None:
    people = 2600  # two pages of profiles (the batch paths rewrite 2,000 per transaction)
    before = _population(database_url, people)
    with _reference_database(database_url, tmp_path) as reference:
        assert _population(reference, people) == before
        later = Engine.open(reference, clock=lambda: NOW + 86_400 * 30)
        try:
            later.recompute_insights()
            expected = profile_docs(later, keep_segments=True)
        finally:
            later.close()
    changed = {uid for uid in before if before[uid] != expected[uid]}
    assert len(changed) > people // 2, "the batch run must change profiles for the test to bite"

    run_child_until_it_dies(_CHILD, "recompute", database_url)
    engine = Engine.open(database_url, clock=lambda: NOW + 86_400 * 30)
    try:
        crashed = profile_docs(engine, keep_segments=True)
        assert set(crashed) == set(before)
        new = {uid for uid, doc in crashed.items() if doc == expected[uid] != before[uid]}
        old = {uid for uid, doc in crashed.items() if doc == before[uid] != expected[uid]}
        same = {uid for uid in crashed if before[uid] == expected[uid] == crashed[uid]}
        assert new | old | same == set(crashed), differences(crashed, expected)  # none half-written
        first_page = set(sorted(before)[:2000])
        assert new == changed & first_page and old == changed - first_page
        for uid in sorted(old)[:20]:  # what is served is what is stored
            served = engine.get_profile(uid)
            assert served.event_count == before[uid]["event_count"]
        engine.recompute_insights()
        assert profile_docs(engine, keep_segments=True) == expected
    finally:
        engine.close()
