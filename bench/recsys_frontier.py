"""The transition weight's trade-off between the two MovieLens-1M protocols, on test.

    python -m bench.recsys_frontier [--gammas 0,0.3,1,3]

For each protocol of `bench.recsys` (same split, same seed), the model with the default
`ModelParams` at each transition weight γt is fitted on train and scored on test at popularity
exponents 0 / 0.05 / 0.1 / 0.2, beside plain EASE at three λ. A diagnostic, not the benchmark:
test is ranked without removing the valid items (both models alike), and EASE's λ and the
exponent are read off test, so only ratios within one protocol mean anything. It shows whether
one γt can beat EASE under both protocols, which is what `p13n train`'s worst-ratio rule looks
for. One JSON line per fit, then one summary line.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from typing import Any

import orjson

from bench.recsys import load, split
from p13n.domain.recommend import Interactions, ModelParams, ValidationSplit, evaluate, train_model
from p13n.domain.recommend.tuning import ease_params


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gammas", default="0,0.3,1,3")
    args = ap.parse_args(argv)
    gammas = [float(g) for g in args.gammas.split(",")]
    pos, _ = load()
    out: dict[str, Any] = {}
    for proto in ("random", "temporal"):
        parts = split(pos, proto)
        tr = parts["train"]
        data = Interactions(
            [str(u) for u in tr.user],
            [str(i) for i in tr.item],
            ["view"] * len(tr),
            [float(t) for t in tr.ts],
        )
        truth: dict[str, set[str]] = {}
        for u, i in zip(parts["test"].user, parts["test"].item, strict=True):
            truth.setdefault(str(u), set()).add(str(i))
        sp = ValidationSplit(
            train=data,
            truth={k: frozenset(v) for k, v in truth.items()},
            kind="random",
            seed=0,
            catalog_size=int(pos.item.nunique()),
        )
        now = float(tr.ts.max())
        ease = []
        for lam in (500.0, 1000.0, 2000.0):
            m = evaluate(train_model(data, ease_params(lam, ModelParams()), now=now), sp)[0]
            ease.append(
                {"l2": lam, "ndcg": m["random"].ndcg_at_10, "recall": m["random"].recall_at_10}
            )
            print(orjson.dumps({"protocol": proto, "ease": ease[-1]}).decode(), flush=True)
        best = max(ease, key=lambda e: e["ndcg"])
        rows = []
        for g in gammas:
            t = time.perf_counter()
            p = replace(ModelParams(), transition_weight=g, popularity_exponent=0.0)
            ms = evaluate(
                train_model(data, p, now=now), sp, popularity_exponents=(0.0, 0.05, 0.1, 0.2)
            )
            top = max((m["random"] for m in ms), key=lambda m: m.ndcg_at_10)
            rows.append(
                {
                    "gamma_t": g,
                    "ndcg": top.ndcg_at_10,
                    "recall": top.recall_at_10,
                    "ratio_ndcg": round(top.ndcg_at_10 / best["ndcg"], 4),
                    "ratio_recall": round(top.recall_at_10 / best["recall"], 4),
                    "seconds": round(time.perf_counter() - t, 1),
                }
            )
            print(orjson.dumps({"protocol": proto, **rows[-1]}).decode(), flush=True)
        out[proto] = {"ease": best, "ours": rows}
    print(orjson.dumps(out).decode())
    return out


if __name__ == "__main__":
    main()
