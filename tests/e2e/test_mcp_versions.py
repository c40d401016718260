"""MCP 2026-07-28 and the two handshake revisions before it, on one `/mcp` endpoint and on
stdio, each driven by the MCP SDK's own client: the stateless era (`server/discover`, every
request self-contained, no session id) and the initialize era (2025-06-18, 2025-11-25) reach the
same tools, prompts and resources. Tool names are checked against the spec's rule and every tool,
prompt and resource carries the p13n icon.

The SDK's client offers only its newest handshake revision (2025-11-25) in `initialize`; the
2025-06-18 client is the same client with `LATEST_HANDSHAKE_VERSION` set to that revision
(`_offering`), which is exactly what an older SDK sends."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import mcp.client.session as client_session
import orjson
import pytest
from _database import Database
from _mcp_http_server import SHOPPER_EMAIL, Keys, ServerProcess, seed_tenant
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.tool_name_validation import validate_tool_name

from p13n.tools import ACTIONS

P13N = str(Path(sys.executable).with_name("p13n"))
MODERN = "2026-07-28"
HANDSHAKE = ("2025-06-18", "2025-11-25")
VERSIONS = (*HANDSHAKE, MODERN)
# The spec's rule for tool names (2025-11-25, "Tool names"): 1-128 of A-Z a-z 0-9 _ - .
SPEC_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


@contextmanager
def _offering(version: str) -> Iterator[str]:
    """The SDK client, offering `version`: `mode` for `Client` (a handshake revision is offered
    in `initialize`; the modern one is found with the `server/discover` probe)."""
    if version == MODERN:
        yield "auto"
        return
    saved = client_session.LATEST_HANDSHAKE_VERSION
    client_session.LATEST_HANDSHAKE_VERSION = version
    try:
        yield "legacy"
    finally:
        client_session.LATEST_HANDSHAKE_VERSION = saved


async def _tour(client: Client, individual: str) -> dict[str, Any]:
    """What a chat client does first: list everything, brief itself, recommend, read."""
    tools = (await client.list_tools()).tools
    prompts = (await client.list_prompts()).prompts
    resources = (await client.list_resources()).resources
    context = await client.call_tool("get_context", {"individual": individual})
    recs = await client.call_tool("get_recommendations", {"individual": individual, "limit": 2})
    categories = await client.read_resource("p13n://catalog/categories")
    return {
        "version": client.session.protocol_version,
        "tools": tools,
        "prompts": prompts,
        "resources": resources,
        "context": context,
        "recs": recs,
        "categories": orjson.loads(categories.contents[0].text),
    }


def _check_tour(got: dict[str, Any], version: str) -> None:
    assert got["version"] == version
    names = {t.name for t in got["tools"]}
    assert names == {a.name for a in ACTIONS}
    for listed in (*got["tools"], *got["prompts"], *got["resources"]):
        assert listed.icons and listed.icons[0].src.startswith("data:image/svg+xml;base64,")
    context, recs = got["context"], got["recs"]
    assert not context.is_error and context.structured_content["found"] is True
    assert orjson.loads(context.content[0].text) == context.structured_content
    assert not recs.is_error and 1 <= len(recs.structured_content["items"]) <= 2
    assert got["categories"]["categories"][0]["name"] == "Outdoors"


def test_every_tool_name_keeps_the_spec_rule_and_every_title_is_one_short_line() -> None:
    for action in ACTIONS:
        assert SPEC_TOOL_NAME.fullmatch(action.name), action.name
        checked = validate_tool_name(action.name)
        assert checked.is_valid and not checked.warnings, (action.name, checked.warnings)
        assert action.title and len(action.title) <= 64 and "\n" not in action.title


# --- streamable HTTP: one `p13n serve`, every revision ------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Path:
    return tmp_path_factory.mktemp("mcp-versions")


@pytest.fixture(scope="module")
def keys(home: Path) -> Keys:
    return seed_tenant(home)


@pytest.fixture(scope="module")
def server(home: Path, keys: Keys) -> Iterator[ServerProcess]:
    proc = ServerProcess(home).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_each_protocol_revision_reaches_the_same_tools_over_http(
    server: ServerProcess, keys: Keys, version: str
) -> None:
    async def go(mode: str) -> dict[str, Any]:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {keys.agent}"}, timeout=60)
        transport = streamable_http_client(server.url + "/mcp", http_client=http)
        async with Client(transport, mode=mode) as client:
            return await _tour(client, SHOPPER_EMAIL)

    with _offering(version) as mode:
        got = anyio.run(go, mode)
    _check_tour(got, version)


def test_with_p13n_mcp_stateless_every_revision_still_works(home: Path, keys: Keys) -> None:
    """`P13N_MCP_STATELESS=true` (2025 clients without sessions) leaves 2026 requests alone."""

    async def go(mode: str, url: str) -> dict[str, Any]:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {keys.agent}"}, timeout=60)
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            return await _tour(client, SHOPPER_EMAIL)

    proc = ServerProcess(home, extra_env={"P13N_MCP_STATELESS": "true"}).start()
    try:
        for version in ("2025-11-25", MODERN):
            with _offering(version) as mode:
                got = anyio.run(go, mode, proc.url + "/mcp")
            _check_tour(got, version)
    finally:
        proc.stop()


def _modern_post(server: ServerProcess, token: str, method: str, params: dict[str, Any]) -> Any:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "raw-http", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "Mcp-Protocol-Version": MODERN,
        "Mcp-Method": method,
    }
    if "name" in params:
        headers["Mcp-Name"] = params["name"]
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": {**params, "_meta": meta}}
    return httpx.post(server.url + "/mcp", json=body, headers=headers, timeout=60)


def _json_rpc(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC answer of one POST, sent as JSON or as one event of an event stream."""
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [ln[5:] for ln in response.text.splitlines() if ln.startswith("data:")]
        return dict(orjson.loads(data[-1]))
    return dict(response.json())


