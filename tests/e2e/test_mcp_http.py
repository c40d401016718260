"""MCP over streamable HTTP at `/mcp` of a real `p13n serve`, with the MCP SDK's own client:
bearer auth as an OAuth protected resource (401 / 403 / the metadata document), API keys and
JWTs, DNS-rebinding protection, and the caller's scopes reaching the tools (`pii` unmasks)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import httpx2
import jwt
import pytest
from _database import Database
from _mcp_http_server import (
    JWT_AUDIENCE,
    JWT_ISSUER,
    JWT_SECRET,
    SHOPPER_EMAIL,
    Keys,
    ServerProcess,
    seed_tenant,
)
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from p13n.domain.services import ApiKeys
from p13n.server.bootstrap import build_engine
from p13n.server.mcp_http import transport_security
from p13n.server.settings import Settings

T = TypeVar("T")

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "p13n-test", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Path:
    """The tenant's home; its store is e2e_module_db's (P13N_DATABASE_URL for PostgreSQL)."""
    return tmp_path_factory.mktemp("mcp-http")


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


def _leaves(exc: BaseException) -> list[BaseException]:
    """The errors inside (nested) exception groups, as the SDK client raises them."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(fn)


def _client(server: ServerProcess, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=30)
    return Client(streamable_http_client(server.url + "/mcp", http_client=http))


def _tool_names(server: ServerProcess, token: str) -> list[str]:
    async def go() -> list[str]:
        async with _client(server, token) as client:
            return [t.name for t in (await client.list_tools()).tools]

    return _run(go)


def _call(server: ServerProcess, token: str, name: str, args: dict[str, Any]) -> Any:
    async def go() -> Any:
        async with _client(server, token) as client:
            return await client.call_tool(name, args)

    return _run(go)


def _post(server: ServerProcess, token: str | None, **headers: str) -> httpx.Response:
    sent = dict(MCP_HEADERS, **headers)
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return httpx.post(server.url + "/mcp", json=INITIALIZE, headers=sent, timeout=30)


def _jwt(**claims: Any) -> str:
    body = {
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "sub": "agent-7",
        "exp": int(time.time()) + 600,
        "scope": "agent",
    }
    body.update(claims)
    return jwt.encode(body, JWT_SECRET, algorithm="HS256")


def _metadata_url(server: ServerProcess) -> str:
    return f"{server.url}/.well-known/oauth-protected-resource/mcp"


def test_without_a_token_mcp_answers_401_pointing_at_its_resource_metadata(
    server: ServerProcess,
) -> None:
    r = _post(server, None)
    assert r.status_code == 401
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{_metadata_url(server)}"' in challenge
    assert "error=" not in challenge  # RFC 6750: no error code when no credentials were sent
    assert "p13n keys create --scope agent" in r.json()["error"]


def test_the_sdk_client_without_a_token_cannot_connect(server: ServerProcess) -> None:
    with pytest.raises(Exception) as caught:
        _tool_names(server, "")
    assert any(isinstance(e, MCPError) for e in _leaves(caught.value))


def test_an_unknown_key_is_401_invalid_token(server: ServerProcess) -> None:
    r = _post(server, "p13n_not-a-key-anyone-created")
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert "resource_metadata=" in r.headers["www-authenticate"]


def test_a_revoked_agent_key_is_refused(server: ServerProcess, home: Path) -> None:
    engine = build_engine(Settings(home=home))
    try:
        keys = ApiKeys.for_engine(engine)
        created = keys.create(["agent"], label="revoked soon")
        keys.revoke(created.id)
    finally:
        engine.close()
    assert _post(server, created.key).status_code == 401


def test_a_key_without_the_agent_scope_is_403_insufficient_scope(
    server: ServerProcess, keys: Keys
) -> None:
    r = _post(server, keys.decide)
    assert r.status_code == 403
    challenge = r.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="agent"' in challenge
    assert f'resource_metadata="{_metadata_url(server)}"' in challenge
    assert "needs the `agent` scope" in r.json()["error"]
    with pytest.raises(Exception) as caught:
        _tool_names(server, keys.decide)
    assert any(isinstance(e, MCPError) for e in _leaves(caught.value))


