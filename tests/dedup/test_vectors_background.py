"""The switch to HNSW builds the graph in the background: the exact index answers meanwhile, and the graph
takes over with every vector added since its copy was taken."""

from __future__ import annotations

import numpy as np

from curator.dedup.vectors import VectorIndex


def _unit(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_the_graph_is_built_aside_and_takes_over_with_what_came_meanwhile() -> None:
    rng = np.random.default_rng(0)
    index = VectorIndex(16, hnsw_threshold=50)
    first = _unit(rng, 60)
    index.add(first)  # past the threshold: a build starts, the exact index still answers
    sims, rows = index.search(first[:5])
    assert rows.tolist() == [0, 1, 2, 3, 4] and np.allclose(sims, 1.0, atol=1e-5)
    later = _unit(rng, 10)
    index.add(later)  # added while (or after) the graph was built
    index.wait()
    assert index.kind == "hnsw" and len(index) == 70
    sims, rows = index.search(np.concatenate([first[:3], later[-3:]]))
    assert rows.tolist() == [0, 1, 2, 67, 68, 69]
