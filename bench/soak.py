"""A bounded loopback soak: mixed traffic against a real `p13n serve`, watching its resources.

    python -m bench.soak [--seconds 600] [--home DIR] [--sample-seconds 5]
                         [--event-rate 40] [--decision-rate 150] [--mcp-rate 10]
                         [--console-rate 2] [--people 500] [--keep]

Starts `p13n serve --no-access-log` on 127.0.0.1 over a copy of `--home` (or of the demo
tenant seeded into a temporary home with `p13n seed demo`), mints a key per scope in process,
and for `--seconds` sends, each kind from its own client at its own paced rate (requests per
second; 0 = as fast as one client goes):

- `event`: `POST /events` (public key), batches of 5 flat events (views, carts, purchases) for
  `--people` individuals (a fixed set, so the store's population stops growing once each has
  been seen and a growing RSS is not just more people);
- `decision`: `POST /personalization/decisions` (public key), three points of the demo tenant
  (banner, for-you carousel, similar items anchored on a catalog item) for the same people;
- `mcp`: `get_recommendations` and `get_context` over streamable HTTP at `/mcp` with the MCP
  SDK's client (agent key), a new MCP session every 25 calls (sessions must not pile up);
- `console`: the console's pages (signed in once with an admin key, session cookie).

Every `--sample-seconds` the server process is sampled: RSS (`VmRSS`), threads and open file
descriptors (`/proc/PID/status`, `/proc/PID/fd`), and the personalization log's queue depth
(`GET /metrics`). An error is any transport failure or a status other than 2xx.

Last line: one JSON object: per kind the requests, errors (with the first few), p50/p99 ms, and
requests, p50 and p99 per minute; the samples; the least-squares slope of RSS over the last 80 % of the
run in MB/min with its standard error (the noise) and the residual spread; fds, threads and
queue depth at the start and the end of that window and their maxima. `--keep` also writes it
under bench/results/. `tests/e2e/test_soak.py` runs 60 s of it and asserts on it.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import numpy as np
import orjson
from mcp import Client
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

__all__ = ["SoakPlan", "main", "rss_slope", "soak"]

KINDS = ("event", "decision", "mcp", "console")
CONSOLE_PAGES = (
    "/console",
    "/console/people",
    "/console/decisioning",
    "/console/segments",
    "/console/recommenders",
    "/console/experiments",
    "/console/attribution",
    "/console/keys",
)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_QUEUE = re.compile(r"^p13n_personalization_log_queue_depth\s+([0-9.e+]+)$", re.M)


@dataclass(frozen=True)
class SoakPlan:
    """How long, how fast (requests per second per kind; 0: unpaced), how often to sample,
    and how long the traffic runs before the measured run starts."""

    seconds: float = 600.0
    sample_seconds: float = 5.0
    rates: dict[str, float] = field(
        default_factory=lambda: {"event": 40.0, "decision": 150.0, "mcp": 10.0, "console": 2.0}
    )
    people: int = 500
    seed: int = 17
    # Traffic before the measured run (its answers and errors count; its samples are not
    # taken): the people's first profiles and the caches' first fill are not a leak.
    warmup_seconds: float = 0.0


@dataclass
class _Kind:
    """What one kind of traffic saw: (seconds since start, latency ns) per answer, errors."""

    name: str
    done: list[tuple[float, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self, seconds: float) -> dict[str, Any]:
        lat = [ns for _, ns in self.done]
        minutes = max(1, int(np.ceil(seconds / 60)))
        per_minute = [0] * minutes
        lat_by_minute: list[list[int]] = [[] for _ in range(minutes)]
        for t, ns in self.done:
            m = min(minutes - 1, int(t // 60))
            per_minute[m] += 1
            lat_by_minute[m].append(ns)
        return {
            "requests": len(self.done) + len(self.errors),
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "p50_ms": percentile_ms(lat, 50) if lat else None,
            "p99_ms": percentile_ms(lat, 99) if lat else None,
            "per_minute": per_minute,
            "p50_ms_per_minute": [percentile_ms(m, 50) if m else None for m in lat_by_minute],
            "p99_ms_per_minute": [percentile_ms(m, 99) if m else None for m in lat_by_minute],
        }


def rss_slope(samples: list[tuple[float, float]], *, skip: float = 0.2) -> dict[str, float]:
    """Least-squares slope of RSS (MB) against time over the samples after the first `skip`
    of the run, in MB/min, with its standard error and the residuals' standard deviation."""
    if not samples:
        raise ValueError("no samples")
    end = samples[-1][0]
    window = [(t, mb) for t, mb in samples if t >= end * skip]
    if len(window) < 3:
        raise ValueError(f"{len(window)} samples in the window; sample more often")
    t = np.array([w[0] for w in window]) / 60.0
    y = np.array([w[1] for w in window])
    slope, intercept = np.polyfit(t, y, 1)
    residuals = y - (slope * t + intercept)
    dof = len(window) - 2
    s2 = float(residuals @ residuals) / dof
    stderr = float(np.sqrt(s2 / float(((t - t.mean()) ** 2).sum())))
    return {
        "slope_mb_per_min": round(float(slope), 3),
        "slope_stderr_mb_per_min": round(stderr, 3),
        "residual_sd_mb": round(float(np.sqrt(s2)), 3),
        "window_samples": len(window),
        "window_start_s": round(window[0][0], 1),
        "rss_first_mb": round(float(y[0]), 1),
        "rss_last_mb": round(float(y[-1]), 1),
    }


