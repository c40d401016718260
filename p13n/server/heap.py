"""Freed memory scrubbed before it is reused: glibc's `M_PERTURB` fills every block `malloc`
hands out, and every block freed, with a fixed byte.

Why: hnswlib (under Chroma) allocates its index buffer with `malloc` and persists all of it,
its unused capacity included, to `vectors/*/data_level0.bin`. Without this, that capacity holds
whatever the process freed there before, which was seen to be a profile's JSON (names and ids
of a person, after the person was erased): personal data written to disk where erasure cannot
find it. With it, a reused block never carries old content. Python's small objects come from
its own arenas and are not affected; the cost is a memset per large allocation and free.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

__all__ = ["scrub_freed_memory"]

log = logging.getLogger(__name__)

_M_PERTURB = -6  # glibc malloc.h
_BYTE = 0xA5
_done: list[bool] = []


def scrub_freed_memory() -> bool:
    """Turn on glibc's perturbation once per process; False where it is not available (not
    Linux with glibc), which is logged once."""
    if _done:
        return _done[0]
    ok = False
    if sys.platform.startswith("linux"):
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name or "libc.so.6")
            ok = bool(libc.mallopt(_M_PERTURB, _BYTE))
        except (OSError, AttributeError):
            ok = False
    if not ok:
        log.warning("freed memory is not scrubbed on this platform (no glibc mallopt)")
    _done.append(ok)
    return ok
