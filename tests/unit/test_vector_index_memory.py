"""The in-memory vector index passes the vector index contract."""

from __future__ import annotations

from pathlib import Path

from _vector_index_contract import DIM, VectorIndexContract

from p13n.domain.vectors import InMemoryVectorIndex, VectorIndex


class TestInMemoryVectorIndex(VectorIndexContract):
    def make(self, tmp_path: Path) -> VectorIndex:
        return InMemoryVectorIndex(DIM)
