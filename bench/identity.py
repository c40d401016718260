"""Identity resolution benchmark (issue 3): quality on Febrl, batch speed, scale, real time.

    python -m bench.identity --dataset febrl1|febrl2|febrl3|generated [--records 20000]
    python -m bench.identity --scale 20000,100000,250000,500000,1000000
    python -m bench.identity --realtime 1000000 [--queries 2000]

`--dataset`: the rows go through `p13n import individuals`'s code (IdentityService.import_records,
real-time exact rules) into a fresh SQLite store, then `p13n identity resolve`'s code (batch,
every rule, Fellegi-Sunter by EM, no labels); prints pairwise precision / recall / F1 over
clusters and records/s of the batch resolution. `--scale`: the batch core (normalized records ->
clusters) per size, each size in a fresh subprocess so that its peak memory is its own.
`--realtime`: index N generated records through the real-time linker, then time linking new ones.
Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bench._util import current_rss_mb, machine_facts, peak_rss_mb, percentile_ms
from bench.identity_data import febrl_rows, generated_rows, truth_of
from p13n.domain.identity.batch import resolve_records
from p13n.domain.identity.identify import Identifier, IdentityLinks
from p13n.domain.identity.records import normalize_record, record_from_row
from p13n.domain.identity.rules import DEFAULT_RULESET
from p13n.domain.services import Engine, IdentityService

__all__ = ["pairwise_scores", "main"]


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pairwise_scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Pairwise precision, recall and F1: pairs inside true clusters vs inside predicted ones."""

    def pairs(labels: Sequence[Any]) -> int:
        return sum(c * (c - 1) // 2 for c in Counter(labels).values())

    both = pairs(list(zip(truth, predicted, strict=True)))
    true_pairs, predicted_pairs = pairs(truth), pairs(predicted)
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5)}


def run_dataset(name: str, records: int, seed: int) -> dict[str, Any]:
    rows = febrl_rows(name) if name != "generated" else list(generated_rows(records, seed=seed))
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.open(f"sqlite:///{Path(tmp) / 'p13n.db'}")
        try:
            service = IdentityService(engine)
            imported = service.import_records(rows, default_source="febrl")
            _err(f"imported {imported.accepted} records in {imported.seconds:.2f}s")
            started = time.perf_counter()
            summary = service.resolve()
            seconds = time.perf_counter() - started
            owners = {
                k: engine.state.identity.owner(k) or "" for k in engine.state.identity.index.records
            }
        finally:
            engine.close()
    keys = [f"febrl:{r['source_record_id']}" for r in rows]
    scores = pairwise_scores(
        [truth_of(r["source_record_id"]) for r in rows], [owners[k] for k in keys]
    )
    return {
        **scores,
        "records": len(rows),
        "records_per_s": round(len(rows) / seconds),
        "resolve_s": round(seconds, 3),
        "import_records_per_s": round(imported.accepted / imported.seconds),
        "candidate_pairs": summary.candidate_pairs,
        "clusters": summary.clusters,
        "steps_s": summary.steps,
    }


def run_core(n: int, seed: int) -> dict[str, Any]:
    """The batch core alone on `n` generated records (normalization timed apart). Rows stream
    from the generator into normalization, as an import reads a file: only the normalized
    records are held, as the service holds them."""
    started = time.perf_counter()
    norms, truth = [], []
    for row in generated_rows(n, seed=seed):
        norms.append(normalize_record(record_from_row(row)))
        truth.append(truth_of(row["source_record_id"]))
    prepare_s = time.perf_counter() - started
    gc.collect()
    records_rss = current_rss_mb()
    started = time.perf_counter()
    outcome = resolve_records(norms, DEFAULT_RULESET)
    seconds = time.perf_counter() - started
    scores = pairwise_scores(truth, outcome.labels[: len(norms)].tolist())
    return {
        "records": n,
        **scores,
        "resolve_s": round(seconds, 2),
        "records_per_s": round(n / seconds),
        "generate_normalize_s": round(prepare_s, 2),
        "candidate_pairs": outcome.candidate_pairs,
        "steps_s": outcome.seconds,
        "records_rss_mb": records_rss,
        "peak_rss_mb": peak_rss_mb(),
    }