def test_an_agent_key_lists_the_agent_tools(server: ServerProcess, keys: Keys) -> None:
    names = _tool_names(server, keys.agent)
    assert {"get_recommendations", "get_context"} <= set(names)


def test_over_http_an_agent_key_sees_personal_data_masked(
    server: ServerProcess, keys: Keys
) -> None:
    result = _call(server, keys.agent, "get_context", {"individual": "dev-ada"})
    assert not result.is_error
    contact = result.structured_content["contact"]
    assert contact["masked"] is True
    assert SHOPPER_EMAIL not in str(result.structured_content)
    assert SHOPPER_EMAIL not in str(result.content)


def test_over_http_a_key_with_pii_sees_the_email(server: ServerProcess, keys: Keys) -> None:
    result = _call(server, keys.agent_pii, "get_context", {"individual": "dev-ada"})
    assert not result.is_error
    contact = result.structured_content["contact"]
    assert contact["masked"] is False
    assert SHOPPER_EMAIL in contact["emails"]


def test_get_recommendations_answers_over_http(server: ServerProcess, keys: Keys) -> None:
    result = _call(server, keys.agent, "get_recommendations", {"individual": "dev-ada", "limit": 3})
    assert not result.is_error
    items = result.structured_content["items"]
    assert 1 <= len(items) <= 3
    assert result.structured_content["personalizationId"]


def test_the_ucp_search_over_http_is_for_the_jwts_subject_and_nobody_for_a_key(
    server: ServerProcess, keys: Keys
) -> None:
    """An identity-linked credential (a JWT whose `sub` is the buyer) names the buyer; an API
    key is the platform's own, so its search is nobody's in particular."""
    args = {"catalog": {"filters": {"categories": ["Outdoors"]}}}
    linked = _call(server, _jwt(sub="dev-ada"), "search_catalog", args)
    assert not linked.is_error, linked.content
    answer = linked.structured_content
    assert answer["ucp"]["status"] == "success" and answer["products"]
    assert answer["personalization"]["personalized"] is True
    assert answer["personalization"]["buyer"] is not None
    platform = _call(server, keys.agent, "search_catalog", args).structured_content
    assert platform["personalization"]["personalized"] is False


def test_an_unsupported_ucp_version_over_http_is_json_rpc_error_32001(
    server: ServerProcess, keys: Keys
) -> None:
    meta = {"ucp-agent": {"profile": "https://platform.example/p.json", "version": "2026-01-11"}}
    with pytest.raises(BaseException) as caught:
        _call(server, keys.agent, "get_product", {"meta": meta, "catalog": {"id": "boot-1"}})
    [error] = [e for e in _leaves(caught.value) if isinstance(e, MCPError)]
    assert error.error.code == -32001 and error.error.data["code"] == "version_unsupported"


def test_a_jwt_from_the_configured_issuer_for_this_audience_is_accepted(
    server: ServerProcess,
) -> None:
    assert "get_context" in _tool_names(server, _jwt())


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://someone-else.example/"},
        {"aud": "another-api"},
        {"exp": int(time.time()) - 3600},
    ],
    ids=["other issuer", "other audience", "expired"],
)
def test_a_jwt_from_another_issuer_or_audience_or_expired_is_401(
    server: ServerProcess, claims: dict[str, Any]
) -> None:
    r = _post(server, _jwt(**claims))
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_a_jwt_signed_with_another_secret_is_401(server: ServerProcess) -> None:
    forged = jwt.encode(
        {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": "x", "exp": int(time.time()) + 60},
        "some-other-secret-that-is-long-enough-to-sign",
        algorithm="HS256",
    )
    assert _post(server, forged).status_code == 401


def test_a_valid_jwt_without_the_agent_scope_is_403(server: ServerProcess) -> None:
    r = _post(server, _jwt(scope="decide"))
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]


