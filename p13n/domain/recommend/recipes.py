"""Rule-based recipes: rankings read straight from the precomputed catalog arrays."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from scipy import sparse

from p13n.domain.recommend.base import Scored, ScoreRequest, empty_scores
from p13n.domain.recommend.config import (
    CoBought,
    CoViewed,
    MostViewed,
    Newest,
    RecentlyViewed,
    RecipeConfig,
    SimilarItems,
    SortBy,
    TopSellers,
    Trending,
)
from p13n.domain.recommend.snapshot import CatalogSnapshot, FloatArray

__all__ = ["RuleRecipe", "anchors_of", "ANCHOR_HISTORY"]

ANCHOR_HISTORY = 5
_TIE = 1e-9


def anchors_of(request: ScoreRequest) -> list[int]:
    """The anchor item, or else the visitor's most recently viewed items."""
    if request.anchor_row is not None:
        return [request.anchor_row]
    return [r for r, _ in request.history.viewed[:ANCHOR_HISTORY]]


def _name(snap: CatalogSnapshot, row: int) -> str:
    item = snap.items[row]
    return f"'{item.name}'" if item.name else item.id


def _window_label(days: int | None) -> str:
    return (
        "all time" if days is None else ("the last day" if days == 1 else f"the last {days} days")
    )


def _with_ties(values: FloatArray, keep: np.ndarray) -> FloatArray:
    """Scores where `keep`, else -inf; ties broken towards lower rows (sorted ids)."""
    n = len(values)
    out = values - _TIE * np.arange(n) / max(n, 1)
    out[~keep] = -np.inf
    return out


