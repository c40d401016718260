"""Catalog items as UCP products, and UCP money as the catalog's.

A p13n catalog item is one UCP product with one purchasable variant: the variant's id is the
item id with `VARIANT_SUFFIX` (so product and variant ids never collide, and both resolve), its
availability is the item's stock (`in_stock` / `out_of_stock`), and the item's size and
condition are its options (one value each). Prices are in ISO 4217 minor units of the item's
currency (the catalog's when the item names none). The item graph's counts (views and units
sold in the last 30 days) and the brand go to the product's `metadata`, with the ranking's
`score`, `reason` and `personalizationContentId` when a search gives them.

Items without a price cannot be offered (a UCP price is required): they are left out.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ucp_sdk.models.schemas.common.types.description import Description
from ucp_sdk.models.schemas.common.types.media import Media
from ucp_sdk.models.schemas.common.types.price import Price
from ucp_sdk.models.schemas.common.types.price_range import PriceRange
from ucp_sdk.models.schemas.shopping.types.availability import Availability
from ucp_sdk.models.schemas.shopping.types.category import Category
from ucp_sdk.models.schemas.shopping.types.option_value import OptionValue
from ucp_sdk.models.schemas.shopping.types.product import Product
from ucp_sdk.models.schemas.shopping.types.product_option import ProductOption
from ucp_sdk.models.schemas.shopping.types.selected_option import SelectedOption
from ucp_sdk.models.schemas.shopping.types.variant import Variant

from p13n.domain.ingest import Item
from p13n.tools.context import ToolContext
from p13n.tools.models import short_text

__all__ = [
    "VARIANT_SUFFIX",
    "minor_units",
    "major_units",
    "exponent",
    "product_of",
    "variant_of",
    "options_of",
    "resolve_id",
    "item_counts",
]

VARIANT_SUFFIX = ":default"
# ISO 4217 currencies whose minor unit is not a hundredth (the rest have two decimals).
_EXPONENTS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
_OPTIONS = (("size", "Size"), ("condition", "Condition"))


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def minor_units(price: float, currency: str) -> int:
    """A catalog price in the currency's minor units, rounded half up (19.99 USD -> 1999)."""
    scale = Decimal(10) ** exponent(currency)
    return int((Decimal(str(price)) * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def major_units(amount: int, currency: str) -> float:
    """A UCP amount in minor units as a catalog price (1999 USD -> 19.99)."""
    return float(Decimal(amount) / (Decimal(10) ** exponent(currency)))


def _currency(item: Item, fallback: str | None) -> str:
    return (item.currency or fallback or "USD").upper()


def options_of(item: Item) -> list[SelectedOption]:
    """The item's option values (size, condition), as its variant carries them."""
    attrs = {k.casefold(): v for k, v in item.attributes.items()}
    return [
        SelectedOption(name=label, label=str(attrs[key]))
        for key, label in _OPTIONS
        if attrs.get(key) not in (None, "")
    ]


def _description(item: Item, limit: int) -> Description:
    text = short_text(item.description, limit) or item.name or item.id
    return Description(plain=text)


def variant_of(
    item: Item, *, currency: str | None, limit: int = 1500, full: bool = True
) -> Variant:
    """The item's one variant; `currency` is the catalog's, for items that name none. Not
    `full` (lists of products): what the product does not already say (the product's url,
    categories and media are not repeated, the description is the variant's title), so a
    page of products stays small for the model reading it."""
    code = _currency(item, currency)
    assert item.price is not None  # callers pass priced items (`product_of` checks)
    title = " / ".join(o.label for o in options_of(item)) or (item.name or item.id)
    return Variant(
        id=item.id + VARIANT_SUFFIX,
        sku=item.id,
        title=title,
        description=_description(item, limit) if full else Description(plain=title),
        url=(item.url or None) if full else None,
        categories=[Category(value=item.category, taxonomy="merchant")]
        if item.category and full
        else None,
        price=Price(amount=minor_units(item.price, code), currency=code),
        availability=Availability(
            available=item.in_stock, status="in_stock" if item.in_stock else "out_of_stock"
        ),
        options=options_of(item) or None,
        media=[Media(type="image", url=item.image_url)] if item.image_url and full else None,
    )


def item_counts(ctx: ToolContext, item: Item) -> dict[str, Any]:
    """The item graph's recent counts, as a product's metadata shows them."""
    _, graph = ctx.engine.get_item(item.id)
    insights = graph.insights(ctx.engine.now())
    return {"views_30d": insights.views_30d, "units_sold_30d": insights.units_sold_30d}


def product_of(
    item: Item,
    *,
    currency: str | None,
    metadata: dict[str, Any] | None = None,
    variant: Variant | None = None,
    limit: int = 200,  # as the item cards of the other tools
    cls: type[Product] = Product,
    options: list[Any] | None = None,
    **extra: Any,
) -> Product | None:
    """The item as a UCP product (None for an item without a price) with its variant as a list
    shows it (`variant_of(full=False)`); `variant` replaces that one (a lookup's carries `inputs`), `cls` is the product model to build, `options`
    (of `cls`'s option type) replace the plain ones and `extra` are more fields of `cls`."""
    if item.price is None or item.placeholder:
        return None
    one = variant or variant_of(item, currency=currency, limit=limit, full=False)
    if options is None:
        options = [
            ProductOption(name=o.name, values=[OptionValue(label=o.label)])
            for o in options_of(item)
        ]
    meta = {"brand": item.brand} if item.brand else {}
    meta.update(metadata or {})
    return cls(
        id=item.id,
        title=item.name or item.id,
        description=_description(item, limit),
        url=item.url or None,
        categories=[Category(value=item.category, taxonomy="merchant")] if item.category else None,
        price_range=PriceRange(min=one.price, max=one.price),
        media=[Media(type="image", url=item.image_url)] if item.image_url else None,
        options=options or None,
        variants=[one],
        tags=[item.brand] if item.brand else None,
        metadata=meta or None,
        **extra,
    )


def resolve_id(ctx: ToolContext, identifier: str) -> tuple[Item, str] | None:
    """(item, match) for a product id ('featured': the product's one variant stands for it),
    a variant id or SKU ('exact'); None when nothing in the catalog answers to it."""
    key = identifier.strip()
    items = ctx.engine.state.items
    if key.endswith(VARIANT_SUFFIX):
        item = items.get(key[: -len(VARIANT_SUFFIX)])
        match = "exact"
    else:
        item = items.get(key)
        match = "featured"
    if item is None or item.placeholder or item.price is None:
        return None
    return item, match
