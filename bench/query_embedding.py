"""Where a query's embedding time goes: tokenizer, ONNX Runtime graph, torch forward, and the
embedder's whole call, per distinct query text, the two runtimes alternated text by text.

    python -m bench.query_embedding [--queries 200] [--cold 2] [--keep]

Both embedders are the real all-MiniLM-L6-v2 (`MiniLMEmbedder(backend=...)`, cache off); each
text is new (a suffix number), so nothing is cached. Also the cosine between the two vectors
of each text (agreement of the runtimes), and `--cold` fresh processes per backend timed from
their first import to their first query vector. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np
import orjson

from bench._util import code_fingerprint, keep_result, machine_facts, percentile_ms
from p13n.domain.vectors import MiniLMEmbedder
from p13n.domain.vectors.bert import features

_WORDS = ["waterproof hiking boots under 150", "nintendo switch games", "rae dunn mug",
          "michael kors handbag between 50 and 120", "baby girl summer dresses under 20",
          "gaming headset for ps4", "lego star wars set", "winter coat over 40"]  # fmt: skip


def _figures(samples: list[int]) -> dict[str, float]:
    return {"p50_ms": percentile_ms(samples, 50), "p99_ms": percentile_ms(samples, 99)}


_COLD = (
    "import time; t = time.perf_counter()\n"
    "from p13n.domain.vectors import MiniLMEmbedder\n"
    "e = MiniLMEmbedder(backend={backend!r}); e.embed(['first query'])\n"
    "import sys; print(time.perf_counter() - t, 'torch' in sys.modules)\n"
)


def _cold_starts(rounds: int) -> dict[str, Any]:
    """A fresh process's time from the first import to its first query vector, per backend,
    alternated (ONNX with its graph already cached: the steady state after the first export)."""
    out: dict[str, list[float]] = {"onnx": [], "torch": []}
    imports_torch: dict[str, bool] = {}
    for _ in range(rounds):
        for backend in out:
            run = subprocess.run(
                [sys.executable, "-c", _COLD.format(backend=backend)],
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
            seconds, torch_loaded = run.stdout.split()
            out[backend].append(round(float(seconds), 2))
            imports_torch[backend] = torch_loaded == "True"
    return {"seconds": out, "imports_torch": imports_torch}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--cold", type=int, default=2, help="fresh-process rounds per backend")
    ap.add_argument("--keep", action="store_true", help="write the JSON under bench/results/")
    args = ap.parse_args(argv)
    onnx = MiniLMEmbedder(cache_size=0, backend="onnx")
    torch_path = MiniLMEmbedder(cache_size=0, backend="torch")
    t = time.perf_counter()
    onnx.embed(["warm up"])
    load_onnx_s = time.perf_counter() - t
    t = time.perf_counter()
    torch_path.embed(["warm up"])
    load_torch_s = time.perf_counter() - t
    times: dict[str, list[int]] = {"tokenize": [], "onnx_graph": [], "torch_forward": []}
    whole: dict[str, list[int]] = {"onnx": [], "torch": []}
    cosines: list[float] = []
    for k in range(args.queries + 10):
        text = f"{_WORDS[k % len(_WORDS)]} {k}"
        t0 = time.perf_counter_ns()
        batch = features(onnx._tokenizer, [text])
        t1 = time.perf_counter_ns()
        a = onnx._transformer(batch)
        t2 = time.perf_counter_ns()
        b = torch_path._transformer(batch)
        t3 = time.perf_counter_ns()
        embedders = (("onnx", onnx), ("torch", torch_path))
        for name, e in embedders if k % 2 else embedders[::-1]:
            s = time.perf_counter_ns()
            e.embed([text + " again"])
            if k >= 10:
                whole[name].append(time.perf_counter_ns() - s)
        if k >= 10:  # warm-up excluded
            times["tokenize"].append(t1 - t0)
            times["onnx_graph"].append(t2 - t1)
            times["torch_forward"].append(t3 - t2)
            cosines.append(float(np.dot(a[0], b[0])))
    summary: dict[str, Any] = {
        "benchmark": "query_embedding",
        "code": code_fingerprint(),
        "machine": machine_facts(),
        "load_average": list(os.getloadavg()),
        "settings": vars(args),
        "first_load_s": {"onnx": round(load_onnx_s, 2), "torch": round(load_torch_s, 2)},
        "parts": {k: _figures(v) for k, v in times.items()},
        "embed_call": {k: _figures(v) for k, v in whole.items()},
        "torch_over_onnx_p50": round(
            percentile_ms(whole["torch"], 50) / percentile_ms(whole["onnx"], 50), 2
        ),
        "min_cosine": round(min(cosines), 7),
        "cold_start": _cold_starts(args.cold) if args.cold else None,
    }
    if args.keep:
        keep_result("query_embedding", summary)
    print(orjson.dumps(summary).decode())
    return summary


if __name__ == "__main__":
    main()
