"""`p13n train` and `p13n recommend`, in process through typer's runner (the one MiniLM of the
session embeds the catalog), plus the real executable for the exit code of an error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _database import Database
from typer.testing import CliRunner

from p13n.domain.errors import InvalidInput, NotFound
from p13n.server.cli import app

P13N = str(Path(sys.executable).parent / "p13n")
CATALOG = [
    ("boot-1", "Waterproof hiking boots", "Outdoors/Footwear/Boots", 120.0),
    ("boot-2", "Leather hiking boots", "Outdoors/Footwear/Boots", 180.0),
    ("tent-1", "Two person camping tent", "Outdoors/Camping/Tents", 250.0),
    ("mug-1", "Ceramic coffee mug", "Home/Kitchen/Mugs", 12.0),
    ("mug-2", "Stoneware tea mug", "Home/Kitchen/Mugs", 15.0),
]


@pytest.fixture
def home(tmp_path: Path, e2e_db: Database) -> Path:
    """A P13N_HOME with the catalog and a few shoppers' views imported through the CLI."""
    home = tmp_path / "home"
    catalog = tmp_path / "items.jsonl"
    catalog.write_text(
        "".join(
            json.dumps({"id": i, "name": n, "category": c, "price": p}) + "\n"
            for i, n, c, p in CATALOG
        )
    )
    events = tmp_path / "events.jsonl"
    rows = [
        {
            "individualId": f"c{k}",
            "interaction": "view",
            "itemId": item,
            "dateTime": f"2026-11-0{k + 1}T10:00:00Z",
        }
        for k in range(5)
        for item in ("boot-1", "tent-1")
    ]
    rows += [
        {
            "individualId": "solo",
            "interaction": "view",
            "itemId": "mug-1",
            "dateTime": "2026-11-09T10:00:00Z",
        }
    ]
    events.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for args in (["import", "catalog", str(catalog)], ["import", "events", str(events)]):
        r = invoke(home, *args)
        assert r.exit_code == 0, r.output
    return home


def invoke(home: Path, *args: str):  # type: ignore[no-untyped-def]
    # P13N_DATABASE_URL comes from the e2e_db fixture (set for PostgreSQL, unset for SQLite).
    env = {"P13N_HOME": str(home), "LOG_COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def test_train_fits_the_model_on_the_event_log(home: Path) -> None:
    r = invoke(home, "train")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["items"] == 3 and summary["individuals"] == 6
    assert (home / "models" / "objective.npz").exists()


def test_recommend_json_answers_one_individual_with_reasons(home: Path) -> None:
    assert invoke(home, "train").exit_code == 0
    r = invoke(
        home,
        "recommend",
        "--recommender",
        "recommended-for-you",
        "--individual",
        "c0",
        "--limit",
        "3",
        "--request-id",
        "r1",
        "--json",
    )
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["diagnostics"][0]["code"] == 200
    assert len(body["items"]) == 3
    assert all(i["reason"] for i in body["items"])
    assert {i["id"] for i in body["items"]} <= {x[0] for x in CATALOG}
    assert any(i["reason"].startswith("because you viewed '") for i in body["items"])


def test_recommend_a_file_of_individuals_writes_one_line_each_in_order(
    home: Path, tmp_path: Path
) -> None:
    assert invoke(home, "train").exit_code == 0
    people = tmp_path / "people.txt"
    people.write_text("solo\n\nc1\nnever-seen\n")
    out = tmp_path / "out.jsonl"
    r = invoke(
        home,
        "recommend",
        "--recommender",
        "viewed-together",
        "--individuals-file",
        str(people),
        "--output",
        str(out),
        "--limit",
        "2",
        "--exclude-seen",
    )
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["individual"] for x in lines] == ["solo", "c1", "never-seen"]
    assert all(set(x) == {"individual", "items"} for x in lines)
    assert "boot-1" not in lines[1]["items"] and "tent-1" not in lines[1]["items"]  # seen
    assert all(1 <= len(x["items"]) <= 2 for x in lines)  # the fallback fills cold starts
    assert "3 individuals served" in r.stderr


def test_an_anchor_a_query_and_a_limit_above_24(home: Path) -> None:
    r = invoke(
        home,
        "recommend",
        "--recommender",
        "similar-items",
        "--individual",
        "c1",
        "--anchor",
        "boot-1",
        "--json",
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["items"][0]["id"] == "boot-2"
    r = invoke(
        home,
        "recommend",
        "--recommender",
        "newest",
        "--individual",
        "c1",
        "--query",
        "mug under 13",
        "--json",
    )
    assert [i["id"] for i in json.loads(r.stdout)["items"]] == ["mug-1"]
    r = invoke(
        home,
        "recommend",
        "--recommender",
        "newest",
        "--individual",
        "c1",
        "--limit",
        "40",
        "--json",
    )
    assert [d["code"] for d in json.loads(r.stdout)["diagnostics"]] == [533]


def test_bad_arguments_raise_clear_domain_errors(home: Path) -> None:
    cases = [
        (
            ["--recommender", "nope", "--individual", "c1", "--json"],
            NotFound,
            "no recommender 'nope'",
        ),
        (
            ["--recommender", "similar-items", "--individual", "c1", "--anchor", "ghost", "--json"],
            NotFound,
            "ghost",
        ),
        (
            ["--recommender", "newest", "--individual", "c1", "--limit", "0", "--json"],
            InvalidInput,
            "limit must be",
        ),
        (["--recommender", "newest", "--json"], InvalidInput, "exactly one of --individual"),
        (["--recommender", "newest", "--individual", "c1"], InvalidInput, "exactly one of --json"),
    ]
    for args, error, message in cases:
        r = invoke(home, "recommend", *args)
        assert isinstance(r.exception, error), (args, r.output)
        assert message in str(r.exception)


def test_the_executable_exits_non_zero_with_one_line_for_an_unknown_recommender(
    tmp_path: Path, e2e_db: Database
) -> None:
    env = e2e_db.env(tmp_path / "home")
    r = subprocess.run(
        [P13N, "recommend", "--recommender", "nope", "--individual", "x", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 1
    assert "error: no recommender 'nope'" in r.stderr
