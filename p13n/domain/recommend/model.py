"""The objective-based model: a denoising linear item-item autoencoder (EASE family).

Fit: B = argmin ||X - X B||² + ||Λ^½ B||², diag(B) = 0, with Λ = λI + d/(1-d)·diag(XᵀX)
(the emphasized-dropout variant of EASE, which regularizes popular items harder) and user rows
down-weighted by |u|^-α. Column j of B is then divided by n_j^β (n_j: individuals engaged with
item j), which debiases the ranking from popularity; β = `popularity_exponent` (0: plain).

Served score for a visitor: their history vector times B, plus a small popularity prior and the
cosine of the item to the visitor's interest vector, then the objective's expected value
(probability of the signal, times price for revenue). With `history_half_life_days` set, each
history item weighs 0.5^(age / half-life), its age counted back from the visitor's own latest
engagement (not from now): what a person did in their last session dominates, and a visitor who
returns after a month is not reduced to nothing.

Pure numpy; `train_model` is what `p13n train` and the benchmark both call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse

from p13n.domain.errors import InvalidInput

__all__ = [
    "ModelParams",
    "Interactions",
    "TrainedModel",
    "train_model",
    "SIGNAL_WEIGHTS",
    "PURCHASE_SIGNALS",
    "history_weights",
]

F32 = npt.NDArray[np.float32]

SIGNAL_WEIGHTS: dict[str, float] = {
    "View Catalog Object": 1.0,
    "Quick View Catalog Object": 1.0,
    "View Catalog Object Detail": 1.5,
    "catalog-object-click": 1.5,
    "personalization-click": 1.5,
    "Favorite Catalog Object": 2.0,
    "Share Catalog Object": 2.0,
    "Review Catalog Object": 2.0,
    "Add To Cart": 3.0,
    "Purchase": 4.0,
}
PURCHASE_SIGNALS = frozenset({"Purchase"})


@dataclass(frozen=True)
class ModelParams:
    """Hyper-parameters (tuned on a validation split by `bench/recsys.py`)."""

    l2: float = 500.0
    dropout: float = 0.25
    user_alpha: float = 0.0
    popularity_weight: float = 0.0
    embedding_weight: float = 0.05
    max_items: int = 8000
    recency_half_life_days: float | None = None
    popularity_exponent: float = 0.0
    history_half_life_days: float | None = None


@dataclass
class Interactions:
    """One row per (individual, item, interaction); `ts` in UTC epoch seconds."""

    users: list[str]
    items: list[str]
    interactions: list[str]
    ts: list[float]

    def __len__(self) -> int:
        return len(self.users)


@dataclass
class TrainedModel:
    item_ids: list[str]
    weights: F32  # m x m, zero diagonal
    popularity: F32  # log-scaled, 0..1
    counts: F32  # engaged individuals per item
    signal_counts: dict[str, F32]  # interaction -> individuals per item with that interaction
    user_history: dict[str, npt.NDArray[np.int32]]
    params: ModelParams
    trained_at: float
    seconds: float = 0.0
    index: dict[str, int] = field(default_factory=dict)
    user_times: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    """Per individual, the latest time of each `user_history` item (same order); may be empty
    for models saved before it existed (then every history item weighs 1)."""

    def __post_init__(self) -> None:
        self.index = {item: i for i, item in enumerate(self.item_ids)}

    def signal_rate(self, signal: str, prior: tuple[float, float] = (1.0, 20.0)) -> F32:
        """Smoothed share of an item's individuals who did `signal` (Beta prior a, b)."""
        hits = self.signal_counts.get(signal)
        a, b = prior
        if hits is None:
            return np.full(len(self.item_ids), a / (a + b), dtype=np.float32)
        return ((hits + a) / (self.counts + a + b)).astype(np.float32)

    def uncertainty(self) -> F32:
        out: F32 = (1.0 / np.sqrt(1.0 + self.counts)).astype(np.float32)
        return out

    def score_history(self, rows: Sequence[int], weights: Sequence[float]) -> F32:
        """History vector times B over the model's items (rows are model indices)."""
        if not rows:
            return np.zeros(len(self.item_ids), dtype=np.float32)
        w = np.asarray(weights, dtype=np.float32)
        return np.asarray(w @ self.weights[np.asarray(rows)], dtype=np.float32)


def history_weights(
    times: npt.NDArray[np.float64], half_life_days: float | None
) -> npt.NDArray[np.float64]:
    """0.5^(age / half-life) per history item, age counted from the latest of `times`."""
    if half_life_days is None or len(times) == 0:
        return np.ones(len(times))
    age = (float(times.max()) - times) / (half_life_days * 86_400.0)
    out: npt.NDArray[np.float64] = np.exp2(-np.maximum(age, 0.0))
    return out


