"""GET /profiles/{identifier}: the profile data graph by any identifier."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from p13n.server.routes.deps import EngineDep

router = APIRouter(tags=["profiles"])


@router.get(
    "/profiles/{identifier}", responses={404: {"description": "nobody known by that identifier"}}
)
def get_profile(identifier: str, engine: EngineDep) -> dict[str, Any]:
    """The profile graph for a device id, individual id, unified id, email or phone."""
    return engine.get_profile(identifier).public()
