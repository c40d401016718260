"""The one-text path of the real MiniLM embedder gives what sentence-transformers' `encode` gives."""

from __future__ import annotations

import numpy as np
import pytest

from p13n.domain.vectors import MiniLMEmbedder
from p13n.server.bootstrap import shared_embedder


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    return shared_embedder()


TEXTS = [
    "waterproof hiking boots under 150",
    "  Lululemon   leggings, size 6!  ",
    "Ünïcödé café crème brûlée 日本語のテキスト",
    "x",
    "",
    "long description " * 200,  # beyond 128 tokens: truncated the same way
]


def test_a_single_query_vector_matches_encode(embedder: MiniLMEmbedder) -> None:
    model = embedder._load()
    expected = model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    for k, text in enumerate(TEXTS):
        got = embedder._forward([text])[0]
        assert np.allclose(got, expected[k], atol=1e-5), text[:30]
        assert abs(float(np.linalg.norm(got)) - 1.0) < 1e-5


def test_a_few_texts_padded_together_match_encode(embedder: MiniLMEmbedder) -> None:
    model = embedder._load()
    texts = TEXTS[:4]
    expected = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert np.allclose(embedder._forward(texts), expected, atol=1e-5)
    assert np.allclose(embedder.embed(texts), expected, atol=1e-5)


def test_the_query_path_loads_without_sentence_transformers_and_matches_encode(
    embedder: MiniLMEmbedder,
) -> None:
    fresh = MiniLMEmbedder(cache_size=0)  # a server's first query: nothing loaded yet
    got = fresh.embed(TEXTS[:2])
    assert fresh._model is None  # tokenizer and BERT from transformers, no encode machinery
    expected = embedder._load().encode(TEXTS[:2], normalize_embeddings=True)
    assert np.allclose(got, expected, atol=1e-5)


def test_labels_embedded_in_chunks_match_encode(embedder: MiniLMEmbedder) -> None:
    """Category paths go through the query path 64 at a time (padded per chunk): the same
    vectors as `encode`, and sentence-transformers is not loaded for them."""
    labels = [f"Women > Athletic Apparel > Item {k} {'x' * (k % 7)}" for k in range(70)]
    fresh = MiniLMEmbedder(cache_size=0)
    got = fresh.embed(labels)
    assert fresh._model is None
    expected = embedder._load().encode(labels, normalize_embeddings=True)
    assert np.allclose(got, expected, atol=1e-5)
