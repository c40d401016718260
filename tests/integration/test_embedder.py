"""The few-texts paths of the real MiniLM embedder give what sentence-transformers' `encode`
gives: the torch path to float rounding, the ONNX Runtime path to cosine ≥ 0.999 on catalog
texts and queries (the item vectors in an index are `encode`'s: nothing needs re-embedding)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from p13n.domain.recommend import item_text
from p13n.domain.vectors import MiniLMEmbedder
from p13n.domain.vectors.bert import FastTokenizer, features
from p13n.seed.mercari import load_mercari
from p13n.server.bootstrap import shared_embedder

TEXTS = [
    "waterproof hiking boots under 150",
    "  Lululemon   leggings, size 6!  ",
    "Ünïcödé café crème brûlée 日本語のテキスト",
    "x",
    "",
    "long description " * 200,  # beyond 128 tokens: truncated the same way
]
QUERIES = [
    "nintendo switch games",
    "baby girl summer dresses under 20",
    "michael kors handbag between 50 and 120",
    "gaming headset for ps4",
    "winter coat over 40 gift 17",
]


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    return shared_embedder()


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="session")
def onnx(onnx_cache: Path) -> MiniLMEmbedder:
    return MiniLMEmbedder(cache_size=0, backend="onnx", onnx_cache=onnx_cache)


@pytest.fixture(scope="session")
def catalog_texts() -> list[str]:
    return [item_text(i) for i in load_mercari(120)]


def _encode(embedder: MiniLMEmbedder, texts: list[str]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = embedder._load().encode(
        texts, normalize_embeddings=True, convert_to_numpy=True
    )
    return out


def test_a_single_query_vector_from_torch_matches_encode() -> None:
    torch_path = MiniLMEmbedder(cache_size=0, backend="torch")
    expected = _encode(torch_path, TEXTS)
    for k, text in enumerate(TEXTS):
        got = torch_path._forward([text])[0]
        assert np.allclose(got, expected[k], atol=1e-5), text[:30]
        assert abs(float(np.linalg.norm(got)) - 1.0) < 1e-5
    assert torch_path.query_backend == "torch"


def test_a_few_texts_padded_together_match_encode(embedder: MiniLMEmbedder) -> None:
    texts = TEXTS[:4]
    expected = _encode(embedder, texts)
    assert np.allclose(embedder._forward(texts), expected, atol=1e-4)
    assert np.allclose(embedder.embed(texts), expected, atol=1e-4)


def test_onnx_query_vectors_agree_with_encode_on_catalog_texts_and_queries(
    onnx: MiniLMEmbedder, embedder: MiniLMEmbedder, catalog_texts: list[str]
) -> None:
    texts = catalog_texts + QUERIES + TEXTS
    expected = _encode(embedder, texts)
    one_by_one = np.concatenate([onnx._forward([t]) for t in texts])
    assert onnx.query_backend == "onnx"
    cosines = np.sum(one_by_one * expected, axis=1)
    assert float(cosines.min()) >= 0.999, texts[int(np.argmin(cosines))][:40]
    assert np.allclose(np.linalg.norm(one_by_one, axis=1), 1.0, atol=1e-5)
    # the same top items as the item vectors rank for each query
    items = expected[: len(catalog_texts)]
    for q, want in zip(
        one_by_one[len(catalog_texts) :], expected[len(catalog_texts) :], strict=True
    ):
        assert np.argsort(-(items @ q))[:5].tolist() == np.argsort(-(items @ want))[:5].tolist()


def test_a_second_process_loads_the_cached_graph_without_bert_in_torch(
    onnx: MiniLMEmbedder, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = onnx.embed(QUERIES[:1])
    assert len(list(onnx_cache.glob("minilm-*.onnx"))) == 1

    def no_bert() -> None:
        raise AssertionError("BERT was loaded into torch although the graph was cached")

    monkeypatch.setattr("p13n.domain.vectors.embedder._load_bert", no_bert)
    again = MiniLMEmbedder(cache_size=0, backend="onnx", onnx_cache=onnx_cache)
    assert np.allclose(again.embed(QUERIES[:1]), first, atol=1e-6)
    assert again._model is None
    assert isinstance(again._tokenizer, FastTokenizer)


def test_the_tokenizer_file_alone_gives_the_transformers_tokenizers_features(
    embedder: MiniLMEmbedder, catalog_texts: list[str]
) -> None:
    slow = embedder._load().tokenizer
    fast = FastTokenizer(Path(slow.name_or_path) / "tokenizer.json")
    for texts in [[t] for t in TEXTS + QUERIES] + [TEXTS, catalog_texts[:40]]:
        want, got = features(slow, texts), features(fast, texts)
        for name in ("input_ids", "attention_mask", "token_type_ids"):
            assert np.array_equal(np.asarray(want[name]), got[name]), (name, texts[0][:30])


def test_a_process_with_a_cached_graph_embeds_a_query_without_importing_torch(
    onnx: MiniLMEmbedder, onnx_cache: Path
) -> None:
    expected = onnx.embed(QUERIES[:1])[0]
    script = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from p13n.domain.vectors import MiniLMEmbedder\n"
        f"e = MiniLMEmbedder(backend='onnx', onnx_cache=Path({str(onnx_cache)!r}))\n"
        f"v = e.embed([{QUERIES[0]!r}])[0]\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
        "print(' '.join(repr(float(x)) for x in v))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    ).stdout.splitlines()
    assert out[0] == "[]"
    assert np.allclose(np.array([float(x) for x in out[1].split()]), expected, atol=1e-6)


def test_a_damaged_cached_graph_is_exported_again(onnx: MiniLMEmbedder, tmp_path: Path) -> None:
    onnx.embed(["warm"])
    (tmp_path / next(Path(onnx.onnx_cache or ".").glob("minilm-*.onnx")).name).write_bytes(
        b"not a graph"
    )
    fresh = MiniLMEmbedder(cache_size=0, backend="onnx", onnx_cache=tmp_path)
    assert np.allclose(fresh.embed(QUERIES[:2]), onnx.embed(QUERIES[:2]), atol=1e-6)
    assert len((tmp_path / next(tmp_path.glob("minilm-*.onnx")).name).read_bytes()) > 1_000_000


def test_the_query_path_loads_without_sentence_transformers_and_matches_encode(
    embedder: MiniLMEmbedder, onnx_cache: Path
) -> None:
    fresh = MiniLMEmbedder(cache_size=0, onnx_cache=onnx_cache)  # a server's first query
    got = fresh.embed(TEXTS[:2])
    assert fresh._model is None  # no encode machinery
    assert np.allclose(got, _encode(embedder, TEXTS[:2]), atol=1e-4)


def test_labels_embedded_in_chunks_match_encode(embedder: MiniLMEmbedder, onnx_cache: Path) -> None:
    """Category paths go through the query path 64 at a time (padded per chunk): the same
    vectors as `encode`, and sentence-transformers is not loaded for them."""
    labels = [f"Women > Athletic Apparel > Item {k} {'x' * (k % 7)}" for k in range(70)]
    fresh = MiniLMEmbedder(cache_size=0, onnx_cache=onnx_cache)
    got = fresh.embed(labels)
    assert fresh._model is None
    assert np.allclose(got, _encode(embedder, labels), atol=1e-4)
