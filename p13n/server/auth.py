"""Access control for HTTP: one table of path prefix → scope, checked by one app-level dependency.

Every API route is covered without code in route bodies: `install_auth(app)` adds `authorize`
as a dependency of the app's router, so routes that other modules add later get it too. A path
that matches no row of `ROUTE_SCOPES` and is not in `OPEN_PATHS` needs `admin` (fail closed),
and `tests/e2e/test_auth_routes.py` fails for any such route, so new routes get a row here.

Credentials: `Authorization: Bearer <token>` or `X-API-Key: <token>`; the token is an API key
(`p13n keys create`) or, when the JWT settings are set, a JWT. Missing, unknown, revoked or
expired credentials are 401 with `WWW-Authenticate: Bearer`; a credential without the needed
scope is 403 naming the scope. The caller's `Principal` is on `request.state.principal`
(`current_principal` gives it to a route, e.g. to unmask personal data with `pii`).

There is no "auth off" mode: a dev server needs a key too (`make run` prints one), so that a
deployment can never be left open by a forgotten flag.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Authenticator, Principal, Scope
from p13n.domain.services import Actor, set_actor

__all__ = [
    "AuthError",
    "OPEN_PATHS",
    "ROUTE_SCOPES",
    "RouteScope",
    "actor_of",
    "SESSION_PATHS",
    "authorize",
    "current_principal",
    "install_auth",
    "is_session_path",
    "require",
    "scope_for",
]

_ANY = frozenset({"*"})
_READS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class RouteScope:
    """Paths equal to `prefix`, or below it (`prefix/...`, `prefix:verb`), with one of
    `methods` (`*` for any) need `scope`."""

    prefix: str
    scope: Scope
    methods: frozenset[str] = _ANY

    def matches(self, path: str, method: str) -> bool:
        if "*" not in self.methods and method not in self.methods:
            return False
        p = self.prefix
        if p.endswith("/"):
            return path.startswith(p) or path == p[:-1]
        return path == p or path.startswith(p + "/") or path.startswith(p + ":")


# The one table. Longer prefixes are tried first, so a specific row beats a general one.
ROUTE_SCOPES: tuple[RouteScope, ...] = (
    RouteScope("/events", Scope.PUBLIC),
    RouteScope("/personalization/decisions", Scope.PUBLIC),
    RouteScope("/personalization/v1/decisions", Scope.PUBLIC),
    RouteScope("/personalization/authenticated/", Scope.DECIDE),
    RouteScope("/personalization/v1/authenticated/", Scope.DECIDE),
    RouteScope("/experimentation/", Scope.DECIDE),
    RouteScope("/profiles/", Scope.DECIDE),
    RouteScope("/recommendations", Scope.DECIDE),
    RouteScope("/items", Scope.DECIDE, _READS),
    RouteScope("/items", Scope.ADMIN),
    RouteScope("/admin/", Scope.ADMIN),
    RouteScope("/identity/", Scope.ADMIN),
    RouteScope("/privacy/", Scope.ADMIN),
    RouteScope("/actions/", Scope.AGENT),
    RouteScope("/ucp/", Scope.AGENT),
    RouteScope("/analytics/", Scope.ANALYST, _READS),
    RouteScope("/metrics", Scope.ANALYST, _READS),
    RouteScope("/mcp", Scope.AGENT),
)

# Open to anyone: liveness, API documentation, OAuth discovery documents.
OPEN_PATHS: tuple[str, ...] = (
    "/health",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/.well-known/",
)

# Pages with their own session check (the console, `server/console/session.py`: a key signs in
# once and the browser holds an HttpOnly session cookie), and the site's index page linking
# them. No bearer credential is asked for here; every console route asks for its session and
# the scope of the matching API route.
SESSION_PATHS: tuple[str, ...] = ("/", "/console")

_ORDERED = sorted(ROUTE_SCOPES, key=lambda r: (-len(r.prefix), "*" in r.methods))
_HOW_TO_GET = (
    "Send `Authorization: Bearer <key>` (or `X-API-Key: <key>`); create a key with "
    "`p13n keys create --scope SCOPE` (`make run` prints a demo public and admin key)."
)


def is_open(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in OPEN_PATHS)


def is_session_path(path: str) -> bool:
    """The index page or the console (`/console`, `/console/...`), which check sessions."""
    return any(path == p or (p != "/" and path.startswith(p + "/")) for p in SESSION_PATHS)


@functools.lru_cache(maxsize=4096)
def scope_for(path: str, method: str) -> Scope | None:
    """The scope a request needs; None for open paths. Unmapped paths need `admin`. Cached:
    it runs on every request, and a hot path asks the same question each time."""
    if is_open(path) or is_session_path(path):
        return None
    for row in _ORDERED:
        if row.matches(path, method):
            return row.scope
    return Scope.ADMIN


def is_mapped(path: str, method: str) -> bool:
    """Whether a row of the table (or the open list) names this path: tests use it to find
    routes that only the fail-closed default protects."""
    return (
        is_open(path) or is_session_path(path) or any(row.matches(path, method) for row in _ORDERED)
    )


class AuthError(Exception):
    """401 or 403, answered as `{"error": ...}` with a `WWW-Authenticate` header."""

    def __init__(self, status: int, message: str, www_authenticate: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.www_authenticate = www_authenticate


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


async def _principal(request: Request) -> Principal | None:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        return None
    access: Authenticator = request.app.state.services.access
    principal = access.peek(token)
    if principal is None:  # not answerable from memory: one indexed lookup, off the loop
        principal = await run_in_threadpool(access.authenticate, token)
    if principal is not None:
        request.state.principal = principal
        set_actor(actor_of(principal))  # the service layer records changes as this caller's
    return principal


def actor_of(principal: Principal) -> Actor:
    """Who the audit trail names for a caller: its key id (or JWT subject) and label."""
    return Actor(id=principal.subject, name=principal.label or principal.kind)


async def check(request: Request, scope: Scope) -> Principal:
    """The caller, if it holds `scope`; else AuthError (401 or 403)."""
    principal = await _principal(request)
    if principal is not None and principal.allows(scope):
        return principal  # the common case, without building the messages below
    where = f"{request.method} {request.url.path}"
    if principal is None:
        if bearer_token(request) is None:
            raise AuthError(
                401,
                f"{where} needs an API key with the `{scope.value}` scope, and none was sent. {_HOW_TO_GET}",
                'Bearer realm="p13n"',
            )
        raise AuthError(
            401,
            f"the credential sent to {where} is unknown, revoked or expired. {_HOW_TO_GET}",
            'Bearer realm="p13n", error="invalid_token"',
        )
    if not principal.allows(scope):
        held = " ".join(sorted(s.value for s in principal.scopes)) or "none"
        raise AuthError(
            403,
            f"{where} needs the `{scope.value}` scope; this credential holds: {held}. "
            f"Use a key created with `p13n keys create --scope {scope.value}` "
            "(an `admin` key holds every scope except `pii`).",
            f'Bearer realm="p13n", error="insufficient_scope", scope="{scope.value}"',
        )
    return principal


def require(scope: Scope) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that lets the request through only with `scope`; it returns the principal."""

    async def _require(request: Request) -> Principal:
        return await check(request, scope)

    _require.__name__ = f"require_{scope.value}"
    return _require


async def authorize(request: Request) -> None:
    """The app-level dependency: the scope of `ROUTE_SCOPES` for this path and method."""
    needed = scope_for(request.scope["path"], request.scope["method"])  # no URL object built
    if needed is not None:
        await check(request, needed)


async def current_principal(request: Request) -> Principal | None:
    """The authenticated caller (None on open paths without credentials)."""
    return await _principal(request)


async def _auth_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthError)
    return JSONResponse(
        {"error": exc.message},
        status_code=exc.status,
        headers={"WWW-Authenticate": exc.www_authenticate},
    )


def install_auth(app: FastAPI) -> None:
    """Check every route of `app` (call before including routers) and answer auth errors."""
    app.router.dependencies.append(Depends(authorize))
    app.add_exception_handler(AuthError, _auth_error)
