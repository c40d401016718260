"""Identity over HTTP (the router mounted on the app) and the identity CLI commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import typer
from _client import api_client, mint_key
from _database import Database
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from p13n.server.app import create_app
from p13n.server.cli_identity import identity_app, individuals_import


@pytest.fixture
def client(tmp_path: Path, e2e_db: Database) -> Iterator[TestClient]:
    """The app exactly as `create_app` builds it: its own routes, its own auth."""
    with api_client(create_app(e2e_db.settings(tmp_path))) as c:
        yield c


def cli() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(identity_app, name="identity")
    importer = typer.Typer()
    importer.command("individuals")(individuals_import)
    root.add_typer(importer, name="import")
    return root


def test_cli_import_resolve_export_show_and_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, e2e_db: Database
) -> None:
    monkeypatch.setenv("P13N_HOME", str(tmp_path / "home"))  # the store: from e2e_db
    people = tmp_path / "people.csv"
    people.write_text(
        "id,given,surname,mail,phone\n1,Ann,Kay,ann@x.com,\n2,Anne,Kay,ANN@x.com,\n3,Bob,Lu,bob@x,12\n,No,Id,,\n"
    )
    runner = CliRunner()
    mapping = ("id=source_record_id", "given=first_name", "surname=last_name", "mail=email")
    maps = [arg for m in mapping for arg in ("--map", m)]
    r = runner.invoke(cli(), ["import", "individuals", str(people), *maps, "--source", "crm"])
    assert r.exit_code == 0, r.output
    said = " ".join(r.stdout.split())
    assert "3 accepted (1 flagged" in said and "1 rejected" in said
    r = runner.invoke(cli(), ["identity", "resolve"])
    assert r.exit_code == 0 and "3 records -> 2 individuals" in " ".join(r.stdout.split())
    out = tmp_path / "ids.csv"
    assert runner.invoke(cli(), ["identity", "export", str(out)]).exit_code == 0
    assert out.read_text().splitlines()[0] == "source_record_id,unified_individual_id,source"
    shown = orjson.loads(runner.invoke(cli(), ["identity", "show", "ann@x.com"]).stdout)
    assert {r["id"] for r in shown["source_records"]} == {"crm:1", "crm:2"}
    split = runner.invoke(cli(), ["identity", "split", "crm:2", "--reason", "test"])
    assert split.exit_code == 0 and orjson.loads(split.stdout)["kept_apart_from"] == ["crm:1"]
    bad = runner.invoke(cli(), ["identity", "show", "nobody"])
    assert bad.exit_code == 1 and "nobody is known" in " ".join(bad.stderr.split())
    rules = tmp_path / "rules.yaml"
    rules.write_text("name: bad\nrules: []\n")
    bad = runner.invoke(cli(), ["identity", "rules", "put", str(rules)])
    assert bad.exit_code == 1 and "does not validate" in " ".join(bad.stderr.split())


def test_http_lineage_split_resolve_and_ruleset_admin(client: TestClient, tmp_path: Path) -> None:
    from p13n.domain.services import IdentityService

    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    IdentityService(engine).import_records(
        [
            {
                "source": "crm",
                "source_record_id": "1",
                "first_name": "Ann",
                "last_name": "Kay",
                "email": "ann@x.com",
            },
            {
                "source": "crm",
                "source_record_id": "2",
                "first_name": "Ann",
                "last_name": "Kay",
                "email": "ann@x.com",
            },
        ]
    )
    r = client.get("/identity/crm:1")
    assert r.status_code == 200
    body = r.json()
    assert len(body["source_records"]) == 2 and body["links"][0]["rule"] == "Name and email"
    assert client.get("/identity/ann@x.com").json()["unified_id"] == body["unified_id"]
    assert client.get("/identity/nobody").status_code == 404
    r = client.post(
        "/identity/split", json={"source": "crm", "sourceRecordId": "2", "reason": "twins"}
    )
    assert r.status_code == 200 and r.json()["from_unified_id"] == body["unified_id"]
    assert client.post("/identity/split", json={"recordId": "crm:2"}).status_code == 409
    assert client.post("/identity/split", json={}).status_code == 400
    assert client.post("/admin/identity:resolve").json()["clusters"] == 2
    rules = client.get("/admin/identity/rulesets").json()
    assert rules["active"] == "default"
    mine = {**rules["rulesets"][0], "name": "mine", "probabilistic": {"enabled": False}}
    assert client.put("/admin/identity/rulesets/mine", json=mine).status_code == 200
    bad = {**mine, "rules": [{"name": "r", "criteria": [{"field": "email", "method": "Fuzzy"}]}]}
    assert client.put("/admin/identity/rulesets/mine", json=bad).status_code == 422
    assert client.get("/admin/identity/rulesets/mine").json()["probabilistic"]["enabled"] is False
    assert client.post("/admin/identity/rulesets/mine:activate").status_code == 200
    assert client.delete("/admin/identity/rulesets/mine").status_code == 409
    assert client.post("/admin/identity/rulesets/default:activate").status_code == 200
    assert client.delete("/admin/identity/rulesets/mine").status_code == 200
    assert client.get("/admin/identity/rulesets/mine").status_code == 404


def test_the_identity_routes_are_admin_only(client: TestClient) -> None:
    app = client.app
    decide = {"Authorization": f"Bearer {mint_key(app, 'decide', 'agent')}"}  # type: ignore[arg-type]
    admin = {"Authorization": f"Bearer {mint_key(app, 'admin')}"}  # type: ignore[arg-type]
    for method, path in (
        ("GET", "/identity/nobody"),
        ("POST", "/identity/split"),
        ("POST", "/admin/identity:resolve"),
        ("GET", "/admin/identity/rulesets"),
    ):
        assert client.request(method, path, headers={"Authorization": ""}).status_code == 401
        assert client.request(method, path, headers=decide).status_code == 403
    assert client.get("/identity/nobody", headers=admin).status_code == 404
    assert client.get("/admin/identity/rulesets", headers=admin).status_code == 200
