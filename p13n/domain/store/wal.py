"""Background WAL checkpoints for SQLite, so that no request pays for one.

With `synchronous=FULL`, SQLite's automatic checkpoint runs inside whichever commit crosses
the WAL size threshold: that commit copies megabytes into the database file and fsyncs it,
which is the 99th-percentile latency of single-event ingest. A daemon thread on its own
connection runs PASSIVE checkpoints (they never block the writer) once a second instead.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading

__all__ = ["WalCheckpointer"]


class WalCheckpointer:
    def __init__(self, path: str, *, interval_s: float = 1.0) -> None:
        self._path, self._interval = path, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="p13n-wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=10000")
            while not self._stop.wait(self._interval):
                self._checkpoint(conn)
            self._checkpoint(conn)
        finally:
            conn.close()

    @staticmethod
    def _checkpoint(conn: sqlite3.Connection) -> None:
        with contextlib.suppress(sqlite3.Error):  # busy or closing: the next round catches up
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
