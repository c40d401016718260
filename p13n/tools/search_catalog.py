"""search_catalog: the UCP catalog search, ranked for the buyer when p13n knows them.

The request is UCP's (`ucp_shapes.SearchCatalogInput`). Its words are the `query` and the
buyer's `context.intent`, read together the way recommendations read a shopper's request
(`interpret`: meaning by embedding, and price, brand, category, colour, size and audience
constraints extracted), so an intent of "a gift under $50" bounds the price. `filters` are
UCP's (categories, a price in minor units of `context.currency`) plus p13n's `brands` and
`in_stock_only`.

For an identified buyer (`catalog.buyer`, or an identity-linked token whose subject is the
buyer) the first results are the `recommended-for-you` recommender's for their profile and
those words, with a reason each; the search's own order follows (`ucp_ranking`). Anyone else gets the search
order, the same for everyone. `context.eligibility` claims reach the recommender's filters as
context variables (`{!eligibility}` holds them space-separated, `{!<claim>}` is true).

Pages are signed cursors (`ucp_cursor`). Each answer is logged as a personalization in the
agent channel, with the request's `attribution`, so clicks, carts and orders reported with its
`personalizationId` are credited to it in Measure.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import orjson
from pydantic import ValidationError
from ucp_sdk.models.schemas.common.types.message import Message
from ucp_sdk.models.schemas.common.types.pagination import Response as PageInfo
from ucp_sdk.models.schemas.shopping.types.product import Product

from p13n.domain.errors import InvalidInput
from p13n.domain.recommend import Interpreted
from p13n.domain.services import LogEntry, LoggedContent
from p13n.tools.catalog_words import catalog_facets
from p13n.tools.context import ToolContext
from p13n.tools.models import ItemFilters
from p13n.tools.people import resolve_person
from p13n.tools.registry import describe_errors
from p13n.tools.ucp_cursor import CursorRejected, CursorSigner, process_secret
from p13n.tools.ucp_products import major_units, product_of
from p13n.tools.ucp_ranking import Ranked, rank
from p13n.tools.ucp_shapes import (
    SEARCH_CAPABILITY,
    CatalogSearchRequest,
    CatalogSearchResponse,
    Personalization,
    SearchCatalogInput,
    SearchCatalogOutput,
    check_version,
    envelope,
    error_answer,
    info,
    platform_version,
    warning,
)

__all__ = ["SearchCatalogInput", "SearchCatalogOutput", "search_catalog", "DEFAULT_PAGE"]

DEFAULT_PAGE = 10
MAX_PAGE = 50


def search_catalog(ctx: ToolContext, data: SearchCatalogInput) -> SearchCatalogOutput:
    check_version(platform_version(data.meta))
    started = time.perf_counter()
    req = data.catalog
    messages: list[Message] = []
    words = _words(req)
    try:
        filters = _filters(ctx, req, messages)
    except _PriceRange:
        return SearchCatalogOutput(
            error_answer(
                SEARCH_CAPABILITY,
                "invalid_input",
                "filters.price.min is above filters.price.max; swap them.",
                path="$.filters.price",
            )
        )
    except ValueError as exc:  # an unknown category or brand: nothing can match it
        messages.append(info("no_match", str(exc), path="$.filters"))
        nothing = Interpreted(query=words, search_text=None, currency=None)
        return _answer(ctx, [], None, messages, None, nothing, data, started)
    uid = _buyer(ctx, req, messages)
    if words is None and not filters.narrowing() and uid is None:
        return SearchCatalogOutput(
            error_answer(
                SEARCH_CAPABILITY,
                "invalid_input",
                "A search needs at least one input: `query`, `context.intent`, `filters` "
                "(categories, price, brands) or a known `buyer`.",
            )
        )
    limit = min(req.pagination.limit or DEFAULT_PAGE, MAX_PAGE) if req.pagination else DEFAULT_PAGE
    signer = CursorSigner(ctx.cursor_secret or process_secret())
    fingerprint = _fingerprint(words, filters, uid, req)
    cursor = req.pagination.cursor if req.pagination else None
    try:
        offset = signer.decode(cursor, fingerprint, now=time.time()) if cursor else 0
    except CursorRejected as exc:
        return SearchCatalogOutput(
            error_answer(SEARCH_CAPABILITY, "invalid_cursor", str(exc), path="$.pagination.cursor")
        )
    item_filter = filters.to_domain()
    pid = str(uuid.uuid4())
    try:
        page, total, read, recommender, more = rank(
            ctx, req, words, filters, uid, pid, offset, limit
        )
    except InvalidInput as exc:  # words that cannot be served, e.g. a price in another currency
        where = "$.query" if req.query and req.query.strip() else "$.context.intent"
        return SearchCatalogOutput(
            error_answer(SEARCH_CAPABILITY, "invalid_input", str(exc), path=where)
        )
    if req.pagination and (req.pagination.limit or 0) > MAX_PAGE:
        read = read.model_copy(update={"clamped": [*read.clamped, _clamp_note(req)]})
    if total == 0 and filters.narrowing():
        messages.append(
            info(
                "no_match",
                f"No item matches the filters ({item_filter.describe()}); widen the price "
                "range or drop a category or brand.",
                path="$.filters",
            )
        )
    next_cursor = signer.encode(offset + limit, fingerprint, now=time.time()) if more else None
    pageinfo = (next_cursor, more, total)
    return _answer(ctx, page, (uid, recommender, pid), messages, pageinfo, read, data, started)


class _PriceRange(Exception):
    """A price filter whose minimum is above its maximum (a mistake, not a search)."""


def _words(req: CatalogSearchRequest) -> str | None:
    """The query and the intent as one request in the shopper's words (None: neither; a blank
    intent is "not given", as a blank optional argument is for every tool)."""
    intent = req.context.intent if req.context is not None else None
    parts = [p.strip() for p in (req.query, intent) if p and p.strip()]
    return " ".join(parts)[:500] if parts else None


def _filters(ctx: ToolContext, req: CatalogSearchRequest, messages: list[Message]) -> ItemFilters:
    """The UCP filters as p13n's, checked against the catalog's words (ValueError naming the
    closest category or brand when one is unknown)."""
    f = req.filters
    currency = catalog_facets(ctx).currency or "USD"
    asked = (req.context.currency if req.context is not None else None) or currency
    low = high = None
    if f is not None and f.price is not None:
        if f.price.min is not None and f.price.max is not None and f.price.min > f.price.max:
            raise _PriceRange()
        if asked.upper() != currency.upper():
            messages.append(
                warning(
                    "currency_unsupported",
                    f"The price filter is in {asked}, but this catalog's prices are in "
                    f"{currency} and it does not convert; the price filter was ignored.",
                    path="$.filters.price",
                )
            )
        else:
            low = None if f.price.min is None else major_units(f.price.min, currency)
            high = None if f.price.max is None else major_units(f.price.max, currency)
    raw: dict[str, Any] = {
        "min_price": low,
        "max_price": high,
        "categories": list(f.categories or []) if f else [],
        "brands": list(f.brands or []) if f else [],
        "in_stock_only": True if f is None else f.in_stock_only,
    }
    try:
        return ItemFilters.model_validate(raw, context={"tool_context": ctx})
    except ValidationError as exc:
        raise ValueError(describe_errors(exc, ItemFilters)) from None


def _buyer(ctx: ToolContext, req: CatalogSearchRequest, messages: list[Message]) -> str | None:
    """The buyer's unified id: `catalog.buyer`'s first identifier, else the subject of an
    identity-linked (JWT) credential; None, with a note when one was named, if nobody known."""
    b = req.buyer
    named = (
        next((v for v in (b.id, b.email, b.phone_number) if v and v.strip()), None) if b else None
    )
    if named is None and getattr(ctx.caller, "kind", None) == "jwt":
        named = getattr(ctx.caller, "subject", None)
    if not named:
        return None
    uid = resolve_person(ctx, named)
    if uid is None:
        messages.append(
            info(
                "buyer_unknown",
                f"No shopper known as '{named}' yet, so this answer is not personalized.",
                path="$.buyer",
            )
        )
    return uid


def _fingerprint(
    words: str | None, filters: ItemFilters, uid: str | None, req: CatalogSearchRequest
) -> str:
    eligibility = sorted(req.context.eligibility or []) if req.context is not None else []
    key = orjson.dumps(
        {"w": words or "", "f": filters.model_dump(), "b": uid or "", "e": eligibility},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(key).hexdigest()[:16]


def _clamp_note(req: CatalogSearchRequest) -> str:
    asked = req.pagination.limit if req.pagination else None
    return f"pagination.limit {asked} is over the maximum of {MAX_PAGE}; {MAX_PAGE} used"


def _answer(
    ctx: ToolContext,
    page: list[Ranked],
    who: tuple[str | None, str | None, str] | None,
    messages: list[Message],
    pageinfo: tuple[str | None, bool, int] | None,
    read: Interpreted,
    data: SearchCatalogInput,
    started: float,
) -> SearchCatalogOutput:
    uid, recommender, pid = who if who is not None else (None, None, str(uuid.uuid4()))
    currency = catalog_facets(ctx).currency
    products: list[Product] = []
    logged: list[LoggedContent] = []
    for r in page:
        content_id = f"{pid}:{len(products)}"
        meta = {"score": r.score, "reason": r.reason, "personalizationContentId": content_id}
        product = product_of(
            r.item, currency=currency, metadata={k: v for k, v in meta.items() if v is not None}
        )
        if product is not None:
            logged.append(LoggedContent(content_id, r.item.id, len(products) + 1))
            products.append(product)
    cursor, more, total = pageinfo if pageinfo is not None else (None, False, 0)
    pagination = PageInfo(has_next_page=more, total_count=total, cursor=cursor) if more else None
    if pagination is None:
        pagination = PageInfo(has_next_page=False, total_count=total)
    answer = CatalogSearchResponse(
        ucp=envelope(SEARCH_CAPABILITY),
        products=products,
        pagination=pagination,
        messages=messages or None,
        personalization=Personalization(
            personalizationId=pid,
            buyer=uid,
            personalized=recommender is not None,
            recommender=recommender,
            interpreted=read,
        ),
    )
    _log(ctx, pid, uid, recommender, logged, data.catalog, started)
    return SearchCatalogOutput(answer)


def _log(
    ctx: ToolContext,
    pid: str,
    uid: str | None,
    recommender: str | None,
    content: list[LoggedContent],
    req: CatalogSearchRequest,
    started: float,
) -> None:
    log = ctx.decisions.log if ctx.decisions is not None else None
    if log is None:
        return
    total_ms = round((time.perf_counter() - started) * 1000, 3)
    b = req.buyer
    named = next((v for v in (b.id, b.email, b.phone_number) if v), None) if b else None
    log.record(
        LogEntry(
            personalization_id=pid,
            request_id=pid,
            ts=ctx.engine.now(),
            recommender=recommender,
            individual_id=named,
            unified_id=uid,
            channel=ctx.channel,
            source="agent",
            content=content,
            personalizing_ms=total_ms,
            total_ms=total_ms,
            attribution=dict(req.attribution) if req.attribution else None,
        )
    )
