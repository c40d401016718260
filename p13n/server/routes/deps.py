"""Dependencies shared by routes: the app's services (built once by the composition root,
`server/bootstrap.py`, and held in `app.state.services`) and the JSON response helper.

Routes never build a service: each dependency below hands out one that already exists.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.responses import Response

from p13n.domain.services import (
    DecisionService,
    Engine,
    IdentityControl,
    IdentityService,
    RecommendService,
)
from p13n.server.bootstrap import AppServices

__all__ = [
    "DecisionsDep",
    "EngineDep",
    "IdentityControlDep",
    "IdentityServiceDep",
    "RecommendDep",
    "get_decision_service",
    "get_engine",
    "get_identity_control",
    "get_identity_service",
    "get_recommend_service",
    "get_services",
    "json_response",
]


def get_services(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


def get_engine(request: Request) -> Engine:
    return get_services(request).engine


def get_recommend_service(request: Request) -> RecommendService:
    return get_services(request).recommend


def get_decision_service(request: Request) -> DecisionService:
    return get_services(request).decisions


def get_identity_service(request: Request) -> IdentityService:
    return get_services(request).identity


def get_identity_control(request: Request) -> IdentityControl:
    return get_services(request).identity_control


EngineDep = Annotated[Engine, Depends(get_engine)]
RecommendDep = Annotated[RecommendService, Depends(get_recommend_service)]
DecisionsDep = Annotated[DecisionService, Depends(get_decision_service)]
IdentityServiceDep = Annotated[IdentityService, Depends(get_identity_service)]
IdentityControlDep = Annotated[IdentityControl, Depends(get_identity_control)]


def json_response(data: Any, status_code: int = 200) -> Response:
    """A JSON response serialized by orjson, for routes that choose their own status code."""
    return Response(orjson.dumps(data), status_code=status_code, media_type="application/json")