def growth(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """How resolve time, candidate pairs and peak memory grow from the smallest size to the
    largest: the ratio, and the exponent k of size^k that gives it (1 = linear)."""
    import math

    first, last = runs[0], runs[-1]
    size = last["records"] / first["records"]
    out: dict[str, Any] = {
        "from": first["records"],
        "to": last["records"],
        "size_x": round(size, 1),
    }
    for name in ("resolve_s", "candidate_pairs", "peak_rss_mb", "records_rss_mb"):
        if first.get(name) and last.get(name):
            ratio = last[name] / first[name]
            exponent = math.log(ratio) / math.log(size) if size > 1 else float("nan")
            out[name] = {"x": round(ratio, 2), "exponent": round(exponent, 2)}
    return out


def run_scale(sizes: list[int], seed: int) -> dict[str, Any]:
    runs = []
    for n in sizes:
        _err(f"scale: {n} records ...")
        out = subprocess.run(
            [sys.executable, "-m", "bench.identity", "--core", str(n), "--seed", str(seed)],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        runs.append(orjson.loads(out.stdout.strip().splitlines()[-1]))
        _err(f"  {runs[-1]}")
    return {"scale": runs, "growth": growth(runs) if len(runs) > 1 else None}


def run_realtime(n: int, queries: int, seed: int) -> dict[str, Any]:
    rows = list(generated_rows(n + queries, seed=seed))
    originals = [r for r in rows if r["source_record_id"].endswith("-org")]
    dups = [r for r in rows if not r["source_record_id"].endswith("-org")]
    existing, new = (originals + dups)[:n], (originals + dups)[n:]
    ident = Identifier(IdentityLinks())
    started = time.perf_counter()
    for k, row in enumerate(existing):
        ident.link_record(normalize_record(record_from_row(row)), now=float(k))
        if k % 200_000 == 0:
            _err(f"indexed {k}")
    index_s = time.perf_counter() - started
    # A long-lived server holds the index for hours: move it out of the cyclic GC's reach, as
    # a server does after loading (gc.freeze), so that timings are of linking, not GC passes.
    gc.collect()
    gc.freeze()
    samples = []
    for k, row in enumerate(new):
        rec = record_from_row(row)
        t0 = time.perf_counter_ns()
        ident.link_record(normalize_record(rec), now=float(n + k))
        samples.append(time.perf_counter_ns() - t0)
    return {
        "existing_records": n,
        "queries": len(samples),
        "link_p50_ms": percentile_ms(samples, 50),
        "link_p99_ms": percentile_ms(samples, 99),
        "link_max_ms": round(max(samples) / 1e6, 3),
        "index_build_s": round(index_s, 1),
        "index_records_per_s": round(n / index_s),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.identity", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", choices=["febrl1", "febrl2", "febrl3", "generated"])
    p.add_argument("--records", type=int, default=20_000, help="size of --dataset generated")
    p.add_argument("--scale", default=None, help="comma-separated sizes")
    p.add_argument("--core", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--realtime", type=int, default=None, help="existing records")
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args(argv)
    if a.core:
        result: dict[str, Any] = run_core(a.core, a.seed)
    elif a.scale:
        result = run_scale([int(x) for x in a.scale.split(",")], a.seed)
    elif a.realtime:
        result = run_realtime(a.realtime, a.queries, a.seed)
    elif a.dataset:
        result = {"dataset": a.dataset, **run_dataset(a.dataset, a.records, a.seed)}
    else:
        p.error("give --dataset, --scale or --realtime")
    result = {"benchmark": "identity", **result, "machine": machine_facts()}
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
