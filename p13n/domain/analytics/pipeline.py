"""Pipeline intelligence: hourly buckets of the decision pipeline, and the report over them.

One bucket per (UTC hour, channel, point) holds counters, a HyperLogLog of the individuals seen,
timing histograms per stage, and counts per diagnostic code (`sketches.py` says the error
bounds). `accumulate` turns personalization-log rows (mappings with the log table's column
names) into buckets; the log writer runs it per batch and the store merges the result into the
stored hour, and a recompute runs it over the raw log: both give the same buckets, since every
part merges exactly.

What is counted, per bucket:
- `requests`: decision requests, each counted once, in the bucket of the alphabetically first
  point it named (so that buckets sum to the number of requests whatever the grouping);
- `point_requests`: distinct (request, point) pairs, the requests per point;
- `points`: decision instances (one per requested point, whatever its answer);
- `served`: instances answered with status 200 (content, manual or recommended);
- `decisions`: instances where a decision or an experiment cohort qualified;
- `diagnostics`: instances carrying each diagnostic code (a code counts once per instance);
- timings of each instance: augmenting, qualifying, personalizing and total ms.
A request's rows must come in one call (the log writer never splits a request across
batches); its rows share one time, so they share an hour.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from p13n.domain.analytics.sketches import (
    HLL_REGISTERS,
    TIMING_BUCKETS,
    hll_add,
    hll_merge,
    new_hll,
    timing_buckets,
)

__all__ = [
    "HOUR",
    "STAGES",
    "BucketKey",
    "PipelineBucket",
    "accumulate",
    "accumulate_rows",
    "decode_state",
    "merge_all",
    "merge_states",
]

HOUR = 3600
STAGES = ("augmenting", "qualifying", "personalizing", "total")
COUNTERS = ("requests", "point_requests", "points", "served", "decisions")
_VERSION = 2
_ZLIB_VERSION = 1  # states written before version 2: the whole body, zlib-compressed

BucketKey = tuple[int, str, str]
"""(hour start in UTC epoch seconds, channel, point); '' for a missing channel or point."""


def _new_timings() -> npt.NDArray[np.int64]:
    return np.zeros((len(STAGES), TIMING_BUCKETS), dtype=np.int64)


@dataclass(slots=True)
class PipelineBucket:
    """The summaries of one bucket (or of several merged)."""

    requests: int = 0
    point_requests: int = 0
    points: int = 0
    served: int = 0
    decisions: int = 0
    units: npt.NDArray[np.uint8] = field(default_factory=new_hll)
    timings: npt.NDArray[np.int64] = field(default_factory=_new_timings)
    diagnostics: Counter[int] = field(default_factory=Counter)

    def merge(self, other: PipelineBucket) -> None:
        """Add `other` into this bucket (exact: sums, register max)."""
        self.requests += other.requests
        self.point_requests += other.point_requests
        self.points += other.points
        self.served += other.served
        self.decisions += other.decisions
        hll_merge(self.units, other.units)
        self.timings += other.timings
        self.diagnostics.update(other.diagnostics)

    def counters(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in COUNTERS}

    def state(self) -> bytes:
        """The sketches and diagnostics as compact bytes (the counters are stored as columns):
        the non-zero cells only (an hour's registers and histograms are mostly zeros), or all
        the registers once that is shorter. Encoding costs microseconds, not zlib's
        fraction of a millisecond: the log writer encodes a state per hour, channel and point
        of every batch."""
        codes = sorted(self.diagnostics.items())
        parts = [struct.pack("<BH", _VERSION, len(codes))]
        parts.extend(struct.pack("<HQ", code, n) for code, n in codes)
        (set_registers,) = np.nonzero(self.units)
        if len(set_registers) * 3 < HLL_REGISTERS:
            parts.append(struct.pack("<BH", 1, len(set_registers)))
            parts.append(set_registers.astype("<u2").tobytes())
            parts.append(self.units[set_registers].tobytes())
        else:
            parts.append(struct.pack("<BH", 0, HLL_REGISTERS))
            parts.append(self.units.tobytes())
        flat = self.timings.reshape(-1)
        (cells,) = np.nonzero(flat)
        parts.append(struct.pack("<I", len(cells)))
        parts.append(cells.astype("<u2").tobytes())
        parts.append(flat[cells].astype("<u8").tobytes())
        return b"".join(parts)


def merge_all(buckets: Sequence[PipelineBucket]) -> PipelineBucket:
    """One bucket of many (as `merge` one by one, in one numpy reduction: a 30-day report
    merges thousands of hours)."""
    out = PipelineBucket()
    if not buckets:
        return out
    for name in COUNTERS:
        setattr(out, name, sum(getattr(b, name) for b in buckets))
    out.units = np.maximum.reduce(np.stack([b.units for b in buckets]), axis=0)
    out.timings = np.sum(np.stack([b.timings for b in buckets]), axis=0)
    for b in buckets:
        out.diagnostics.update(b.diagnostics)
    return out


def decode_state(counters: Mapping[str, Any], state: bytes | None) -> PipelineBucket:
    """A bucket from its stored counters and `state` bytes (None or b'': empty sketches)."""
    bucket = PipelineBucket()
    for name in COUNTERS:
        setattr(bucket, name, int(counters.get(name) or 0))
    if not state:
        return bucket
    version, n = struct.unpack_from("<BH", state, 0)
    if version not in (_VERSION, _ZLIB_VERSION):
        raise ValueError(f"unknown pipeline state version {version}")
    offset = 3
    for _ in range(n):
        code, count = struct.unpack_from("<HQ", state, offset)
        bucket.diagnostics[code] = count
        offset += 10
    if version == _ZLIB_VERSION:
        body = zlib.decompress(state[offset:])
        bucket.units = np.frombuffer(body[:HLL_REGISTERS], dtype=np.uint8).copy()
        timings = np.frombuffer(body[HLL_REGISTERS:], dtype="<u8").astype(np.int64)
        bucket.timings = timings.reshape(len(STAGES), TIMING_BUCKETS)
        return bucket
    sparse, n = struct.unpack_from("<BH", state, offset)
    offset += 3
    if sparse:
        at = np.frombuffer(state, dtype="<u2", count=n, offset=offset).astype(np.intp)
        bucket.units[at] = np.frombuffer(state, dtype=np.uint8, count=n, offset=offset + 2 * n)
        offset += 3 * n
    else:
        bucket.units = np.frombuffer(state, dtype=np.uint8, count=n, offset=offset).copy()
        offset += n
    (n,) = struct.unpack_from("<I", state, offset)
    offset += 4
    cells = np.frombuffer(state, dtype="<u2", count=n, offset=offset).astype(np.intp)
    flat = bucket.timings.reshape(-1)
    flat[cells] = np.frombuffer(state, dtype="<u8", count=n, offset=offset + 2 * n)
    return bucket


def merge_states(old: bytes | None, new: bytes | PipelineBucket) -> bytes:
    """The state of an hour after adding a batch's state (the store's merge step); the log
    writer passes the batch's bucket itself, which spares encoding and decoding it again."""
    added = new if isinstance(new, PipelineBucket) else decode_state({}, new)
    if not old:
        return added.state() if isinstance(new, PipelineBucket) else new
    merged = decode_state({}, old)
    merged.merge(added)
    return merged.state()


