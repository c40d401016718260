"""Re-ranking a query's candidates by relevance and by the person: the tuned blend.

    score = relevance * (1 + personal) + constraints

`relevance` (0-1 over the candidate pool) mixes the embedding similarity and BM25;
`personal` adds the person's model score (percentile in the pool), brand and category
affinities and met stated preferences; `constraints` adds the query's met soft constraints and
subtracts the ones the shopper asked to avoid. Relevance multiplies the personal part, so a
loved brand lifts relevant items and never drags in an unrelated one. Without a query, stated
preferences tilt the recommender's own scores (`PreferenceTilt`). Pure numpy over the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from p13n.domain.ingest import Item
from p13n.domain.recommend.base import Scored
from p13n.domain.recommend.interpret import Constraint
from p13n.domain.recommend.lexical import LexicalIndex
from p13n.domain.recommend.reasons import personal_reason, query_reason
from p13n.domain.recommend.snapshot import BoolArray, CatalogSnapshot, FloatArray, IntArray
from p13n.domain.recommend.vocabulary import CatalogVocabulary

__all__ = [
    "BlendWeights",
    "Tastes",
    "QueryBlend",
    "PreferenceTilt",
    "constraint_rows",
    "relevance",
]


@dataclass(frozen=True)
class BlendWeights:
    """The blend's weights, tuned on the demo tenant's simulated shoppers (bench NDCG)."""

    semantic: float = 0.6
    lexical: float = 0.4
    span: float = 0.5  # similarity this far below the pool's best counts as no relevance
    model: float = 0.3
    brand_affinity: float = 1.3
    category_affinity: float = 0.6
    preference: float = 0.6
    constraint: float = 0.5
    avoid: float = 2.0


@dataclass(frozen=True)
class Tastes:
    """What p13n knows of the person: affinities (0-1), brands bought (count), preferences, and
    the items they recently bought, carted or viewed (verb, item; newest first, for reasons)."""

    brands: Mapping[str, float] = field(default_factory=dict)  # casefolded brand -> 0-1
    categories: Mapping[str, float] = field(default_factory=dict)  # category path -> 0-1
    bought_brands: Mapping[str, int] = field(default_factory=dict)  # casefolded -> orders
    preferences: Sequence[Constraint] = ()
    recent: Sequence[tuple[str, Item]] = ()

    @property
    def known(self) -> bool:
        return bool(self.brands or self.categories or self.preferences)


def constraint_rows(
    c: Constraint, snap: CatalogSnapshot, vocab: CatalogVocabulary, lexical: LexicalIndex | None
) -> BoolArray:
    """The rows that meet a constraint's value (its operator aside for is / is_not)."""
    v = c.value
    if c.field == "price":
        assert isinstance(v, float | int)
        with np.errstate(invalid="ignore"):
            if c.operator == "at_most":
                return np.asarray(snap.price <= v)
            if c.operator == "at_least":
                return np.asarray(snap.price >= v)
            return np.asarray(np.abs(snap.price - v) <= 0.25 * v)
    if c.field == "brand":
        return vocab.brand_rows(str(v))
    if c.field == "category":
        return vocab.path_rows(v if isinstance(v, list) else [str(v)])
    if c.field == "audience":
        return vocab.top_rows(str(v))
    if c.field == "age":
        assert isinstance(v, float | int)
        return vocab.age_rows(float(v), vocab.audience("kids"))
    if lexical is None:
        return np.zeros(len(snap), dtype=np.bool_)
    if c.field == "color":
        return lexical.colour_rows(str(v))
    return lexical.size_rows(str(v))


def relevance(semantic: FloatArray | None, lexical: FloatArray, w: BlendWeights) -> FloatArray:
    """0-1 per pool row: similarity scaled from `span` below the pool's best to the best, BM25
    over the pool's best, mixed by the weights. Without similarities (no query vector: the
    model still loads) BM25 alone; a row no word matched is then not relevant at all."""
    if semantic is None:
        top = float(lexical.max()) if len(lexical) else 0.0
        return lexical / top if top > 0 else np.zeros(len(lexical))
    out = np.zeros(len(semantic))
    if len(semantic):
        hi = float(semantic.max())
        out += w.semantic * np.clip((semantic - (hi - w.span)) / max(w.span, 1e-6), 0.0, 1.0)
    top = float(lexical.max()) if len(lexical) else 0.0
    if top > 0:
        out += w.lexical * lexical / top
    else:
        out /= max(w.semantic, 1e-6)  # no word matched lexically: similarity alone
    return out


def _percentile(values: FloatArray) -> FloatArray:
    finite = np.isfinite(values)
    out = np.zeros(len(values))
    if finite.any():
        order = np.argsort(np.argsort(np.where(finite, values, -np.inf)))
        out = np.where(finite, order / max(len(values) - 1, 1), 0.0)
    return out


class _TasteRows:
    """Per-row brand and category affinity (0-1) of one person over the snapshot."""

    def __init__(self, snap: CatalogSnapshot, vocab: CatalogVocabulary, tastes: Tastes) -> None:
        by_code = np.zeros(len(vocab.brand_index) + 1)
        for brand, value in tastes.brands.items():
            code = vocab.brand_index.get(brand)
            if code is not None:
                by_code[code] = value
        self.brand = by_code[vocab.brand_codes]  # code -1 reads the last cell, 0
        per_path = np.zeros(len(vocab.paths) + 1)
        for prefix, value in tastes.categories.items():
            hit = vocab.prefixes.get(prefix)
            if hit is not None:  # the best of the path's prefixes, each weighed by depth
                at, weight = hit
                per_path[at] = np.maximum(per_path[at], value * weight)
        self.category = per_path[vocab.path_codes] if len(vocab.path_codes) else np.zeros(0)


