"""A 2xx means the accepted events survive kill -9: the group-committed log is durable and the
graphs written behind it are rebuilt from the log when the store reopens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

from p13n.domain.services import Engine, EngineOptions
from p13n.domain.store import SqlStore

_CHILD = Path(__file__).with_name("_ingest_until_killed.py")


def _ingest_then_kill(url: str, write_behind_s: float, acked_at_least: int) -> list[str]:
    """Run the child until it reported `acked_at_least` accepted events, then SIGKILL it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, str(_CHILD), url, str(write_behind_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    acked: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            acked.extend(orjson.loads(line))
            if len(acked) >= acked_at_least:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        _, stderr = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
    assert len(acked) >= acked_at_least, stderr.decode()[-2000:]
    return acked


@pytest.mark.parametrize("write_behind_s", [0.02, 0.0], ids=["write-behind", "write-through"])
def test_events_acknowledged_before_a_kill_dash_9_are_in_the_log_and_in_the_profiles(
    database_url: str, write_behind_s: float
) -> None:
    acked = _ingest_then_kill(database_url, write_behind_s, 1500)
    engine = Engine.open(database_url, EngineOptions(write_behind_s=0))
    try:
        store = engine.store
        assert isinstance(store, SqlStore)
        with store.transaction() as conn:
            logged = store.existing_event_ids(conn, acked)
        assert set(acked) <= logged  # nothing acknowledged was lost
        per_person: Counter[str] = Counter()
        with store.db.connect() as conn:
            for uid, count in conn.exec_driver_sql(
                "SELECT unified_id, COUNT(*) FROM events GROUP BY unified_id"
            ):
                per_person[uid] = count
        assert sum(per_person.values()) >= len(acked)
        for uid, count in per_person.items():
            profile = engine.load_profile(uid)
            assert profile is not None
            assert profile.event_count == count  # every logged event applied exactly once
        engine.checkpoint()
        reopened = Engine.open(database_url, EngineOptions(write_behind_s=0))
        try:
            for uid, count in per_person.items():
                stored = reopened.load_profile(uid)
                assert stored is not None and stored.event_count == count
        finally:
            reopened.close()
    finally:
        engine.close()
