"""The audit trail through the app: every kind of change is recorded once, by whom, with the
documents before and after; `GET /admin/audit` filters and pages it; the console page shows
it; admins only. On SQLite and PostgreSQL (the `e2e_db` fixture)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _client import mint_key
from _database import Database
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from p13n.server.app import create_app
from p13n.server.cli_keys import keys_app

POINT = {"name": "home", "contentSchema": {"type": "ManualContent"}}
DECISION = {"name": "hello", "point": "home", "state": "Live", "attributes": {"header": "Hi"}}
SEGMENT = {
    "name": "viewers",
    "rule": {
        "type": "All",
        "rules": [
            {
                "source": "engagement",
                "field": "View Catalog Object",
                "operator": "Is Greater Than Or Equal To",
                "value": 1,
            }
        ],
    },
}


@pytest.fixture
def app(tmp_path: Path, e2e_db: Database) -> Iterator[Any]:
    application = create_app(e2e_db.settings(tmp_path))
    with TestClient(application):
        yield application


@pytest.fixture
def alice(app: Any) -> Iterator[tuple[TestClient, str]]:
    """A client holding an admin key labelled ops-alice, and that key's id."""
    created = app.state.services.keys.create(["admin"], label="ops-alice")
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {created.key}"
        yield client, created.id


def entries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/admin/audit", params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["entries"])


def test_configuration_changes_are_recorded_with_who_before_and_after(
    alice: tuple[TestClient, str],
) -> None:
    client, key_id = alice
    assert client.put("/admin/points/home", json=POINT).status_code == 200
    assert client.put("/admin/decisions/hello", json=DECISION).status_code == 200
    changed = {**DECISION, "attributes": {"header": "Hello"}}
    assert client.put("/admin/decisions/hello", json=changed).status_code == 200
    assert client.put("/admin/decisions/hello", json=changed).status_code == 200  # no change
    assert client.delete("/admin/decisions/hello").status_code == 200
    put = client.put("/admin/segments/viewers", json=SEGMENT)
    assert put.status_code == 200, put.text
    insight = {"name": "views_all", "measure": "count", "interactions": ["View Catalog Object"]}
    assert client.put("/admin/insights/views_all", json=insight).status_code == 200
    assert client.delete("/admin/insights/views_all").status_code == 200
    cheap = {"name": "cheap", "recipe": {"algorithm": "sort-by", "field": "price"}}
    made = client.put("/admin/recommenders/cheap", json=cheap)
    assert made.status_code == 200, made.text

    decisions = entries(client, kind="decision")
    assert [e["action"] for e in decisions] == ["delete", "update", "create"]  # newest first
    assert {(e["actor_id"], e["actor_name"]) for e in decisions} == {(key_id, "ops-alice")}
    deleted, updated, created = decisions
    assert created["before"] is None and created["after"]["attributes"] == {"header": "Hi"}
    assert updated["before"]["attributes"] == {"header": "Hi"}
    assert updated["after"]["attributes"] == {"header": "Hello"}
    assert deleted["before"]["attributes"] == {"header": "Hello"} and deleted["after"] is None
    kinds = [e["kind"] for e in entries(client)]
    assert kinds.count("point") == 1 and kinds.count("segment") == 1
    assert [e["action"] for e in entries(client, kind="insight")] == ["delete", "create"]
    (recommender,) = entries(client, kind="recommender")
    assert recommender["after"]["recipe"]["field"] == "price"
    assert recommender["actor_id"] == key_id
    both = entries(client, kind=["point", "segment"])
    assert {e["kind"] for e in both} == {"point", "segment"}
    assert entries(client, since=4_000_000_000) == []


