"""The attribution query as people type it: defaults, spellings, and every bad input refused
with a message that names the fix."""

from __future__ import annotations

import pytest

from p13n.domain.analytics import parse_attribution_query
from p13n.domain.errors import InvalidInput

NOW = 1_780_000_000.0
DAY = 86_400.0


def test_the_defaults_are_the_last_30_days_last_touch_view_based_over_7_days() -> None:
    q = parse_attribution_query(now=NOW)
    assert (q.start, q.end) == (NOW - 30 * DAY, NOW)
    assert (q.model, q.basis, q.window_s, q.half_life_s) == ("last_touch", "view", 7 * DAY, 7 * DAY)
    assert q.group_by == ()


def test_groupings_may_be_repeated_or_comma_separated_and_keep_their_order_once() -> None:
    q = parse_attribution_query(group_by=["recommender,point", "point", "day"], now=NOW)
    assert q.group_by == ("recommender", "point", "day")


def test_windows_and_half_lives_read_in_any_spelling() -> None:
    q = parse_attribution_query(window="24h", half_life="2d", now=NOW)
    assert (q.window_s, q.half_life_s) == (DAY, 2 * DAY)
    assert parse_attribution_query(window="3600", now=NOW).window_s == 3600.0


def test_a_date_as_to_runs_through_the_end_of_that_day() -> None:
    q = parse_attribution_query(start="2026-05-01", end="2026-05-02", now=NOW)
    assert q.end - q.start == 2 * DAY


@pytest.mark.parametrize(
    ("given", "says", "fix"),
    [
        ({"model": "u_shaped"}, "unknown attribution model", "last_touch"),
        ({"basis": "hover"}, "unknown attribution basis", "click"),
        ({"window": "0d"}, "not a positive duration", "7d"),
        ({"window": "-3h"}, "not a positive duration", "24h"),
        ({"window": "soon"}, "not a positive duration", "30d"),
        ({"half_life": "0"}, "not a positive duration", "seconds"),
        ({"window": "9907d"}, "longer than 365 days", "at most 365d"),  # read the whole log
        ({"half_life": "400d"}, "longer than 365 days", "at most 365d"),
        ({"group_by": ["point,shelf"]}, "unknown grouping 'shelf'", "recommender"),
        ({"start": "2999-01-01"}, "in the future", "already happened"),
        ({"end": NOW + DAY}, "in the future", "already happened"),
        ({"start": "2026-05-03", "end": "2026-05-02"}, "is not before", "Swap them"),
        ({"start": NOW - 10, "end": NOW - 10}, "is not before", "Swap them"),
        ({"start": "2024-01-01"}, "at most 400", "Narrow"),
        ({"start": "yesterday"}, "is not a date", "ISO date"),
    ],
)
def test_bad_input_is_refused_naming_what_to_send_instead(
    given: dict[str, object], says: str, fix: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_attribution_query(**given, now=NOW)  # type: ignore[arg-type]
    assert says in str(caught.value) and fix in str(caught.value)
