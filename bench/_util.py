"""Helpers shared by benchmarks: percentiles, memory, machine facts, and a server subprocess."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import os
import platform
import queue
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx
import numpy as np
import orjson

__all__ = [
    "percentile_ms",
    "peak_rss_mb",
    "current_rss_mb",
    "machine_facts",
    "code_fingerprint",
    "free_port",
    "ServerProcess",
    "server_env",
    "p13n_script",
    "post_batches",
    "keep_result",
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


def _git(*args: str) -> str:
    out = subprocess.run(
        ["git", *args], cwd=_REPO, capture_output=True, text=True, timeout=30, check=True
    )
    return out.stdout


def code_fingerprint() -> str | None:
    """The commit plus a hash of the uncommitted changes under p13n/ ('4746b22+3fa1c0de'), so
    that figures name the exact engine code, and an edit made during a run shows."""
    try:
        head = _git("rev-parse", "--short", "HEAD").strip()
        diff = _git("diff", "HEAD", "--", "p13n")
    except (OSError, subprocess.SubprocessError):
        return None
    if not diff:
        return head
    return f"{head}+{hashlib.sha256(diff.encode()).hexdigest()[:8]}"


def machine_facts() -> dict[str, object]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def keep_result(name: str, summary: Mapping[str, object]) -> Path:
    """Write a run's JSON under bench/results/ (named by benchmark, commit and time) so that a
    figure in BENCHMARKS.md points at the raw run behind it; the summary should carry
    `code_fingerprint()`, `machine_facts()` and the settings it ran with."""
    out = _REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    code = str(summary.get("code") or code_fingerprint() or "nogit").replace("+", "-")
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = out / f"{name}-{code}-{stamp}.json"
    path.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return path


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(home: Path) -> dict[str, str]:
    """This environment without any P13N_ setting, so the server opens exactly our store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("P13N_")}
    env["P13N_HOME"] = str(home)
    return env


def p13n_script() -> str:
    script = Path(sys.executable).parent / "p13n"
    found = str(script) if script.exists() else shutil.which("p13n")
    if found is None:
        raise RuntimeError(
            "no `p13n` script next to this Python or on PATH; pip install -e . first"
        )
    return found


def post_batches(
    base_url: str,
    path: str,
    bodies: list[tuple[bytes, int]],
    *,
    clients: int,
    on_batch: Callable[[], None],
    headers: dict[str, str] | None = None,
) -> tuple[float, list[int]]:
    """POST each (JSON body, events in it) to `path` from `clients` threads, one httpx.Client
    each, started together; returns (wall seconds, nanoseconds per call). A status other than
    200 or an `accepted` count short of the events sent stops the load and raises."""
    jobs: queue.SimpleQueue[tuple[bytes, int]] = queue.SimpleQueue()
    for body in bodies:
        jobs.put(body)
    samples: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)

    def worker() -> None:
        try:
            _client_loop(base_url, path, jobs, ready, samples, errors, lock, on_batch, headers)
        except Exception as exc:  # reported by the main thread, never lost in a thread
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
            ready.abort()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait(timeout=120)
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"HTTP load failed ({len(errors)} client(s)); first: {errors[0]}")
    return wall, samples


def _client_loop(
    base_url: str,
    path: str,
    jobs: queue.SimpleQueue[tuple[bytes, int]],
    ready: threading.Barrier,
    samples: list[int],
    errors: list[str],
    lock: threading.Lock,
    on_batch: Callable[[], None],
    extra_headers: dict[str, str] | None = None,
) -> None:
    """One client: take bodies until none are left or any client has failed."""
    headers = {"content-type": "application/json", **(extra_headers or {})}
    mine: list[int] = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=120.0) as client:
        client.get("/health")  # open the connection before the clock starts
        ready.wait()
        while not errors:
            try:
                body, expected = jobs.get_nowait()
            except queue.Empty:
                break
            t0 = time.perf_counter_ns()
            response = client.post(path, content=body)
            mine.append(time.perf_counter_ns() - t0)
            problem = _check_batch(response, expected)
            if problem:
                with lock:
                    errors.append(problem)
                break
            on_batch()
    with lock:
        samples.extend(mine)


def _check_batch(response: httpx.Response, expected: int) -> str | None:
    if response.status_code != 200:
        return f"status {response.status_code}: {response.text[:500]}"
    accepted = orjson.loads(response.content).get("accepted")
    if accepted != expected:
        return f"accepted {accepted} of {expected}: {response.text[:500]}"
    return None


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
        """Poll `url` until it answers 200 and the server is done loading the embedding model
        in the background (`"model": "loading"` in `/health`: a measurement started before
        would share the two cores with that load); seconds since the process was started."""
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
                    r = client.get(url)
                    if r.status_code == 200 and r.json().get("model") != "loading":
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
