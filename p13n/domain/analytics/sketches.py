"""Mergeable summaries for the pipeline's hourly aggregates: a HyperLogLog of unique
individuals and fixed log-spaced histograms of stage timings.

Both merge exactly (registers by max, histograms by sum), so an hour written in many batches,
by several processes, or recomputed from the raw log in one pass gives the same bytes and so
the same numbers.

Error bounds (what the API's `notes` repeat):
- unique individuals: HyperLogLog with 2^12 registers over a 64-bit BLAKE2b hash; relative
  standard error 1.04/√4096 ≈ 1.6 %; below 2.5 × 4096 linear counting is used, exact to the
  unit for a few dozen and within about 1 % (one standard error) at 500.
- percentiles: nearest-rank over buckets whose bounds grow by 10 %; the bucket's geometric
  midpoint is reported, within ±4.9 % (√1.1 − 1) of the exact nearest-rank value for values from
  1 µs to 10 minutes; values under 1 µs report 0, values past 10 minutes report 10 minutes.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "HLL_REGISTERS",
    "TIMING_BUCKETS",
    "hll_add",
    "hll_estimate",
    "hll_merge",
    "new_hll",
    "timing_bucket",
    "timing_buckets",
    "timing_percentile",
    "unit_hash",
]

HLL_BITS = 12
HLL_REGISTERS = 1 << HLL_BITS
_REST_BITS = 64 - HLL_BITS
_REST_MASK = (1 << _REST_BITS) - 1
_ALPHA = 0.7213 / (1 + 1.079 / HLL_REGISTERS)

LOWEST_MS = 0.001
GROWTH = 1.1
HIGHEST_MS = 600_000.0
# bucket 0: [0, 1 µs); bucket k ≥ 1: [LOWEST·γ^(k-1), LOWEST·γ^k); the last one is open-ended.
_STEPS = math.ceil(math.log(HIGHEST_MS / LOWEST_MS) / math.log(GROWTH))
TIMING_BUCKETS = _STEPS + 2
_LOG_GROWTH = math.log(GROWTH)
_CLIP_MS = HIGHEST_MS * GROWTH**2  # past it every value is in the last, open-ended bucket


def unit_hash(unit: str) -> int:
    """A 64-bit hash stable across processes and runs (Python's `hash` is salted)."""
    return int.from_bytes(hashlib.blake2b(unit.encode(), digest_size=8).digest(), "big")


def new_hll() -> npt.NDArray[np.uint8]:
    return np.zeros(HLL_REGISTERS, dtype=np.uint8)


@functools.lru_cache(maxsize=1 << 16)
def _register_of(unit: str) -> tuple[int, int]:
    """(register, rank) of a unit; cached because the log writer sees the same people again
    and again, and a hash is most of what adding one costs."""
    h = unit_hash(unit)
    return h >> _REST_BITS, _REST_BITS - (h & _REST_MASK).bit_length() + 1


def hll_add(registers: npt.NDArray[np.uint8], units: Iterable[str]) -> None:
    """Add units to the registers in place."""
    for unit in units:
        index, rank = _register_of(unit)
        if rank > registers[index]:
            registers[index] = rank


def hll_merge(into: npt.NDArray[np.uint8], other: npt.NDArray[np.uint8]) -> None:
    np.maximum(into, other, out=into)


def hll_estimate(registers: npt.NDArray[np.uint8]) -> int:
    """The estimated number of distinct units (0 for empty registers)."""
    zeros = int(np.count_nonzero(registers == 0))
    if zeros == HLL_REGISTERS:
        return 0
    m = float(HLL_REGISTERS)
    raw = _ALPHA * m * m / float(np.sum(np.ldexp(1.0, -registers.astype(np.int64))))
    if raw <= 2.5 * m and zeros:
        return round(m * math.log(m / zeros))
    return round(raw)


def timing_bucket(ms: float) -> int:
    """The histogram bucket of a duration in milliseconds."""
    return int(timing_buckets(np.array([ms], dtype=np.float64))[0])


def timing_buckets(ms: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """The histogram bucket of each duration (the one definition: the log writer buckets a
    batch's timings at once)."""
    ok = ms >= LOWEST_MS  # False for NaN
    safe = np.clip(np.where(ok, ms, LOWEST_MS), LOWEST_MS, _CLIP_MS)  # inf stays finite
    steps = np.floor(np.log(safe / LOWEST_MS) / _LOG_GROWTH).astype(np.int64) + 1
    return np.where(ok, np.minimum(steps, TIMING_BUCKETS - 1), 0)


def _bucket_value(bucket: int) -> float:
    if bucket == 0:
        return 0.0
    if bucket == TIMING_BUCKETS - 1:
        return HIGHEST_MS
    low = LOWEST_MS * GROWTH ** (bucket - 1)
    return low * math.sqrt(GROWTH)


def timing_percentile(counts: Sequence[int] | npt.NDArray[np.int64], q: float) -> float | None:
    """Nearest-rank percentile `q` (0 < q ≤ 1) of a histogram, in ms rounded to 3 places;
    None when it is empty."""
    total = int(np.sum(counts))
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    cumulative = np.cumsum(counts)
    bucket = int(np.searchsorted(cumulative, rank))
    return round(_bucket_value(bucket), 3)