class QueryBlend:
    """A query's candidate pool re-ranked by relevance, constraints and the person's tastes."""

    def __init__(
        self,
        snap: CatalogSnapshot,
        vocab: CatalogVocabulary,
        rows: IntArray,
        semantic: FloatArray | None,
        lexical: FloatArray,
        *,
        search_text: str | None,
        soft: Sequence[tuple[Constraint, BoolArray]],
        hard: Sequence[Constraint],
        tastes: Tastes,
        preferences: Sequence[tuple[Constraint, BoolArray]] = (),
        weights: BlendWeights | None = None,
    ) -> None:
        self.snap, self.rows, self.search_text = snap, rows, search_text
        self.w = w = weights or BlendWeights()
        self.relevance = relevance(semantic, lexical, w)
        self.soft, self.hard, self.tastes = soft, hard, tastes
        self.preferences = preferences
        self.taste = _TasteRows(snap, vocab, tastes) if tastes.known else None
        bonus = np.zeros(len(rows))
        self.fits = np.ones(len(rows), dtype=np.bool_)
        for c, hit in soft:
            met = hit[rows]
            if c.operator == "is_not":
                bonus -= w.avoid * met
                self.fits &= ~met
            else:
                bonus += w.constraint * met
                self.fits &= met
        self.bonus = bonus
        self.fits &= self.relevance >= 0.5
        self.pos = {int(r): k for k, r in enumerate(rows.tolist())}

    def personal(self, algo: FloatArray | None) -> FloatArray:
        """The person's part per pool row (0 for an anonymous visitor without a model)."""
        rows, w = self.rows, self.w
        out = np.zeros(len(rows))
        if algo is not None:
            out += w.model * _percentile(algo[rows])
        if self.taste is not None:
            out += w.brand_affinity * self.taste.brand[rows]
            out += w.category_affinity * self.taste.category[rows]
        for c, hit in self.preferences:
            met = hit[rows]
            out += (-1.0 if c.operator == "is_not" else 1.0) * w.preference * met
        return out

    def apply(self, scored: Scored) -> Scored:
        """The pool's blended scores over the snapshot (-inf outside), with shopper reasons."""
        finite = np.isfinite(scored.scores[self.rows])
        algo = scored.scores if finite.any() else None
        personal = self.personal(algo)
        values = self.relevance * (1.0 + np.maximum(personal, -0.9)) + self.bonus
        out = np.full(len(self.snap), -np.inf)
        out[self.rows] = values
        reason = self.reason_for(scored.reason, np.isfinite(scored.scores))
        return Scored(out, reason, scored.uncertainty, candidates=self.rows)

    def reason_for(self, base: Callable[[int], str], scored: BoolArray) -> Callable[[int], str]:
        """Reasons for pool rows; `base` (the recommender's) only for rows it scored."""

        def reason(row: int) -> str:
            met = [c for c, hit in self.soft if c.operator == "is" and hit[row]]
            avoided = [c for c, hit in self.soft if c.operator == "is_not" and not hit[row]]
            liked = [c for c, hit in self.preferences if c.operator == "is" and hit[row]]
            hook = personal_reason(
                self.snap.items[row],
                base(row) if scored[row] else "",
                brand=float(self.taste.brand[row]) if self.taste is not None else 0.0,
                bought=self.tastes.bought_brands,
                liked=liked,
                recent=self.tastes.recent,
            )
            item = self.snap.items[row]
            return query_reason(self.search_text, [*self.hard, *met, *avoided], hook, item)

        return reason

    def fit(self, row: int) -> bool:
        """Whether a pool row meets every constraint of the request (exploration's test)."""
        k = self.pos.get(row)
        return k is not None and bool(self.fits[k])


class PreferenceTilt:
    """Stated preferences re-rank a recommender's own scores (no query): met preferences
    multiply the score, preferences to avoid divide it (scores shifted positive first)."""

    def __init__(
        self,
        preferences: Sequence[tuple[Constraint, BoolArray]],
        tastes: Tastes,
        weights: BlendWeights | None = None,
    ) -> None:
        self.preferences, self.tastes = preferences, tastes
        self.w = weights or BlendWeights()

    def apply(self, scored: Scored) -> Scored:
        scores = scored.scores
        cand = (
            scored.candidates
            if scored.candidates is not None
            else np.flatnonzero(np.isfinite(scores))
        )
        cand = cand[np.isfinite(scores[cand])]
        out = np.full(len(scores), -np.inf)
        if len(cand):
            values = scores[cand]
            low, high = float(values.min()), float(values.max())
            positive = values - low + max(high - low, 1e-6) * 0.05
            factor = np.ones(len(cand))
            for c, hit in self.preferences:
                met = hit[cand]
                if c.operator == "is_not":
                    factor = np.where(met, factor / (1.0 + self.w.avoid), factor)
                else:
                    factor = np.where(met, factor * (1.0 + 2 * self.w.preference), factor)
            out[cand] = positive * factor
        base = scored.reason

        def reason(row: int) -> str:
            liked = [c for c, hit in self.preferences if c.operator == "is" and hit[row]]
            return personal_reason(None, base(row), liked=liked)

        return Scored(out, reason, scored.uncertainty, candidates=cand)

    def fit(self, row: int) -> bool:
        return not any(c.operator == "is_not" and hit[row] for c, hit in self.preferences)
