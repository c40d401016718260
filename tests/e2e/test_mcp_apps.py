"""MCP Apps through the SDK's in-process client: which tools name a `ui://` view, what the view
resources are (MIME type, `_meta.ui.csp`), that each is one self-contained document whose own
CSP admits exactly its inlined script and style, and that a client without Apps gets the same
result. The views rendering in a browser: tests/browser/test_mcp_apps_browser.py."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from _database import Database
from _tools_tenant import build
from mcp import Client
from mcp.client import advertise

from p13n.server.bootstrap import shared_embedder
from p13n.tools import LocalCaller, ToolContext
from p13n.tools.mcp import build_mcp_server

APPS = "io.modelcontextprotocol/ui"
APP_MIME = "text/html;profile=mcp-app"
VIEWS = {
    "get_recommendations": "ui://p13n/recommendations",
    "search_catalog": "ui://p13n/recommendations",
    "get_context": "ui://p13n/profile-card",
}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Iterator[ToolContext]:
    home = tmp_path_factory.mktemp("mcp-apps")
    engine, service = build(e2e_module_db.url_for(home), home, shared_embedder())
    yield ToolContext(engine=engine, recommend=service, caller=LocalCaller())
    engine.close()


def _with_client(ctx: ToolContext, body: Any, *, apps: bool = True) -> Any:
    server = build_mcp_server(lambda _: ctx)
    extensions = [advertise(APPS, {"mimeTypes": [APP_MIME]})] if apps else None

    async def go() -> Any:
        async with Client(server, extensions=extensions) as client:
            return await body(client)

    return anyio.run(go)


def test_the_recommending_tools_and_get_context_name_their_view(ctx: ToolContext) -> None:
    async def body(client: Client) -> Any:
        caps = client.session.server_capabilities
        return caps, (await client.list_tools()).tools, (await client.list_resources()).resources

    caps, tools, resources = _with_client(ctx, body)
    assert APPS in (caps.extensions or {})
    named = {t.name: (t.meta or {}).get("ui", {}).get("resourceUri") for t in tools}
    assert {k: v for k, v in named.items() if v} == VIEWS
    listed = {r.uri: r.mime_type for r in resources if str(r.uri).startswith("ui://")}
    assert listed == dict.fromkeys(set(VIEWS.values()), APP_MIME)


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("uri", sorted(set(VIEWS.values())))
def test_each_view_is_one_document_that_its_own_csp_locks_down(ctx: ToolContext, uri: str) -> None:
    async def body(client: Client) -> Any:
        return (await client.read_resource(uri)).contents[0]

    content = _with_client(ctx, body)
    assert content.mime_type == APP_MIME
    ui = (content.meta or {})["ui"]
    assert ui["csp"] == {"connectDomains": [], "resourceDomains": ["https://shop.example.com"]}
    html = content.text
    assert html.startswith("<!DOCTYPE html>")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = dict(d.strip().split(" ", 1) for d in csp.group(1).split(";"))
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    assert len(scripts) == len(styles) == 1
    assert policy["script-src"] == _hash(scripts[0])
    assert policy["style-src"] == _hash(styles[0])
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'none'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["img-src"] == "data: https://shop.example.com"
    assert not re.search(r"<script[^>]+src=|<link|@import|https?://[^\"' ]+\.js", html)
    assert "innerHTML" not in html  # catalog text is set as text, never as markup


def test_a_client_without_apps_gets_the_same_structured_result_and_text(ctx: ToolContext) -> None:
    args = {"individual": "ava-1", "limit": 3}

    async def body(client: Client) -> Any:
        return await client.call_tool("get_recommendations", args)

    plain = _with_client(ctx, body, apps=False)
    with_apps = _with_client(ctx, body)
    for result in (plain, with_apps):
        assert not result.is_error
        assert orjson.loads(result.content[0].text) == result.structured_content
    assert [i["id"] for i in plain.structured_content["items"]] == [
        i["id"] for i in with_apps.structured_content["items"]
    ]


def test_the_views_ship_in_the_package() -> None:
    import p13n.tools

    ui = Path(p13n.tools.__file__).parent / "ui"
    for name in ("view.html", "apps.css", "bridge.js", "carousel.js", "profile.js", "p13n.svg"):
        assert (ui / name).is_file(), name
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"tools/ui/*"' in pyproject
