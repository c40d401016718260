"""A real client written by others: the MCP Inspector CLI (`@modelcontextprotocol/inspector`,
pinned in package.json, run on the pinned Node 22) lists the tools and calls
`get_recommendations` and `get_context`, over stdio (`p13n mcp` as its subprocess) and over
streamable HTTP (`p13n serve`, with `--header "Authorization: Bearer <agent key>"`), in the
initialize era (its default for ad-hoc targets) and, with `--protocol-era modern`, in 2026-07-28's
stateless one.

Every test runs on SQLite; on PostgreSQL all the HTTP tests run but, of the stdio ones, only
`get_recommendations` (it reads the profile and the catalog through `p13n mcp`): each stdio call
starts a `p13n mcp` process (~10 s), and the listing and masking they check do not depend on
the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _database import Database
from _mcp_http_server import SHOPPER_EMAIL, Keys, ServerProcess, node_bin, node_env, seed_tenant

TIMEOUT = 120  # seconds for one Inspector run (stdio includes starting `p13n mcp`)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Path:
    return tmp_path_factory.mktemp("inspector")


@pytest.fixture(scope="module")
def keys(home: Path) -> Keys:
    return seed_tenant(home)


@pytest.fixture(scope="module")
def server(home: Path, keys: Keys) -> Iterator[ServerProcess]:
    node_bin()  # fail before starting anything when the clients are not installed
    proc = ServerProcess(home).start()
    try:
        yield proc
    finally:
        proc.stop()


def _inspector(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    bin_dir = node_bin()
    argv = [str(bin_dir / "node"), str(bin_dir / "mcp-inspector"), "--cli", *args]
    argv += ["--format", "json"]
    scratch = home / "inspector-home"
    scratch.mkdir(exist_ok=True)
    return subprocess.run(
        argv,
        env=node_env(bin_dir, scratch),
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def _ok(run: subprocess.CompletedProcess[str]) -> Any:
    assert run.returncode == 0, f"inspector exited {run.returncode}:\n{run.stderr}\n{run.stdout}"
    return json.loads(run.stdout)["result"]


def _stdio(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    p13n = str(Path(sys.executable).with_name("p13n"))
    env = ["-e", f"P13N_HOME={home}"]
    if url := os.environ.get("P13N_DATABASE_URL"):  # the PostgreSQL run (e2e_module_db)
        env += ["-e", f"P13N_DATABASE_URL={url}"]
    return _inspector(home, p13n, "mcp", *env, *args)


def _sqlite_only(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("stdio: on PostgreSQL, get_recommendations stands for the stdio path")


def _http(server: ServerProcess, token: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    auth = ["--header", f"Authorization: Bearer {token}"] if token else ["--stored-auth-only"]
    return _inspector(
        server.home,
        server.url + "/mcp",
        "--transport",
        "http",
        *auth,
        "--connect-timeout",
        "30000",
        *args,
    )


def _call(tool: str, args: dict[str, Any]) -> list[str]:
    return ["--method", "tools/call", "--tool-name", tool, "--tool-args-json", json.dumps(args)]


def _check_listing(result: Any) -> None:
    tools = {t["name"]: t for t in result["tools"]}
    assert {"get_recommendations", "get_context"} <= set(tools)
    for name in ("get_recommendations", "get_context"):
        tool = tools[name]
        assert tool["description"] and tool["inputSchema"]["type"] == "object"
        assert tool["outputSchema"]["type"] == "object"
        assert tool["annotations"]["readOnlyHint"] is True


def _check_recommendations(result: Any) -> None:
    assert result["isError"] is False
    out = result["structuredContent"]
    assert 1 <= len(out["items"]) <= 3 and out["personalizationId"]
    assert json.loads(result["content"][0]["text"]) == out  # the same JSON as a text block


def _check_masked_context(result: Any) -> None:
    assert result["isError"] is False
    out = result["structuredContent"]
    assert out["known"] is True and out["contact"]["masked"] is True
    assert SHOPPER_EMAIL not in json.dumps(result)


def test_over_stdio_the_inspector_lists_the_tools(
    home: Path, keys: Keys, e2e_module_db: Database
) -> None:
    _sqlite_only(e2e_module_db)
    _check_listing(_ok(_stdio(home, "--method", "tools/list")))


def test_over_stdio_the_inspector_calls_get_recommendations(home: Path, keys: Keys) -> None:
    run = _stdio(home, *_call("get_recommendations", {"individual": "dev-ada", "limit": 3}))
    _check_recommendations(_ok(run))


def test_over_stdio_the_inspector_calls_get_context_with_personal_data_masked(
    home: Path, keys: Keys, e2e_module_db: Database
) -> None:
    _sqlite_only(e2e_module_db)
    _check_masked_context(_ok(_stdio(home, *_call("get_context", {"individual": "dev-ada"}))))


def test_over_http_the_inspector_lists_the_tools_with_an_agent_key(
    server: ServerProcess, keys: Keys
) -> None:
    _check_listing(_ok(_http(server, keys.agent, "--method", "tools/list")))


def test_over_http_the_inspector_calls_get_recommendations(
    server: ServerProcess, keys: Keys
) -> None:
    run = _http(
        server, keys.agent, *_call("get_recommendations", {"individual": "dev-ada", "limit": 3})
    )
    _check_recommendations(_ok(run))


def test_over_http_the_inspector_calls_get_context_masked_for_an_agent_key(
    server: ServerProcess, keys: Keys
) -> None:
    _check_masked_context(
        _ok(_http(server, keys.agent, *_call("get_context", {"individual": "dev-ada"})))
    )


def test_over_http_a_key_with_pii_shows_the_email_to_the_inspector(
    server: ServerProcess, keys: Keys
) -> None:
    result = _ok(_http(server, keys.agent_pii, *_call("get_context", {"individual": "dev-ada"})))
    assert SHOPPER_EMAIL in result["structuredContent"]["contact"]["emails"]


def test_over_http_an_unknown_item_is_an_error_result_the_model_can_act_on(
    server: ServerProcess, keys: Keys
) -> None:
    args = {"individual": "nobody-known", "kind": "item_clicked", "item_id": "ghost-item"}
    run = _http(server, keys.agent, *_call("record_interaction", args))
    assert run.returncode == 5, run.stderr  # the Inspector's exit code for an isError result
    assert json.loads(run.stderr)["error"]["code"] == "tool_is_error"
    result = json.loads(run.stdout)["result"]
    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert "ghost-item" in text and "Traceback" not in text


def test_over_http_without_a_token_the_inspector_reports_that_auth_is_required(
    server: ServerProcess,
) -> None:
    run = _http(server, None, "--method", "tools/list")
    assert run.returncode != 0
    error = json.loads(run.stderr.strip().splitlines()[-1] if run.stderr.strip() else run.stdout)
    assert error["error"]["code"] == "auth_required"
    assert "p13n keys create --scope agent" in error["error"]["message"]


# The Inspector in both protocol eras: `--protocol-era modern` speaks 2026-07-28 (stateless
# requests, `server/discover`), `legacy` the initialize handshake (its default above).
@pytest.mark.parametrize("era", ["modern", "legacy"])
def test_over_http_the_inspector_of_each_era_lists_and_calls_the_tools(
    server: ServerProcess, keys: Keys, era: str
) -> None:
    era_args = ("--protocol-era", era)
    listing = _ok(_http(server, keys.agent, *era_args, "--method", "tools/list"))
    _check_listing(listing)
    tools = {t["name"]: t for t in listing["tools"]}
    assert tools["get_recommendations"]["_meta"]["ui"]["resourceUri"] == "ui://p13n/recommendations"
    assert tools["get_context"]["icons"][0]["mimeType"] == "image/svg+xml"
    args = {"individual": "dev-ada", "limit": 3}
    _check_recommendations(
        _ok(_http(server, keys.agent, *era_args, *_call("get_recommendations", args)))
    )


def test_over_stdio_the_modern_inspector_calls_get_recommendations(home: Path, keys: Keys) -> None:
    run = _stdio(
        home,
        "--protocol-era",
        "modern",
        *_call("get_recommendations", {"individual": "dev-ada", "limit": 3}),
    )
    _check_recommendations(_ok(run))
