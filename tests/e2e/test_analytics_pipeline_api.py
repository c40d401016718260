"""Pipeline intelligence and /metrics over HTTP (FastAPI's test client) and the CLI (a real
`p13n` process): the report after decisions and events, bad input as 4xx / one line, the
analyst scope, and the Prometheus exposition."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _client import api_client, mint_key
from _database import Database
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from p13n.server.app import create_app

P13N = str(Path(sys.executable).parent / "p13n")


@pytest.fixture
def client(tmp_path: Path, e2e_db: Database) -> Iterator[TestClient]:
    with api_client(create_app(e2e_db.settings(tmp_path))) as c:
        yield c


def _traffic(client: TestClient) -> None:
    for k in range(6):
        body = {
            "context": {"individualId": f"d{k % 4}", "channel": "web" if k % 2 else "app"},
            "personalizationPoints": [{"name": "nowhere"}, {"name": "elsewhere"}],
        }
        assert client.post("/personalization/authenticated/decisions", json=body).status_code == 200
    events = [
        {"individualId": "c1", "interaction": "view", "itemId": "x", "eventId": "e1"},
        {"individualId": "c1", "interaction": "view", "itemId": "x", "eventId": "e1"},
        {"individualId": "c1", "interaction": "view"},
    ]
    assert client.post("/events", json={"events": events}).status_code == 200
    client.app.state.services.decisions.log.flush()  # type: ignore[attr-defined]


def test_the_pipeline_report_counts_decisions_diagnostics_and_ingest(client: TestClient) -> None:
    _traffic(client)
    r = client.get("/analytics/pipeline", params={"granularity": "hour", "groupBy": "channel"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["groupBy"] == ["channel"]
    assert {row["channel"]: row["requests"] for row in report["rows"]} == {"web": 3, "app": 3}
    total = report["total"]
    assert (total["requests"], total["points"], total["served"]) == (6, 12, 0)
    assert total["diagnostics"]["401"] == 12 and total["individuals"] == 4
    assert set(total["timingsMs"]) == {"augmenting", "qualifying", "personalizing", "total"}
    assert report["ingestTotal"]["accepted"] == 1 and report["ingestTotal"]["duplicate"] == 1
    assert report["ingestTotal"]["rejectedByReason"] == {"no_item": 1}
    by_point = client.get("/analytics/pipeline", params=[("groupBy", "point")]).json()
    assert {row["point"]: row["requests"] for row in by_point["rows"]} == {
        "nowhere": 6,
        "elsewhere": 6,
    }


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"granularity": "minute"}, "unknown granularity"),
        ({"groupBy": "cohort"}, "unknown grouping"),
        ({"from": "2999-01-01"}, "in the future"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "is not before"),
        ({"from": "soon"}, "is not a date"),
    ],
)
def test_bad_pipeline_queries_answer_400_saying_what_to_fix(
    client: TestClient, params: dict[str, str], says: str
) -> None:
    r = client.get("/analytics/pipeline", params=params)
    assert r.status_code == 400 and says in r.json()["error"], r.text


def test_the_openapi_description_names_every_answer_of_the_new_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/analytics/pipeline"]["get"]["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "422",
        "503",
    }
    assert set(paths["/metrics"]["get"]["responses"]) == {"200", "401", "403", "503"}


def test_an_analyst_key_reads_analytics_and_metrics_and_nothing_else(client: TestClient) -> None:
    key = mint_key(client.app, "analyst")  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/analytics/pipeline", headers=headers).status_code == 200
    assert client.get("/metrics", headers=headers).status_code == 200
    assert client.get("/admin/points", headers=headers).status_code == 403
    assert client.get("/profiles/d1", headers=headers).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_count_requests_by_route_and_status_and_report_the_log_and_ingest(
    client: TestClient,
) -> None:
    _traffic(client)
    client.get("/profiles/nobody-at-all")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = _samples(r.text)
    route = "/personalization/authenticated/decisions"
    key = ("method", "POST"), ("route", route), ("status", "200")
    assert samples[("p13n_http_requests_total", key)] == 6
    assert (
        samples[
            (
                "p13n_http_requests_total",
                (("method", "GET"), ("route", "/profiles/{identifier}"), ("status", "404")),
            )
        ]
        == 1
    )
    assert (
        samples[
            ("p13n_http_request_duration_seconds_count", (("method", "POST"), ("route", route)))
        ]
        == 6
    )
    assert samples[("p13n_personalization_log_queue_depth", ())] == 0
    assert samples[("p13n_personalization_log_written_total", ())] == 12
    assert samples[("p13n_personalization_log_dropped_total", ())] == 0
    ingest = "p13n_ingest_events_total"
    assert samples[(ingest, (("reason", ""), ("status", "accepted")))] == 1
    assert samples[(ingest, (("reason", "no_item"), ("status", "rejected")))] == 1


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "P13N_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([P13N, *args], capture_output=True, text=True, env=env, timeout=300)


def test_the_cli_prints_the_report_as_tables_or_json_and_bad_input_as_one_line(
    tmp_path: Path, e2e_db: Database
) -> None:
    home = tmp_path / "home"
    events = tmp_path / "events.jsonl"
    lines: list[Any] = [
        {"individualId": "c1", "interaction": "view", "itemId": "s1"},
        {"interaction": "view", "itemId": "s1"},
    ]
    events.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert _run(home, "import", "events", str(events)).returncode == 0
    r = _run(home, "decide", "--point", "nowhere", "--individual", "c1")
    assert r.returncode == 0, r.stderr
    shown = _run(home, "analytics", "pipeline", "--json", "--group-by", "point")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert [(row["point"], row["requests"]) for row in report["rows"]] == [("nowhere", 1)]
    assert report["ingestTotal"]["rejectedByReason"] == {"no_identity": 1}
    table = _run(home, "analytics", "pipeline", "--granularity", "hour")
    assert table.returncode == 0 and "requests" in table.stdout and "no_identity:1" in table.stdout
    bad = _run(home, "analytics", "pipeline", "--from", "2026-03-02", "--to", "2026-03-01")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "is not before" in bad.stderr
