"""One shared, lazily loaded embedder per process: encoder + dynamic batcher."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from curator.embeddings.batcher import DynamicBatcher
from curator.embeddings.model import Encoder, load_encoder

if TYPE_CHECKING:
    from curator.settings import EmbeddingSettings


class Embedder:
    """Loads the model on first use (or :meth:`load` at startup) and batches every caller's texts."""

    _shared: dict[str, Embedder] = {}
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls, settings: EmbeddingSettings) -> Embedder:
        """The process-wide embedder for these settings, so every check batches into the same model calls."""
        key = settings.model_dump_json()
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(settings)
            return cls._shared[key]

    def __init__(self, settings: EmbeddingSettings, encoder: Encoder | None = None) -> None:
        self.settings = settings
        self._encoder = encoder
        self._batcher: DynamicBatcher | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._batcher is not None

    def load(self) -> DynamicBatcher:
        with self._lock:
            if self._batcher is None:
                s = self.settings
                encoder = self._encoder or load_encoder(
                    s.model_path, s.backend, s.batch_size, s.threads, s.int8
                )
                self._batcher = DynamicBatcher(encoder, s.max_batch_size, s.max_wait_ms)
            return self._batcher

    @property
    def dimension(self) -> int:
        return self.load().dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.load().encode(texts)

    def close(self) -> None:
        with self._lock:
            if self._batcher is not None:
                self._batcher.close()
                self._batcher = None


@atexit.register
def _stop_shared_embedders() -> None:
    """Let a model call in flight finish before the interpreter tears down its threads.

    Killing the batcher thread inside torch at exit (e.g. after Ctrl-C) aborts the process.
    """
    for embedder in list(Embedder._shared.values()):
        embedder.close()
