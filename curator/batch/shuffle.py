"""Candidate pairs across the whole job, found the way a cluster can: by shuffles and blocked search.

* Exact duplicates: a hash shuffle. Every sample's digest key goes to partition ``key % P``; a
  partition sorts its keys and every run of equal keys is a group of identical texts.
* Near duplicates: an LSH band shuffle. Every (band, band key) of every signature goes to a
  partition; equal keys within a partition are candidate pairs, which are then verified on the
  samples' sketches (the NEAR_DUPLICATE check's own ``pair_scores``).
* Semantic duplicates: a blocked exact search. Each task takes a block of queries and finds, among
  all earlier samples, each query's ``k`` most similar.

Map steps run per piece, reduce steps per partition; the functions here are plain numpy and know
nothing of Ray (the engine moves their outputs between nodes).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from curator.dedup.lsh import band_keys

_STRIDE = np.int64(2**31)


def split(keys: np.ndarray, positions: np.ndarray, partitions: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The map side of a shuffle: (keys, positions) cut into ``partitions`` by key."""
    part = (keys % np.uint64(partitions)).astype(np.int64)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(partitions + 1))
    return [(keys[order[a:b]], positions[order[a:b]]) for a, b in itertools.pairwise(bounds)]


def digest_keys(digests: np.ndarray) -> np.ndarray:
    """A 64-bit shuffle key per 16-byte digest (its first 8 bytes); the all-zero digest (no text) is
    mapped to 0 and never grouped."""
    return np.ascontiguousarray(digests[:, :8]).view(np.uint64).ravel()


def signature_band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Shape ``(n, bands)``: each band's key mixed with its band number, so one shuffle carries all."""
    keys = band_keys(signatures, bands, rows)
    with np.errstate(over="ignore"):
        return keys ^ (np.arange(bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))


def run_pairs(keys: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The reduce side: every pair (i, j), i < j, of positions that share a key, as unique pair codes
    (``i * 2**31 + j``: one int64 each, cheaper to ship than two arrays; :func:`merge_pairs` decodes).

    Vectorised by distance within a run rather than per group: after sorting, ``t`` and ``t + d``
    pair exactly when their keys are equal, and a ``t`` that fails at ``d`` fails beyond it. So the
    loop runs as many times as the longest run is long, each pass over the survivors only (a job has
    hundreds of thousands of runs, nearly all of two or three)."""
    if len(keys) < 2:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((positions, keys))
    k, p = keys[order], positions[order].astype(np.int64)
    found: list[np.ndarray] = []
    t = np.flatnonzero(k[1:] == k[:-1])
    d = 1
    while len(t):
        i, j = p[t], p[t + d]
        found.append(i[i != j] * _STRIDE + j[i != j])
        d += 1
        t = t[t + d < len(k)]
        t = t[k[t + d] == k[t]]
    return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)


def merge_pairs(parts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pair codes from several partitions as unique (i, j) arrays, in (i, j) order."""
    parts = [c for c in parts if len(c)]
    if not parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    code = np.unique(np.concatenate(parts))
    return code // _STRIDE, code % _STRIDE


def nearest_earlier(
    vectors: np.ndarray, start: int, stop: int, k: int, block: int = 4096
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For queries ``start .. stop``: their ``k`` most similar earlier rows (cosine of unit vectors),
    as arrays (i, j, score) with i < j; fewer than ``k`` when fewer rows come earlier."""
    queries = vectors[start:stop]
    n = stop - start
    best_s = np.full((n, k), -np.inf, dtype=np.float32)
    best_i = np.full((n, k), -1, dtype=np.int64)
    for a in range(0, stop, block):
        b = min(a + block, stop)
        sims = queries @ vectors[a:b].T
        rows = np.arange(a, b)
        sims[rows[None, :] >= np.arange(start, stop)[:, None]] = -np.inf  # only earlier rows
        s = np.concatenate([best_s, sims], axis=1)
        i = np.concatenate([best_i, np.broadcast_to(rows, sims.shape)], axis=1)
        top = np.argpartition(-s, k - 1, axis=1)[:, :k] if s.shape[1] > k else np.arange(s.shape[1])[None]
        best_s = np.take_along_axis(s, np.broadcast_to(top, (n, top.shape[1])), axis=1)
        best_i = np.take_along_axis(i, np.broadcast_to(top, (n, top.shape[1])), axis=1)
    jj = np.repeat(np.arange(start, stop), best_s.shape[1])
    ii, ss = best_i.ravel(), best_s.ravel()
    keep = np.isfinite(ss)
    return ii[keep], jj[keep], np.maximum(ss[keep], 0.0).astype(np.float64)
