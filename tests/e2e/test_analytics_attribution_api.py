"""Attribution over HTTP (FastAPI's test client), the CLI (a real `p13n` process) and the
get_performance action: decisions served through the API and events sent to it come back as
credited KPIs; bad input is a 4xx or one line; the analyst scope gates the route and the tool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _client import api_client, mint_key
from _database import Database
from fastapi.testclient import TestClient

from p13n.domain.decisions import Decision, PersonalizationPoint
from p13n.domain.ingest.items import Item
from p13n.server.app import create_app

P13N = str(Path(sys.executable).parent / "p13n")


@pytest.fixture
def client(tmp_path: Path, e2e_db: Database) -> Iterator[TestClient]:
    with api_client(create_app(e2e_db.settings(tmp_path))) as c:
        yield c


def _traffic(client: TestClient) -> None:
    """c1 and c2 are shown mugs (web, app); c1 clicks one and orders 2 x 12.50, c2 carts."""
    services = client.app.state.services  # type: ignore[attr-defined]
    services.engine.upsert_items(
        [Item(id=f"i{k}", name=f"Mug {k}", category="Home/Mugs", price=12.5) for k in range(6)]
    )
    point = {"name": "mugs", "contentSchema": {"type": "Recommendations"}, "maxItems": 3}
    services.decisions.change(lambda r: r.put_point(PersonalizationPoint.model_validate(point)))
    decision = {"name": "newest_mugs", "point": "mugs", "state": "Live", "recommender": "newest"}
    services.decisions.change(lambda r: r.put_decision(Decision.model_validate(decision)))
    shown = {}
    for who, channel in (("c1", "web"), ("c2", "app")):
        body = {
            "context": {"individualId": who, "channel": channel},
            "personalizationPoints": [{"name": "mugs"}],
        }
        r = client.post("/personalization/authenticated/decisions", json=body)
        assert r.status_code == 200, r.text
        shown[who] = r.json()["personalizations"][0]
        assert shown[who]["data"], shown[who]
    pid = shown["c1"]["personalizationId"]
    item = shown["c1"]["data"][0]
    events = [
        {
            "individualId": "c1",
            "interaction": "personalization-click",
            "personalizationId": pid,
            "personalizationContentId": item["personalizationContentId"],
            "itemId": item["id"],
        },
        {
            "individualId": "c1",
            "interaction": "purchase",
            "itemId": item["id"],
            "price": 12.5,
            "quantity": 2,
            "orderId": "o-1",
        },
        {"individualId": "c2", "interaction": "add_to_cart", "itemId": "i1", "price": 12.5},
    ]
    r = client.post("/events", json={"events": events})
    assert r.status_code == 200 and r.json()["accepted"] == 3, r.text
    services.decisions.log.flush()


def test_served_decisions_and_sent_events_come_back_as_credited_kpis(client: TestClient) -> None:
    _traffic(client)
    r = client.get("/analytics/attribution", params={"groupBy": "point,channel"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["model"], report["basis"], report["windowSeconds"]) == (
        "last_touch",
        "view",
        7 * 86_400,
    )
    rows = {(row["group"]["point"], row["group"]["channel"]): row for row in report["rows"]}
    assert set(rows) == {("mugs", "web"), ("mugs", "app")}
    web, app = rows[("mugs", "web")], rows[("mugs", "app")]
    assert (web["impressions"], web["clicks"], web["orders"], web["revenue"]) == (1, 1, 1, "25.00")
    assert (app["addToCarts"], app["orders"], app["revenue"]) == (1, 0, "0.00")
    total = report["total"]
    assert (total["requests"], total["uniqueIndividuals"], total["revenue"]) == (2, 2, "25.00")
    assert total["ctr"] == 0.5
    assert report["counted"]["attributedRevenue"] == report["counted"]["orderRevenue"] == "25.00"
    clicked = client.get("/analytics/attribution", params={"basis": "click"}).json()
    assert clicked["total"]["revenue"] == "25.00" and clicked["total"]["addToCarts"] == 0


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"model": "u_shaped"}, "unknown attribution model"),
        ({"basis": "hover"}, "unknown attribution basis"),
        ({"window": "0h"}, "not a positive duration"),
        ({"groupBy": "shelf"}, "unknown grouping"),
        ({"from": "2999-01-01"}, "in the future"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "is not before"),
        ({"to": "later"}, "is not a date"),
    ],
)
def test_bad_attribution_queries_answer_400_saying_what_to_fix(
    client: TestClient, params: dict[str, str], says: str
) -> None:
    r = client.get("/analytics/attribution", params=params)
    assert r.status_code == 400 and says in r.json()["error"], r.text


def test_the_openapi_description_names_every_answer_of_the_attribution_route(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    responses = paths["/analytics/attribution"]["get"]["responses"]
    assert set(responses) == {"200", "400", "401", "403", "422", "503"}


def test_the_analyst_scope_gates_the_report_and_get_performance(client: TestClient) -> None:
    _traffic(client)
    app = client.app
    analyst = {"Authorization": f"Bearer {mint_key(app, 'analyst')}"}  # type: ignore[arg-type]
    agent = {"Authorization": f"Bearer {mint_key(app, 'agent')}"}  # type: ignore[arg-type]
    both = {"Authorization": f"Bearer {mint_key(app, 'agent', 'analyst')}"}  # type: ignore[arg-type]
    assert client.get("/analytics/attribution", headers=analyst).status_code == 200
    assert client.get("/analytics/attribution", headers=agent).status_code == 403
    refused = client.post("/actions/get_performance", json={}, headers=agent)
    assert refused.status_code == 403 and "`analyst` scope" in refused.json()["error"]
    r = client.post("/actions/get_performance", json={"by": "channel"}, headers=both)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert [row["name"] for row in answer["rows"]] == ["web", "app"]  # the earner first
    assert answer["total"]["revenue"] == 25.0 and answer["rows"][0]["revenue_share_percent"] == 100
    assert "web earns most" in answer["summary"] and len(r.content) < 4096
    banner = client.post("/actions/get_performance", json={"point": "mug"}, headers=both).json()
    assert banner["point"] == "mugs" and banner["summary"].startswith("Over the last 7 days, mugs")
    listed = {a["name"] for a in client.get("/actions", headers=both).json()["actions"]}
    assert "get_performance" in listed


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [P13N, *args], capture_output=True, text=True, env={**env, "COLUMNS": "200"}, timeout=300
    )


def test_the_cli_prints_the_report_as_a_table_or_json_and_bad_input_as_one_line(
    client: TestClient, tmp_path: Path, e2e_db: Database
) -> None:
    _traffic(client)
    env = e2e_db.env(tmp_path)
    shown = _run(env, "analytics", "attribution", "--json", "--group-by", "point")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert [(r["group"]["point"], r["revenue"]) for r in report["rows"]] == [("mugs", "25.00")]
    table = _run(env, "analytics", "attribution", "--model", "linear", "--group-by", "channel")
    assert table.returncode == 0, table.stderr
    assert "linear, view-based" in table.stdout and "25.00" in table.stdout
    assert "attributed 2 of 2 conversions" in table.stdout
    bad = _run(env, "analytics", "attribution", "--window", "-1d")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "not a positive duration" in bad.stderr
    fresh = {k: v for k, v in os.environ.items() if k != "P13N_DATABASE_URL"}
    empty = _run({**fresh, "P13N_HOME": str(tmp_path / "empty")}, "analytics", "attribution")
    assert empty.returncode == 0 and "no personalizations or conversions" in empty.stdout
