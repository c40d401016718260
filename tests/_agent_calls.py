"""Calling the agent tools in-process as an agent would (arguments as JSON-like keywords,
validated and normalised by the action), shared by the query test modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from p13n.domain.recommend import Interpreted
from p13n.tools import ToolContext, get_action

__all__ = ["Found", "FoundItem", "ask", "search"]


def ask(ctx: ToolContext, **args: Any) -> Any:
    """get_recommendations"""
    return get_action("get_recommendations").invoke(ctx, args)


@dataclass(frozen=True)
class FoundItem:
    """A UCP product of a search answer, by the item fields the query tests judge."""

    id: str
    name: str
    brand: str | None
    category: str | None
    price: float
    score: float | None


@dataclass(frozen=True)
class Found:
    items: list[FoundItem]
    matched: int
    interpreted: Interpreted
    answer: dict[str, Any]


def search(
    ctx: ToolContext,
    *,
    query: str | None = None,
    limit: int | None = None,
    intent: str | None = None,
    **catalog: Any,
) -> Found:
    """search_catalog, the UCP catalog search: `query`, `intent` (`context.intent`), `limit`
    (`pagination.limit`) and any other member of the UCP request as keywords."""
    request = dict(catalog, query=query)
    if intent is not None:
        request["context"] = {**request.get("context", {}), "intent": intent}
    if limit is not None:
        request["pagination"] = {"limit": limit}
    out = get_action("search_catalog").invoke(ctx, {"catalog": request})
    answer: dict[str, Any] = out.model_dump(mode="json")
    assert answer["ucp"]["status"] == "success", answer.get("messages")
    items = [
        FoundItem(
            id=p["id"],
            name=p["title"],
            brand=(p.get("metadata") or {}).get("brand"),
            category=p["categories"][0]["value"] if p.get("categories") else None,
            price=p["price_range"]["min"]["amount"] / 100,
            score=(p.get("metadata") or {}).get("score"),
        )
        for p in answer["products"]
    ]
    return Found(
        items=items,
        matched=answer["pagination"]["total_count"],
        interpreted=Interpreted.model_validate(answer["personalization"]["interpreted"]),
        answer=answer,
    )
