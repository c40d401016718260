"""`p13n keys` as a real process against a temporary P13N_HOME, and its keys used over HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from p13n.server.app import create_app
from p13n.server.settings import Settings

P13N = str(Path(sys.executable).parent / "p13n")
KEY = re.compile(r"p13n_[A-Za-z0-9_-]{43}")

pytestmark = pytest.mark.usefixtures("e2e_db")  # every test on SQLite and on PostgreSQL


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # P13N_DATABASE_URL comes from the e2e_db fixture (set for PostgreSQL, unset for SQLite).
    env = {**os.environ, "P13N_HOME": str(home), "LOG_COLUMNS": "200"}
    return subprocess.run([P13N, *args], capture_output=True, text=True, env=env, timeout=120)


def test_create_prints_the_key_alone_on_the_last_line_and_it_opens_the_api(tmp_path: Path) -> None:
    r = run(tmp_path, "keys", "create", "--scope", "decide", "--scope", "agent", "--label", "web")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    key = lines[-1]
    assert key.startswith("p13n_") and " " not in key and len(lines) >= 2
    assert "[agent decide]" in lines[0] and "web" in lines[0]
    with TestClient(create_app(Settings(home=tmp_path)), raise_server_exceptions=False) as c:
        assert c.get("/profiles/x", headers={"Authorization": f"Bearer {key}"}).status_code == 404
        assert (
            c.get("/admin/segments", headers={"Authorization": f"Bearer {key}"}).status_code == 403
        )


def test_list_shows_no_secrets_and_revoke_shuts_the_key_out(tmp_path: Path) -> None:
    key = run(tmp_path, "keys", "create", "--scope", "admin").stdout.splitlines()[-1]
    listed = run(tmp_path, "keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (info,) = json.loads(listed.stdout)
    assert info["scopes"] == ["admin"] and not info["revoked"]
    assert key not in listed.stdout and key not in run(tmp_path, "keys", "list").stdout
    r = run(tmp_path, "keys", "revoke", info["id"])
    assert r.returncode == 0 and "revoked" in r.stdout, r.stderr
    assert json.loads(run(tmp_path, "keys", "list", "--json").stdout)[0]["revoked"] is True
    with TestClient(create_app(Settings(home=tmp_path)), raise_server_exceptions=False) as c:
        assert c.get("/admin/segments", headers={"X-API-Key": key}).status_code == 401


def test_bad_scopes_and_unknown_ids_are_one_line_on_stderr_with_a_non_zero_exit(
    tmp_path: Path,
) -> None:
    for args in (
        ("keys", "create", "--scope", "root"),
        ("keys", "revoke", "key_nope"),
    ):
        r = run(tmp_path, *args)
        assert r.returncode != 0 and r.stdout == ""
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: "), r.stderr
    assert (
        "public, decide, admin, agent, pii"
        in run(tmp_path, "keys", "create", "--scope", "root").stderr
    )


def test_demo_mints_a_fresh_public_and_admin_pair_with_a_curl_example(tmp_path: Path) -> None:
    first = run(tmp_path, "keys", "demo")
    second = run(tmp_path, "keys", "demo")
    assert first.returncode == 0, first.stderr
    assert len(set(KEY.findall(first.stdout))) == 2
    assert len(set(KEY.findall(first.stdout + second.stdout))) == 4
    assert "curl -s -H 'Authorization: Bearer p13n_" in first.stdout
    labels = [k["label"] for k in json.loads(run(tmp_path, "keys", "list", "--json").stdout)]
    assert sorted(labels) == sorted(["demo public (make run)", "demo admin (make run)"] * 2)
    public = KEY.findall(first.stdout)[0]
    with TestClient(create_app(Settings(home=tmp_path)), raise_server_exceptions=False) as c:
        ok = c.post(
            "/events",
            json={"eventId": "e1", "deviceId": "d1", "interaction": "view", "itemId": "i"},
            headers={"X-API-Key": public},
        )
        assert ok.status_code == 200, ok.text
        assert c.get("/admin/segments", headers={"X-API-Key": public}).status_code == 403


def test_a_key_limited_to_tools_says_so_and_an_unknown_tool_is_refused(tmp_path: Path) -> None:
    r = run(
        tmp_path,
        "keys",
        "create",
        "--scope",
        "agent",
        "--tool",
        "get_item",
        "--tool",
        "get_context",
    )
    assert r.returncode == 0, r.stderr
    assert "tools: get_context, get_item" in r.stdout.splitlines()[0]
    key = r.stdout.splitlines()[-1]
    (info,) = json.loads(run(tmp_path, "keys", "list", "--json").stdout)
    assert info["tools"] == ["get_context", "get_item"]
    with TestClient(create_app(Settings(home=tmp_path)), raise_server_exceptions=False) as c:
        auth = {"Authorization": f"Bearer {key}"}
        listed = c.get("/actions", headers=auth).json()["actions"]
        assert sorted(a["name"] for a in listed) == ["get_context", "get_item"]
        refused = c.post("/actions/get_recommendations", json={}, headers=auth)
        assert refused.status_code == 403 and "limited to other tools" in refused.json()["error"]
    bad = run(tmp_path, "keys", "create", "--scope", "agent", "--tool", "get_contxt")
    assert bad.returncode != 0 and bad.stdout == ""
    (line,) = bad.stderr.strip().splitlines()
    assert "no tool 'get_contxt'" in line and "get_context" in line
    assert len(json.loads(run(tmp_path, "keys", "list", "--json").stdout)) == 1  # nothing made


def test_a_key_table_made_before_tool_limits_gains_the_column_and_keeps_its_keys(
    tmp_path: Path,
) -> None:
    import sqlite3

    if os.environ.get("P13N_DATABASE_URL"):
        pytest.skip("the in-place migration is exercised on a SQLite file here")
    key = run(tmp_path, "keys", "create", "--scope", "agent").stdout.splitlines()[-1]
    db = sqlite3.connect(tmp_path / "p13n.db")
    db.execute("ALTER TABLE api_keys DROP COLUMN tools")  # as a store of the previous release
    db.commit()
    db.close()
    listed = run(tmp_path, "keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (info,) = json.loads(listed.stdout)
    assert info["tools"] is None
    with TestClient(create_app(Settings(home=tmp_path)), raise_server_exceptions=False) as c:
        assert c.get("/actions", headers={"Authorization": f"Bearer {key}"}).status_code == 200
