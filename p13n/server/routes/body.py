"""The one bounded request-body reader: a body over the route's limit is refused with 413 (from
the declared Content-Length before reading, or from the bytes read), never parsed into a slow
422; a client that hangs up mid-body is a 400, not a logged 500."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from p13n.domain.errors import InvalidInput, PayloadTooLarge

__all__ = ["body_limit", "read_body", "read_json", "read_model"]

M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, *, limit: int, hint: str) -> bytes:
    """The raw body, or PayloadTooLarge (`hint`: how to send less) past `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is {declared} bytes; at most {limit}.", hint=hint)
    try:
        body = await request.body()
    except ClientDisconnect:  # nobody to answer; a 400 rather than a logged 500
        raise InvalidInput("the client disconnected before sending the whole body.") from None
    if len(body) > limit:
        raise PayloadTooLarge(f"the request body is {len(body)} bytes; at most {limit}.", hint=hint)
    return body


async def read_json(
    request: Request, *, limit: int, hint: str, shape: str, empty: Any = None
) -> Any:
    """The body parsed as JSON; `empty` for a blank body when given, else InvalidInput whose
    hint (`shape`) says what to send, as for a body that is not JSON."""
    raw = await read_body(request, limit=limit, hint=hint)
    if empty is not None and not raw.strip():
        return empty
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"the body is not valid JSON ({exc.msg} at position {exc.pos}).", hint=shape
        ) from None


def body_limit(limit: int, *, hint: str) -> Callable[[Request], Awaitable[bytes]]:
    """A route dependency reading the body under `limit` first, so that FastAPI's own body
    parsing (which reuses the bytes read) never sees an oversized one."""

    async def _limited(request: Request) -> bytes:
        return await read_body(request, limit=limit, hint=hint)

    return _limited


async def read_model(request: Request, model: type[M], *, limit: int, hint: str) -> M:
    """The body validated as `model` in pydantic's strict mode: a JSON value of the wrong type
    (`0` for a boolean, `"5"` for a number, epoch seconds for a datetime) is refused, not
    coerced, as the published schema says. Errors are the 422 a declared body parameter gives;
    bytes that are not JSON are the same 422 (`json_invalid`)."""
    raw = await read_body(request, limit=limit, hint=hint)
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in errors], body=raw
        ) from None