def _codes(status: Any, diagnostics: Any) -> tuple[int, ...]:
    codes = {int(status or 0)}
    codes.update(int(c) for c in str(diagnostics or "").split() if c.isdigit())
    codes.discard(0)
    return tuple(codes)


_NEEDED = (
    "ts",
    "point",
    "channel",
    "request_id",
    "status",
    "decision",
    "experiment",
    "diagnostics",
    "unified_id",
    "individual_id",
    *(f"{s}_ms" for s in STAGES),
)


def accumulate(rows: Iterable[Mapping[str, Any]]) -> dict[BucketKey, PipelineBucket]:
    """Buckets of these log rows (every row of a request among them, see the module doc)."""
    return accumulate_rows(_NEEDED, (tuple(row.get(c) for c in _NEEDED) for row in rows))


def accumulate_rows(
    columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> dict[BucketKey, PipelineBucket]:
    """`accumulate` over tuples whose fields are named by `columns` (the log writer's rows,
    not turned into dicts: it runs once per logged decision)."""
    at = {c: columns.index(c) for c in _NEEDED}
    i_ts, i_point, i_channel, i_request = at["ts"], at["point"], at["channel"], at["request_id"]
    i_status, i_decision, i_experiment = at["status"], at["decision"], at["experiment"]
    i_diag, i_unified, i_individual = at["diagnostics"], at["unified_id"], at["individual_id"]
    i_stages = [at[f"{s}_ms"] for s in STAGES]
    buckets: dict[BucketKey, PipelineBucket] = {}
    first_point: dict[str, tuple[str, BucketKey]] = {}
    pairs: set[tuple[str, str]] = set()
    units: dict[BucketKey, list[str]] = {}
    timings: dict[BucketKey, list[float]] = {}
    codes: Counter[tuple[BucketKey, Any, Any]] = Counter()
    for row in rows:
        hour = int(float(row[i_ts]) // HOUR) * HOUR
        point = row[i_point] or ""
        key = (hour, row[i_channel] or "", point)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = PipelineBucket()
            units[key], timings[key] = [], []
        request = str(row[i_request])
        bucket.points += 1
        if (request, point) not in pairs:
            pairs.add((request, point))
            bucket.point_requests += 1
        seen = first_point.get(request)
        if seen is None or point < seen[0]:
            first_point[request] = (point, key)
        status = row[i_status]
        if int(status or 0) == 200:
            bucket.served += 1
        if row[i_decision] is not None or row[i_experiment] is not None:
            bucket.decisions += 1
        codes[(key, status, row[i_diag])] += 1
        unit = row[i_unified] or row[i_individual]
        if unit:
            units[key].append(str(unit))
        timings[key].extend(float(row[i] or 0.0) for i in i_stages)
    for _, key in first_point.values():
        buckets[key].requests += 1
    for (key, status, diagnostics), n in codes.items():
        diagnostic_counts = buckets[key].diagnostics
        for code in _codes(status, diagnostics):
            diagnostic_counts[code] += n
    for key, bucket in buckets.items():
        hll_add(bucket.units, set(units[key]))  # a request's rows share its unit
        cells = timing_buckets(np.asarray(timings[key], dtype=np.float64)).reshape(-1, len(STAGES))
        for stage in range(len(STAGES)):
            bucket.timings[stage] += np.bincount(cells[:, stage], minlength=TIMING_BUCKETS)
    return buckets
