"""Freed memory scrubbed (`p13n.server.heap`): a block malloc hands out again no longer holds
what was freed there. Each case runs in a fresh interpreter (the setting is process-wide): the
same block freed and taken again keeps its secret without the setting and loses it with it."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = r"""
import ctypes, ctypes.util, sys
if sys.argv[1] == "on":
    from p13n.server.heap import scrub_freed_memory
    assert scrub_freed_memory()
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
size = 64 * 1024
secret = b"shopper1@example.com " * 64
found = 0
for _ in range(20):
    block = libc.malloc(size)
    ctypes.memmove(block, secret, len(secret))
    libc.free(block)
    again = libc.malloc(size)
    found += secret[:20] in ctypes.string_at(again, len(secret))
    libc.free(again)
print(found)
"""


def _secrets_found(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_reused_block_keeps_no_freed_secret_once_scrubbing_is_on() -> None:
    assert _secrets_found("off") > 0  # glibc hands the freed block back with its content
    assert _secrets_found("on") == 0
