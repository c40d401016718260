"""The REST face through FastAPI's test client: events, profiles, items, admin, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _client import api_client
from _database import Database
from fastapi.testclient import TestClient

from p13n.server.app import create_app


@pytest.fixture
def client(tmp_path: Path, e2e_db: Database) -> Iterator[TestClient]:
    with api_client(create_app(e2e_db.settings(tmp_path))) as c:
        c.put(
            "/items/a",
            json={"id": "a", "name": "Top", "category": "Women/Tops", "brand": "Nike", "price": 20},
        )
        yield c


def view(event_id: str, device: str = "d1", item: str = "a", **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "eventId": event_id,
        "deviceId": device,
        "interaction": {"name": "View Catalog Object", "catalogObject": {"id": item}},
        "consents": [{"purpose": "Tracking", "status": "Opt In"}],
    }
    raw.update(extra)
    return raw


def test_the_app_stores_in_the_database_under_test(
    client: TestClient, tmp_path: Path, e2e_db: Database
) -> None:
    """The PostgreSQL run really runs on PostgreSQL: the dialect, and the row read back."""
    assert client.post("/events", json=view("e-db")).status_code == 200
    engine: Any = client.app.state.services.engine  # type: ignore[attr-defined]
    with engine.store.transaction() as conn:
        assert conn.dialect.name == e2e_db.dialect
    assert e2e_db.count("events", tmp_path) == 1
    assert (tmp_path / "p13n.db").exists() == (e2e_db.dialect == "sqlite")


def test_one_event_is_accepted_and_readable_at_once(client: TestClient) -> None:
    r = client.post("/events", json=view("e1"))
    assert r.status_code == 200 and r.json()["accepted"] == 1
    profile = client.get("/profiles/d1").json()
    assert profile["engagement"][0]["item_id"] == "a"
    assert "state" not in profile
    assert client.get(f"/profiles/{profile['unified_id']}").status_code == 200
    assert client.get("/items/a").json()["insights"]["views_total"] == 1


def test_a_partial_batch_answers_each_event_and_keeps_the_good_ones(client: TestClient) -> None:
    body = {
        "events": [
            view("e1"),
            {"deviceId": "d1", "interaction": {"name": 5}},
            view("e1"),
            view("e2", item="new-item"),
            {"individualId": "c9", "interaction": "Watched Video"},
        ]
    }
    r = client.post("/events", json=body)
    assert r.status_code == 200
    statuses = [(x["index"], x["status"]) for x in r.json()["results"]]
    assert statuses == [
        (0, "accepted"),
        (1, "rejected"),
        (2, "duplicate"),
        (3, "accepted"),
        (4, "accepted"),
    ]
    assert "interaction.name" in r.json()["results"][1]["reason"]
    assert client.get("/items/new-item").json()["placeholder"] is True
    assert client.get("/profiles/c9").json()["engagement"][0]["interaction"] == "Watched Video"
    assert client.get("/profiles/d1").json()["event_count"] == 2


@pytest.mark.parametrize(
    ("event", "needle"),
    [
        ({"interaction": "view", "itemId": "a"}, "names nobody"),
        (
            {"individualId": "c", "interaction": "view", "itemId": "a", "quantity": "two"},
            "quantity",
        ),
        (
            {
                "individualId": "c",
                "interaction": "view",
                "itemId": "a",
                "dateTime": "2199-01-01T00:00:00Z",
            },
            "future",
        ),
    ],
)
def test_a_rejected_event_gets_a_400_with_its_reason(
    client: TestClient, event: dict[str, Any], needle: str
) -> None:
    r = client.post("/events", json=event)
    assert r.status_code == 400
    assert needle in r.json()["results"][0]["reason"]


def test_malformed_json_is_a_400(client: TestClient) -> None:
    r = client.post(
        "/events", content=b'{"eventId": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]


def test_a_wrong_content_type_is_a_415(client: TestClient) -> None:
    r = client.post(
        "/events",
        content=b"eventId=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415 and "application/json" in r.json()["error"]


def test_oversized_payloads_are_413_and_store_nothing(client: TestClient) -> None:
    too_many = {"events": [view(f"e{i}") for i in range(1001)]}
    r = client.post("/events", json=too_many)
    assert r.status_code == 413 and "1000" in r.json()["error"]
    big = view("big", attributes={"blob": "x" * 1_100_000})
    r = client.post(
        "/events", content=orjson.dumps(big), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert client.get("/profiles/d1").status_code == 404


def test_an_unknown_person_is_a_404_that_says_what_to_use(client: TestClient) -> None:
    r = client.get("/profiles/nobody")
    assert r.status_code == 404 and "device id" in r.json()["error"]


def test_items_can_be_put_in_batches_and_mismatched_ids_are_refused(client: TestClient) -> None:
    r = client.post(
        "/items:batch",
        json={"items": [{"id": "x", "price": 3}, {"id": "y", "category": " A / B "}]},
    )
    assert r.status_code == 200 and r.json()["upserted"] == 2
    assert client.get("/items/y").json()["category"] == "A/B"
    assert client.put("/items/z", json={"id": "other"}).status_code == 400
    assert client.put("/items/z", json={"id": "z", "price": -1}).status_code == 422
    assert client.get("/items/nope").status_code == 404


def test_admin_can_create_list_and_delete_a_segment(client: TestClient) -> None:
    seg = {
        "name": "nike_fans",
        "description": "likes Nike",
        "rule": {
            "type": "All",
            "rules": [
                {
                    "source": "affinity",
                    "field": "brand",
                    "key": "Nike",
                    "operator": "Is Greater Than Or Equal To",
                    "value": 50,
                }
            ],
        },
    }
    client.post("/events", json=view("e1"))
    r = client.put("/admin/segments/nike_fans", json=seg)
    assert r.status_code == 200, r.text
    assert "nike_fans" in client.get("/profiles/d1").json()["segments"]
    assert any(s["name"] == "nike_fans" for s in client.get("/admin/segments").json())
    bad = {**seg, "rule": {"type": "Most", "rules": []}}
    assert client.put("/admin/segments/nike_fans", json=bad).status_code == 422
    assert client.delete("/admin/segments/nike_fans").status_code == 200
    after = client.get("/profiles/d1").json()
    assert "nike_fans" not in after["segments"]
    assert after["segment_exits"][-1]["segment"] == "nike_fans"
    assert client.delete("/admin/segments/nike_fans").status_code == 404


def test_admin_insight_is_backfilled_from_history(client: TestClient) -> None:
    client.post("/events", json={"events": [view("e1"), view("e2")]})
    definition = {"name": "views_all", "measure": "count", "interactions": ["View Catalog Object"]}
    r = client.put("/admin/insights/views_all", json=definition)
    assert r.status_code == 200, r.text
    assert client.get("/profiles/d1").json()["insights"]["views_all"] == 2
    assert (
        client.put("/admin/insights/x", json={"name": "x", "measure": "median"}).status_code == 422
    )


def test_health_says_whether_the_embedding_model_is_still_loading(client: TestClient) -> None:
    """A server warms MiniLM in the background at start; load tests wait for `ready`."""
    from p13n import __version__
    from p13n.server.bootstrap import warm_model_in_background

    assert client.get("/health").json()["model"] in {"loading", "ready"}
    warm_model_in_background().join(timeout=600)
    assert client.get("/health").json() == {
        "status": "ok",
        "version": __version__,
        "model": "ready",
    }
