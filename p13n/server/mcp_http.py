"""MCP over streamable HTTP at `/mcp`, guarded as an OAuth 2.0 protected resource (RFC 9728).

- Transport: the MCP SDK's `StreamableHTTPSessionManager`, created and run in the FastAPI
  lifespan (a new one per app start: a manager runs once), serving the server that
  `p13n.tools.mcp.build_mcp_server` builds — the same tools, prompts and resources as `p13n mcp`
  over stdio. Sessions are stateful unless `P13N_MCP_STATELESS` is set (then any API process
  behind a load balancer can answer any request, at the price of server-to-client streams).
- Auth: every request to `/mcp` needs `Authorization: Bearer <token>`, an API key whose scopes
  allow `agent` (`p13n keys create --scope agent`; `admin` implies it) or a JWT from
  `P13N_JWT_ISSUER` for `P13N_JWT_AUDIENCE` with `agent` in its `scope` claim. The SDK's
  `BearerAuthBackend` turns the token into the request's user (the session manager binds each
  session to the credential that opened it, so a leaked session id is useless to another
  caller); `_RequireAgent` answers 401 (no or bad token) or 403 (`insufficient_scope`) with
  `WWW-Authenticate: Bearer ... resource_metadata="<metadata URL>"`, so an MCP client can find
  out where tokens come from. Our own guard rather than the SDK's `RequireAuthMiddleware` only to
  say in the body what was wrong and how to get a key, as every p13n error does. A tool may
  need one scope more (`Action.scope`: `analyst` for get_performance); the registry checks it
  per call and answers an `isError` result naming it.
- Metadata: `GET /.well-known/oauth-protected-resource` and `.../oauth-protected-resource/mcp`
  (the RFC 9728 path-suffixed form) name the resource (`<public URL>/mcp`), the authorization
  server (`P13N_JWT_ISSUER`, omitted when only API keys are accepted), the scopes and the bearer
  method. The public URL is `P13N_PUBLIC_URL` when set, else the scheme and host the request came
  to (right for a local server; set it behind a proxy).
- DNS rebinding: the SDK's Host/Origin checks stay on, and run first (a refusal names the
  setting that would admit the name). Loopback hosts and origins (any port) are always allowed,
  plus the host of `P13N_PUBLIC_URL` and the comma-separated `P13N_MCP_ALLOWED_HOSTS` /
  `P13N_MCP_ALLOWED_ORIGINS` (`name:*` allows any port).
- The caller reaches the tools: each call's `ToolContext` is built with the `Principal` that
  authenticated the HTTP request carrying it (`principal_of`), which is how `pii` unmasks
  personal data over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware, get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from p13n.domain.access import Authenticator, Principal, effective_scopes
from p13n.domain.access import Scope as AccessScope
from p13n.server.bootstrap import AppServices
from p13n.server.settings import Settings
from p13n.tools import ToolContext

__all__ = [
    "MCP_PATH",
    "METADATA_PATH",
    "ProtectedResourceMetadata",
    "current_principal",
    "mount_mcp",
    "principal_of",
    "run_mcp",
    "transport_security",
]

MCP_PATH = "/mcp"
METADATA_PATH = "/.well-known/oauth-protected-resource"
_LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]")
_LOOPBACK_ORIGINS = (
    "http://127.0.0.1:*",
    "http://localhost:*",
    "http://[::1]:*",
    "http://127.0.0.1",
    "http://localhost",
    "http://[::1]",
)
_HOW_TO_GET = (
    "Send `Authorization: Bearer <token>` with an API key that has the `agent` scope "
    "(create one with `p13n keys create --scope agent`; add `--scope pii` to see personal data, "
    "`--scope analyst` for get_performance)"
)


class ProtectedResourceMetadata(BaseModel):
    """The RFC 9728 document for `/mcp`: which resource this is and who issues its tokens."""

    resource: str = Field(description="The URL of the MCP endpoint this document describes.")
    authorization_servers: list[str] | None = Field(
        default=None,
        description="Issuers whose JWTs are accepted (P13N_JWT_ISSUER); absent when only API keys are.",
    )
    scopes_supported: list[str] = Field(
        description="`agent` is required; `pii` additionally unmasks personal data."
    )
    bearer_methods_supported: list[str] = Field(description="Tokens go in the header only.")
    resource_name: str


class PrincipalToken(AccessToken):
    """The SDK's access token, carrying the p13n principal it was verified as."""

    principal: Principal


