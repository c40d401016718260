"""The one admin CRUD of every configuration kind: the same answers, errors and documentation
for insights, segments, recommenders, points, decisions and experiments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _client import api_client
from fastapi.testclient import TestClient

from p13n.server.app import create_app
from p13n.server.settings import Settings

KINDS = ["insights", "segments", "recommenders", "points", "decisions", "experiments"]
POINT = {"name": "home_banner", "contentSchema": {"type": "ManualContent"}}
DECISION = {"name": "hello", "point": "home_banner", "attributes": {"header": "Hi"}}
EXPERIMENT = {
    "name": "banner_test",
    "point": "home_banner",
    "primaryMetric": "Click-Through Rate",
    "cohorts": [
        {"id": "control", "weight": 50, "deferToDecisions": True},
        {"id": "hello", "weight": 50, "decision": "hello"},
    ],
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with api_client(create_app(Settings(home=tmp_path))) as c:
        for path, body in (
            ("/admin/points/home_banner", POINT),
            ("/admin/decisions/hello", DECISION),
            ("/admin/experiments/banner_test", EXPERIMENT),
        ):
            assert c.put(path, json=body).status_code == 200
        yield c


def _first(client: TestClient, kind: str) -> dict[str, Any]:
    listed = client.get(f"/admin/{kind}")
    assert listed.status_code == 200
    first: dict[str, Any] = listed.json()[0]
    return first


@pytest.mark.parametrize("kind", KINDS)
def test_a_put_whose_path_and_body_disagree_is_400_naming_both(
    client: TestClient, kind: str
) -> None:
    body = _first(client, kind)
    answer = client.put(f"/admin/{kind}/zz", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        f"the path says 'zz' but the body's name is '{body['name']}'. Make them match."
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_put_of_a_stored_object_answers_its_next_version_and_get_reads_it_back(
    client: TestClient, kind: str
) -> None:
    body = _first(client, kind)
    answer = client.put(f"/admin/{kind}/{body['name']}", json=body)
    assert answer.status_code == 200
    assert answer.json()["name"] == body["name"] and answer.json()["version"] == 2
    assert client.get(f"/admin/{kind}/{body['name']}").json() == body


def test_decisioning_puts_echo_the_stored_object_and_others_do_not(client: TestClient) -> None:
    point = client.put("/admin/points/home_banner", json=POINT).json()
    assert point["point"] == client.get("/admin/points/home_banner").json()
    assert point["point"]["id"]  # filled in: the stored object, not the body
    insight = _first(client, "insights")
    assert set(client.put(f"/admin/insights/{insight['name']}", json=insight).json()) == {
        "name",
        "version",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_get_and_delete_of_an_unknown_name_are_404(client: TestClient, kind: str) -> None:
    assert client.get(f"/admin/{kind}/nope").status_code == 404
    assert client.delete(f"/admin/{kind}/nope").status_code == 404


def test_deleting_answers_the_name_and_the_object_is_gone(client: TestClient) -> None:
    assert client.delete("/admin/experiments/banner_test").json() == {"deleted": "banner_test"}
    assert client.get("/admin/experiments/banner_test").status_code == 404


def test_the_decisions_list_filters_by_point_and_an_unknown_point_is_404(
    client: TestClient,
) -> None:
    assert [d["name"] for d in client.get("/admin/decisions?point=home_banner").json()] == ["hello"]
    assert client.get("/admin/decisions?point=nope").status_code == 404


@pytest.mark.parametrize("kind", KINDS)
def test_the_openapi_document_lists_every_status_a_config_route_returns(
    client: TestClient, kind: str
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    one = paths[f"/admin/{kind}/{{name}}"]
    assert {"404"} <= set(one["get"]["responses"])
    assert {"400", "422"} <= set(one["put"]["responses"])
    assert {"404"} <= set(one["delete"]["responses"])
    assert one["delete"]["responses"].keys() & {"400", "409"}
    assert "200" in paths[f"/admin/{kind}"]["get"]["responses"]
