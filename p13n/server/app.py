"""The FastAPI app factory; the lifespan builds the services once (`server/bootstrap.py`)
and closes them."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from p13n import __version__
from p13n.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    P13nError,
    PayloadTooLarge,
    StoreUnavailable,
)
from p13n.domain.services import Engine
from p13n.domain.store import store_fault
from p13n.server.auth import install_auth
from p13n.server.bootstrap import (
    build_jwt_verifier,
    build_services,
    model_state,
    warm_model_in_background,
)
from p13n.server.console import install_console
from p13n.server.http_errors import install_http_errors
from p13n.server.limits import install_limits
from p13n.server.mcp_http import mount_mcp, run_mcp
from p13n.server.metrics import install_metrics
from p13n.server.openapi import install_openapi
from p13n.server.routes import (
    actions,
    admin,
    analytics,
    audit,
    decisioning_admin,
    decisions,
    events,
    identity,
    items,
    privacy,
    profiles,
    recommenders,
    ucp,
)
from p13n.server.security_headers import SecurityHeaders
from p13n.server.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger("p13n")


# Seconds a client is told to wait after a 503 from the store (an operator has to act first).
STORE_RETRY_AFTER_S = 30


def _store_unavailable(exc: StoreUnavailable) -> JSONResponse:
    return JSONResponse(
        {"error": str(exc)},
        status_code=503,
        headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
    )


def _status(exc: P13nError) -> int:
    if isinstance(exc, PayloadTooLarge):
        return 413
    if isinstance(exc, InvalidInput):
        return 400
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, Forbidden):
        return 403
    return 400


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
    jwt_verifier = build_jwt_verifier(settings)  # a bad JWT setup fails here, before serving

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is None:  # a real server: the model loads while the services are built
            warm_model_in_background()
        services = await run_in_threadpool(
            build_services, settings, engine=engine, serving=True, jwt=jwt_verifier
        )
        app.state.services = services
        if services.owns_engine and settings.warm_profiles > 0:
            warmed = await run_in_threadpool(services.engine.warm_profiles, settings.warm_profiles)
            log.info("%d profiles loaded into the cache", warmed)
        if services.owns_engine:
            # Long-lived state (caches, snapshots, models) leaves the cyclic GC's scans, so
            # request-path collections stay short (the p99 tail of decisions).
            gc.collect()
            gc.freeze()
            services.warm_in_background()  # the query index, as `p13n mcp` does
        try:
            async with run_mcp(app, settings):  # MCP over HTTP at /mcp (server/mcp_http.py)
                yield
        finally:
            await run_in_threadpool(services.close)  # writes out the decision log

    app = FastAPI(
        title="p13n",
        version=__version__,
        description="Self-hosted personalization engine: events, profiles, items, insights, segments.",
        lifespan=lifespan,
    )
    install_auth(app)  # before any route: every route checks its scope (p13n/server/auth.py)
    install_limits(app, settings)  # then the public scope's rates; every request's time limit
    install_http_errors(app)  # 404, 405 (with a true Allow) and unreadable bodies as {"error"}
    install_openapi(app)  # credentials, shared statuses and the error body in /openapi.json
    app.state.settings = settings

    @app.exception_handler(P13nError)
    async def _domain_error(_: Request, exc: P13nError) -> JSONResponse:
        if isinstance(exc, StoreUnavailable):
            return _store_unavailable(exc)
        return JSONResponse({"error": str(exc)}, status_code=_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]}
            for e in exc.errors()[:10]
        ]
        summary = "; ".join(f"{d['field'] or 'body'}: {d['problem']}" for d in details)
        return JSONResponse(
            {"error": f"invalid request: {summary}", "details": details}, status_code=422
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        fault = store_fault(exc)  # a write refused outside SqlStore.transaction
        if fault is not None:
            log.warning("the store refused the work: %s", fault.message)
            return _store_unavailable(fault)
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(
            {
                "error": "unexpected server error; nothing from this call was stored. Retry, and report it if it repeats."
            },
            status_code=500,
        )

    @app.get("/health", tags=["meta"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__, "model": model_state()}

    # The decision routes come first: the router scans included routers in order, and they
    # are the hot path (issue 5); every router's paths are disjoint, so order changes nothing else.
    routers = (
        decisions,
        events,
        profiles,
        items,
        admin,
        identity,
        recommenders,
        decisioning_admin,
        actions,
        analytics,
        ucp,
        privacy,
        audit,
    )
    for module in routers:
        app.include_router(module.router)
    install_console(app)  # /console pages and / (p13n/server/console/)
    install_metrics(app)  # the middleware that counts and times requests, and GET /metrics
    app.add_middleware(SecurityHeaders)  # CSP, nosniff, framing and referrer on HTML answers
    mount_mcp(app)
    return app
