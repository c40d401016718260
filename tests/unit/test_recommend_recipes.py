"""Every rule-based recipe, switch, diversity and booster on a catalog where the answer is known."""

from __future__ import annotations

from typing import Any

import pytest
from _recommend_fixtures import DAY, NOW, run, snapshot

from p13n.domain.recommend import History


def _rows(*ids: str) -> list[int]:
    snap = snapshot()
    return [snap.row[i] for i in ids]


@pytest.mark.parametrize(
    ("recipe", "expected"),
    [
        ({"algorithm": "top-sellers"}, ["c", "a"]),
        ({"algorithm": "top-sellers", "window_days": None}, ["e", "c", "a"]),
        ({"algorithm": "most-viewed"}, ["b", "a", "c", "e"]),
        ({"algorithm": "most-viewed", "window_days": 1}, ["a", "c", "e", "b"]),
        ({"algorithm": "trending"}, ["c", "a", "e", "b"]),
        ({"algorithm": "newest"}, ["b", "c", "a", "e"]),
        ({"algorithm": "sort-by", "field": "price", "descending": False}, ["e", "b", "a", "c"]),
        ({"algorithm": "sort-by", "field": "price"}, ["c", "a", "b", "e"]),
        ({"algorithm": "sort-by", "field": "insights.revenue_30d"}, ["c", "a", "b", "e"]),
    ],
)
def test_catalog_recipes_rank_in_stock_items_by_their_rule(
    recipe: dict[str, Any], expected: list[str]
) -> None:
    assert run({"recipe": recipe}) == expected


def test_recently_viewed_lists_the_profile_views_newest_first() -> None:
    a, c = _rows("a", "c")
    history = History(viewed=[(c, NOW - 100), (a, NOW - 2 * DAY)])
    assert run({"recipe": {"algorithm": "recently-viewed"}}, history=history) == ["c", "a"]


@pytest.mark.parametrize(
    ("algorithm", "anchor", "expected"),
    [
        ("co-viewed", "a", ["b", "c"]),
        ("co-viewed", "c", ["a"]),  # d is co-viewed more strongly but out of stock
        ("co-bought", "a", ["c"]),
        ("co-bought", "b", ["e"]),
        ("similar-items", "a", ["b", "c", "e"]),
    ],
)
def test_anchor_recipes_use_normalized_co_occurrence_or_similarity(
    algorithm: str, anchor: str, expected: list[str]
) -> None:
    assert run({"recipe": {"algorithm": algorithm}}, anchor=anchor) == expected


def test_co_occurrence_is_normalized_by_each_items_mass() -> None:
    snap = snapshot()
    a, b, c = snap.row["a"], snap.row["b"], snap.row["c"]
    assert snap.co_viewed[a, b] == pytest.approx(6 / (7 * 6) ** 0.5)
    assert snap.co_viewed[a, c] == pytest.approx(1 / (7 * 3) ** 0.5)


def test_without_an_anchor_anchor_recipes_use_the_recent_views() -> None:
    (b,) = _rows("b")
    assert run({"recipe": {"algorithm": "co-bought"}}, history=History(viewed=[(b, NOW)])) == ["e"]


def test_the_in_stock_switch_can_be_turned_off() -> None:
    got = run(
        {"recipe": {"algorithm": "co-viewed"}, "switches": {"in_stock_only": False}}, anchor="c"
    )
    assert got == ["d", "a"]


def test_purchased_items_are_excluded_by_default_and_recent_views_on_request() -> None:
    b, a = _rows("b", "a")
    history = History(purchased=[b], viewed=[(a, NOW - 2 * DAY)])
    assert run({"recipe": {"algorithm": "most-viewed"}}, history=history) == ["a", "c", "e"]
    got = run(
        {"recipe": {"algorithm": "most-viewed"}, "switches": {"exclude_viewed_days": 3}},
        history=history,
    )
    assert got == ["c", "e"]
    got = run(
        {"recipe": {"algorithm": "most-viewed"}, "switches": {"exclude_viewed_days": 1}},
        history=history,
    )
    assert got == ["a", "c", "e"]


@pytest.mark.parametrize(
    ("field", "limit", "expected"),
    [
        ("category", 1, ["b", "c", "e"]),
        ("top_category", 1, ["b", "e"]),
        ("brand", 1, ["b", "c", "e"]),
    ],
)
def test_diversity_caps_items_per_category_or_brand(
    field: str, limit: int, expected: list[str]
) -> None:
    cfg = {
        "recipe": {"algorithm": "most-viewed"},
        "diversity": {"field": field, "max_per_value": limit},
    }
    assert run(cfg) == expected


def test_boosters_multiply_the_score_of_matching_items() -> None:
    booster = {
        "when": {"conditions": [{"field": "brand", "operator": "Is Equal To", "value": "Cup"}]},
        "factor": 100,
        "label": "promoted",
    }
    assert run({"recipe": {"algorithm": "most-viewed"}, "boosters": [booster]})[0] == "e"
    demote = {**booster, "factor": 0.01}
    assert run({"recipe": {"algorithm": "most-viewed"}, "boosters": [demote]})[-1] == "e"


def test_the_output_stops_at_the_number_needed() -> None:
    assert run({"recipe": {"algorithm": "most-viewed"}}, need=2) == ["b", "a"]


def test_cart_items_are_kept_unless_the_cart_switch_is_on() -> None:
    (b,) = _rows("b")
    history = History(cart=[b])
    assert run({"recipe": {"algorithm": "most-viewed"}}, history=history)[0] == "b"
    got = run(
        {"recipe": {"algorithm": "most-viewed"}, "switches": {"exclude_in_cart": True}},
        history=history,
    )
    assert got == ["a", "c", "e"]


def test_the_personal_default_recommenders_exclude_cart_items() -> None:
    from p13n.domain.recommend import DEFAULT_RECOMMENDERS

    on = {c.name for c in DEFAULT_RECOMMENDERS if c.switches.exclude_in_cart}
    assert on == {"recommended-for-you", "revenue-for-you"}


def test_stricter_switches_keep_whatever_either_set_excludes() -> None:
    from p13n.domain.recommend import Switches

    loose = Switches(in_stock_only=False, exclude_purchased=False, exclude_viewed_days=1)
    tight = Switches(exclude_in_cart=True, exclude_viewed_days=7)
    both = Switches(
        in_stock_only=True, exclude_purchased=True, exclude_in_cart=True, exclude_viewed_days=7
    )
    assert loose.stricter(tight) == both and tight.stricter(loose) == both
    assert loose.stricter(Switches(in_stock_only=False, exclude_purchased=False)) == loose
