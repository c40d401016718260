"""A real `p13n serve` on a small seeded demo home, and Debian's chromium driven by Playwright.

Nothing is downloaded: Playwright's bundled driver launches `/usr/bin/chromium` (installed by
`.ci/run` and `make test` with apt). The server runs on SQLite only (the console reads the same
services on PostgreSQL; the e2e tests cover the rules on both). Screenshots go to
`test-artifacts/console/` (gitignored).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _browser import ARGS, CHROMIUM, Console

from bench._util import ServerProcess, free_port, p13n_script, server_env


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [p13n_script(), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _key(env: dict[str, str], scope: str) -> str:
    return _run(
        env, "keys", "create", "--scope", scope, "--label", f"browser {scope}"
    ).splitlines()[-1]


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does)")
    home = tmp_path_factory.mktemp("console-home")
    env = server_env(home)
    _run(env, "seed", "demo", "--shoppers", "30", "--items", "200")
    keys = Console("", _key(env, "admin"), _key(env, "analyst"), _key(env, "public"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [p13n_script(), "serve", "--port", str(port), "--no-access-log"]
    with ServerProcess(argv, env=env, log_path=home / "server.log") as server:
        server.wait_healthy(f"{base}/health", timeout_s=180)
        _traffic(base, keys.public_key)
        yield Console(base, keys.admin_key, keys.analyst_key, keys.public_key)


def _traffic(base: str, public_key: str) -> None:
    """A few decision requests, so the Overview's charts have points."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {public_key}"}) as c:
        for k in range(12):
            body: dict[str, Any] = {
                "context": {"individualId": f"browser-visitor-{k % 4}", "channel": "web"},
                "personalizationPoints": [
                    {"name": "home_banner"},
                    {"name": "home_recommendations"},
                ],
            }
            r = c.post("/personalization/decisions", json=body)
            assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per module, not per session: Playwright's sync API runs an event loop in this thread
    until it stops, and a pytest-xdist worker runs other modules (anyio, asyncio) after this."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.console_messages = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: pg.console_messages.append(m.text))  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()
