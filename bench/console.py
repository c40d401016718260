"""The console over a large store: each page's time on a real `p13n serve`, first contentful
paint in headless chromium, and the static assets' compressed size.

    python -m bench.console [--scale 0.1] [--days 30] [--repeat 20] [--seed 7] [--no-browser]
                            [--home DIR [--reuse]]

Build: `bench.analytics`' generator (log rows with the pipeline aggregates, conversions and
clicks; at scale 1 the issue's 10,000,000 logged decisions), its clock moved to this run's
time so the pages' default ranges hold the data, plus the decisioning configuration that
names what the rows name (four points, their decisions, and the Started experiment
`home_recommendations` of two cohorts, its start at the first row). Then an admin key is made
(`p13n keys create`) and `p13n serve` started on the home (SQLite).

Timed: each page fetched `--repeat` times over loopback after one warm-up fetch (reported
apart: the first Attribution fetch may make the day aggregates; the first results page starts
making its snapshot and says so until it is made, which this waits for, fetching every
second: its `first_ms` is the time until the results were shown; later fetches read the
snapshot),
signed in with the key as a browser would (session cookie): p50 / p95 of the wall time of the request (server time plus
loopback). Then each page loaded in headless chromium (Playwright, Debian's `/usr/bin/chromium`)
and its `first-contentful-paint` read from the Performance API. Static: the gzip size of every
file under `p13n/server/console/static`.

Last line: one JSON object (`code_fingerprint`, `machine_facts`, the settings and figures),
also kept under bench/results/ (`keep_result`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import analytics
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
from p13n.domain.decisions import Decision, Experiment, PersonalizationPoint
from p13n.domain.services import DecisionConfigs, Engine, sql_store

__all__ = ["PAGES", "main", "parse_args", "static_bytes"]

EXPERIMENT = "home_recommendations"  # the name bench.analytics' rows carry
PAGES = (
    "/console",
    "/console/people",
    "/console/experiments",
    f"/console/experiments/{EXPERIMENT}",
    f"/console/experiments/{EXPERIMENT}/series",
    "/console/attribution",
    "/console/attribution?group=day",
    "/console/attribution?group=channel&model=linear",
)
STATIC = Path(__file__).resolve().parents[1] / "p13n" / "server" / "console" / "static"
# The paint entry may come after `load`: wait for it (buffered), at most 5 s.
_FCP = """() => new Promise(done => {
  const seen = performance.getEntriesByName('first-contentful-paint');
  if (seen.length) return done(seen[0].startTime);
  new PerformanceObserver(list => {
    const found = list.getEntriesByName('first-contentful-paint');
    if (found.length) done(found[0].startTime);
  }).observe({type: 'paint', buffered: true});
  setTimeout(() => done(null), 5000);
})"""
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    p.add_argument("--scale", type=float, default=0.1, help="Fraction of 10M decisions.")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-browser", action="store_true", help="Skip first contentful paint.")
    p.add_argument("--home", type=Path, help="Build here and keep it (default: a temporary one).")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="With --home: time the pages on the home built there by an earlier run of the same"
        " settings within the last 6 hours (its rows end an hour before that build).",
    )
    args = p.parse_args(argv)
    if args.reuse and args.home is None:
        p.error("--reuse needs --home")
    if args.scale <= 0 or args.days <= 0 or args.repeat <= 0:
        p.error("--scale, --days and --repeat must be positive")
    return args


def static_bytes() -> dict[str, int]:
    """Each static file's gzip size, and their total."""
    sizes = {
        str(f.relative_to(STATIC)): len(gzip.compress(f.read_bytes()))
        for f in sorted(STATIC.rglob("*"))
        if f.is_file()
    }
    return {**sizes, "total": sum(sizes.values())}


def _configure(engine: Engine, started_at: float) -> None:
    """The points, decisions and experiment the generated rows name."""
    recommenders = {r for names in analytics.RECOMMENDERS.values() for r in names}
    configs = DecisionConfigs(
        store=engine.store,
        recommenders=lambda: sorted(recommenders),
        segments=lambda: [],
        clock=engine.now,
    )
    configs.load()
    for point in analytics.POINTS:
        banner = point == "summer_banner"
        schema = {"type": "ManualContent", "attributes": ["header"]} if banner else None
        configs.put_point(
            PersonalizationPoint.model_validate(
                {"name": point, "contentSchema": schema or {"type": "Recommendations"}}
            )
        )
        decision: dict[str, Any] = {
            "name": analytics.DECISIONS_OF[point],
            "point": point,
            "state": "Live",
        }
        if banner:
            decision["attributes"] = {"header": "Summer sale"}
        else:
            decision["recommender"] = analytics.RECOMMENDERS[point][0]
        configs.put_decision(Decision.model_validate(decision))
    experiment = Experiment.model_validate(
        {
            "name": EXPERIMENT,
            "point": "home_recommendations",
            "primaryMetric": "Click-Through Rate",
            "secondaryMetrics": ["Conversion Rate"],
            "cohorts": [
                {"id": "control", "weight": 50, "deferToDecisions": True},
                {"id": "treatment", "weight": 50, "recommender": "revenue_for_you"},
            ],
            "status": "Started",
            "startedAt": started_at,
        }
    )
    configs.write(configs.experiment_repo, experiment)  # started in the past: as the rows say


