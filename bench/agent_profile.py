"""Where an agent tool call's milliseconds go, in one process: the action alone (`invoke`), the
output dumped to JSON, and the whole call through the MCP SDK's in-memory client (protocol,
validation, the worker-thread hop), alternated call by call; then a cProfile of each case.

    python -m bench.agent_profile --home DEMO [--calls 100] [--top 12] [--keep]

Uses bench.agent_tools' cases (the same arguments). Query texts are new on every call (the
embedding included) except in `get_recommendations_query_cached`. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import orjson
from mcp import Client

from bench._util import code_fingerprint, keep_result, machine_facts, percentile_ms
from bench.agent_tools import CASES
from p13n.server.bootstrap import build_services
from p13n.server.settings import Settings
from p13n.tools.actions import get_action
from p13n.tools.mcp import build_mcp_server

PROFILED = ("get_context", "get_recommendations", "get_recommendations_query",
            "get_recommendations_query_cached")  # fmt: skip


def _figures(samples: list[int]) -> dict[str, float]:
    return {"p50_ms": percentile_ms(samples, 50), "p99_ms": percentile_ms(samples, 99)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--keep", action="store_true", help="write the JSON under bench/results/")
    args = ap.parse_args(argv)
    services = build_services(Settings(home=args.home, database_url=None))
    services.engine.warm_profiles()
    ctx = services.tool_context()
    embedder = services.recommend.vectors.embedder if services.recommend.vectors else None
    server = build_mcp_server(lambda _: ctx)
    cases: dict[str, Any] = {}
    profiles: dict[str, list[str]] = {}

    async def go() -> None:
        async with Client(server) as client:
            for case in PROFILED:
                tool, make = CASES[case]
                action = get_action(tool)
                for k in range(5):  # warm-up (the model, the query index)
                    await client.call_tool(tool, make(k, set()))
                invoke: list[int] = []
                dump: list[int] = []
                whole: list[int] = []
                for k in range(args.calls):
                    a, b = make(1000 + 2 * k, set()), make(1001 + 2 * k, set())
                    t0 = time.perf_counter_ns()
                    out = action.invoke(ctx, a)
                    t1 = time.perf_counter_ns()
                    orjson.dumps(out.model_dump(mode="json"))
                    t2 = time.perf_counter_ns()
                    await client.call_tool(tool, b)
                    t3 = time.perf_counter_ns()
                    invoke.append(t1 - t0)
                    dump.append(t2 - t1)
                    whole.append(t3 - t2)
                cases[case] = {
                    "invoke": _figures(invoke),
                    "dump_json": _figures(dump),
                    "mcp_in_memory": _figures(whole),
                }
                profile = cProfile.Profile()
                profile.enable()
                for k in range(args.calls):
                    action.invoke(ctx, make(5000 + k, set()))
                profile.disable()
                text = io.StringIO()
                pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(args.top)
                profiles[case] = [ln for ln in text.getvalue().splitlines() if "/" in ln][
                    : args.top
                ]
                print(case, orjson.dumps(cases[case]).decode(), file=sys.stderr)
                print("\n".join(profiles[case]), file=sys.stderr, flush=True)

    try:
        anyio.run(go)
    finally:
        services.close()
    summary: dict[str, Any] = {
        "benchmark": "agent_profile",
        "code": code_fingerprint(),
        "machine": machine_facts(),
        "load_average": list(os.getloadavg()),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "query_backend": getattr(embedder, "query_backend", None),
        "cases": cases,
        "profiles": profiles,
    }
    if args.keep:
        keep_result("agent_profile", summary)
    print(orjson.dumps(summary).decode())
    return summary


if __name__ == "__main__":
    main()
