"""Admin CRUD of recommender configs and `POST /recommendations` for trying them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from p13n.domain.errors import InvalidInput
from p13n.domain.recommend import RecommenderConfig, RecommendRequest
from p13n.domain.services import RecommendService
from p13n.server.bootstrap import build_recommend_service

router = APIRouter(tags=["recommenders"])


def get_recommend_service(request: Request) -> RecommendService:
    """The app's service (`app.state.recommend`, built in the lifespan by the composition
    root); built here on first use only for an app whose lifespan does not build it."""
    service: RecommendService | None = getattr(request.app.state, "recommend", None)
    if service is None:
        service = build_recommend_service(request.app.state.engine, request.app.state.settings)
        request.app.state.recommend = service
    return service


ServiceDep = Annotated[RecommendService, Depends(get_recommend_service)]


class RecommendationsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recommender: str
    individualId: str | None = None
    anchorId: str | None = None
    query: str | None = Field(default=None, max_length=500)
    limit: int | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    excludeSeen: bool = False
    requestId: str | None = None


@router.get("/admin/recommenders")
def list_recommenders(service: ServiceDep) -> list[RecommenderConfig]:
    return sorted(service.configs.values(), key=lambda c: c.name)


@router.get("/admin/recommenders/{name}")
def get_recommender(name: str, service: ServiceDep) -> RecommenderConfig:
    return service.get_config(name)


@router.put("/admin/recommenders/{name}")
def put_recommender(name: str, config: RecommenderConfig, service: ServiceDep) -> dict[str, Any]:
    if name != config.name:
        raise InvalidInput(
            f"the path says '{name}' but the body's name is '{config.name}'.",
            hint="Make them match.",
        )
    return {"name": name, "version": service.put_config(config)}


@router.delete("/admin/recommenders/{name}")
def delete_recommender(name: str, service: ServiceDep) -> dict[str, Any]:
    service.delete_config(name)
    return {"deleted": name}


@router.post("/recommendations")
async def recommendations(body: RecommendationsBody, service: ServiceDep) -> dict[str, Any]:
    request = RecommendRequest(
        recommender=body.recommender,
        individual=body.individualId,
        anchor=body.anchorId,
        query=body.query,
        limit=body.limit,
        variables=body.context,
        exclude_seen=body.excludeSeen,
        request_id=body.requestId,
    )
    result = await run_in_threadpool(service.recommend, request)
    return result.to_dict()
