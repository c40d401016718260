"""What keeping the Measure aggregates costs the decision path: decisions/s with them on and off.

    python -m bench.measure_cost [--profiles 100000] [--items 100000] [--requests 4000]
                                 [--rounds 3] [--home DIR [--reuse]] [--http-seconds 10]

The store is `bench.decisions`' (same build, same two points, same request bodies; `--home DIR
--reuse` shares a build with it). Timed, in process, per round and mode: `--requests` decision
requests as a face answers them (`DecisionRequest.model_validate_json`, `DecisionService.decide`,
`orjson.dumps(answer.public())`) and then `service.close()`, which drains the personalization
log into the store, so that the writer's work is inside the figure and not left in its queue.
Throughput = requests / that wall time, and requests / the process's CPU time over it (all
threads: the writer's work included), which a shared machine disturbs far less than wall time. Mode `on` is what `p13n serve` runs: the log writer
merges each batch's pipeline hour aggregates in the batch's transaction
(`PersonalizationLog(pipeline=PipelineStats(...))`); `off` writes the log rows alone. The modes
alternate (the order swapped each round) so that a busy machine's drift falls on both.

Over HTTP (`--http-seconds S`, 0 to skip): `bench.decisions`' server run (`p13n serve` on
loopback loaded by wrk, 8 connections, S seconds after a warm-up) once per round and mode, the
modes alternating; `off` serves with `P13N_PIPELINE_AGGREGATES=false`. Figures: decisions/s and
the server's CPU milliseconds per decision (user + system of every thread, from /proc), whose
ratio on/off is the cost a user pays over HTTP.

Left out, and why: the attribution days and the experiment cells are not kept on the decision
path; the server's hourly job folds the last hour from the log in the background, and its share
of the CPU is that fold's time over 3,600 s (`bench.analytics` times the folds).

Last line: one JSON object (throughput per round and mode, the median ratio on/off, the cost).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench._util import code_fingerprint, keep_result, machine_facts, peak_rss_mb
from bench.decisions import _BUILT, DEFAULT_CACHE, SEED, _body, _err, _reused, build, over_http
from p13n.domain.decisions import DecisionRequest
from p13n.domain.services import (
    DecisionService,
    Engine,
    EngineOptions,
    PersonalizationLog,
    PipelineStats,
    RecommendService,
    sql_store,
)

MODES = ("off", "on")


def run(home: Path, profiles: int, n_items: int, requests: int, mode: str) -> tuple[float, float]:
    """Decisions per wall second and per CPU second of the process (every thread), the log
    drained, with the pipeline aggregates `mode`."""
    engine = Engine.open(
        f"sqlite:///{home / 'p13n.db'}", EngineOptions(profile_cache_size=DEFAULT_CACHE)
    )
    try:
        engine.warm_profiles(DEFAULT_CACHE)
        pipeline = PipelineStats(sql_store(engine), clock=engine.now) if mode == "on" else None
        service = DecisionService(
            engine,
            RecommendService(engine),
            log=PersonalizationLog(sql_store(engine), pipeline=pipeline),
        )
        rng = random.Random(SEED)
        for _ in range(200):  # snapshot, compiled masks, first-call costs
            service.decide(
                DecisionRequest.model_validate(_body(rng, profiles, n_items)), authenticated=True
            )
        bodies = [orjson.dumps(_body(rng, profiles, n_items)) for _ in range(requests)]
        started, cpu = time.perf_counter(), time.process_time()
        for body in bodies:
            answer = service.decide(DecisionRequest.model_validate_json(body), authenticated=True)
            orjson.dumps(answer.public())
        service.close()  # drains the log: the writer's work is inside the figure
        wall = time.perf_counter() - started
        return requests / wall, requests / (time.process_time() - cpu)
    finally:
        engine.close()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.measure_cost", description=__doc__)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--home", type=Path, default=None, help="keep the store here")
    parser.add_argument("--reuse", action="store_true", help="with --home: reuse its build")
    parser.add_argument("--http-seconds", type=float, default=10.0, help="0: no HTTP part")
    args = parser.parse_args(argv)
    if min(args.profiles, args.items, args.requests, args.rounds) <= 0:
        parser.error("--profiles, --items, --requests and --rounds must be positive")
    events = 2 * args.profiles
    with tempfile.TemporaryDirectory(prefix="p13n-bench-measure-cost-") as tmp:
        home = args.home or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        built = _reused(home, args.profiles, args.items, events) if args.reuse else None
        if built is None:
            if (home / "p13n.db").exists():
                parser.error(f"{home} already holds a store; choose an empty --home or --reuse")
            _err(f"building {args.profiles} profiles, {args.items} items ...")
            built = build(home, args.profiles, args.items, events)
            (home / _BUILT).write_bytes(
                orjson.dumps(
                    {"profiles": args.profiles, "items": args.items, "events": events, **built}
                )
            )
        rounds: dict[str, list[float]] = {m: [] for m in MODES}
        per_cpu: dict[str, list[float]] = {m: [] for m in MODES}
        for r in range(args.rounds):
            for mode in MODES if r % 2 == 0 else MODES[::-1]:
                rps, cps = run(home, args.profiles, args.items, args.requests, mode)
                rounds[mode].append(round(rps, 1))
                per_cpu[mode].append(round(cps, 1))
                _err(f"round {r + 1} {mode}: {rps:.0f} decisions/s, {cps:.0f} per CPU second")
        http = _http_rounds(home, built, args) if args.http_seconds > 0 else None
    ratio = statistics.median(on / off for on, off in zip(rounds["on"], rounds["off"], strict=True))
    cpu_ratio = statistics.median(
        on / off for on, off in zip(per_cpu["on"], per_cpu["off"], strict=True)
    )
    result: dict[str, Any] = {
        "benchmark": "measure_cost",
        "profiles": args.profiles,
        "items": args.items,
        "settings": {"requests": args.requests, "rounds": args.rounds, "cache": DEFAULT_CACHE},
        "decisions_per_s": rounds,
        "ratio_on_off": round(ratio, 3),
        "cost_pct": round(100 * (1 - ratio), 1),
        "decisions_per_cpu_s": per_cpu,
        "cpu_ratio_on_off": round(cpu_ratio, 3),
        "cpu_cost_pct": round(100 * (1 - cpu_ratio), 1),
        "target_cost_pct": 5.0,
        "http": http,
        "peak_rss_mb": peak_rss_mb(),
        "machine": machine_facts(),
        "code": code_fingerprint(),
    }
    keep_result("measure_cost", result)
    print(orjson.dumps(result).decode())
    return result


def _http_rounds(home: Path, built: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The server with the aggregates on and off, alternating, `--rounds` times each."""
    if not shutil.which("wrk"):
        return {"skipped": "wrk is not on PATH (Debian/Ubuntu: apt-get install -y wrk)"}
    rps: dict[str, list[float]] = {m: [] for m in MODES}
    cpu: dict[str, list[float]] = {m: [] for m in MODES}
    for r in range(args.rounds):
        for mode in MODES if r % 2 == 0 else MODES[::-1]:
            got = over_http(
                home,
                built["key"],
                args.profiles,
                args.items,
                2000,
                8,
                generator="wrk",
                seconds=args.http_seconds,
                cache=DEFAULT_CACHE,
                pipeline=mode == "on",
            )
            rps[mode].append(got["http_rps"])
            cpu[mode].append(got["server_cpu_ms_per_decision"])
            _err(
                f"http round {r + 1} {mode}: {got['http_rps']:.0f} decisions/s, "
                f"{got['server_cpu_ms_per_decision']:.3f} server CPU ms per decision"
            )
    cpu_ratio = statistics.median(on / off for on, off in zip(cpu["on"], cpu["off"], strict=True))
    rps_ratio = statistics.median(on / off for on, off in zip(rps["on"], rps["off"], strict=True))
    return {
        "seconds": args.http_seconds,
        "clients": 8,
        "decisions_per_s": rps,
        "server_cpu_ms_per_decision": cpu,
        "ratio_on_off": round(rps_ratio, 3),
        "cost_pct": round(100 * (1 - rps_ratio), 1),
        "cpu_ratio_on_off": round(cpu_ratio, 3),
        "cpu_cost_pct": round(100 * (cpu_ratio - 1), 1),
    }


if __name__ == "__main__":
    main()
