"""The `p13n` command line, run as a real process against a temporary P13N_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _database import Database

P13N = str(Path(sys.executable).parent / "p13n")


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # P13N_DATABASE_URL comes from the e2e_db fixture (set for PostgreSQL, unset for SQLite).
    env = {**os.environ, "P13N_HOME": str(home), "LOG_COLUMNS": "200"}
    return subprocess.run([P13N, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def home(tmp_path: Path, e2e_db: Database) -> Path:
    return tmp_path / "home"


def test_catalog_and_events_import_from_files_with_a_mapping_and_a_rejection_summary(
    home: Path, tmp_path: Path, e2e_db: Database
) -> None:
    catalog = tmp_path / "items.csv"
    catalog.write_text(
        "sku,title,category,price,color\ns1,Blue top,Women/Tops,12.5,blue\ns2,Red top,Women/Tops,abc,red\n"
    )
    r = run(home, "import", "catalog", str(catalog), "--map", "sku=id", "--map", "title=name")
    assert r.returncode == 0, r.stderr
    assert "1 items imported, 1 rejected" in r.stdout and "row 2" in r.stdout
    # the process wrote to the database under test: PostgreSQL leaves no SQLite file behind
    assert e2e_db.count("items", home) == 1
    assert (home / "p13n.db").exists() == (e2e_db.dialect == "sqlite")
    events = tmp_path / "events.jsonl"
    lines = [
        {
            "individualId": "c1",
            "interaction": "view",
            "itemId": "s1",
            "dateTime": "2026-11-01T10:00:00Z",
        },
        {
            "individualId": "c1",
            "interaction": "purchase",
            "itemId": "s1",
            "price": 12.5,
            "orderId": "o1",
            "dateTime": "2026-11-01T10:05:00Z",
        },
        {"interaction": "view", "itemId": "s1"},
    ]
    events.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n")
    r = run(home, "import", "events", str(events))
    assert r.returncode == 0, r.stderr
    assert "4 rows" in r.stdout and "2 accepted" in r.stdout and "2 rejected" in r.stdout
    assert (
        "row 3: the event names nobody" in r.stdout
        and "row 4: line 4 is not valid JSON" in r.stdout
    )
    again = run(home, "import", "events", str(events))
    assert "2 duplicates" in again.stdout
    flat = tmp_path / "more.csv"
    flat.write_text(
        "individualId,interaction,itemId,quantity,price,orderId,dateTime,store\nc1,Purchase,s1,2,12.5,o2,2026-11-02T10:00:00Z,Paris\n"
    )
    assert run(home, "import", "events", str(flat)).returncode == 0
    shown = run(home, "profiles", "show", "c1")
    profile = json.loads(shown.stdout)
    assert profile["insights"]["order_count"] == 2
    assert profile["insights"]["lifetime_revenue"] == pytest.approx(37.5)
    assert profile["attributes"]["store"] == "Paris"


def test_errors_are_one_line_on_stderr_with_a_non_zero_exit(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "items.xlsx"
    bad.write_text("x")
    r = run(home, "import", "catalog", str(bad))
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and ".csv, .jsonl or .parquet" in r.stderr
    r = run(home, "profiles", "show", "nobody")
    assert (
        r.returncode == 1 and "no profile for 'nobody'" in r.stderr and "Traceback" not in r.stderr
    )
    r = run(home, "import", "catalog", str(tmp_path / "missing.csv"))
    assert r.returncode == 1 and "no file" in r.stderr


def test_the_demo_seed_loads_once_and_names_shopper_one(home: Path) -> None:
    r = run(home, "seed", "demo", "--shoppers", "40", "--items", "300")
    assert r.returncode == 0, r.stderr
    assert "0 rejected" in r.stdout
    again = run(home, "seed", "demo", "--if-empty")
    assert "already has events" in again.stdout
    one = json.loads(run(home, "profiles", "show", "shopper1@example.com").stdout)
    two = json.loads(run(home, "profiles", "show", "demo-device-2").stdout)
    assert one["unified_id"] == two["unified_id"]
    assert {i["value"] for i in one["identities"]} >= {"demo-device-1", "demo-device-2"}
    stats = json.loads(run(home, "stats").stdout)
    assert stats["profiles"] >= 30 and stats["items"] >= 300
