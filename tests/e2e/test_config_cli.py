"""`p13n config apply|export` and `p13n decide`, run as the real executable on a temporary home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _database import Database

P13N = str(Path(sys.executable).parent / "p13n")

CONFIG = """
segments:
  - name: gold_members
    rule: {type: All, rules: [{source: attribute, field: tier, operator: Is Equal To, value: gold}]}
recommenders:
  - name: cheapest-first
    recipe: {algorithm: sort-by, field: price, descending: false}
    fallback: null
points:
  - name: home_banner
    contentSchema: {type: ManualContent, attributes: [header, body]}
  - name: deals
    contentSchema: {type: Recommendations, itemFields: [id, name, price]}
    maxItems: 3
decisions:
  - name: gold_banner
    point: home_banner
    state: Live
    targeting: {type: All, rules: [{source: segment, field: gold_members, operator: Has Value}]}
    attributes: {header: "Welcome back {{{firstName|member}}}", body: Gold prices}
  - name: default_banner
    point: home_banner
    state: Live
    attributes: {header: "Hello {{{firstName|there}}}", body: "Browse {{{context.topic|our picks}}}"}
  - name: cheap_deals
    point: deals
    state: Live
    recommender: cheapest-first
experiments:
  - name: deals_test
    point: deals
    primaryMetric: Click-Through Rate
    status: Started
    cohorts:
      - {id: control, weight: 50, deferToDecisions: true}
      - {id: newest, weight: 50, recommender: newest}
"""


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # P13N_DATABASE_URL comes from the e2e_db fixture (set for PostgreSQL, unset for SQLite).
    env = {**os.environ, "P13N_HOME": str(home), "LOG_COLUMNS": "200"}
    return subprocess.run([P13N, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def home(tmp_path: Path, e2e_db: Database) -> Path:
    return tmp_path / "home"


def test_apply_is_validated_whole_idempotent_and_round_trips_through_export(
    home: Path, tmp_path: Path
) -> None:
    config = tmp_path / "tenant.yaml"
    config.write_text(CONFIG)
    first = run(home, "config", "apply", str(config))
    assert first.returncode == 0, first.stderr
    assert "created decision/gold_banner" in first.stdout and "8 created, 0 updated" in first.stdout
    again = run(home, "config", "apply", str(config))
    assert again.returncode == 0 and "nothing changed" in again.stdout

    broken = tmp_path / "broken.yaml"
    doc = yaml.safe_load(CONFIG)
    doc["points"].append({"name": "popup", "contentSchema": {"type": "ManualContent"}})
    doc["decisions"][1]["attributes"]["header"] = "Changed"
    doc["decisions"].append({"name": "orphan", "point": "nowhere"})
    broken.write_text(yaml.safe_dump(doc))
    refused = run(home, "config", "apply", str(broken))
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "nothing was changed" in refused.stderr
    assert "point 'nowhere'" in refused.stderr and "Traceback" not in refused.stderr

    exported = run(home, "config", "export")
    assert exported.returncode == 0, exported.stderr
    state = yaml.safe_load(exported.stdout)
    assert "popup" not in [p["name"] for p in state["points"]]
    banner = next(d for d in state["decisions"] if d["name"] == "default_banner")
    assert (
        banner["attributes"]["header"] == "Hello {{{firstName|there}}}" and banner["priority"] == 2
    )
    assert next(e for e in state["experiments"] if e["name"] == "deals_test")["status"] == "Started"
    assert {"top-sellers", "cheapest-first"} <= {r["name"] for r in state["recommenders"]}
    back = tmp_path / "exported.yaml"
    back.write_text(exported.stdout)
    reapplied = run(home, "config", "apply", str(back))
    assert reapplied.returncode == 0 and "nothing changed" in reapplied.stdout, reapplied.stdout

    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("points: [ {name: x\n")
    r = run(home, "config", "apply", str(bad_yaml))
    assert r.returncode == 1 and "not valid YAML" in r.stderr


def test_decide_prints_the_decision_response(home: Path, tmp_path: Path) -> None:
    config = tmp_path / "tenant.yaml"
    config.write_text(CONFIG)
    assert run(home, "config", "apply", str(config)).returncode == 0
    r = run(
        home,
        "decide",
        "--individual",
        "nobody",
        "--point",
        "home_banner",
        "--context",
        "topic=boots",
    )
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    banner = answer["personalizations"][0]
    assert banner["attributes"] == {"header": "Hello there", "body": "Browse boots"}
    assert [d["code"] for d in answer["diagnostics"]] == [512]
    assert banner["trace"]["decision"] == "default_banner"
    bad = run(home, "decide", "--point", "home_banner", "--context", "novalue")
    assert bad.returncode == 1 and "key=value" in bad.stderr
