"""Security headers on every answer of the app, whichever part made it.

Every response says `X-Content-Type-Options: nosniff`; every HTML one (the console, the sign-in
page, `/docs` and `/redoc`) also carries a Content-Security-Policy with `frame-ancestors 'none'`
(no framing, so no clickjacking), `X-Frame-Options: DENY` for older browsers and
`Referrer-Policy: no-referrer` (console URLs name people and experiments). The console's policy
allows only its own scripts and styles; FastAPI's API documentation pages load Swagger UI and
ReDoc from jsDelivr with an inline script, which their policy allows and nothing else does.
A pure ASGI middleware (not `BaseHTTPMiddleware`): streamed answers (MCP's event streams) pass
through untouched.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONSOLE_CSP", "DOCS_CSP", "HTML_HEADERS", "SecurityHeaders", "html_headers"]

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {_CDN}; "
    f"style-src 'self' 'unsafe-inline' {_CDN} https://fonts.googleapis.com; "
    f"img-src 'self' data: https:; font-src 'self' https://fonts.gstatic.com; "
    f"connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    f"frame-ancestors 'none'"
)
HTML_HEADERS = {
    "Content-Security-Policy": CONSOLE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_DOCS = ("/docs", "/redoc")


def html_headers(path: str) -> dict[str, str]:
    """The headers an HTML answer at `path` carries."""
    if path.startswith(_DOCS):
        return {**HTML_HEADERS, "Content-Security-Policy": DOCS_CSP}
    return HTML_HEADERS


class SecurityHeaders:
    """Adds what `html_headers` says to HTML answers (and nosniff to all) unless already set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in html_headers(path).items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
