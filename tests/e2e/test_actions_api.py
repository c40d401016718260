"""POST /actions/{name}: the agent actions over REST, validated by their models, scoped by key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _client import api_client, mint_key
from _database import Database
from _strict_subsets import anthropic_problems, openai_problems
from _tools_tenant import AVA_EMAIL, build
from fastapi.testclient import TestClient

from p13n.server.app import create_app
from p13n.tools import action_names


@pytest.fixture
def client(tmp_path: Path, e2e_db: Database) -> Iterator[TestClient]:
    engine, _ = build(e2e_db.url_for(tmp_path), tmp_path, None)
    app = create_app(e2e_db.settings(tmp_path, warm_profiles=0), engine=engine)
    with api_client(app) as c:
        yield c
    engine.close()


def test_the_actions_are_listed_with_their_schemas(client: TestClient) -> None:
    listed = client.get("/actions").json()["actions"]
    assert [a["name"] for a in listed] == action_names()
    for action in listed:
        assert action["input_schema"]["type"] == "object" and action["output_schema"]
        assert set(action["hints"]) == {"read_only", "idempotent", "destructive", "open_world"}


def test_the_strict_listing_has_schemas_for_strict_tool_calling(client: TestClient) -> None:
    lenient = {a["name"]: a for a in client.get("/actions").json()["actions"]}
    strict = {
        a["name"]: a for a in client.get("/actions", params={"strict": "true"}).json()["actions"]
    }
    assert lenient["get_recommendations"]["input_schema"]["properties"]["limit"]["default"] == 6
    for action in strict.values():
        assert openai_problems(action["input_schema"]) == []
        assert anthropic_problems(action["input_schema"]) == []


def test_an_action_runs_with_the_body_as_its_arguments(client: TestClient) -> None:
    response = client.post(
        "/actions/get_recommendations", json={"individual": AVA_EMAIL, "limit": 2, "filters": None}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["personalizationId"] and 1 <= len(body["items"]) <= 2


def test_a_full_scope_key_sees_personal_data_and_an_agent_key_sees_it_masked(
    client: TestClient,
) -> None:
    clear = client.post("/actions/get_context", json={"individual": "ava-1"}).json()
    assert clear["contact"]["emails"] == [AVA_EMAIL]
    agent = mint_key(client.app, "agent")  # type: ignore[arg-type]
    masked = client.post(
        "/actions/get_context",
        json={"individual": "ava-1"},
        headers={"Authorization": f"Bearer {agent}"},
    ).json()
    assert masked["contact"]["emails"] == ["a***@e***.com"]


def test_a_key_without_the_agent_scope_is_refused(client: TestClient) -> None:
    decide = mint_key(client.app, "decide")  # type: ignore[arg-type]
    response = client.post(
        "/actions/get_context",
        json={"individual": "ava-1"},
        headers={"Authorization": f"Bearer {decide}"},
    )
    assert response.status_code == 403 and "agent" in response.json()["error"]


def test_bad_input_is_a_4xx_that_says_what_to_fix(client: TestClient) -> None:
    r = client.post("/actions/get_recommendations", json={"limit": "lots"})
    assert r.status_code == 400 and "limit" in r.json()["error"]
    r = client.post(
        "/actions/record_interaction",
        json={"individual": "nobody", "kind": "item_clicked", "item_id": "ghost"},
    )
    assert r.status_code == 404 and "no item 'ghost'" in r.json()["error"]
    r = client.post("/actions/get_recommendations", json={"limit": 99})  # clamped, and said
    assert r.status_code == 200 and r.json()["interpreted"]["clamped"]
    r = client.post("/actions/get_everything", json={})
    assert r.status_code == 404 and "get_context" in r.json()["error"]
    r = client.post(
        "/actions/get_context", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = client.post("/actions/get_context", json=["ava-1"])
    assert r.status_code == 400 and "JSON object" in r.json()["error"]
