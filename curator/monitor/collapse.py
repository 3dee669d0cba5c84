"""The collapse monitor: is what a collection admits getting more alike over time?

Per time window (and per value of a metadata key such as ``generator``), over
the samples admitted in that window:

- ``mean_nn_distance``: mean of 1 - cosine to the nearest sample already kept
  when each was admitted (the semantic check's ``diversity`` score);
- ``cluster_entropy``: entropy of the samples' k-means clusters (``faiss.Kmeans``
  fitted on the whole collection), divided by log k, so 1 = spread evenly;
- ``distinct_3``: distinct word 3-grams across the window over the sum of each
  sample's distinct 3-grams (exact from the near-duplicate sketches while
  samples have at most ``sketch_size`` 3-grams, a bottom-k estimate beyond).

A window (of a group, when grouped) is flagged when a metric falls more than
``max_drop`` (a fraction) below the collection's first window, all groups
together. Windows with fewer than ``min_window_kept`` samples are reported
but never flagged or used as the reference, since their metrics are noisy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import faiss
import numpy as np

if TYPE_CHECKING:
    from curator.state.collection import CollectionState

METRICS = ("mean_nn_distance", "cluster_entropy", "distinct_3")


@dataclass(frozen=True, slots=True)
class DiversityWindow:
    start: datetime
    group: str  # the metadata value when grouped; "" otherwise
    kept: int
    mean_nn_distance: float | None
    cluster_entropy: float | None
    distinct_3: float | None
    collapsed: tuple[str, ...] = ()  # metrics that fell more than max_drop below the first window

    def metric(self, name: str) -> float | None:
        value: float | None = getattr(self, name)
        return value


@dataclass(frozen=True, slots=True)
class MonitorParams:
    clusters: int = 16
    max_drop: float = 0.3
    min_window_kept: int = 5
    kmeans_sample: int = 20_000


def diversity_windows(
    state: CollectionState,
    bucket_seconds: int,
    group_by: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    params: MonitorParams | None = None,
) -> list[DiversityWindow]:
    """Windows in time order (then by group), each with its metrics and collapse flags."""
    params = params or MonitorParams()
    with state.lock:  # a consistent view: rows, vectors and sketches of the same admissions
        at = state.rows.admitted_at.copy()
        diversity = state.rows.diversity.copy()
        groups = [m.get(group_by, "") if group_by else "" for m in state.rows.metadata]
        vectors = _vectors(state)
        sketches = _sketches(state)
    mask = np.isfinite(at)
    if start is not None:
        mask &= at >= start.timestamp()
    if end is not None:
        mask &= at < end.timestamp()
    rows = np.flatnonzero(mask)
    if not len(rows):
        return []
    clustered = _cluster_of(state, vectors, params) if vectors is not None else None
    clusters, k = clustered if clustered is not None else (None, 0)
    bucket = (at[rows] // bucket_seconds).astype(np.int64) * bucket_seconds

    def measure(keys: dict[tuple[int, str], list[int]]) -> list[DiversityWindow]:
        windows = []
        for (b, group), members in sorted(keys.items()):
            idx = np.array(members)
            div = diversity[idx]
            windows.append(
                DiversityWindow(
                    start=datetime.fromtimestamp(b, UTC),
                    group=group,
                    kept=len(idx),
                    mean_nn_distance=float(np.nanmean(div)) if np.isfinite(div).any() else None,
                    cluster_entropy=_entropy(clusters[idx], k) if clusters is not None else None,
                    distinct_3=_distinct_ratio(sketches, idx) if sketches is not None else None,
                )
            )
        return windows

    whole: dict[tuple[int, str], list[int]] = {}
    grouped: dict[tuple[int, str], list[int]] = {}
    for r, b in zip(rows.tolist(), bucket.tolist(), strict=True):
        whole.setdefault((b, ""), []).append(r)
        if group_by:
            grouped.setdefault((b, groups[r]), []).append(r)
    overall = measure(whole)
    # The reference is the collection's first window (all groups together) big enough to judge.
    reference = next((w for w in overall if w.kept >= params.min_window_kept), None)
    return _flag(measure(grouped) if group_by else overall, reference, params)


def _flag(
    windows: list[DiversityWindow], reference: DiversityWindow | None, params: MonitorParams
) -> list[DiversityWindow]:
    if reference is None:
        return windows
    out = []
    for w in windows:
        fallen = tuple(
            m
            for m in METRICS
            if w.kept >= params.min_window_kept
            and (value := w.metric(m)) is not None
            and (base := reference.metric(m)) is not None
            and value < base * (1 - params.max_drop)
        )
        out.append(
            DiversityWindow(
                w.start, w.group, w.kept, w.mean_nn_distance, w.cluster_entropy, w.distinct_3, fallen
            )
        )
    return out


def _vectors(state: CollectionState) -> np.ndarray | None:
    """The kept samples' embeddings (semantic check), row-aligned with state.rows; None when disabled."""
    vectors = state.kept_columns("semantic").get("embedding")
    return None if vectors is None else vectors.copy()


def _sketches(state: CollectionState) -> dict[str, np.ndarray] | None:
    """The kept samples' shingle sketches (near_duplicate check); None when disabled or sketchless."""
    columns = state.kept_columns("near_duplicate")
    if "sketch" not in columns:
        return None
    return {k: v.copy() for k, v in columns.items()}


def _cluster_of(
    state: CollectionState, vectors: np.ndarray, params: MonitorParams
) -> tuple[np.ndarray, int] | None:
    """Cluster of every row and the number of clusters, refitted once the collection grew by a quarter.

    Small collections get fewer clusters: at least 10 points per centroid.
    """
    n = len(vectors)
    k = min(params.clusters, n // 10)
    if k < 2:
        return None
    cached = state.centroids
    if cached is None or n > cached[0] * 1.25 or len(cached[1]) != k:
        rng = np.random.default_rng(0)
        train = vectors[rng.choice(n, min(n, params.kmeans_sample), replace=False)]
        kmeans = faiss.Kmeans(
            vectors.shape[1], k, niter=20, seed=1, spherical=True, min_points_per_centroid=10
        )
        kmeans.train(np.ascontiguousarray(train))
        cached = state.centroids = (n, np.array(kmeans.centroids, dtype=np.float32))
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(cached[1])
    _, assigned = index.search(np.ascontiguousarray(vectors), 1)
    return assigned[:, 0], k


def _entropy(labels: np.ndarray, k: int) -> float:
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum() / np.log(k))


def _distinct_ratio(sketches: dict[str, np.ndarray], rows: np.ndarray) -> float | None:
    sketch, count = sketches["sketch"][rows], sketches["count"][rows].astype(np.int64)
    total = int(count.sum())
    if total == 0:
        return None
    k = sketch.shape[1]
    kept = np.concatenate([s[: min(c, k)] for s, c in zip(sketch, count, strict=True)])
    union = np.unique(kept)
    if (count <= k).all():
        return len(union) / total  # every sample's 3-grams are all in its sketch: exact
    # Bottom-k estimate of the union's size: the k-th smallest of the merged sketches.
    kth = float(union[k - 1]) + 1.0
    return min(1.0, ((k - 1) / (kth / 2**32)) / total)
