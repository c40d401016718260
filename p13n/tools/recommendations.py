"""get_recommendations: the right items for one person (or nobody in particular), attributable.

The recommender is chosen from what the agent gives: an explicit `recommender`, else the
`objective` (`clicks` → recommended-for-you, `revenue` → revenue-for-you), else `similar-items`
with an anchor and `recommended-for-you` without. Every answer carries a `personalizationId`
and per item `personalizationContentId` = `<personalizationId>:<index>` (0-based, REFERENCE.md),
so that `record_interaction` can attribute what the person then does. `interpreted` says what
the query and the person's stated preferences were read as and how each part was applied; a
`limit` above the maximum is clamped and said there. When the decision service
is configured (`ToolContext.decisions`), the answer is written to its personalization log
(source `agent`, no point), like a decision.
"""

from __future__ import annotations

import time
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from p13n.domain.errors import InvalidInput, NotFound
from p13n.domain.recommend import MAX_LIMIT, Interpreted, RecommendRequest
from p13n.domain.services import LogEntry, LoggedContent
from p13n.tools.context import ToolContext
from p13n.tools.models import ItemCard, ItemFilters, RecommenderName, card_fields
from p13n.tools.people import resolve_person, unknown_person_note

__all__ = [
    "GetRecommendationsInput",
    "GetRecommendationsOutput",
    "RecommendedItemCard",
    "get_recommendations",
]

_OBJECTIVES = {"clicks": "recommended-for-you", "revenue": "revenue-for-you"}


class GetRecommendationsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    individual: str | None = Field(
        default=None,
        description="Who the items are for: a device id, individual id, unified id, email or "
        "phone. Omit for items that are not personalized.",
    )
    query: str | None = Field(
        default=None,
        max_length=500,
        description="What the person asked for in their words, e.g. 'waterproof boots under "
        "$100'. Brand, category, colour, size and audience words rank matching items first "
        "('only' makes them required); 'under'/'over' a price is required; the answer's "
        "`interpreted` says what was understood.",
    )
    anchor_item_id: str | None = Field(
        default=None,
        description="An item the person is looking at; recommends items related to it.",
    )
    recommender: RecommenderName | None = Field(
        default=None,
        description="A recommender by name (the store's names are listed; e.g. top-sellers, "
        "trending, similar-items). Leave empty to let the objective decide.",
    )
    objective: Literal["clicks", "revenue"] | None = Field(
        default=None,
        description="What to optimize when no recommender is named: 'clicks' (engagement) or "
        "'revenue'.",
    )
    filters: ItemFilters = Field(
        default_factory=ItemFilters, description="Conditions every item must meet."
    )
    limit: int = Field(
        default=6,
        ge=1,
        description=f"How many items (1-{MAX_LIMIT}; more is clamped to {MAX_LIMIT}).",
    )

    @model_validator(mode="after")
    def _one_chooser(self) -> GetRecommendationsInput:
        if self.recommender and self.objective:
            raise ValueError("give either recommender or objective, not both")
        return self


class RecommendedItemCard(ItemCard):
    rank: int = Field(description="1-based position in this answer.")
    reason: str = Field(description="One line on why this item was chosen.")
    personalizationContentId: str = Field(  # noqa: N815 - the contract's field name
        description="Pass to record_interaction when this item is shown, clicked or carted."
    )


class GetRecommendationsOutput(BaseModel):
    personalizationId: str = Field(  # noqa: N815 - the contract's field name
        description="Id of this answer; pass it to record_interaction to attribute outcomes."
    )
    recommender: str = Field(description="The recommender that produced the items.")
    individual: str | None = Field(description="The person's unified id, or null if anonymous.")
    items: list[RecommendedItemCard] = Field(description="The items, best first.")
    note: str | None = Field(
        default=None, description="Anything the agent should know (e.g. fewer items than asked)."
    )
    interpreted: Interpreted = Field(
        description="What the query and the person's stated preferences were read as, how "
        "each was applied (soft ranks, hard filters), what was loosened or clamped."
    )


def _recommender(data: GetRecommendationsInput) -> str:
    if data.recommender:
        return data.recommender
    if data.objective:
        return _OBJECTIVES[data.objective]
    return "similar-items" if data.anchor_item_id else "recommended-for-you"


def get_recommendations(
    ctx: ToolContext, data: GetRecommendationsInput
) -> GetRecommendationsOutput:
    started = time.perf_counter()
    uid = resolve_person(ctx, data.individual) if data.individual else None
    if data.anchor_item_id is not None and data.anchor_item_id not in ctx.engine.state.items:
        raise NotFound(
            f"no item '{data.anchor_item_id}' to use as the anchor.",
            hint="Use search_catalog to find the item's id, or call without anchor_item_id.",
        )
    name = _recommender(data)
    personalization_id = str(uuid.uuid4())
    item_filter = data.filters.to_domain()
    limit, clamped = data.limit, []
    if limit > MAX_LIMIT:
        limit = MAX_LIMIT
        clamped.append(f"limit {data.limit} is over the maximum of {MAX_LIMIT}; {MAX_LIMIT} used")
    result = ctx.recommend.recommend(
        RecommendRequest(
            recommender=name,
            individual=uid,
            anchor=data.anchor_item_id,
            query=data.query,
            limit=limit,
            item_filter=None if item_filter.is_empty() else item_filter,
            request_id=personalization_id,
            channel=ctx.channel,
        )
    )
    if not result.items and data.filters.narrowing():
        raise InvalidInput(
            f"no item matches the filters ({item_filter.describe()}).",
            hint="Widen the price range, drop a category or brand, or call search_catalog "
            "to see what the catalog has.",
        )
    items = []
    for rec in result.items:
        items.append(
            RecommendedItemCard(
                **card_fields(ctx.engine.state.items[rec.id]),
                rank=rec.rank,
                reason=rec.reason,
                personalizationContentId=f"{personalization_id}:{rec.rank - 1}",
            )
        )
    notes = []
    if data.individual and uid is None:
        notes.append(unknown_person_note(data.individual))
    if len(items) < limit:
        notes.append(f"{len(items)} of {limit} items: nothing else qualified.")
    note = " ".join(notes) or None
    read = result.interpreted or Interpreted(query=data.query, search_text=None, currency=None)
    output = GetRecommendationsOutput(
        personalizationId=personalization_id,
        recommender=result.recommender,
        individual=uid,
        items=items,
        note=note,
        interpreted=read.model_copy(update={"clamped": [*read.clamped, *clamped]}),
    )
    _log(ctx, output, data.individual, started)
    return output


def _log(
    ctx: ToolContext, out: GetRecommendationsOutput, individual: str | None, started: float
) -> None:
    log = ctx.decisions.log if ctx.decisions is not None else None
    if log is None:
        return
    total_ms = round((time.perf_counter() - started) * 1000, 3)
    log.record(
        LogEntry(
            personalization_id=out.personalizationId,
            request_id=out.personalizationId,
            ts=ctx.engine.now(),
            recommender=out.recommender,
            individual_id=individual,
            unified_id=out.individual,
            channel=ctx.channel,
            source="agent",
            content=[LoggedContent(i.personalizationContentId, i.id, i.rank) for i in out.items],
            personalizing_ms=total_ms,
            total_ms=total_ms,
        )
    )
