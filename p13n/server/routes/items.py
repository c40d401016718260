"""Items: the item data graph, and admin upserts of catalog items."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest import Item
from p13n.server.routes.deps import EngineDep

router = APIRouter(tags=["items"])


class ItemBatch(BaseModel):
    items: list[Item] = Field(max_length=10_000)


@router.get("/items/{item_id}", responses={404: {"description": "no such item"}})
def get_item(item_id: str, engine: EngineDep) -> dict[str, Any]:
    """The item data graph: the item's fields plus its insights (views, sales, trending, co-views)."""
    item, graph = engine.get_item(item_id)
    return {**item.model_dump(mode="json"), "insights": graph.insights(engine.now()).model_dump()}


@router.put("/items/{item_id}", tags=["admin"])
def put_item(item_id: str, item: Item, engine: EngineDep) -> dict[str, Any]:
    """Create or replace one catalog item; the id in the path must match the body's."""
    if item.id != item_id:
        raise InvalidInput(
            f"the path says item '{item_id}' but the body says '{item.id}'.",
            hint="Make them match.",
        )
    engine.upsert_items([item])
    return {"upserted": 1, "id": item_id}


@router.post("/items:batch", tags=["admin"])
def post_items(batch: ItemBatch, engine: EngineDep) -> dict[str, Any]:
    """Create or replace up to 10,000 items in one transaction."""
    ids = [i.id for i in batch.items]
    if len(set(ids)) != len(ids):
        raise InvalidInput("the batch names the same item id twice.", hint="Send each item once.")
    return {"upserted": engine.upsert_items(batch.items)}