def _proc_facts(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1)) / 1024  # type: ignore[union-attr]
    threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
    fds = len(list(Path(f"/proc/{pid}/fd").iterdir()))
    return {"rss_mb": round(rss, 1), "threads": threads, "fds": fds}


def _paced(rate: float, stop: threading.Event) -> Iterator[None]:
    """Yields at `rate` per second (absolute schedule, no drift; 0: as fast as asked)."""
    interval = 1.0 / rate if rate > 0 else 0.0
    due = time.perf_counter()
    while not stop.is_set():
        if interval:
            wait = due - time.perf_counter()
            if wait > 0:
                stop.wait(wait)
                if stop.is_set():
                    return
            due = max(due + interval, time.perf_counter() - 1.0)  # no catch-up bursts past 1 s
        yield


def _timed(kind: _Kind, start: float, call: Callable[[], httpx.Response | None]) -> None:
    t0 = time.perf_counter_ns()
    try:
        response = call()
    except Exception as exc:  # a soak counts every failure; none may be lost in a thread
        kind.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        return
    if response is not None and not 200 <= response.status_code < 300:
        kind.errors.append(f"{response.status_code}: {response.text[:200]}")
        return
    kind.done.append((time.perf_counter() - start, time.perf_counter_ns() - t0))


class _Traffic:
    """The request bodies of each kind, deterministic given the seed."""

    def __init__(self, plan: SoakPlan, items: list[str]) -> None:
        self.rng = random.Random(plan.seed)
        self.people = [f"soak-person-{k}" for k in range(plan.people)]
        self.items = items
        self.serial = itertools.count()

    def events(self) -> bytes:
        person = self.rng.choice(self.people)
        kinds = ("View Catalog Object", "View Catalog Object", "Add To Cart", "Purchase")
        batch = []
        for _ in range(5):
            n = next(self.serial)
            interaction = self.rng.choice(kinds)
            event: dict[str, Any] = {
                "eventId": f"soak-{n}",
                "individualId": person,
                "interaction": interaction,
                "itemId": self.rng.choice(self.items),
                "quantity": 1,
                "price": 19.0,
            }
            if interaction == "Purchase":
                event["orderId"] = f"soak-order-{n}"
            batch.append(event)
        return orjson.dumps({"events": batch})

    def decision(self) -> bytes:
        return orjson.dumps(
            {
                "context": {
                    "individualId": self.rng.choice(self.people),
                    "anchorId": self.rng.choice(self.items),
                    "anchorType": "Product",
                    "channel": "Web",
                },
                "personalizationPoints": [
                    {"name": "home_banner"},
                    {"name": "home_recommendations"},
                    {"name": "pdp_similar"},
                ],
            }
        )


def _http_worker(
    kind: _Kind, url: str, rate: float, stop: threading.Event, start: float, **kw: Any
) -> None:
    body: Callable[[], bytes] = kw["body"]
    headers = {"authorization": f"Bearer {kw['key']}", "content-type": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=30.0) as client:
        for _ in _paced(rate, stop):
            _timed(kind, start, functools.partial(client.post, kw["path"], content=body()))


