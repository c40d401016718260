"""A real p13n server for the MCP-over-HTTP tests, and the npm-installed clients that talk to it.

`seed_tenant` writes a small tenant (a few items, a shopper with an email) and API keys into a
P13N_HOME; `ServerProcess` runs `p13n serve` (or, with `inject_bearer`, the same app behind a
shim that adds an `Authorization` header — for the conformance suite, whose client sends none)
on 127.0.0.1 and a free port, and stops it, with bounded waits. `node_bin()` finds the pinned
Node 22, Inspector and conformance CLIs in the repo's `node_modules/.bin`, which `make test`
installs (`npm ci`); without it the tests fail and say so, rather than skip.

The store is the one the environment names, as in a deployment: SQLite under the home, or
P13N_DATABASE_URL, which the `e2e_module_db` fixture sets for the PostgreSQL run and which
`seed_tenant` (through `Settings`) and the server process (through its environment) both read.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from p13n.domain.ingest.items import Item
from p13n.domain.services import ApiKeys
from p13n.server.bootstrap import build_engine
from p13n.server.settings import Settings

__all__ = [
    "JWT_AUDIENCE",
    "JWT_ISSUER",
    "JWT_SECRET",
    "Keys",
    "ServerProcess",
    "node_bin",
    "node_env",
    "seed_tenant",
    "SHOPPER_EMAIL",
]

ROOT = Path(__file__).resolve().parents[2]
JWT_ISSUER = "https://login.example.test/"
JWT_AUDIENCE = "p13n-mcp"
JWT_SECRET = "test-only-hs256-secret-of-at-least-32-bytes!"
SHOPPER_EMAIL = "ada.lovelace@example.com"

CATALOG = [
    ("boot-1", "Waterproof hiking boots", "TrailCo", "Outdoors/Footwear/Boots", 120.0),
    ("boot-2", "Leather hiking boots", "Summit", "Outdoors/Footwear/Boots", 180.0),
    ("tent-1", "Two person camping tent", "TrailCo", "Outdoors/Camping/Tents", 250.0),
    ("mug-1", "Ceramic coffee mug", "Homey", "Home/Kitchen/Mugs", 12.0),
    ("lip-1", "Matte liquid lipstick", "Glow", "Beauty/Makeup/Lips", 20.0),
]


def node_bin() -> Path:
    """The repo's `node_modules/.bin`, with Node 22 in it; fails the test when not installed."""
    bin_dir = ROOT / "node_modules" / ".bin"
    needed = ("node", "mcp-inspector", "conformance")
    missing = [n for n in needed if not (bin_dir / n).exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found in {bin_dir}: the MCP clients these tests drive are "
            "npm packages pinned in package.json. Run `make test` (it runs `npm ci`), or `npm ci` "
            "at the repo root.",
            pytrace=False,
        )
    return bin_dir


def node_env(bin_dir: Path, home: Path) -> dict[str, str]:
    """An environment where `node` is the pinned Node 22 and the Inspector keeps its files
    (catalog, stored OAuth state) under `home`, never in the user's."""
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)
    env["MCP_CATALOG_PATH"] = str(home / "mcp.json")
    env["MCP_CLIENT_CONFIG_PATH"] = str(home / "client.json")
    env["MCP_INSPECTOR_SECRET_STORE"] = "memory"  # no keychain, no secrets file
    env["NO_COLOR"] = "1"
    env["CI"] = "true"
    return env


@dataclass(frozen=True)
class Keys:
    agent: str
    agent_pii: str
    decide: str


def seed_tenant(home: Path) -> Keys:
    """A small tenant in `home`: five items, one shopper (email, views, a cart), and keys."""
    engine = build_engine(Settings(home=home))
    try:
        engine.upsert_items(
            [
                Item(id=i, name=n, brand=b, category=c, price=p, currency="USD")
                for i, n, b, c, p in CATALOG
            ]
        )
        consent = [{"provider": "t", "purpose": "Tracking", "status": "Opt In"}]
        events: list[dict[str, Any]] = [
            {
                "eventId": "login-1",
                "deviceId": "dev-ada",
                "dateTime": "2026-11-20T09:00:00Z",
                "user": {"attributes": {"eventType": "contactPointEmail", "email": SHOPPER_EMAIL}},
                "consents": consent,
            }
        ]
        for k, item in enumerate(["boot-1", "boot-2", "tent-1", "boot-1"]):
            events.append(
                {
                    "eventId": f"view-{k}",
                    "deviceId": "dev-ada",
                    "dateTime": f"2026-11-20T09:1{k}:00Z",
                    "interaction": {"name": "View Catalog Object", "catalogObject": {"id": item}},
                    "consents": consent,
                }
            )
        for k, item in enumerate(["mug-1", "lip-1"]):
            events.append(
                {
                    "eventId": f"other-{k}",
                    "deviceId": f"dev-other-{k}",
                    "dateTime": "2026-11-20T08:00:00Z",
                    "interaction": {"name": "View Catalog Object", "catalogObject": {"id": item}},
                    "consents": consent,
                }
            )
        report = engine.ingest(events)
        assert report.rejected == 0, report
        keys = ApiKeys.for_engine(engine)
        return Keys(
            agent=keys.create(["agent"], label="test agent").key,
            agent_pii=keys.create(["agent", "pii"], label="test agent with pii").key,
            decide=keys.create(["decide"], label="test decide").key,
        )
    finally:
        engine.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# The conformance suite's client sends no credentials; this plays an authenticating gateway in
# front of the unchanged app, so that the suite checks the server as deployed, auth on.
_SHIM = """
import sys, uvicorn
from p13n.server.app import create_app
app, token = create_app(), sys.argv[2].encode()

async def with_bearer(scope, receive, send):
    if scope["type"] == "http":
        headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
        scope = dict(scope, headers=headers + [(b"authorization", b"Bearer " + token)])
    await app(scope, receive, send)

uvicorn.run(with_bearer, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            timeout_graceful_shutdown=2)
"""


@dataclass
class ServerProcess:
    """`p13n serve` on 127.0.0.1 and a free port, over the tenant in `home`."""

    home: Path
    inject_bearer: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 120.0) -> ServerProcess:
        env = dict(os.environ)
        env.update(
            P13N_HOME=str(self.home),
            P13N_JWT_ISSUER=JWT_ISSUER,
            P13N_JWT_AUDIENCE=JWT_AUDIENCE,
            P13N_JWT_SECRET=JWT_SECRET,
            P13N_WARM_PROFILES="0",
        )
        env.update(self.extra_env)
        if self.inject_bearer is None:
            cli = Path(sys.executable).with_name("p13n")
            argv = [str(cli), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        else:
            argv = [sys.executable, "-c", _SHIM, str(self.port), self.inject_bearer]
        self.log_path = self.home / f"server-{self.port}.log"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"the server did not answer /health within {timeout:.0f}s:\n{self.log()}"
        )

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
