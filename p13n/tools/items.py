"""get_item: one catalog item by id, as the item card plus what a shopper asks next (the full
description, condition, size and the other catalog attributes). `p13n://items/{id}` serves the
same, with the item's insights."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.errors import NotFound
from p13n.domain.ingest import Item
from p13n.tools.context import ToolContext
from p13n.tools.models import ItemCard, card_fields, short_text

__all__ = ["GetItemInput", "ItemDetails", "get_item", "item_details", "find_item"]

MAX_DESCRIPTION = 1500
MAX_ATTRIBUTES = 20
MAX_ATTRIBUTE_TEXT = 200


class GetItemInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(
        min_length=1,
        max_length=256,
        description="The item's id, as an item's `id` in any tool's answer (e.g. 'm-42344').",
    )


class ItemDetails(ItemCard):
    description: str | None = Field(
        default=None,
        description=f"The item's description (at most {MAX_DESCRIPTION} characters).",
    )
    condition: str | None = Field(description="Condition (e.g. 'New', 'Like new'), when known.")
    size: str | None = Field(description="Size, when known.")
    attributes: dict[str, str | float | bool] = Field(
        description=f"Other catalog attributes (at most {MAX_ATTRIBUTES}, texts shortened)."
    )


def find_item(ctx: ToolContext, item_id: str) -> Item:
    """The catalog item, or NotFound saying how to find ids."""
    key = item_id.strip()
    item = ctx.engine.state.items.get(key)
    if item is None or item.placeholder:
        raise NotFound(
            f"no item '{item_id}' in the catalog.",
            hint="Item ids are the `id` of products in search_catalog answers and of items in "
            "get_recommendations answers; to find an item by what it is called, call "
            "search_catalog with its name as `catalog.query`.",
        )
    return item


def _attribute(value: Any) -> str | float | bool | None:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return short_text(value, MAX_ATTRIBUTE_TEXT)
    return None


def item_details(item: Item) -> ItemDetails:
    attrs = {k.casefold(): v for k, v in item.attributes.items()}
    rest: dict[str, str | float | bool] = {}
    for key, value in item.attributes.items():
        if key.casefold() in ("condition", "size") or len(rest) >= MAX_ATTRIBUTES:
            continue
        shown = _attribute(value)
        if shown is not None:
            rest[key] = shown
    condition, size = attrs.get("condition"), attrs.get("size")
    return ItemDetails(
        **{**card_fields(item), "description": short_text(item.description, MAX_DESCRIPTION)},
        condition=None if condition is None else str(condition),
        size=None if size is None else str(size),
        attributes=rest,
    )


def get_item(ctx: ToolContext, data: GetItemInput) -> ItemDetails:
    return item_details(find_item(ctx, data.item_id))
