"""Blocking: candidate pairs are records that share a key; all pairs inside each block.

Pairs are encoded as one int64, `i * n + j` with `i < j`, so that the pairs of several keys
are merged with one `np.unique`. Blocks larger than `max_block` are skipped (a value that
common does not identify anybody) — the same cap the real-time index applies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["block_pairs", "factorize", "explode", "decode_pairs", "I64"]

I64 = npt.NDArray[np.int64]


def factorize(values: Sequence[object] | npt.NDArray[np.object_]) -> I64:
    """Integer codes of values; None / NaN / '' -> -1."""
    arr = np.asarray(values, dtype=object)
    codes, _ = pd.factorize(arr, use_na_sentinel=True)
    codes = codes.astype(np.int64)
    codes[arr == ""] = -1
    return codes


def explode(columns: Sequence[tuple[str, ...]]) -> tuple[I64, I64]:
    """Multi-valued column -> (row index, value code) for every value."""
    lengths = np.fromiter((len(v) for v in columns), dtype=np.int64, count=len(columns))
    rows = np.repeat(np.arange(len(columns), dtype=np.int64), lengths)
    flat = [x for v in columns for x in v]
    return rows, factorize(flat) if flat else np.zeros(0, dtype=np.int64)


def block_pairs(rows: I64, keys: I64, n: int, *, max_block: int) -> I64:
    """Sorted unique pair codes of records sharing a key (key -1 = no key)."""
    mask = keys >= 0
    rows, keys = rows[mask], keys[mask]
    if len(keys) < 2:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((rows, keys))
    rows, keys = rows[order], keys[order]
    change = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    ends = np.concatenate((change, [len(keys)])).astype(np.int64)
    sizes = ends - starts
    usable = (sizes >= 2) & (sizes <= max_block)
    group = np.repeat(np.arange(len(starts)), sizes)
    pos = np.flatnonzero(usable[group])
    counts = ends[group[pos]] - pos - 1
    counts_total = int(counts.sum())
    if counts_total == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.repeat(pos, counts)
    offsets = np.arange(counts_total, dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts
    )
    a, b = rows[first], rows[first + 1 + offsets]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    return np.unique(lo[keep] * np.int64(n) + hi[keep])


def decode_pairs(codes: I64, n: int) -> tuple[I64, I64]:
    return codes // np.int64(n), codes % np.int64(n)
