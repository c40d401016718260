"""A 60-second soak (after 30 s of warm-up traffic) of `p13n serve` on the demo tenant (`bench/soak.py`, whose 10-minute run is
in BENCHMARKS.md): events, decisions, MCP calls over HTTP and console pages at paced rates, at
the same time. Nothing may fail, and the process must not grow: resident memory flat over the
last 80 % of the run, no more open files or threads at its end than at its start, the
personalization log's queue drained.

The memory bound, and why: the slope of RSS over the window (least squares, MB/min) must be
under `RSS_SLOPE_BOUND` plus three standard errors of the slope (the run's own noise). A
server's first minutes are not flat: the 500 people's profiles are created and fill, and
SQLite's page caches fill as the logs grow; the 10-minute run in BENCHMARKS.md grows ~27 MB in
minute 1 and ~12-13 MB/min in minutes 2-3, then 2-3 MB/min, and this test's window (after 30 s
of warm-up) measured 13.1 and 13.6 ± 1.3 MB/min on a busy machine. 16 MB/min sits above that,
and a leak of 1 KB per request (≥ 15 MB/min at the ~250 requests/s a busy machine reaches here)
or the growth the issue reported (+51 MB in a 163 s soak, ~19 MB/min) on top of it fails. The
minute catches gross leaks; the 10-minute benchmark reports the slope that matters.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import SoakPlan, soak

pytestmark = pytest.mark.soak

RSS_SLOPE_BOUND = 16.0  # MB/min
SECONDS = 60.0
# Traffic before the measured minute: the 500 people's first profiles and the caches' first
# fill grow RSS ~25 MB in the first minute (the 10-minute run in BENCHMARKS.md), which is not
# a leak.
WARMUP = 30.0


def test_a_minute_of_mixed_traffic_fails_nothing_and_grows_nothing(demo_home: Path) -> None:
    plan = SoakPlan(seconds=SECONDS, sample_seconds=2.0, warmup_seconds=WARMUP)
    result = soak(demo_home, plan)
    kinds = result["kinds"]
    failures = {k: v["first_errors"] for k, v in kinds.items() if v["errors"]}
    assert result["errors"] == 0, failures
    assert result["server_tracebacks"] == 0, result["server_log_tail"]
    for name, kind in kinds.items():  # every kind of traffic ran, all the time
        assert kind["requests"] >= (SECONDS + WARMUP) * 0.5, (name, kind)
    rss = result["rss"]
    bound = RSS_SLOPE_BOUND + 3 * rss["slope_stderr_mb_per_min"]
    assert rss["slope_mb_per_min"] < bound, rss
    fds, threads = result["fds"], result["threads"]
    assert fds["window_last"] <= fds["window_first"] + 4, fds  # a few sockets in flight
    assert threads["window_last"] <= threads["window_first"] + 2, threads
    assert result["log_queue"]["window_last"] < 2000, result["log_queue"]  # one writer batch
