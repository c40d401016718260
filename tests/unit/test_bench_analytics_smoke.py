"""The analytics benchmark's pure parts: its synthetic log and events are deterministic,
consistent with each other, and sized as asked."""

from __future__ import annotations

import pytest

from bench.analytics import NOW, make_events, make_log_rows, parse_args, sizes
from p13n.domain.store import LOG_COLUMNS

PID, REQUEST, TS = (LOG_COLUMNS.index(c) for c in ("personalization_id", "request_id", "ts"))


def _log(n: int, seed: int = 3) -> list[tuple[object, ...]]:
    return [r for page in make_log_rows(n, days=2, seed=seed, batch=50) for r in page]


def test_the_log_is_the_same_for_a_seed_sized_as_asked_and_in_time_order() -> None:
    rows = _log(300)
    assert rows == _log(300) and rows != _log(300, seed=4)
    assert len(rows) == len({r[PID] for r in rows}) == 300
    times = [float(r[TS]) for r in rows]  # type: ignore[arg-type]
    assert times == sorted(times) and NOW - 3600 - 2 * 86_400 <= times[0] < times[-1] < NOW
    by_request: dict[object, set[float]] = {}
    for r in rows:
        by_request.setdefault(r[REQUEST], set()).add(float(r[TS]))  # type: ignore[arg-type]
    assert all(len(t) == 1 for t in by_request.values())  # a request's rows share one time
    assert 150 < len(by_request) < 300  # one or two points per request


def test_events_follow_a_logged_decision_of_the_same_individual() -> None:
    rows = {r[PID]: r for r in _log(400)}
    unit = LOG_COLUMNS.index("unified_id")
    events = [e for page in make_events(400, 60, days=2, seed=3, batch=25) for e in page]
    assert len(events) == 60 + 30 and len({e["event_id"] for e in events}) == 90
    kinds = [e["interaction"] for e in events]
    assert kinds.count("personalization-click") == 30
    assert kinds.count("Purchase") == kinds.count("Add To Cart") == 30
    for click in (e for e in events if e["personalization_id"]):
        logged = rows[click["personalization_id"]]
        assert click["unified_id"] == logged[unit] and click["ts"] >= logged[TS]
    assert all(e["ts"] < NOW for e in events)


def test_the_issue_sizes_are_the_default_and_bad_flags_are_refused() -> None:
    assert sizes(1.0) == (10_000_000, 1_000_000) and sizes(0.01) == (100_000, 10_000)
    assert parse_args([]).scale == 1.0
    for bad in (["--scale", "0"], ["--days", "-1"], ["--reuse"]):
        with pytest.raises(SystemExit):
            parse_args(bad)
