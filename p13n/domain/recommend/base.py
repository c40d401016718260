"""The one interface every recommender algorithm implements, and what a request gives it.

An algorithm scores the whole catalog snapshot (a dense float array, `-inf` = not a
candidate) and explains any row it scored. Candidate merging, filters, switches, diversity,
boosters, top-N and fallback live once, outside the algorithms (`ranking.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from p13n.domain.recommend.snapshot import CatalogSnapshot, FloatArray, IntArray

__all__ = [
    "History",
    "ScoreRequest",
    "Scored",
    "Algorithm",
    "VectorLookup",
    "ExactVectors",
    "empty_scores",
]

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class History:
    """The visitor's history as snapshot rows, newest first.

    `engaged` rows carry (row, ts, interaction); `known` holds rows the trained model already
    saw for this visitor (not time-stamped)."""

    viewed: Sequence[tuple[int, float]] = ()
    purchased: Sequence[int] = ()
    cart: Sequence[int] = ()
    engaged: Sequence[tuple[int, float, str]] = ()
    known: Sequence[int] = ()

    def sources(self) -> dict[str, list[int]]:
        return {
            "viewed": [r for r, _ in self.viewed],
            "purchased": list(self.purchased),
            "cart": list(self.cart),
            "engaged": [r for r, _, _ in self.engaged] + list(self.known),
        }

    def seen(self) -> set[int]:
        rows = {r for r, _ in self.viewed} | set(self.purchased) | set(self.cart)
        return rows | {r for r, _, _ in self.engaged} | set(self.known)


class VectorLookup(Protocol):
    """Item vectors aligned with the snapshot rows (unit length)."""

    def vector_of(self, row: int) -> Vector | None: ...

    def nearest(
        self, vector: Vector, k: int, mask: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray]:
        """The k rows most similar to `vector` (cosine), best first, with their similarity;
        only rows where `mask` is true when a mask is given."""
        ...

    def similarity(self, vector: Vector, rows: IntArray) -> FloatArray: ...

    def combine(self, rows: IntArray, weights: FloatArray) -> Vector:
        """The weighted sum of the rows' vectors (rows without one are skipped; zeros if none)."""
        ...


class ExactVectors:
    """Exact numpy search over a row-aligned matrix; rows without a vector hold zeros."""

    def __init__(self, matrix: Vector, present: npt.NDArray[np.bool_]) -> None:
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.present = present

    def vector_of(self, row: int) -> Vector | None:
        return self.matrix[row] if 0 <= row < len(self.present) and self.present[row] else None

    def nearest(
        self, vector: Vector, k: int, mask: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray]:
        sims = self.matrix @ vector.astype(np.float32)
        allowed = self.present if mask is None else self.present & mask
        sims[~allowed] = -np.inf
        k = min(k, int(allowed.sum()))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0)
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return top.astype(np.int64), sims[top].astype(np.float64)

    def similarity(self, vector: Vector, rows: IntArray) -> FloatArray:
        return (self.matrix[rows] @ vector.astype(np.float32)).astype(np.float64)

    def combine(self, rows: IntArray, weights: FloatArray) -> Vector:
        have = self.present[rows]
        out: Vector = (weights[have].astype(np.float32) @ self.matrix[rows[have]]).astype(
            np.float32
        )
        return out


@dataclass
class ScoreRequest:
    snapshot: CatalogSnapshot
    now: float
    history: History = field(default_factory=History)
    anchor_row: int | None = None
    query: str | None = None
    query_vector: Vector | None = None
    vectors: VectorLookup | None = None
    individual: str | None = None


class Scored:
    """Scores over the snapshot (`-inf`: not a candidate) and a true reason per row.

    Optional shortcuts for large catalogs, which must agree with `scores`: `candidates` holds
    every row with a finite score (any order), `order` every such row best first (ties: lower
    row first). Top-N then reads them instead of scanning the whole snapshot.

    `Scored.sparse` keeps only the candidates and their values: the dense array over the whole
    catalog is made only if something asks for `scores` (a re-rank, a dense algorithm), so a
    request scored by a co-occurrence row costs its few hundred candidates, not the catalog.
    `at(rows)` reads values either way."""

    __slots__ = ("_scores", "reason", "uncertainty", "candidates", "order", "_size", "_values")

    def __init__(
        self,
        scores: FloatArray,
        reason: Callable[[int], str],
        uncertainty: FloatArray | None = None,
        candidates: IntArray | None = None,
        order: IntArray | None = None,
    ) -> None:
        self._scores: FloatArray | None = scores
        self.reason = reason
        self.uncertainty = uncertainty
        self.candidates = candidates
        self.order = order
        self._size = len(scores)
        self._values: FloatArray | None = None

    @classmethod
    def sparse(
        cls,
        size: int,
        rows: IntArray,
        values: FloatArray,
        reason: Callable[[int], str],
    ) -> Scored:
        """Finite `values` at the distinct `rows` (sorted ascending), -inf elsewhere."""
        out = cls.__new__(cls)
        out._scores, out.reason, out.uncertainty, out.order = None, reason, None, None
        out.candidates, out._values, out._size = rows, values, size
        return out

    @property
    def scores(self) -> FloatArray:
        if self._scores is None:
            dense = empty_scores(self._size)
            assert self.candidates is not None and self._values is not None
            dense[self.candidates] = self._values
            self._scores = dense
        return self._scores

    @scores.setter
    def scores(self, value: FloatArray) -> None:
        self._scores, self._values, self._size = value, None, len(value)

    def candidate_values(self) -> FloatArray:
        """The scores of `candidates`, in their order (set `candidates` first)."""
        assert self.candidates is not None
        if self._values is not None and self._scores is None:
            return self._values
        out: FloatArray = self.scores[self.candidates]
        return out

    def at(self, rows: IntArray) -> FloatArray:
        """The scores of `rows` (-inf where a row is not a candidate)."""
        if self._scores is not None:
            out: FloatArray = self._scores[rows]
            return out
        assert self.candidates is not None and self._values is not None
        cand, values = self.candidates, self._values
        if not len(cand):
            return np.full(len(rows), -np.inf)
        pos = np.minimum(np.searchsorted(cand, rows), len(cand) - 1)
        hit = cand[pos] == rows
        return np.where(hit, values[pos], -np.inf)


@runtime_checkable
class Algorithm(Protocol):
    def train(self, snapshot: CatalogSnapshot, data: object) -> None:
        """Fit on training data (rule-based recipes need none); raises on failure."""
        ...

    def is_trained(self) -> bool: ...

    def score(self, request: ScoreRequest) -> Scored: ...


def empty_scores(n: int) -> FloatArray:
    return np.full(n, -np.inf)