def _latest_times(
    rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], m: int
) -> sparse.csr_matrix:
    """A user x item matrix holding the latest time of each (user, item) pair."""
    key = rows * m + cols
    order = np.lexsort((ts, key))
    last = np.ones(len(order), dtype=np.bool_)
    last[:-1] = key[order][1:] != key[order][:-1]
    pick = order[last]
    n = int(rows.max()) + 1 if len(rows) else 0
    return sparse.csr_matrix((ts[pick], (rows[pick], cols[pick])), shape=(n, m))


def _matrix(
    data: Interactions, params: ModelParams, now: float
) -> tuple[sparse.csr_matrix, list[str], list[str], dict[str, F32], F32, sparse.csr_matrix]:
    users = sorted(set(data.users))
    uidx = {u: i for i, u in enumerate(users)}
    counts: dict[str, int] = {}
    for item in data.items:
        counts[item] = counts.get(item, 0) + 1
    ranked = sorted(counts, key=lambda i: (-counts[i], i))[: params.max_items]
    items = sorted(ranked)
    iidx = {it: i for i, it in enumerate(items)}
    r, c, v, t = [], [], [], []
    sig_r: dict[str, tuple[list[int], list[int]]] = {}
    rate = None
    if params.recency_half_life_days:
        rate = np.log(2.0) / (params.recency_half_life_days * 86_400.0)
    for u, it, act, ts in zip(data.users, data.items, data.interactions, data.ts, strict=True):
        j = iidx.get(it)
        if j is None:
            continue
        i = uidx[u]
        w = SIGNAL_WEIGHTS.get(act, 1.0)
        if rate is not None:
            w *= float(np.exp(-rate * max(0.0, now - ts)))
        r.append(i)
        c.append(j)
        v.append(w)
        t.append(ts)
        rows, cols = sig_r.setdefault(act, ([], []))
        rows.append(i)
        cols.append(j)
    shape = (len(users), len(items))
    x = sparse.csr_matrix((v, (r, c)), shape=shape, dtype=np.float64)
    x.sum_duplicates()
    x.data = np.minimum(x.data, 4.0)  # repeated events of one person saturate
    signals = {}
    for act, (rows, cols) in sig_r.items():
        m = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
        m.sum_duplicates()
        m.data[:] = 1.0
        signals[act] = np.asarray(m.sum(axis=0), dtype=np.float32).ravel()
    binary = x.copy()
    binary.data[:] = 1.0
    engaged = np.asarray(binary.sum(axis=0), dtype=np.float32).ravel()
    times = _latest_times(
        np.asarray(r, dtype=np.int64),
        np.asarray(c, dtype=np.int64),
        np.asarray(t, dtype=np.float64),
        len(items),
    )
    times.resize(shape)
    return x, users, items, signals, engaged, times


def train_model(data: Interactions, params: ModelParams, *, now: float) -> TrainedModel:
    """Fit the model; raises InvalidInput when there is nothing to learn from."""
    started = time.perf_counter()
    if len(data) == 0:
        raise InvalidInput(
            "no item interactions to train on.", hint="Import events or wait for traffic."
        )
    x, users, items, signals, engaged, times = _matrix(data, params, now)
    if len(items) < 2:
        raise InvalidInput("fewer than two items have interactions; nothing to learn yet.")
    xw = x
    if params.user_alpha:
        n_u = np.asarray((x > 0).sum(axis=1), dtype=np.float64).ravel()
        xw = sparse.diags(np.power(np.maximum(n_u, 1.0), -params.user_alpha / 2.0)) @ x
    gram = np.asarray((xw.T @ xw).todense(), dtype=np.float64)
    diag = np.diag(gram).copy()
    reg = params.l2 + params.dropout / (1.0 - params.dropout) * diag
    gram[np.diag_indices_from(gram)] += reg
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    if params.popularity_exponent:
        b /= np.power(np.maximum(engaged.astype(np.float64), 1.0), params.popularity_exponent)
    pop = np.log1p(engaged)
    pop = pop / max(float(pop.max()), 1e-9)
    history: dict[str, npt.NDArray[np.int32]] = {}
    user_times: dict[str, npt.NDArray[np.float64]] = {}
    xc = x.tocsr()
    xc.sort_indices()
    times.sort_indices()
    for i, u in enumerate(users):
        a, z = xc.indptr[i], xc.indptr[i + 1]
        history[u] = xc.indices[a:z].astype(np.int32)
        user_times[u] = times.data[times.indptr[i] : times.indptr[i + 1]].astype(np.float64)
    return TrainedModel(
        item_ids=items,
        weights=b.astype(np.float32),
        popularity=pop.astype(np.float32),
        counts=engaged,
        signal_counts=signals,
        user_history=history,
        params=params,
        trained_at=now,
        seconds=round(time.perf_counter() - started, 3),
        user_times=user_times,
    )
