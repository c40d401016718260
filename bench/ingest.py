"""Ingest benchmark (issue 2): bulk import, single-event latency, profile reads, memory, HTTP.

    python -m bench.ingest [--events 1000000 --individuals 100000 --items 20000
                            --http-events 50000 --single-events 2000 --reads 20000
                            --seed 42 --keep DIR]

Progress goes to stderr; the last line of stdout is one JSON object with every figure. The
event log is the same for a seed, ending at `--end` (default: today's UTC midnight, so that
windowed insights see the history as recent). The server runs as a subprocess
(`p13n serve`) on the same store; this module never imports `p13n.server`.
One script past 400 lines on purpose: a figure and the code that produced it stay together,
so that BENCHMARKS.md can name one command per figure.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

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
    post_batches,
    server_env,
)
from p13n.domain.ingest import ImportSummary
from p13n.domain.ingest.files import read_rows
from p13n.domain.ingest.items import Item
from p13n.domain.services import ApiKeys, Engine, EngineOptions
from p13n.domain.store import KeysStore, open_engine
from p13n.seed.simulator import simulate_flat

TARGETS: dict[str, float] = {  # issue 14's (issue 2's were 20,000 / 5,000 / 5 ms)
    "import_events_per_s": 25_000,
    "import_vs_bare_insert": 0.2,
    "http_events_per_s": 8_000,
    "event_p99_ms": 3.0,
    "profile_read_p99_ms": 0.5,
    "rss_mb": 2048,
}
_HIGHER_IS_BETTER = {"import_events_per_s", "import_vs_bare_insert", "http_events_per_s"}
HTTP_BATCH = 100
HTTP_CLIENTS = 4
BASELINE_ROWS = 200_000
BASELINE_COMMIT_EVERY = 5_000
# The live-traffic mix of step 3 and step 6: (interaction, share).
NEW_EVENT_MIX = (
    ("View Catalog Object", 0.60),
    ("View Catalog Object Detail", 0.15),
    ("Add To Cart", 0.15),
    ("Purchase", 0.10),
)
_NEW_EVENT_WINDOW_S = 1800.0  # each set of new events is spread over half an hour after `end`
_DAY = 86_400

err = Console(stderr=True, highlight=False)


@dataclass(frozen=True)
class Params:
    events: int
    individuals: int
    items: int
    http_events: int
    single_events: int
    reads: int
    seed: int
    end: float
    keep: Path | None
    server_timeout: float = 600.0


# -- arguments ---------------------------------------------------------------------------------
def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _end_of(text: str | None) -> float:
    """'YYYY-MM-DD' -> that day's UTC midnight; None -> today's."""
    if text is None:
        return float(int(time.time()) // _DAY * _DAY)
    day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    return day.timestamp()


def parse_args(argv: list[str] | None = None) -> Params:
    p = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=_positive, default=1_000_000, help="events to import")
    p.add_argument("--individuals", type=_positive, default=100_000)
    p.add_argument("--items", type=_positive, default=20_000)
    p.add_argument("--http-events", type=_positive, default=50_000, help="new events over HTTP")
    p.add_argument("--single-events", type=_positive, default=2_000, help="one per ingest call")
    p.add_argument("--reads", type=_positive, default=20_000, help="profile reads")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--end", default=None, help="YYYY-MM-DD: history ends at its UTC midnight")
    p.add_argument("--keep", type=Path, default=None, help="work in DIR (new or empty), keep it")
    p.add_argument(
        "--server-timeout", type=float, default=600.0, help="seconds to wait for /health"
    )
    a = p.parse_args(argv)
    return Params(
        events=a.events,
        individuals=a.individuals,
        items=a.items,
        http_events=a.http_events,
        single_events=a.single_events,
        reads=a.reads,
        seed=a.seed,
        end=_end_of(a.end),
        keep=a.keep,
        server_timeout=a.server_timeout,
    )


# -- synthetic data ----------------------------------------------------------------------------
def category_leaves() -> list[str]:
    """200 leaf paths: 8 departments x 5 categories x 5 leaves."""
    return [
        f"Dept{i}/Cat{j}/Leaf{k}" for i in range(1, 9) for j in range(1, 6) for k in range(1, 6)
    ]


def make_items(count: int, seed: int) -> list[Item]:
    """Items `b-1..b-<count>` with a leaf category, one of 500 brands and a lognormal price."""
    rng = np.random.default_rng([seed, 2])
    leaves = category_leaves()
    cats = rng.integers(0, len(leaves), count).tolist()
    brands = rng.integers(1, 501, count).tolist()
    prices = np.maximum(0.5, np.round(rng.lognormal(3.3, 0.9, count), 2)).tolist()
    return [
        Item(
            id=f"b-{n}",
            name=f"Bench item {n}",
            category=leaves[cats[n - 1]],
            brand=f"Brand{brands[n - 1]}",
            price=prices[n - 1],
            currency="USD",
        )
        for n in range(1, count + 1)
    ]


def write_history(path: Path, items: list[Item], params: Params) -> list[str]:
    """Write `simulate_flat` events as JSONL; returns the individual ids that occur, in order."""
    seen: set[str] = set()
    events = simulate_flat(
        [i.id for i in items],
        [float(i.price or 0.0) for i in items],
        individuals=params.individuals,
        events=params.events,
        end=params.end,
        seed=params.seed,
    )
    with path.open("wb", buffering=1 << 20) as fh:
        for event in events:
            seen.add(event["individualId"])
            fh.write(orjson.dumps(event))
            fh.write(b"\n")
    return sorted(seen, key=lambda s: int(s.rpartition("-")[2]))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_events(
    tag: str,
    count: int,
    *,
    people: list[str],
    items: list[Item],
    start: float,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """`count` flat events never seen before, by existing people on existing items, spread
    evenly over half an hour from `start`; purchases are one-line orders."""
    names = [name for name, _ in NEW_EVENT_MIX]
    kinds = rng.choice(len(names), size=count, p=[share for _, share in NEW_EVENT_MIX]).tolist()
    who = rng.integers(0, len(people), count).tolist()
    what = rng.integers(0, len(items), count).tolist()
    qty = np.where(rng.random(count) < 0.08, 2, 1).tolist()
    step = _NEW_EVENT_WINDOW_S / count
    out = []
    for n in range(count):
        name, item = names[kinds[n]], items[what[n]]
        priced = name in ("Add To Cart", "Purchase")
        event: dict[str, Any] = {
            "eventId": f"bench-{tag}-{n + 1}",
            "individualId": people[who[n]],
            "interaction": name,
            "itemId": item.id,
            "dateTime": _iso(start + n * step),
        }
        if priced:
            event["quantity"], event["price"] = qty[n], item.price
        if name == "Purchase":
            event["orderId"] = f"bench-{tag}-o{n + 1}"
        out.append(event)
    return out


# -- measured steps ----------------------------------------------------------------------------
def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )


def run_import(engine: Engine, path: Path, total: int) -> tuple[ImportSummary, float]:
    """`import_events` over the JSONL file, end to end; returns (summary, seconds)."""
    with _progress() as bar:
        task = bar.add_task("import", total=total)
        started = time.perf_counter()
        summary = engine.import_events(read_rows(path), on_progress=lambda n: bar.advance(task, n))
        seconds = time.perf_counter() - started
    return summary, seconds


def time_single_events(engine: Engine, events: list[dict[str, Any]]) -> list[int]:
    """One `engine.ingest([event])` call per event; nanoseconds per call."""
    samples = []
    for event in events:
        t0 = time.perf_counter_ns()
        report = engine.ingest([event])
        samples.append(time.perf_counter_ns() - t0)
        if report.accepted != 1:
            raise RuntimeError(
                f"single event {event['eventId']} was not accepted: {report.results[0]}"
            )
    return samples


def time_reads(engine: Engine, identifiers: list[str], *, cached: bool) -> list[int]:
    """`engine.get_profile(individual id)` per identifier; nanoseconds per call. Not `cached`:
    the profile is dropped from the cache first, so the read parses the stored document."""
    samples = []
    engine.checkpoint()  # nothing pending: an uncached read goes to the store
    for ident in identifiers:
        if not cached:
            uid = engine.resolve(ident)
            assert uid is not None
            engine.state.profiles.discard(uid)
        t0 = time.perf_counter_ns()
        engine.get_profile(ident)
        samples.append(time.perf_counter_ns() - t0)
    return samples


def bare_insert(jsonl: Path, db: Path, rows: int) -> tuple[int, float]:
    """The cost of just storing the log: read + parse the first `rows` JSONL lines and insert
    them as plain rows, WAL and synchronous=FULL like the engine, one commit per 5,000 rows."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE events (event_id TEXT PRIMARY KEY, individual_id TEXT, "
            "interaction TEXT, item_id TEXT, ts REAL, payload TEXT)"
        )
        sql = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)"
        done = 0
        started = time.perf_counter()
        with jsonl.open("rb") as fh:
            for chunk in _chunks(islice(fh, rows), BASELINE_COMMIT_EVERY):
                batch = [_plain_row(line) for line in chunk]
                conn.execute("BEGIN")
                conn.executemany(sql, batch)
                conn.execute("COMMIT")
                done += len(batch)
        return done, time.perf_counter() - started
    finally:
        conn.close()


