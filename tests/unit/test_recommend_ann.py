"""The serving vector index: exact below its threshold, close to exact above, masks respected."""

from __future__ import annotations

import numpy as np

from p13n.domain.recommend.ann import IvfVectors


def _clustered(n: int, dim: int = 32, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 40, dim))
    v = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, dim))
    out: np.ndarray = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    return out


def _exact(m: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray | None = None) -> set[int]:
    sims = m @ q
    if mask is not None:
        sims = np.where(mask, sims, -np.inf)
    return set(np.argsort(-sims)[:k].tolist())


def test_below_the_threshold_the_index_is_exact_search() -> None:
    m = _clustered(800)
    present = np.ones(len(m), dtype=np.bool_)
    present[::7] = False
    index = IvfVectors(m, present, exact_below=1000)
    assert index.cells == 1
    for q in m[:20]:
        rows, sims = index.nearest(q, 10)
        assert set(rows.tolist()) == _exact(m, q, 10, present)
        assert np.all(np.diff(sims) <= 1e-6)  # best first
    assert index.vector_of(0) is None and index.vector_of(1) is not None


def test_above_the_threshold_it_finds_nearly_all_true_neighbours() -> None:
    m = _clustered(6000)
    index = IvfVectors(m, np.ones(len(m), dtype=np.bool_), exact_below=1000, probe=8)
    assert index.cells > 100
    hits = sum(
        len(set(index.nearest(q, 10)[0].tolist()) & _exact(m, q, 10)) for q in m[:100:2] + 0.01
    )
    assert hits / (10 * 50) >= 0.9
    same = IvfVectors(m, np.ones(len(m), dtype=np.bool_), exact_below=1000, probe=8)
    assert np.array_equal(same.centroids, index.centroids)  # seeded: deterministic


def test_a_mask_is_respected_and_widens_the_search_until_k_rows_are_found() -> None:
    m = _clustered(6000)
    index = IvfVectors(m, np.ones(len(m), dtype=np.bool_), exact_below=1000, probe=4)
    for keep in (0.5, 0.01):
        mask = np.random.default_rng(1).random(len(m)) < keep
        rows, _ = index.nearest(m[0], 20, mask)
        assert len(rows) == 20 and mask[rows].all()
    few = np.zeros(len(m), dtype=np.bool_)
    few[[5, 50, 500]] = True
    rows, _ = index.nearest(m[0], 20, few)
    assert set(rows.tolist()) == {5, 50, 500}


def test_similarity_and_combine_read_the_rows_vectors() -> None:
    m = _clustered(300)
    present = np.ones(len(m), dtype=np.bool_)
    present[2] = False
    index = IvfVectors(m, present)
    got = index.similarity(m[0], np.array([0, 1, 2]))
    assert np.allclose(got, [1.0, float(m[1] @ m[0]), 0.0], atol=1e-5)
    total = index.combine(np.array([0, 1, 2]), np.array([1.0, 2.0, 5.0]))
    assert np.allclose(total, m[0] + 2 * m[1], atol=1e-5)
