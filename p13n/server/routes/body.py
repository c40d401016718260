"""The one bounded request-body reader: a body over the route's limit is refused with 413 (from
the declared Content-Length before reading, or from the bytes read), never parsed into a slow
422; a client that hangs up mid-body is a 400, not a logged 500."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request
from starlette.requests import ClientDisconnect

from p13n.domain.errors import InvalidInput, PayloadTooLarge

__all__ = ["read_body", "read_json", "body_limit"]


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
