"""The objective-based recommender: the trained model served over the catalog snapshot.

Without a trained model (a new site) it ranks by content similarity to the visitor's interest
vector (cold start); items the model has not seen (new items) are scored the same way.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from p13n.domain.recommend.base import Scored, ScoreRequest, Vector, empty_scores
from p13n.domain.recommend.catalog import CatalogSnapshot, FloatArray
from p13n.domain.recommend.config import Objective, ObjectiveBased
from p13n.domain.recommend.model import PURCHASE_SIGNALS, SIGNAL_WEIGHTS, TrainedModel

__all__ = ["ObjectiveRecommender", "interest_vector", "INTEREST_HALF_LIFE_DAYS"]

INTEREST_HALF_LIFE_DAYS = 14.0
RECENT_WEIGHT = 1.0
_VERBS = {"Purchase": "bought", "Add To Cart": "added to your cart"}


def interest_vector(request: ScoreRequest) -> Vector | None:
    """Time-decayed mean of the vectors of the items the visitor engaged with (unit length)."""
    vectors = request.vectors
    if vectors is None:
        return None
    rate = math.log(2.0) / (INTEREST_HALF_LIFE_DAYS * 86_400.0)
    total: Vector | None = None
    for row, ts, act in request.history.engaged:
        vec = vectors.vector_of(row)
        if vec is None:
            continue
        w = SIGNAL_WEIGHTS.get(act, 1.0) * math.exp(-rate * max(0.0, request.now - ts))
        total = vec * w if total is None else total + vec * w
    for row in request.history.known[-50:]:
        vec = vectors.vector_of(row)
        if vec is not None:
            total = vec * 0.2 if total is None else total + vec * 0.2
    if total is None:
        return None
    norm = float(np.linalg.norm(total))
    return (total / norm).astype(np.float32) if norm > 0 else None


class ObjectiveRecommender:
    def __init__(self, config: ObjectiveBased, model: TrainedModel | None = None) -> None:
        self.config = config
        self.model = model
        self._rows_for: tuple[int, npt.NDArray[np.int64]] | None = None

    def train(self, snapshot: CatalogSnapshot, data: object) -> None:
        if not isinstance(data, TrainedModel):
            raise TypeError("ObjectiveRecommender.train takes a TrainedModel (see train_model)")
        self.model = data
        self._rows_for = None

    def is_trained(self) -> bool:
        return self.model is not None

    def _snapshot_rows(self, snap: CatalogSnapshot) -> npt.NDArray[np.int64]:
        """Snapshot row of each model item (-1 when the item left the catalog)."""
        assert self.model is not None
        if self._rows_for is None or self._rows_for[0] != id(snap):
            rows = np.array([snap.row.get(i, -1) for i in self.model.item_ids], dtype=np.int64)
            self._rows_for = (id(snap), rows)
        return self._rows_for[1]

    def _value(
        self, model: TrainedModel, snap: CatalogSnapshot, rows: npt.NDArray[np.int64]
    ) -> FloatArray:
        """Per model item: the objective's multiplier of the engagement score."""
        cfg = self.config
        m = len(model.item_ids)
        safe = np.where(rows >= 0, rows, 0)
        if cfg.objective is Objective.MAXIMIZE_CLICKS:
            return np.ones(m)
        if cfg.objective is Objective.CUSTOM:
            assert cfg.signal is not None
            rate = model.signal_rate(cfg.signal).astype(np.float64)
            return rate if cfg.direction == "maximize" else 1.0 - rate
        rate = sum((model.signal_rate(s).astype(np.float64) for s in PURCHASE_SIGNALS), np.zeros(m))
        value = rate * np.nan_to_num(snap.price[safe], nan=0.0)
        if cfg.objective is Objective.MAXIMIZE_REVENUE_WITH_PROMOTIONS:
            promoted = np.array([bool(snap.value(int(r), cfg.promotion_field)) for r in safe])
            value = np.where(promoted, value * cfg.promotion_factor, value)
        return value

    def score(self, request: ScoreRequest) -> Scored:
        snap = request.snapshot
        scores = empty_scores(len(snap))
        interest = interest_vector(request)
        model = self.model
        if model is None:
            return self._content_only(request, interest, scores)
        rows = self._snapshot_rows(snap)
        params = model.params
        hist, weights, recent = self._history(model, request)
        engage = model.score_history(hist, weights).astype(np.float64)
        engage += params.popularity_weight * model.popularity
        contentsim = np.zeros(len(rows))
        if interest is not None and request.vectors is not None and params.embedding_weight:
            live = np.where(rows >= 0)[0]
            contentsim[live] = request.vectors.similarity(interest, rows[live])
            engage += params.embedding_weight * contentsim
        value = self._value(model, snap, rows)
        if self.config.objective is not Objective.MAXIMIZE_CLICKS:
            engage = np.maximum(engage, 0.0) + 1e-6 * (model.popularity + 1.0)
        total = engage * value
        alive = rows >= 0
        scores[rows[alive]] = total[alive]
        uncertainty = np.zeros(len(snap))
        uncertainty[rows[alive]] = model.uncertainty()[alive]
        self._cold_items(request, interest, scores, uncertainty, rows)
        b = model.weights

        def reason(r: int) -> str:
            j = model.index.get(snap.ids[r])
            if j is not None and hist:
                contrib = np.asarray(weights) * b[np.asarray(hist), j]
                k = int(np.argmax(contrib))
                if contrib[k] > 0:
                    src = snap.items[rows[hist[k]]] if rows[hist[k]] >= 0 else None
                    verb = _VERBS.get(recent.get(hist[k], ""), "viewed")
                    if src is not None:
                        return f"because you {verb} '{src.name or src.id}'"
            if j is not None and contentsim[j] > 0.3:
                return "similar to items you engaged with"
            if j is None:
                return "new item similar to your interests"
            return "popular with shoppers"

        return Scored(scores, reason, uncertainty)

    def _history(
        self, model: TrainedModel, request: ScoreRequest
    ) -> tuple[list[int], list[float], dict[int, str]]:
        """Model indices and weights: the trained history plus recent engagement, which moves
        recommendations between trainings."""
        acc: dict[int, float] = {}
        if request.individual is not None:
            for j in model.user_history.get(request.individual, ()):
                acc[int(j)] = 1.0
        snap = request.snapshot
        recent: dict[int, str] = {}
        for row, _, act in request.history.engaged:
            j = model.index.get(snap.ids[row])
            if j is None:
                continue
            acc[j] = max(acc.get(j, 0.0), RECENT_WEIGHT)
            if j not in recent or act in _VERBS:
                recent[j] = act
        hist = sorted(acc)
        return hist, [acc[j] for j in hist], recent

    def _cold_items(
        self,
        request: ScoreRequest,
        interest: Vector | None,
        scores: FloatArray,
        uncertainty: FloatArray,
        rows: npt.NDArray[np.int64],
    ) -> None:
        """Items the model never saw get content similarity, scaled into the model's range."""
        if interest is None or request.vectors is None:
            return
        cand, sims = request.vectors.nearest(interest, 50)
        known = np.zeros(len(scores), dtype=np.bool_)
        known[rows[rows >= 0]] = True
        fresh = ~known[cand]
        if fresh.any():
            finite = scores[np.isfinite(scores)]
            scale = float(np.percentile(finite, 99)) if len(finite) else 1.0
            scores[cand[fresh]] = sims[fresh] * max(scale, 1e-6) * 0.5
            uncertainty[cand[fresh]] = 1.0

    def _content_only(
        self, request: ScoreRequest, interest: Vector | None, scores: FloatArray
    ) -> Scored:
        if interest is None or request.vectors is None:
            return Scored(scores, lambda r: "")
        cand, sims = request.vectors.nearest(interest, 200)
        scores[cand] = sims
        return Scored(scores, lambda r: "similar to items you engaged with")
