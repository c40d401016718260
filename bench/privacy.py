"""Privacy requests' cost (issue 17): how long an erasure and an export take on a store of N
people. An erasure holds the engine's write lock throughout (ingest waits that long); it edits
the hot state in place, and `reload_ms_p50` is what reloading the hot state instead would cost
(it grows with the store; the erasure's own time should not).

    python -m bench.privacy [--people 20000 --events-per-person 10 --erasures 20 --seed 42]

The store is SQLite in a temporary home. Progress goes to stderr; the last line of stdout is
one JSON object with every figure. Uses the domain API only (never `p13n.server`).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench._util import code_fingerprint, machine_facts, percentile_ms
from p13n.domain.ingest.items import Item
from p13n.domain.services import (
    DecisionService,
    Engine,
    IdentityControl,
    PersonalizationLog,
    PrivacyService,
    RecommendService,
    sql_store,
)

_OPT_IN = [{"purpose": "Tracking", "status": "Opt In"}]


def _events(people: int, per_person: int, items: int, rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in range(people):
        device = f"bench-dev-{p}"
        out.append(
            {
                "eventId": f"id-{p}",
                "deviceId": device,
                "user": {"attributes": {"eventType": "contactPointEmail", "email": f"p{p}@x.org"}},
                "consents": _OPT_IN,
            }
        )
        for k in range(per_person - 1):
            item = f"item-{rng.randrange(items)}"
            out.append(
                {
                    "eventId": f"ev-{p}-{k}",
                    "deviceId": device,
                    "interaction": {"name": "View Catalog Object", "catalogObject": {"id": item}},
                    "consents": _OPT_IN,
                }
            )
    return out


def run(people: int, per_person: int, erasures: int, seed: int, home: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    engine = Engine.open(f"sqlite:///{home / 'p13n.db'}")
    try:
        engine.upsert_items([Item(id=f"item-{k}", name=f"Item {k}", price=1.0) for k in range(500)])
        started = time.perf_counter()
        engine.import_events(_events(people, per_person, 500, rng))
        print(f"loaded {people} people in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        recommend = RecommendService(engine)
        decisions = DecisionService(engine, recommend, log=PersonalizationLog(sql_store(engine)))
        privacy = PrivacyService(engine, IdentityControl(engine), decisions, recommend)
        chosen = rng.sample(range(people), erasures)
        exports: list[int] = []
        forgets: list[int] = []
        locked: list[int] = []
        for p in chosen:
            t0 = time.perf_counter_ns()
            privacy.export(f"p{p}@x.org")
            exports.append(time.perf_counter_ns() - t0)
            t0 = time.perf_counter_ns()
            receipt = privacy.forget(f"bench-dev-{p}")
            forgets.append(time.perf_counter_ns() - t0)
            assert receipt.rows["events"] == per_person
            # the part of the lock's hold that grows with the store: the hot state's reload
            t1 = time.perf_counter_ns()
            with engine.lock:
                engine.reload()
            locked.append(time.perf_counter_ns() - t1)
        decisions.close()
        return {
            "people": people,
            "events": people * per_person,
            "erasures": erasures,
            "export_ms_p50": percentile_ms(exports, 50),
            "export_ms_p99": percentile_ms(exports, 99),
            "forget_ms_p50": percentile_ms(forgets, 50),
            "forget_ms_p99": percentile_ms(forgets, 99),
            "reload_ms_p50": percentile_ms(locked, 50),
            "machine": machine_facts(),
            "code": code_fingerprint(),
        }
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--events-per-person", type=int, default=10)
    parser.add_argument("--erasures", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="p13n-bench-privacy-") as tmp:
        result = run(args.people, args.events_per_person, args.erasures, args.seed, Path(tmp))
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
