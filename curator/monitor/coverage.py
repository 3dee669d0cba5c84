"""How well a collection's kept synthetic samples cover real, human-written data (its reference).

Model collapse first shows as lost coverage of the real distribution's tail, so deduplication is not
enough: a data team needs to see which parts of the real data the synthetic set misses. Everything
here works on unit embeddings (all-MiniLM-L6-v2), with distances ``sqrt(2 - 2 cos)``.

* **precision and recall of distributions** (Kynkäänniemi et al. 2019, "Improved Precision and Recall
  Metric for Assessing Generative Models"): each set's manifold is the union of balls around its
  points, each ball's radius the distance to the point's k-th nearest neighbour in its own set.
  Precision is the share of synthetic samples inside the real manifold (realistic), recall the share
  of real items inside the synthetic manifold (covered).
* **regions**: k-means on the real and synthetic points together; a cluster whose share of the real
  data is much larger than its share of the synthetic set is *missed* ("generate more of this"), the
  reverse *over-filled*; each comes with example texts.
* **reference metrics**: the collapse monitor's metrics measured on the real data, so that the
  synthetic set's can be read against them rather than only against its own first window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import faiss
import numpy as np

from curator.domain.normalize import normalize, words


@dataclass(frozen=True, slots=True)
class Region:
    cluster: int
    real_share: float
    synthetic_share: float
    status: str  # "missed", "over-filled" or "balanced"
    examples: tuple[str, ...]  # real texts for a missed region, synthetic ones otherwise


@dataclass(frozen=True, slots=True)
class MixRow:
    value: str  # the metadata value ("" where the key is missing)
    kept: int
    share: float


@dataclass(frozen=True, slots=True)
class ReferenceWindow:
    """A collapse-monitor window of the kept samples, beside an equally large sample of the reference.

    ``cluster_entropy`` uses the monitor's own clusters (the reference's items assigned to them);
    ``distinct_3`` is measured on the window's texts and on ``kept`` reference items, since the ratio
    falls as a set grows. ``below`` names the metrics under ``1 - max_drop`` times the reference's.
    """

    start: datetime
    kept: int
    window: dict[str, float]
    reference: dict[str, float]
    below: tuple[str, ...] = ()


@dataclass(slots=True)
class CoverageReport:
    collection: str
    reference_items: int
    synthetic_kept: int
    k: int = 5
    precision: float | None = None  # share of synthetic samples inside the real manifold
    recall: float | None = None  # share of real items inside the synthetic manifold
    regions: list[Region] = field(default_factory=list)
    mix_key: str = ""
    mix: list[MixRow] = field(default_factory=list)
    # The collapse monitor's metrics: of the real data, of the kept synthetic samples, and their ratio.
    reference_metrics: dict[str, float] = field(default_factory=dict)
    synthetic_metrics: dict[str, float] = field(default_factory=dict)
    sampled: bool = False  # whether precision/recall ran on a sample of each side
    # The collapse monitor's windows measured against the reference (as well as, in GetStats, against the
    # collection's first window).
    windows: list[ReferenceWindow] = field(default_factory=list)


def kth_radii(points: np.ndarray, k: int, index_of: np.ndarray | None = None) -> np.ndarray:
    """Distance from each point to its k-th nearest neighbour in ``points`` (itself excluded)."""
    n = len(points)
    if n <= k:
        return np.full(n, np.inf, dtype=np.float32)
    index = faiss.IndexFlatIP(points.shape[1])
    index.add(points)
    sims, _ = index.search(points, k + 1)  # the first hit is the point itself
    return np.sqrt(np.maximum(0.0, 2.0 - 2.0 * sims[:, k])).astype(np.float32)


def inside(queries: np.ndarray, points: np.ndarray, radii: np.ndarray, chunk: int = 2_048) -> np.ndarray:
    """Whether each query lies within some point's ball (the manifold of ``points``)."""
    out = np.zeros(len(queries), dtype=bool)
    for a in range(0, len(queries), chunk):
        sims = queries[a : a + chunk] @ points.T
        dist = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * sims))
        out[a : a + chunk] = (dist <= radii[None, :]).any(axis=1)
    return out


def precision_recall(real: np.ndarray, synthetic: np.ndarray, k: int) -> tuple[float | None, float | None]:
    """Kynkäänniemi et al.'s precision and recall of ``synthetic`` against ``real``."""
    if len(real) <= k or len(synthetic) <= k:
        return None, None
    precision = float(inside(synthetic, real, kth_radii(real, k)).mean())
    recall = float(inside(real, synthetic, kth_radii(synthetic, k)).mean())
    return precision, recall


