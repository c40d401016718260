"""POST /events: one event or {"events": [...]}, each answered accepted / duplicate / rejected."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from p13n.domain.errors import InvalidInput, PayloadTooLarge
from p13n.domain.ingest import (
    FLOOD_CODE,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    FloodGuard,
    IngestReport,
)
from p13n.domain.services import Engine
from p13n.server.routes.body import read_json
from p13n.server.routes.deps import EngineDep, json_response

router = APIRouter(tags=["events"])

_EXAMPLE = {
    "events": [
        {
            "eventId": "e-1",
            "deviceId": "demo-device-1",
            "dateTime": "2026-11-28T10:00:00Z",
            "interaction": {
                "name": "View Catalog Object",
                "catalogObject": {"type": "Product", "id": "m-1"},
            },
            "consents": [{"provider": "site", "purpose": "Tracking", "status": "Opt In"}],
        },
        {
            "individualId": "crm-42",
            "interaction": "Purchase",
            "itemId": "m-1",
            "quantity": 1,
            "price": 20.0,
            "orderId": "o-9",
        },
    ]
}


# What the route reads: one event object, a list of them, or {"events": [...]}. The fields of
# an event are checked per event (each one answered accepted / duplicate / rejected), so the
# schema leaves them open; `p13n.domain.ingest` documents both shapes.
_EVENT: dict[str, Any] = {"type": "object", "description": "One event, SDK or flat shape."}
_BODY_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "required": ["events"],
            "properties": {"events": {"type": "array", "items": _EVENT, "maxItems": 1000}},
        },
        {"type": "array", "items": _EVENT, "minItems": 1, "maxItems": 1000},
        _EVENT,
    ]
}


def _events_of(body: Any) -> list[Any]:
    if isinstance(body, dict) and "events" in body:
        events = body["events"]
        if not isinstance(events, list):
            raise InvalidInput('"events" must be a list of event objects.')
        return events
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    raise InvalidInput('send one event object or {"events": [...]}.')


# A 400 or 429 of `POST /events` is the ingest report (per event) or the one error body.
_REPORT_OR_ERROR: dict[str, Any] = {
    "application/json": {
        "schema": {
            "anyOf": [
                {"$ref": "#/components/schemas/IngestReport"},
                {"$ref": "#/components/schemas/Error"},
            ]
        }
    }
}


@router.post(
    "/events",
    response_model=IngestReport,
    responses={
        400: {
            "description": "every event was rejected (the report says why, per event), or the "
            "body is not valid JSON or not events",
            "content": _REPORT_OR_ERROR,
        },
        413: {"description": "more than 1,000 events or 1 MB"},
        429: {
            "description": "past the public scope's rate per key or per client address (the "
            "error), or every event past its sender's events per minute (the report, each "
            "event rejected `flood`): retry after the time given",
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "required": True,
                    "schema": {"type": "string"},
                }
            },
            "content": _REPORT_OR_ERROR,
        },
        415: {"description": "not application/json"},
    },
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": _BODY_SCHEMA, "example": _EXAMPLE}},
            "required": True,
        }
    },
)
async def post_events(request: Request, engine: EngineDep) -> Response:
    """Ingest events in the SDK shape or the flat server-side shape.

    Each event is answered `accepted`, `duplicate` (its eventId was seen before) or `rejected`
    with a reason; good events in a batch are stored even when others are rejected. A 2xx means
    the accepted events are committed.
    """
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        return json_response(
            {"error": f"content type '{ctype or 'none'}' is not supported; send application/json."},
            status_code=415,
        )
    body = await read_json(
        request,
        limit=MAX_BATCH_BYTES,
        hint="Split it into smaller batches.",
        shape='Send one event object or {"events": [...]}.',
    )
    events = _events_of(body)
    if len(events) > MAX_BATCH_EVENTS:
        raise PayloadTooLarge(
            f"{len(events)} events in one call; the limit is {MAX_BATCH_EVENTS}.",
            hint="Split it into smaller batches.",
        )
    if not events:
        raise InvalidInput(
            "no events in the body.", hint='Send one event object or {"events": [...]}.'
        )
    report = await _run(engine, events)
    status = 400 if report.accepted == 0 and report.duplicates == 0 else 200
    if status == 400 and all(r.code == FLOOD_CODE for r in report.results):
        answer = json_response(report.model_dump(), status_code=429)  # wait for the next minute
        answer.headers["Retry-After"] = str(FloodGuard.seconds_to_next_window(engine.now()))
        return answer
    return json_response(report.model_dump(), status_code=status)


async def _run(engine: Engine, events: list[Any]) -> IngestReport:
    return await run_in_threadpool(functools.partial(engine.ingest, events, bounded=True))
