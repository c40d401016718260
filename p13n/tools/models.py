"""Shapes shared by several actions: item filters in, item cards out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from p13n.domain.ingest import Item
from p13n.domain.recommend import ItemFilter

__all__ = ["ItemFilters", "ItemCard", "item_card", "card_fields"]


class ItemFilters(BaseModel):
    """Conditions every returned item must meet."""

    model_config = ConfigDict(extra="forbid")

    min_price: float | None = Field(default=None, ge=0, description="Lowest price, inclusive.")
    max_price: float | None = Field(default=None, ge=0, description="Highest price, inclusive.")
    categories: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Category names or paths, any of which matches: 'Women' matches every "
        "item under Women, 'Women/Athletic Apparel' that branch, a single level name such as "
        "'Athletic Apparel' matches it anywhere. Case-insensitive.",
    )
    brands: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Brand names, any of which matches (exact name, case-insensitive).",
    )
    in_stock_only: bool = Field(default=True, description="Only items currently in stock.")

    @model_validator(mode="after")
    def _range(self) -> ItemFilters:
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError("min_price is above max_price; swap them")
        return self

    def to_domain(self) -> ItemFilter:
        return ItemFilter(
            min_price=self.min_price,
            max_price=self.max_price,
            categories=tuple(self.categories),
            brands=tuple(self.brands),
            in_stock_only=self.in_stock_only,
        )

    def narrowing(self) -> bool:
        """True when something beyond the default in-stock condition is asked for."""
        return bool(
            self.min_price is not None
            or self.max_price is not None
            or self.categories
            or self.brands
        )


class ItemCard(BaseModel):
    """An item as an agent shows it."""

    id: str = Field(
        description="Catalog item id (use it for anchor_item_id or record_interaction)."
    )
    name: str | None = Field(description="Display name.")
    price: float | None = Field(description="Price in `currency`.")
    currency: str | None = Field(description="ISO 4217 currency code, when known.")
    url: str | None = Field(description="Product page URL, when known.")
    image_url: str | None = Field(description="Image URL, when known.")
    category: str | None = Field(description="Category path, 'Top/Sub/Leaf'.")
    brand: str | None = Field(description="Brand, when known.")
    in_stock: bool = Field(description="Whether the item can be bought now.")


def card_fields(item: Item) -> dict[str, Any]:
    """An item's `ItemCard` fields, for building a card or a subclass of it in one step."""
    return {
        "id": item.id,
        "name": item.name,
        "price": item.price,
        "currency": item.currency,
        "url": item.url,
        "image_url": item.image_url,
        "category": item.category,
        "brand": item.brand,
        "in_stock": item.in_stock,
    }


def item_card(item: Item) -> ItemCard:
    return ItemCard(**card_fields(item))
