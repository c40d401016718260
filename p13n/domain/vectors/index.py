"""Item vectors with a content hash each: Chroma on disk, or in memory for unit tests.

Contract (pinned by `tests/_vector_index_contract.py` for every implementation): ids are item
ids; `hashes()` gives the stored content hash per id (to embed only changed items); `load()`
returns every (id, vector) sorted by id, and `([], an empty 0-row matrix)` when empty; `upsert`
replaces by id; `delete` ignores unknown ids; `query` returns at most k (id, cosine similarity)
pairs, best first, and `[]` when empty. Vectors are unit-length float32. One index holds one
dimension: a vector of another raises `DimensionMismatch` (for Chroma, the dimension of the
first vector stored; in memory, the one given at construction).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from p13n.domain.errors import InvalidInput

__all__ = ["VectorIndex", "ChromaVectorIndex", "InMemoryVectorIndex", "DimensionMismatch"]

Matrix = npt.NDArray[np.float32]
_BATCH = 5000


class DimensionMismatch(InvalidInput):
    """A vector's length differs from the index's dimension (another embedding model?)."""

    def __init__(self, expected: int | str, got: int) -> None:
        super().__init__(
            f"the vector index holds vectors of dimension {expected}, got {got}.",
            hint="Embed with the model the index was built with, or rebuild the index "
            "(delete P13N_HOME/vectors and run `p13n train`).",
        )


class VectorIndex(Protocol):
    def hashes(self) -> dict[str, str]: ...

    def upsert(self, ids: list[str], vectors: Matrix, hashes: list[str]) -> None: ...

    def delete(self, ids: list[str]) -> None: ...

    def load(self) -> tuple[list[str], Matrix]: ...

    def query(self, vector: Matrix, k: int) -> list[tuple[str, float]]:
        """The k nearest ids with cosine similarity, best first (approximate for Chroma)."""
        ...


class InMemoryVectorIndex:
    """Exact cosine search over a dict of vectors: for unit tests and benchmarks of pure logic."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.vectors: dict[str, Matrix] = {}
        self._hashes: dict[str, str] = {}

    def hashes(self) -> dict[str, str]:
        return dict(self._hashes)

    def upsert(self, ids: list[str], vectors: Matrix, hashes: list[str]) -> None:
        if len(ids) and np.shape(vectors)[-1] != self.dim:
            raise DimensionMismatch(self.dim, int(np.shape(vectors)[-1]))
        for i, v, h in zip(ids, vectors, hashes, strict=True):
            self.vectors[i] = np.asarray(v, dtype=np.float32)
            self._hashes[i] = h

    def delete(self, ids: list[str]) -> None:
        for i in ids:
            self.vectors.pop(i, None)
            self._hashes.pop(i, None)

    def load(self) -> tuple[list[str], Matrix]:
        ids = sorted(self.vectors)
        if not ids:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        return ids, np.stack([self.vectors[i] for i in ids])

    def query(self, vector: Matrix, k: int) -> list[tuple[str, float]]:
        if np.shape(vector)[-1] != self.dim:
            raise DimensionMismatch(self.dim, int(np.shape(vector)[-1]))
        ids, m = self.load()
        if not ids:
            return []
        norms = np.linalg.norm(m, axis=1) * float(np.linalg.norm(vector))
        sims = (m @ vector) / np.maximum(norms, 1e-12)  # cosine, as Chroma's space
        order = np.argsort(-sims, kind="stable")[:k]
        return [(ids[i], float(sims[i])) for i in order]


class ChromaVectorIndex:
    """An embedded Chroma `PersistentClient` under `path` (or an HTTP client for `url`),
    one collection, our own embeddings (`embedding_function=None`), HNSW with cosine.

    The client opens on first use unless `open_now`: opening costs about a second (the import
    and the client), which a server pays at start-up (`open_now=True`) rather than on its first
    request, and a CLI command that never touches a vector (`p13n stats`) should not pay."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        url: str | None = None,
        name: str = "items",
        open_now: bool = False,
    ) -> None:
        if url is None and path is None:
            raise ValueError("a Chroma index needs a path or a url.")
        self.path, self.url, self.name = path, url, name
        if open_now:
            self.collection  # noqa: B018 - opens the client (a cached property)

    @functools.cached_property
    def collection(self) -> Any:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if self.url:
            host, _, port = self.url.removeprefix("http://").removeprefix("https://").partition(":")
            client: Any = chromadb.HttpClient(host=host, port=int(port or 8000), settings=settings)
        else:
            assert self.path is not None
            self.path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(self.path), settings=settings)
        return client.get_or_create_collection(
            self.name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_construction": 200, "ef_search": 200}},
        )

    def hashes(self) -> dict[str, str]:
        out: dict[str, str] = {}
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=_BATCH, offset=offset)
            for i, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
                out[i] = str((meta or {}).get("hash", ""))
            if len(got["ids"]) < _BATCH:
                return out
            offset += _BATCH

    def upsert(self, ids: list[str], vectors: Matrix, hashes: list[str]) -> None:
        for start in range(0, len(ids), _BATCH):
            end = start + _BATCH
            with _dimension_errors(np.shape(vectors)[-1]):
                self.collection.upsert(
                    ids=ids[start:end],
                    embeddings=np.asarray(vectors[start:end], dtype=np.float32),
                    metadatas=[{"hash": h} for h in hashes[start:end]],
                )

    def delete(self, ids: list[str]) -> None:
        if ids:
            self.collection.delete(ids=ids)

    def load(self) -> tuple[list[str], Matrix]:
        ids: list[str] = []
        chunks: list[Matrix] = []
        offset = 0
        while True:
            got = self.collection.get(include=["embeddings"], limit=_BATCH, offset=offset)
            if len(got["ids"]):
                ids.extend(got["ids"])
                chunks.append(np.asarray(got["embeddings"], dtype=np.float32))
            if len(got["ids"]) < _BATCH:
                break
            offset += _BATCH
        if not ids:
            return [], np.zeros((0, 384), dtype=np.float32)
        matrix = np.concatenate(chunks)
        order = np.argsort(np.asarray(ids, dtype=object))
        return [ids[i] for i in order], matrix[order]

    def query(self, vector: Matrix, k: int) -> list[tuple[str, float]]:
        count = self.collection.count()
        if count == 0:
            return []
        with _dimension_errors(np.shape(vector)[-1]):
            got = self.collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)],
                n_results=min(k, count),
                include=["distances"],
            )
        return [
            (i, 1.0 - float(d)) for i, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]


@contextmanager
def _dimension_errors(got: int) -> Iterator[None]:
    """Chroma's dimension error as ours (the same contract as the in-memory index)."""
    from chromadb.errors import InvalidArgumentError

    try:
        yield
    except InvalidArgumentError as exc:
        if "dimension" not in str(exc):
            raise
        found = re.search(r"dimension of (\d+)", str(exc))
        raise DimensionMismatch(found.group(1) if found else "another", int(got)) from None
