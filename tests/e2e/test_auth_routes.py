"""Every route of the app checks its scope: 401 without a key, 403 with a key lacking the scope,
through with a key holding exactly that scope. The routes are enumerated from the app itself,
so a route added anywhere without a row in `p13n/server/auth.py` makes these tests fail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _database import Database
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from p13n.domain.access import IMPLIED, Scope
from p13n.server.app import create_app
from p13n.server.auth import authorize, is_mapped, is_open, is_session_path, scope_for
from p13n.server.settings import Settings


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def _routes(app: FastAPI) -> list[tuple[str, str, bool]]:
    """(method, path template, is a mount) of every route, included routers flattened."""
    out: list[tuple[str, str, bool]] = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, Mount) or not ctx.methods:  # a raw ASGI app (e.g. MCP at /mcp)
            out.append(("POST", str(ctx.path), True))
            continue
        for method in sorted(ctx.methods or ()):
            if method != "HEAD":
                out.append((method, str(ctx.path_format), False))
    return out


_LISTED = create_app(Settings(home=Path("never-started")))  # only read for its route table
ROUTES = _routes(_LISTED)
GUARDED = [r for r in ROUTES if not is_open(r[1]) and not is_session_path(r[1])]
OPEN = [r for r in ROUTES if is_open(r[1])]
# The console and the index page check a session cookie, not a bearer credential
# (tests/e2e/test_console_access.py covers them).
SESSION = [r for r in ROUTES if is_session_path(r[1])]


def _id(route: tuple[str, str, bool]) -> str:
    return f"{route[0]} {route[1]}"


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database
) -> Iterator[TestClient]:
    app = create_app(e2e_module_db.settings(tmp_path_factory.mktemp("auth")))
    # A loopback Host: /mcp checks Host/Origin (DNS rebinding) before credentials.
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def key(client: TestClient, *scopes: Scope) -> str:
    """A key with exactly `scopes` (one per scope set per app, so per store)."""
    app: Any = client.app
    if not hasattr(app.state, "test_keys"):
        app.state.test_keys = {}
    keys: dict[frozenset[Scope], str] = app.state.test_keys
    wanted = frozenset(scopes)
    if wanted not in keys:
        keys[wanted] = app.state.services.keys.create([s.value for s in wanted]).key
    return keys[wanted]


def _call(client: TestClient, method: str, path: str, **headers: str) -> Any:
    body = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
    return client.request(method, _concrete(path), headers=headers, **body)


def test_the_console_is_the_only_part_left_to_its_session_check() -> None:
    assert SESSION, "the console's routes are missing"
    assert {p for _, p, _ in SESSION} - {"/"} == {
        p for _, p, _ in SESSION if p == "/console" or p.startswith("/console/")
    }
    assert all(scope_for(_concrete(p), m) is None for m, p, _ in SESSION)


def test_the_app_has_routes_of_every_scope_to_check() -> None:
    needed = {scope_for(_concrete(p), m) for m, p, _ in GUARDED}
    assert needed >= {Scope.PUBLIC, Scope.DECIDE, Scope.ADMIN}
    assert len(GUARDED) > 20


def test_every_api_route_is_named_by_the_scope_table_or_the_open_list() -> None:
    unmapped = [_id(r) for r in ROUTES if not is_mapped(_concrete(r[1]), r[0])]
    assert unmapped == [], (
        f"add these to ROUTE_SCOPES or OPEN_PATHS in p13n/server/auth.py: {unmapped}"
    )


def test_every_api_route_runs_the_scope_check_dependency() -> None:
    missing = []
    for ctx in iter_route_contexts(_LISTED.routes):
        if isinstance(ctx.original_route, APIRoute):
            calls = [d.call for d in ctx.dependant.dependencies]
            if authorize not in calls:
                missing.append(f"{sorted(ctx.methods or [])} {ctx.path_format}")
    assert missing == []


def test_only_health_docs_and_discovery_documents_are_open() -> None:
    assert {p for _, p, _ in OPEN} <= {
        "/health",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
    } | {p for _, p, _ in OPEN if p.startswith("/.well-known/")}


@pytest.mark.parametrize("route", GUARDED, ids=_id)
def test_a_request_without_a_key_is_401_saying_how_to_get_one(
    client: TestClient, route: tuple[str, str, bool]
) -> None:
    method, path, mount = route
    r = _call(client, method, path)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    if not mount:
        assert "p13n keys create" in r.json()["error"]


@pytest.mark.parametrize("route", GUARDED, ids=_id)
def test_a_key_without_the_needed_scope_is_403_naming_the_scope(
    client: TestClient, route: tuple[str, str, bool]
) -> None:
    method, path, mount = route
    needed = scope_for(_concrete(path), method)
    assert needed is not None
    lacking = [s for s in Scope if needed not in IMPLIED[s]]
    r = _call(client, method, path, authorization=f"Bearer {key(client, *lacking)}")
    assert r.status_code == 403, r.text
    if not mount:
        assert f"`{needed.value}` scope" in r.json()["error"]
        assert f'scope="{needed.value}"' in r.headers["www-authenticate"]


@pytest.mark.parametrize("route", [r for r in GUARDED if not r[2]], ids=_id)
def test_a_key_with_exactly_the_needed_scope_gets_through(
    client: TestClient, route: tuple[str, str, bool]
) -> None:
    method, path, _ = route
    needed = scope_for(_concrete(path), method)
    assert needed is not None
    r = _call(client, method, path, authorization=f"Bearer {key(client, needed)}")
    assert "www-authenticate" not in r.headers and r.status_code not in (401, 403), r.text


@pytest.mark.parametrize("route", [r for r in GUARDED if not r[2]], ids=_id)
def test_an_admin_key_gets_through_every_route(
    client: TestClient, route: tuple[str, str, bool]
) -> None:
    method, path, _ = route
    r = _call(client, method, path, authorization=f"Bearer {key(client, Scope.ADMIN)}")
    assert "www-authenticate" not in r.headers and r.status_code not in (401, 403), r.text


@pytest.mark.parametrize("route", OPEN, ids=_id)
def test_open_routes_need_no_key(client: TestClient, route: tuple[str, str, bool]) -> None:
    method, path, _ = route
    assert _call(client, method, path).status_code == 200
