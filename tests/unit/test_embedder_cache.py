"""The query-vector cache of the embedder: exact-text hits, LRU bound, callers cannot corrupt it.

The model is replaced by a deterministic stand-in here (the cache is what is tested); that the
one-text path computes what sentence-transformers' `encode` computes is tested with the real
model in tests/integration/test_embedder.py."""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from p13n.domain.vectors import MiniLMEmbedder


class _Counted(MiniLMEmbedder):
    def __init__(self, cache_size: int) -> None:
        super().__init__(cache_size=cache_size)
        self.computed: list[str] = []

    def _forward(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.computed += texts
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for k, text in enumerate(texts):
            out[k, len(text) % self.dim] = 1.0
        return out


def test_a_repeated_query_is_answered_from_the_cache() -> None:
    e = _Counted(cache_size=8)
    first = e.embed(["hiking boots"])
    again = e.embed(["hiking boots"])
    assert np.array_equal(first, again)
    assert e.computed == ["hiking boots"]
    assert e.cache_info() == {"hits": 1, "misses": 1, "entries": 1}


def test_only_the_texts_not_cached_are_computed_and_order_is_kept() -> None:
    e = _Counted(cache_size=8)
    e.embed(["a"])
    out = e.embed(["bb", "a", "ccc"])
    assert e.computed == ["a", "bb", "ccc"]
    assert [int(np.argmax(r)) for r in out] == [2, 1, 3]


def test_the_cache_keeps_only_the_most_recently_used_texts() -> None:
    e = _Counted(cache_size=2)
    e.embed(["a"])
    e.embed(["bb"])
    e.embed(["a"])  # a is now the most recently used
    e.embed(["ccc"])  # evicts bb
    e.embed(["a"])
    e.embed(["bb"])
    assert e.computed == ["a", "bb", "ccc", "bb"]
    assert e.cache_info()["entries"] == 2


def test_changing_a_returned_vector_does_not_change_the_cached_one() -> None:
    e = _Counted(cache_size=8)
    out = e.embed(["boots"])
    out[0, :] = 7.0
    assert float(e.embed(["boots"]).max()) == 1.0


def test_a_zero_size_cache_computes_every_time() -> None:
    e = _Counted(cache_size=0)
    e.embed(["x"])
    e.embed(["x"])
    assert e.computed == ["x", "x"] and e.cache_info()["entries"] == 0


def test_batches_bypass_the_query_path() -> None:
    class Batch(_Counted):
        def _load(self) -> object:
            class Model:
                def encode(self, texts: list[str], **_: object) -> npt.NDArray[np.float32]:
                    return np.ones((len(texts), 384), dtype=np.float32)

            return Model()

    e = Batch(cache_size=8)
    texts = [f"item {k} " + "with a long description " * 6 for k in range(10)]
    out = e.embed(texts)
    assert out.shape == (10, 384) and e.computed == [] and e.cache_info()["entries"] == 0


def test_short_labels_take_the_query_path_in_chunks_and_are_not_cached() -> None:
    """Category paths at warm-up: no sentence-transformers import for them."""

    class NoBatch(_Counted):
        def _load(self) -> object:
            raise AssertionError("sentence-transformers was loaded for labels")

    e = NoBatch(cache_size=8)
    labels = [f"Women > Tops {k}" for k in range(100)]
    out = e.embed(labels)
    assert out.shape == (100, 384) and e.computed == labels
    assert e.cache_info()["entries"] == 0


def test_a_load_in_another_thread_shows_as_loading_until_it_is_done() -> None:
    """A server loads the model in the background; queries meanwhile read `loading` and go
    without it instead of waiting for the lock."""
    started, release = threading.Event(), threading.Event()

    class Slow(MiniLMEmbedder):
        def _load_transformer(self) -> None:
            started.set()
            release.wait(5)
            self._tokenizer, self._transformer = object(), object()

    e = Slow()
    assert not e.loading
    loader = threading.Thread(target=e._load_parts)
    loader.start()
    assert started.wait(5)
    assert e.loading
    release.set()
    loader.join(5)
    assert not e.loading