class _PrincipalVerifier(TokenVerifier):
    """The SDK's token-verifier seam over the access layer's `Authenticator` (API key or JWT)."""

    def __init__(self, access: Authenticator) -> None:
        self.access = access

    async def verify_token(self, token: str) -> AccessToken | None:
        principal = self.access.peek(token)
        if principal is None:  # not answerable from memory: one indexed lookup, off the loop
            principal = await run_in_threadpool(self.access.authenticate, token)
        if principal is None:
            return None
        return PrincipalToken(
            token=token,
            client_id=principal.subject,
            subject=principal.subject,
            scopes=sorted(s.value for s in effective_scopes(principal.scopes)),
            principal=principal,
        )


def current_principal() -> Principal | None:
    """The caller of the MCP request being handled over HTTP; None elsewhere (stdio, tests)."""
    token = get_access_token()
    return token.principal if isinstance(token, PrincipalToken) else None


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _public_base(settings: Settings, request_scope: Scope) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    scheme = request_scope.get("scheme", "http")
    host = next(
        (v.decode("latin-1") for k, v in request_scope.get("headers", []) if k == b"host"),
        None,
    )
    if host is None:
        server = request_scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scheme}://{host}"


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Host/Origin allow-lists for `/mcp`: loopback always, plus the public URL and settings."""
    hosts = list(_LOOPBACK_HOSTS) + _csv(settings.mcp_allowed_hosts)
    origins = list(_LOOPBACK_ORIGINS) + _csv(settings.mcp_allowed_origins)
    if settings.public_url:
        public = urlsplit(settings.public_url)
        if public.netloc:
            hosts.append(public.netloc)
            origins.append(f"{public.scheme}://{public.netloc}")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


class _RequireAgent:
    """401 without a valid token, 403 without the `agent` scope; else on to the transport."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if isinstance(user, AuthenticatedUser):
            if AccessScope.AGENT.value in user.scopes:
                await self.app(scope, receive, send)
                return
            held = " ".join(sorted(user.scopes)) or "none"
            message = (
                f"{MCP_PATH} needs the `agent` scope; this credential holds: {held}. {_HOW_TO_GET}."
            )
            challenge = 'error="insufficient_scope", scope="agent"'
            await self._refuse(scope, receive, send, 403, message, challenge)
            return
        sent = any(k == b"authorization" for k, _ in scope.get("headers", []))
        if not sent:
            message = f"{MCP_PATH} needs a bearer token, and none was sent. {_HOW_TO_GET}, or a JWT from the authorization server named at {METADATA_PATH}{MCP_PATH}."
            await self._refuse(scope, receive, send, 401, message, None)
            return
        message = f"the bearer token sent to {MCP_PATH} is unknown, revoked, expired, or a JWT from another issuer or for another audience. {_HOW_TO_GET}."
        await self._refuse(scope, receive, send, 401, message, 'error="invalid_token"')

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        message: str,
        error: str | None,
    ) -> None:
        metadata = f"{_public_base(self.settings, scope)}{METADATA_PATH}{MCP_PATH}"
        parts = ['realm="p13n"'] + ([error] if error else []) + [f'resource_metadata="{metadata}"']
        headers = {"WWW-Authenticate": "Bearer " + ", ".join(parts)}
        await JSONResponse({"error": message}, status_code=status, headers=headers)(
            scope, receive, send
        )


class _CheckHostAndOrigin:
    """DNS-rebinding protection first, with the SDK's own check (which the transport repeats),
    so that a refused Host or Origin is told which setting admits it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.check = TransportSecurityMiddleware(transport_security(settings))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = await self.check.validate_request(Request(scope), is_post=False)
        if refused is None:
            await self.app(scope, receive, send)
            return
        what = "Host" if refused.status_code == 421 else "Origin"
        value = Headers(scope=scope).get(what.lower())
        message = (
            f"{MCP_PATH} refuses the {what} {value!r} (protection against DNS rebinding). "
            f"If clients reach this server under that name, set P13N_PUBLIC_URL to it or add it "
            f"to P13N_MCP_ALLOWED_{what.upper()}S; loopback names are always accepted."
        )
        await JSONResponse({"error": message}, status_code=refused.status_code)(
            scope, receive, send
        )


@dataclass
class _Running:
    """What one lifespan of the app serves at `/mcp`."""

    asgi: ASGIApp


class _McpEndpoint:
    """The `/mcp` route: hands each request to the stack of the running lifespan."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        running: _Running | None = getattr(self.app.state, "mcp_http", None)
        if running is None:
            body = {
                "error": "the MCP endpoint is not running (the server is starting or stopping). Retry in a moment."
            }
            await JSONResponse(body, status_code=503)(scope, receive, send)
            return
        await running.asgi(scope, receive, send)


