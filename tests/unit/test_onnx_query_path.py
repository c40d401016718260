"""How the embedder picks its few-texts runtime, and the key its exported ONNX graph is kept
under. The real export and its agreement with `encode` are tested in
tests/integration/test_embedder.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from p13n.domain.vectors import MiniLMEmbedder
from p13n.domain.vectors.onnx_bert import model_key


def _model(folder: Path) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"w" * 100)
    return folder


def test_the_graph_key_is_stable_for_the_same_model_files(tmp_path: Path) -> None:
    model = _model(tmp_path / "m")
    assert model_key(model) == model_key(model)


def test_the_graph_key_changes_when_a_model_file_changes(tmp_path: Path) -> None:
    model = _model(tmp_path / "m")
    before = model_key(model)
    weights = model / "model.safetensors"
    weights.write_bytes(b"v" * 101)
    assert model_key(model) != before
    after = model_key(model)
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert model_key(model) != after


class _Bert:
    pass


def _failing_onnx(*_: Any, **__: Any) -> Any:
    raise RuntimeError("onnxruntime missing")


def test_auto_goes_on_with_torch_when_the_onnx_path_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("p13n.domain.vectors.onnx_bert.load_or_export", _failing_onnx)
    bert = _Bert()
    runner = MiniLMEmbedder(backend="auto")._runner(object(), lambda: bert)
    assert runner.backend == "torch" and runner.transformer is bert


def test_backend_onnx_fails_instead_of_falling_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("p13n.domain.vectors.onnx_bert.load_or_export", _failing_onnx)
    with pytest.raises(RuntimeError, match="onnxruntime missing"):
        MiniLMEmbedder(backend="onnx")._runner(object(), _Bert)


def test_backend_torch_never_tries_onnx(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise AssertionError("the ONNX path was tried")

    monkeypatch.setattr("p13n.domain.vectors.onnx_bert.load_or_export", boom)
    runner = MiniLMEmbedder(backend="torch")._runner(object(), _Bert)
    assert runner.backend == "torch"


def test_the_backend_in_use_is_reported_once_loaded() -> None:
    e = MiniLMEmbedder()
    assert e.query_backend is None
    e._use(object(), type("R", (), {"backend": "onnx"})())
    assert e.query_backend == "onnx"