def _console_worker(
    kind: _Kind, url: str, rate: float, stop: threading.Event, start: float, **kw: Any
) -> None:
    with httpx.Client(base_url=url, timeout=30.0) as client:
        form = client.get("/console/signin")
        token = _CSRF.search(form.text)
        if token is None:
            kind.errors.append(f"no sign-in form: {form.status_code}")
            return
        signed = client.post(
            "/console/signin", data={"key": kw["key"], "csrf_token": token.group(1)}
        )
        if signed.status_code not in (200, 303):
            kind.errors.append(f"sign-in {signed.status_code}: {signed.text[:200]}")
            return
        pages = itertools.cycle(CONSOLE_PAGES)
        for _ in _paced(rate, stop):
            _timed(kind, start, functools.partial(client.get, next(pages)))


def _mcp_worker(
    kind: _Kind, url: str, rate: float, stop: threading.Event, start: float, **kw: Any
) -> None:
    traffic: _Traffic = kw["traffic"]
    pace = _paced(rate, stop)

    async def session() -> bool:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {kw['key']}"}, timeout=30)
        async with Client(streamable_http_client(url + "/mcp", http_client=http)) as client:
            for n in range(25):
                if next(pace, "stop") == "stop":
                    return False
                person = traffic.rng.choice(traffic.people)
                t0 = time.perf_counter_ns()
                if n % 2:
                    result = await client.call_tool("get_context", {"individual": person})
                else:
                    result = await client.call_tool(
                        "get_recommendations", {"individual": person, "limit": 6}
                    )
                if result.is_error:
                    kind.errors.append(f"isError: {str(result.content)[:200]}")
                else:
                    kind.done.append((time.perf_counter() - start, time.perf_counter_ns() - t0))
        return True

    while not stop.is_set():
        try:
            if not anyio.run(session):
                return
        except Exception as exc:  # a broken session is an error; the next one starts afresh
            leaf = _leaf(exc)
            kind.errors.append(f"session {type(leaf).__name__}: {leaf}"[:300])
            stop.wait(1.0)


