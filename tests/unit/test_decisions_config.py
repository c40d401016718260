"""Points, decisions and merge fields: limits of REFERENCE.md and cross-object checks, with
the configuration run without a store (what `config apply` validates on)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from p13n.domain.decisions import (
    Decision,
    PersonalizationPoint,
    RecommendationsSchema,
    data_item,
    render,
)
from p13n.domain.decisions.merge import merge_fields
from p13n.domain.errors import Conflict, InvalidInput
from p13n.domain.graphs.profile import ProfileGraph, SegmentMembership
from p13n.domain.ingest import ITEM_FIELDS, Item
from p13n.domain.services import DecisionConfigs


def scratch_configs() -> DecisionConfigs:
    return DecisionConfigs(
        store=None,
        recommenders=lambda: {"top-sellers", "most-viewed"},
        segments=lambda: {"big_spenders"},
        clock=lambda: 1_000.0,
    )


def banner(**kw: Any) -> PersonalizationPoint:
    return PersonalizationPoint.model_validate(
        {"name": "home_banner", "contentSchema": {"type": "ManualContent"}, **kw}
    )


def carousel(**kw: Any) -> PersonalizationPoint:
    return PersonalizationPoint.model_validate(
        {
            "name": "home_recs",
            "contentSchema": {"type": "Recommendations", "attributes": ["title"]},
            **kw,
        }
    )


def decision(name: str, point: str = "home_banner", **kw: Any) -> Decision:
    return Decision.model_validate({"name": name, "point": point, **kw})


def test_a_point_gets_twelve_items_by_default_a_stable_id_and_at_most_24() -> None:
    point = carousel()
    assert point.max_items == 12
    assert point.id == carousel().id and point.id != banner().id
    with pytest.raises(ValidationError, match="less than or equal to 24"):
        carousel(maxItems=25)


def test_api_names_are_at_most_40_characters() -> None:
    banner(name="a" * 40)
    with pytest.raises(ValidationError, match="pattern"):
        banner(name="a" * 41)
    with pytest.raises(ValidationError, match="pattern"):
        banner(name="home banner")


def test_a_recommendations_schema_refuses_unknown_item_fields() -> None:
    with pytest.raises(ValidationError, match="unknown item field 'colour'"):
        carousel(contentSchema={"type": "Recommendations", "itemFields": ["id", "colour"]})
    carousel(contentSchema={"type": "Recommendations", "itemFields": ["id", "attributes.color"]})


def test_first_created_decision_has_the_highest_priority_and_updates_keep_theirs() -> None:
    reg = scratch_configs()
    reg.put_point(banner())
    for name in ("first", "second", "third"):
        reg.put_decision(decision(name, attributes={"header": name}))
    assert [d.name for d in reg.decisions_by_point["home_banner"]] == ["first", "second", "third"]
    reg.put_decision(decision("first", attributes={"header": "changed"}))
    assert reg.decisions["first"].priority == 1
    reg.put_decision(decision("third", priority=1))
    assert reg.decisions_by_point["home_banner"][0].name == "first"  # tie: by name
    assert {d.priority for d in reg.decisions_by_point["home_banner"]} == {1, 2}


def test_a_point_has_at_most_25_decisions() -> None:
    reg = scratch_configs()
    reg.put_point(banner())
    for k in range(25):
        reg.put_decision(decision(f"d{k}"))
    with pytest.raises(InvalidInput, match="already has 25 decisions"):
        reg.put_decision(decision("d25"))
    reg.put_decision(decision("d3", state="Live"))  # updating one is still fine


def test_decision_content_must_fit_the_point_schema() -> None:
    reg = scratch_configs()
    reg.put_point(banner())
    reg.put_point(carousel())
    with pytest.raises(InvalidInput, match="does not have"):
        reg.put_decision(decision("x", attributes={"subtitle": "Hi"}))
    with pytest.raises(InvalidInput, match="shows manual content"):
        reg.put_decision(decision("x", recommender="top-sellers"))
    with pytest.raises(InvalidInput, match="needs a recommender"):
        reg.put_decision(decision("x", point="home_recs"))
    with pytest.raises(InvalidInput, match="recommender 'nope', which does not exist"):
        reg.put_decision(decision("x", point="home_recs", recommender="nope"))
    with pytest.raises(InvalidInput, match="point 'nowhere', which does not exist"):
        reg.put_decision(decision("x", point="nowhere"))
    with pytest.raises(InvalidInput, match="segment ghosts, which does not exist"):
        reg.put_decision(
            decision(
                "x",
                targeting={
                    "type": "All",
                    "rules": [{"source": "segment", "field": "ghosts", "operator": "Has Value"}],
                },
            )
        )
    reg.put_decision(
        decision("ok", point="home_recs", recommender="top-sellers", attributes={"title": "Top"})
    )


def test_a_point_in_use_cannot_be_deleted_nor_change_schema_under_its_decisions() -> None:
    reg = scratch_configs()
    reg.put_point(banner())
    reg.put_decision(decision("hello", attributes={"header": "Hi"}))
    with pytest.raises(Conflict, match="used by hello"):
        reg.delete_point("home_banner")
    with pytest.raises(InvalidInput, match="does not have"):
        reg.put_point(banner(contentSchema={"type": "ManualContent", "attributes": ["body"]}))


def test_merge_fields_resolve_from_profile_insights_segments_and_context_with_defaults() -> None:
    profile = ProfileGraph(
        unified_id="u",
        created_at=0.0,
        updated_at=0.0,
        attributes={"firstName": "Ava"},
        insights={"order_count": 3.0, "avg": 12.5},
        segments={"vip": SegmentMembership(entered_at=0.0)},
    )
    text = (
        "Hi {{{firstName|there}}}, {{{insight.order_count}}} orders, avg {{{avg}}}, "
        "vip={{{segment.vip|no}}}, gold={{{segment.gold|no}}}, in {{{context.city|your town}}}"
    )
    assert render(text, profile, {"city": "Paris"}) == (
        "Hi Ava, 3 orders, avg 12.5, vip=true, gold=no, in Paris"
    )
    assert render(text, None, {}) == "Hi there,  orders, avg , vip=no, gold=no, in your town"


def test_a_decision_uses_at_most_ten_merge_fields_and_no_malformed_ones() -> None:
    ten = " ".join(f"{{{{{{f{k}}}}}}}" for k in range(10))
    assert len(merge_fields({"body": ten})) == 10
    decision("ok", attributes={"body": ten})
    with pytest.raises(ValidationError, match="at most 10 merge fields"):
        decision("x", attributes={"body": ten + " {{{f10}}}"})
    with pytest.raises(ValidationError, match="malformed merge field"):
        decision("x", attributes={"header": "Hi {{{firstName}}"})
    with pytest.raises(ValidationError, match="unknown source 'cookie'"):
        decision("x", attributes={"header": "Hi {{{cookie.id}}}"})


def test_a_content_schema_returns_every_catalog_field_in_the_api_spelling() -> None:
    """One list of item fields: each catalog field (bar created_at) is content, camelCased."""
    names = ["id", "type", "name", "description", "category", "brand", "price", "currency"]
    schema = RecommendationsSchema.model_validate(
        {"type": "Recommendations", "itemFields": [*names, "url", "imageUrl", "inStock"]}
    )
    item = Item(id="m-1", name="Mug", description="d", category="A/B", brand="b", price=2.0)
    item = item.model_copy(update={"currency": "EUR", "url": "/m", "image_url": "/i.png"})
    row = data_item("c-1", item, "m-1", schema)
    assert row["imageUrl"] == "/i.png" and row["inStock"] is True and row["category"] == "A/B"
    assert {k: row[k] for k in names} == {k: getattr(item, k) for k in names}
    assert "created_at" in ITEM_FIELDS  # filterable by recommenders, not content
    with pytest.raises(ValidationError, match="unknown item field 'createdAt'"):
        RecommendationsSchema.model_validate(
            {"type": "Recommendations", "itemFields": ["createdAt"]}
        )
