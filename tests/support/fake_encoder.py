"""A tiny deterministic stand-in for the embedding model, for tests that need no real semantics.

Bag-of-words hashed into 64 dimensions, L2-normalised: the same words give
the same vector, shared words give high cosine. Tests that are about
embeddings themselves use the real model.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import numpy as np
import xxhash

from curator.checks import default_checks
from curator.checks.base import Check
from curator.checks.decontamination import DecontaminationCheck
from curator.checks.semantic import SemanticCheck
from curator.embeddings.embedder import Embedder
from curator.settings import Settings


class FakeEncoder:
    dimension = 64
    max_seq_length = 256

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate  # when set, encode() waits for it: lets tests hold the "model" loading
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.gate is not None:
            self.gate.wait()
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, xxhash.xxh32_intdigest(word.encode()) % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


def checks_with(encoder: FakeEncoder | None = None, settings: Settings | None = None) -> list[Check]:
    """The default checks, with the embedding ones (semantic, decontamination) on ``encoder`` (a FakeEncoder
    by default)."""
    settings = settings or Settings()
    encoder = encoder or FakeEncoder()
    embedder = Embedder(settings.embeddings, encoder=encoder)
    out: list[Check] = []
    for c in default_checks(settings):
        if isinstance(c, SemanticCheck):
            c = SemanticCheck(embedder)
        elif isinstance(c, DecontaminationCheck):
            c = DecontaminationCheck(embedder)
        out.append(c)
    return out
