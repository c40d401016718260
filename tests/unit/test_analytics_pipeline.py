"""Pipeline intelligence, pure: the sketches' error bounds against exact answers, bucketing by
UTC hour and group, merging in any split equal to one pass, and the query's bad input."""

from __future__ import annotations

import math
import random
import struct
import zlib
from collections import Counter
from typing import Any

import numpy as np
import pytest

from p13n.domain.analytics import (
    PipelineBucket,
    accumulate,
    decode_state,
    merge_states,
    parse_pipeline_query,
    pipeline_report,
)
from p13n.domain.analytics.sketches import (
    GROWTH,
    TIMING_BUCKETS,
    hll_add,
    hll_estimate,
    new_hll,
    timing_bucket,
    timing_percentile,
)
from p13n.domain.errors import InvalidInput

NOW = 1_780_000_000.0  # 2026-05-28T20:26:40Z
HOUR0 = int(NOW // 3600) * 3600 - 10 * 3600


def _rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Log rows of random requests (1-3 points each) over ten hours."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for r in range(n):
        ts = HOUR0 + rng.uniform(0, 10 * 3600)
        channel = rng.choice(["web", "app", None])
        unit = rng.choice([f"u{rng.randrange(300)}", None])
        for point in rng.sample(["banner", "shoes", "cart"], rng.randint(1, 3)):
            status = rng.choice([200, 200, 200, 201, 401])
            rows.append(
                {
                    "ts": ts,
                    "request_id": f"r{r}",
                    "point": point,
                    "channel": channel,
                    "status": status,
                    "decision": "d" if status == 200 else None,
                    "experiment": None,
                    "unified_id": unit,
                    "individual_id": None,
                    "diagnostics": f"{status} 512" if unit is None else str(status),
                    "augmenting_ms": rng.lognormvariate(-2, 1),
                    "qualifying_ms": rng.lognormvariate(-4, 1),
                    "personalizing_ms": rng.lognormvariate(0, 1),
                    "total_ms": rng.lognormvariate(0.5, 1),
                }
            )
    return rows


def test_the_unique_count_is_within_its_error_bound_and_near_exact_when_small() -> None:
    # 3 standard errors: linear counting's at 500 (≈ 1.1 %), HyperLogLog's at 50,000 (1.6 %)
    for n, tolerance in ((1, 0), (37, 0), (500, 3 * 0.011), (50_000, 3 * 0.0163)):
        registers = new_hll()
        hll_add(registers, (f"unit-{k}" for k in range(n)))
        hll_add(registers, (f"unit-{k}" for k in range(0, n, 3)))  # repeats change nothing
        assert abs(hll_estimate(registers) - n) <= max(tolerance * n, 0.5), n
    assert hll_estimate(new_hll()) == 0


def test_percentiles_are_within_the_documented_bound_of_the_exact_nearest_rank_value() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(0.0, 2.0, 5000).round(3) + 0.001
    counts = np.bincount([timing_bucket(float(v)) for v in values], minlength=TIMING_BUCKETS)
    bound = math.sqrt(GROWTH) - 1 + 1e-9
    for q in (0.5, 0.95, 0.99):
        exact = float(np.percentile(values, q * 100, method="inverted_cdf"))
        estimate = timing_percentile(counts, q)
        assert estimate is not None
        assert abs(estimate - exact) / exact <= bound + 0.0005 / exact, (q, estimate, exact)
    assert timing_percentile(np.zeros(TIMING_BUCKETS, dtype=np.int64), 0.5) is None
    assert timing_bucket(0.0) == 0 and timing_bucket(1e12) == TIMING_BUCKETS - 1


def test_buckets_count_requests_once_and_points_per_point_by_utc_hour() -> None:
    rows = _rows(400)
    buckets = accumulate(rows)
    assert sum(b.requests for b in buckets.values()) == len({r["request_id"] for r in rows})
    for (hour, channel, point), bucket in buckets.items():
        mine = [
            r
            for r in rows
            if int(r["ts"] // 3600) * 3600 == hour
            and (r["channel"] or "") == channel
            and r["point"] == point
        ]
        assert bucket.points == bucket.point_requests == len(mine)
        assert bucket.served == sum(r["status"] == 200 for r in mine)
        assert bucket.decisions == sum(r["decision"] is not None for r in mine)
        expected = Counter(c for r in mine for c in {int(x) for x in r["diagnostics"].split()})
        assert bucket.diagnostics == expected
        assert hll_estimate(bucket.units) == len({r["unified_id"] for r in mine if r["unified_id"]})
        assert int(bucket.timings.sum()) == 4 * len(mine)


def _same(a: PipelineBucket, b: PipelineBucket) -> bool:
    return (
        a.counters() == b.counters()
        and np.array_equal(a.units, b.units)
        and np.array_equal(a.timings, b.timings)
        and a.diagnostics == b.diagnostics
    )


def test_merging_batches_gives_the_buckets_of_one_pass_and_states_round_trip() -> None:
    rows = _rows(300, seed=11)
    whole = accumulate(rows)
    by_request: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_request.setdefault(row["request_id"], []).append(row)
    requests = list(by_request.values())
    random.Random(2).shuffle(requests)
    stored: dict[Any, tuple[dict[str, int], bytes]] = {}
    for start in range(0, len(requests), 37):  # batches never split a request
        batch = [row for request in requests[start : start + 37] for row in request]
        for key, bucket in accumulate(batch).items():
            old = stored.get(key)
            counters = bucket.counters()
            if old is not None:
                counters = {k: v + old[0][k] for k, v in counters.items()}
            stored[key] = (counters, merge_states(old[1] if old else None, bucket.state()))
    assert set(stored) == set(whole)
    for key, (counters, state) in stored.items():
        assert _same(decode_state(counters, state), whole[key]), key


@pytest.mark.parametrize("people", [0, 5, 300, 20_000])
def test_a_state_round_trips_sparse_or_dense_and_states_written_by_version_1_still_read(
    people: int,
) -> None:
    bucket = PipelineBucket(requests=3, points=4, served=2)
    hll_add(bucket.units, (f"p{k}" for k in range(people)))
    rng = np.random.default_rng(people)
    cells = rng.integers(0, bucket.timings.size, size=min(people, 50))
    np.add.at(bucket.timings.reshape(-1), cells, 1 + rng.integers(0, 2**40, size=len(cells)))
    bucket.diagnostics.update({200: 3, 512: people})
    counters = bucket.counters()
    assert _same(decode_state(counters, bucket.state()), bucket)
    body = bucket.units.tobytes() + bucket.timings.astype("<u8").tobytes()
    codes = sorted(bucket.diagnostics.items())
    v1 = struct.pack("<BH", 1, len(codes)) + b"".join(struct.pack("<HQ", c, n) for c, n in codes)
    assert _same(decode_state(counters, v1 + zlib.compress(body, 1)), bucket)
    # the log writer hands merge its batch's bucket instead of encoding it first
    twice = decode_state(counters, merge_states(bucket.state(), bucket))
    assert np.array_equal(twice.units, bucket.units)
    assert np.array_equal(twice.timings, 2 * bucket.timings)
    assert twice.diagnostics == Counter({c: 2 * n for c, n in bucket.diagnostics.items()})
    assert decode_state(counters, merge_states(None, bucket)).diagnostics == bucket.diagnostics


def test_an_unknown_state_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version 9"):
        decode_state({}, struct.pack("<BH", 9, 0))


def test_the_report_groups_by_day_channel_and_point_and_totals_the_range() -> None:
    rows = _rows(200, seed=5)
    query = parse_pipeline_query(
        start=None, end=None, granularity="day", group_by=["channel,point"], now=NOW
    )
    ingest = [(HOUR0, "accepted", "", 9), (HOUR0, "rejected", "no_item", 2)]
    report = pipeline_report(query, accumulate(rows), ingest)
    assert {(r.channel, r.point) for r in report.rows} == {
        (r["channel"] or "", r["point"]) for r in rows
    }
    assert report.total.points == len(rows)
    assert report.total.requests == len({r["request_id"] for r in rows})
    assert sum(r.points for r in report.rows) == len(rows)
    assert report.ingestTotal.accepted == 9 and report.ingestTotal.rejectedByReason == {
        "no_item": 2
    }
    by_hour = parse_pipeline_query(start=None, end=None, granularity="hour", group_by=[], now=NOW)
    hourly = pipeline_report(by_hour, accumulate(rows), ingest)
    assert [r.period for r in hourly.rows] == sorted({r.period for r in hourly.rows})
    assert sum(r.requests for r in hourly.rows) == report.total.requests


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"granularity": "week"}, "unknown granularity 'week'"),
        ({"group_by": ["channel", "decision"]}, "unknown grouping 'decision'"),
        ({"start": "2030-01-01"}, "in the future"),
        ({"end": "2099-01-01T00:00:00Z"}, "in the future"),
        ({"start": "2026-05-20", "end": "2026-05-10"}, "is not before"),
        ({"start": "yesterday"}, "is not a date"),
        ({"start": "2024-01-01", "granularity": "day"}, "at most 400 days"),
        ({"start": "2026-04-01", "granularity": "hour"}, "at most 31 days"),
    ],
)
def test_bad_queries_are_refused_with_what_to_do(kwargs: dict[str, Any], says: str) -> None:
    args: dict[str, Any] = {"start": None, "end": None, "granularity": "day", "group_by": []}
    with pytest.raises(InvalidInput, match=says):
        parse_pipeline_query(**{**args, **kwargs}, now=NOW)


def test_a_range_aligns_to_whole_periods_and_accepts_dates_datetimes_and_epochs() -> None:
    q = parse_pipeline_query(
        start="2026-05-20", end="2026-05-21", granularity="day", group_by=[], now=NOW
    )
    assert (q.start, q.end) == (1_779_235_200, 1_779_235_200 + 2 * 86_400)
    same = parse_pipeline_query(
        start="1779235200", end=1_779_235_200 + 2 * 86_400, granularity="day", group_by=[], now=NOW
    )
    assert same == q
    hour = parse_pipeline_query(
        start="2026-05-28T10:30:00+02:00", end=None, granularity="hour", group_by=[], now=NOW
    )
    assert hour.start == 1_779_955_200 and hour.end == int(NOW // 3600 + 1) * 3600
