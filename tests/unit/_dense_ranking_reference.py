"""The decision path's ranking as it was before issue 14 (commit 6f77390), kept only as the
reference that `test_recommend_candidates.py` compares the candidate-based path with: a dense
row mask over the whole catalog per request, dense co-occurrence and similar-item scores.
Copied verbatim from `ranking.py` and `recipes.py` of that commit, except `Rules.narrow`,
which now returns the narrowed rows instead of clearing them in place (`_narrow` below is
the old in-place version)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np
from scipy import sparse

from p13n.domain.recommend.base import Algorithm, History, Scored, ScoreRequest, empty_scores
from p13n.domain.recommend.config import RecommenderConfig, Switches
from p13n.domain.recommend.ranking import Rerank, Rules, Slot
from p13n.domain.recommend.recipes import _TIE, _name, anchors_of
from p13n.domain.recommend.snapshot import BoolArray, CatalogSnapshot, FloatArray, IntArray

_POOL_MIN = 64


def _narrow(rule: Rules, allowed: BoolArray) -> None:
    if rule.include is not None and (m := rule.include.must_hold()) is not None:
        allowed &= m
    if rule.exclude is not None and (m := rule.exclude.surely_holds()) is not None:
        allowed &= ~m


@dataclass
class _Diversity:
    on: str | None
    limit: int
    counts: dict[str, int] = dc_field(default_factory=dict)

    def key(self, snap: CatalogSnapshot, row: int) -> str:
        if self.on == "brand":
            return snap.brand[row]
        if self.on == "top_category":
            return snap.category[row].split("/")[0]
        return snap.category[row]

    def admits(self, snap: CatalogSnapshot, row: int) -> bool:
        if self.on is None:
            return True
        return self.counts.get(self.key(snap, row), 0) < self.limit

    def add(self, snap: CatalogSnapshot, row: int) -> None:
        if self.on is not None:
            k = self.key(snap, row)
            self.counts[k] = self.counts.get(k, 0) + 1


def allowed_rows(
    snap: CatalogSnapshot,
    switches: Switches,
    history: History,
    now: float,
    *,
    anchor_row: int | None,
    excluded: Sequence[int] = (),
    exclude_seen: bool = False,
    mask: BoolArray | None = None,
) -> BoolArray:
    """Rows that the switches (and explicit exclusions) leave eligible."""
    ok = np.ones(len(snap), dtype=np.bool_) if mask is None else mask.copy()
    if switches.in_stock_only:
        ok &= snap.in_stock
    if switches.exclude_purchased and history.purchased:
        ok[list(history.purchased)] = False
    if switches.exclude_in_cart and history.cart:
        ok[list(history.cart)] = False
    if switches.exclude_viewed_days is not None:
        horizon = now - switches.exclude_viewed_days * 86_400.0
        seen = [r for r, ts in history.viewed if ts >= horizon]
        seen += [r for r, ts, _ in history.engaged if ts >= horizon]
        if seen:
            ok[seen] = False
    if exclude_seen:
        seen_rows = list(history.seen())
        if seen_rows:
            ok[seen_rows] = False
    if anchor_row is not None:
        ok[anchor_row] = False
    if excluded:
        ok[list(excluded)] = False
    return ok


def rank(
    config: RecommenderConfig,
    algorithm: Algorithm,
    request: ScoreRequest,
    rules: Sequence[Rules],
    allowed: BoolArray,
    need: int,
    *,
    chosen: Sequence[Slot] = (),
    rerank: Rerank | None = None,
) -> tuple[list[Slot], list[int], FloatArray | None, Callable[[int], str]]:
    """Up to `need` new slots, best first, the filtered-in rows left over (for exploration;
    with a `rerank`, only rows meeting the request's constraints), the algorithm's per-row
    uncertainty, and the reason of any row scored (for explored slots)."""
    snap = request.snapshot
    scored = algorithm.score(request)
    if rerank is not None:
        scored = rerank.apply(scored)
    scores = scored.scores
    allowed = allowed.copy()
    for rule in rules:
        _narrow(rule, allowed)
    candidates, order = scored.candidates, scored.order
    taken = {s.row for s in chosen}
    diversity = _Diversity(
        config.diversity.field if config.diversity else None,
        config.diversity.max_per_value if config.diversity else 0,
    )
    for s in chosen:
        diversity.add(snap, s.row)
    per_row = [rule for rule in rules if not rule.exact]
    passing = _pool(scores, allowed, need, per_row, taken, candidates, order)
    boosted = _boost(passing, scores, rules)
    out: list[Slot] = []
    rest: list[int] = []
    for row, value, label in boosted:
        if len(out) < need and diversity.admits(snap, row):
            diversity.add(snap, row)
            reason = scored.reason(row)
            if label:
                reason = f"{reason} ({label})"
            out.append(Slot(row, value, reason, config.name))
        elif rerank is None or rerank.fit(row):
            rest.append(row)
    return out, rest, scored.uncertainty, scored.reason


def _pool(
    scores: FloatArray,
    allowed: BoolArray,
    need: int,
    rules: Sequence[Rules],
    taken: set[int],
    candidates: IntArray | None,
    order: IntArray | None,
) -> list[int]:
    """The best allowed rows, best first, that pass the per-row filters: the top `size` allowed
    rows are tested, `size` growing fourfold until `need` pass or every row was tested."""
    ranked = _ranked(scores, allowed, candidates, order)
    size = max(_POOL_MIN, 4 * need)
    while True:
        top, more = ranked(size)
        passing = [r for r in top.tolist() if r not in taken and all(x.passes(r) for x in rules)]
        if len(passing) >= need or not more:
            return passing
        size *= 4


def _ranked(
    scores: FloatArray, allowed: BoolArray, candidates: IntArray | None, order: IntArray | None
) -> Callable[[int], tuple[IntArray, bool]]:
    """A function giving the `size` best allowed rows with a finite score (best first) and
    whether there are more."""
    if order is not None:
        ordered = order

        def from_order(size: int) -> tuple[IntArray, bool]:
            step = max(4 * size, 4096)
            got: list[IntArray] = []
            have, pos = 0, 0
            while have < size and pos < len(ordered):
                chunk = ordered[pos : pos + step]
                chunk = chunk[allowed[chunk]]
                got.append(chunk)
                have += len(chunk)
                pos += step
            rows = np.concatenate(got) if got else np.zeros(0, np.int64)
            return rows[:size], have > size or pos < len(ordered)

        return from_order
    if candidates is None:
        cand = np.flatnonzero(allowed & np.isfinite(scores))
    else:
        cand = candidates[allowed[candidates]]
        cand = cand[np.isfinite(scores[cand])]
    values = scores[cand]

    def from_candidates(size: int) -> tuple[IntArray, bool]:
        if size < len(cand):
            top = np.argpartition(-values, size - 1)[:size]
        else:
            top = np.arange(len(cand))
        top = top[np.lexsort((cand[top], -values[top]))]
        return cand[top], size < len(cand)

    return from_candidates


def _boost(
    rows: list[int], scores: FloatArray, rules: Sequence[Rules]
) -> list[tuple[int, float, str | None]]:
    """Multiply matching rows' scores; when some score is not positive, the pool's scores are
    first shifted so that the lowest is 1% of the pool's range above zero."""
    if not rows:
        return []
    values = scores[rows]
    boosters = [b for rule in rules for b in rule.boosters]
    if not boosters:
        return [(r, float(v), None) for r, v in zip(rows, values.tolist(), strict=True)]
    low, high = float(values.min()), float(values.max())
    positive = values if low > 0 else values - low + max(high - low, 1e-6) * 0.01
    idx = np.asarray(rows, dtype=np.int64)
    labels: list[str | None] = [None] * len(rows)
    for group, factor, name in boosters:
        if group.exact and group.mask is not None:  # one vectorized test for the whole pool
            hit = group.mask[idx]
        else:
            hit = np.fromiter((group.matches(r) for r in rows), dtype=np.bool_, count=len(rows))
        if not hit.any():
            continue
        positive = np.where(hit, positive * factor, positive)
        if name:
            for k in np.flatnonzero(hit).tolist():
                labels[k] = name
    order = np.argsort(-positive, kind="stable")
    values_out = positive.tolist()
    return [(rows[k], values_out[k], labels[k]) for k in order.tolist()]


def _co_occurrence(request: ScoreRequest, matrix: sparse.csr_matrix, verb: str) -> Scored:
    snap = request.snapshot
    n = len(snap)
    total: dict[int, float] = {}
    best: dict[int, tuple[float, int]] = {}
    for a in anchors_of(request):
        start, end = matrix.indptr[a], matrix.indptr[a + 1]
        cols = matrix.indices[start:end].tolist()
        vals = matrix.data[start:end].tolist()
        for c, val in zip(cols, vals, strict=True):
            total[c] = total.get(c, 0.0) + val
            if c not in best or val > best[c][0]:
                best[c] = (val, a)
    scores = empty_scores(n)
    rows = np.fromiter(total, dtype=np.int64, count=len(total))
    if len(rows):
        values = np.fromiter(total.values(), dtype=np.float64, count=len(total))
        scores[rows] = values - _TIE * rows / max(n, 1)
    return Scored(scores, lambda r: f"often {verb} with {_name(snap, best[r][1])}", candidates=rows)


def _similar(request: ScoreRequest) -> Scored:
    snap, vectors = request.snapshot, request.vectors
    scores = empty_scores(len(snap))
    source: dict[int, int] = {}
    if vectors is None:
        return Scored(scores, lambda r: "", candidates=np.zeros(0, np.int64))
    for a in anchors_of(request):
        vec = vectors.vector_of(a)
        if vec is None:
            continue
        rows, sims = vectors.nearest(vec, 200)
        for row, sim in zip(rows.tolist(), sims.tolist(), strict=True):
            if row != a and sim > scores[row]:
                scores[row] = sim
                source[row] = a
    rows = np.fromiter(source, dtype=np.int64, count=len(source))
    return Scored(scores, lambda r: f"similar to {_name(snap, source[r])}", candidates=rows)
