"""The Measure pages' pure parts: the day cutoffs of the results over time, and the interval
bars' frame (every interval and zero inside it, in order)."""

from __future__ import annotations

import math

import pytest

from p13n.domain.services.measure_series import cutoffs
from p13n.domain.timeutil import DAY
from p13n.server.console.measure_charts import IntervalRow, scale_intervals, value_bars


def test_cutoffs_are_the_day_ends_after_the_start_and_then_the_end() -> None:
    start, end = 10 * DAY + 3600, 13 * DAY + 7200
    assert cutoffs(start, end) == [11 * DAY, 12 * DAY, 13 * DAY, end]


def test_a_run_shorter_than_a_day_has_only_its_end() -> None:
    assert cutoffs(5 * DAY + 10, 5 * DAY + 500) == [5 * DAY + 500]
    assert cutoffs(5 * DAY, 5 * DAY) == []


def test_a_long_run_is_read_every_few_days_within_the_point_budget() -> None:
    start, end = 0.5 * DAY, 200.5 * DAY
    marks = cutoffs(start, end, max_points=31)
    assert len(marks) <= 31 and marks[-1] == end
    assert all(m % DAY == 0 for m in marks[:-1]) and marks == sorted(marks)


@pytest.mark.parametrize(
    "rows",
    [
        [IntervalRow("a", -0.6, -0.7, -0.5)],
        [IntervalRow("a", 0.2, -0.1, 0.5), IntervalRow("b", 1.0, 0.4, 2.5)],
        [IntervalRow("a", None, None, None), IntervalRow("b", 0.1, 0.05, 0.2)],
    ],
)
def test_intervals_and_zero_sit_inside_the_frame_in_their_order(rows: list[IntervalRow]) -> None:
    scaled, zero = scale_intervals(rows)
    assert 0 < zero < 1
    for given, r in zip(rows, scaled, strict=True):
        if not r.drawn:
            assert not given.drawn
            continue
        assert 0 < r.x_low <= r.x_estimate <= r.x_high < 1
        assert (r.x_low < zero) == (given.low < 0)  # type: ignore[operator]
        # the frame is linear: equal distances in value are equal distances in the frame
        ratio = (r.x_high - r.x_low) / (given.high - given.low)  # type: ignore[operator]
        assert math.isclose((r.x_estimate - zero) / ratio, given.estimate, abs_tol=1e-9)  # type: ignore[arg-type]


def test_value_bars_are_shares_of_the_largest() -> None:
    bars = value_bars([("web", 50.0), ("agent", 100.0), ("app", 0.0)])
    assert [b.share for b in bars] == [0.5, 1.0, 0.0]
