"""What every console route shares: templates, the security headers, the signed-in user as a
dependency, the CSRF check, and the errors that become pages (sign-in redirect, 403, 404).

Every HTML answer goes through `render`, which sets the Content-Security-Policy (no inline
script, no inline style, nothing from other origins but https images), `no-store` caching and
the usual hardening headers; so no middleware sits on the API's hot path.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from p13n import __version__
from p13n.domain.access import Principal, Scope
from p13n.domain.services import set_actor
from p13n.server.auth import actor_of
from p13n.server.bootstrap import AppServices
from p13n.server.console.session import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    ConsoleSession,
    SessionStore,
    same_token,
)
from p13n.server.security_headers import CONSOLE_CSP, HTML_HEADERS

__all__ = [
    "CSP",
    "PAGES",
    "ConsoleError",
    "ConsoleUser",
    "SignInNeeded",
    "UserDep",
    "check_csrf",
    "current_user",
    "render",
    "sessions_of",
    "when",
    "set_session_cookie",
]

CSP = CONSOLE_CSP
_HEADERS = {**HTML_HEADERS, "Cache-Control": "no-store"}
# (path, label, the scope a key needs to see it): the navigation, in order.
PAGES: tuple[tuple[str, str, Scope], ...] = (
    ("/console", "Overview", Scope.ANALYST),
    ("/console/people", "People", Scope.DECIDE),
    ("/console/experiments", "Experiments", Scope.ANALYST),
    ("/console/attribution", "Attribution", Scope.ANALYST),
    ("/console/decisioning", "Points & decisions", Scope.ADMIN),
    ("/console/recommenders", "Recommenders", Scope.ADMIN),
    ("/console/segments", "Segments & insights", Scope.ADMIN),
    ("/console/playground", "Agent playground", Scope.AGENT),
    ("/console/keys", "Keys", Scope.ADMIN),
    ("/console/audit", "Audit", Scope.ADMIN),
)
SIGN_OUT_REASONS = {
    "expired": "Your key was revoked or has expired, so you were signed out. Sign in with a valid key.",
    "idle": "Your session ended (idle, or the server restarted). Sign in again.",
    "signed-out": "You are signed out.",
}

_env = Environment(
    loader=PackageLoader("p13n.server.console", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _num(value: Any) -> str:
    """Counts with thousands separators, other numbers to three significant decimals."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def when(ts: float | None) -> str:
    """Epoch seconds as the console prints times (UTC, to the minute)."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _period(ts: int) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%d" if moment.hour == 0 else "%Y-%m-%d %H:00")


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} B"


_env.filters.update(num=_num, when=when, period=_period, bytes=_bytes)


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in person for one request: their session and what the key may do."""

    session: ConsoleSession
    services: AppServices

    @property
    def principal(self) -> Principal:
        return self.session.principal

    def allows(self, scope: Scope) -> bool:
        return self.session.allows(scope)

    @property
    def can_edit(self) -> bool:
        return self.session.can_edit

    def nav(self) -> list[tuple[str, str]]:
        return [(path, label) for path, label, scope in PAGES if self.allows(scope)]

    def home(self) -> str:
        """The first page this key may see (Overview for admin and analyst keys)."""
        pages = self.nav()
        return pages[0][0] if pages else "/console/signin"


class SignInNeeded(Exception):
    """No session, an idle one, or a key no longer valid: back to the sign-in page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConsoleError(Exception):
    """A page-level refusal: 403 (scope, CSRF) or 404 (unknown id), rendered as a page."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def sessions_of(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.console_sessions
    return store


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    user: ConsoleUser | None = None,
) -> HTMLResponse:
    """A template as a page (or an htmx fragment), with the console's security headers."""
    values: dict[str, Any] = {
        "request": request,
        "user": user,
        "version": __version__,
        "csrf_field": CSRF_FIELD,
        "csrf": user.session.csrf if user is not None else None,
        "path": request.url.path,
    }
    values.update(context or {})
    html = _env.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/console",
    )


def signin_csrf(request: Request) -> str:
    """The sign-in form's double-submit token: the cookie's if there is one, else a new one."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_signin_csrf_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/console",
    )


def to_signin(request: Request, reason: str | None = None) -> Response:
    """A redirect to the sign-in page (as `HX-Redirect` for htmx requests, which would
    otherwise swap the page into a fragment)."""
    url = "/console/signin" + (f"?reason={quote(reason)}" if reason else "")
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    response = RedirectResponse(url, status_code=303)
    if reason:
        response.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict")
    return response


async def current_user(request: Request) -> ConsoleUser:
    """The signed-in user; their key is checked again on every request (memory first), so a
    revoked or expired key ends the session."""
    sessions = sessions_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = sessions.get(cookie)
    if session is None:
        raise SignInNeeded("idle" if cookie else "")
    services: AppServices = request.app.state.services
    principal = services.access.peek(session.secret)
    if principal is None:
        principal = await run_in_threadpool(services.access.authenticate, session.secret)
    if principal is None:
        sessions.end(session.id)
        raise SignInNeeded("expired")
    session.principal = principal
    set_actor(actor_of(principal))  # console changes are recorded as this key's
    user = ConsoleUser(session=session, services=services)
    request.state.console_user = user  # for the error pages' navigation
    return user


UserDep = Annotated[ConsoleUser, Depends(current_user)]


async def check_csrf(request: Request, user: UserDep) -> ConsoleUser:
    """A POST's CSRF token (form field or `X-CSRF-Token` header) must be the session's."""
    given = request.headers.get(CSRF_HEADER)
    if not given:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not same_token(given, user.session.csrf):
        raise ConsoleError(
            403,
            "Refused: the form's security token is missing or stale",
            "This change was not made. Reload the page and submit the form again.",
        )
    return user


PostUserDep = Annotated[ConsoleUser, Depends(check_csrf)]


def need(user: ConsoleUser, scope: Scope) -> None:
    """403 unless the user's key holds `scope` (the same scope the API asks for)."""
    if not user.allows(scope):
        held = " ".join(sorted(s.value for s in user.principal.scopes))
        raise ConsoleError(
            403,
            "Not allowed with this key",
            f"This page needs a key with the `{scope.value}` scope; you signed in with: {held}.",
        )
