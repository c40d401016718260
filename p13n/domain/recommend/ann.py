"""Approximate nearest neighbours over the row-aligned item vectors: an inverted file (IVF).

Vectors are grouped into cells by spherical k-means (seeded, so the index is deterministic) and
stored contiguously cell by cell; a query scores the cell centroids, then scans only the
`probe` nearest cells (widening while a mask leaves fewer than k rows). Below `exact_below`
vectors there is one cell, which is exact search. At 100,000 MiniLM vectors a query scans about
4% of them (see `bench/serving.py` for latency and recall against exact search).

Chroma keeps the vectors on disk and answers ad-hoc queries; this in-memory index serves
requests, where a Chroma round trip would cost more than the whole latency budget.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from p13n.domain.recommend.snapshot import FloatArray, IntArray

__all__ = ["IvfVectors"]

Vector = npt.NDArray[np.float32]
_KMEANS_ITERATIONS = 8
_SAMPLE_PER_CELL = 40


class IvfVectors:
    """The `VectorLookup` of serving: exact below `exact_below` vectors, IVF above."""

    def __init__(
        self,
        matrix: Vector,
        present: npt.NDArray[np.bool_],
        *,
        seed: int = 0,
        exact_below: int = 20_000,
        probe: int = 24,
    ) -> None:
        rows = np.flatnonzero(present).astype(np.int64)
        self.n_rows = len(present)
        self.present = present.copy()
        vectors = np.ascontiguousarray(matrix[rows], dtype=np.float32)
        n = len(rows)
        cells = 1 if n < exact_below else max(2, int(round(2 * math.sqrt(n))))
        if cells == 1:
            assign = np.zeros(n, dtype=np.int64)
            self.centroids = np.zeros((1, matrix.shape[1]), dtype=np.float32)
        else:
            self.centroids = _spherical_kmeans(vectors, cells, np.random.default_rng(seed))
            assign = _assign(vectors, self.centroids)
        order = np.argsort(assign, kind="stable")
        self.rows = rows[order]  # position -> snapshot row
        self.data = vectors[order]
        self.starts = np.searchsorted(assign[order], np.arange(cells + 1)).astype(np.int64)
        self.position = np.full(self.n_rows, -1, dtype=np.int64)  # snapshot row -> position
        self.position[self.rows] = np.arange(n)
        self.cells = cells
        self.probe = min(probe, cells)

    def __len__(self) -> int:
        return len(self.rows)

    def vector_of(self, row: int) -> Vector | None:
        if 0 <= row < self.n_rows and self.position[row] >= 0:
            out: Vector = self.data[self.position[row]]
            return out
        return None

    def similarity(self, vector: Vector, rows: IntArray) -> FloatArray:
        """Cosine of `vector` with each row's vector (0 for rows without one)."""
        pos = self.position[rows]
        out = np.zeros(len(rows))
        have = pos >= 0
        out[have] = self.data[pos[have]] @ vector.astype(np.float32)
        return out

    def combine(self, rows: IntArray, weights: FloatArray) -> Vector:
        """The weighted sum of the rows' vectors (rows without one are skipped)."""
        pos = self.position[rows]
        have = pos >= 0
        out: Vector = (weights[have].astype(np.float32) @ self.data[pos[have]]).astype(np.float32)
        return out

    def nearest(
        self, vector: Vector, k: int, mask: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray]:
        """The k rows most similar to `vector`, best first (approximate above one cell)."""
        v = vector.astype(np.float32)
        if k <= 0 or len(self.rows) == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        if self.cells == 1:
            return _top(self.rows, self.data @ v, k, mask)
        if mask is not None:
            allowed = np.flatnonzero(mask & self.present)
            if len(allowed) <= self.probe * len(self.rows) // self.cells:
                return _top(allowed, self.data[self.position[allowed]] @ v, k, None)
        order = np.argsort(-(self.centroids @ v))
        probe = self.probe
        while True:
            chosen = order[:probe]
            parts = [(self.starts[c], self.starts[c + 1]) for c in chosen.tolist()]
            sims = np.concatenate([self.data[a:b] @ v for a, b in parts])
            rows = np.concatenate([self.rows[a:b] for a, b in parts])
            enough = len(rows) >= k if mask is None else int(mask[rows].sum()) >= k
            if enough or probe >= self.cells:
                return _top(rows, sims, k, mask)
            probe = min(self.cells, probe * 4)


def _top(
    rows: IntArray, sims: npt.NDArray[np.float32], k: int, mask: npt.NDArray[np.bool_] | None
) -> tuple[IntArray, FloatArray]:
    if mask is not None:
        keep = mask[rows]
        rows, sims = rows[keep], sims[keep]
    k = min(k, len(rows))
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    top = np.argpartition(-sims, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
    top = top[np.lexsort((rows[top], -sims[top]))]  # ties: lower row first
    return rows[top].astype(np.int64), sims[top].astype(np.float64)


def _assign(vectors: Vector, centroids: Vector) -> IntArray:
    out = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), 8192):
        out[start : start + 8192] = np.argmax(vectors[start : start + 8192] @ centroids.T, axis=1)
    return out


def _spherical_kmeans(vectors: Vector, cells: int, rng: np.random.Generator) -> Vector:
    """Unit centroids fitted on a sample; an empty cell keeps its previous centroid."""
    n = len(vectors)
    sample = vectors[np.sort(rng.choice(n, min(n, cells * _SAMPLE_PER_CELL), replace=False))]
    centroids = sample[np.sort(rng.choice(len(sample), cells, replace=False))].copy()
    for _ in range(_KMEANS_ITERATIONS):
        assign = _assign(sample, centroids)
        order = np.argsort(assign, kind="stable")
        counts = np.bincount(assign, minlength=cells)
        sums = np.zeros_like(centroids)
        nonempty = np.flatnonzero(counts)
        starts = np.concatenate([[0], np.cumsum(counts)])[nonempty]
        sums[nonempty] = np.add.reduceat(sample[order], starts, axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        ok = norms[:, 0] > 0
        centroids[ok] = sums[ok] / norms[ok]
    out: Vector = centroids.astype(np.float32)
    return out