def test_keys_splits_and_privacy_requests_are_recorded_and_erasure_scrubs_the_person(
    app: Any, alice: tuple[TestClient, str]
) -> None:
    client, key_id = alice
    services = app.state.services
    made = client.app.state.services.keys.create(["decide"], label="shop")  # type: ignore[attr-defined]
    services.keys.revoke(made.id)
    key_rows = entries(client, kind="key")
    assert [(e["action"], e["target"]) for e in key_rows][:2] == [
        ("revoke", made.id),
        ("create", made.id),
    ]
    assert "key_hash" not in str(key_rows) and made.key not in str(key_rows)
    services.identity.import_records(
        [
            {
                "source": "crm",
                "source_record_id": "a1",
                "first_name": "Ann",
                "last_name": "Kay",
                "email": "ann@x.org",
            },
            {
                "source": "crm",
                "source_record_id": "a2",
                "first_name": "Ann",
                "last_name": "Kay",
                "email": "ann@x.org",
            },
        ]
    )
    split = client.post("/identity/split", json={"recordId": "crm:a2", "reason": "twins"})
    assert split.status_code == 200, split.text
    (row,) = entries(client, kind="identity_split")
    assert row["target"] == "crm:a2" and row["actor_id"] == key_id
    assert row["after"]["reason"] == "twins" and row["before"]["members"] == ["crm:a1", "crm:a2"]
    assert client.get("/privacy/individuals/crm:a2/export").status_code == 200
    uid = split.json()["unified_id"]
    (export,) = entries(client, kind="privacy")
    assert export["action"] == "export" and export["target"] == uid
    receipt = client.delete("/privacy/individuals/crm:a2").json()
    rows = entries(client, kind=["privacy", "identity_split"])
    assert [r["action"] for r in rows] == ["erase", "export", "split"]
    assert all(r["target"] == f"erased:{receipt['receipt_id']}" for r in rows)
    assert "crm:a2" not in str(rows) and uid not in str(rows)
    assert rows[0]["after"]["rows"]["source_records"] >= 1


def test_pages_follow_the_cursor_to_the_end(alice: tuple[TestClient, str]) -> None:
    client, _ = alice
    for k in range(5):
        assert client.put(f"/admin/points/p{k}", json={**POINT, "name": f"p{k}"}).status_code == 200
    seen: list[str] = []
    params: dict[str, Any] = {"kind": "point", "limit": 2}
    while True:
        page = client.get("/admin/audit", params=params).json()
        seen += [e["target"] for e in page["entries"]]
        if page["next_before"] is None:
            break
        params["before"] = page["next_before"]
    assert seen == ["p4", "p3", "p2", "p1", "p0"]
    for bad in ({"limit": 0}, {"limit": 501}, {"before": 0}, {"since": "soon"}):
        assert client.get("/admin/audit", params=bad).status_code == 422, bad


def test_the_audit_route_needs_an_admin_key(app: Any) -> None:
    with TestClient(app, raise_server_exceptions=False) as bare:
        assert bare.get("/admin/audit").status_code == 401
        for scope in ("public", "decide", "agent", "analyst", "pii"):
            key = mint_key(app, scope)
            got = bare.get("/admin/audit", headers={"Authorization": f"Bearer {key}"})
            assert got.status_code == 403, scope


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_the_console_page_shows_the_trail_to_admins_only(
    app: Any, alice: tuple[TestClient, str]
) -> None:
    client, key_id = alice
    assert client.put("/admin/points/home", json=POINT).status_code == 200
    for scope, status in (("admin", 200), ("analyst", 403)):
        browser = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
        key = mint_key(app, scope, label=f"console {scope}")
        token = _TOKEN.search(browser.get("/console/signin").text).group(1)  # type: ignore[union-attr]
        assert (
            browser.post("/console/signin", data={"key": key, "csrf_token": token}).status_code
            == 303
        )
        page = browser.get("/console/audit?kind=point")
        assert page.status_code == status
        if status == 200:
            assert key_id in page.text and "ops-alice" in page.text and "<script>" not in page.text
            assert "content-security-policy" in page.headers


def test_keys_made_with_the_cli_are_recorded_as_local(
    app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alice: tuple[TestClient, str]
) -> None:
    client, _ = alice
    monkeypatch.setenv("P13N_HOME", str(tmp_path))
    made = CliRunner().invoke(keys_app, ["create", "--scope", "decide", "--label", "cli-made"])
    assert made.exit_code == 0, made.output
    (row,) = [e for e in entries(client, kind="key") if e["after"]["label"] == "cli-made"]
    assert row["actor_id"] == "local" and row["action"] == "create"
