"""lookup_catalog and get_product: UCP catalog lookup over the item graph.

`lookup_catalog` resolves up to 50 product or variant ids at once (`ucp_products.resolve_id`):
each found product comes once, its variant saying which requested ids resolved to it and how
(`exact` for a variant id, `featured` for a product id); ids that resolve to nothing, or to
items the request's `filters` exclude, are `not_found` info messages, as the spec's partial
success has them. `get_product` gives one product in full (the whole description, options with
availability signals, the effective selections, the item graph's recent views and sales); an
unknown id is the UCP error response `not_found`, severity `unrecoverable` (do not retry it).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from ucp_sdk.models.schemas.common.types.message import Message
from ucp_sdk.models.schemas.shopping.catalog_lookup import (
    DetailProduct,
    GetProductResponse,
    LookupResponse,
    LookupVariant,
    Option,
)
from ucp_sdk.models.schemas.shopping.catalog_lookup import Product as LookupProduct
from ucp_sdk.models.schemas.shopping.types.detail_option_value import DetailOptionValue
from ucp_sdk.models.schemas.shopping.types.input_correlation import InputCorrelation
from ucp_sdk.models.schemas.shopping.types.search_filters import SearchFilters

from p13n.domain.ingest import Item
from p13n.tools.catalog_words import catalog_facets
from p13n.tools.context import ToolContext
from p13n.tools.models import ItemFilters
from p13n.tools.registry import describe_errors
from p13n.tools.ucp_products import (
    item_counts,
    major_units,
    options_of,
    product_of,
    resolve_id,
    variant_of,
)
from p13n.tools.ucp_shapes import (
    LOOKUP_CAPABILITY,
    GetProductInput,
    GetProductOutput,
    LookupCatalogInput,
    LookupCatalogOutput,
    check_version,
    envelope,
    error_answer,
    info,
    platform_version,
)

__all__ = ["lookup_catalog", "get_product"]


def _excluded(ctx: ToolContext, filters: SearchFilters | None) -> set[str] | None:
    """Ids of priced items the filters leave out (None without filters); ValueError for an
    unknown category (nothing would match it)."""
    if filters is None or (not filters.categories and filters.price is None):
        return None
    currency = catalog_facets(ctx).currency or "USD"
    price = filters.price
    raw: dict[str, Any] = {
        "categories": list(filters.categories or []),
        "min_price": None
        if price is None or price.min is None
        else major_units(price.min, currency),
        "max_price": None
        if price is None or price.max is None
        else major_units(price.max, currency),
        "in_stock_only": False,
    }
    try:
        wanted = ItemFilters.model_validate(raw, context={"tool_context": ctx}).to_domain()
    except ValidationError as exc:
        raise ValueError(describe_errors(exc, ItemFilters)) from None
    snap = ctx.recommend.snapshot()
    mask = wanted.mask(snap)
    if mask is None:
        return set()
    return {item.id for item, keep in zip(snap.items, mask.tolist(), strict=True) if not keep}


def lookup_catalog(ctx: ToolContext, data: LookupCatalogInput) -> LookupCatalogOutput:
    check_version(platform_version(data.meta))
    req = data.catalog
    messages: list[Message] = []
    try:
        excluded = _excluded(ctx, req.filters) or set()
    except ValueError as exc:
        messages.append(info("no_match", str(exc), path="$.filters"))
        excluded = set(ctx.engine.state.items)
    found: dict[str, tuple[Item, list[InputCorrelation]]] = {}
    for identifier in dict.fromkeys(req.ids):
        hit = resolve_id(ctx, identifier)
        if hit is None or hit[0].id in excluded:
            messages.append(info("not_found", identifier))
            continue
        item, match = hit
        found.setdefault(item.id, (item, []))[1].append(
            InputCorrelation(id=identifier, match=match)
        )
    currency = catalog_facets(ctx).currency
    products = []
    for item, inputs in found.values():
        plain = variant_of(item, currency=currency, full=False)
        variant = LookupVariant(**plain.model_dump(by_alias=True, exclude_none=True), inputs=inputs)
        product = product_of(item, currency=currency, variant=variant, cls=LookupProduct)
        if product is not None:
            products.append(product)
    return LookupCatalogOutput(
        LookupResponse(
            ucp=envelope(LOOKUP_CAPABILITY), products=products, messages=messages or None
        )
    )


def _options(item: Item, selected: dict[str, str]) -> list[Option]:
    """The item's options with availability signals: its own value exists (and is available
    when in stock); a value the request selected that the item lacks exists nowhere."""
    out = []
    for own in options_of(item):
        values = [DetailOptionValue(label=own.label, available=item.in_stock, exists=True)]
        asked = selected.get(own.name.casefold())
        if asked is not None and asked.casefold() != own.label.casefold():
            values.append(DetailOptionValue(label=asked, available=False, exists=False))
        out.append(Option(name=own.name, values=values))
    return out


def get_product(ctx: ToolContext, data: GetProductInput) -> GetProductOutput:
    check_version(platform_version(data.meta))
    req = data.catalog
    hit = resolve_id(ctx, req.id)
    if hit is None:
        return GetProductOutput(
            error_answer(
                LOOKUP_CAPABILITY,
                "not_found",
                f"Product not found: {req.id}",
                severity="unrecoverable",
                path="$.id",
            )
        )
    item, _ = hit
    selected = {s.name.casefold(): s.label for s in req.selected or []}
    messages: list[Message] = []
    own = {o.name.casefold(): o.label for o in options_of(item)}
    for name, label in selected.items():
        if own.get(name, "").casefold() != label.casefold():
            messages.append(
                info(
                    "option_unavailable",
                    f"No variant has {name} '{label}'; the product's one variant is shown.",
                    path="$.product.options",
                )
            )
    currency = catalog_facets(ctx).currency
    metadata = {**item_counts(ctx, item), **_attributes(item)}
    product = product_of(
        item,
        currency=currency,
        metadata=metadata,
        variant=variant_of(item, currency=currency),
        limit=1500,
        cls=DetailProduct,
        options=_options(item, selected),
        selected=options_of(item) or None,
    )
    assert product is not None  # resolve_id returns priced items only
    return GetProductOutput(
        GetProductResponse(
            ucp=envelope(LOOKUP_CAPABILITY), product=product, messages=messages or None
        )
    )


def _attributes(item: Item) -> dict[str, Any]:
    """The item's other scalar attributes (short texts), as get_item shows them."""
    out: dict[str, Any] = {}
    for key, value in item.attributes.items():
        if key.casefold() in ("size", "condition") or len(out) >= 20:
            continue
        if isinstance(value, bool | int | float):
            out[key] = value
        elif isinstance(value, str) and value.strip():
            out[key] = value[:200]
    return out
