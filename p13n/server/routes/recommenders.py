"""Admin CRUD of recommender configs and `POST /recommendations` for trying them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from p13n.domain.recommend import RecommenderConfig, RecommendRequest
from p13n.server.routes.config_router import config_router
from p13n.server.routes.deps import RecommendDep, get_recommend_service

router = APIRouter(tags=["recommenders"])


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


router.include_router(
    config_router(
        kind="recommender",
        plural="recommenders",
        model=RecommenderConfig,
        owner=get_recommend_service,
        list_all=lambda service: sorted(service.configs.values(), key=lambda c: c.name),
        get_one=lambda service, name: service.get_config(name),
        put=lambda service, config: service.put_config(config),
        delete=lambda service, name: service.delete_config(name),
        responses={
            "put": {
                400: "the path and the body name different recommenders, or its fallback is "
                "unknown or loops"
            },
            "delete": {
                404: "no recommender of that name",
                409: "another recommender falls back to this one (the message says which)",
            },
        },
    ),
    prefix="/admin",
)


@router.post(
    "/recommendations",
    responses={404: {"description": "no recommender, person or anchor item of that name"}},
)
async def recommendations(body: RecommendationsBody, service: RecommendDep) -> dict[str, Any]:
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
