"""The one contract every `VectorIndex` passes (see `p13n/domain/vectors/index.py`).

A test class inherits `VectorIndexContract` and defines `make(tmp_path)`, returning an index of
dimension `DIM` that keeps its data under `tmp_path` when it is persistent (`persistent`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from p13n.domain.vectors import DimensionMismatch, VectorIndex

DIM = 4


def unit(*rows: list[float]) -> np.ndarray:
    m = np.asarray(rows, dtype=np.float32)
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


# b is closest to the query direction [1, 0.2, 0, 0], then a, then c; d is orthogonal to it.
VECTORS = {
    "a": [1.0, 0.0, 0.0, 0.0],
    "b": [1.0, 0.3, 0.0, 0.0],
    "c": [0.5, 1.0, 0.0, 0.0],
    "d": [0.0, 0.0, 1.0, 0.0],
}
QUERY = unit([1.0, 0.2, 0.0, 0.0])[0]


class VectorIndexContract:
    persistent = False

    def make(self, tmp_path: Path) -> VectorIndex:
        raise NotImplementedError

    def filled(self, tmp_path: Path) -> VectorIndex:
        index = self.make(tmp_path)
        ids = ["c", "a", "d", "b"]  # not in order: `load` sorts
        index.upsert(ids, unit(*(VECTORS[i] for i in ids)), [f"h-{i}" for i in ids])
        return index

    def test_an_empty_index_loads_and_queries_nothing(self, tmp_path: Path) -> None:
        index = self.make(tmp_path)
        ids, matrix = index.load()
        assert ids == [] and matrix.shape[0] == 0 and matrix.ndim == 2
        assert index.hashes() == {}
        assert index.query(QUERY, 3) == []

    def test_upserted_vectors_load_sorted_by_id_with_their_hashes(self, tmp_path: Path) -> None:
        index = self.filled(tmp_path)
        ids, matrix = index.load()
        assert ids == ["a", "b", "c", "d"]
        assert matrix.dtype == np.float32 and matrix.shape == (4, DIM)
        assert np.allclose(matrix, unit(*(VECTORS[i] for i in ids)), atol=1e-6)
        assert index.hashes() == {i: f"h-{i}" for i in ids}

    def test_query_returns_the_k_nearest_by_cosine_best_first(self, tmp_path: Path) -> None:
        index = self.filled(tmp_path)
        got = index.query(QUERY, 3)
        assert [i for i, _ in got] == ["b", "a", "c"]
        want = unit(*(VECTORS[i] for i in "bac")) @ QUERY
        assert [s for _, s in got] == pytest.approx(want.tolist(), abs=1e-5)
        assert [i for i, _ in index.query(QUERY, 10)] == ["b", "a", "c", "d"]  # at most all
        assert [i for i, _ in index.query(QUERY, 1)] == ["b"]

    def test_upsert_replaces_the_vector_and_hash_of_an_id(self, tmp_path: Path) -> None:
        index = self.filled(tmp_path)
        index.upsert(["d"], unit([1.0, 0.2, 0.0, 0.0]), ["h-d2"])
        assert index.hashes()["d"] == "h-d2"
        ids, matrix = index.load()
        assert len(ids) == 4 and np.allclose(matrix[ids.index("d")], QUERY, atol=1e-6)
        best, sim = index.query(QUERY, 1)[0]
        assert best == "d" and sim == pytest.approx(1.0, abs=1e-5)

    def test_delete_removes_ids_and_ignores_missing_ones(self, tmp_path: Path) -> None:
        index = self.filled(tmp_path)
        index.delete(["b", "ghost"])
        index.delete([])
        assert index.load()[0] == ["a", "c", "d"]
        assert set(index.hashes()) == {"a", "c", "d"}
        assert [i for i, _ in index.query(QUERY, 2)] == ["a", "c"]

    def test_a_vector_of_another_dimension_is_a_clear_error(self, tmp_path: Path) -> None:
        index = self.filled(tmp_path)
        with pytest.raises(DimensionMismatch, match=f"dimension {DIM}, got 3"):
            index.upsert(["e"], unit([1.0, 0.0, 0.0]), ["h-e"])
        with pytest.raises(DimensionMismatch, match=f"dimension {DIM}, got 5"):
            index.query(unit([1.0, 0.0, 0.0, 0.0, 0.0])[0], 2)
        assert index.load()[0] == ["a", "b", "c", "d"]  # nothing was written

    def test_a_reopened_index_holds_what_was_written(self, tmp_path: Path) -> None:
        if not self.persistent:
            pytest.skip("this index lives in memory only")
        before = self.filled(tmp_path)
        before.delete(["c"])
        ids, matrix = self.make(tmp_path).load()
        assert ids == ["a", "b", "d"]
        assert np.allclose(matrix, before.load()[1], atol=1e-6)
        assert self.make(tmp_path).hashes() == {"a": "h-a", "b": "h-b", "d": "h-d"}
