"""Decision latency in process and over HTTP, against a trivial endpoint of the same server.

    python -m bench.decisions [--profiles 1000000] [--items 100000] [--events N]
                              [--requests 5000] [--http-seconds 15] [--clients 8]
                              [--load-generator auto|wrk|python] [--home DIR [--reuse]]

Build: `--items` synthetic items (leaf categories of 50), `--events` flat events (default two
per profile) for `--profiles` individuals through `Engine.import_events`, then one
recommendations point (12 items, a co-viewed recommender anchored on the item being viewed,
with two Static filters on context variables: `price <= {!maxPrice}` and brand not
`{!hideBrand}`) and one manual-content point whose live decisions target a segment, a page type
and a scheduling window, with a default. The 1,000,000-profile build takes about 16 minutes on
two shared cores; `--home DIR --reuse` keeps it and skips it the next time (same sizes only).

In process: for one request naming both points (a random profile and anchor each time), the
timed step is what a face does: `DecisionRequest.model_validate_json` on the raw body bytes,
`DecisionService.decide`, and `orjson.dumps(answer.public())`; the personalization log is on
(its queue drained by the background writer).

Compact profiles: the profile cache keeps each profile compressed (issue 14) unless
`--no-compact-profiles` (in process and `P13N_COMPACT_PROFILES=false` for the server), the
layout before it; `--cached-requests N` adds an in-process set of N requests whose individuals
all have a cached profile (the default bodies pick any id of `--profiles`, and most have no
profile at all). `bench.decisions_memory` runs both layouts in fresh processes of the same run.

Profile cache: `--profile-cache` (default 100,000: what a plain `p13n serve` keeps, and warms
at start) sets both the in-process engine and the server; with a store of more profiles than
that, requests for the others read their document from the store. Before issue 14 the
benchmark raised the cache (and the warm-up) to every profile; pass `--profile-cache 1001000`
to measure that configuration, and say so: the JSON carries the setting.

Over HTTP: `p13n serve --no-access-log` on 127.0.0.1 (uvloop + httptools, one process), loaded by
wrk (https://github.com/wg/wrk; Debian/Ubuntu: `apt-get install -y wrk`): `-t 2 -c 8` (the
`--clients` connections over two threads), `-d --http-seconds`, `--latency`, with a Lua script
that POSTs to `/personalization/decisions` with the public API key, rotating over
`--http-requests` distinct bodies (random individuals and anchors) and printing its figures as
JSON from `done()`. Any failed request (connect/read/timeout error, status >= 400) fails the
run. A 2-second warm-up precedes the measurement. The floor is `GET /health` (an async route
answering fixed JSON, through the same middleware and app-level auth dependency, which returns
at once for open paths) measured by wrk the same way right after, on the same server. Without
wrk on PATH, Python client threads (httpx, one keep-alive connection each, `--http-requests`
requests) do the same; they share the CPU with the server, so their figures are client-bound.
`load_generator` in the JSON says which was used. The server stops with the run.

Last line: one JSON object with inproc_p50_ms, inproc_p99_ms, http_p99_ms, http_rps, floor_rps,
the settings it ran with, the commit (`code`) and the machine; the same object is kept under
bench/results/ (`keep_result`).

One script past 400 lines on purpose: a figure and the code that produced it stay together,
so that BENCHMARKS.md can name one command per figure.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench._util import (
    ServerProcess,
    code_fingerprint,
    current_rss_mb,
    free_port,
    keep_result,
    machine_facts,
    p13n_script,
    peak_rss_mb,
    percentile_ms,
    server_env,
)
from p13n.domain.decisions import Decision, DecisionRequest, PersonalizationPoint
from p13n.domain.ingest.items import Item
from p13n.domain.recommend import RecommenderConfig
from p13n.domain.services import (
    ApiKeys,
    DecisionService,
    Engine,
    EngineOptions,
    PersonalizationLog,
    RecommendService,
)
from p13n.seed.simulator import simulate_flat

SEED = 5
DEFAULT_CACHE = 100_000  # p13n serve's profile_cache_size and warm_profiles
_BRANDS = ["Acme", "Zed", "Homey", "Glow", "Summit", "Knit", "Nova", "Peak"]


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")


def _items(n: int) -> list[Item]:
    rng = random.Random(SEED)
    return [
        Item(
            id=f"it-{k}",
            name=f"Item {k}",
            category=f"Top{(k // 50) % 10}/Leaf{k // 50}",
            brand=_BRANDS[(k // 50) % len(_BRANDS)],
            price=round(5 + rng.random() * 200, 2),
        )
        for k in range(n)
    ]


CO_VIEWED = {
    "name": "bench-co-viewed",
    "recipe": {"algorithm": "co-viewed"},
    "include": {
        "match": "All",
        "conditions": [
            {"field": "price", "operator": "Is Less Than Or Equal To", "value": "{!maxPrice}"}
        ],
    },
    "exclude": {
        "match": "Any",
        "conditions": [{"field": "brand", "operator": "Is Equal To", "value": "{!hideBrand}"}],
    },
    "fallback": "top-sellers",
}
POINTS = [
    {
        "name": "pdp_recs",
        "contentSchema": {
            "type": "Recommendations",
            "itemFields": ["id", "name", "price", "brand"],
            "attributes": ["title"],
        },
        "maxItems": 12,
    },
    {"name": "banner", "contentSchema": {"type": "ManualContent"}},
]
DECISIONS = [
    {
        "name": "recs",
        "point": "pdp_recs",
        "state": "Live",
        "recommender": "bench-co-viewed",
        "attributes": {"title": "Viewed together"},
    },
    {
        "name": "vip",
        "point": "banner",
        "state": "Live",
        "targeting": {
            "type": "All",
            "rules": [
                {"source": "segment", "field": "big_spenders", "operator": "Has Value"},
                {"source": "pageType", "operator": "Match Any", "value": ["product", "home"]},
                {
                    "source": "schedule",
                    "days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                    "timeZone": "Europe/Paris",
                },
            ],
        },
        "attributes": {"header": "Thanks {{{firstName|friend}}}", "body": "VIP offer"},
    },
    {
        "name": "default",
        "point": "banner",
        "state": "Live",
        "attributes": {"header": "Hello {{{firstName|there}}}", "body": "New in"},
    },
]


def _body(rng: random.Random, profiles: int, items: int) -> dict[str, Any]:
    return {
        "context": {
            "individualId": f"ind-{rng.randint(1, profiles)}",
            "anchorId": f"it-{rng.randrange(items)}",
            "anchorType": "Product",
            "pageType": "product",
            "channel": "web",
            "maxPrice": 150,
            "hideBrand": "Zed",
        },
        "personalizationPoints": [{"name": "pdp_recs"}, {"name": "banner"}],
    }


def build(home: Path, profiles: int, n_items: int, events: int) -> dict[str, Any]:
    engine = Engine.open(f"sqlite:///{home / 'p13n.db'}")
    started = time.perf_counter()
    items = _items(n_items)
    for lo in range(0, len(items), 10_000):
        engine.upsert_items(items[lo : lo + 10_000])
    flat = simulate_flat(
        [i.id for i in items],
        [i.price or 0.0 for i in items],
        individuals=profiles,
        events=events,
        end=engine.now(),
        seed=SEED,
    )
    summary = engine.import_events(flat)
    recommend = RecommendService(engine)
    recommend.put_config(RecommenderConfig.model_validate(CO_VIEWED))
    service = DecisionService(engine, recommend)
    for p in POINTS:
        service.configs.put_point(PersonalizationPoint.model_validate(p))
    for d in DECISIONS:
        service.configs.put_decision(Decision.model_validate(d))
    key = ApiKeys.for_engine(engine).create(["public", "decide"], label="bench.decisions").key
    stored = engine.store.count_profiles()
    engine.close()
    return {
        "build_s": round(time.perf_counter() - started, 1),
        "events_accepted": summary.accepted,
        "profiles_stored": stored,
        "key": key,
    }


_BUILT = "bench-decisions.json"


def _reused(home: Path, profiles: int, n_items: int, events: int) -> dict[str, Any] | None:
    """The facts of an earlier build in `home` with the same sizes, or None (build again)."""
    try:
        facts: dict[str, Any] = orjson.loads((home / _BUILT).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if (facts.pop("profiles"), facts.pop("items"), facts.pop("events")) != (
        profiles,
        n_items,
        events,
    ) or not (home / "p13n.db").exists():
        return None
    facts["reused"] = True
    return facts


def recent_individuals(engine: Engine, count: int) -> list[str]:
    """Individual ids of the `count` most recently updated profiles (all cached after a
    warm-up of at least `count`): requests for them read the profile cache every time."""
    ids: list[str] = []
    for docs in engine.store.iter_recent_profile_docs(count):
        for doc in docs:
            ids.extend(
                i["value"] for i in orjson.loads(doc)["identities"] if i["type"] == "individualId"
            )
    return ids[:count]


def _timed_decisions(service: DecisionService, bodies: list[bytes]) -> tuple[list[int], int]:
    samples: list[int] = []
    items_returned = 0
    for body in bodies:
        t0 = time.perf_counter_ns()  # parse and validate, decide, encode: what a face does
        answer = service.decide(DecisionRequest.model_validate_json(body), authenticated=True)
        orjson.dumps(answer.public())
        samples.append(time.perf_counter_ns() - t0)
        items_returned += len(answer.personalizations[0].data)
    return samples, items_returned


def in_process(
    home: Path,
    profiles: int,
    n_items: int,
    requests: int,
    cache: int,
    *,
    compact: bool = True,
    cached_requests: int = 0,
) -> dict[str, Any]:
    """The in-process figures; `cached_requests` > 0 adds a second timed set whose individuals
    all have a cached profile (every request reads the cache: the worst case for a compact one)."""
    options = EngineOptions(profile_cache_size=cache, compact_profiles=compact)
    engine = Engine.open(f"sqlite:///{home / 'p13n.db'}", options)
    rss_open = current_rss_mb()  # the engine's state without profiles (items, identity, ...)
    warm_started = time.perf_counter()
    warmed = engine.warm_profiles(cache)
    warm_s = time.perf_counter() - warm_started
    rss_warm = current_rss_mb()
    service = DecisionService(
        engine, RecommendService(engine), log=PersonalizationLog(engine.store)
    )
    rng = random.Random(SEED)
    for _ in range(200):  # snapshot, compiled masks, first-call costs
        service.decide(
            DecisionRequest.model_validate(_body(rng, profiles, n_items)), authenticated=True
        )
    bodies = [orjson.dumps(_body(rng, profiles, n_items)) for _ in range(requests)]
    samples, items_returned = _timed_decisions(service, bodies)
    figures: dict[str, Any] = {
        "profiles_cached": warmed,
        "compact_profiles": compact,
        "warm_s": round(warm_s, 2),
        "rss_after_open_mb": rss_open,
        "rss_after_warm_mb": rss_warm,
        "profile_cache_compact_mb": round(engine.state.profiles.nbytes() / 2**20, 1),
        "inproc_p50_ms": percentile_ms(samples, 50),
        "inproc_p99_ms": percentile_ms(samples, 99),
        "avg_items": round(items_returned / max(1, len(bodies)), 2),
    }
    if cached_requests:
        known = recent_individuals(engine, min(cached_requests, warmed))
        hot = []
        for individual in known:
            body = _body(rng, profiles, n_items)
            body["context"]["individualId"] = individual
            hot.append(orjson.dumps(body))
        hot_samples, _ = _timed_decisions(service, hot)
        figures["inproc_cached_requests"] = len(hot)
        figures["inproc_cached_p50_ms"] = percentile_ms(hot_samples, 50)
        figures["inproc_cached_p99_ms"] = percentile_ms(hot_samples, 99)
        # The read alone (a decode when compact, a lookup when not): the cost compaction adds.
        uids = [u for u in (engine.resolve(i) for i in known) if u is not None]
        reads: list[int] = []
        for uid in uids:
            t0 = time.perf_counter_ns()
            engine.load_profile(uid)
            reads.append(time.perf_counter_ns() - t0)
        figures["profile_read_p50_ms"] = percentile_ms(reads, 50)
        figures["profile_read_p99_ms"] = percentile_ms(reads, 99)
    close_started = time.perf_counter()
    service.close()
    figures["log_close_s"] = round(time.perf_counter() - close_started, 3)
    figures["logged"] = service.log.written if service.log else 0
    engine.close()
    return figures


def _load(
    url: str, method: str, bodies: list[bytes], clients: int, key: str
) -> tuple[float, list[int]]:
    samples: list[int] = []
    lock = threading.Lock()
    errors: list[str] = []
    ready = threading.Barrier(clients + 1)
    share = [bodies[k::clients] for k in range(clients)]

    def worker(mine: list[bytes]) -> None:
        local: list[int] = []
        headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        with httpx.Client(timeout=30.0, headers=headers) as client:
            client.request(method, url, content=mine[0] if method == "POST" else None)
            ready.wait()
            for body in mine:
                t0 = time.perf_counter_ns()
                r = client.request(method, url, content=body if method == "POST" else None)
                local.append(time.perf_counter_ns() - t0)
                if r.status_code != 200:
                    with lock:
                        errors.append(f"{r.status_code}: {r.text[:300]}")
                    return
        with lock:
            samples.extend(local)

    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in share]
    for t in threads:
        t.start()
    ready.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"HTTP load failed: {errors[0]}")
    return wall, samples


_WRK_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p90_us\\": %d, "
    .. "\\"p99_us\\": %d, \\"max_us\\": %d, \\"errors\\": {\\"connect\\": %d, \\"read\\": %d, "
    .. "\\"write\\": %d, \\"status\\": %d, \\"timeout\\": %d}}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def _wrk_script(method: str, path: str, key: str, bodies: list[bytes]) -> str:
    """A wrk Lua script: each request takes the next body of `bodies` (each wrk thread starts
    at its own offset, so threads do not send the same sequence), with the API key header;
    `done` prints one `WRK_JSON {...}` line with the counts and latency percentiles (us)."""
    for b in bodies:
        if b"]==]" in b:
            raise ValueError("a body contains the Lua long-string terminator")
    table = ",\n".join(f"[==[{b.decode()}]==]" for b in bodies) if bodies else '""'
    return f"""
