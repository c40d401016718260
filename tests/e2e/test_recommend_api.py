"""Recommenders over HTTP: admin CRUD of configs and `POST /recommendations`, bad input included.

The app embeds items with the process's one MiniLM (`bootstrap.shared_embedder`), so the real
model loads once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _client import api_client
from _database import Database
from fastapi.testclient import TestClient

from p13n.server.app import create_app

NOW = "2026-11-20T10:00:00Z"
CATALOG = [
    ("boot-1", "Waterproof hiking boots", "TrailCo", "Outdoors/Footwear/Boots", 120.0),
    ("boot-2", "Leather hiking boots, waterproof", "Summit", "Outdoors/Footwear/Boots", 180.0),
    ("tent-1", "Two person camping tent", "TrailCo", "Outdoors/Camping/Tents", 250.0),
    ("mug-1", "Ceramic coffee mug", "Homey", "Home/Kitchen/Mugs", 12.0),
    ("mug-2", "Stoneware tea mug with lid", "Homey", "Home/Kitchen/Mugs", 15.0),
    ("lip-1", "Matte liquid lipstick", "Glow", "Beauty/Makeup/Lips", 20.0),
]
FILLER = [
    (f"sock-{k:02d}", f"Wool socks no. {k}", "Knit", "Outdoors/Socks", 5.0 + k) for k in range(24)
]


def _item(i: str, name: str, brand: str, category: str, price: float) -> dict[str, Any]:
    return {"id": i, "name": name, "brand": brand, "category": category, "price": price}


def _view(person: str, item: str, n: int) -> dict[str, Any]:
    return {
        "eventId": f"{person}-{item}-{n}",
        "individualId": person,
        "interaction": "view",
        "itemId": item,
        "dateTime": NOW,
    }


@pytest.fixture
def client(tmp_path: Path, e2e_db: Database) -> Iterator[TestClient]:
    with api_client(create_app(e2e_db.settings(tmp_path))) as c:
        assert c.get("/admin/recommenders").status_code == 200  # the service listens from here
        r = c.post("/items:batch", json={"items": [_item(*x) for x in CATALOG + FILLER]})
        assert r.status_code == 200, r.text
        events = [_view(f"p{k}", item, k) for k in range(4) for item in ("boot-1", "tent-1")]
        events += [_view("ann", "boot-1", 9)]
        r = c.post("/events", json={"events": events})
        assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text
        yield c


def _ask(client: TestClient, **body: Any) -> Any:
    return client.post("/recommendations", json=body)


CHEAP = {
    "name": "cheap-outdoors",
    "recipe": {"algorithm": "sort-by", "field": "price", "descending": False},
    "include": {
        "match": "All",
        "conditions": [
            {"field": "category", "operator": "Match Any", "value": ["Outdoors/Footwear/Boots"]},
            {"field": "price", "operator": "Is Less Than Or Equal To", "value": "{!maxPrice}"},
        ],
    },
    "fallback": None,
}


def test_every_tenant_starts_with_the_ten_named_recommenders(client: TestClient) -> None:
    names = [c["name"] for c in client.get("/admin/recommenders").json()]
    assert names == sorted(
        [
            "top-sellers",
            "most-viewed",
            "trending",
            "newest",
            "recently-viewed",
            "bought-together",
            "viewed-together",
            "similar-items",
            "recommended-for-you",
            "revenue-for-you",
        ]
    )
    one = client.get("/admin/recommenders/recommended-for-you").json()
    assert one["recipe"]["objective"] == "Maximize Clicks"


def test_a_recommender_is_created_read_used_and_deleted(client: TestClient) -> None:
    r = client.put("/admin/recommenders/cheap-outdoors", json=CHEAP)
    assert r.status_code == 200 and r.json()["version"] >= 1
    assert client.get("/admin/recommenders/cheap-outdoors").json()["include"]["match"] == "All"
    got = _ask(client, recommender="cheap-outdoors", context={"maxPrice": 150})
    assert got.status_code == 200
    assert [i["id"] for i in got.json()["items"]] == ["boot-1"]
    unbounded = _ask(client, recommender="cheap-outdoors")  # a missing variable drops the rule
    assert [i["id"] for i in unbounded.json()["items"]] == ["boot-1", "boot-2"]
    assert client.delete("/admin/recommenders/cheap-outdoors").json() == {
        "deleted": "cheap-outdoors"
    }
    assert client.get("/admin/recommenders/cheap-outdoors").status_code == 404


def test_recommendations_carry_reasons_propensities_and_diagnostics(client: TestClient) -> None:
    r = _ask(client, recommender="viewed-together", anchorId="boot-1", limit=3)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["items"][0]["id"] == "tent-1"
    assert body["items"][0]["reason"] == "often viewed with 'Waterproof hiking boots'"
    assert body["diagnostics"][0]["code"] == 200
    similar = _ask(client, recommender="similar-items", anchorId="boot-1", limit=1).json()
    assert similar["items"][0]["id"] == "boot-2"
    # ann viewed boot-1 and every item has a vector, so the objective recommender (untrained:
    # content similarity) fills all four slots itself: no slot comes from its fallback.
    ask = {"recommender": "recommended-for-you", "individualId": "ann", "limit": 4}
    mine = _ask(client, **ask, requestId="req-ann").json()
    assert mine["individual"] is not None
    assert [i["recommender"] for i in mine["items"]] == ["recommended-for-you"] * 4
    assert mine["items"][0]["id"] == "boot-1"
    for i in mine["items"]:  # the top half is never explored; below, epsilon 0.05
        p = i["propensity"]
        if i["rank"] <= 2:
            assert p == 1.0 and not i["explore"], i
        else:  # a greedy slot is shown with at least 1 - 0.05
            assert p is not None and (0.95 <= p < 1.0 if not i["explore"] else 0.0 < p <= 1.0), i
    again = _ask(client, **ask, requestId="req-ann").json()
    assert [(i["id"], i["propensity"]) for i in again["items"]] == [
        (i["id"], i["propensity"]) for i in mine["items"]
    ]
    fallback = _ask(client, recommender="recommended-for-you", individualId="nobody", limit=4)
    fallen = fallback.json()["items"]  # a cold start: the fallback chain fills every slot
    assert len(fallen) == 4 and "recommended-for-you" not in {i["recommender"] for i in fallen}
    assert all(i["propensity"] is None for i in fallen)  # fallbacks do not explore
    query = _ask(client, recommender="newest", query="waterproof boots under 150", limit=2).json()
    assert query["items"][0]["id"] == "boot-1"  # boots rank first; boot-2 is over 150
    assert "boot-2" not in {i["id"] for i in query["items"]}
    assert query["interpreted"]["constraints"][0]["applied"] == "hard"


def test_an_unknown_recommender_or_anchor_is_a_404_naming_it(client: TestClient) -> None:
    r = _ask(client, recommender="nope")
    assert r.status_code == 404 and "no recommender 'nope'" in r.json()["error"]
    r = _ask(client, recommender="similar-items", anchorId="ghost")
    assert r.status_code == 404 and "ghost" in r.json()["error"]


def test_a_visitor_without_history_gets_the_fallback_and_diagnostic_512(client: TestClient) -> None:
    r = _ask(client, recommender="recommended-for-you", individualId="never-seen", limit=5)
    assert r.status_code == 200
    body = r.json()
    assert 512 in [d["code"] for d in body["diagnostics"]]
    assert len(body["items"]) == 5
    assert len({i["id"] for i in body["items"]}) == 5


def test_a_limit_above_24_is_truncated_with_533_and_below_1_is_rejected(client: TestClient) -> None:
    r = _ask(client, recommender="newest", limit=30)
    assert r.status_code == 200
    assert len(r.json()["items"]) == 24
    assert [d["code"] for d in r.json()["diagnostics"]] == [533]
    for bad in (0, -3):
        r = _ask(client, recommender="newest", limit=bad)
        assert r.status_code == 400 and "limit must be" in r.json()["error"]
    assert _ask(client, recommender="newest", limit="many").status_code == 422
    assert _ask(client, recommender="newest", colour="red").status_code == 422


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        (
            {"field": "colour", "operator": "Is Equal To", "value": "red"},
            "unknown item field 'colour'",
        ),
        ({"field": "insights.nope", "operator": "Has Value"}, "unknown item field"),
        ({"field": "price", "operator": "Is Roughly", "value": 3}, "operator"),
        ({"field": "price", "operator": "Is Between", "value": 3}, "Is Between"),
        (
            {"field": "price", "operator": "Last Number of Days", "value": "x"},
            "Last Number of Days",
        ),
    ],
)
def test_a_filter_on_a_missing_field_or_a_malformed_operator_or_value_is_refused(
    client: TestClient, condition: dict[str, Any], problem: str
) -> None:
    config = {**CHEAP, "include": {"conditions": [condition]}}
    r = client.put("/admin/recommenders/cheap-outdoors", json=config)
    assert r.status_code == 422, r.text
    assert problem in r.json()["error"]
    assert client.get("/admin/recommenders/cheap-outdoors").status_code == 404


def test_config_errors_say_what_is_wrong(client: TestClient) -> None:
    r = client.put("/admin/recommenders/other-name", json=CHEAP)
    assert r.status_code == 400 and "other-name" in r.json()["error"]
    r = client.put("/admin/recommenders/cheap-outdoors", json={**CHEAP, "fallback": "ghost"})
    assert r.status_code == 400 and "fallback 'ghost'" in r.json()["error"]
    r = client.put("/admin/recommenders/cheap-outdoors", json={**CHEAP, "speed": 3})
    assert r.status_code == 422
    r = client.delete("/admin/recommenders/most-viewed")  # the fallback of top-sellers
    assert r.status_code == 409 and "top-sellers" in r.json()["error"]
    assert client.delete("/admin/recommenders/ghost").status_code == 404
