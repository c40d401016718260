"""Agent tools on the demo tenant: per-tool latency in-process, over stdio and over HTTP, cold
start, the conversation suite's pass rate and NDCG@10 of personalized queries.

    python -m bench.agent_tools [--home DIR] [--calls 200] [--ndcg-shoppers 200]
        [--no-http] [--no-stdio] [--no-conversations] [--no-ndcg] [--cases a,b] [--eras]

`--home` names a P13N_HOME holding the demo tenant (`p13n seed demo`); without it the demo is
seeded into a temporary directory first (`p13n seed demo`: minutes, 3,000 items embedded). The
home is never written: every phase works on its own copy (some cases record interactions).

- Latency, per case: timed from `call_tool` to its parsed result with `perf_counter_ns`, after
  5 warm-up calls, through the MCP SDK's client: in-process (`build_mcp_server` over the
  services `p13n mcp` builds), over stdio (`p13n mcp`, already started and warm) and over
  streamable HTTP (`p13n serve`, `/mcp`, an agent-scope API key). Shoppers and queries rotate
  through the demo's five personas; every timed query text is new (a counter is appended), so
  query cases include embedding it, and `get_recommendations_query_cached` repeats five texts
  (query-vector cache hits). A case whose tool the server does not list, or whose warm-up
  call fails (e.g. a decision point the tenant lacks), is reported as skipped with the reason.
- Eras (`--eras`): over one `p13n serve`, interleaved (each variant once per round, 5
  warm-up rounds), the 2026-07-28 stateless requests against a 2025-11-25 session (`Client(mode="legacy")`, `Mcp-Session-Id`): per-call round trips of
  `get_context` and `get_recommendations` on a connected client, and `connect_and_call`, a
  fresh SDK client per call (what a serverless agent or a load balancer without session
  affinity pays): the session opens with `initialize` + `notifications/initialized` and ends
  with a DELETE; the 2026 client pinned to the version sends the call alone (the SDK client
  also lists the tools once to check the answer against the output schema), and `auto` sends
  `server/discover` first. `raw_http_one_call` is the same one call per "connection" as plain
  HTTP requests on one pooled connection (no SDK): 4 requests against 1.
- Sizes: the JSON text block of each answer (the structured content is the same JSON);
  tokens are approximated as bytes / 4 (no LLM tokenizer is installed; the JSON says so).
- Cold start: `start_to_ready_s` is from spawning the process to the MCP `initialize` answer
  (stdio) or to `/health` answering 200 (HTTP); `first_query_ms` is the first
  `get_recommendations` with a query right after that (over HTTP the MCP session is opened
  first, not counted), `start_to_first_answer_s` the two together; `first_query_semantic`
  says whether it was matched by meaning (false while MiniLM still loads: words alone), and
  `start_to_semantic_s` when a query first is.
- Conversations: `tests/conversations` scripts (`run_conversations`) over stdio on a fresh
  copy of the home: how many pass, and which fail.
- NDCG@10 of the personalized query ranking against the unpersonalized one on held-out
  simulated shoppers: bench/agent_ndcg.py says exactly how.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import orjson
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from bench._util import (
    ServerProcess,
    code_fingerprint,
    free_port,
    keep_result,
    machine_facts,
    p13n_script,
    percentile_ms,
    server_env,
)
from bench.agent_ndcg import held_out_ndcg
from p13n.domain.services import ApiKeys
from p13n.server.bootstrap import build_engine, build_services
from p13n.server.settings import Settings
from p13n.tools.mcp import build_mcp_server

_CONVERSATIONS_DIR = Path(__file__).resolve().parent.parent / "tests" / "conversations"

SHOPPERS = [
    "shopper1@example.com",
    "demo-device-3",
    "demo-device-4",
    "shopper4@example.com",
    "demo-device-7",
]
# Simulated shoppers (not the named five) whom the record_interaction case reports on.
RECORDED = [f"demo-device-{n}" for n in range(100, 105)]
QUERIES = [
    "lululemon leggings for running",
    "nintendo switch games",
    "makeup palette under 40",
    "baby girl clothes",
    "farmhouse kitchen decor",
]
ITEMS = ["m-238131", "m-51300", "m-42344", "m-1071046", "m-1086473"]
TOKENS = "bytes/4 (approximation: no LLM tokenizer is installed)"

_distinct = itertools.count()
_ONLY: set[str] = set()  # --cases: measure only these (all when empty)


def _fresh(k: int) -> str:
    """A query text never sent before in this process (the embedder caches query vectors by
    text, and the headline figures must include embedding the query)."""
    return f"{QUERIES[k % 5]} {next(_distinct)}"


Case = tuple[str, Callable[[int, set[str]], dict[str, Any]]]


def _record_args(k: int, props: set[str]) -> dict[str, Any]:
    one = {"kind": "item_shown", "item_id": ITEMS[k % 5]}
    if "kind" in props or not props:
        return {"individual": RECORDED[k % 5], **one}
    key = next((p for p in ("interactions", "events", "items") if p in props), "interactions")
    return {"individual": RECORDED[k % 5], key: [one]}


def _item_args(k: int, props: set[str]) -> dict[str, Any]:
    return {("item_id" if "item_id" in props or not props else sorted(props)[0]): ITEMS[k % 5]}


CASES: dict[str, Case] = {
    "get_context": ("get_context", lambda k, _: {"individual": SHOPPERS[k % 5]}),
    "get_recommendations": ("get_recommendations", lambda k, _: {"individual": SHOPPERS[k % 5]}),
    "get_recommendations_query": (
        "get_recommendations",
        lambda k, _: {"individual": SHOPPERS[k % 5], "query": _fresh(k)},
    ),
    "search_catalog": ("search_catalog", lambda k, _: {"catalog": {"query": _fresh(k)}}),
    # UCP search as a shopping platform sends it: the buyer's need as `context.intent` and the
    # buyer named, so it is ranked by the recommender for their profile (issue 16's figure).
    "search_catalog_intent_buyer": (
        "search_catalog",
        lambda k, _: {
            "catalog": {"context": {"intent": _fresh(k)}, "buyer": {"id": SHOPPERS[k % 5]}}
        },
    ),
    "lookup_catalog": (
        "lookup_catalog",
        lambda k, _: {"catalog": {"ids": [ITEMS[k % 5], ITEMS[(k + 1) % 5]]}},
    ),
    "get_product": ("get_product", lambda k, _: {"catalog": {"id": ITEMS[k % 5]}}),
    # The same five queries again and again: their vectors come from the cache.
    "get_recommendations_query_cached": (
        "get_recommendations",
        lambda k, _: {"individual": SHOPPERS[k % 5], "query": QUERIES[k % 5]},
    ),
    "get_personalization_decisions": (
        "get_personalization_decisions",
        lambda k, _: {"points": ["home_recommendations"], "individual": SHOPPERS[k % 5]},
    ),
    "record_interaction": ("record_interaction", _record_args),
    "get_item": ("get_item", _item_args),
    "list_catalog_facets": ("list_catalog_facets", lambda k, _: {}),
}


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def _measure(client: Client, calls: int) -> dict[str, Any]:
    listed = {t.name: t for t in (await client.list_tools()).tools}
    out: dict[str, Any] = {}
    for case, (tool, make) in CASES.items():
        if _ONLY and case not in _ONLY:
            continue
        if tool not in listed:
            out[case] = {"skipped": f"the server lists no tool {tool}"}
            continue
        props = set((listed[tool].input_schema or {}).get("properties") or {})
        warm = [await client.call_tool(tool, make(k, props)) for k in range(5)]
        failed = next((r for r in warm if r.is_error), None)
        if failed is not None:
            out[case] = {"skipped": f"warm-up call failed: {_text(failed)[:200]}"}
            continue
        samples: list[int] = []
        sizes: list[int] = []
        for k in range(calls):
            args = make(k, props)
            started = time.perf_counter_ns()
            result = await client.call_tool(tool, args)
            samples.append(time.perf_counter_ns() - started)
            if result.is_error:
                raise RuntimeError(f"{case} failed: {_text(result)}")
            sizes.append(len(_text(result).encode()))
        sizes.sort()
        out[case] = {
            "p50_ms": percentile_ms(samples, 50),
            "p99_ms": percentile_ms(samples, 99),
            "bytes_median": sizes[len(sizes) // 2],
            "bytes_max": sizes[-1],
            "tokens_median": sizes[len(sizes) // 2] // 4,
        }
    return out


async def _query(client: Client, text: str) -> tuple[float, bool | None]:
    """Milliseconds of one query, and whether it was matched by meaning too."""
    started = time.perf_counter()
    result = await client.call_tool(
        "get_recommendations", {"individual": SHOPPERS[0], "query": text}
    )
    if result.is_error:
        raise RuntimeError(f"the query failed: {_text(result)}")
    read = (result.structured_content or {}).get("interpreted") or {}
    return round((time.perf_counter() - started) * 1000, 1), read.get("semantic")


async def _cold_start(client: Client, ready_s: float, spawned: float) -> dict[str, Any]:
    """Start-to-ready (measured by the caller), then the first query right away (answered by
    words alone while MiniLM still loads), then queries every 0.1 s until one is matched by
    meaning too (`start_to_semantic_s`)."""
    first, semantic = await _query(client, "yoga leggings")
    out: dict[str, Any] = {
        "start_to_ready_s": round(ready_s, 2),
        "first_query_ms": first,
        "first_query_semantic": semantic,
        "start_to_first_answer_s": round(time.perf_counter() - spawned, 2),
    }
    for k in range(600):
        if semantic is not False:
            break
        await anyio.sleep(0.1)
        _, semantic = await _query(client, f"yoga leggings {k}")
    out["start_to_semantic_s"] = round(time.perf_counter() - spawned, 2)
    return out


def _copy(home: Path, label: str) -> Path:
    dest = Path(tempfile.mkdtemp(prefix=f"p13n-agent-bench-{label}-"))
    shutil.copytree(home, dest, dirs_exist_ok=True)
    return dest


def _seed(home: Path) -> None:
    subprocess.run(
        [p13n_script(), "seed", "demo"], env=server_env(home), check=True, capture_output=True
    )


def in_process(home: Path, calls: int) -> dict[str, Any]:
    services = build_services(Settings(home=home, database_url=None))
    try:
        services.engine.warm_profiles()
        ctx = services.tool_context()
        server = build_mcp_server(lambda _: ctx)

        async def go() -> dict[str, Any]:
            async with Client(server) as client:
                return await _measure(client, calls)

        return anyio.run(go)
    finally:
        services.close()


def stdio(home: Path, calls: int) -> dict[str, Any]:
    params = StdioServerParameters(command=p13n_script(), args=["mcp"], env=server_env(home))

    async def go() -> dict[str, Any]:
        started = time.perf_counter()
        async with Client(params, read_timeout_seconds=300) as client:
            start = await _cold_start(client, time.perf_counter() - started, started)
            return {"cold_start": start, "cases": await _measure(client, calls)}

    return anyio.run(go)


@asynccontextmanager
async def _http_client(url: str, key: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120)
    async with Client(streamable_http_client(url + "/mcp", http_client=http)) as client:
        yield client


def http(home: Path, calls: int) -> dict[str, Any]:
    engine = build_engine(Settings(home=home, database_url=None))
    try:
        key = ApiKeys.for_engine(engine).create(["agent"], label="agent bench").key
    finally:
        engine.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [p13n_script(), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    with ServerProcess(argv, env=server_env(home), log_path=home / "serve.log") as server:
        ready = server.wait_healthy(url + "/health")
        spawned = time.perf_counter() - ready

        async def go() -> dict[str, Any]:
            async with _http_client(url, key) as client:
                start = await _cold_start(client, ready, spawned)
                return {"cold_start": start, "cases": await _measure(client, calls)}

        return anyio.run(go)


_ERA_MODES = {"session_2025_11_25": "legacy", "stateless_2026_07_28": "2026-07-28"}
_ERA_CASES = {
    "get_context": lambda k: {"individual": SHOPPERS[k % 5]},
    "get_recommendations": lambda k: {"individual": SHOPPERS[k % 5]},
}
Runner = Callable[[int], Any]


def _era_client(url: str, key: str, mode: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120)
    return Client(streamable_http_client(url + "/mcp", http_client=http), mode=mode)


async def _interleaved(calls: int, runners: dict[str, Runner]) -> dict[str, Any]:
    """Each runner once per round, in turn (so that load drifts hit all alike); 5 warm-up rounds."""
    samples: dict[str, list[int]] = {label: [] for label in runners}
    for k in range(calls + 5):
        for label, run in runners.items():
            started = time.perf_counter_ns()
            await run(k)
            if k >= 5:
                samples[label].append(time.perf_counter_ns() - started)
    return {
        label: {"p50_ms": percentile_ms(got, 50), "p99_ms": percentile_ms(got, 99)}
        for label, got in samples.items()
    }


def _checked_call(client: Client, tool: str, args: dict[str, Any]) -> Any:
    async def call() -> None:
        result = await client.call_tool(tool, args)
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {_text(result)}")

    return call()


def _fresh_client_call(url: str, key: str, mode: str) -> Runner:
    async def run(k: int) -> None:
        async with _era_client(url, key, mode) as client:
            await _checked_call(client, "get_context", _ERA_CASES["get_context"](k))

    return run


_MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "p13n-bench", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def _rpc(method: str, params: dict[str, Any], rid: int | None = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if rid is not None:
        body["id"] = rid
    return body


def _raw_session_call(http: httpx2.AsyncClient, url: str) -> Runner:
    """A 2025-11-25 client's one call: initialize, initialized, tools/call, DELETE."""
    init = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "p13n-bench", "version": "1"},
    }

    async def run(k: int) -> None:
        opened = await http.post(url, json=_rpc("initialize", init))
        opened.raise_for_status()
        session = {
            "Mcp-Session-Id": opened.headers["mcp-session-id"],
            "Mcp-Protocol-Version": "2025-11-25",
        }
        await http.post(url, json=_rpc("notifications/initialized", {}, None), headers=session)
        args = {"name": "get_context", "arguments": _ERA_CASES["get_context"](k)}
        call = await http.post(url, json=_rpc("tools/call", args, 2), headers=session)
        call.raise_for_status()
        await http.delete(url, headers=session)

    return run


