"""The Decisioning API of REFERENCE.md and the experiment assignment API.

The unauthenticated variants (`/personalization/decisions`, `/personalization/v1/decisions`)
answer without diagnostics and refuse a forced `decisionId` (HTTP 400, diagnostic 408); the
authenticated variants return diagnostics. A request naming no point is HTTP 400 (diagnostic
403); a body over 256 KB or more than 25 points is 413; a request body of the wrong shape 422.

The decision routes are the hot path (issue 5: ≥ 2,000 decisions/s on one process), so they
take the raw `Request` and do in one function what FastAPI's per-route machinery would do in
several: read the body once (refusing oversized ones), validate it with pydantic's JSON parser
(`model_validate_json`, no intermediate dict), and answer orjson bytes. Wrong shapes raise the
same `RequestValidationError` (locations under `body`) as a declared body parameter would, so
the 422 answer is unchanged; the OpenAPI document still shows the request schema (inlined via
`openapi_extra`). Profiling (bench/decisions.py) showed the dependency resolution and the
dict-then-model parsing costing about as much as a cached decision itself.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Principal
from p13n.domain.decisions import AssignmentRequest, DecisionRequest, diagnostic
from p13n.domain.errors import DecisionRejected
from p13n.server.openapi import body_schema
from p13n.server.routes.body import body_limit, read_body
from p13n.server.routes.deps import DecisionsDep, get_decision_service, get_services, json_response
from p13n.tools import inline_refs

__all__ = ["router", "MAX_BODY_BYTES"]

router = APIRouter(tags=["decisions"])
MAX_BODY_BYTES = 256 * 1024


_HINT = "Send fewer points or a smaller profile."
LimitDep = Depends(body_limit(MAX_BODY_BYTES, hint=_HINT))


def _parse(body: bytes) -> DecisionRequest:
    """The request, or the 422 a declared `DecisionRequest` body parameter would give."""
    try:
        return DecisionRequest.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in errors], body=body
        ) from None


def _body_doc(*, authenticated: bool) -> dict[str, Any]:
    """The request schema, saying what the Decisioning API requires beyond the model's types:
    at least one point (none is HTTP 400 with diagnostic 403 NO_POINTS_REQUEST), and a forced
    `decisionId` only on the authenticated variant (else HTTP 400, diagnostic 408)."""
    schema = inline_refs(DecisionRequest.model_json_schema())
    schema["required"] = sorted({*schema.get("required", []), "personalizationPoints"})
    points = schema["properties"]["personalizationPoints"]
    points["minItems"] = 1
    if not authenticated:
        points["items"]["properties"].pop("decisionId", None)
    return body_schema(schema)


def _too_many(request: Request) -> Response | None:
    """406 TOO_MANY_REQUESTS (HTTP 429) when the caller is past `P13N_DECISIONS_PER_SECOND`."""
    limiter = get_services(request).decision_limiter
    if limiter is None:
        return None
    principal: Principal | None = getattr(request.state, "principal", None)
    caller = principal.subject if principal is not None else "anonymous"
    if limiter.allow(caller):
        return None
    wait = max(1, math.ceil(limiter.retry_after(caller)))
    answer = json_response(
        {
            "error": f"too many decision requests for this credential; retry in {wait} s.",
            "personalizations": [],
            "diagnostics": [diagnostic(406).model_dump()],
            "requestId": str(uuid.uuid4()),
        },
        status_code=429,
    )
    answer.headers["Retry-After"] = str(wait)
    return answer


async def _decide(request: Request, authenticated: bool) -> Response:
    refused = _too_many(request)
    if refused is not None:
        return refused
    body = _parse(await read_body(request, limit=MAX_BODY_BYTES, hint=_HINT))
    service = get_decision_service(request)
    try:
        # On the event loop: a decision is ~1 ms of CPU from in-memory state (a thread hop would
        # cost a fifth of that, and the GIL serializes the work anyway).
        response = service.decide(body, authenticated=authenticated)
    except DecisionRejected as exc:
        return json_response(
            {
                "error": str(exc),
                "personalizations": [],
                "diagnostics": [diagnostic(exc.code).model_dump()],
                "requestId": body.requestId or str(uuid.uuid4()),
            },
            status_code=400,
        )
    return json_response(response.public(), status_code=503 if response.timed_out else 200)


@router.post("/personalization/decisions", openapi_extra=_body_doc(authenticated=False))
async def decisions(request: Request) -> Response:
    """Decisions for browsers and apps (an anonymous device id); no diagnostics."""
    return await _decide(request, False)


@router.post("/personalization/v1/decisions", include_in_schema=False)
async def decisions_v1(request: Request) -> Response:
    return await _decide(request, False)


@router.post(
    "/personalization/authenticated/decisions", openapi_extra=_body_doc(authenticated=True)
)
async def authenticated_decisions(request: Request) -> Response:
    """Decisions for servers and agents: diagnostics, forced decisionId, protected points."""
    return await _decide(request, True)


@router.post("/personalization/v1/authenticated/decisions", include_in_schema=False)
async def authenticated_decisions_v1(request: Request) -> Response:
    return await _decide(request, True)


@router.post("/experimentation/v1/authenticated/assignment", dependencies=[LimitDep])
async def assignment(body: AssignmentRequest, service: DecisionsDep) -> dict[str, Any]:
    """Cohorts of the named experiments for this visitor (sticky, deterministic)."""
    result = await run_in_threadpool(service.assign, body)
    return result.model_dump(mode="json")
