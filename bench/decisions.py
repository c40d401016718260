"""Decision latency in process and over HTTP, against a trivial endpoint of the same server.

    python -m bench.decisions [--profiles 1000000] [--items 100000] [--events N]
                              [--requests 5000] [--http-requests 20000] [--clients 8]

Build: `--items` synthetic items (leaf categories of 50), `--events` flat events (default two
per profile) for `--profiles` individuals through `Engine.import_events`, then one
recommendations point (12 items, a co-viewed recommender anchored on the item being viewed,
with two Static filters on context variables: `price <= {!maxPrice}` and brand not
`{!hideBrand}`) and one manual-content point whose live decisions target a segment, a page type
and a scheduling window, with a default.

In process: `DecisionService.decide` for one request naming both points, a random profile and
anchor each time, the personalization log on (its queue drained by the background writer).
Over HTTP: `p13n serve` on loopback, `--clients` threads each with one keep-alive connection
POSTing the same kind of request to `/personalization/decisions`; the floor is `GET /health`
(a fixed JSON answer) measured the same way in the same run.

Last line: one JSON object with inproc_p50_ms, inproc_p99_ms, http_p99_ms, http_rps, floor_rps.
"""

from __future__ import annotations

import argparse
import random
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
    free_port,
    machine_facts,
    p13n_script,
    peak_rss_mb,
    percentile_ms,
    server_env,
)
from p13n.domain.access import api_keys
from p13n.domain.decisions import Decision, PersonalizationPoint
from p13n.domain.decisions.log import PersonalizationLog
from p13n.domain.decisions.request import DecisionRequest
from p13n.domain.decisions.service import DecisionService
from p13n.domain.engine import Engine, EngineOptions
from p13n.domain.ingest.catalog import Item
from p13n.domain.recommend import RecommenderConfig, RecommendService
from p13n.seed.simulator import simulate_flat

SEED = 5
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
        service.registry.put_point(PersonalizationPoint.model_validate(p))
    for d in DECISIONS:
        service.registry.put_decision(Decision.model_validate(d))
    key = api_keys(engine).create(["public", "decide"], label="bench.decisions").key
    stored = engine.store.count_profiles()
    engine.close()
    return {
        "build_s": round(time.perf_counter() - started, 1),
        "events_accepted": summary.accepted,
        "profiles_stored": stored,
        "key": key,
    }


def in_process(home: Path, profiles: int, n_items: int, requests: int) -> dict[str, Any]:
    engine = Engine.open(
        f"sqlite:///{home / 'p13n.db'}", EngineOptions(profile_cache_size=profiles + 1000)
    )
    warmed = engine.warm_profiles()
    service = DecisionService(
        engine, RecommendService(engine), log=PersonalizationLog(engine.store)
    )
    rng = random.Random(SEED)
    for _ in range(200):  # snapshot, compiled masks, first-call costs
        service.decide(
            DecisionRequest.model_validate(_body(rng, profiles, n_items)), authenticated=True
        )
    bodies = [
        DecisionRequest.model_validate(_body(rng, profiles, n_items)) for _ in range(requests)
    ]
    samples: list[int] = []
    items_returned = 0
    for request in bodies:
        t0 = time.perf_counter_ns()
        answer = service.decide(request, authenticated=True)
        samples.append(time.perf_counter_ns() - t0)
        items_returned += len(answer.personalizations[0].data)
    close_started = time.perf_counter()
    service.close()
    close_s = time.perf_counter() - close_started
    logged = service.log.written if service.log else 0
    engine.close()
    return {
        "profiles_cached": warmed,
        "inproc_p50_ms": percentile_ms(samples, 50),
        "inproc_p99_ms": percentile_ms(samples, 99),
        "avg_items": round(items_returned / max(1, len(bodies)), 2),
        "logged": logged,
        "log_close_s": round(close_s, 3),
    }


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


def over_http(
    home: Path, key: str, profiles: int, n_items: int, requests: int, clients: int
) -> dict[str, Any]:
    port = free_port()
    env = server_env(home)
    env["P13N_PROFILE_CACHE_SIZE"] = str(profiles + 1000)
    env["P13N_WARM_PROFILES"] = str(profiles + 1000)
    base = f"http://127.0.0.1:{port}"
    argv = [p13n_script(), "serve", "--port", str(port)]
    with ServerProcess(argv, env=env, log_path=home / "server.log") as server:
        startup = server.wait_healthy(f"{base}/health", timeout_s=600)
        rng = random.Random(SEED + 1)
        bodies = [orjson.dumps(_body(rng, profiles, n_items)) for _ in range(requests)]
        _load(f"{base}/personalization/decisions", "POST", bodies[:400], clients, key)  # warm up
        wall, samples = _load(f"{base}/personalization/decisions", "POST", bodies, clients, key)
        floor_wall, floor = _load(f"{base}/health", "GET", [b""] * requests, clients, key)
    rps, floor_rps = len(samples) / wall, len(floor) / floor_wall
    return {
        "server_start_s": round(startup, 1),
        "http_p50_ms": percentile_ms(samples, 50),
        "http_p99_ms": percentile_ms(samples, 99),
        "http_rps": round(rps, 1),
        "floor_p99_ms": percentile_ms(floor, 99),
        "floor_rps": round(floor_rps, 1),
        "rps_ratio_to_floor": round(rps / floor_rps, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=None, help="default: 2 per profile")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--http-requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--home", type=Path, default=None, help="keep the store here")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    events = args.events if args.events is not None else 2 * args.profiles
    with tempfile.TemporaryDirectory(prefix="p13n-bench-decisions-") as tmp:
        home = args.home or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        _err(f"building {args.profiles} profiles ({events} events), {args.items} items ...")
        built = build(home, args.profiles, args.items, events)
        key = built.pop("key")
        _err(f"built in {built['build_s']} s; in-process requests ...")
        result: dict[str, Any] = {
            "profiles": args.profiles,
            "items": args.items,
            "events": events,
            **built,
            **in_process(home, args.profiles, args.items, args.requests),
        }
        if not args.skip_http:
            _err("HTTP ...")
            result.update(
                over_http(home, key, args.profiles, args.items, args.http_requests, args.clients)
            )
        result["clients"] = args.clients
        result["peak_rss_mb"] = peak_rss_mb()
        result["machine"] = machine_facts()
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
