"""The Decisioning REST API, the assignment API and decisioning admin CRUD, through the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _client import api_client
from _database import Database
from fastapi.testclient import TestClient

from p13n.domain.ingest.items import Item
from p13n.domain.services import Engine
from p13n.domain.store.log_table import PersonalizationLogStore
from p13n.server.app import create_app
from p13n.server.settings import Settings

NOW = 1_780_000_000.0
BANNER = {"name": "home_banner", "label": "Home banner", "contentSchema": {"type": "ManualContent"}}
CAROUSEL = {
    "name": "home_recommendations",
    "contentSchema": {
        "type": "Recommendations",
        "itemFields": ["id", "name", "price"],
        "attributes": ["title"],
    },
    "maxItems": 4,
}
HELLO = {
    "name": "hello",
    "point": "home_banner",
    "state": "Live",
    "attributes": {"header": "Hello {{{firstName|there}}}"},
}
NEWEST = {
    "name": "newest_first",
    "point": "home_recommendations",
    "state": "Live",
    "recommender": "newest",
    "attributes": {"title": "New in"},
}
# A request as the compatibility reference writes it.
REFERENCE_REQUEST = {
    "context": {
        "individualId": "device-123",
        "dataspace": "default",
        "anchorId": "item-3",
        "anchorType": "Product",
        "requestUrl": "https://shop.example.com/p/item-3?utm_source=mail&utm_campaign=spring",
        "pageType": "product",
        "locale": "en_US",
        "channel": "web",
        "correlationId": "corr-1",
        "colour": "red",
    },
    "personalizationPoints": [{"name": "home_banner"}, {"name": "home_recommendations"}],
    "executionFlags": ["EnableDiagnostics"],
}


@pytest.fixture
def engine(tmp_path: Path, e2e_db: Database) -> Iterator[Engine]:
    engine = Engine.open(e2e_db.url_for(tmp_path))
    engine.upsert_items(
        [Item(id=f"item-{k}", name=f"Item {k}", price=float(k), category="A") for k in range(10)]
    )
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def client(tmp_path: Path, engine: Engine) -> Iterator[TestClient]:
    with api_client(create_app(Settings(home=tmp_path), engine=engine)) as c:
        for path, body in (
            ("/admin/points/home_banner", BANNER),
            ("/admin/points/home_recommendations", CAROUSEL),
            ("/admin/decisions/hello", HELLO),
            ("/admin/decisions/newest_first", NEWEST),
        ):
            r = c.put(path, json=body)
            assert r.status_code == 200, r.text
        yield c


ENDPOINTS = ["/personalization/decisions", "/personalization/v1/decisions"]
AUTH_ENDPOINTS = [
    "/personalization/authenticated/decisions",
    "/personalization/v1/authenticated/decisions",
]


@pytest.mark.parametrize("path", ENDPOINTS + AUTH_ENDPOINTS)
def test_a_reference_request_works_unchanged_on_every_variant(
    client: TestClient, path: str
) -> None:
    r = client.post(path, json=REFERENCE_REQUEST)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"personalizations", "requestId"}
    banner, recs = body["personalizations"]
    assert banner["personalizationPointName"] == "home_banner" and banner["attributes"] == {
        "header": "Hello there"
    }
    assert banner["data"] == [] and banner["personalizationId"] and banner["personalizationPointId"]
    assert recs["attributes"] == {"title": "New in"} and len(recs["data"]) == 4
    assert recs["data"][0]["personalizationContentId"] == recs["personalizationId"] + ":0"
    assert set(recs["data"][0]) == {"personalizationContentId", "id", "name", "price"}
    authenticated = path in AUTH_ENDPOINTS
    assert ("diagnostics" in body) is authenticated
    assert ("diagnostics" in banner) is authenticated
    if authenticated:
        assert [d["code"] for d in body["diagnostics"]] == [512]  # device-123 never sent an event
        assert banner["diagnostics"][0] == {
            "code": 200,
            "name": "OK",
            "description": "The decision was made.",
        }
        assert recs["trace"]["decision"] == "newest_first"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_forced_decision_on_the_public_endpoint_is_400_with_diagnostic_408(
    client: TestClient, path: str
) -> None:
    r = client.post(
        path, json={"personalizationPoints": [{"name": "home_banner", "decisionId": "hello"}]}
    )
    assert r.status_code == 400
    assert r.json()["diagnostics"][0]["code"] == 408 and "authenticated" in r.json()["error"]


def test_a_forced_decision_on_the_authenticated_endpoint_is_served(client: TestClient) -> None:
    r = client.post(
        AUTH_ENDPOINTS[0],
        json={"personalizationPoints": [{"name": "home_banner", "decisionId": "hello"}]},
    )
    assert (
        r.status_code == 200
        and r.json()["personalizations"][0]["attributes"]["header"] == "Hello there"
    )


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (
            {"context": {"individualId": "x"}, "personalizationPoints": []},
            400,
            "names no personalization point",
        ),
        (
            {"personalizationPoints": [{"name": "home_banner"}], "profile": {"segments": [1, 2]}},
            400,
            "segment names",
        ),
        (
            {"personalizationPoints": [{"name": "home_banner"}], "profile": {"insights": "lots"}},
            400,
            "wrong shape",
        ),
        ({"personalizationPoints": [{"name": "home_banner"}] * 26}, 413, "at most 25"),
        (
            {"personalizationPoints": [{"name": "home_banner"}], "executionFlags": ["FastMode"]},
            422,
            "executionFlags",
        ),
        ({"personalizationPoints": "home_banner"}, 422, "personalizationPoints"),
        (
            {
                "personalizationPoints": [{"name": "home_banner"}],
                "context": {"requestUrl": "x" * 300_000},
            },
            413,
            "bytes",
        ),
    ],
)
def test_bad_requests_get_a_clear_4xx_never_a_500(
    client: TestClient, body: dict[str, Any], status: int, says: str
) -> None:
    r = client.post(AUTH_ENDPOINTS[0], json=body)
    assert r.status_code == status, r.text
    assert says in r.text


def test_no_points_is_diagnostic_403(client: TestClient) -> None:
    r = client.post(AUTH_ENDPOINTS[0], json={"personalizationPoints": []})
    assert r.json()["diagnostics"] == [
        {
            "code": 403,
            "name": "NO_POINTS_REQUEST",
            "description": "The request names no personalization point.",
        }
    ]


def test_unknown_points_are_answered_with_401_and_402_diagnostics(client: TestClient) -> None:
    r = client.post(
        AUTH_ENDPOINTS[0], json={"personalizationPoints": [{"name": "ghost"}, {"decisionId": None}]}
    )
    assert r.status_code == 200
    assert [p["diagnostics"][0]["code"] for p in r.json()["personalizations"]] == [401, 402]


def test_admin_crud_validates_and_refuses_conflicts(client: TestClient) -> None:
    assert [p["name"] for p in client.get("/admin/points").json()] == [
        "home_banner",
        "home_recommendations",
    ]
    assert client.get("/admin/points/ghost").status_code == 404
    assert (
        client.get("/admin/decisions", params={"point": "home_banner"}).json()[0]["priority"] == 1
    )
    bad_targeting = {
        **HELLO,
        "name": "bad",
        "targeting": {"type": "All", "rules": [{"source": "schedule", "timeZone": "Nowhere/Town"}]},
    }
    r = client.put("/admin/decisions/bad", json=bad_targeting)
    assert r.status_code == 422 and "unknown time zone" in r.text
    r = client.put(
        "/admin/decisions/bad",
        json={
            **HELLO,
            "name": "bad",
            "targeting": {
                "type": "All",
                "rules": [{"source": "segment", "field": "ghosts", "operator": "Has Value"}],
            },
        },
    )
    assert r.status_code == 400 and "segment ghosts" in r.text
    assert client.put("/admin/decisions/other", json=HELLO).status_code == 400  # name mismatch
    assert client.delete("/admin/points/home_banner").status_code == 409
    updated = client.put(
        "/admin/decisions/hello", json={**HELLO, "attributes": {"header": "Hey"}}
    ).json()
    assert updated["version"] == 2 and updated["decision"]["priority"] == 1
    assert client.delete("/admin/decisions/hello").json() == {"deleted": "hello"}
    assert client.delete("/admin/points/home_banner").status_code == 200


def test_experiment_lifecycle_over_http_and_the_assignment_api(client: TestClient) -> None:
    experiment = {
        "name": "carousel_test",
        "point": "home_recommendations",
        "primaryMetric": "Click-Through Rate",
        "cohorts": [
            {"id": "control", "weight": 50, "deferToDecisions": True},
            {"id": "sellers", "weight": 50, "recommender": "top-sellers"},
        ],
    }
    assert (
        client.put("/admin/experiments/carousel_test", json=experiment).json()["experiment"][
            "status"
        ]
        == "Created"
    )
    assert (
        client.put(
            "/admin/experiments/carousel_test",
            json={
                **experiment,
                "cohorts": [
                    {"id": "a", "weight": 60, "deferToDecisions": True},
                    {"id": "b", "weight": 50, "recommender": "x"},
                ],
            },
        ).status_code
        == 422
    )
    assert client.post("/admin/experiments/carousel_test:stop").status_code == 409
    assert client.post("/admin/experiments/carousel_test:launch").status_code == 404
    started = client.post("/admin/experiments/carousel_test:start").json()
    assert started["status"] == "Started" and started["startedAt"]
    ask = {"context": {"individualId": "someone"}, "experiments": ["carousel_test"]}
    first = client.post("/experimentation/v1/authenticated/assignment", json=ask).json()
    again = client.post("/experimentation/v1/authenticated/assignment", json=ask).json()
    assert first["variableAssignments"] == again["variableAssignments"]
    assert first["variableAssignments"][0]["experimentName"] == "carousel_test"
    assert first["variableAssignments"][0]["variableId"] in ("control", "sellers")
    override = {
        **ask,
        "experimentsOverride": [{"experiment": "carousel_test", "cohortId": "sellers"}],
    }
    assert (
        client.post("/experimentation/v1/authenticated/assignment", json=override).status_code
        == 400
    )
    forced = client.post(
        "/experimentation/v1/authenticated/assignment",
        json={**override, "executionFlags": ["TestMode"]},
    )
    assert forced.json()["variableAssignments"][0]["variableId"] == "sellers"
    assert client.delete("/admin/experiments/carousel_test").status_code == 409
    assert client.post("/admin/experiments/carousel_test:stop").json()["status"] == "Stopped"
    assert client.post("/admin/experiments/carousel_test:archive").json()["status"] == "Archived"
    assert client.post("/admin/experiments/carousel_test:start").status_code == 409


def test_the_log_answers_with_engagements_and_is_written_out_on_shutdown(
    tmp_path: Path, engine: Engine
) -> None:
    app = create_app(Settings(home=tmp_path), engine=engine)
    with api_client(app) as c:
        for path, body in (
            ("/admin/points/home_recommendations", CAROUSEL),
            ("/admin/decisions/newest_first", NEWEST),
        ):
            assert c.put(path, json=body).status_code == 200
        shown = c.post(
            ENDPOINTS[0],
            json={
                "context": {"individualId": "dev-1"},
                "personalizationPoints": [{"name": "home_recommendations"}],
            },
        ).json()
        p = shown["personalizations"][0]
        click = {
            "eventId": "click-1",
            "deviceId": "dev-1",
            "interaction": "catalog-object-click",
            "itemId": p["data"][0]["id"],
            "personalizationId": p["personalizationId"],
            "personalizationContentId": p["data"][0]["personalizationContentId"],
        }
        assert c.post("/events", json=click).status_code == 200
        app.state.services.decisions.log.flush()
        entry = c.get(f"/admin/personalizations/{p['personalizationId']}").json()
        assert entry["decision"] == "newest_first" and entry["request_id"] == shown["requestId"]
        assert (
            entry["engagements"][0]["personalizationContentId"]
            == p["data"][0]["personalizationContentId"]
        )
        assert c.get("/admin/personalizations/nope").status_code == 404
        for _ in range(300):
            c.post(ENDPOINTS[0], json={"personalizationPoints": [{"name": "home_recommendations"}]})
    assert PersonalizationLogStore(engine.store).count() == 301
