"""SQLite checkpoints run on a background thread, never inside a request's commit."""

from __future__ import annotations

import os
import time
from pathlib import Path

from p13n.domain.store import SqlStore, open_engine


def test_commits_leave_the_wal_to_the_background_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "p13n.db"
    store = SqlStore(open_engine(f"sqlite:///{path}"))
    try:
        with store.db.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        before = os.path.getsize(path)
        rows = [{"unified_id": f"u{i}", "doc": "x" * 4000, "updated_at": 0.0} for i in range(2000)]
        with store.transaction() as conn:
            store.upsert_profiles(conn, rows)
        # The commit wrote the WAL only; the database file grows when the checkpointer copies it.
        deadline = time.monotonic() + 20
        while os.path.getsize(path) <= before + 4_000_000 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert os.path.getsize(path) > before + 4_000_000
    finally:
        store.close()
