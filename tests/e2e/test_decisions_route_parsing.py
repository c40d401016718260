"""The decision routes parse their body themselves (the hot path of issue 5): what a declared
pydantic body parameter gave for free must still hold — 422 with field locations, the request
schema in the OpenAPI document, and the same answer with or without a content type."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _client import api_client
from _database import Database
from fastapi.testclient import TestClient

from p13n.domain.services import Engine
from p13n.server.app import create_app
from p13n.server.settings import Settings

BANNER = {"name": "home_banner", "contentSchema": {"type": "ManualContent"}}
HELLO = {
    "name": "hello",
    "point": "home_banner",
    "state": "Live",
    "attributes": {"header": "Hello {{{firstName|there}}}"},
}
PATHS = ["/personalization/decisions", "/personalization/authenticated/decisions"]


@pytest.fixture
def client(tmp_path: Path, e2e_db: Database) -> Iterator[TestClient]:
    engine = Engine.open(e2e_db.url_for(tmp_path))
    try:
        with api_client(create_app(Settings(home=tmp_path), engine=engine)) as c:
            assert c.put("/admin/points/home_banner", json=BANNER).status_code == 200
            assert c.put("/admin/decisions/hello", json=HELLO).status_code == 200
            yield c
    finally:
        engine.close()


@pytest.mark.parametrize("path", PATHS)
def test_a_body_that_is_not_json_is_a_422_naming_the_problem(client: TestClient, path: str) -> None:
    r = client.post(path, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert "invalid request" in r.json()["error"] and "JSON" in r.json()["error"]


@pytest.mark.parametrize("path", PATHS)
def test_a_wrong_field_type_is_a_422_whose_location_names_the_field_not_body(
    client: TestClient, path: str
) -> None:
    r = client.post(path, json={"personalizationPoints": [{"name": 5}]})
    assert r.status_code == 422, r.text
    fields = [d["field"] for d in r.json()["details"]]
    assert fields == ["personalizationPoints.0.name"]


def test_an_empty_body_is_a_422_not_a_500(client: TestClient) -> None:
    r = client.post(PATHS[0], content=b"")
    assert r.status_code == 422, r.text


def test_a_json_body_without_a_content_type_is_answered_like_one_with_it(
    client: TestClient,
) -> None:
    body = b'{"personalizationPoints": [{"name": "home_banner"}]}'
    plain = client.post(PATHS[0], content=body)
    typed = client.post(PATHS[0], content=body, headers={"content-type": "application/json"})
    assert plain.status_code == typed.status_code == 200, plain.text
    assert plain.json()["personalizations"][0]["attributes"] == {"header": "Hello there"}


def test_the_openapi_document_shows_the_decision_request_schema_without_dangling_refs(
    client: TestClient,
) -> None:
    doc = client.get("/openapi.json").json()
    for path in PATHS:
        schema = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert "personalizationPoints" in schema["properties"]
        assert "$defs" not in str(schema)
        assert "context" in schema["properties"]
