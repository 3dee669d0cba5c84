"""The embedding model on onnxruntime: an :class:`~curator.embeddings.model.Encoder` without torch.

Runs a directory written by :func:`curator.embeddings.onnx_export.export_onnx`
and reproduces what sentence-transformers does around the transformer: the
fast tokenizer from ``tokenizer.json`` truncating to ``max_seq_length`` (256
word pieces for MiniLM) and padding each batch to its longest text (on the
right), texts sorted by length (longest first) before batching and put back in
order after, mean pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from curator.embeddings.model import ModelUnavailable
from curator.embeddings.onnx_export import (
    EXPORT_COMMAND,
    INT8_FILE,
    MODEL_FILE,
    ONNX_EXTRA,
    module_dir,
    st_modules,
)

DEFAULT_MAX_SEQ_LENGTH = 256


class OnnxEncoder:
    """L2-normalised float32 embeddings from an exported ONNX encoder on the CPU."""

    backend = "onnx"

    def __init__(
        self,
        path: Path,
        batch_size: int = 32,
        threads: int | None = None,
        file_name: str = MODEL_FILE,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        path = Path(path)
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ModelUnavailable(
                f"onnxruntime is needed for the onnx embedding backend: `{ONNX_EXTRA}`"
            ) from err
        model_file = path / file_name
        if not model_file.is_file():
            raise ModelUnavailable(
                f"no exported ONNX model at {model_file}: export one with "
                f"`{EXPORT_COMMAND}{' --int8' if file_name == INT8_FILE else ''}` "
                "(curator.embeddings.onnx_export.export_onnx)"
            )
        if not (path / "tokenizer.json").is_file():
            raise ModelUnavailable(
                f"no tokenizer.json next to {model_file}: re-export the model with `{EXPORT_COMMAND}`"
            )
        from tokenizers import Tokenizer

        st_config = _read_json(path / "sentence_bert_config.json")
        self.max_seq_length: int = int(st_config.get("max_seq_length") or _tokenizer_max_length(path))
        self.lowercase = bool(st_config.get("do_lower_case", False))
        pooling_dir = module_dir(path, st_modules(path), "Pooling")
        pooling = _read_json(pooling_dir / "config.json") if pooling_dir is not None else {}
        if pooling and (
            not pooling.get("pooling_mode_mean_tokens", False)
            or any(pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens"))
        ):
            raise ModelUnavailable(f"only mean-token pooling is supported by the ONNX encoder, not {pooling}")

        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        padding = self.tokenizer.padding or {}
        self.tokenizer.no_truncation()
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer.no_padding()
        self.tokenizer.enable_padding(  # to the longest text of each batch, on the right
            direction="right",
            pad_id=int(padding.get("pad_id", 0)),
            pad_type_id=int(padding.get("pad_type_id", 0)),
            pad_token=str(padding.get("pad_token", "[PAD]")),
        )

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        # Idle intra-op threads would otherwise spin for more work, taking the cores the gRPC
        # handlers and the other checks need between model calls (1-sample requests overloaded).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        output_dim = self.session.get_outputs()[0].shape[-1]
        self.dimension: int = int(
            pooling.get("word_embedding_dimension") or (output_dim if isinstance(output_dim, int) else 0)
        )
        # The int8 model quantizes activations dynamically, with one scale per tensor: a text's
        # embedding then depends on the texts batched with it (cosine 0.976-0.997 to itself alone,
        # measured), so decisions would depend on batching and differ between engines. One text per
        # run keeps it a function of the text; on ~190-token texts that is no slower (77 vs 73 /s).
        self.batch_size = 1 if file_name == INT8_FILE else batch_size
        self.threads = threads
        self.path = path
        self.file_name = file_name
        self._lock = threading.Lock()  # the tokenizer's settings are shared state; keep calls serial

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        texts = [t.lower() for t in texts] if self.lowercase else list(texts)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # longest first, as sentence-transformers
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        with self._lock:
            for start in range(0, len(texts), self.batch_size):
                rows = order[start : start + self.batch_size]
                out[rows] = self._encode_batch([texts[i] for i in rows])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        feed: dict[str, np.ndarray] = {}
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        for name in self.input_names:
            if name == "input_ids":
                feed[name] = ids
            elif name == "attention_mask":
                feed[name] = mask
            elif name == "token_type_ids":
                feed[name] = np.array([e.type_ids for e in encodings], dtype=np.int64)
            else:
                raise ModelUnavailable(f"the ONNX model at {self.path} wants an unknown input {name!r}")
        hidden = np.asarray(self.session.run(None, feed)[0], dtype=np.float32)
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        counts = np.clip(weights.sum(axis=1), 1e-9, None)
        pooled = summed / counts
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled / norms


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _tokenizer_max_length(path: Path) -> int:
    limit = _read_json(path / "tokenizer_config.json").get("model_max_length")
    if isinstance(limit, int) and 0 < limit < 100_000:
        return limit
    return DEFAULT_MAX_SEQ_LENGTH
