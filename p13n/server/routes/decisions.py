"""The Decisioning API of REFERENCE.md and the experiment assignment API.

The unauthenticated variants (`/personalization/decisions`, `/personalization/v1/decisions`)
answer without diagnostics and refuse a forced `decisionId` (HTTP 400, diagnostic 408); the
authenticated variants return diagnostics. A request naming no point is HTTP 400 (diagnostic
403); a body over 256 KB or more than 25 points is 413; a request body of the wrong shape 422.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from p13n.domain.decisions.assignment import AssignmentRequest
from p13n.domain.decisions.request import DecisionRequest
from p13n.domain.decisions.service import DecisionRejected, DecisionService
from p13n.domain.errors import PayloadTooLarge
from p13n.server.routes.deps import json_response

__all__ = ["router", "get_decision_service", "MAX_BODY_BYTES"]

router = APIRouter(tags=["decisions"])
MAX_BODY_BYTES = 256 * 1024


async def get_decision_service(request: Request) -> DecisionService:
    """The app's service (`app.state.decisions`, built in the lifespan by the composition root);
    built here on first use only for an app whose lifespan does not build it."""
    service: DecisionService | None = getattr(request.app.state, "decisions", None)
    if service is None:
        from p13n.server.bootstrap import build_decision_service
        from p13n.server.routes.recommenders import get_recommend_service

        recommend = await run_in_threadpool(get_recommend_service, request)
        service = build_decision_service(request.app.state.engine, recommend)
        request.app.state.decisions = service
    return service


ServiceDep = Annotated[DecisionService, Depends(get_decision_service)]


async def _limit_body(request: Request) -> None:
    """Refuse oversized bodies before they are parsed (413, not a slow 422)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"the request body is {declared} bytes; at most {MAX_BODY_BYTES}.",
            hint="Send fewer points or a smaller profile.",
        )
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is over {MAX_BODY_BYTES} bytes.")


LimitDep = Depends(_limit_body)


async def _decide(service: DecisionService, body: DecisionRequest, authenticated: bool) -> Response:
    try:
        # On the event loop: a decision is ~1 ms of CPU from in-memory state (a thread hop would
        # cost a fifth of that, and the GIL serializes the work anyway).
        response = service.decide(body, authenticated=authenticated)
    except DecisionRejected as exc:
        return json_response(
            {
                "error": str(exc),
                "personalizations": [],
                "diagnostics": [exc.diagnostic.model_dump()],
                "requestId": body.requestId or str(uuid.uuid4()),
            },
            status_code=400,
        )
    return json_response(response.public())


@router.post("/personalization/decisions", dependencies=[LimitDep])
async def decisions(body: DecisionRequest, service: ServiceDep) -> Response:
    """Decisions for browsers and apps (an anonymous device id); no diagnostics."""
    return await _decide(service, body, False)


@router.post("/personalization/v1/decisions", dependencies=[LimitDep], include_in_schema=False)
async def decisions_v1(body: DecisionRequest, service: ServiceDep) -> Response:
    return await _decide(service, body, False)


@router.post("/personalization/authenticated/decisions", dependencies=[LimitDep])
async def authenticated_decisions(body: DecisionRequest, service: ServiceDep) -> Response:
    """Decisions for servers and agents: diagnostics, forced decisionId, protected points."""
    return await _decide(service, body, True)


@router.post(
    "/personalization/v1/authenticated/decisions",
    dependencies=[LimitDep],
    include_in_schema=False,
)
async def authenticated_decisions_v1(body: DecisionRequest, service: ServiceDep) -> Response:
    return await _decide(service, body, True)


@router.post("/experimentation/v1/authenticated/assignment", dependencies=[LimitDep])
async def assignment(body: AssignmentRequest, service: ServiceDep) -> dict[str, Any]:
    """Cohorts of the named experiments for this visitor (sticky, deterministic)."""
    result = await run_in_threadpool(service.assign, body)
    return result.model_dump(mode="json")
