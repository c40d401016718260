"""The agent actions over a real store, on SQLite and PostgreSQL (no vectors: no queries)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _tools_tenant import AVA_EMAIL, build

from p13n.domain.errors import InvalidInput, NotFound
from p13n.domain.services import Engine
from p13n.tools import LocalCaller, ToolContext, get_action


@pytest.fixture
def ctx(database_url: str, tmp_path: Path) -> Iterator[ToolContext]:
    engine, service = build(database_url, tmp_path, None)
    yield ToolContext(engine=engine, recommend=service)
    engine.close()


def test_a_recorded_click_and_cart_change_the_stored_profile(
    ctx: ToolContext, database_url: str
) -> None:
    act = get_action("record_interaction")
    act.invoke(ctx, {"individual": AVA_EMAIL, "kind": "item_clicked", "item_id": "lamp-1"})
    act.invoke(ctx, {"individual": AVA_EMAIL, "kind": "item_added_to_cart", "item_id": "lamp-1"})
    reopened = Engine.open(database_url)
    try:
        profile = reopened.get_profile("ava-1")
    finally:
        reopened.close()
    assert {line.item_id for line in profile.cart} == {"tent-1", "lamp-1"}
    kinds = [e.interaction for e in profile.engagement if e.item_id == "lamp-1"]
    assert kinds == ["personalization-click", "Add To Cart"]


def test_recommendations_honour_price_and_category_filters(ctx: ToolContext) -> None:
    out = get_action("get_recommendations").invoke(
        ctx,
        {
            "recommender": "newest",
            "filters": {"categories": ["Outdoors/Footwear"], "max_price": 150},
        },
    )
    assert {i.id for i in out.items} == {"boot-1", "sock-1"}


def test_unknown_people_and_empty_filters_raise_errors_the_caller_can_fix(
    ctx: ToolContext,
) -> None:
    with pytest.raises(NotFound, match="no person known"):
        get_action("record_interaction").invoke(
            ctx, {"individual": "nobody@example.com", "kind": "item_clicked", "item_id": "mug-1"}
        )
    with pytest.raises(InvalidInput, match="no item matches the filters"):
        get_action("get_recommendations").invoke(
            ctx, {"filters": {"brands": ["Glow"], "min_price": 500}}
        )
    with pytest.raises(InvalidInput, match="min_price is above max_price"):
        get_action("get_recommendations").invoke(ctx, {"filters": {"min_price": 9, "max_price": 1}})
    # The UCP search answers these in its own shape: no products with a note, or an error.
    search = get_action("search_catalog")
    none = search.invoke(
        ctx, {"catalog": {"filters": {"brands": ["Glow"], "price": {"min": 50000}}}}
    ).model_dump(mode="json")
    assert none["products"] == [] and [m["code"] for m in none["messages"]] == ["no_match"]
    assert "No item matches the filters" in none["messages"][0]["content"]
    swapped = search.invoke(
        ctx, {"catalog": {"filters": {"price": {"min": 900, "max": 100}}}}
    ).model_dump(mode="json")
    assert swapped["ucp"]["status"] == "error"
    (message,) = swapped["messages"]
    assert message["code"] == "invalid_input" and "swap them" in message["content"]


def test_context_masking_follows_the_callers_pii_scope(ctx: ToolContext) -> None:
    masked = get_action("get_context").invoke(ctx, {"individual": "ava-1"})
    assert masked.contact.emails == ["a***@e***.com"]
    clear_ctx = ToolContext(
        engine=ctx.engine, recommend=ctx.recommend, caller=LocalCaller(pii=True)
    )
    clear = get_action("get_context").invoke(clear_ctx, {"individual": "ava-1"})
    assert clear.contact.emails == [AVA_EMAIL]