_REUSE_S = 6 * 3600.0


def _build(home: Path, scale: float, days: int, seed: int, *, reuse: bool) -> dict[str, Any]:
    decisions, conversions = analytics.sizes(scale)
    wanted = [decisions, conversions, days, seed]
    engine = Engine.open(f"sqlite:///{home / 'p13n.db'}", clock=time.time)
    try:
        store = sql_store(engine)
        found = json.loads(store.get_meta("bench.console") or "null")
        if reuse and found and found[:4] == wanted and time.time() - found[4] < _REUSE_S:
            return {"decisions": decisions, "conversions": conversions, "build_s": None}
        analytics._empty(engine)
        analytics.NOW = time.time()  # the generator's clock: the data ends an hour ago
        build_s = analytics._build(engine, decisions, conversions, days, seed)
        _configure(engine, analytics.NOW - 3600 - days * 86_400)
        with store.transaction() as conn:
            store.set_meta(conn, "bench.console", json.dumps([*wanted, analytics.NOW]))
    finally:
        engine.close()
    return {"decisions": decisions, "conversions": conversions, "build_s": round(build_s, 1)}


def _sign_in(client: httpx.Client, key: str) -> None:
    token = _TOKEN.search(client.get("/console/signin").text)
    assert token, "no sign-in form"
    r = client.post("/console/signin", data={"key": key, "csrf_token": token.group(1)})
    assert r.status_code == 303, r.text


def _time_pages(base: str, key: str, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=120.0) as client:
        _sign_in(client, key)
        for path in PAGES:
            t0 = time.perf_counter_ns()
            first = client.get(path)
            while first.status_code == 200 and 'data-testid="making"' in first.text:
                time.sleep(1.0)  # the results page makes its first snapshot behind itself
                first = client.get(path)
            warm_ms = (time.perf_counter_ns() - t0) / 1e6
            samples: list[int] = []
            for _ in range(repeat):
                t0 = time.perf_counter_ns()
                r = client.get(path)
                samples.append(time.perf_counter_ns() - t0)
                assert r.status_code == 200, (path, r.status_code, r.text[:500])
            out[path] = {
                "status": first.status_code,
                "first_ms": round(warm_ms, 1),
                "p50_ms": round(percentile_ms(samples, 50), 1),
                "p95_ms": round(percentile_ms(samples, 95), 1),
                "bytes": len(r.content),
            }
    return out


def _paint(base: str, key: str) -> dict[str, float | None]:
    """Each full page's first contentful paint (ms) in headless chromium (fragments left out)."""
    from playwright.sync_api import sync_playwright

    chromium = "/usr/bin/chromium"
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    out: dict[str, float | None] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.goto(f"{base}/console/signin")
            page.get_by_label("API key").fill(key)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            for path in PAGES:
                if path.endswith(("/series", "/preview")):
                    continue
                page.goto(f"{base}{path}")
                page.wait_for_load_state("load")
                fcp = page.evaluate(_FCP)
                out[path] = None if fcp is None else round(float(fcp), 1)
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    home = args.home or Path(tempfile.mkdtemp(prefix="p13n-bench-console-"))
    home.mkdir(parents=True, exist_ok=True)
    try:
        built = _build(home, args.scale, args.days, args.seed, reuse=args.reuse)
        env = server_env(home)
        done = subprocess.run(
            [p13n_script(), "keys", "create", "--scope", "admin", "--label", "bench console"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = done.stdout.strip().splitlines()[-1]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv_serve = [p13n_script(), "serve", "--port", str(port), "--no-access-log"]
        with ServerProcess(argv_serve, env=env, log_path=home / "server.log") as server:
            server.wait_healthy(f"{base}/health", timeout_s=300)
            pages = _time_pages(base, key, args.repeat)
            paint = None if args.no_browser else _paint(base, key)
    finally:
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)
    static = static_bytes()
    worst = max(pages.values(), key=lambda p: p["p95_ms"])
    summary = {
        "benchmark": "console",
        "settings": {
            "scale": args.scale,
            "days": args.days,
            "repeat": args.repeat,
            "seed": args.seed,
            "dialect": "sqlite",
        },
        **built,
        "pages": pages,
        "first_contentful_paint_ms": paint,
        "static_gzip_bytes": static["total"],
        "targets": {
            "page_p95_ms": 150,
            "fcp_ms": 500,
            "static_gzip_bytes": 300_000,
            "worst_page_p95_ms": worst["p95_ms"],
        },
        "code": code_fingerprint(),
        "machine": machine_facts(),
    }
    keep_result("console", summary)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
