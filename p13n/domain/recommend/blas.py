"""One BLAS thread while a request is served.

numpy's OpenBLAS splits any matrix-vector product above about 9,000 elements over every core
(a 3,000 × 384 item matrix already qualifies). On a busy machine the second thread waits for a
core, and the request waits for it: measured on the 2-core sandbox under load, `A @ v` for
3,000 × 384 took p50 0.10 / p99 8.3 ms with two threads and 0.17 / 3.2 ms with one; 20,000 ×
384, p90 9.5 vs 2.1 ms. The request path's products are small, so one thread costs little at
the median and removes the tail. Batch work (training, building the index) keeps every core:
the limit holds only while at least one request is inside `single_threaded_blas()`, and the
previous setting comes back when the last one leaves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["single_threaded_blas"]

_lock = threading.Lock()
_inside = 0
_saved: list[tuple[Any, int]] = []
_controllers: list[Any] | None = None


def _blas() -> list[Any]:
    """The loaded BLAS libraries' thread controls (found once; numpy is loaded by then)."""
    global _controllers
    if _controllers is None:
        try:
            from threadpoolctl import ThreadpoolController

            found = ThreadpoolController().select(user_api="blas")
            _controllers = list(found.lib_controllers)
        except Exception:  # no control over this BLAS: serve with its own threading
            _controllers = []
    return _controllers


def _set(lib: Any, threads: int) -> None:
    """Set a library's thread count from whichever thread serves the request. threadpoolctl
    lets only one "controlling" Python thread change a process-wide OpenBLAS pool and silently
    ignores the others; the counter above already serializes the changes, so the control is
    released before and after each one."""
    release = getattr(type(lib), "clear_controlling_thread", None)
    if release is not None:
        release(force=True)
    lib.set_num_threads(threads)
    if release is not None:
        release(force=True)


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    global _inside
    with _lock:
        if _inside == 0:
            _saved.clear()
            for lib in _blas():
                threads = int(lib.num_threads)
                if threads != 1:
                    _saved.append((lib, threads))
                    _set(lib, 1)
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                for lib, threads in _saved:
                    _set(lib, threads)
                _saved.clear()