def _leaf(exc: BaseException) -> BaseException:
    """The first error inside (nested) exception groups, as the SDK client raises them."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _tenant(home: Path, env: dict[str, str], limit: int = 200) -> tuple[dict[str, str], list[str]]:
    """A new key per scope (the key service of `p13n keys create`, in process) and the ids of
    up to `limit` in-stock catalog items, read from the store `env` names."""
    from p13n.domain.services import ApiKeys
    from p13n.server.bootstrap import build_engine
    from p13n.server.settings import Settings

    engine = build_engine(Settings(home=home, database_url=env.get("P13N_DATABASE_URL")))
    try:
        service = ApiKeys.for_engine(engine)
        scopes = ("public", "agent", "admin", "analyst", "decide")
        keys = {s: service.create([s], label=f"soak {s}").key for s in scopes}
        ids = sorted(i.id for i in engine.state.items.values() if i.in_stock)[:limit]
    finally:
        engine.close()
    if not ids:
        raise RuntimeError("the tenant has no catalog items in stock; soak a seeded home")
    return keys, ids


def _queue_depth(client: httpx.Client) -> float | None:
    r = client.get("/metrics")
    found = _QUEUE.search(r.text) if r.status_code == 200 else None
    return float(found.group(1)) if found else None


def soak(home: Path, plan: SoakPlan, *, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `plan` against `p13n serve` over `home` (changed by the run: copy it first)."""
    # All the soak's traffic comes from one loopback address and one key, standing for many
    # visitors: the public scope's rates (per address, per key) would refuse most of it.
    env = {
        **server_env(home),
        "P13N_PUBLIC_ADDRESS_PER_SECOND": "0",
        "P13N_PUBLIC_KEY_PER_SECOND": "0",
        **(extra_env or {}),
    }
    keys, items = _tenant(home, env)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [p13n_script(), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    log_path = home / f"soak-server-{port}.log"
    kinds = {k: _Kind(k) for k in KINDS}
    samples: list[dict[str, float]] = []
    with ServerProcess(argv, env=env, log_path=log_path) as server:
        server.wait_healthy(f"{url}/health", timeout_s=300)
        assert server.proc is not None
        pid = server.proc.pid
        traffic = _Traffic(plan, items)
        stop = threading.Event()
        start = time.perf_counter()
        workers: dict[str, tuple[Callable[..., None], dict[str, Any]]] = {
            "event": (
                _http_worker,
                {"key": keys["public"], "path": "/events", "body": traffic.events},
            ),
            "decision": (
                _http_worker,
                {
                    "key": keys["public"],
                    "path": "/personalization/decisions",
                    "body": traffic.decision,
                },
            ),
            "mcp": (_mcp_worker, {"key": keys["agent"], "traffic": traffic}),
            "console": (_console_worker, {"key": keys["admin"]}),
        }
        threads = [
            threading.Thread(
                target=fn,
                args=(kinds[name], url, plan.rates.get(name, 0.0), stop, start),
                kwargs=kw,
                daemon=True,
                name=f"soak-{name}",
            )
            for name, (fn, kw) in workers.items()
            if plan.rates.get(name, 0.0) >= 0
        ]
        for t in threads:
            t.start()
        with httpx.Client(
            base_url=url, headers={"authorization": f"Bearer {keys['analyst']}"}, timeout=30
        ) as metrics:
            stop.wait(plan.warmup_seconds)  # traffic runs; nothing is sampled yet
            start = time.perf_counter()
            while (elapsed := time.perf_counter() - start) < plan.seconds:
                facts = _proc_facts(pid)
                samples.append(
                    {"t": round(elapsed, 1), **facts, "log_queue": _queue_depth(metrics) or 0.0}
                )
                stop.wait(min(plan.sample_seconds, max(0.0, plan.seconds - elapsed)))
            samples.append(
                {
                    "t": round(plan.seconds, 1),
                    **_proc_facts(pid),
                    "log_queue": _queue_depth(metrics) or 0.0,
                }
            )
        stop.set()
        for t in threads:
            t.join(timeout=60)
    log = log_path.read_text(errors="replace")
    return _report(plan, kinds, samples, tracebacks=log.count("Traceback"), log_tail=log[-1500:])


def _report(
    plan: SoakPlan,
    kinds: dict[str, _Kind],
    samples: list[dict[str, float]],
    *,
    tracebacks: int,
    log_tail: str,
) -> dict[str, Any]:
    end = samples[-1]["t"]
    window = [s for s in samples if s["t"] >= end * 0.2]

    def track(name: str) -> dict[str, float]:
        return {
            "window_first": window[0][name],
            "window_last": window[-1][name],
            "max": max(s[name] for s in samples),
        }

    kinds_out = {name: k.summary(plan.warmup_seconds + plan.seconds) for name, k in kinds.items()}
    return {
        "benchmark": "soak",
        "code": code_fingerprint(),
        "machine": machine_facts(),
        "seconds": plan.seconds,
        "warmup_seconds": plan.warmup_seconds,
        "rates_per_s": plan.rates,
        "people": plan.people,
        "errors": sum(k["errors"] for k in kinds_out.values()),
        "server_tracebacks": tracebacks,
        "server_log_tail": log_tail if tracebacks else "",
        "kinds": kinds_out,
        "rss": rss_slope([(s["t"], s["rss_mb"]) for s in samples]),
        "fds": track("fds"),
        "threads": track("threads"),
        "log_queue": track("log_queue"),
        "samples": samples,
    }


@contextmanager
def _home(source: Path | None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="p13n-soak-") as tmp:
        home = Path(tmp) / "home"
        if source is not None:
            subprocess.run(["cp", "-a", str(source), str(home)], check=True)
        else:
            print("seeding the demo tenant (p13n seed demo) ...", file=sys.stderr, flush=True)
            home.mkdir()
            subprocess.run(
                [p13n_script(), "seed", "demo"], env=server_env(home), check=True, timeout=1800
            )
        yield home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--home", type=Path, default=None, help="a seeded home (copied first)")
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    defaults = SoakPlan().rates
    for name in KINDS:
        parser.add_argument(
            f"--{name}-rate", type=float, default=defaults[name], help="per s; 0: unpaced, -1: off"
        )
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="also write under bench/results/")
    args = parser.parse_args()
    plan = SoakPlan(
        seconds=args.seconds,
        sample_seconds=args.sample_seconds,
        rates={k: getattr(args, f"{k}_rate") for k in KINDS},
        people=args.people,
    )
    with _home(args.home) as home:
        result = soak(home, plan)
    if args.keep:
        result["kept"] = str(keep_result("soak", result))
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