def _raw_stateless_call(http: httpx2.AsyncClient, url: str) -> Runner:
    """A 2026-07-28 client's one call: the tools/call alone."""
    headers = {
        "Mcp-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "get_context",
    }

    async def run(k: int) -> None:
        args = {"name": "get_context", "arguments": _ERA_CASES["get_context"](k)}
        body = _rpc("tools/call", {**args, "_meta": _MODERN_META})
        call = await http.post(url, json=body, headers=headers)
        call.raise_for_status()

    return run


def http_eras(home: Path, calls: int) -> dict[str, Any]:
    """Stateless (2026-07-28) against session (2025-11-25) round trips over one server."""
    engine = build_engine(Settings(home=home, database_url=None))
    try:
        key = ApiKeys.for_engine(engine).create(["agent"], label="agent bench").key
    finally:
        engine.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [p13n_script(), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    with ServerProcess(argv, env=server_env(home), log_path=home / "serve-eras.log") as server:
        server.wait_healthy(url + "/health")

        async def go() -> dict[str, Any]:
            out: dict[str, Any] = {"warm_call": {}}
            async with (
                _era_client(url, key, _ERA_MODES["session_2025_11_25"]) as old,
                _era_client(url, key, _ERA_MODES["stateless_2026_07_28"]) as new,
            ):
                out["protocol_versions"] = {
                    "session_2025_11_25": old.session.protocol_version,
                    "stateless_2026_07_28": new.session.protocol_version,
                }
                clients = {"session_2025_11_25": old, "stateless_2026_07_28": new}
                for tool, make in _ERA_CASES.items():
                    runners: dict[str, Runner] = {
                        label: (lambda k, c=c, t=tool, m=make: _checked_call(c, t, m(k)))
                        for label, c in clients.items()
                    }
                    out["warm_call"][tool] = await _interleaved(calls, runners)
            fresh = {label: _fresh_client_call(url, key, m) for label, m in _ERA_MODES.items()}
            fresh["stateless_2026_07_28_with_discover"] = _fresh_client_call(url, key, "auto")
            out["connect_and_call_sdk"] = await _interleaved(calls, fresh)
            headers = {
                "Authorization": f"Bearer {key}",
                "Accept": "application/json, text/event-stream",
            }
            async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
                raw = {
                    "session_2025_11_25": _raw_session_call(http, url + "/mcp"),
                    "stateless_2026_07_28": _raw_stateless_call(http, url + "/mcp"),
                }
                out["one_call_raw_http"] = await _interleaved(calls, raw)
            return out

        return anyio.run(go)


def conversations(home: Path) -> dict[str, Any]:
    """The conversation suite's scripts over stdio (tests/conversations/_conversations.py)."""
    sys.path.insert(0, str(_CONVERSATIONS_DIR))
    from _conversations import run_conversations
    from _transports import McpTools

    params = StdioServerParameters(command=p13n_script(), args=["mcp"], env=server_env(home))

    async def go() -> dict[str, Any]:
        started = time.perf_counter()
        async with Client(params, read_timeout_seconds=300) as client:
            outcomes = await run_conversations(await McpTools(client).load())
        checks = [c for o in outcomes.values() for c in o.checks]
        return {
            "passed": sum(o.passed for o in outcomes.values()),
            "total": len(outcomes),
            "pass_rate": round(sum(o.passed for o in outcomes.values()) / len(outcomes), 3),
            "checks_passed": sum(c.ok for c in checks),
            "checks_total": len(checks),
            "failed": {
                name: [c.name for c in o.checks if not c.ok] + ([o.error] if o.error else [])
                for name, o in outcomes.items()
                if not o.passed
            },
            "seconds": round(time.perf_counter() - started, 1),
        }

    return anyio.run(go)


def _run(args: argparse.Namespace, home: Path, work: Path, talk: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"in_process": in_process(work, args.calls)}
    cold: dict[str, Any] = {}
    if not args.no_stdio:
        stdio_run = stdio(work, args.calls)
        results["stdio"] = stdio_run["cases"]
        cold["stdio"] = stdio_run["cold_start"]
    if not args.no_http:
        http_run = http(work, args.calls)
        results["http"] = http_run["cases"]
        cold["http"] = http_run["cold_start"]
    if args.eras:
        results["http_eras"] = http_eras(work, args.calls)
    summary: dict[str, Any] = {
        "benchmark": "agent_tools",
        "home": str(home),
        "code": code_fingerprint(),
        "calls_per_case": args.calls,
        "tokens": TOKENS,
        **results,
        "cold_start": cold,
    }
    if not args.no_conversations:
        summary["conversations"] = conversations(talk)
    if not args.no_ndcg:
        summary["query_ndcg"] = held_out_ndcg(home / "vectors", args.ndcg_shoppers)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--ndcg-shoppers", type=int, default=200)
    parser.add_argument("--no-http", action="store_true", help="Skip the HTTP transport.")
    parser.add_argument("--no-stdio", action="store_true", help="Skip the stdio transport.")
    parser.add_argument(
        "--cases", default="", help="Comma-separated cases to measure (default: all)."
    )
    parser.add_argument(
        "--eras",
        action="store_true",
        help="Also compare MCP 2026-07-28 stateless requests with 2025-11-25 sessions over HTTP.",
    )
    parser.add_argument("--no-conversations", action="store_true")
    parser.add_argument("--no-ndcg", action="store_true")
    parser.add_argument("--keep", action="store_true", help="write the JSON under bench/results/")
    args = parser.parse_args()
    _ONLY.update(c.strip() for c in args.cases.split(",") if c.strip())
    unknown = _ONLY - set(CASES)
    if unknown:
        parser.error(f"unknown case(s) {', '.join(sorted(unknown))}; known: {', '.join(CASES)}")
    home: Path = args.home or Path(tempfile.mkdtemp(prefix="p13n-agent-bench-"))
    if args.home is None:
        print(f"seeding the demo tenant into {home} ...", file=sys.stderr)
        _seed(home)
    started = time.perf_counter()
    copies = [_copy(home, "work"), _copy(home, "conversations")]
    try:
        summary = _run(args, home, copies[0], copies[1])
    finally:
        for copy in copies:
            shutil.rmtree(copy, ignore_errors=True)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["machine"] = machine_facts()
    summary["load_average"] = list(os.getloadavg())
    summary["settings"] = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    if args.keep:
        keep_result("agent_tools", summary)
    for transport in ("in_process", "stdio", "http"):
        for case, figures in summary.get(transport, {}).items():
            print(f"{transport:10s} {case:32s} {orjson.dumps(figures).decode()}", file=sys.stderr)
    print(orjson.dumps(summary).decode())


if __name__ == "__main__":
    main()