def _chunks(lines: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    it = iter(lines)
    while chunk := list(islice(it, size)):
        yield chunk


def _plain_row(line: bytes) -> tuple[str, str | None, str | None, str | None, float, str]:
    ev = orjson.loads(line)
    ts = datetime.fromisoformat(ev["dateTime"]).timestamp()
    payload = line.rstrip(b"\n").decode()
    return (
        ev["eventId"],
        ev.get("individualId"),
        ev.get("interaction"),
        ev.get("itemId"),
        ts,
        payload,
    )


# -- HTTP --------------------------------------------------------------------------------------
def run_http(home: Path, events: list[dict[str, Any]], *, timeout_s: float) -> dict[str, Any]:
    """Start `p13n serve` on the store in `home`, load it, stop it; the figures of step 6."""
    bodies = [
        (orjson.dumps({"events": events[i : i + HTTP_BATCH]}), len(events[i : i + HTTP_BATCH]))
        for i in range(0, len(events), HTTP_BATCH)
    ]
    server_code = code_fingerprint()
    port = free_port()
    argv = [p13n_script(), "serve", "--port", str(port)]
    log = home / "server.log"
    db = open_engine(f"sqlite:///{home / 'p13n.db'}")
    key = ApiKeys(KeysStore(db)).create(["public"], label="bench.ingest").key  # /events needs it
    db.dispose()
    # Four clients on one address and one key stand for many senders; nor is one simulated
    # individual's history a flood: the public rates and the per-device bound are off.
    env = {
        **server_env(home),
        "P13N_PUBLIC_ADDRESS_PER_SECOND": "0",
        "P13N_PUBLIC_KEY_PER_SECOND": "0",
        "P13N_DEVICE_EVENTS_PER_MINUTE": "0",
    }
    with ServerProcess(argv, env=env, log_path=log) as server:
        start_s = server.wait_healthy(f"http://127.0.0.1:{port}/health", timeout_s=timeout_s)
        err.print(f"server up on port {port} in {start_s:.2f} s (log: {log})")
        try:
            with _progress() as bar:
                task = bar.add_task("http", total=len(bodies))
                wall, samples = post_batches(
                    f"http://127.0.0.1:{port}",
                    "/events",
                    bodies,
                    clients=HTTP_CLIENTS,
                    on_batch=lambda: bar.advance(task, 1),
                    headers={"Authorization": f"Bearer {key}"},
                )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\nserver log:\n{server.log_tail()}") from None
    if len(samples) != len(bodies):
        raise RuntimeError(f"{len(samples)} of {len(bodies)} batches answered")
    return {
        "http_events_per_s": round(len(events) / wall, 1),
        "http_seconds": round(wall, 3),
        "http_batches": len(bodies),
        "http_batch_p50_ms": percentile_ms(samples, 50),
        "http_batch_p99_ms": percentile_ms(samples, 99),
        "server_start_s": round(start_s, 3),
        "server_code": server_code,
    }


# -- the run -----------------------------------------------------------------------------------
def _work_dir(keep: Path | None) -> Path:
    if keep is None:
        return Path(tempfile.mkdtemp(prefix="p13n-bench-"))
    keep.mkdir(parents=True, exist_ok=True)
    if any(keep.iterdir()):
        raise SystemExit(f"--keep {keep}: the directory is not empty; give a new or empty one")
    return keep.resolve()


def _met(figures: dict[str, Any]) -> dict[str, bool]:
    return {
        name: (figures[name] >= target if name in _HIGHER_IS_BETTER else figures[name] <= target)
        for name, target in TARGETS.items()
    }


@dataclass
class _Setup:
    """What step 1 made: the catalog, the history file and the individuals in it."""

    items: list[Item]
    jsonl: Path
    people: list[str]


def _setup(engine: Engine, params: Params, home: Path, figures: dict[str, Any]) -> _Setup:
    """Step 1 (not timed against the targets): items in the store, the history as JSONL."""
    items = make_items(params.items, params.seed)
    t0 = time.perf_counter()
    engine.upsert_items(items)
    figures["items_seconds"] = round(time.perf_counter() - t0, 3)
    err.print(f"{len(items):,} items upserted in {figures['items_seconds']:.2f} s")
    jsonl = home / "events.jsonl"
    t0 = time.perf_counter()
    people = write_history(jsonl, items, params)
    figures["generate_seconds"] = round(time.perf_counter() - t0, 3)
    figures["individuals_seen"] = len(people)
    figures["rss_setup_peak_mb"] = peak_rss_mb()
    err.print(
        f"{params.events:,} events by {len(people):,} individuals generated in "
        f"{figures['generate_seconds']:.2f} s ({jsonl.stat().st_size / 1e6:.0f} MB JSONL)"
    )
    return _Setup(items, jsonl, people)


def _measure_import(engine: Engine, jsonl: Path, expected: int) -> dict[str, Any]:
    """Step 2; every row must be accepted."""
    summary, seconds = run_import(engine, jsonl, expected)
    if summary.rejected or summary.accepted != expected:
        raise RuntimeError(
            f"import accepted {summary.accepted:,} of {expected:,}, rejected "
            f"{summary.rejected:,}, duplicates {summary.duplicates:,}; first rejections: "
            f"{summary.rejections[:5]}"
        )
    err.print(f"import: {expected / seconds:,.0f} events/s ({seconds:.1f} s)")
    return {
        "import_events_per_s": round(expected / seconds, 1),
        "import_seconds": round(seconds, 3),
        "import_accepted": summary.accepted,
        "import_rejected": summary.rejected,
        "import_duplicates": summary.duplicates,
    }


def _measure_online(
    engine: Engine, params: Params, setup: _Setup, rng: np.random.Generator
) -> dict[str, Any]:
    """Steps 3-5: single-event ingest, profile reads, then memory."""
    single = new_events(
        f"{params.seed}-single",
        params.single_events,
        people=setup.people,
        items=setup.items,
        start=params.end,
        rng=rng,
    )
    ingest_ns = time_single_events(engine, single)
    who = rng.integers(0, len(setup.people), params.reads).tolist()
    readers = [setup.people[k] for k in who]
    read_ns = time_reads(engine, readers, cached=True)
    miss_ns = time_reads(engine, readers, cached=False)
    figures = {
        "event_p50_ms": percentile_ms(ingest_ns, 50),
        "event_p99_ms": percentile_ms(ingest_ns, 99),
        # cache hits (every profile of the run fits the default cache) ...
        "profile_read_p50_ms": percentile_ms(read_ns, 50),
        "profile_read_p99_ms": percentile_ms(read_ns, 99),
        # ... and misses: the stored document read and parsed
        "profile_read_uncached_p50_ms": percentile_ms(miss_ns, 50),
        "profile_read_uncached_p99_ms": percentile_ms(miss_ns, 99),
        "rss_mb": peak_rss_mb(),
        "rss_current_mb": current_rss_mb(),
    }
    err.print(
        f"single events: p50 {figures['event_p50_ms']} ms, p99 {figures['event_p99_ms']} ms; "
        f"profile reads: p50 {figures['profile_read_p50_ms']} ms, "
        f"p99 {figures['profile_read_p99_ms']} ms (cached), p50 "
        f"{figures['profile_read_uncached_p50_ms']} / p99 "
        f"{figures['profile_read_uncached_p99_ms']} ms (uncached); "
        f"rss: peak {figures['rss_mb']} MB, current {figures['rss_current_mb']} MB"
    )
    return figures


def _engine_phases(params: Params, home: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Steps 1-5 in this process; returns the figures and the new events kept for HTTP."""
    figures: dict[str, Any] = {}
    engine = Engine.open(f"sqlite:///{home / 'p13n.db'}")
    try:
        setup = _setup(engine, params, home, figures)
        figures.update(_measure_import(engine, setup.jsonl, params.events))
        rng = np.random.default_rng([params.seed, 3])
        figures.update(_measure_online(engine, params, setup, rng))
        http = new_events(
            f"{params.seed}-http",
            params.http_events,
            people=setup.people,
            items=setup.items,
            start=params.end + _NEW_EVENT_WINDOW_S,
            rng=rng,
        )
    finally:
        engine.close()
    return figures, http


def run(params: Params, home: Path) -> dict[str, Any]:
    figures, http_events = _engine_phases(params, home)
    figures.update(run_http(home, http_events, timeout_s=params.server_timeout))
    err.print(f"http: {figures['http_events_per_s']:,.0f} events/s")

    rows = min(BASELINE_ROWS, params.events)
    done, seconds = bare_insert(home / "events.jsonl", home / "bare.db", rows)
    figures["baseline_rows"] = done
    figures["baseline_sqlite_insert_events_per_s"] = round(done / seconds, 1)
    figures["import_vs_bare_insert"] = round(
        figures["import_events_per_s"] / figures["baseline_sqlite_insert_events_per_s"], 4
    )
    err.print(f"bare insert: {figures['baseline_sqlite_insert_events_per_s']:,.0f} rows/s")
    return figures


def _raise_on_sigterm(signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)  # so that `finally` blocks stop the server and clean up


def main(argv: list[str] | None = None) -> None:
    params = parse_args(argv)
    code = code_fingerprint()
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    home = _work_dir(params.keep)
    err.print(f"working in {home} (code {code})")
    try:
        figures = run(params, home)
    finally:
        if params.keep is None:
            shutil.rmtree(home, ignore_errors=True)
    if figures["server_code"] != code:
        err.print(
            f"[yellow]the engine code changed during the run: {code} -> {figures['server_code']}"
        )
    result = {
        "benchmark": "ingest",
        "code": code,
        "params": {
            "events": params.events,
            "individuals": params.individuals,
            "items": params.items,
            "http_events": params.http_events,
            "http_batch": HTTP_BATCH,
            "http_clients": HTTP_CLIENTS,
            "single_events": params.single_events,
            "reads": params.reads,
            "seed": params.seed,
            "end": _iso(params.end),
            "store": "sqlite",
            "synchronous": "FULL",
            "engine_options": asdict(EngineOptions()),
        },
        **figures,
        "targets": TARGETS,
        "met": _met(figures),
        "machine": machine_facts(),
    }
    err.print(f"kept {keep_result('ingest', result)}")
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