def regions(
    real: np.ndarray,
    synthetic: np.ndarray,
    real_texts: Sequence[str],
    synthetic_texts: Sequence[str],
    clusters: int,
    ratio: float = 2.0,
    examples: int = 3,
    seed: int = 0,
) -> list[Region]:
    """Clusters of the real and synthetic points together, each with its share of either side; missed
    when the real share is ``ratio`` times the synthetic one (or more), over-filled the other way."""
    both = np.ascontiguousarray(np.concatenate([real, synthetic]), dtype=np.float32)
    k = max(1, min(clusters, len(both) // 10))
    if len(real) == 0 or len(synthetic) == 0 or len(both) < 2 * k:
        return []
    kmeans = faiss.Kmeans(
        both.shape[1], k, niter=20, seed=seed, spherical=True, min_points_per_centroid=1, verbose=False
    )
    kmeans.train(both)
    _, labels = kmeans.index.search(both, 1)
    labels = labels.ravel()
    real_labels, synthetic_labels = labels[: len(real)], labels[len(real) :]
    centroids = kmeans.centroids
    assert centroids is not None
    out = []
    for c in range(k):
        r = float((real_labels == c).mean())
        s = float((synthetic_labels == c).mean())
        if r >= ratio * s and r > 0:
            status = "missed"
        elif s >= ratio * r and s > 0:
            status = "over-filled"
        else:
            status = "balanced"
        vectors, texts, members = (
            (real, real_texts, np.flatnonzero(real_labels == c))
            if status == "missed"
            else (synthetic, synthetic_texts, np.flatnonzero(synthetic_labels == c))
        )
        closest = members[np.argsort(-(vectors[members] @ centroids[c]))][:examples]
        out.append(Region(c, r, s, status, tuple(texts[i] for i in closest.tolist())))
    order = {"missed": 0, "over-filled": 1, "balanced": 2}
    out.sort(key=lambda g: (order[g.status], -abs(g.real_share - g.synthetic_share)))  # biggest gap first
    return out


def set_metrics(vectors: np.ndarray, texts: Sequence[str]) -> dict[str, float]:
    """The collapse monitor's mean nearest-neighbour distance (1 - cosine) and distinct word 3-grams,
    over one whole set (the monitor's cluster entropy depends on its own clusters, so it is left out)."""
    out: dict[str, float] = {}
    if len(vectors) > 1:
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        sims, _ = index.search(vectors, 2)
        out["mean_nn_distance"] = float(np.mean(1.0 - sims[:, 1]))
    ratio = distinct_3(texts)
    if ratio is not None:
        out["distinct_3"] = ratio
    return out


def distinct_3(texts: Sequence[str]) -> float | None:
    """Distinct word 3-grams across ``texts`` over the sum of each text's distinct 3-grams."""
    grams: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        tokens = words(normalize(text))
        own = {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}
        grams |= own
        total += len(own)
    return len(grams) / total if total else None


def entropy_of(vectors: np.ndarray, centroids: np.ndarray) -> float | None:
    """Normalised entropy of ``vectors``' nearest-centroid clusters (the collapse monitor's measure)."""
    k = len(centroids)
    if k < 2 or not len(vectors):
        return None
    index = faiss.IndexFlatIP(centroids.shape[1])
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    _, labels = index.search(np.ascontiguousarray(vectors, dtype=np.float32), 1)
    counts = np.bincount(labels[:, 0], minlength=k).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return max(0.0, float(-(p * np.log(p)).sum() / np.log(k)))  # never -0.0


def against_reference(
    windows: Sequence[tuple[datetime, list[str], float | None]],
    centroids: np.ndarray | None,
    reference_vectors: np.ndarray,
    reference_texts: Sequence[str],
    max_drop: float,
    seed: int = 0,
) -> list[ReferenceWindow]:
    """Each window ``(start, its kept texts, its cluster entropy)`` beside the reference."""
    rng = np.random.default_rng(seed)
    whole_entropy = entropy_of(reference_vectors, centroids) if centroids is not None else None
    out = []
    for start, texts, window_entropy in windows:
        rows = rng.choice(len(reference_texts), size=min(len(texts), len(reference_texts)), replace=False)
        window: dict[str, float] = {}
        reference: dict[str, float] = {}
        for name, mine, theirs in (
            ("cluster_entropy", window_entropy, whole_entropy),
            ("distinct_3", distinct_3(texts), distinct_3([reference_texts[i] for i in rows])),
        ):
            if mine is not None and theirs is not None:
                window[name], reference[name] = mine, theirs
        below = tuple(m for m in window if window[m] < reference[m] * (1 - max_drop))
        out.append(ReferenceWindow(start, len(texts), window, reference, below))
    return out


def sample_rows(n: int, limit: int, seed: int = 0) -> np.ndarray:
    """Up to ``limit`` row numbers of ``n``, sorted; all of them when ``n <= limit``."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
