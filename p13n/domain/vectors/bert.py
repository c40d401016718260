"""What sentence-transformers' `encode` computes for MiniLM after loading, written once: the
tokenizer call (padding, truncation at `MAX_TOKENS`) and BERT → mean over real tokens → unit
length. The torch and ONNX Runtime query paths both start from `features`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_TOKENS", "Vector", "FastTokenizer", "TorchBert", "features", "torch_forward"]

MAX_TOKENS = 128  # the length the model was trained on (sentence-transformers' max_seq_length)

Vector = npt.NDArray[np.float32]


def features(tokenizer: Any, texts: list[str], tensors: str = "np") -> Any:
    """Token ids, attention mask and token types, padded to the longest text of the call
    (never to `MAX_TOKENS`), as numpy ("np") or torch ("pt") arrays."""
    return tokenizer(
        texts,
        padding=True,
        truncation="longest_first",
        max_length=MAX_TOKENS,
        return_tensors=tensors,
    )


def torch_forward(transformer: Any, batch: Mapping[str, Any]) -> Vector:
    """BERT, mean pooling over the attention mask, unit length, under `torch.inference_mode`
    (numpy or torch inputs)."""
    import torch

    with torch.inference_mode():
        inputs = {k: torch.as_tensor(np.asarray(v)) for k, v in batch.items()}
        hidden = transformer(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        unit = torch.nn.functional.normalize(pooled, p=2, dim=1)
        result: Vector = unit.numpy().astype(np.float32, copy=True)
    return result


class TorchBert:
    """The torch query path (where ONNX Runtime is not installed or its graph disagreed): one
    torch thread for the call, which is faster for a dozen tokens and does not stall when the
    cores are busy; the thread count torch had is restored after."""

    backend = "torch"

    def __init__(self, transformer: Any) -> None:
        import torch

        self.transformer = transformer
        self._threads = torch.get_num_threads()

    def __call__(self, batch: Mapping[str, Any]) -> Vector:
        import torch

        torch.set_num_threads(1)
        try:
            return torch_forward(self.transformer, batch)
        finally:
            torch.set_num_threads(self._threads)


class FastTokenizer:
    """The model's `tokenizer.json` through the `tokenizers` library alone: what transformers'
    `BertTokenizerFast` wraps (same normalizer, word pieces, [CLS]/[SEP]), so a process that
    runs a cached ONNX graph imports neither transformers nor torch (seconds of a server's start).
    Called like the transformers tokenizer by `features`, numpy out only; padding to the longest
    text of the call and truncation at `MAX_TOKENS` are fixed here."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.enable_truncation(max_length=MAX_TOKENS, strategy="longest_first")
        tokenizer.enable_padding(
            pad_id=0, pad_type_id=0, pad_token="[PAD]"
        )  # the tokenizer's padding token, not a password; to the longest  # nosec B106
        self._tokenizer = tokenizer

    def __call__(self, texts: list[str], **options: Any) -> dict[str, npt.NDArray[np.int64]]:
        if options.get("return_tensors", "np") != "np":
            raise ValueError("FastTokenizer returns numpy arrays only")
        encoded = self._tokenizer.encode_batch(texts)
        return {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
