"""Experiment results over HTTP (FastAPI's test client), the CLI (a real `p13n` process) and
get_performance's experiment form: decisions served through the API in an experiment and
orders sent to it come back per cohort; every bad input is a 4xx naming the fix (never a 500)
or one line on stderr; the analyst scope gates the routes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _client import api_client, mint_key
from _database import Database
from fastapi.testclient import TestClient

from p13n.domain.decisions import Decision, Experiment, PersonalizationPoint
from p13n.server.app import create_app

P13N = str(Path(sys.executable).parent / "p13n")
BUYERS = {"b": 4, "a": 1}  # orders of 10.00 per cohort, by the first units of each


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("experiments")
    with api_client(create_app(e2e_module_db.settings(home))) as c:
        cohorts = _traffic(c)
        yield c, home, e2e_module_db, cohorts


def _traffic(client: TestClient) -> dict[str, list[str]]:
    """A banner experiment (a, b at 50/50, a Created one beside it); 24 shoppers served the
    banner through the API; the first BUYERS[c] of each cohort order 10.00."""
    services = client.app.state.services  # type: ignore[attr-defined]
    point = {"name": "banner", "contentSchema": {"type": "ManualContent"}}
    services.decisions.change(lambda r: r.put_point(PersonalizationPoint.model_validate(point)))
    for name in ("banner_a", "banner_b"):
        d = {"name": name, "point": "banner", "state": "Draft", "attributes": {"header": name}}
        services.decisions.change(lambda r, d=d: r.put_decision(Decision.model_validate(d)))
    for name, status in (("banner_test", "Started"), ("later_test", "Created")):
        experiment = {
            "name": name,
            "point": "banner",
            "primaryMetric": "Revenue Per Visitor",
            "secondaryMetrics": ["Conversion Rate"],
            "status": status,
            "startedAt": time.time() - 60 if status == "Started" else None,
            "cohorts": [
                {"id": "a", "weight": 50, "decision": "banner_a"},
                {"id": "b", "weight": 50, "decision": "banner_b"},
            ],
        }
        services.decisions.change(
            lambda r, e=experiment: r.put_experiment(Experiment.model_validate(e))
        )
    cohorts: dict[str, list[str]] = {"a": [], "b": []}
    for k in range(24):
        body = {
            "context": {"individualId": f"s{k}"},
            "personalizationPoints": [{"name": "banner"}],
            "executionFlags": ["EnableDiagnostics"],
        }
        r = client.post("/personalization/authenticated/decisions", json=body)
        assert r.status_code == 200, r.text
        cohorts[r.json()["personalizations"][0]["trace"]["cohort"]].append(f"s{k}")
    assert all(cohorts.values()), cohorts
    events = [
        {
            "individualId": who,
            "interaction": "purchase",
            "itemId": "mug",
            "price": 10.0,
            "orderId": f"o-{who}",
        }
        for cohort, n in BUYERS.items()
        for who in cohorts[cohort][:n]
    ]
    r = client.post("/events", json={"events": events})
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text
    services.decisions.log.flush()
    return cohorts


def test_served_decisions_and_orders_come_back_per_cohort(client: Any) -> None:
    c, _, _, cohorts = client
    r = c.get("/analytics/experiments/banner_test")
    assert r.status_code == 200, r.text
    found = r.json()
    assert not found["empty"] and found["units"] == 24 and found["engine"] == "bayesian"
    assert {u["cohort"]: u["units"] for u in found["cohorts"]} == {
        k: len(v) for k, v in cohorts.items()
    }
    rpv = next(m for m in found["metrics"] if m["metric"] == "Revenue Per Visitor")
    assert rpv["primary"]
    means = {f["cohort"]: (f["conversions"], f["mean"]) for f in rpv["cohorts"]}
    for cohort, n in BUYERS.items():
        assert means[cohort] == (n, pytest.approx(10.0 * n / len(cohorts[cohort])))
    assert [v["outcome"] for v in found["verdicts"]] == ["insufficient data"]
    few = c.get(
        "/analytics/experiments/banner_test", params={"minUnits": 2, "engine": "sequential"}
    )
    assert few.status_code == 200 and few.json()["verdicts"][0]["engine"] == "sequential"
    assert few.json()["verdicts"][0]["outcome"] != "insufficient data"
    one = c.get("/analytics/experiments/banner_test", params={"metric": "Orders"}).json()
    assert [m["metric"] for m in one["metrics"]] == ["Orders"] and one["metrics"][0]["primary"]
    listed = c.get("/analytics/experiments").json()["experiments"]
    assert [(e["name"], e["status"], e["units"]) for e in listed] == [
        ("banner_test", "Started", 24),
        ("later_test", "Created", 0),
    ]


def test_an_experiment_not_started_answers_an_empty_result_that_says_so(client: Any) -> None:
    c = client[0]
    r = c.get("/analytics/experiments/later_test")
    assert r.status_code == 200 and r.json()["empty"] and r.json()["units"] == 0
    assert "No unit has been exposed" in r.json()["message"]


@pytest.mark.parametrize(
    ("path", "params", "status", "says"),
    [
        ("nope_test", {}, 404, "Known experiments: banner_test, later_test"),
        ("banner_test", {"engine": "magic"}, 400, "unknown engine"),
        ("banner_test", {"metric": "Happiness"}, 400, "unknown metric"),
        ("banner_test", {"window": "0d"}, 400, "window '0d' is not a positive duration"),
        ("banner_test", {"window": "-3h"}, 400, "not a positive duration"),
        ("banner_test", {"preWindow": "soon"}, 400, "pre-window 'soon'"),
        ("banner_test", {"minUnits": 0}, 400, "min units 0 is not positive"),
        ("banner_test", {"minUnits": "many"}, 422, "invalid request"),
    ],
)
def test_bad_experiment_queries_answer_4xx_saying_what_to_fix(
    client: Any, path: str, params: dict[str, object], status: int, says: str
) -> None:
    c = client[0]
    r = c.get(f"/analytics/experiments/{path}", params=params)
    assert r.status_code == status and says in r.json()["error"], r.text


def test_the_openapi_description_names_every_answer_of_the_experiment_routes(
    client: Any,
) -> None:
    paths = client[0].get("/openapi.json").json()["paths"]
    one = paths["/analytics/experiments/{name}"]["get"]["responses"]
    assert set(one) == {"200", "400", "401", "403", "404", "422", "503"}
    assert "ExperimentResults" in json.dumps(one["200"])
    assert set(paths["/analytics/experiments"]["get"]["responses"]) >= {"200", "401", "403"}


def test_the_analyst_scope_gates_the_routes_and_get_performance_answers_for_an_experiment(
    client: Any,
) -> None:
    c, _, _, cohorts = client
    app = c.app
    analyst = {"Authorization": f"Bearer {mint_key(app, 'analyst')}"}
    agent = {"Authorization": f"Bearer {mint_key(app, 'agent')}"}
    assert c.get("/analytics/experiments/banner_test", headers=analyst).status_code == 200
    assert c.get("/analytics/experiments/banner_test", headers=agent).status_code == 403
    assert c.get("/analytics/experiments", headers=agent).status_code == 403
    both = {"Authorization": f"Bearer {mint_key(app, 'agent', 'analyst')}"}
    r = c.post("/actions/get_performance", json={"experiment": "banner_test"}, headers=both)
    assert r.status_code == 200, r.text
    answer = r.json()["experiment"]
    assert answer["units"] == {k: len(v) for k, v in cohorts.items()}
    assert answer["outcomes"] == {"b": "insufficient data"}
    assert answer["findings"][0].startswith("24 units so far.") and len(r.content) < 4096
    assert r.json()["summary"] == answer["findings"][0]
    missing = c.post("/actions/get_performance", json={"experiment": "nope"}, headers=both)
    assert missing.status_code == 404 and "banner_test" in missing.json()["error"]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [P13N, *args], capture_output=True, text=True, env={**env, "COLUMNS": "200"}, timeout=300
    )


def test_the_cli_prints_tables_and_verdicts_or_json_and_bad_input_as_one_line(
    client: Any,
) -> None:
    _, home, db, cohorts = client
    env = db.env(home)
    shown = _run(env, "analytics", "experiment", "banner_test", "--min-units", "2")
    assert shown.returncode == 0, shown.stderr
    assert "Revenue Per Visitor (primary, sum, higher is better)" in shown.stdout
    assert "Conversion Rate (secondary, proportion" in shown.stdout
    assert "24 units so far." in shown.stdout and "Split check:" in shown.stdout
    assert "to beat" in shown.stdout
    as_json = _run(
        env, "analytics", "experiment", "banner_test", "--json", "--engine", "frequentist"
    )
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["engine"] == "frequentist" and data["units"] == 24
    listed = _run(env, "analytics", "experiments")
    assert (
        listed.returncode == 0 and "banner_test" in listed.stdout and "later_test" in listed.stdout
    )
    for args, says in (
        (("nope_test",), "no experiment called 'nope_test'"),
        (("banner_test", "--engine", "magic"), "unknown engine"),
        (("banner_test", "--metric", "Happiness"), "unknown metric"),
        (("banner_test", "--window", "0h"), "not a positive duration"),
        (("banner_test", "--pre-window", "-1d"), "pre-window"),
        (("banner_test", "--min-units", "0"), "min units 0"),
    ):
        bad = _run(env, "analytics", "experiment", *args)
        assert bad.returncode == 1 and bad.stdout == "", (args, bad.stdout)
        assert bad.stderr.count("\n") == 1 and says in bad.stderr, (args, bad.stderr)
