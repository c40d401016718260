"""Item text embeddings kept in step with the catalog: only new or changed items are embedded."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from p13n.domain.ingest import Item
from p13n.domain.vectors import Embedder, VectorIndex

__all__ = ["item_text", "text_hash", "ItemVectors"]

log = logging.getLogger("p13n.recommend")
_DESCRIPTION_CHARS = 600
_BATCH = 512


def item_text(item: Item) -> str:
    """Name, brand, category path and description: what the item is, in words."""
    parts = [item.name or "", item.brand or "", (item.category or "").replace("/", " > ")]
    description = (item.description or "").strip()
    if description and description.casefold() != "no description yet":
        parts.append(description[:_DESCRIPTION_CHARS])
    return " | ".join(p for p in parts if p)


def text_hash(model: str, text: str) -> str:
    return hashlib.sha1(f"{model}\n{text}".encode(), usedforsecurity=False).hexdigest()[:20]


class ItemVectors:
    """The vector index plus an in-memory copy of every vector (id -> row of `matrix`)."""

    def __init__(self, index: VectorIndex, embedder: Embedder) -> None:
        self.index, self.embedder = index, embedder
        self._hashes: dict[str, str] | None = None
        self._vectors: dict[str, npt.NDArray[np.float32]] | None = None
        self.version = 0  # bumped whenever a vector was added or replaced
        self.last_sync: dict[str, float] = {}
        self._loading = threading.Lock()

    def _load(self) -> dict[str, npt.NDArray[np.float32]]:
        """The in-memory copy, read from the index once. Locked: a server's warm-up thread
        and the first import may both ask at start, and a second read finishing last would
        replace the vectors the import had just added with the index's older content."""
        if self._vectors is None:
            with self._loading:
                if self._vectors is None:
                    ids, matrix = self.index.load()
                    self._hashes = self.index.hashes()
                    self._vectors = {i: matrix[k] for k, i in enumerate(ids)}
        return self._vectors

    def vectors(self) -> dict[str, npt.NDArray[np.float32]]:
        return self._load()

    def sync(
        self, items: Iterable[Item], *, on_progress: Callable[[int], None] | None = None
    ) -> dict[str, float]:
        """Embed the items whose text changed since they were last embedded (or are new).
        Returns counts and the embedding rate."""
        vectors = self._load()
        assert self._hashes is not None
        todo: list[tuple[str, str, str]] = []
        for item in items:
            if item.placeholder:
                continue
            text = item_text(item)
            h = text_hash(self.embedder.name, text)
            if self._hashes.get(item.id) != h or item.id not in vectors:
                todo.append((item.id, text, h))
        started = time.perf_counter()
        embed_s = 0.0
        for start in range(0, len(todo), _BATCH):
            chunk = todo[start : start + _BATCH]
            t = time.perf_counter()
            matrix = self.embedder.embed([t for _, t, _ in chunk])
            embed_s += time.perf_counter() - t
            self.index.upsert([i for i, _, _ in chunk], matrix, [h for _, _, h in chunk])
            for (i, _, h), v in zip(chunk, matrix, strict=True):
                vectors[i] = v
                self._hashes[i] = h
            if on_progress is not None:
                on_progress(len(chunk))
        seconds = time.perf_counter() - started
        if todo:
            self.version += 1
            log.info("embedded %d items in %.1fs", len(todo), seconds)
        self.last_sync = {
            "embedded": len(todo),
            "seconds": round(seconds, 3),
            "embedding_seconds": round(embed_s, 3),
            "items_per_second": round(len(todo) / seconds, 1) if seconds > 0 else 0.0,
        }
        return self.last_sync

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        vector: npt.NDArray[np.float32] = self.embedder.embed([text])[0]
        return vector
