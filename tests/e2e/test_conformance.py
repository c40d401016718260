"""The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
package.json) against `/mcp` of a running p13n server: the generic server scenarios
`server-initialize`, `ping`, `tools-list`, `dns-rebinding-protection`, `resources-list`,
`prompts-list` and `server-sse-multiple-streams` pass over HTTP. (The suite's other server
scenarios call fixture tools and resources of its own test server, `test_simple_text` and
`test://...`, and its 0.1.16 has no 2026-07-28 scenario; `test_mcp_versions.py` covers that.)

The suite's client sends no credentials (its scenarios are written for servers without auth),
so the server runs behind a shim that adds `Authorization: Bearer <agent key>` to every request,
as an authenticating gateway would; the app itself is unchanged, auth and Host/Origin checks on.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _database import Database
from _mcp_http_server import ServerProcess, node_bin, node_env, seed_tenant

SCENARIOS = [
    "server-initialize",
    "ping",
    "tools-list",
    "dns-rebinding-protection",
    "resources-list",  # the ui:// views among them
    "prompts-list",
    "server-sse-multiple-streams",
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Path:
    return tmp_path_factory.mktemp("conformance")


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[ServerProcess]:
    node_bin()  # fail before starting anything when the suite is not installed
    keys = seed_tenant(home)
    proc = ServerProcess(home, inject_bearer=keys.agent).start()
    try:
        yield proc
    finally:
        proc.stop()


def _checks(out_dir: Path) -> list[dict[str, Any]]:
    found = sorted(out_dir.rglob("checks.json"))
    assert found, f"the suite wrote no checks.json under {out_dir}"
    checks: list[dict[str, Any]] = json.loads(found[-1].read_text())
    return checks


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_conformance_scenario_passes_over_http(
    server: ServerProcess, home: Path, scenario: str
) -> None:
    bin_dir = node_bin()
    out_dir = home / "results" / scenario
    argv = [str(bin_dir / "node"), str(bin_dir / "conformance"), "server"]
    argv += ["--url", server.url + "/mcp", "--scenario", scenario, "--output-dir", str(out_dir)]
    run = subprocess.run(
        argv,
        env=node_env(bin_dir, home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, f"{scenario} failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
    checks = _checks(out_dir)
    failed = [c for c in checks if c.get("status") not in ("SUCCESS", "INFO")]
    assert checks and not failed, json.dumps(failed, indent=1)[:4000]
    assert any(c.get("status") == "SUCCESS" for c in checks)
