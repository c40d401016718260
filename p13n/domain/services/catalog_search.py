"""Catalog search: hybrid (MiniLM over the serving vector index plus BM25) and filtered, the
same for everyone.

With a query, the query is read like a recommendation's (`interpret`: price bounds filter,
brand, category, colour, size and audience words rank) and the hybrid pool comes in order of
the blend without the person; without one, filtered items come most viewed in the last 30
days first. Pages are offsets into that order, at most `MAX_RESULTS` deep. When no item meets
a hardened price, it is loosened and the answer says so in `interpreted`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest import Item
from p13n.domain.recommend import Interpreted, ItemFilter, Scored, Tastes, single_threaded_blas
from p13n.domain.services.query_reading import (
    QueryIndex,
    hard_mask,
    interpreted,
    relax,
    relaxed_note,
    retrieve,
)
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
    interpreted: Interpreted


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


def _browse(index: QueryIndex, mask: np.ndarray | None) -> list[int]:
    snap = index.snap
    allowed = np.flatnonzero(mask) if mask is not None else np.arange(len(snap))
    views = snap.insights.get("views_30d")
    if views is not None and len(allowed):
        allowed = allowed[np.argsort(-np.nan_to_num(views[allowed]), kind="stable")]
    return [int(r) for r in allowed[:MAX_RESULTS].tolist()]


def _search(
    service: RecommendService,
    query: str | None,
    item_filter: ItemFilter | None,
    offset: int,
    limit: int,
) -> SearchPage:
    index = service.serving_state()
    snap = index.snap
    base = item_filter.mask(snap) if item_filter is not None else None
    reading = None
    if query and query.strip():
        if service.vectors is None or index.lookup is None:
            raise InvalidInput(
                "semantic search needs item embeddings, which are not configured here.",
                hint="Run with the vector store enabled (the default) and `p13n train` once, "
                "or search without a query.",
            )
        reading = index.read(query)
    relaxed: list[str] = []
    while True:
        mask = hard_mask(index, reading.hard, base) if reading is not None else base
        scores: list[float | None]
        if reading is not None and reading.interpreted.search_text:
            blend = retrieve(
                index, reading, mask, Tastes(), pool=MAX_RESULTS, weights=service.weights
            )
            values = blend.apply(Scored(np.full(len(snap), -np.inf), lambda r: "")).scores
            rows = blend.rows
            ranked = np.lexsort((rows, -values[rows]))[:MAX_RESULTS]
            order = [int(r) for r in rows[ranked].tolist()]
            scores = [round(float(s), 6) for s in values[rows[ranked]].tolist()]
        else:
            order = _browse(index, mask)
            scores = [None] * len(order)
        if reading is None or order:
            break
        loosened = relax(reading)
        if loosened is None:
            break
        relaxed.append(relaxed_note(loosened, len(order)))
    page = range(offset, min(offset + limit, len(order)))
    hits = [SearchHit(item=snap.items[order[k]], score=scores[k]) for k in page]
    more = offset + limit < len(order)
    shown = [order[k] for k in page]
    return SearchPage(
        hits=hits,
        matched=len(order),
        next_offset=offset + limit if more else None,
        interpreted=interpreted(index, query, reading, (), shown, relaxed),
    )