class RuleRecipe:
    """One configured rule-based recipe; `train` is a no-op, the snapshot is the model."""

    def __init__(self, config: RecipeConfig) -> None:
        self.config = config
        self._static: tuple[CatalogSnapshot, Scored] | None = None

    def train(self, snapshot: CatalogSnapshot, data: object) -> None:
        return None

    def is_trained(self) -> bool:
        return True

    def score(self, request: ScoreRequest) -> Scored:
        cfg, snap = self.config, request.snapshot
        if isinstance(cfg, RecentlyViewed):
            return self._recently_viewed(request)
        if isinstance(cfg, CoBought | CoViewed):
            matrix = snap.co_bought if isinstance(cfg, CoBought) else snap.co_viewed
            verb = "bought" if isinstance(cfg, CoBought) else "viewed"
            return _co_occurrence(request, matrix, verb)
        if isinstance(cfg, SimilarItems):
            return _similar(request)
        # The rest depend on the snapshot alone: scored and ordered once per snapshot.
        cached = self._static
        if cached is None or cached[0] is not snap:
            scored = self._score_static(snap)
            finite = np.flatnonzero(np.isfinite(scored.scores))
            scored.order = finite[np.argsort(-scored.scores[finite], kind="stable")]
            scored.candidates = finite
            cached = self._static = (snap, scored)
        return cached[1]

    def _score_static(self, snap: CatalogSnapshot) -> Scored:
        cfg = self.config
        n = len(snap)
        if isinstance(cfg, TopSellers | MostViewed):
            kind = "units_sold" if isinstance(cfg, TopSellers) else "views"
            key = f"{kind}_total" if cfg.window_days is None else f"{kind}_{cfg.window_days}d"
            values = snap.insights[key]
            label, what = (
                _window_label(cfg.window_days),
                ("sold" if kind == "units_sold" else "views"),
            )
            return Scored(
                _with_ties(values, values > 0),
                lambda r: (
                    f"top seller: {values[r]:g} {what} in {label}"
                    if kind == "units_sold"
                    else f"most viewed: {values[r]:g} {what} in {label}"
                ),
            )
        if isinstance(cfg, Trending):
            active = (snap.insights["views_7d"] + snap.insights["units_sold_7d"]) > 0
            trend = snap.insights["trending_score"] + 1e-6 * snap.insights["views_7d"]
            return Scored(
                _with_ties(trend, active),
                lambda r: f"trending in {snap.category[r].split('/')[0] or 'the catalog'}",
            )
        if isinstance(cfg, Newest):
            created = snap.created
            dated = ~np.isnan(created)
            floor = float(created[dated].min()) - 1.0 if dated.any() else 0.0
            return Scored(
                _with_ties(np.where(dated, created, floor), np.ones(n, dtype=np.bool_)),
                lambda r: (
                    "new: added "
                    + datetime.fromtimestamp(float(created[r]), UTC).strftime("%Y-%m-%d")
                    if dated[r]
                    else "from the catalog"
                ),
            )
        assert isinstance(cfg, SortBy)
        return _sort_by(cfg, snap, n)

    def _recently_viewed(self, request: ScoreRequest) -> Scored:
        snap, now = request.snapshot, request.now
        scores = empty_scores(len(snap))
        when: dict[int, float] = {}
        for rank, (row, ts) in enumerate(request.history.viewed):
            if row not in when:
                scores[row] = -float(rank)
                when[row] = ts

        def reason(r: int) -> str:
            days = int(max(0.0, now - when[r]) // 86_400)
            ago = "today" if days == 0 else ("yesterday" if days == 1 else f"{days} days ago")
            return f"you viewed this {ago}"

        return Scored(scores, reason)


def _co_occurrence(request: ScoreRequest, matrix: sparse.csr_matrix, verb: str) -> Scored:
    """The anchors' rows of the co-occurrence matrix summed, as sparse scores: the work is the
    anchors' neighbours, whatever the size of the catalog."""
    snap = request.snapshot
    n = len(snap)
    anchors = anchors_of(request)
    if len(anchors) == 1:  # the anchored request: its matrix row is the answer, as it is
        a = anchors[0]
        start, end = matrix.indptr[a], matrix.indptr[a + 1]
        rows = matrix.indices[start:end].astype(np.int64)
        values = matrix.data[start:end].astype(np.float64)
        if not matrix.has_sorted_indices:
            order = np.argsort(rows)
            rows, values = rows[order], values[order]
        reason = f"often {verb} with {_name(snap, a)}"
        return Scored.sparse(n, rows, values - _TIE * rows / max(n, 1), lambda r: reason)
    total: dict[int, float] = {}
    best: dict[int, tuple[float, int]] = {}
    for a in anchors:
        start, end = matrix.indptr[a], matrix.indptr[a + 1]
        cols = matrix.indices[start:end].tolist()
        vals = matrix.data[start:end].tolist()
        for c, val in zip(cols, vals, strict=True):
            total[c] = total.get(c, 0.0) + val
            if c not in best or val > best[c][0]:
                best[c] = (val, a)
    rows = np.fromiter(total, dtype=np.int64, count=len(total))
    values = np.fromiter(total.values(), dtype=np.float64, count=len(total))
    order = np.argsort(rows)
    rows, values = rows[order], values[order] - _TIE * rows[order] / max(n, 1)
    return Scored.sparse(n, rows, values, lambda r: f"often {verb} with {_name(snap, best[r][1])}")


def _similar(request: ScoreRequest) -> Scored:
    snap, vectors = request.snapshot, request.vectors
    n = len(snap)
    none = np.zeros(0, np.int64)
    if vectors is None:
        return Scored.sparse(n, none, np.zeros(0), lambda r: "")
    best: dict[int, float] = {}
    source: dict[int, int] = {}
    for a in anchors_of(request):
        vec = vectors.vector_of(a)
        if vec is None:
            continue
        rows, sims = vectors.nearest(vec, 200)
        for row, sim in zip(rows.tolist(), sims.tolist(), strict=True):
            if row != a and sim > best.get(row, -np.inf):
                best[row] = sim
                source[row] = a
    rows = np.fromiter(sorted(best), dtype=np.int64, count=len(best))
    values = np.fromiter((best[r] for r in rows.tolist()), dtype=np.float64, count=len(best))
    return Scored.sparse(n, rows, values, lambda r: f"similar to {_name(snap, source[r])}")


def _sort_by(cfg: SortBy, snap: CatalogSnapshot, n: int) -> Scored:
    column = snap.numeric_column(cfg.field)
    present = ~np.isnan(column)
    values = np.nan_to_num(column, nan=0.0)
    direction = "highest" if cfg.descending else "lowest"
    return Scored(
        _with_ties(values if cfg.descending else -values, present),
        lambda r: f"{cfg.field.split('.')[-1]} {snap.value(r, cfg.field)} ({direction} first)",
    )
