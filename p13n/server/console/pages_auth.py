"""Sign-in, sign-out and the site's index page (`/`, linking the console and the API docs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from p13n.server.bootstrap import AppServices
from p13n.server.console.session import CONSOLE_SCOPES, CSRF_COOKIE, SESSION_COOKIE, same_token
from p13n.server.console.web import (
    SIGN_OUT_REASONS,
    ConsoleUser,
    PostUserDep,
    render,
    sessions_of,
    set_session_cookie,
    set_signin_csrf_cookie,
    signin_csrf,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/")
def index(request: Request) -> Response:
    return render(request, "index.html")


def _signin_page(
    request: Request, *, error: str | None = None, notice: str | None = None, status: int = 200
) -> Response:
    token = signin_csrf(request)
    response = render(
        request,
        "signin.html",
        {"signin_csrf": token, "error": error, "notice": notice},
        status_code=status,
    )
    set_signin_csrf_cookie(response, request, token)
    return response


@router.get("/console/signin")
def signin_form(request: Request, reason: str = "") -> Response:
    return _signin_page(request, notice=SIGN_OUT_REASONS.get(reason))


@router.post("/console/signin")
async def signin(
    request: Request,
    key: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the key once, keep it server-side, and hand the browser a session id."""
    if not same_token(csrf_token, request.cookies.get(CSRF_COOKIE) or ""):
        return _signin_page(
            request,
            error="The form's security token is missing or stale; nothing was sent. Try again.",
            status=403,
        )
    services: AppServices = request.app.state.services
    secret = key.strip()
    principal = await run_in_threadpool(services.access.authenticate, secret) if secret else None
    if principal is None:
        return _signin_page(
            request,
            error="That key is unknown, revoked or expired. Paste a key from `p13n keys create` "
            "(`make run` prints a demo admin key).",
            status=401,
        )
    if not any(principal.allows(s) for s in CONSOLE_SCOPES):
        held = " ".join(sorted(s.value for s in principal.scopes))
        return _signin_page(
            request,
            error=f"This key ({held}) cannot use the console: sign in with an admin, analyst, "
            "decide or agent key.",
            status=403,
        )
    session = sessions_of(request).create(secret, principal)
    user = ConsoleUser(session=session, services=services)
    response = RedirectResponse(user.home(), status_code=303)
    set_session_cookie(response, request, session.id)
    response.delete_cookie(CSRF_COOKIE, path="/console", httponly=True, samesite="strict")
    return response


@router.post("/console/signout")
def signout(request: Request, user: PostUserDep) -> Response:
    sessions_of(request).end(user.session.id)
    response = RedirectResponse("/console/signin?reason=signed-out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict")
    return response
