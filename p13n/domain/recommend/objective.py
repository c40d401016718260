"""The objective-based recommender: the trained model served over the catalog snapshot.

Without a trained model (a new site) it ranks by content similarity to the visitor's interest
vector (cold start); items the model has not seen (new items) are scored the same way.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from p13n.domain.recommend.base import Scored, ScoreRequest, Vector, VectorLookup, empty_scores
from p13n.domain.recommend.config import Objective, ObjectiveBased
from p13n.domain.recommend.model import (
    PURCHASE_SIGNALS,
    SIGNAL_WEIGHTS,
    TrainedModel,
    history_weights,
)
from p13n.domain.recommend.snapshot import CatalogSnapshot, FloatArray
from p13n.domain.recommend.vocabulary import category_words

__all__ = ["ObjectiveRecommender", "interest_vector", "INTEREST_HALF_LIFE_DAYS"]

INTEREST_HALF_LIFE_DAYS = 14.0
RECENT_WEIGHT = 1.0
_EXACT_SIMILARITY = 2000
_SIMILAR_POOL = 500
_VERBS = {"Purchase": "bought", "Add To Cart": "added to your cart"}
LIKE_VIEWED = "like items you looked at recently"


def interest_vector(request: ScoreRequest) -> Vector | None:
    """Time-decayed mean of the vectors of the items the visitor engaged with (unit length)."""
    vectors = request.vectors
    if vectors is None:
        return None
    rate = math.log(2.0) / (INTEREST_HALF_LIFE_DAYS * 86_400.0)
    engaged = request.history.engaged
    known = list(request.history.known[-50:])
    if not engaged and not known:
        return None
    rows = (
        np.fromiter((r for r, _, _ in engaged), dtype=np.int64, count=len(engaged))
        if engaged
        else np.zeros(0, np.int64)
    )
    weights = [
        SIGNAL_WEIGHTS.get(act, 1.0) * math.exp(-rate * max(0.0, request.now - ts))
        for _, ts, act in engaged
    ]
    rows = np.concatenate([rows, np.asarray(known, dtype=np.int64)])
    total = vectors.combine(rows, np.asarray(weights + [0.2] * len(known), dtype=np.float64))
    norm = float(np.linalg.norm(total))
    return (total / norm).astype(np.float32) if norm > 0 else None


class ObjectiveRecommender:
    def __init__(self, config: ObjectiveBased, model: TrainedModel | None = None) -> None:
        self.config = config
        self.model = model
        self._rows_for: tuple[int, npt.NDArray[np.int64]] | None = None
        self._model_of: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None
        self._known: tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]] | None = None
        # Per (model, snapshot): the objective's value and the item uncertainty, which do not
        # depend on the visitor, computed once instead of on every request.
        self._static: tuple[TrainedModel, CatalogSnapshot, FloatArray, FloatArray] | None = None

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

    def _content_similarity(
        self,
        vectors: VectorLookup,
        interest: Vector,
        rows: npt.NDArray[np.int64],
        near: tuple[npt.NDArray[np.int64], FloatArray],
    ) -> FloatArray:
        """Cosine of each model item to the interest vector. Over a large catalog only the
        `_SIMILAR_POOL` nearest items get their own cosine and the rest that pool's lowest (a
        floor): the blend only reorders items near the interest, at a fraction of the cost."""
        out = np.zeros(len(rows))
        live = np.flatnonzero(rows >= 0)
        if len(live) <= _EXACT_SIMILARITY:
            out[live] = vectors.similarity(interest, rows[live])
            return out
        cand, sims = near
        if len(cand) == 0:
            return out
        if self._model_of is None or self._model_of[0] is not rows:
            model_of = np.full(int(rows.max()) + 1 if len(rows) else 0, -1, dtype=np.int64)
            model_of[rows[live]] = live
            self._model_of = (rows, model_of)
        model_of = self._model_of[1]
        inside = cand < len(model_of)
        j = np.full(len(cand), -1, dtype=np.int64)
        j[inside] = model_of[cand[inside]]
        out[live] = float(sims[-1])
        out[j[j >= 0]] = sims[j >= 0]
        return out

    def _static_arrays(
        self, model: TrainedModel, snap: CatalogSnapshot, rows: npt.NDArray[np.int64]
    ) -> tuple[FloatArray, FloatArray]:
        cached = self._static
        if cached is None or cached[0] is not model or cached[1] is not snap:
            value = self._value(model, snap, rows)
            cached = (model, snap, value, model.uncertainty().astype(np.float64))
            self._static = cached
        return cached[2], cached[3]

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
            codes, uniques = snap.column_codes(cfg.promotion_field)
            truthy = np.array([bool(v) for v in uniques], dtype=np.bool_)
            promoted = truthy[codes][safe] & (rows >= 0)
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
        near = None
        if interest is not None and request.vectors is not None:
            near = request.vectors.nearest(interest, _SIMILAR_POOL)
            if params.embedding_weight:
                contentsim = self._content_similarity(request.vectors, interest, rows, near)
                engage += params.embedding_weight * contentsim
        value, item_uncertainty = self._static_arrays(model, snap, rows)
        if self.config.objective is not Objective.MAXIMIZE_CLICKS:
            engage = np.maximum(engage, 0.0) + 1e-6 * (model.popularity + 1.0)
        total = engage * value
        alive = rows >= 0
        scores[rows[alive]] = total[alive]
        uncertainty = np.zeros(len(snap))
        uncertainty[rows[alive]] = item_uncertainty[alive]
        fresh = self._cold_items(near, scores, uncertainty, total[alive], rows)
        candidates = np.concatenate([rows[alive], fresh])
        b = model.weights
        hist_rows = np.asarray(hist, dtype=np.int64)
        hist_weights = np.asarray(weights, dtype=np.float32)

        def reason(r: int) -> str:
            j = model.index.get(snap.ids[r])
            if j is not None and hist:
                contrib = hist_weights * b[hist_rows, j]
                k = int(np.argmax(contrib))
                if contrib[k] > 0:
                    src = snap.items[rows[hist[k]]] if rows[hist[k]] >= 0 else None
                    verb = _VERBS.get(recent.get(hist[k], ""), "viewed")
                    if src is not None:
                        return f"because you {verb} '{src.name or src.id}'"
            if j is not None and contentsim[j] > 0.3:
                return LIKE_VIEWED
            if j is None:
                return "new in the shop, and like items you looked at"
            return f"popular in {category_words(snap.category[r])}"

        return Scored(scores, reason, uncertainty, candidates=candidates)

    def _history(
        self, model: TrainedModel, request: ScoreRequest
    ) -> tuple[list[int], list[float], dict[int, str]]:
        """Model indices and weights: the trained history plus recent engagement, which moves
        recommendations between trainings. Each item is timed by its latest engagement and
        weighed by `history_weights` (all 1 without a history half-life)."""
        when: dict[int, float] = {}
        if request.individual is not None:
            known = model.user_history.get(request.individual)
            if known is not None:
                times = model.user_times.get(request.individual)
                if times is None or len(times) != len(known):
                    times = np.full(len(known), np.nan)
                when = dict(zip(known.tolist(), times.tolist(), strict=True))
        snap = request.snapshot
        recent: dict[int, str] = {}
        for row, ts, act in request.history.engaged:
            j = model.index.get(snap.ids[row])
            if j is None:
                continue
            prev = when.get(j)
            if prev is None or math.isnan(prev) or ts > prev:
                when[j] = ts
            if j not in recent or act in _VERBS:
                recent[j] = act
        if not when:
            return [], [], recent
        hist = sorted(when)
        stamps = np.array([when[j] for j in hist], dtype=np.float64)
        undated = np.isnan(stamps)
        if undated.any():  # a model saved without times: those items count as recent
            stamps[undated] = np.nanmax(stamps) if not undated.all() else 0.0
        weights = history_weights(stamps, model.params.history_half_life_days)
        return hist, (weights * RECENT_WEIGHT).tolist(), recent

    def _cold_items(
        self,
        near: tuple[npt.NDArray[np.int64], FloatArray] | None,
        scores: FloatArray,
        uncertainty: FloatArray,
        model_scores: FloatArray,
        rows: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int64]:
        """Items the model never saw among the 50 nearest to the interest vector get content
        similarity, scaled into the model's range; returns their rows."""
        none = np.zeros(0, dtype=np.int64)
        if near is None:
            return none
        cand, sims = near[0][:50], near[1][:50]
        if self._known is None or self._known[0] is not rows:
            known = np.zeros(len(scores), dtype=np.bool_)
            known[rows[rows >= 0]] = True
            self._known = (rows, known)
        fresh = ~self._known[1][cand]
        if not fresh.any():
            return none
        finite = model_scores[np.isfinite(model_scores)]
        scale = 1.0
        if len(finite):  # the 99th percentile (nearest rank) without a full sort
            k = min(len(finite) - 1, int(0.99 * (len(finite) - 1) + 0.5))
            scale = float(np.partition(finite, k)[k])
        scores[cand[fresh]] = sims[fresh] * max(scale, 1e-6) * 0.5
        uncertainty[cand[fresh]] = 1.0
        return cand[fresh]

    def _content_only(
        self, request: ScoreRequest, interest: Vector | None, scores: FloatArray
    ) -> Scored:
        if interest is None or request.vectors is None:
            return Scored(scores, lambda r: "", candidates=np.zeros(0, np.int64))
        cand, sims = request.vectors.nearest(interest, 200)
        scores[cand] = sims
        return Scored(scores, lambda r: LIKE_VIEWED, candidates=cand)
