"""The two diagnostics a healthy configuration can still produce under load: 406
TOO_MANY_REQUESTS (HTTP 429) past a credential's rate, and 502 TIMEOUT (HTTP 503) past the
request's time budget."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _client import api_client
from _database import Database
from fastapi.testclient import TestClient

from p13n.domain.access import RateLimiter
from p13n.domain.ingest.items import Item
from p13n.domain.services import Engine
from p13n.server.app import create_app
from p13n.server.settings import Settings

BANNER = {"name": "home_banner", "contentSchema": {"type": "ManualContent"}}
HELLO = {
    "name": "hello",
    "point": "home_banner",
    "state": "Live",
    "attributes": {"header": "Hello"},
}
REQUEST = {
    "context": {"individualId": "device-1"},
    "personalizationPoints": [{"name": "home_banner"}],
}


def _client(db: Database, tmp_path: Path, **settings: float) -> Iterator[TestClient]:
    engine = Engine.open(db.url_for(tmp_path))
    engine.upsert_items([Item(id="item-1", name="Item 1", price=1.0, category="A")])
    try:
        app = create_app(Settings(home=tmp_path, **settings), engine=engine)
        with api_client(app) as c:
            assert c.put("/admin/points/home_banner", json=BANNER).status_code == 200
            assert c.put("/admin/decisions/hello", json=HELLO).status_code == 200
            yield c
    finally:
        engine.close()


@pytest.fixture
def limited(e2e_db: Database, tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(
        e2e_db, tmp_path, decisions_per_second=0.01
    )  # a burst of 1, then 100 s apart


@pytest.fixture
def hurried(e2e_db: Database, tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(e2e_db, tmp_path, decision_budget_ms=1e-9)  # every point is past the budget


def test_a_credential_past_its_rate_gets_429_with_diagnostic_406(limited: TestClient) -> None:
    first = limited.post("/personalization/authenticated/decisions", json=REQUEST)
    assert first.status_code == 200, first.text
    second = limited.post("/personalization/authenticated/decisions", json=REQUEST)
    assert second.status_code == 429
    assert second.json()["diagnostics"][0]["code"] == 406
    assert int(second.headers["Retry-After"]) >= 1
    assert "retry in" in second.json()["error"]


def test_points_past_the_time_budget_answer_502_and_the_request_503(hurried: TestClient) -> None:
    r = hurried.post("/personalization/authenticated/decisions", json=REQUEST)
    assert r.status_code == 503, r.text
    (point,) = r.json()["personalizations"]
    assert point["diagnostics"][0]["code"] == 502 and point["attributes"] == {}
    public = hurried.post("/personalization/decisions", json=REQUEST)
    assert public.status_code == 503 and "diagnostics" not in public.json()


def test_without_limits_the_same_requests_answer_200(e2e_db: Database, tmp_path: Path) -> None:
    for client in _client(e2e_db, tmp_path):
        for _ in range(3):
            r = client.post("/personalization/authenticated/decisions", json=REQUEST)
            assert r.status_code == 200
            assert r.json()["personalizations"][0]["attributes"] == {"header": "Hello"}


def test_the_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(2.0, clock=lambda: now[0])  # 2 per second, bursts of 2
    assert limiter.allow("k") and limiter.allow("k") and not limiter.allow("k")
    assert limiter.retry_after("k") == pytest.approx(0.5)
    assert limiter.allow("other")  # buckets are per caller
    now[0] = 0.5
    assert limiter.allow("k") and not limiter.allow("k")


def test_a_rate_of_zero_is_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0.0)
