"""Admin CRUD for calculated insights and segments, their batch recomputation, and the history
of model training runs (`GET /admin/models`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from p13n.domain.errors import NotFound
from p13n.domain.insights import InsightDefinition
from p13n.domain.segments import SegmentDefinition
from p13n.domain.services import ModelRun, RunStatus, RunStore
from p13n.server.routes.config_router import config_router
from p13n.server.routes.deps import EngineDep, RecommendDep, get_engine

router = APIRouter(prefix="/admin", tags=["admin"])
D = TypeVar("D", InsightDefinition, SegmentDefinition)


def _named(definitions: Iterable[D], name: str, kind: str) -> D:
    for d in definitions:
        if d.name == name:
            return d
    raise NotFound(f"no {kind} '{name}'.", hint=f"GET /admin/{kind}s lists them.")


router.include_router(
    config_router(
        kind="insight",
        plural="insights",
        model=InsightDefinition,
        owner=get_engine,
        list_all=lambda engine: engine.state.insights,
        get_one=lambda engine, name: _named(engine.state.insights, name, "insight"),
        put=lambda engine, definition: engine.put_insight(definition),
        delete=lambda engine, name: engine.delete_insight(name),
        put_description="Create or replace an insight; its values are backfilled from the "
        "event log.",
        responses={
            "delete": {
                400: "a ratio insight still uses this insight (the message says which)",
                404: "no insight of that name",
            }
        },
    )
)


@router.post("/insights:recompute")
async def recompute_insights(engine: EngineDep) -> dict[str, Any]:
    """Recompute every insight as SQL over the event log and re-evaluate segments."""
    return {"profiles": await run_in_threadpool(engine.recompute_insights)}


router.include_router(
    config_router(
        kind="segment",
        plural="segments",
        model=SegmentDefinition,
        owner=get_engine,
        list_all=lambda engine: engine.state.segments,
        get_one=lambda engine, name: _named(engine.state.segments, name, "segment"),
        put=lambda engine, definition: engine.put_segment(definition),
        delete=lambda engine, name: engine.delete_segment(name),
        put_description="Create or replace a segment; membership is re-evaluated for everyone.",
    )
)


@router.post("/segments:recompute")
async def recompute_segments(engine: EngineDep) -> dict[str, Any]:
    return {"profiles": await run_in_threadpool(engine.recompute_segments)}


class ModelRuns(BaseModel):
    """The `p13n train` runs of this tenant, oldest first, and which one's model serves."""

    serving: str | None = Field(
        None, description="id of the newest promoted run (its model serves), None if none"
    )
    runs: list[ModelRun]


@router.get(
    "/models",
    response_model=ModelRuns,
    responses={
        401: {"description": "no credential, or an unknown one"},
        403: {"description": "the credential lacks the `admin` scope"},
    },
)
async def model_runs(service: RecommendDep) -> ModelRuns:
    """The history of `p13n train` runs: status (`promoted`, `kept`: validated below the serving
    model, `interrupted`, `failed`), the candidates' validation NDCG@10 / Recall@10 / coverage,
    the chosen parameters and notes. Empty when the tenant has never been trained."""
    folder = service.model_dir
    runs = await run_in_threadpool(RunStore(folder).list) if folder is not None else []
    promoted = [r.id for r in runs if r.status is RunStatus.PROMOTED]
    return ModelRuns(serving=promoted[-1] if promoted else None, runs=runs)
