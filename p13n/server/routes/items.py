"""Items: the item data graph, and admin upserts of catalog items.

The upserts read their bodies in pydantic's strict mode (`read_model`): a wrong-typed field
(`"in_stock": 0`, `"price": "5"`) is a 422, not coerced into the catalog.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest import Item
from p13n.server.openapi import request_body
from p13n.server.routes.body import read_model
from p13n.server.routes.deps import EngineDep

router = APIRouter(tags=["items"])

MAX_BATCH_ITEMS = 10_000
MAX_ITEMS_BYTES = 64 * 1024 * 1024
_HINT = f"Send at most {MAX_BATCH_ITEMS:,} items and {MAX_ITEMS_BYTES // 2**20} MB per call."


class ItemBatch(BaseModel):
    items: list[Item] = Field(max_length=MAX_BATCH_ITEMS)


@router.get("/items/{item_id}", responses={404: {"description": "no such item"}})
def get_item(item_id: str, engine: EngineDep) -> dict[str, Any]:
    """The item data graph: the item's fields plus its insights (views, sales, trending, co-views)."""
    item, graph = engine.get_item(item_id)
    return {**item.model_dump(mode="json"), "insights": graph.insights(engine.now()).model_dump()}


@router.put(
    "/items/{item_id}",
    tags=["admin"],
    openapi_extra=request_body(Item),
    responses={
        400: {"description": "the path and the body name different items"},
        413: {"description": f"a body over {MAX_ITEMS_BYTES // 2**20} MB"},
    },
)
async def put_item(item_id: str, request: Request, engine: EngineDep) -> dict[str, Any]:
    """Create or replace one catalog item; the id in the path must match the body's."""
    item = await read_model(request, Item, limit=MAX_ITEMS_BYTES, hint=_HINT)
    if item.id != item_id:
        raise InvalidInput(
            f"the path says item '{item_id}' but the body says '{item.id}'.",
            hint="Make them match.",
        )
    await run_in_threadpool(engine.upsert_items, [item])
    return {"upserted": 1, "id": item_id}


@router.post(
    "/items:batch",
    tags=["admin"],
    openapi_extra=request_body(ItemBatch),
    responses={
        400: {"description": "the batch names the same item id twice"},
        413: {"description": f"a body over {MAX_ITEMS_BYTES // 2**20} MB"},
    },
)
async def post_items(request: Request, engine: EngineDep) -> dict[str, Any]:
    """Create or replace up to 10,000 items in one transaction."""
    batch = await read_model(request, ItemBatch, limit=MAX_ITEMS_BYTES, hint=_HINT)
    ids = [i.id for i in batch.items]
    if len(set(ids)) != len(ids):
        raise InvalidInput("the batch names the same item id twice.", hint="Send each item once.")
    return {"upserted": await run_in_threadpool(engine.upsert_items, batch.items)}
