"""Limits the server keeps for every caller: a rate for the public scope (per key and per client
address, on by default), and a time limit for every request. Defaults and settings are in
README ("Limits").

Public scope: the key of `POST /events` and the unauthenticated decision routes sits in web
pages and apps, so anyone can copy it. Two token buckets guard those routes: one per key (all
of a site's visitors together: a high rate) and one per client address (one browser, one
NAT: a low one); a request past either is 429 with `Retry-After` (on the decision routes with
the Decisioning API's diagnostic 406 TOO_MANY_REQUESTS). The client address is what the
server sees (`request.client`): behind a proxy, run uvicorn's proxy-headers handling
(`--forwarded-allow-ips`) so it is the visitor's, not the proxy's.

Time: a request still unanswered after `P13N_REQUEST_TIMEOUT_S` is answered 503 with
`Retry-After` (the work it started may still finish: an event sent again is recognized by its
eventId). `/mcp` streams are exempt (an open event stream lasts as long as its session).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from p13n.domain.access import Principal, RateLimiter
from p13n.domain.access import Scope as AccessScope
from p13n.domain.decisions import diagnostic
from p13n.server.auth import scope_for
from p13n.server.settings import Settings

__all__ = ["PublicLimits", "RequestTimeout", "install_limits"]

_DECISION_PATHS = ("/personalization/decisions", "/personalization/v1/decisions")


class _RateLimited(Exception):
    def __init__(self, message: str, retry_after: int, *, decision: bool) -> None:
        super().__init__(message)
        self.message, self.retry_after, self.decision = message, retry_after, decision


class PublicLimits:
    """The two buckets of the public scope; a rate of 0 turns one off."""

    def __init__(self, per_key: float, per_address: float) -> None:
        self.per_key = RateLimiter(per_key, burst=2 * per_key) if per_key > 0 else None
        self.per_address = (
            RateLimiter(per_address, burst=2 * per_address) if per_address > 0 else None
        )

    def refusal(self, key: str, address: str) -> tuple[str, int] | None:
        """(why, seconds to wait) when the caller is past a rate, else None."""
        for limiter, caller, what in (
            (self.per_key, key, "this API key"),
            (self.per_address, address, "this client address"),
        ):
            if limiter is not None and not limiter.allow(caller):
                wait = max(1, math.ceil(limiter.retry_after(caller)))
                return f"too many requests from {what}; retry in {wait} s.", wait
        return None


async def _check_public(request: Request) -> None:
    """The app-level dependency after authentication: public-scope routes count here."""
    if scope_for(request.scope["path"], request.scope["method"]) is not AccessScope.PUBLIC:
        return
    limits: PublicLimits = request.app.state.public_limits
    principal: Principal | None = getattr(request.state, "principal", None)
    key = principal.subject if principal is not None else "anonymous"
    address = request.client.host if request.client is not None else "unknown"
    refused = limits.refusal(key, address)
    if refused is not None:
        why, wait = refused
        raise _RateLimited(why, wait, decision=request.scope["path"] in _DECISION_PATHS)


async def _rate_limited(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, _RateLimited)
    body: dict[str, Any] = {"error": exc.message}
    if exc.decision:
        body |= {
            "personalizations": [],
            "diagnostics": [diagnostic(406).model_dump()],
            "requestId": str(uuid.uuid4()),
        }
    return Response(
        orjson.dumps(body),
        status_code=429,
        media_type="application/json",
        headers={"Retry-After": str(exc.retry_after)},
    )


class RequestTimeout:
    """ASGI middleware: 503 with Retry-After for an HTTP request unanswered after `seconds`
    (when its answer has not started; a started answer is left to finish)."""

    def __init__(self, app: ASGIApp, *, seconds: float, exempt: tuple[str, ...] = ("/mcp",)):
        self.app, self.seconds, self.exempt = app, seconds, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0 or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, tracked), self.seconds)
        except TimeoutError:
            if started:
                raise
            limit = f"{self.seconds:g}"
            body = orjson.dumps(
                {
                    "error": f"the request took longer than {limit} s (P13N_REQUEST_TIMEOUT_S) "
                    "and was answered early; its work may still complete. Retry later: an "
                    "event sent again is recognized by its eventId."
                }
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", b"5"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


def install_limits(app: FastAPI, settings: Settings) -> None:
    """The public-scope rate (after `install_auth`: it needs the caller) and the time limit."""
    app.state.public_limits = PublicLimits(
        settings.public_key_per_second, settings.public_address_per_second
    )
    app.router.dependencies.append(Depends(_check_public))
    app.add_exception_handler(_RateLimited, _rate_limited)
    app.add_middleware(RequestTimeout, seconds=settings.request_timeout_s)
