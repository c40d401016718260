"""Filters of every type and operator, on a catalog where the answer is known."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from _recommend_fixtures import DAY, NOW, run, snapshot
from pydantic import ValidationError

from p13n.domain.ingest.items import Item
from p13n.domain.operators import Operator
from p13n.domain.recommend import History, RecommenderConfig, build_snapshot
from p13n.domain.recommend.config import FilterCondition, FilterGroup
from p13n.domain.recommend.filters import FilterContext, _holds, _resolve, compile_group

BY_PRICE = {"algorithm": "sort-by", "field": "price", "descending": False}  # e, b, a, c


def _include(*conditions: dict[str, Any], match: str = "All") -> dict[str, Any]:
    return {"recipe": BY_PRICE, "include": {"match": match, "conditions": list(conditions)}}


OPERATOR_CASES: list[tuple[str, str, Any, list[str]]] = [
    ("Has Value", "attributes.color", None, ["b", "a"]),
    ("Has No Value", "attributes.color", None, ["e", "c"]),
    ("Is Equal To", "brand", "zed", ["c"]),
    ("Is Not Equal To", "brand", "Acme", ["e", "c"]),
    ("Is Less Than", "price", 50, ["e"]),
    ("Is Less Than Or Equal To", "price", 50, ["e", "b"]),
    ("Is Greater Than", "price", 100, ["c"]),
    ("Is Greater Than Or Equal To", "price", 100, ["a", "c"]),
    ("Is Between", "price", [12, 100], ["e", "b", "a"]),
    ("Is Today", "attributes.restock", None, ["a"]),
    ("Last Number of Days", "created_at", 6, ["b", "c"]),
    ("Next Number of Days", "attributes.restock", 3, ["b"]),
    ("Is Before Current DateTime", "attributes.restock", None, ["a", "c"]),
    ("Is After Current DateTime", "attributes.restock", None, ["b"]),
    ("Is Subset", "category", ["Outdoors/Boots", "Home/Mugs"], ["e", "b", "a"]),
    ("Match Any", "brand", ["Zed", "Cup"], ["e", "c"]),
    ("Does Not Match", "brand", ["Zed", "Cup"], ["b", "a"]),
]


def test_every_operator_is_covered() -> None:
    assert {c[0] for c in OPERATOR_CASES} == {op.value for op in Operator}


@pytest.mark.parametrize(("operator", "field", "value", "expected"), OPERATOR_CASES)
def test_each_operator_filters_static_values(
    operator: str, field: str, value: Any, expected: list[str]
) -> None:
    assert run(_include({"field": field, "operator": operator, "value": value})) == expected


def test_exclude_drops_matching_items() -> None:
    cfg = {
        "recipe": BY_PRICE,
        "exclude": {"conditions": [{"field": "brand", "operator": "Is Equal To", "value": "Acme"}]},
    }
    assert run(cfg) == ["e", "c"]


def test_all_needs_every_condition_and_any_needs_one() -> None:
    cheap = {"field": "price", "operator": "Is Less Than", "value": 60}
    acme = {"field": "brand", "operator": "Is Equal To", "value": "Acme"}
    assert run(_include(cheap, acme)) == ["b"]
    assert run(_include(cheap, acme, match="Any")) == ["e", "b", "a"]


def test_a_context_variable_fills_a_static_value_and_a_missing_one_drops_the_condition() -> None:
    cfg = _include(
        {"field": "price", "operator": "Is Less Than Or Equal To", "value": "{!maxPrice}"}
    )
    assert run(cfg, variables={"maxPrice": 60}) == ["e", "b"]
    assert run(cfg) == ["e", "b", "a", "c"]


def test_decision_context_compares_with_the_anchor_item() -> None:
    same_brand = {"type": "Decision Context", "field": "brand", "operator": "Is Equal To"}
    assert run(_include(same_brand), anchor="a") == ["b"]
    cheaper = {
        "type": "Decision Context",
        "field": "price",
        "operator": "Is Less Than",
        "anchor_field": "price",
    }
    assert run(_include(cheaper), anchor="a") == ["e", "b"]
    assert run(_include(same_brand)) == ["e", "b", "a", "c"]  # no anchor: dropped


def test_profile_data_graph_compares_with_the_visitors_history() -> None:
    snap = snapshot()
    viewed_c = History(viewed=[(snap.row["c"], NOW - DAY)])
    brand_seen = {
        "type": "Profile Data Graph",
        "field": "brand",
        "operator": "Match Any",
        "profile_field": "viewed.brand",
    }
    assert run(_include(brand_seen), history=viewed_c) == ["c"]
    assert run(_include(brand_seen)) == []  # no history: nothing matches it
    cfg = {"recipe": BY_PRICE, "exclude": {"conditions": [brand_seen]}}
    assert run(cfg, history=viewed_c) == ["e", "b", "a"]
    viewed_ab = History(viewed=[(snap.row["b"], NOW), (snap.row["a"], NOW)])
    span = {
        "type": "Profile Data Graph",
        "field": "price",
        "operator": "Is Between",
        "profile_field": "viewed.price",
    }
    assert run(_include(span), history=viewed_ab) == ["b", "a"]
    not_equal = {**span, "operator": "Is Not Equal To"}
    assert run(_include(not_equal), history=viewed_ab) == ["e", "c"]


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "colour", "operator": "Is Equal To", "value": "red"},
        {"field": "insights.nope", "operator": "Is Equal To", "value": 1},
        {"field": "brand", "operator": "Equals", "value": "x"},
        {"field": "price", "operator": "Is Between", "value": "cheap"},
        {"field": "price", "operator": "Is Between", "value": [10, 1]},
        {"field": "price", "operator": "Has Value", "value": 3},
        {"field": "brand", "operator": "Match Any", "value": []},
        {"field": "created_at", "operator": "Last Number of Days", "value": 0},
        {"type": "Decision Context", "field": "price", "operator": "Is Today"},
        {"type": "Profile Data Graph", "field": "brand", "operator": "Match Any"},
        {
            "type": "Profile Data Graph",
            "field": "brand",
            "operator": "Match Any",
            "profile_field": "wished.brand",
        },
        {"type": "Nope", "field": "brand", "operator": "Match Any", "value": ["x"]},
        {"field": "brand", "operator": "Match Any", "value": ["x"], "extra": 1},
    ],
)
def test_bad_conditions_are_rejected_when_the_config_is_saved(condition: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RecommenderConfig.model_validate(
            {"name": "x", "recipe": BY_PRICE, "include": {"conditions": [condition]}}
        )


def test_at_most_ten_conditions_per_group() -> None:
    cond = {"field": "price", "operator": "Has Value"}
    with pytest.raises(ValidationError):
        RecommenderConfig.model_validate(
            {"name": "x", "recipe": BY_PRICE, "include": {"conditions": [cond] * 11}}
        )


def _mixed_snapshot() -> Any:
    """Values of every awkward type: numbers and numeric text, booleans, lists, blanks, dates."""
    raw: list[Any] = [
        5,
        5.0,
        "5",
        "007",
        "abc",
        "ABC",
        " ",
        None,
        True,
        False,
        "true",
        ["abc", "x"],
        [],
        "2026-05-01T00:00:00Z",
        NOW - 3 * DAY,
        NOW + DAY,
    ]
    items = [
        Item(
            id=f"i{k:02d}",
            name=f"n{k}",
            brand=["Acme", "acme", "Zed", None][k % 4],
            price=None if k % 5 == 0 else float(k),
            attributes={"v": v},
        )
        for k, v in enumerate(raw)
    ]
    return build_snapshot({i.id: i for i in items}, {}, NOW)


MASK_CASES: list[tuple[str, Any]] = [
    (op.value, value)
    for op in Operator
    for value in (5, "5", "abc", ["abc", "5"], [1, 10], True, 3, 3.4, "2026-04-01T00:00:00Z")
]


@pytest.mark.parametrize("field", ["attributes.v", "price", "brand"])
def test_vectorized_filters_agree_with_the_row_by_row_definition(field: str) -> None:
    """Both paths of a filter (a mask per distinct value or numpy over a numeric column, and
    `compare` per row) give the same rows, for static, anchor and history conditions."""

    snap = _mixed_snapshot()
    history = {"viewed": [0, 4, 11], "purchased": [], "cart": [7], "engaged": [2]}
    checked = masked = 0
    for operator, value in MASK_CASES:
        conditions = []
        with contextlib.suppress(ValidationError):
            conditions.append(FilterCondition(field=field, operator=operator, value=value))
        if value == 5:
            for kind, extra in (
                ("Decision Context", {"anchor_field": "attributes.v"}),
                ("Profile Data Graph", {"profile_field": "viewed.attributes.v"}),
                ("Profile Data Graph", {"profile_field": "purchased.brand"}),
                ("Profile Data Graph", {"profile_field": "cart.price"}),
            ):
                with contextlib.suppress(ValidationError):
                    conditions.append(
                        FilterCondition(type=kind, field=field, operator=operator, **extra)
                    )
        for cond in conditions:
            for anchor in (3, 11):
                ctx = FilterContext(snap, NOW, anchor, {}, history)
                group = compile_group(FilterGroup(conditions=[cond]), ctx)
                res = _resolve(cond, ctx)
                assert group is not None and res is not None
                want = [_holds(res, snap.value(r, field), NOW) for r in range(len(snap))]
                got = [group.matches(r) for r in range(len(snap))]
                assert got == want, (cond, anchor)
                if group.mask is not None:
                    assert group.mask.tolist() == want, (cond, anchor)
                    masked += 1
                checked += 1
    assert checked > 40 and masked > 20