local bodies = {{ {table} }}
local headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {key}"}}
local counter = 0
local started = 0
function setup(thread)
  thread:set("offset", started * 7919)
  started = started + 1
end
function init(args)
  counter = offset or 0
end
function request()
  counter = counter + 1
  local body = nil
  if "{method}" == "POST" then body = bodies[(counter % #bodies) + 1] end
  return wrk.format("{method}", "{path}", headers, body)
end
{_WRK_DONE}
"""


def _wrk(
    base: str,
    method: str,
    path: str,
    key: str,
    bodies: list[bytes],
    *,
    clients: int,
    seconds: float,
    script_path: Path,
) -> dict[str, Any]:
    """One bounded wrk run (`clients` connections over 2 threads, `seconds` long); raises when
    any request failed (connect/read/write/timeout errors or a status >= 400)."""
    script_path.write_text(_wrk_script(method, path, key, bodies))
    argv = [
        "wrk",
        "-t",
        str(min(2, clients)),
        "-c",
        str(clients),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script_path),
        base + path,
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr[-500:]}{out.stdout[-500:]}")
    got: dict[str, Any] = orjson.loads(line.removeprefix("WRK_JSON "))
    failed = {k: v for k, v in got["errors"].items() if v}
    if failed or not got["requests"]:
        raise RuntimeError(f"wrk: {method} {path} had failed requests {failed}:\n{out.stdout}")
    return got


def _wrk_figures(got: dict[str, Any]) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of one wrk run."""
    rps = got["requests"] / (got["duration_us"] / 1e6)
    return round(rps, 1), round(got["p50_us"] / 1000, 3), round(got["p99_us"] / 1000, 3)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_of(pid: int) -> float | None:
    """VmHWM (peak resident set) of process `pid` in MB, from /proc; None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _first_requests(url: str, key: str, bodies: list[bytes]) -> float:
    """One at a time, with a long timeout: the first decisions of a large store build lazy
    state (item snapshot, compiled filters) for seconds, which would eat a timed warm-up.
    Returns the seconds the first one took."""
    first = 0.0
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    with httpx.Client(timeout=600.0, headers=headers) as client:
        for body in bodies:
            t0 = time.perf_counter()
            r = client.post(url, content=body)
            first = first or time.perf_counter() - t0
            if r.status_code != 200:
                raise RuntimeError(f"warm-up request failed: {r.status_code} {r.text[:300]}")
    return round(first, 3)


def over_http(
    home: Path,
    key: str,
    profiles: int,
    n_items: int,
    requests: int,
    clients: int,
    *,
    generator: str,
    seconds: float,
    cache: int,
    compact: bool = True,
    pipeline: bool = True,
) -> dict[str, Any]:
    """`p13n serve` on loopback (access log off), loaded by wrk or, without wrk, Python threads;
    the floor is `GET /health` measured the same way right after, on the same server.
    `pipeline=False` serves without the pipeline aggregates (`P13N_PIPELINE_AGGREGATES`)."""
    port = free_port()
    # wrk's load comes from one address and one key, standing for many visitors: the public
    # scope's rates (README "Limits and faults") would refuse most of it.
    env = {
        **server_env(home),
        "P13N_PUBLIC_ADDRESS_PER_SECOND": "0",
        "P13N_PUBLIC_KEY_PER_SECOND": "0",
    }
    if cache != DEFAULT_CACHE:  # else exactly a plain `p13n serve`
        env["P13N_PROFILE_CACHE_SIZE"] = str(cache)
        env["P13N_WARM_PROFILES"] = str(cache)
    if not compact:
        env["P13N_COMPACT_PROFILES"] = "false"
    if not pipeline:
        env["P13N_PIPELINE_AGGREGATES"] = "false"
    base = f"http://127.0.0.1:{port}"
    path = "/personalization/decisions"
    argv = [p13n_script(), "serve", "--port", str(port), "--no-access-log"]
    rng = random.Random(SEED + 1)
    bodies = [orjson.dumps(_body(rng, profiles, n_items)) for _ in range(requests)]
    with ServerProcess(argv, env=env, log_path=home / "server.log") as server:
        startup = server.wait_healthy(f"{base}/health", timeout_s=900)
        if generator == "wrk":
            script = home / "wrk-bench.lua"
            run = functools.partial(_wrk, base, key=key, clients=clients, script_path=script)
            first_s = _first_requests(base + path, key, bodies[:50])
            run("POST", path, bodies=bodies, seconds=3)  # warm-up
            assert server.proc is not None
            pid = server.proc.pid
            cpu0 = _cpu_s(pid)
            got = run("POST", path, bodies=bodies, seconds=seconds)
            cpu1 = _cpu_s(pid)
            floor_got = run("GET", "/health", bodies=[], seconds=seconds)
            cpu2 = _cpu_s(pid)
            rps, p50, p99 = _wrk_figures(got)
            floor_rps, _, floor_p99 = _wrk_figures(floor_got)
            counted = {
                "first_request_s": first_s,
                # Server CPU per request (user + system, all its threads): what the machine's
                # other load cannot inflate much; 1000 / this = requests/s one free core allows.
                "server_cpu_ms_per_decision": round((cpu1 - cpu0) * 1000 / got["requests"], 3),
                "server_cpu_ms_per_floor": round((cpu2 - cpu1) * 1000 / floor_got["requests"], 3),
                "http_requests": got["requests"],
                "floor_requests": floor_got["requests"],
            }
        else:
            url = base + path
            _load(url, "POST", bodies[:400], clients, key)  # warm up
            wall, samples = _load(url, "POST", bodies, clients, key)
            floor_wall, floor = _load(f"{base}/health", "GET", [b""] * requests, clients, key)
            rps, floor_rps = round(len(samples) / wall, 1), round(len(floor) / floor_wall, 1)
            p50, p99 = percentile_ms(samples, 50), percentile_ms(samples, 99)
            floor_p99 = percentile_ms(floor, 99)
            counted = {"http_requests": len(samples), "floor_requests": len(floor)}
        assert server.proc is not None
        counted["server_peak_rss_mb"] = _peak_rss_of(server.proc.pid)
    return {
        "load_generator": generator,
        "server_start_s": round(startup, 1),
        "http_p50_ms": p50,
        "http_p99_ms": p99,
        "http_rps": rps,
        "floor_p99_ms": floor_p99,
        "floor_rps": floor_rps,
        "rps_ratio_to_floor": round(rps / floor_rps, 3),
        **counted,
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=None, help="default: 2 per profile")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument(
        "--http-requests",
        type=int,
        default=20_000,
        help="wrk: distinct bodies it rotates over; Python threads: requests sent",
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--load-generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto: wrk when it is on PATH, else Python client threads",
    )
    parser.add_argument("--http-seconds", type=float, default=15.0, help="each wrk run")
    parser.add_argument("--home", type=Path, default=None, help="keep the store here")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --home: skip the build when that home holds one of the same size",
    )
    parser.add_argument(
        "--profile-cache",
        type=int,
        default=DEFAULT_CACHE,
        help="profiles cached (and warmed) in process and in the server; default: p13n serve's",
    )
    parser.add_argument(
        "--no-compact-profiles",
        action="store_true",
        help="cache profiles as objects (P13N_COMPACT_PROFILES=false), the layout before issue 14",
    )
    parser.add_argument(
        "--cached-requests",
        type=int,
        default=0,
        help="in process, also time this many requests for individuals whose profile is cached",
    )
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    events = args.events if args.events is not None else 2 * args.profiles
    with tempfile.TemporaryDirectory(prefix="p13n-bench-decisions-") as tmp:
        home = args.home or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        built = _reused(home, args.profiles, args.items, events) if args.reuse else None
        if built is None:
            if (home / "p13n.db").exists():
                parser.error(
                    f"{home} already holds a store (of other sizes, or a build that did not "
                    "finish); choose an empty --home, or remove it"
                )
            _err(f"building {args.profiles} profiles ({events} events), {args.items} items ...")
            built = build(home, args.profiles, args.items, events)
            (home / _BUILT).write_bytes(
                orjson.dumps(
                    {"profiles": args.profiles, "items": args.items, "events": events, **built}
                )
            )
        else:
            _err(f"reusing the store in {home} (built in {built['build_s']} s)")
        key = built.pop("key")
        _err("in-process requests ...")
        result: dict[str, Any] = {
            "profiles": args.profiles,
            "items": args.items,
            "events": events,
            **built,
            "settings": {
                "requests": args.requests,
                "http_requests": args.http_requests,
                "http_seconds": args.http_seconds,
                "clients": args.clients,
                "profile_cache": args.profile_cache,
                "default_profile_cache": args.profile_cache == DEFAULT_CACHE,
                "compact_profiles": not args.no_compact_profiles,
                "timed_inproc": "model_validate_json + decide + orjson.dumps(public())",
            },
            **in_process(
                home,
                args.profiles,
                args.items,
                args.requests,
                args.profile_cache,
                compact=not args.no_compact_profiles,
                cached_requests=args.cached_requests,
            ),
        }
        if not args.skip_http:
            _err("HTTP ...")
            generator = args.load_generator
            if generator == "auto":
                generator = "wrk" if shutil.which("wrk") else "python"
            elif generator == "wrk" and not shutil.which("wrk"):
                parser.error("wrk is not on PATH (Debian/Ubuntu: apt-get install -y wrk)")
            result.update(
                over_http(
                    home,
                    key,
                    args.profiles,
                    args.items,
                    args.http_requests,
                    args.clients,
                    generator=generator,
                    seconds=args.http_seconds,
                    cache=args.profile_cache,
                    compact=not args.no_compact_profiles,
                )
            )
        result["clients"] = args.clients
        result["peak_rss_mb"] = peak_rss_mb()
        result["machine"] = machine_facts()
        result["code"] = code_fingerprint()
    keep_result("decisions", result)
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
