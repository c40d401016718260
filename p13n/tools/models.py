"""Shapes shared by several actions: item filters in, item cards out, names from the vocabulary.

Validators that need the store's words (an unknown category, brand, recommender or point) read
the `ToolContext` that `Action.parse` passes as pydantic's validation context; without one (a
model built in code) they accept the value and the domain decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from p13n.domain.ingest import Item
from p13n.domain.recommend import ItemFilter
from p13n.tools.catalog_words import CatalogFacets, catalog_facets, closest, point_names
from p13n.tools.context import ToolContext
from p13n.tools.schema import VOCABULARY_KEY

__all__ = [
    "ItemFilters",
    "ItemCard",
    "item_card",
    "card_fields",
    "short_text",
    "RecommenderName",
    "PointName",
    "tool_context",
]

SHORT_DESCRIPTION = 200
_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
_PRICE = re.compile(
    r"^\s*(?P<pre>[^\d\s.,+-]{1,3})?\s*(?P<num>\d[\d,]*(?:\.\d+)?|\.\d+)\s*(?P<post>[^\d\s]{1,3})?\s*$"
)


def tool_context(info: ValidationInfo) -> ToolContext | None:
    """The call's `ToolContext` when `Action.parse` passed one."""
    ctx = info.context.get("tool_context") if isinstance(info.context, dict) else None
    return ctx if isinstance(ctx, ToolContext) else None


def _suggest(kind: str, value: str, options: list[str], where: str, cutoff: float = 70) -> str:
    near = closest(value, options, cutoff=cutoff)
    if near:
        return f"unknown {kind} '{value}'; closest: {', '.join(repr(n) for n in near)} ({where})"
    return f"unknown {kind} '{value}' ({where})"


def _known_recommender(value: str, info: ValidationInfo) -> str:
    ctx = tool_context(info)
    if ctx is not None and value not in ctx.recommend.configs:
        names = sorted(ctx.recommend.configs)
        raise ValueError(_suggest("recommender", value, names, "known: " + ", ".join(names)))
    return value


def _known_point(value: str, info: ValidationInfo) -> str:
    ctx = tool_context(info)
    if ctx is not None and ctx.decisions is not None:
        names = point_names(ctx)
        if value not in names:
            listed = ", ".join(names) if names else "none is configured"
            raise ValueError(
                _suggest("personalization point", value, names, "active: " + listed, cutoff=50)
            )
    return value


RecommenderName = Annotated[
    str,
    AfterValidator(_known_recommender),
    Field(json_schema_extra={VOCABULARY_KEY: "recommenders"}),
]
PointName = Annotated[
    str,
    AfterValidator(_known_point),
    Field(json_schema_extra={VOCABULARY_KEY: "points"}),
]


def _price(value: Any, info: ValidationInfo) -> Any:
    """'$30', '30 USD', '1,299.50', '30,5' -> a number; a currency other than the catalog's is
    refused (converting silently would be wrong)."""
    if not isinstance(value, str):
        return value
    m = _PRICE.match(value)
    if m is None:
        return value  # pydantic says it is not a number
    text = m["num"]
    if "," in text and "." not in text and re.fullmatch(r"\d+,\d{1,2}", text):
        text = text.replace(",", ".")  # a decimal comma
    number = float(text.replace(",", ""))
    marks = [x for x in (m["pre"], m["post"]) if x]
    ctx = tool_context(info)
    if marks and ctx is not None:
        code = _SYMBOLS.get(marks[0], marks[0].upper())
        currency = catalog_facets(ctx).currency
        if currency is not None and code != currency:
            raise ValueError(
                f"'{value}' is in {code}, but the catalog's prices are in {currency}; convert "
                f"it to {currency} and send the number only"
            )
    return number


Price = Annotated[float | None, BeforeValidator(_price)]


def _in_catalog(
    values: list[str], info: ValidationInfo, unknown: Callable[[CatalogFacets, str], str | None]
) -> list[str]:
    """Blank names dropped; each other one checked against the catalog's words (`unknown`
    says what is wrong with one, or None)."""
    values = [v.strip() for v in values if v and v.strip()]
    ctx = tool_context(info)
    if ctx is not None and values:
        facets = catalog_facets(ctx)
        for value in values:
            problem = unknown(facets, value)
            if problem is not None:
                raise ValueError(problem)
    return values


