"""POST /actions/{name}: the agent actions of `p13n/tools` over plain HTTP (scope `agent`).

The body is the action's input (validated by its pydantic model; a bad field is a 400 naming
it), the answer its output. `GET /actions` lists the actions with their schemas and hints.
Personal data is masked unless the caller's key has the `pii` scope, as over MCP.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Principal
from p13n.domain.errors import InvalidInput
from p13n.domain.ingest import MAX_BATCH_BYTES
from p13n.server.auth import current_principal
from p13n.server.routes.body import read_json
from p13n.server.routes.deps import get_services, json_response
from p13n.tools import ACTIONS, get_action

router = APIRouter(tags=["actions"])


@router.get("/actions")
def list_actions(
    principal: Annotated[Principal | None, Depends(current_principal)], strict: bool = False
) -> dict[str, Any]:
    """Every action the caller may call (a key limited to some tools sees those) with its
    description, input and output JSON schemas, and hints; `strict`: the input schemas in the
    form OpenAI's and Anthropic's strict tool calling accept."""
    return {
        "actions": [
            {
                "name": a.name,
                "title": a.title,
                "description": a.description,
                "input_schema": a.input_schema(strict=strict),
                "output_schema": a.output_model.model_json_schema(mode="serialization"),
                "hints": a.hints.model_dump(),
            }
            for a in ACTIONS
            if principal is None or principal.may_call(a.name)
        ]
    }


@router.post(
    "/actions/{name}",
    responses={
        400: {
            "description": "invalid arguments, or something the caller can fix (the message says what)"
        },
        404: {"description": "no such action, person or item"},
        413: {"description": "a body over 1 MB"},
    },
)
async def run_action(
    name: str,
    request: Request,
    principal: Annotated[Principal | None, Depends(current_principal)],
) -> Response:
    """Run one action with the JSON body as its arguments (`GET /actions` has the schemas)."""
    action = get_action(name)
    body = await read_json(
        request,
        limit=MAX_BATCH_BYTES,
        hint="Send fewer or smaller arguments.",
        shape="Send a JSON object with the action's arguments.",
        empty={},
    )
    if not isinstance(body, dict):
        raise InvalidInput(
            f"the body must be a JSON object of arguments, got {type(body).__name__}.",
            hint='Send e.g. {"individual": "..."}; GET /actions lists each action\'s fields.',
        )
    ctx = get_services(request).tool_context(principal)
    return json_response(await run_in_threadpool(action.answer, ctx, body))
