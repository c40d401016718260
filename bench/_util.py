"""Helpers shared by benchmarks: percentiles, memory, machine facts, and a server subprocess."""

from __future__ import annotations

import atexit
import ctypes
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx
import numpy as np

__all__ = [
    "percentile_ms",
    "peak_rss_mb",
    "current_rss_mb",
    "machine_facts",
    "free_port",
    "ServerProcess",
]

_REPO = Path(__file__).resolve().parent.parent
_PR_SET_PDEATHSIG = 1


def percentile_ms(samples_ns: Sequence[int], q: float) -> float:
    """The q-th percentile (linear interpolation) of nanosecond samples, in milliseconds."""
    if not samples_ns:
        raise ValueError("no samples")
    return round(float(np.percentile(np.asarray(samples_ns, dtype=np.float64), q)) / 1e6, 3)


def peak_rss_mb() -> float:
    """Peak resident set of this process so far (Linux reports ru_maxrss in KiB)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mb() -> float | None:
    """VmRSS from /proc/self/status, or None where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _code_version() -> str | None:
    """`git describe --always --dirty` of the checkout, since figures move with the code."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=_REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine_facts() -> dict[str, object]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "code": _code_version(),
    }


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies, however it dies (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ServerProcess:
    """A server subprocess that is stopped on exit of the `with` block, at interpreter exit,
    and (on Linux) by the kernel when this process dies without running either."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], log_path: Path) -> None:
        self.argv, self.env, self.log_path = list(argv), dict(env), log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        guard: Callable[[], None] | None = _die_with_parent if sys.platform == "linux" else None
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=guard,  # only a prctl call between fork and exec
            )
        atexit.register(self.stop)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        atexit.unregister(self.stop)

    def wait_healthy(self, url: str, *, timeout_s: float = 120.0) -> float:
        """Poll `url` until it answers 200; returns seconds since the process was started."""
        assert self.proc is not None
        started = time.perf_counter()
        deadline = started + timeout_s
        with httpx.Client(timeout=2.0) as client:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"the server exited with code {self.proc.returncode} before answering "
                        f"{url}:\n{self.log_tail()}"
                    )
                try:
                    if client.get(url).status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(
            f"the server did not answer {url} within {timeout_s:.0f} s:\n{self.log_tail()}"
        )

    def stop(self, *, grace_s: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace_s`; returns the exit code (None if never started)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])
