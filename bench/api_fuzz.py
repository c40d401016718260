"""API fuzzing: Schemathesis against the OpenAPI document a running `p13n serve` publishes.

`python -m bench.api_fuzz [--home H] [--examples N] [--seed S]` starts `p13n serve` on 127.0.0.1
and a free port over a tenant (`--home`, or the demo tenant seeded into a temporary home with
`p13n seed demo`), mints one API key per scope (the key service of `p13n keys create`), and runs `st run` (the
examples, coverage and fuzzing phases, every check) over every operation once per credential:
none, then each scope's key. The last line printed is one JSON object: test cases generated
per credential and in all, and every failure (check code, operation, credential). The
suite `tests/e2e/test_api_fuzz.py` runs the same on a small budget and asserts no failure.

What the fuzzer is told beyond the document lives beside this file: `api_fuzz.toml` (operations
whose rules no JSON Schema can state, each with the rule) and `api_fuzz_hooks.py` (the path
names the object a configuration body describes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._util import (
    ServerProcess,
    code_fingerprint,
    free_port,
    machine_facts,
    p13n_script,
    server_env,
)

__all__ = ["CREDENTIALS", "FuzzRun", "Pass", "full", "fuzz", "main", "mint_keys", "serve_and_fuzz"]

_HERE = Path(__file__).resolve().parent
CONFIG = _HERE / "api_fuzz.toml"
HOOKS_MODULE = "bench.api_fuzz_hooks"
# `none` sends no credential; the others send a key holding exactly that scope.
CREDENTIALS: tuple[str, ...] = ("none", "public", "decide", "agent", "analyst", "admin")
PHASES = "examples,coverage,fuzzing"


@dataclass(frozen=True)
class Pass:
    """One `st run`: a credential, the phases and the examples per operation and phase."""

    credential: str
    examples: int
    phases: str = PHASES


def full(examples: int) -> tuple[Pass, ...]:
    """Every credential through every phase."""
    return tuple(Pass(c, examples) for c in CREDENTIALS)


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mint_keys(home: Path, scopes: tuple[str, ...], *, env: dict[str, str]) -> dict[str, str]:
    """One new key per scope in the store `env` names (`P13N_DATABASE_URL`, else SQLite under
    `home`), through the same key service `p13n keys create` uses, in this process (five CLI
    starts cost about 25 seconds of a bounded CI run)."""
    from p13n.domain.services import ApiKeys
    from p13n.server.bootstrap import build_engine
    from p13n.server.settings import Settings

    engine = build_engine(Settings(home=home, database_url=env.get("P13N_DATABASE_URL")))
    try:
        service = ApiKeys.for_engine(engine)
        return {s: service.create([s], label=f"fuzz {s}").key for s in scopes}
    finally:
        engine.close()


@dataclass
class FuzzRun:
    """One `st run` per credential, summed."""

    generated: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    operations: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.generated.values())

    def summary(self) -> dict[str, Any]:
        by_code = Counter(f["code"] for f in self.failures)
        return {
            "operations": self.operations,
            "test_cases": self.total,
            "test_cases_by_credential": self.generated,
            "failures": len(self.failures),
            "failures_by_check": dict(sorted(by_code.items())),
            "failure_list": self.failures,
            "seconds": round(self.seconds, 1),
        }


def _st_run(
    url: str,
    token: str | None,
    *,
    examples: int,
    phases: str,
    seed: int,
    report: Path,
    workers: int,
) -> dict[str, Any]:
    st = Path(sys.executable).with_name("st")
    argv = [
        str(st),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--phases",
        phases,
        "--checks",
        "all",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--workers",
        str(workers),
        "--no-shrink",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--request-timeout",
        "30",
    ]
    if token is not None:
        argv += ["--header", f"Authorization: Bearer {token}"]
    env = dict(os.environ)
    env["SCHEMATHESIS_HOOKS"] = HOOKS_MODULE
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_HERE.parent), env.get("PYTHONPATH")) if p)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    if not report.exists():
        raise RuntimeError(
            f"st run wrote no report (exit {done.returncode}):\n{done.stdout[-3000:]}\n"
            f"{done.stderr[-3000:]}"
        )
    data: dict[str, Any] = json.loads(report.read_text())
    data["_output"] = done.stdout
    return data


def fuzz(
    url: str,
    keys: dict[str, str],
    plan: tuple[Pass, ...],
    *,
    work_dir: Path,
    seed: int = 17,
    workers: int = 1,
) -> FuzzRun:
    """Schemathesis over every operation of the server at `url`, once per pass of `plan`."""
    run = FuzzRun()
    started = time.perf_counter()
    for step in plan:
        name = step.credential
        token = None if name == "none" else keys[name]
        report = work_dir / f"schemathesis-{name}.json"
        data = _st_run(
            url,
            token,
            examples=step.examples,
            phases=step.phases,
            seed=seed,
            report=report,
            workers=workers,
        )
        run.generated[name] = int(data["test_cases"]["generated"])
        run.operations = max(run.operations, int(data["operations"]["tested"]))
        for failure in data["failures"]:
            for operation in failure["operations"]:
                run.failures.append(
                    {
                        "credential": name,
                        "code": failure["code"],
                        "title": failure["title"],
                        "operation": operation,
                    }
                )
        for error in data["errors"]:
            run.failures.append(
                {
                    "credential": name,
                    "code": "error",
                    "title": str(error)[:300],
                    "operation": "",
                }
            )
        if data["failures"] or data["errors"]:
            (work_dir / f"schemathesis-{name}.txt").write_text(data["_output"])
    run.seconds = time.perf_counter() - started
    return run


def serve_and_fuzz(
    home: Path,
    plan: tuple[Pass, ...],
    *,
    seed: int = 17,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> FuzzRun:
    """`p13n serve` over `home` (and `extra_env`), fuzzed with a fresh key per scope, then
    stopped; a traceback in the server's log is a failure too."""
    env = server_env(home)
    env.update(extra_env or {})
    env.setdefault("P13N_WARM_PROFILES", "0")
    scopes = tuple(dict.fromkeys(p.credential for p in plan if p.credential != "none"))
    keys = mint_keys(home, scopes, env=env)
    port = free_port()
    argv = [p13n_script(), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    log_path = home / f"fuzz-server-{port}.log"
    with ServerProcess(argv, env=env, log_path=log_path) as server:
        server.wait_healthy(f"http://127.0.0.1:{port}/health", timeout_s=300)
        run = fuzz(
            f"http://127.0.0.1:{port}", keys, plan, work_dir=home, seed=seed, workers=workers
        )
    log = log_path.read_text(errors="replace")
    if "Traceback" in log:  # a 500 is a failure already; this catches errors behind a 2xx too
        run.failures.append(
            {"credential": "", "code": "traceback", "title": log[-1500:], "operation": ""}
        )
    return run


def _keep_outputs(home: Path) -> str | None:
    """Schemathesis's output of the failed passes (curl lines to reproduce), copied to
    `bench/out/` (ignored by git) before the temporary home goes."""
    found = sorted(home.glob("schemathesis-*.txt"))
    if not found:
        return None
    out = _HERE / "out" / f"api_fuzz-{time.strftime('%Y%m%dT%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    for path in found:
        (out / path.name).write_text(path.read_text())
    return str(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--home", type=Path, default=None, help="a seeded home (copied first)")
    parser.add_argument("--examples", type=int, default=50, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--workers", type=int, default=1, help="threads; 2 hit a CPython 3.11 ast bug"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="p13n-bench-fuzz-") as tmp:
        home = Path(tmp) / "home"
        if args.home is not None:
            subprocess.run(["cp", "-a", str(args.home), str(home)], check=True)
        else:
            _err("seeding the demo tenant (p13n seed demo) ...")
            home.mkdir()
            subprocess.run(
                [p13n_script(), "seed", "demo"], env=server_env(home), check=True, timeout=1800
            )
        _err(f"fuzzing with {args.examples} examples per operation and phase ...")
        run = serve_and_fuzz(home, full(args.examples), seed=args.seed, workers=args.workers)
        kept = _keep_outputs(home)
    result = {
        "benchmark": "api_fuzz",
        "code": code_fingerprint(),
        "machine": machine_facts(),
        "examples": args.examples,
        "seed": args.seed,
        "phases": PHASES,
        **run.summary(),
        "outputs": kept,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
