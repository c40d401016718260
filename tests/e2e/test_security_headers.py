"""Security headers on every HTML page the app serves (`server/security_headers.py`): every GET
route without path parameters (the console's pages signed in with every scope and signed out,
the sign-in page, `/docs`, `/redoc`), a console 404 page, and every answer's `nosniff`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from _client import mint_key
from _database import Database
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from p13n.server.app import create_app

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Iterator[Any]:
    application = create_app(e2e_module_db.settings(tmp_path_factory.mktemp("headers")))
    with TestClient(application, base_url="http://127.0.0.1"):
        yield application


def _client(app: Any) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)


def _signed_in(app: Any) -> TestClient:
    client = _client(app)
    token = _TOKEN.search(client.get("/console/signin").text).group(1)  # type: ignore[union-attr]
    key = mint_key(app, label="headers e2e")
    r = client.post(
        "/console/signin", data={"key": key, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    return client


def _get_paths(app: Any) -> list[str]:
    paths = []
    for ctx in iter_route_contexts(app.routes):
        if ctx.path_format and "{" not in ctx.path_format and "GET" in (ctx.methods or ()):
            paths.append(ctx.path_format)
    return sorted(set(paths)) + ["/console/no-such-page", "/docs/oauth2-redirect"]


def _assert_secure_html(path: str, headers: Any) -> None:
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, (path, csp)
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp, (path, csp)
    assert headers.get("x-content-type-options") == "nosniff", path
    assert headers.get("x-frame-options") == "DENY", path
    assert headers.get("referrer-policy") == "no-referrer", path


def test_every_html_page_carries_csp_frame_ancestors_nosniff_and_referrer_policy(
    app: Any,
) -> None:
    html_pages: set[str] = set()
    for client in (_client(app), _signed_in(app)):
        for path in _get_paths(app):
            if path in ("/mcp", "/metrics") or path.startswith("/console/static"):
                continue
            r = client.get(path)
            assert r.headers.get("x-content-type-options") == "nosniff", (path, r.status_code)
            if r.headers.get("content-type", "").startswith("text/html"):
                _assert_secure_html(path, r.headers)
                html_pages.add(path)
    assert {"/console", "/console/signin", "/docs", "/redoc", "/console/no-such-page"} <= html_pages
    assert len(html_pages) >= 12, sorted(html_pages)


def test_only_the_api_docs_allow_their_cdn_and_the_console_allows_no_inline_script(
    app: Any,
) -> None:
    client = _signed_in(app)
    docs = client.get("/docs").headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in docs
    for path in ("/console", "/console/signin", "/console/keys"):
        csp = client.get(path).headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "cdn.jsdelivr.net" not in csp, path


def test_json_answers_say_nosniff_too(app: Any) -> None:
    for path in ("/health", "/openapi.json", "/no-such-route"):
        assert _client(app).get(path).headers.get("x-content-type-options") == "nosniff", path
