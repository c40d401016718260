"""The answers Starlette itself gives (no route for a path, a method a path does not take, a body
it cannot read), in the app's `{"error": ...}` form, with an `Allow` header that is true.

Why not Starlette's own 405: a path served by several routes (`GET`, `PUT` and `DELETE
/admin/segments/{name}` are three routes) got the `Allow` of whichever route it tried first, so
`Allow: GET` on a path that also takes PUT and DELETE. Here `Allow` lists the methods of every
route whose template matches the path, keeping only the most specific templates (a path
`/admin/experiments/a:start` matches `{name}:{action}` and, as a name, `{name}`; the first is
what it means).
"""

from __future__ import annotations

import functools
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

__all__ = ["allowed_methods", "install_http_errors"]

_PARAM = re.compile(r"{[^}]*}")


@functools.lru_cache(maxsize=8)
def _templates(app: FastAPI) -> tuple[tuple[re.Pattern[str], int, frozenset[str]], ...]:
    """(path regex, literal characters of the template, methods) of every route with methods,
    included routers flattened; built once per app (its routes are fixed once it serves)."""
    out = []
    for ctx in iter_route_contexts(app.routes):
        template, methods = ctx.path_format, ctx.methods
        if template and methods:
            regex, _, _ = compile_path(template)
            out.append((regex, len(_PARAM.sub("", template)), frozenset(methods)))
    return tuple(out)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the routes matching `path` take (those of the most specific templates)."""
    best, methods = -1, set[str]()
    for regex, literal, route_methods in _templates(app):
        if not regex.match(path):
            continue
        if literal > best:
            best, methods = literal, set(route_methods)
        elif literal == best:
            methods |= route_methods
    return sorted(methods)


def _message(request: Request, exc: StarletteHTTPException, allowed: list[str]) -> str:
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        return f"no route answers {where}. GET /openapi.json (or /docs) lists the API."
    if exc.status_code == 405:
        return f"{where}: this path takes {', '.join(allowed)}, not {request.method}."
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        return "the body could not be read: send UTF-8 JSON."
    return str(exc.detail)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    allowed: list[str] = []
    if exc.status_code == 405:
        allowed = allowed_methods(request.app, request.url.path)
        headers["Allow"] = ", ".join(allowed)
    return JSONResponse(
        {"error": _message(request, exc, allowed)}, status_code=exc.status_code, headers=headers
    )


def install_http_errors(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
