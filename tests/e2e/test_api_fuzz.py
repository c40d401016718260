"""API fuzzing: Schemathesis against the OpenAPI document `p13n serve` publishes, on the seeded
demo tenant, with no credential and with a key of each scope (`bench/api_fuzz.py` runs it; the
benchmark there runs the same with a larger budget). Every answer must be documented (status,
schema, headers, `Allow` on 405s), no request may give a 5xx or a traceback, wrong-typed input
must be refused and schema-valid input accepted, except for the rules `bench/api_fuzz.toml`
lists (checks across fields, objects or the clock, which no JSON Schema states).

The budget is bounded for CI (about two minutes on the reference machine): the admin key
through the examples and coverage phases (every boundary value, wrong type, missing field and
unexpected method of every operation: about 4,500 requests), the other credentials through the
examples and a fuzzing phase of 3 per operation; one Schemathesis worker (two threads hit a
CPython 3.11 bug in `ast`, "AST constructor recursion depth mismatch"). `python -m
bench.api_fuzz` runs every credential through every phase at 50. PostgreSQL gets a shorter
admin pass on a small tenant.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _database import Database
from _mcp_http_server import seed_tenant

from bench.api_fuzz import FuzzRun, Pass, serve_and_fuzz

pytestmark = pytest.mark.fuzz

CI_PLAN = (
    Pass("admin", 1, "examples,coverage"),
    *(Pass(c, 3, "examples,fuzzing") for c in ("none", "public", "decide", "agent", "analyst")),
)


def _explain(run: FuzzRun, home: Path) -> str:
    lines = [
        f"{f['credential']}: {f['code']} {f['title']} — {f['operation']}" for f in run.failures
    ]
    return (
        f"{len(run.failures)} failures in {run.total} test cases (Schemathesis output with "
        f"curl lines to reproduce: {home}/schemathesis-*.txt):\n" + "\n".join(lines)
    )


def test_every_answer_on_the_demo_tenant_is_the_documented_one(demo_home: Path) -> None:
    run = serve_and_fuzz(demo_home, CI_PLAN)
    assert not run.failures, _explain(run, demo_home)
    assert run.operations >= 50, f"only {run.operations} operations were tested"
    assert set(run.generated) == {"admin", "none", "public", "decide", "agent", "analyst"}
    assert run.generated["admin"] > 3000, run.summary()  # the coverage phase ran


@pytest.mark.postgres
def test_the_admin_pass_holds_on_postgresql(
    tmp_path: Path, e2e_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if e2e_db.url is None:
        pytest.skip("the demo tenant run above covers SQLite")
    monkeypatch.setenv("P13N_DATABASE_URL", e2e_db.url)  # seed_tenant's store, not SQLite
    seed_tenant(tmp_path)
    run = serve_and_fuzz(
        tmp_path,
        (Pass("admin", 5, "examples,fuzzing"),),
        extra_env={"P13N_DATABASE_URL": e2e_db.url},
    )
    assert not run.failures, _explain(run, tmp_path)
    assert run.generated["admin"] > 200, run.summary()
