"""Chroma (embedded, on disk under a temporary folder) passes the vector index contract."""

from __future__ import annotations

from pathlib import Path

from _vector_index_contract import VectorIndexContract

from p13n.domain.vectors import ChromaVectorIndex, VectorIndex


class TestChromaVectorIndex(VectorIndexContract):
    persistent = True

    def make(self, tmp_path: Path) -> VectorIndex:
        return ChromaVectorIndex(tmp_path / "vectors")
