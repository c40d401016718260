"""Peak memory with 1M profiles served, profiles cached compact and as objects (issue 14).

    python -m bench.decisions_memory --home DIR [--profiles 1000000] [--items 100000]
                                     [--requests 3000] [--cached-requests 2000]
                                     [--single-events 1000] [--rounds 1]

The store is `bench.decisions`' (built in a child process when `--home` holds none of these
sizes; the 1,000,000-profile build takes 11-16 minutes). Each configuration then runs in a
fresh process, so that one peak does not hide another, in this order per round:

- decide, objects / compact, default cache (100,000: a plain `p13n serve`)
- decide, objects / compact, every profile cached (cache and warm-up 1,001,000)
- ingest, objects / compact, default cache

A decide process opens the engine, warms the cache (`Engine.warm_profiles`, as the server does
at start), then times what `bench.decisions` times in process (`model_validate_json` +
`decide` + `orjson.dumps(public())`, the personalization log on) for `--requests` bodies of
random individuals (most of the 1,000,000 ids have no profile: a first-time visitor), then for
`--cached-requests` bodies of individuals whose profile is cached (each one a cache read: the
decode is on every one of them), and reports its own peak RSS (ru_maxrss). An ingest process
warms the default cache and times `--single-events` calls of `engine.ingest([event])` (write-
behind on, as served) for individuals with a cached profile: each reads the cached profile,
and the graph writer puts the changed one back. These events are added to the store (ids
unique per run), so a store reused for many runs drifts by that many events.

Last line: one JSON object with every configuration's figures, the settings, the commit
(`code`) and the machine; kept under bench/results/ (`keep_result`).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench._util import code_fingerprint, keep_result, machine_facts, percentile_ms
from bench.decisions import DEFAULT_CACHE, build, in_process, recent_individuals
from p13n.domain.services import Engine, EngineOptions

ALL_CACHED = 1_001_000  # the cache and warm-up of "every profile cached" (the old script's)
_BUILT = "bench-decisions.json"


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _ingest(home: Path, count: int, items: int, *, compact: bool, tag: str) -> dict[str, Any]:
    """One-event ingest for individuals whose profile is cached, as a server runs it."""
    options = EngineOptions(profile_cache_size=DEFAULT_CACHE, compact_profiles=compact)
    engine = Engine.open(f"sqlite:///{home / 'p13n.db'}", options)
    warmed = engine.warm_profiles()
    people = recent_individuals(engine, count)
    start = engine.now()
    events = [
        {
            "eventId": f"bench-memory-{tag}-{n}",
            "individualId": people[n % len(people)],
            "interaction": "View Catalog Object",
            "itemId": f"it-{(n * 7919) % items}",
            "dateTime": _iso(start + n * 0.01),
        }
        for n in range(count)
    ]
    samples: list[int] = []
    for event in events:
        t0 = time.perf_counter_ns()
        report = engine.ingest([event])
        samples.append(time.perf_counter_ns() - t0)
        if report.accepted != 1:
            raise RuntimeError(f"event not accepted: {report.results[0]}")
    engine.close()
    return {
        "compact_profiles": compact,
        "profiles_cached": warmed,
        "single_events": count,
        "event_p50_ms": percentile_ms(samples, 50),
        "event_p99_ms": percentile_ms(samples, 99),
    }


def child(args: argparse.Namespace) -> None:
    """One configuration in this (fresh) process; prints its JSON."""
    home = Path(args.home)
    compact = args.child.endswith("compact")
    if args.child.startswith("decide"):
        figures = in_process(
            home,
            args.profiles,
            args.items,
            args.requests,
            args.cache,
            compact=compact,
            cached_requests=args.cached_requests,
        )
    else:
        figures = _ingest(home, args.single_events, args.items, compact=compact, tag=args.tag)
    figures["peak_rss_mb"] = _peak_mb()
    print(orjson.dumps(figures).decode())


def _run_child(args: argparse.Namespace, mode: str, cache: int, tag: str) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "bench.decisions_memory",
        "--child",
        mode,
        "--home",
        str(args.home),
        "--profiles",
        str(args.profiles),
        "--items",
        str(args.items),
        "--requests",
        str(args.requests),
        "--cached-requests",
        str(args.cached_requests),
        "--single-events",
        str(args.single_events),
        "--cache",
        str(cache),
        "--tag",
        tag,
    ]
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{out.stderr[-3000:]}")
    figures: dict[str, Any] = orjson.loads(out.stdout.strip().splitlines()[-1])
    figures["process_s"] = round(time.perf_counter() - started, 1)
    return figures


def _ensure_store(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(args.home)
    events = 2 * args.profiles
    try:
        facts: dict[str, Any] = orjson.loads((home / _BUILT).read_bytes())
        if (facts["profiles"], facts["items"], facts["events"]) == (
            args.profiles,
            args.items,
            events,
        ):
            facts.pop("key", None)
            return {**facts, "reused": True}
    except (OSError, orjson.JSONDecodeError, KeyError):
        pass
    if (home / "p13n.db").exists():
        raise SystemExit(f"{home} holds a store of other sizes; choose an empty --home")
    home.mkdir(parents=True, exist_ok=True)
    _err(f"building {args.profiles} profiles ({events} events), {args.items} items ...")
    built = build(home, args.profiles, args.items, events)
    (home / _BUILT).write_bytes(
        orjson.dumps({"profiles": args.profiles, "items": args.items, "events": events, **built})
    )
    built.pop("key", None)
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--home", type=Path, required=True, help="the bench.decisions store")
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--cached-requests", type=int, default=2000)
    parser.add_argument("--single-events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=int, default=DEFAULT_CACHE, help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    code = code_fingerprint()  # at the start: a commit made during the run is not this run's
    built = _run_build(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    runs: list[dict[str, Any]] = []
    plan = [
        ("decide-objects", DEFAULT_CACHE),
        ("decide-compact", DEFAULT_CACHE),
        ("decide-objects", ALL_CACHED),
        ("decide-compact", ALL_CACHED),
        ("ingest-objects", DEFAULT_CACHE),
        ("ingest-compact", DEFAULT_CACHE),
    ]
    for round_ in range(args.rounds):
        for mode, cache in plan:
            label = f"{mode} cache={cache}"
            _err(f"round {round_ + 1}: {label} ...")
            figures = _run_child(args, mode, cache, tag=f"{stamp}-{round_}-{mode}")
            figures.update({"round": round_ + 1, "mode": mode, "cache": cache})
            _err(f"  {orjson.dumps(figures).decode()}")
            runs.append(figures)
    result = {
        "profiles": args.profiles,
        "items": args.items,
        **built,
        "settings": {
            "requests": args.requests,
            "cached_requests": args.cached_requests,
            "single_events": args.single_events,
            "rounds": args.rounds,
            "default_cache": DEFAULT_CACHE,
            "all_cached": ALL_CACHED,
            "timed_inproc": "model_validate_json + decide + orjson.dumps(public())",
            "peak": "ru_maxrss of each configuration's own fresh process",
        },
        "runs": runs,
        "machine": machine_facts(),
        "code": code,
    }
    keep_result("decisions_memory", result)
    print(orjson.dumps(result).decode())


def _run_build(args: argparse.Namespace) -> dict[str, Any]:
    """The store's facts; built in a child process when missing (its peak is not ours)."""
    facts_path = Path(args.home) / _BUILT
    if not facts_path.exists():
        subprocess.run(
            [
                sys.executable,
                "-c",
                _BUILD_CHILD,
                str(args.home),
                str(args.profiles),
                str(args.items),
            ],
            check=True,
        )
    return _ensure_store(args)


_BUILD_CHILD = """
import argparse, sys
from pathlib import Path
from bench.decisions_memory import _ensure_store
_ensure_store(argparse.Namespace(home=Path(sys.argv[1]), profiles=int(sys.argv[2]), items=int(sys.argv[3])))
"""


if __name__ == "__main__":
    main()
