"""The console: server-rendered pages (Jinja2 + htmx, uPlot for time series) at /console,
served by `p13n serve` in the same process.

Thin routes over the services of `AppServices` and the tools registry, never their own SQL.
Access: an API key signs in (`session.py`); every page asks the same scope the matching API
route asks (Overview `analyst`, People `decide`, the playground `agent`; Keys, points &
decisions, recommenders, segments and insights `admin`), so the console never lets a key do
more than it could with curl. The bearer-token check of `server/auth.py` leaves
these paths to the console (`auth.SESSION_PATHS`).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from p13n.server.console import (
    pages_attribution,
    pages_audit,
    pages_auth,
    pages_decisioning,
    pages_experiments,
    pages_keys,
    pages_overview,
    pages_people,
    pages_playground,
    pages_recommenders,
    pages_segments,
    pages_targeting,
)
from p13n.server.console.session import SessionStore
from p13n.server.console.web import ConsoleError, SignInNeeded, UserDep, render, to_signin

__all__ = ["install_console"]


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    return to_signin(request, exc.reason or None)


async def _console_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleError)
    user = getattr(request.state, "console_user", None)
    return render(
        request,
        "error.html",
        {"title": exc.title, "message": exc.message, "status": exc.status},
        status_code=exc.status,
        user=user,
    )


def install_console(app: FastAPI) -> None:
    """Mount the console on `app` (after the API routers: its catch-all 404 page only covers
    /console/...)."""
    app.state.console_sessions = SessionStore()
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(ConsoleError, _console_error)
    app.mount(
        "/console/static",
        StaticFiles(packages=[("p13n.server.console", "static")]),
        name="console-static",
    )
    for module in (
        pages_auth,
        pages_overview,
        pages_keys,
        pages_audit,
        pages_people,
        pages_targeting,
        pages_decisioning,
        pages_recommenders,
        pages_segments,
        pages_playground,
        pages_experiments,
        pages_attribution,
    ):
        app.include_router(module.router)

    @app.get("/console/{rest:path}", include_in_schema=False)
    def not_found(request: Request, rest: str, user: UserDep) -> Response:
        raise ConsoleError(404, "Page not found", f"There is no console page at /console/{rest}.")
