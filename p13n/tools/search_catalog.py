"""search_catalog: semantic and filtered catalog search, the same for everyone, page by page.

The query is read like a recommendation's (prices bound, brand, category, colour, size and
audience words rank) and `interpreted` says how; a `limit` above 50 is clamped and said there.
`next_cursor` is an opaque token holding the next offset and a fingerprint of the search, so a
cursor used with a different query or filters is refused instead of paging something else.
"""

from __future__ import annotations

import base64
import hashlib

import orjson
from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.errors import InvalidInput
from p13n.domain.recommend import Interpreted
from p13n.domain.services import search_items
from p13n.tools.context import ToolContext
from p13n.tools.models import ItemCard, ItemFilters, card_fields

__all__ = ["SearchCatalogInput", "SearchCatalogOutput", "SearchResult", "search_catalog"]

MAX_PAGE = 50


class SearchCatalogInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str | None = Field(
        default=None,
        max_length=500,
        description="What to look for, in words ('trail running shoes under 80'). Brand, "
        "category, colour, size and audience words rank matches first ('only' requires "
        "them); 'under'/'over' a price is required. Omit to browse the filtered catalog, most "
        "viewed first.",
    )
    filters: ItemFilters = Field(
        default_factory=ItemFilters, description="Conditions every item must meet."
    )
    limit: int = Field(
        default=10,
        ge=1,
        description=f"Items per page (1-{MAX_PAGE}; more is clamped to {MAX_PAGE}).",
    )
    cursor: str | None = Field(
        default=None,
        description="`next_cursor` of the previous page of the same search; omit for page one.",
    )


class SearchResult(ItemCard):
    score: float | None = Field(
        description="How well the item answers the query (meaning, words and the constraints "
        "read from it; higher is better), null without one."
    )


class SearchCatalogOutput(BaseModel):
    items: list[SearchResult] = Field(description="This page of results, best first.")
    matched: int = Field(description="How many results the search has in all (capped at 500).")
    next_cursor: str | None = Field(
        description="Pass as `cursor` (same query and filters) for the next page; null at the end."
    )
    interpreted: Interpreted = Field(
        description="What the query was read as and how each part was applied (soft ranks, "
        "hard filters), what was loosened or clamped."
    )


def _fingerprint(data: SearchCatalogInput) -> str:
    key = orjson.dumps(
        {"q": (data.query or "").strip(), "f": data.filters.model_dump()},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(key).hexdigest()[:12]


def _encode(offset: int, fingerprint: str) -> str:
    raw = orjson.dumps({"o": offset, "f": fingerprint})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, fingerprint: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        offset, seen = int(data["o"]), str(data["f"])
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise InvalidInput(
            "cursor is not one this tool returned.",
            hint="Pass `next_cursor` from the previous page unchanged, or omit it for page one.",
        ) from None
    if seen != fingerprint or offset < 0:
        raise InvalidInput(
            "cursor belongs to a different search (query or filters changed).",
            hint="Omit the cursor to start this search at page one.",
        )
    return offset


def search_catalog(ctx: ToolContext, data: SearchCatalogInput) -> SearchCatalogOutput:
    fingerprint = _fingerprint(data)
    offset = _decode(data.cursor, fingerprint) if data.cursor else 0
    item_filter = data.filters.to_domain()
    limit, clamped = min(data.limit, MAX_PAGE), []
    if data.limit > MAX_PAGE:
        clamped.append(f"limit {data.limit} is over the maximum of {MAX_PAGE}; {MAX_PAGE} used")
    page = search_items(
        ctx.recommend,
        query=data.query,
        item_filter=None if item_filter.is_empty() else item_filter,
        offset=offset,
        limit=limit,
    )
    if page.matched == 0 and data.filters.narrowing():
        raise InvalidInput(
            f"no item matches the filters ({item_filter.describe()}).",
            hint="Widen the price range or drop a category or brand.",
        )
    results = [SearchResult(**card_fields(h.item), score=h.score) for h in page.hits]
    # A query that is an item's id (an agent pasting "m-42344") finds that item first.
    exact = ctx.engine.state.items.get((data.query or "").strip())
    if exact is not None and offset == 0 and not data.filters.narrowing():
        best = max((r.score for r in results if r.score is not None), default=1.0)
        results = [SearchResult(**card_fields(exact), score=best)] + [
            r for r in results if r.id != exact.id
        ][: limit - 1]
    return SearchCatalogOutput(
        items=results,
        matched=page.matched,
        next_cursor=None if page.next_offset is None else _encode(page.next_offset, fingerprint),
        interpreted=page.interpreted.model_copy(update={"clamped": clamped}),
    )