def _unknown_category(facets: CatalogFacets, value: str) -> str | None:
    if facets.has_category(value):
        return None
    return _suggest(
        "category",
        value,
        list(facets.levels.values()),
        "use the catalog's words; list_catalog_facets lists them",
    )


def _unknown_brand(facets: CatalogFacets, value: str) -> str | None:
    if facets.has_brand(value):
        return None
    near = facets.brand_suggestions(value)
    hint = f"closest: {', '.join(repr(n) for n in near)}" if near else "none near"
    return (
        f"no brand '{value}' in the catalog; {hint} (list_catalog_facets lists the main "
        "brands; or put the brand in `query` instead)"
    )


class ItemFilters(BaseModel):
    """Conditions every returned item must meet."""

    model_config = ConfigDict(extra="forbid")

    min_price: Price = Field(
        default=None, ge=0, description="Lowest price, inclusive, in the catalog's currency."
    )
    max_price: Price = Field(
        default=None, ge=0, description="Highest price, inclusive, in the catalog's currency."
    )
    categories: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Category names or paths in the catalog's words (list_catalog_facets lists "
        "them), any of which matches: 'Women' matches every item under Women, "
        "'Women/Athletic Apparel' that branch, a single level name such as 'Athletic Apparel' "
        "matches it anywhere. Case-insensitive.",
    )
    brands: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Brand names, any of which matches (exact name, case-insensitive).",
    )
    in_stock_only: bool = Field(default=True, description="Only items currently in stock.")

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, values: list[str], info: ValidationInfo) -> list[str]:
        return _in_catalog(values, info, _unknown_category)

    @field_validator("brands")
    @classmethod
    def _known_brands(cls, values: list[str], info: ValidationInfo) -> list[str]:
        return _in_catalog(values, info, _unknown_brand)

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
    """An item as every tool and resource shows it (one shape; tools add a field or two)."""

    id: str = Field(
        description="Catalog item id (use it for get_item, anchor_item_id or record_interaction)."
    )
    name: str | None = Field(description="Display name.")
    brand: str | None = Field(description="Brand, when known.")
    price: float | None = Field(description="Price in `currency`.")
    currency: str | None = Field(description="ISO 4217 currency code of `price`, when known.")
    url: str | None = Field(description="Product page URL, when known.")
    image_url: str | None = Field(description="Image URL, when known.")
    category: str | None = Field(
        description="Category path in the catalog's words, 'Top/Sub/Leaf'."
    )
    in_stock: bool = Field(description="Whether the item can be bought now.")
    description: str | None = Field(
        default=None,
        description=f"The start of the item's description (at most {SHORT_DESCRIPTION} "
        "characters; get_item has more).",
    )
    reason: str | None = Field(
        default=None,
        description="Why this item, in a sentence you can say to the person; null when it was "
        "not chosen for them (a search or a lookup).",
    )
    personalizationContentId: str | None = Field(  # noqa: N815 - the contract's field name
        default=None,
        description="Pass to record_interaction when this item is shown, clicked or carted; "
        "null when the item did not come from a recommendation or decision.",
    )


def short_text(text: str | None, limit: int = SHORT_DESCRIPTION) -> str | None:
    """`text` cut to `limit` characters at a word boundary, with '…' when cut."""
    if not text:
        return None
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,.;:") + "…"


def card_fields(item: Item) -> dict[str, Any]:
    """An item's `ItemCard` fields, for building a card or a subclass of it in one step."""
    return {
        "id": item.id,
        "name": item.name,
        "brand": item.brand,
        "price": item.price,
        "currency": item.currency,
        "url": item.url,
        "image_url": item.image_url,
        "category": item.category,
        "in_stock": item.in_stock,
        "description": short_text(item.description),
    }


def item_card(item: Item) -> ItemCard:
    return ItemCard(**card_fields(item))
