"""Admin CRUD for calculated insights and segments, and their batch recomputation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from p13n.domain.errors import InvalidInput, NotFound
from p13n.domain.insights import InsightDefinition
from p13n.domain.segments import SegmentDefinition
from p13n.domain.services import Engine
from p13n.server.routes.deps import get_engine

router = APIRouter(prefix="/admin", tags=["admin"])
EngineDep = Annotated[Engine, Depends(get_engine)]


def _same_name(path: str, body: str) -> None:
    if path != body:
        raise InvalidInput(
            f"the path says '{path}' but the body's name is '{body}'.", hint="Make them match."
        )


@router.get("/insights")
def list_insights(engine: EngineDep) -> list[InsightDefinition]:
    return engine.state.insights


@router.get("/insights/{name}")
def get_insight(name: str, engine: EngineDep) -> InsightDefinition:
    for d in engine.state.insights:
        if d.name == name:
            return d
    raise NotFound(f"no insight '{name}'.", hint="GET /admin/insights lists them.")


@router.put("/insights/{name}")
async def put_insight(
    name: str, definition: InsightDefinition, engine: EngineDep
) -> dict[str, Any]:
    """Create or replace an insight; its values are backfilled from the event log."""
    _same_name(name, definition.name)
    version = await run_in_threadpool(engine.put_insight, definition)
    return {"name": name, "version": version}


@router.delete("/insights/{name}")
def delete_insight(name: str, engine: EngineDep) -> dict[str, Any]:
    engine.delete_insight(name)
    return {"deleted": name}


@router.post("/insights:recompute")
async def recompute_insights(engine: EngineDep) -> dict[str, Any]:
    """Recompute every insight as SQL over the event log and re-evaluate segments."""
    return {"profiles": await run_in_threadpool(engine.recompute_insights)}


@router.get("/segments")
def list_segments(engine: EngineDep) -> list[SegmentDefinition]:
    return engine.state.segments


@router.get("/segments/{name}")
def get_segment(name: str, engine: EngineDep) -> SegmentDefinition:
    for d in engine.state.segments:
        if d.name == name:
            return d
    raise NotFound(f"no segment '{name}'.", hint="GET /admin/segments lists them.")


@router.put("/segments/{name}")
async def put_segment(
    name: str, definition: SegmentDefinition, engine: EngineDep
) -> dict[str, Any]:
    """Create or replace a segment; membership is re-evaluated for everyone."""
    _same_name(name, definition.name)
    version = await run_in_threadpool(engine.put_segment, definition)
    return {"name": name, "version": version}


@router.delete("/segments/{name}")
async def delete_segment(name: str, engine: EngineDep) -> dict[str, Any]:
    await run_in_threadpool(engine.delete_segment, name)
    return {"deleted": name}


@router.post("/segments:recompute")
async def recompute_segments(engine: EngineDep) -> dict[str, Any]:
    return {"profiles": await run_in_threadpool(engine.recompute_segments)}
