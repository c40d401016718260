"""Segment rules: validation, evaluation against a profile, and membership bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from p13n.domain.errors import InvalidInput
from p13n.domain.graphs.profile import EngagementEntry, ProfileGraph, SegmentMembership
from p13n.domain.segments import (
    DEFAULT_SEGMENTS,
    Condition,
    RuleGroup,
    SegmentDefinition,
    evaluate,
    update_memberships,
    validate_segment_set,
)

DAY = 86_400.0
NOW = datetime(2024, 5, 15, 12, tzinfo=UTC).timestamp()


def profile(**fields: Any) -> ProfileGraph:
    return ProfileGraph(unified_id="u1", created_at=NOW - 90 * DAY, updated_at=NOW, **fields)


def engaged(*entries: tuple[str, float]) -> list[EngagementEntry]:
    return [
        EngagementEntry(event_id=f"e{i}", ts=ts, interaction=name)
        for i, (name, ts) in enumerate(entries)
    ]


def rule(type_: str, *rules: dict[str, Any]) -> RuleGroup:
    return RuleGroup.model_validate({"type": type_, "rules": list(rules)})


def cond(source: str, field: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    return {"source": source, "field": field, "operator": operator, "value": value, **extra}


def segment(name: str, group: RuleGroup) -> SegmentDefinition:
    return SegmentDefinition(name=name, rule=group)


DEFAULTS = {s.name: s for s in DEFAULT_SEGMENTS}


def members(p: ProfileGraph) -> set[str]:
    return {name for name, s in DEFAULTS.items() if evaluate(s.rule, p, NOW)}


def test_attribute_conditions_read_profile_attributes() -> None:
    gold = rule("All", cond("attribute", "tier", "Is Equal To", "gold"))
    assert evaluate(gold, profile(attributes={"tier": "Gold"}), NOW)
    assert not evaluate(gold, profile(attributes={"tier": "silver"}), NOW)
    assert not evaluate(gold, profile(), NOW)


def test_all_needs_every_rule_and_any_needs_one() -> None:
    a = cond("attribute", "a", "Has Value")
    b = cond("attribute", "b", "Has Value")
    only_a = profile(attributes={"a": 1})
    assert not evaluate(rule("All", a, b), only_a, NOW)
    assert evaluate(rule("Any", a, b), only_a, NOW)


def test_groups_nest() -> None:
    nested = rule(
        "All",
        cond("attribute", "country", "Is Equal To", "FR"),
        {
            "type": "Any",
            "rules": [
                cond("attribute", "age", "Is Less Than", 25),
                cond("attribute", "student", "Is Equal To", True),
            ],
        },
    )
    assert evaluate(nested, profile(attributes={"country": "fr", "age": 40, "student": True}), NOW)
    assert not evaluate(nested, profile(attributes={"country": "fr", "age": 40}), NOW)


def test_insight_conditions_read_a_key_of_a_dimensioned_insight() -> None:
    shoes = rule("All", cond("insight", "spend_by_category", "Is Greater Than", 50, key="Shoes"))
    p = profile(insights={"spend_by_category": {"Shoes": 80.0, "Hats": 5.0}})
    assert evaluate(shoes, p, NOW)
    p.insights["spend_by_category"]["Shoes"] = 20.0
    assert not evaluate(shoes, p, NOW)
    assert not evaluate(shoes, profile(insights={"spend_by_category": 100.0}), NOW)


def test_engagement_counts_entries_of_one_interaction_inside_a_rolling_window() -> None:
    two_carts = rule(
        "All", cond("engagement", "Add To Cart", "Is Greater Than Or Equal To", 2, window_days=3)
    )
    recent = profile(engagement=engaged(("Add To Cart", NOW - DAY), ("Add To Cart", NOW - 2 * DAY)))
    old = profile(engagement=engaged(("Add To Cart", NOW - DAY), ("Add To Cart", NOW - 4 * DAY)))
    other = profile(engagement=engaged(("Add To Cart", NOW - DAY), ("Purchase", NOW - DAY)))
    assert evaluate(two_carts, recent, NOW)
    assert not evaluate(two_carts, old, NOW)
    assert not evaluate(two_carts, other, NOW)


def test_engagement_window_defaults_to_thirty_days() -> None:
    any_view = rule("All", cond("engagement", "View Catalog Object", "Is Greater Than", 0))
    assert evaluate(
        any_view, profile(engagement=engaged(("View Catalog Object", NOW - 29 * DAY))), NOW
    )
    assert not evaluate(
        any_view, profile(engagement=engaged(("View Catalog Object", NOW - 31 * DAY))), NOW
    )


def test_affinity_conditions_read_the_score_of_one_category_or_brand() -> None:
    fan = rule("All", cond("affinity", "brand", "Is Between", [50, 100], key="Acme"))
    assert evaluate(fan, profile(affinities={"brand": {"Acme": 72.5}}), NOW)
    assert not evaluate(fan, profile(affinities={"brand": {"Acme": 12.0}}), NOW)
    assert not evaluate(fan, profile(affinities={"category": {"Acme": 90.0}}), NOW)


def test_segment_conditions_test_membership_and_when_it_started() -> None:
    member = profile(segments={"vip": SegmentMembership(entered_at=NOW - 10 * DAY)})
    outsider = profile()
    is_vip = rule("All", cond("segment", "vip", "Has Value"))
    not_vip = rule("All", cond("segment", "vip", "Is Equal To", False))
    new_vip = rule("All", cond("segment", "vip", "Last Number of Days", 7))
    assert evaluate(is_vip, member, NOW) and not evaluate(is_vip, outsider, NOW)
    assert evaluate(not_vip, outsider, NOW) and not evaluate(not_vip, member, NOW)
    assert not evaluate(new_vip, member, NOW)
    assert evaluate(new_vip, member, NOW - 5 * DAY)


def test_big_spenders_and_repeat_buyers_follow_revenue_and_orders() -> None:
    assert members(profile(insights={"lifetime_revenue": 200.0, "order_count": 2})) >= {
        "big_spenders",
        "repeat_buyers",
    }
    assert not members(profile(insights={"lifetime_revenue": 199.99, "order_count": 1})) & {
        "big_spenders",
        "repeat_buyers",
    }


def test_window_shoppers_view_a_lot_and_have_no_orders() -> None:
    assert "window_shoppers" in members(profile(insights={"views_7d": 10}))
    assert "window_shoppers" in members(profile(insights={"views_7d": 12, "order_count": 0}))
    assert "window_shoppers" not in members(profile(insights={"views_7d": 12, "order_count": 1}))
    assert "window_shoppers" not in members(profile(insights={"views_7d": 9}))


def test_cart_abandoners_added_to_cart_this_week_without_buying() -> None:
    cart = ("Add To Cart", NOW - 2 * DAY)
    assert "cart_abandoners" in members(profile(engagement=engaged(cart)))
    bought = profile(engagement=engaged(cart, ("Purchase", NOW - DAY)))
    assert "cart_abandoners" not in members(bought)
    bought_long_ago = profile(engagement=engaged(("Purchase", NOW - 20 * DAY), cart))
    assert "cart_abandoners" in members(bought_long_ago)
    stale_cart = profile(engagement=engaged(("Add To Cart", NOW - 8 * DAY)))
    assert "cart_abandoners" not in members(stale_cart)


def test_category_fans_follow_their_category_affinity() -> None:
    fashion = profile(affinities={"category": {"Women": 100.0, "Electronics": 59.9}})
    assert members(fashion) == {"womens_fashion_fans"}
    gadgets = profile(affinities={"category": {"Women": 30.0, "Electronics": 60.0}})
    assert members(gadgets) == {"electronics_fans"}


def test_update_memberships_records_entries_and_exits_with_times() -> None:
    p = profile(insights={"order_count": 3})
    entered, exited = update_memberships(p, DEFAULT_SEGMENTS, NOW)
    assert (entered, exited) == (["repeat_buyers"], [])
    assert p.segments["repeat_buyers"].entered_at == NOW
    assert update_memberships(p, DEFAULT_SEGMENTS, NOW + 60) == ([], [])
    assert p.segments["repeat_buyers"].entered_at == NOW
    p.insights["order_count"] = 1
    entered, exited = update_memberships(p, DEFAULT_SEGMENTS, NOW + DAY)
    assert (entered, exited) == ([], ["repeat_buyers"])
    assert "repeat_buyers" not in p.segments
    last_exit = p.segment_exits[-1]
    assert (last_exit.segment, last_exit.entered_at, last_exit.exited_at) == (
        "repeat_buyers",
        NOW,
        NOW + DAY,
    )


def test_update_memberships_keeps_the_last_fifty_exits() -> None:
    flag = segment("flag", rule("All", cond("attribute", "on", "Is Equal To", True)))
    p = profile()
    for i in range(60):
        p.attributes["on"] = True
        update_memberships(p, [flag], NOW + i)
        p.attributes["on"] = False
        update_memberships(p, [flag], NOW + i + 0.5)
    assert len(p.segment_exits) == 50
    assert p.segment_exits[-1].exited_at == NOW + 59.5
    assert p.segment_exits[0].exited_at == NOW + 10.5


def test_segments_that_depend_on_others_see_the_updated_membership_in_one_pass() -> None:
    loyal = segment("loyal", rule("All", cond("segment", "repeat", "Has Value")))
    repeat = segment("repeat", rule("All", cond("insight", "order_count", "Is Greater Than", 1)))
    p = profile(insights={"order_count": 2})
    entered, _ = update_memberships(p, [loyal, repeat], NOW)
    assert entered == ["repeat", "loyal"]


def test_memberships_of_segments_not_passed_in_are_left_alone() -> None:
    p = profile(segments={"imported": SegmentMembership(entered_at=NOW - DAY)})
    update_memberships(p, DEFAULT_SEGMENTS, NOW)
    assert "imported" in p.segments


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (cond("attribute", "a", "Is Equal To", 1, colour="red"), "Extra inputs"),
        (cond("attribute", "a", "Is Between", [3, 1]), "low <= high"),
        (cond("attribute", "a", "Equals", 1), "Input should be"),
        (cond("attribute", "a", "Has Value", key="k"), "'key' is only"),
        (cond("attribute", "a", "Has Value", window_days=3), "'window_days' is only"),
        (cond("engagement", "Purchase", "Match Any", [1]), "engagement count is a number"),
        (cond("engagement", "Purchase", "Is Equal To", "one"), "compared with numbers"),
        (cond("engagement", "Purchase", "Is Equal To", 0, window_days=31), "less than or equal"),
        (cond("affinity", "color", "Is Greater Than", 5, key="x"), "'category' or 'brand'"),
        (cond("affinity", "brand", "Is Greater Than", 5), "needs 'key'"),
        (cond("segment", "vip", "Is Greater Than", 5), "segment condition uses"),
        (cond("segment", "vip", "Is Equal To", "yes"), "true or false"),
        (cond("source_x", "a", "Has Value"), "Input should be"),
    ],
)
def test_malformed_conditions_are_rejected_with_a_reason(raw: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        RuleGroup.model_validate({"type": "All", "rules": [raw]})


def test_groups_must_be_non_empty_small_and_shallow() -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        rule("All")
    with pytest.raises(ValidationError, match="at most 50 conditions"):
        rule("Any", *[cond("attribute", f"a{i}", "Has Value") for i in range(51)])
    deep: dict[str, Any] = cond("attribute", "a", "Has Value")
    for _ in range(6):
        deep = {"type": "All", "rules": [deep]}
    with pytest.raises(ValidationError, match="nest at most 5"):
        RuleGroup.model_validate(deep)


def test_segment_definitions_reject_unknown_keys_and_self_reference() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        SegmentDefinition.model_validate(
            {
                "name": "s",
                "rule": {"type": "All", "rules": [cond("attribute", "a", "Has Value")]},
                "priority": 1,
            }
        )
    with pytest.raises(ValidationError, match="its own membership"):
        segment("s", rule("All", cond("segment", "s", "Has Value")))


def test_a_set_of_segments_with_a_membership_cycle_is_rejected() -> None:
    a = segment("a", rule("All", cond("segment", "b", "Has Value")))
    b = segment("b", rule("All", cond("segment", "a", "Has No Value")))
    with pytest.raises(InvalidInput, match="cycle: a -> b -> a"):
        validate_segment_set([a, b])
    with pytest.raises(InvalidInput, match="two segments"):
        validate_segment_set([a, a])
    validate_segment_set(DEFAULT_SEGMENTS)


def test_a_condition_is_a_typed_model_after_parsing() -> None:
    group = rule("All", cond("insight", "views_7d", "Is Greater Than", 3))
    assert isinstance(group.rules[0], Condition)