def test_a_2026_request_stands_alone_no_initialize_no_session(
    server: ServerProcess, keys: Keys
) -> None:
    """A tools/call as the first and only request: answered, and no session is opened."""
    call = _modern_post(
        server,
        keys.agent,
        "tools/call",
        {"name": "get_context", "arguments": {"individual": SHOPPER_EMAIL}},
    )
    assert call.status_code == 200, call.text
    assert "mcp-session-id" not in call.headers
    result = _json_rpc(call)["result"]
    assert result["isError"] is False and result["structuredContent"]["found"] is True
    discover = _modern_post(server, keys.agent, "server/discover", {})
    found = _json_rpc(discover)["result"]
    assert MODERN in found["supportedVersions"] and "tools" in found["capabilities"]
    assert "mcp-session-id" not in discover.headers


def test_a_2025_client_still_gets_a_session(server: ServerProcess, keys: Keys) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw-http", "version": "1"},
        },
    }
    headers = {
        "Authorization": f"Bearer {keys.agent}",
        "Accept": "application/json, text/event-stream",
    }
    answer = httpx.post(server.url + "/mcp", json=body, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.headers.get("mcp-session-id")
    assert _json_rpc(answer)["result"]["protocolVersion"] == "2025-06-18"


def test_the_2026_era_refuses_the_bearerless_request_like_the_old_one(
    server: ServerProcess,
) -> None:
    answer = _modern_post(server, "not-a-key", "server/discover", {})
    assert answer.status_code == 401
    assert "resource_metadata=" in answer.headers["www-authenticate"]


# --- stdio: `p13n mcp`, every revision ------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_each_protocol_revision_reaches_the_same_tools_over_stdio(
    home: Path, keys: Keys, e2e_module_db: Database, version: str
) -> None:
    """`p13n mcp` on the same tenant (beside the running server, as a desktop client would)."""
    env = e2e_module_db.env(home, P13N_WARM_PROFILES="100")
    params = StdioServerParameters(command=P13N, args=["mcp"], env=env, cwd=str(home))

    async def go(mode: str) -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=120, mode=mode) as client:
            return await _tour(client, SHOPPER_EMAIL)

    with _offering(version) as mode:
        got = anyio.run(go, mode)
    _check_tour(got, version)
