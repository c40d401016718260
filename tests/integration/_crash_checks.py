"""What the crash-safety tests check after a `kill -9` and a restart, shared by them: the stored
profiles against a recompute from the event log, the event log against duplicates, identity
clusters as partitions of the source records, and a process killed at a chosen point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from p13n.domain.services import Engine
from p13n.domain.store import SqlStore

__all__ = [
    "differences",
    "event_counts",
    "kill_when",
    "partition",
    "profile_docs",
    "run_child_until_it_dies",
]

# When the document was last written, and the segment memberships, which are functions of the
# clock as well as of the events (a cart abandoner is one whose cart is older than a window);
# the batch-run test checks memberships against a recompute at the same time.
_VOLATILE = ("updated_at", "segments", "segment_exits")


def profile_docs(engine: Engine, *, keep_segments: bool = False) -> dict[str, dict[str, Any]]:
    """Every stored profile document (as JSON values), without its write time and, unless
    `keep_segments`, without the memberships (see `_VOLATILE`)."""
    out: dict[str, dict[str, Any]] = {}
    dropped = _VOLATILE[:1] if keep_segments else _VOLATILE
    for docs in engine.store.iter_profile_docs():
        for doc in docs:
            data = orjson.loads(doc)
            for key in dropped:
                data.pop(key, None)
            out[data["unified_id"]] = data
    return out


def event_counts(engine: Engine) -> tuple[int, Counter[str], Counter[str]]:
    """(events logged, events per unified id, how often each event id is logged)."""
    store = engine.store
    assert isinstance(store, SqlStore)
    per_person: Counter[str] = Counter()
    ids: Counter[str] = Counter()
    with store.db.connect() as conn:
        for event_id, uid in conn.exec_driver_sql("SELECT event_id, unified_id FROM events"):
            ids[event_id] += 1
            per_person[uid] += 1
    return sum(ids.values()), per_person, ids


def differences(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> list[str]:
    """The first few (profile, field, value in a, value in b) where two snapshots differ."""
    out = [f"only in one: {sorted(set(a) ^ set(b))[:5]}"] if set(a) != set(b) else []
    for uid in sorted(set(a) & set(b)):
        for key in sorted(set(a[uid]) | set(b[uid])):
            if a[uid].get(key) != b[uid].get(key):
                out.append(f"{uid}.{key}: {a[uid].get(key)!r:.300} != {b[uid].get(key)!r:.300}")
        if len(out) >= 6:
            break
    return out


def partition(owner_of: dict[str, str]) -> set[frozenset[str]]:
    """Clusters as sets of record keys (equal whatever the survivors are called)."""
    groups: dict[str, set[str]] = {}
    for record, owner in owner_of.items():
        groups.setdefault(owner, set()).add(record)
    return {frozenset(g) for g in groups.values()}


def kill_when(
    argv: list[str], env: dict[str, str], ready: Callable[[], bool], *, timeout_s: float = 300
) -> subprocess.CompletedProcess[bytes]:
    """Start `argv`, SIGKILL it as soon as `ready()` holds (polled), and return what it wrote;
    fails if it finished first."""
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_s
    try:
        while not ready():
            if child.poll() is not None:
                out, err = child.communicate()
                raise AssertionError(
                    f"{argv[1:]} ended ({child.returncode}) before the kill point:\n"
                    f"{err.decode()[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{argv[1:]} never reached the kill point")
            time.sleep(0.02)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
    out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err.decode()[-2000:]
    return subprocess.CompletedProcess(argv, child.returncode, out, err)


def run_child_until_it_dies(script: Path, *args: str) -> str:
    """Run a child that kills itself (SIGKILL) at its kill point; its stderr if it did."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(script), *args], env=env, capture_output=True, timeout=600
    )
    assert done.returncode == -signal.SIGKILL, (
        f"the child did not die at its kill point (exit {done.returncode}):\n"
        f"{done.stderr.decode()[-3000:]}"
    )
    return done.stderr.decode()
