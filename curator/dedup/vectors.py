"""Nearest-neighbour search over kept samples' embeddings (FAISS, inner product on unit vectors).

Exact (``IndexFlatIP``) while the collection is small; past ``hnsw_threshold``
vectors it switches to HNSW, whose near-copy recall at ``ef_search`` 128 is about 0.994,
so decisions change only where the approximate search misses a neighbour. The HNSW graph is
built on a thread of its own from a copy of the vectors while the exact index keeps serving; it
takes over, with what was added meanwhile, at the next call (a request never waits for the build).
Rows are FAISS's sequential ids, which are also the collection's row numbers.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import faiss
import numpy as np

# Small query batches otherwise take a path 16x slower (faiss issue: BLAS only above 20 queries).
faiss.cvar.distance_compute_blas_threshold = 20


class VectorIndex:
    """The vectors live only inside FAISS (both index kinds store them flat), not in a second copy."""

    def __init__(
        self, dimension: int, hnsw_threshold: int = 20_000, hnsw_m: int = 32, ef_search: int = 128
    ) -> None:
        self.dimension = dimension
        self.hnsw_threshold = hnsw_threshold
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self._index: faiss.Index = faiss.IndexFlatIP(dimension)
        # A graph being built in the background: the thread, where it puts the index, and rows it covers.
        self._building: tuple[threading.Thread, list[faiss.Index], int] | None = None

    @property
    def kind(self) -> str:
        return "hnsw" if isinstance(self._index, faiss.IndexHNSWFlat) else "flat"

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def vectors(self) -> np.ndarray:
        """All stored vectors, row = id: a view into FAISS's memory, valid until the next ``add``.

        Copy it before releasing whatever lock keeps ``add`` away (the collection lock).
        """
        n = len(self)
        if not n:
            return np.zeros((0, self.dimension), dtype=np.float32)
        index: Any = self._index  # the SWIG types are not in faiss's stubs
        storage: Any = index if self.kind == "flat" else faiss.downcast_index(index.storage)
        return faiss.rev_swig_ptr(storage.get_xb(), n * self.dimension).reshape(n, self.dimension)

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._take_graph()
        self._index.add(vectors)
        if self.kind == "flat" and len(self) > self.hnsw_threshold and self._building is None:
            self._build_graph()

    def _build_graph(self) -> None:
        """Start building the HNSW graph over a copy of the vectors, on its own thread."""
        snapshot = self.vectors.copy()
        built: list[faiss.Index] = []

        def build() -> None:
            index = faiss.IndexHNSWFlat(self.dimension, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = self.ef_search
            index.add(snapshot)
            built.append(index)

        thread = threading.Thread(target=build, name="hnsw-build", daemon=True)
        self._building = (thread, built, len(snapshot))
        thread.start()

    def _take_graph(self, wait: bool = False) -> None:
        """Swap the finished graph in, with the vectors added since its copy was taken."""
        if self._building is None:
            return
        thread, built, covered = self._building
        if wait:
            thread.join()
        if thread.is_alive():
            return
        self._building = None
        if not built:  # the build failed: build again later
            return
        index = built[0]
        if len(self) > covered:
            index.add(np.ascontiguousarray(self.vectors[covered:]))
        self._index = index

    def wait(self) -> None:
        """Wait for a graph being built and take it over (before saving it, and in tests)."""
        self._take_graph(wait=True)

    def save(self, path: Path) -> bool:
        """Write the HNSW graph (FAISS's own format, not pickle); nothing for a flat index."""
        self.wait()
        if self.kind != "hnsw":
            return False
        faiss.write_index(self._index, str(path))
        return True

    def load(self, path: Path, vectors: np.ndarray) -> bool:
        """Restore an empty index from a graph saved over exactly ``vectors``; False if unusable."""
        if len(self) or not path.is_file():
            return False
        index = faiss.read_index(str(path))
        if (
            index.ntotal != len(vectors)
            or index.d != self.dimension
            or not isinstance(index, faiss.IndexHNSWFlat)
        ):
            return False
        index.hnsw.efSearch = self.ef_search
        self._index = index
        return True

    def search(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best (similarity, row) per query; row -1 when the index is empty."""
        self._take_graph()
        if not len(self) or not len(queries):
            return np.zeros(len(queries), dtype=np.float32), np.full(len(queries), -1, dtype=np.int64)
        sims, rows = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), 1)
        return sims[:, 0], rows[:, 0]
