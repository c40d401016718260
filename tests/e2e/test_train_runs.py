"""`p13n train` runs as a user sees them: the printed report, `--report`, bad options, and
`GET /admin/models` over HTTP (admin scope)."""

from __future__ import annotations

import json
from pathlib import Path

from _client import api_client, mint_key
from _database import Database
from fastapi.testclient import TestClient
from test_recommend_cli import home, invoke  # noqa: F401  (the fixture: a small tenant)

from p13n.domain.errors import InvalidInput
from p13n.domain.services import TrainOptions
from p13n.server.app import create_app


def test_train_prints_the_run_and_its_reason_then_a_json_line(home: Path) -> None:  # noqa: F811
    r = invoke(home, "train")
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    last = json.loads(lines[-1])
    assert last["status"] == "promoted" and last["served"] == "ours"
    assert any("too little data to tune" in ln for ln in lines[:-1])
    runs = sorted((home / "models" / "runs").glob("*.json"))
    assert [json.loads(p.read_text())["id"] for p in runs] == [last["run"]]


def test_train_report_lists_every_run_without_training(home: Path) -> None:  # noqa: F811
    first = json.loads(invoke(home, "train").stdout.strip().splitlines()[-1])["run"]
    second = json.loads(invoke(home, "train", "--no-tune").stdout.strip().splitlines()[-1])["run"]
    r = invoke(home, "train", "--report")
    assert r.exit_code == 0, r.output
    assert r.stdout.index(f"run {first}") < r.stdout.index(f"run {second}")
    assert len(list((home / "models" / "runs").glob("*.json"))) == 2


def test_an_unknown_split_is_refused_with_the_choices(home: Path) -> None:  # noqa: F811
    r = invoke(home, "train", "--split", "sideways")
    assert isinstance(r.exception, InvalidInput)
    assert "temporal or random" in str(r.exception)
    assert not (home / "models" / "runs").exists()


def test_admin_models_shows_the_runs_to_admins_only(
    tmp_path: Path,
    e2e_db: Database,
) -> None:
    app = create_app(e2e_db.settings(tmp_path))
    with api_client(app) as c:
        assert c.get("/admin/models").json() == {"serving": None, "runs": []}
        c.post("/items:batch", json={"items": [{"id": f"i{k}", "name": f"n{k}"} for k in range(4)]})
        events = [
            {
                "eventId": f"e{p}{k}",
                "individualId": f"p{p}",
                "interaction": "View Catalog Object",
                "itemId": f"i{(p + k) % 4}",
                "dateTime": "2026-11-20T10:00:00Z",
            }
            for p in range(5)
            for k in range(2)
        ]
        assert c.post("/events", json={"events": events}).status_code == 200
        service = app.state.services.recommend
        service.train(options=TrainOptions())
        body = c.get("/admin/models").json()
        assert body["serving"] == body["runs"][0]["id"]
        assert body["runs"][0]["status"] == "promoted"
        assert body["runs"][0]["params"]["l2"] == service.params.l2
        public = TestClient(app, raise_server_exceptions=False)
        public.headers["Authorization"] = f"Bearer {mint_key(app, 'agent')}"
        assert public.get("/admin/models").status_code == 403
