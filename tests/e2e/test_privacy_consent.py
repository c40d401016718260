"""Consent withdrawal stops all use at once: no personalization from past data on any of the
person's devices, and nothing stored of later events beyond the consent record. On SQLite and
PostgreSQL (the `e2e_db` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _client import api_client
from _database import Database
from fastapi.testclient import TestClient
from sqlalchemy import text

from p13n.server.app import create_app

PHONE, LAPTOP = "dev-cw-phone", "dev-cw-laptop"
POINT = {"name": "home", "contentSchema": {"type": "ManualContent"}}
DECISION = {
    "name": "hello",
    "point": "home",
    "state": "Live",
    "attributes": {"header": "Welcome back, gold member"},
    "targeting": {
        "type": "All",
        "rules": [
            {"source": "attribute", "field": "tier", "operator": "Is Equal To", "value": "gold"}
        ],
    },
}
GOLD = "Welcome back, gold member"


def event(
    event_id: str, device: str, consent: str | None = "Opt In", **fields: Any
) -> dict[str, Any]:
    raw: dict[str, Any] = {"eventId": event_id, "deviceId": device, **fields}
    if consent is not None:
        raw["consents"] = [{"purpose": "Tracking", "status": consent}]
    return raw


VIEW = {"name": "View Catalog Object", "catalogObject": {"id": "i1"}}


@pytest.fixture
def client(tmp_path: Path, e2e_db: Database) -> Iterator[TestClient]:
    with api_client(create_app(e2e_db.settings(tmp_path))) as c:
        assert c.put("/items/i1", json={"id": "i1", "name": "One", "price": 5}).status_code == 200
        assert c.put("/admin/points/home", json=POINT).status_code == 200
        assert c.put("/admin/decisions/hello", json=DECISION).status_code == 200
        email = {"eventType": "contactPointEmail", "email": "cw@example.org"}
        name = {"eventType": "identity", "firstName": "Wren", "lastName": "Cole"}
        answer = c.post(
            "/events",
            json=[
                event("c1", PHONE, user={"attributes": name}),
                event("c2", PHONE, user={"attributes": email}),
                event("c3", LAPTOP, user={"attributes": email}),
                event("c4", LAPTOP, interaction=VIEW, user={"attributes": {"tier": "gold"}}),
            ],
        )
        assert answer.json()["accepted"] == 4, answer.text
        yield c


def greeting(client: TestClient, device: str) -> str:
    body = {"context": {"individualId": device}, "personalizationPoints": [{"name": "home"}]}
    answer = client.post("/personalization/decisions", json=body)
    assert answer.status_code == 200, answer.text
    (p,) = answer.json()["personalizations"]
    return str((p.get("attributes") or {}).get("header", "nothing personal"))


def test_withdrawal_on_one_device_stops_personalization_on_every_device_at_once(
    client: TestClient,
) -> None:
    assert greeting(client, PHONE) == greeting(client, LAPTOP) == GOLD
    assert client.get(f"/profiles/{LAPTOP}").status_code == 200
    answer = client.post("/events", json=[event("c5", PHONE, "Opt Out", interaction=VIEW)])
    assert answer.json()["results"][0]["tracked"] is False
    assert greeting(client, PHONE) == greeting(client, LAPTOP) == "nothing personal"
    for device in (PHONE, LAPTOP, "cw@example.org"):
        assert client.get(f"/profiles/{device}").status_code == 404
    recs = client.post("/recommendations", json={"individualId": LAPTOP, "recommender": "popular"})
    assert recs.status_code in (200, 400, 404, 422)  # whatever it answers, it is not personal
    # opting in again restores the device that did; the phone's own Opt Out still holds
    client.post("/events", json=[event("c6", LAPTOP, "Opt In", interaction=VIEW)])
    assert greeting(client, LAPTOP) == GOLD
    assert greeting(client, PHONE) == "nothing personal"


def test_after_withdrawal_later_events_are_kept_only_as_consent_records(
    client: TestClient, tmp_path: Path, e2e_db: Database
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    home = tmp_path
    before = e2e_db.count("events", home)
    client.post("/events", json=[event("c5", PHONE, "Opt Out", interaction=VIEW)])
    later = client.post(
        "/events",
        json=[
            event("c7", LAPTOP, None, interaction=VIEW),
            event("c8", PHONE, None, interaction=VIEW),
        ],
    ).json()
    assert [r["tracked"] for r in later["results"]] == [False, False]
    assert e2e_db.count("events", home) == before
    assert e2e_db.count("consent_records", home) == 3  # c5, c7, c8: who, when, what consent
    # decisions about them keep no id in the log
    greeting(client, LAPTOP)
    services.decisions.log.flush()
    with services.engine.store.db.connect() as conn:
        ids = conn.execute(
            text("SELECT individual_id, unified_id FROM personalization_log ORDER BY ts DESC")
        ).first()
    assert tuple(ids) == (None, None)
