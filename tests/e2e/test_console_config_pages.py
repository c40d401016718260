"""The console's Recommenders and Segments & insights pages through the ASGI app: forms
validated by the models (errors next to the field, nothing saved), a saved edit read back by
the admin API, the recommender preview's cards against `POST /recommendations`, member counts
against the profiles, a recompute polled to its end, read-only refusals and 404 pages."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _client import mint_key
from _database import Database
from fastapi.testclient import TestClient
from test_console_access import sign_in
from test_console_targeting import controls

from p13n.domain.ingest import Item
from p13n.server.app import create_app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Iterator[Any]:
    application = create_app(e2e_module_db.settings(tmp_path_factory.mktemp("console-config")))
    with TestClient(application, base_url="http://127.0.0.1"):
        engine = application.state.services.engine
        engine.upsert_items(
            [
                Item(
                    id=f"sku-{k}",
                    name=f"Boot {k}",
                    price=10.0 + k,
                    category="Shoes" if k % 2 else "Bags",
                    image_url=f"https://img.example.com/{k}.jpg",
                )
                for k in range(8)
            ]
        )
        events = [
            {
                "eventId": f"e{k}",
                "deviceId": f"dev-{k % 3}",
                "dateTime": "2026-11-30T10:00:00Z",
                "interaction": {"name": "View", "catalogObject": {"id": f"sku-{k % 8}"}},
                "consents": [{"purpose": "Tracking", "status": "Opt In"}],
            }
            for k in range(12)
        ]
        engine.ingest(events)
        yield application


def _api(app: Any) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    client.headers["Authorization"] = f"Bearer {mint_key(app)}"
    return client


def _errors(page: str) -> dict[str, str]:
    found = re.findall(r'id="([\w.-]+)-error" role="alert">([^<]+)', page)
    return {k: html.unescape(v) for k, v in found}


def test_a_recommender_edit_is_saved_as_the_admin_api_reads_it(app: Any) -> None:
    client, _ = sign_in(app, "admin")
    assert "most-viewed" in client.get("/console/recommenders").text
    form = controls(client.get("/console/recommenders/most-viewed").text, "/console/recommenders")
    form.values.update(
        {
            "diversity.field": "brand",
            "diversity.max_per_value": "2",
            "diversity.weight": "0.05",
            "switches.in_stock_only": "false",
            "boosters": '[{"when": {"conditions": [{"field": "price", "operator": '
            '"Is Less Than", "value": 12}]}, "factor": 2, "label": "cheap"}]',
        }
    )
    r = client.post("/console/recommenders", data=form.values)
    assert r.status_code == 303, _errors(r.text)
    stored = _api(app).get("/admin/recommenders/most-viewed").json()
    assert stored["diversity"] == {"field": "brand", "max_per_value": 2, "weight": 0.05}
    assert stored["switches"]["in_stock_only"] is False
    assert stored["boosters"][0]["factor"] == 2 and stored["boosters"][0]["label"] == "cheap"
    assert stored["fallback"] == "newest"  # untouched fields stay


def test_recommender_model_errors_come_back_next_to_their_fields(app: Any) -> None:
    client, _ = sign_in(app, "admin")
    before = _api(app).get("/admin/recommenders/trending").json()
    form = controls(client.get("/console/recommenders/trending").text, "/console/recommenders")
    bad = {
        **form.values,
        "limit": "99",
        "diversity.field": "category",
        "diversity.max_per_value": "0",
        "include": "{oops",
        "fallback": "trending",
    }
    r = client.post("/console/recommenders", data=bad)
    assert r.status_code == 422
    errors = _errors(r.text)
    assert {"limit", "diversity-max_per_value", "include"} <= set(errors), errors
    assert "less than or equal to 24" in errors["limit"]
    assert _api(app).get("/admin/recommenders/trending").json() == before


def test_the_preview_shows_the_cards_the_recommendations_api_serves(app: Any) -> None:
    client, token = sign_in(app, "admin")
    r = client.post(
        "/console/recommenders/most-viewed:preview",
        data={"csrf_token": token, "person": "dev-1", "anchor": ""},
    )
    assert r.status_code == 200
    served = (
        _api(app)
        .post("/recommendations", json={"recommender": "most-viewed", "individualId": "dev-1"})
        .json()["items"]
    )
    cards = re.findall(r'data-item="([^"]+)"', r.text)
    assert cards == [i["id"] for i in served] and cards
    for item in served:
        assert html.escape(item["reason"]) in r.text or item["reason"] in html.unescape(r.text)
    assert f'src="https://img.example.com/{served[0]["id"].split("-")[1]}.jpg"' in r.text
    assert f"{served[0]['price']:.2f}" in r.text
    bad = client.post(
        "/console/recommenders/similar-items:preview",
        data={"csrf_token": token, "anchor": "no-such-item"},
    )
    assert "no item 'no-such-item'" in html.unescape(bad.text)


def test_segment_counts_match_the_profiles_and_an_edit_is_saved(app: Any) -> None:
    client, token = sign_in(app, "admin")
    rule = '{"type": "All", "rules": [{"source": "engagement", "field": "View", "operator": "Is Greater Than Or Equal To", "value": 4}]}'
    r = client.post(
        "/console/segments",
        data={"csrf_token": token, "name": "keen_viewers", "description": "4+ views", "rule": rule},
    )
    assert r.status_code == 303, _errors(r.text)
    engine = app.state.services.engine
    uids = {engine.resolve(f"dev-{k}") for k in range(3)}
    expected = sum(1 for uid in uids if "keen_viewers" in engine.load_profile(uid).segments)
    assert "counting" in client.get("/console/segments").text
    page = client.get("/console/segments:counts").text
    shown = re.search(r'data-members="keen_viewers">([\d,]+)<', page)
    assert shown and int(shown.group(1)) == expected == 3
    trend = client.get("/console/segments").text  # the count is today's point of the trend
    assert 'id="chart-segment-members"' in trend and "no-trend" not in trend
    chart = json.loads(html.unescape(re.search(r'data-chart="([^"]+)"', trend).group(1)))  # type: ignore[union-attr]
    series = {s["label"]: s["values"] for s in chart["series"]}
    assert series["keen_viewers"][-1] == 3 and len(chart["x"]) == len(series["keen_viewers"])
    bad = client.post(
        "/console/segments",
        data={"csrf_token": token, "name": "bad name", "rule": '{"type": "All", "rules": []}'},
    )
    assert bad.status_code == 422
    errors = _errors(bad.text)
    assert "pattern" in errors["name"] and "at least 1" in errors["rule"]
    assert "bad name" not in [s.name for s in engine.state.segments]


def test_a_recompute_runs_in_the_background_and_its_progress_is_polled_to_the_end(
    app: Any,
) -> None:
    client, token = sign_in(app, "admin")
    r = client.post("/console/segments:recompute", data={"csrf_token": token, "what": "insights"})
    job = re.search(r'data-job="(\w+)"', r.text).group(1)  # type: ignore[union-attr]
    deadline = time.monotonic() + 20
    while True:
        state = client.get(f"/console/segments/jobs/{job}").text
        if "done:" in state or "failed" in state or time.monotonic() > deadline:
            break
        assert 'hx-trigger="every 1s"' in state
        time.sleep(0.1)
    profiles = app.state.services.engine.store.count_profiles()
    assert f"done: {profiles} profiles" in state and "hx-trigger" not in state
    assert client.get("/console/segments/jobs/nope").status_code == 404


def test_read_only_keys_are_refused_and_unknown_ids_are_404_pages(app: Any) -> None:
    reader, token = sign_in(app, "analyst")
    assert "Recommenders" not in reader.get("/console").text.split("</nav>")[0]
    for path in ("/console/recommenders", "/console/segments", "/console/recommenders/newest"):
        page = reader.get(path)
        assert page.status_code == 403 and "Save" not in page.text
    posts = [
        ("/console/recommenders", {"name": "newest", "recipe": '{"algorithm": "newest"}'}),
        ("/console/segments", {"name": "x", "rule": "{}"}),
        ("/console/segments:recompute", {"what": "segments"}),
        ("/console/recommenders/newest:preview", {}),
    ]
    for path, data in posts:
        assert reader.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    admin, _ = sign_in(app, "admin")
    for path in ("/console/recommenders/no-such", "/console/segments/no_such"):
        page = admin.get(path)
        assert page.status_code == 404 and "<h1>No such" in page.text
