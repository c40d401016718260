"""Catalog items: the fields of REFERENCE.md plus free-form attributes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Item", "ITEM_FIELDS", "ITEM_CONTENT_FIELDS", "category_prefixes"]


class Item(BaseModel):
    """A catalog item. `placeholder` marks items first seen in an event, not imported yet."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=256)
    type: str = "Product"
    name: str | None = None
    description: str | None = None
    category: str | None = Field(default=None, description="A path like 'Women/Tops & Blouses'")
    brand: str | None = None
    price: float | None = Field(default=None, ge=0)
    currency: str | None = None
    image_url: str | None = None
    url: str | None = None
    in_stock: bool = True
    created_at: datetime | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    placeholder: bool = False

    @field_validator("category")
    @classmethod
    def _clean_category(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = [p.strip() for p in value.split("/") if p.strip()]
        return "/".join(parts) or None


# The catalog fields of an item (its attributes and the `placeholder` mark aside), by attribute
# name: what recommender filters may test. The one list of item field names.
ITEM_FIELDS: frozenset[str] = frozenset(Item.model_fields) - {"attributes", "placeholder"}


# The same fields as the Decisioning API spells them in a content schema's `itemFields`
# (camelCase, REFERENCE.md), mapped to the attribute; `created_at` is not content.
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


ITEM_CONTENT_FIELDS: dict[str, str] = {
    _camel(name): name for name in sorted(ITEM_FIELDS - {"created_at"})
}


def category_prefixes(category: str | None) -> list[str]:
    """'A/B/C' -> ['A', 'A/B', 'A/B/C']: affinities and targeting work at every level."""
    if not category:
        return []
    parts = category.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
