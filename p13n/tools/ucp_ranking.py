"""The order of a UCP catalog search: the buyer's, or everyone's.

For a known buyer the first `PERSONAL_HEAD` products are the `PERSONAL_RECOMMENDER`'s for their
profile and the request's words (each with a reason), then the search's order without them;
anyone else gets the search's order, where a query that is an item id finds that item first.
Every page of one search is cut from the same order, so pages neither repeat nor skip an item.
`context.eligibility` claims reach the recommender's filters as context variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from p13n.domain.ingest import Item
from p13n.domain.recommend import Interpreted, ItemFilter, RecommendRequest
from p13n.domain.services import search_items
from p13n.tools.context import ToolContext
from p13n.tools.models import ItemFilters
from p13n.tools.ucp_shapes import CatalogSearchRequest

__all__ = ["PERSONAL_HEAD", "PERSONAL_RECOMMENDER", "Ranked", "rank"]

PERSONAL_RECOMMENDER = "recommended-for-you"
PERSONAL_HEAD = 24  # the recommender ranks this many first; the search order follows


@dataclass(frozen=True)
class Ranked:
    """One product of the order: its item, score, and the recommender's reason (None when
    it comes from the search's order)."""

    item: Item
    score: float | None
    reason: str | None


def rank(
    ctx: ToolContext,
    req: CatalogSearchRequest,
    words: str | None,
    filters: ItemFilters,
    uid: str | None,
    pid: str,
    offset: int,
    limit: int,
) -> tuple[list[Ranked], int, Interpreted, str | None, bool]:
    """(page, total, how the words were read, recommender or None, more pages): the buyer's
    order when they are known, else the search's."""
    item_filter = filters.to_domain()
    if uid is not None and PERSONAL_RECOMMENDER in ctx.recommend.configs:
        ranked, total, read, recommender = _personal(
            ctx, req, words, item_filter, uid, pid, offset=offset, limit=limit
        )
        more = offset + limit < len(ranked) or len(ranked) < total
        return ranked[offset : offset + limit], total, read, recommender, more
    found = search_items(
        ctx.recommend,
        query=words,
        item_filter=None if item_filter.is_empty() else item_filter,
        offset=offset,
        limit=limit,
    )
    page = [Ranked(h.item, h.score, None) for h in found.hits]
    page = _exact_first(ctx, words, page, offset, filters, limit)
    return page, found.matched, found.interpreted, None, found.next_offset is not None


def _variables(req: CatalogSearchRequest) -> dict[str, Any]:
    claims = list(req.context.eligibility or []) if req.context is not None else []
    if not claims:
        return {}
    return {"eligibility": " ".join(claims), **dict.fromkeys(claims, True)}


def _personal(
    ctx: ToolContext,
    req: CatalogSearchRequest,
    words: str | None,
    item_filter: ItemFilter,
    uid: str,
    pid: str,
    *,
    offset: int,
    limit: int,
) -> tuple[list[Ranked], int, Interpreted, str]:
    """The buyer's order up to this page, and its length: the recommender's picks for them,
    then the search's (every page of one search is cut from the same order, so pages neither
    repeat nor skip an item)."""
    narrowed = None if item_filter.is_empty() else item_filter
    rec = ctx.recommend.recommend(
        RecommendRequest(
            recommender=PERSONAL_RECOMMENDER,
            individual=uid,
            query=words,
            limit=PERSONAL_HEAD,
            item_filter=narrowed,
            variables=_variables(req),
            request_id=pid,
            channel=ctx.channel,
        )
    )
    items = ctx.engine.state.items
    ranked = [Ranked(items[r.id], r.score, r.reason) for r in rec.items if r.id in items]
    seen = {r.item.id for r in ranked}
    # The search's order after them, as far as this page needs (each recommended item it holds
    # is skipped): the whole order is not built for every page.
    window = offset + limit + len(seen)
    rest = search_items(ctx.recommend, query=words, item_filter=narrowed, offset=0, limit=window)
    fetched = [h for h in rest.hits if h.item.id not in seen]
    ranked += [Ranked(h.item, h.score, None) for h in fetched]
    # Exact when the window held every match; else recommended items deeper in the search's
    # order are counted twice (at most PERSONAL_HEAD too many).
    total = len(seen) + rest.matched - (len(rest.hits) - len(fetched))
    read = rec.interpreted or rest.interpreted
    return ranked, max(total, len(ranked)), read, rec.recommender


def _exact_first(
    ctx: ToolContext,
    words: str | None,
    page: list[Ranked],
    offset: int,
    filters: ItemFilters,
    limit: int,
) -> list[Ranked]:
    """A query that is an item's id (an agent pasting 'm-42344') finds that item first."""
    exact = ctx.engine.state.items.get((words or "").strip())
    if exact is None or offset != 0 or filters.narrowing():
        return page
    best = max((r.score for r in page if r.score is not None), default=1.0)
    return [Ranked(exact, best, None)] + [r for r in page if r.item.id != exact.id][: limit - 1]
