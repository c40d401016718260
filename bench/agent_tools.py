"""Agent tool round trips on the demo tenant: in-process MCP client and `p13n mcp` over stdio.

    python -m bench.agent_tools [--home DIR] [--calls 200]

`--home` names a P13N_HOME holding the demo tenant (`p13n seed demo` then `p13n train`);
without it the demo is seeded into a temporary directory first (minutes: 3,000 items embedded).
Each call is timed from `call_tool` to its parsed result with `perf_counter_ns`, after a
warm-up (the stdio server is already started and has answered a query, so its model is
loaded). Shoppers and queries rotate through the demo's five personas; every timed query text
is new (a counter is appended), so the query figures include embedding it, and the
`get_recommendations_query_cached` case repeats five texts to show a query-vector cache hit.
Sizes are the JSON text block of each tool's answer (the structured content is the same JSON);
tokens ≈ bytes/4.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import orjson
from mcp import Client, StdioServerParameters

from bench._util import machine_facts, p13n_script, percentile_ms, server_env
from p13n.domain.recommend import ItemVectors
from p13n.domain.services import Engine, RecommendService
from p13n.domain.vectors import ChromaVectorIndex, MiniLMEmbedder
from p13n.seed.demo import load_demo
from p13n.tools import ToolContext
from p13n.tools.mcp import build_mcp_server

SHOPPERS = [
    "shopper1@example.com",
    "demo-device-3",
    "demo-device-4",
    "shopper4@example.com",
    "demo-device-7",
]
QUERIES = [
    "lululemon leggings for running",
    "nintendo switch games",
    "makeup palette under 40",
    "baby girl clothes",
    "farmhouse kitchen decor",
]


_distinct = itertools.count()


def _fresh(k: int) -> str:
    """A query text never sent before in this process (the embedder caches query vectors by
    text, and the headline figures must include embedding the query)."""
    return f"{QUERIES[k % 5]} {next(_distinct)}"


def _cases() -> dict[str, Callable[[int], dict[str, Any]]]:
    return {
        "get_context": lambda k: {"individual": SHOPPERS[k % 5]},
        "get_recommendations": lambda k: {"individual": SHOPPERS[k % 5]},
        "get_recommendations_query": lambda k: {"individual": SHOPPERS[k % 5], "query": _fresh(k)},
        "search_catalog": lambda k: {"query": _fresh(k)},
        # The same five queries again and again: their vectors come from the cache.
        "get_recommendations_query_cached": lambda k: {
            "individual": SHOPPERS[k % 5],
            "query": QUERIES[k % 5],
        },
    }


def _tool_name(case: str) -> str:
    return "get_recommendations" if case.startswith("get_recommendations") else case


async def _measure(client: Client, calls: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for case, args in _cases().items():
        for k in range(5):  # warm-up
            await client.call_tool(_tool_name(case), args(k))
        samples: list[int] = []
        sizes: list[int] = []
        for k in range(calls):
            started = time.perf_counter_ns()
            result = await client.call_tool(_tool_name(case), args(k))
            samples.append(time.perf_counter_ns() - started)
            if result.is_error:
                raise RuntimeError(f"{case} failed: {result.content[0].text}")  # type: ignore[union-attr]
            sizes.append(len(result.content[0].text.encode()))  # type: ignore[union-attr]
        sizes.sort()
        out[case] = {
            "p50_ms": percentile_ms(samples, 50),
            "p99_ms": percentile_ms(samples, 99),
            "bytes_median": sizes[len(sizes) // 2],
            "bytes_max": sizes[-1],
            "tokens_median": sizes[len(sizes) // 2] // 4,
        }
    return out


def _open(home: Path) -> tuple[Engine, RecommendService]:
    engine = Engine.open(f"sqlite:///{(home / 'p13n.db').resolve()}")
    vectors = ItemVectors(ChromaVectorIndex(home / "vectors"), MiniLMEmbedder())
    return engine, RecommendService(engine, vectors=vectors, model_dir=home / "models")


def _seed(home: Path) -> None:
    engine, service = _open(home)
    try:
        load_demo(engine)
        service.sync_vectors()
        service.train()
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    home: Path = args.home or Path(tempfile.mkdtemp(prefix="p13n-agent-bench-"))
    if args.home is None:
        print(f"seeding the demo tenant into {home} ...", file=sys.stderr)
        _seed(home)

    engine, service = _open(home)
    engine.warm_profiles()
    ctx = ToolContext(engine=engine, recommend=service)
    server = build_mcp_server(lambda _: ctx)

    async def in_process() -> dict[str, Any]:
        async with Client(server) as client:
            return await _measure(client, args.calls)

    results: dict[str, Any] = {"in_process": anyio.run(in_process)}
    engine.close()

    params = StdioServerParameters(command=p13n_script(), args=["mcp"], env=server_env(home))

    async def stdio() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=300) as client:
            await client.call_tool(
                "get_recommendations", {"query": "warm up", "limit": 1}
            )  # the model is loaded before timing starts
            return await _measure(client, args.calls)

    results["stdio"] = anyio.run(stdio)
    summary = {
        "benchmark": "agent_tools",
        "home": str(home),
        "calls_per_case": args.calls,
        **results,
        "machine": machine_facts(),
    }
    for transport in ("in_process", "stdio"):
        for case, figures in results[transport].items():
            print(f"{transport:10s} {case:26s} {orjson.dumps(figures).decode()}", file=sys.stderr)
    print(orjson.dumps(summary).decode())


if __name__ == "__main__":
    main()
