"""Catalog search: semantic (MiniLM over the serving vector index) and filtered, not personalized.

With a query, items come in order of similarity to it (the query's price, brand and category
words become filters, as in recommendations); without one, filtered items come most viewed in
the last 30 days first. Pages are offsets into that order, at most `MAX_RESULTS` deep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest import Item
from p13n.domain.recommend import ItemFilter, parse_query, single_threaded_blas
from p13n.domain.services.recommend_service import RecommendService

__all__ = ["SearchHit", "SearchPage", "search_items", "MAX_RESULTS"]

MAX_RESULTS = 500


@dataclass(frozen=True)
class SearchHit:
    item: Item
    score: float | None


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    matched: int
    next_offset: int | None


def search_items(
    service: RecommendService,
    *,
    query: str | None,
    item_filter: ItemFilter | None = None,
    offset: int = 0,
    limit: int = 10,
) -> SearchPage:
    """One page of results; `matched` counts the results reachable by paging (≤ MAX_RESULTS)."""
    if offset < 0 or limit < 1:
        raise InvalidInput(
            f"offset must be ≥ 0 and limit ≥ 1, got {offset} and {limit}.",
            hint="Start at offset 0 (no cursor) and ask for at least one item.",
        )
    with single_threaded_blas():
        return _search(service, query, item_filter, offset, limit)


def _search(
    service: RecommendService,
    query: str | None,
    item_filter: ItemFilter | None,
    offset: int,
    limit: int,
) -> SearchPage:
    snap, lookup, vocab = service.serving_state()
    mask = item_filter.mask(snap) if item_filter is not None else None
    if query and query.strip():
        parsed = parse_query(query, vocab)
        if vocab is not None:
            qmask = parsed.mask(snap, vocab)
            if qmask is not None:
                mask = qmask if mask is None else mask & qmask
        if service.vectors is None or lookup is None:
            raise InvalidInput(
                "semantic search needs item embeddings, which are not configured here.",
                hint="Run with the vector store enabled (the default) and `p13n train` once, "
                "or search without a query.",
            )
        vector = service.vectors.embed_query(parsed.text)
        rows, sims = lookup.nearest(vector, MAX_RESULTS, mask)
        order = [int(r) for r in rows]
        scores: list[float | None] = [round(float(s), 6) for s in sims]
    else:
        allowed = np.flatnonzero(mask) if mask is not None else np.arange(len(snap))
        views = snap.insights.get("views_30d")
        if views is not None and len(allowed):
            allowed = allowed[np.argsort(-np.nan_to_num(views[allowed]), kind="stable")]
        order = allowed[:MAX_RESULTS].tolist()
        scores = [None] * len(order)
    page = range(offset, min(offset + limit, len(order)))
    hits = [SearchHit(item=snap.items[order[k]], score=scores[k]) for k in page]
    more = offset + limit < len(order)
    return SearchPage(hits=hits, matched=len(order), next_offset=offset + limit if more else None)