def _session_manager(server: Any, settings: Settings) -> StreamableHTTPSessionManager:
    """The SDK's session manager for either a high-level `MCPServer` or a low-level `Server`."""
    security = transport_security(settings)
    if isinstance(server, MCPServer):
        server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=settings.mcp_stateless,
            transport_security=security,
        )
        manager: StreamableHTTPSessionManager = server.session_manager
        return manager
    return StreamableHTTPSessionManager(
        app=server, stateless=settings.mcp_stateless, security_settings=security
    )


ServerFactory = Callable[[FastAPI], Any]


def principal_of(ctx: ServerRequestContext[Any, Any]) -> Principal | None:
    """The authenticated caller of one MCP request: the user our auth stack put on its HTTP
    request (the context variable the SDK copies into handlers serves as a fallback)."""
    user = getattr(ctx.request, "user", None) if ctx.request is not None else None
    if isinstance(user, AuthenticatedUser) and isinstance(user.access_token, PrincipalToken):
        return user.access_token.principal
    return current_principal()


def _tools_server(app: FastAPI) -> Any:
    """The registry's MCP server (`p13n.tools.mcp`), each call run as its HTTP caller."""
    from p13n.tools.mcp import build_mcp_server

    def context(ctx: ServerRequestContext[Any, Any]) -> ToolContext:
        principal = principal_of(ctx)
        if principal is None:  # _RequireAgent lets no request through without one
            raise RuntimeError("an MCP request over HTTP arrived without an authenticated caller")
        services: AppServices = app.state.services
        return services.tool_context(principal)

    return build_mcp_server(context)


@asynccontextmanager
async def run_mcp(
    app: FastAPI, settings: Settings, *, build_server: ServerFactory | None = None
) -> AsyncIterator[None]:
    """Serve `/mcp` for the duration of the block (enter it in the app's lifespan, after the
    services exist in `app.state.services`)."""
    server = (build_server or _tools_server)(app)
    manager = _session_manager(server, settings)
    transport: ASGIApp = StreamableHTTPASGIApp(manager)
    guarded = _RequireAgent(AuthContextMiddleware(transport), settings)
    backend = BearerAuthBackend(_PrincipalVerifier(app.state.services.access))
    stack = _CheckHostAndOrigin(AuthenticationMiddleware(guarded, backend=backend), settings)
    async with manager.run():
        app.state.mcp_http = _Running(asgi=stack)
        try:
            yield
        finally:
            app.state.mcp_http = None


def _metadata(request: Request) -> ProtectedResourceMetadata:
    settings: Settings = request.app.state.settings
    issuer = settings.jwt_issuer
    return ProtectedResourceMetadata(
        resource=f"{_public_base(settings, request.scope)}{MCP_PATH}",
        authorization_servers=[issuer] if issuer else None,
        scopes_supported=[
            AccessScope.AGENT.value,
            AccessScope.PII.value,
            AccessScope.ANALYST.value,
        ],
        bearer_methods_supported=["header"],
        resource_name="p13n MCP server",
    )


_router = APIRouter(tags=["meta"])


@_router.get(
    METADATA_PATH,
    response_model=ProtectedResourceMetadata,
    response_model_exclude_none=True,
    summary="OAuth protected-resource metadata for /mcp (RFC 9728)",
)
def protected_resource(request: Request) -> ProtectedResourceMetadata:
    return _metadata(request)


@_router.get(
    METADATA_PATH + MCP_PATH,
    response_model=ProtectedResourceMetadata,
    response_model_exclude_none=True,
    summary="OAuth protected-resource metadata for /mcp, path-suffixed form (RFC 9728 §3.1)",
)
def protected_resource_mcp(request: Request) -> ProtectedResourceMetadata:
    return _metadata(request)


def mount_mcp(app: FastAPI) -> None:
    """Add `/mcp` (every method; not in OpenAPI) and the metadata documents to `app`."""
    app.include_router(_router)
    app.router.routes.append(Route(MCP_PATH, _McpEndpoint(app), include_in_schema=False))
