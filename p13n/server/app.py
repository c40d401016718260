"""The FastAPI app factory; the lifespan opens and closes the engine."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from p13n import __version__
from p13n.domain.engine import Engine
from p13n.domain.errors import Conflict, InvalidInput, NotFound, P13nError, PayloadTooLarge
from p13n.server.bootstrap import build_engine, build_recommend_service
from p13n.server.routes import admin, events, identity, items, profiles, recommenders
from p13n.server.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger("p13n")


def _status(exc: P13nError) -> int:
    if isinstance(exc, PayloadTooLarge):
        return 413
    if isinstance(exc, InvalidInput):
        return 400
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    return 400


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = engine is None
        app.state.engine = engine or build_engine(settings)
        app.state.recommend = build_recommend_service(app.state.engine, settings)
        if owned and settings.warm_profiles > 0:
            warmed = await run_in_threadpool(app.state.engine.warm_profiles, settings.warm_profiles)
            log.info("%d profiles loaded into the cache", warmed)
        try:
            yield
        finally:
            if owned:
                app.state.engine.close()

    app = FastAPI(
        title="p13n",
        version=__version__,
        description="Self-hosted personalization engine: events, profiles, items, insights, segments.",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.exception_handler(P13nError)
    async def _domain_error(_: Request, exc: P13nError) -> JSONResponse:
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
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(
            {
                "error": "unexpected server error; nothing from this call was stored. Retry, and report it if it repeats."
            },
            status_code=500,
        )

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    routers = (events, profiles, items, admin, identity, recommenders)
    for module in routers:
        app.include_router(module.router)
    return app
