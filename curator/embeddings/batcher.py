"""Dynamic batching: concurrent requests share one model call.

The model's throughput grows with batch size while a single request may carry
a handful of samples. Every caller hands its texts to one worker thread, which
waits at most ``max_wait_ms`` for more work, up to ``max_batch_size`` texts,
encodes them in one call, and hands each caller its rows.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from curator.embeddings.model import Encoder
from curator.observability import metrics


@dataclass(slots=True)
class _Job:
    texts: Sequence[str]
    future: Future[np.ndarray] = field(default_factory=Future)


class DynamicBatcher:
    def __init__(self, encoder: Encoder, max_batch_size: int = 64, max_wait_ms: float = 5.0) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        if max_wait_ms < 0:
            raise ValueError("max_wait_ms must be >= 0")
        self.encoder = encoder
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="curator-embedder", daemon=True)
        self._thread.start()
        self.calls = 0  # model calls and texts encoded, for metrics and tests
        self.texts = 0
        self.largest_batch = 0

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts``, computed together with whatever else is waiting."""
        if not texts:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        job = _Job(list(texts))
        self._queue.put(job)
        return job.future.result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            size = len(job.texts)
            deadline = time.monotonic() + self.max_wait
            while size < self.max_batch_size:
                remaining = deadline - time.monotonic()
                try:
                    more = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                jobs.append(more)
                size += len(more.texts)
            self._encode(jobs)

    def _encode(self, jobs: list[_Job]) -> None:
        texts = [t for j in jobs for t in j.texts]
        started = time.perf_counter()
        try:
            vectors = self.encoder.encode(texts)
        except BaseException as err:  # every waiting caller must hear about it
            for j in jobs:
                j.future.set_exception(err)
            return
        metrics.observe_embedding_call(len(texts), time.perf_counter() - started)
        self.calls += 1
        self.texts += len(texts)
        self.largest_batch = max(self.largest_batch, len(texts))
        start = 0
        for j in jobs:
            j.future.set_result(vectors[start : start + len(j.texts)])
            start += len(j.texts)