def test_the_protected_resource_metadata_names_the_resource_and_the_issuer(
    server: ServerProcess,
) -> None:
    suffixed = httpx.get(_metadata_url(server), timeout=10)
    root = httpx.get(server.url + "/.well-known/oauth-protected-resource", timeout=10)
    assert suffixed.status_code == root.status_code == 200
    doc = suffixed.json()
    assert doc == root.json()
    assert doc["resource"] == server.url + "/mcp"
    assert doc["authorization_servers"] == [JWT_ISSUER]
    assert {"agent", "pii"} <= set(doc["scopes_supported"])
    assert doc["bearer_methods_supported"] == ["header"]


def test_a_foreign_host_or_origin_is_refused_even_with_a_valid_token(
    server: ServerProcess, keys: Keys
) -> None:
    host = _post(server, keys.agent, Host="evil.example.com")
    assert host.status_code == 421
    assert "P13N_MCP_ALLOWED_HOSTS" in host.json()["error"]
    origin = _post(server, keys.agent, Origin="http://evil.example.com")
    assert origin.status_code == 403
    assert "P13N_MCP_ALLOWED_ORIGINS" in origin.json()["error"]
    ok = _post(server, keys.agent, Host=f"localhost:{server.port}", Origin=server.url)
    assert ok.status_code == 200


def test_a_foreign_host_is_refused_before_credentials_are_looked_at(
    server: ServerProcess,
) -> None:
    assert _post(server, None, Host="evil.example.com").status_code == 421


def test_a_session_opened_with_one_key_cannot_be_used_with_another(
    server: ServerProcess, keys: Keys
) -> None:
    opened = _post(server, keys.agent)
    session = opened.headers["mcp-session-id"]
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    headers = dict(MCP_HEADERS, **{"mcp-session-id": session, "mcp-protocol-version": "2025-11-25"})
    stolen = httpx.post(
        server.url + "/mcp",
        json=listing,
        headers=dict(headers, Authorization=f"Bearer {keys.agent_pii}"),
        timeout=30,
    )
    assert 400 <= stolen.status_code < 500
    own = httpx.post(
        server.url + "/mcp",
        json=listing,
        headers=dict(headers, Authorization=f"Bearer {keys.agent}"),
        timeout=30,
    )
    assert own.status_code == 200


def test_loopback_the_public_url_and_configured_hosts_are_the_allowed_hosts() -> None:
    security = transport_security(
        Settings(
            public_url="https://p13n.example.com",
            mcp_allowed_hosts="internal.example:*, api.example",
            mcp_allowed_origins="https://app.example",
        )
    )
    assert {"127.0.0.1:*", "localhost:*", "[::1]:*"} <= set(security.allowed_hosts)
    assert {"p13n.example.com", "internal.example:*", "api.example"} <= set(security.allowed_hosts)
    assert {"https://p13n.example.com", "https://app.example"} <= set(security.allowed_origins)
    assert security.enable_dns_rebinding_protection


def test_an_agent_key_limited_to_some_tools_lists_and_calls_only_those(
    server: ServerProcess, home: Path
) -> None:
    engine = build_engine(Settings(home=home))
    try:
        limited = ApiKeys.for_engine(engine).create(
            ["agent"], label="recommendations only", tools=["get_recommendations", "get_item"]
        )
    finally:
        engine.close()
    assert limited.tools == ["get_item", "get_recommendations"]
    assert sorted(_tool_names(server, limited.key)) == ["get_item", "get_recommendations"]
    ok = _call(server, limited.key, "get_item", {"item_id": "boot-1"})
    assert not ok.is_error, ok
    refused = _call(server, limited.key, "get_context", {"individual": SHOPPER_EMAIL})
    assert refused.is_error
    text = refused.content[0].text
    assert "limited to other tools than get_context" in text and "--tool get_context" in text
    r = httpx.post(
        server.url + "/actions/get_context",
        json={"individual": SHOPPER_EMAIL},
        headers={"Authorization": f"Bearer {limited.key}"},
        timeout=30,
    )
    assert r.status_code == 403 and "limited to other tools" in r.json()["error"]
