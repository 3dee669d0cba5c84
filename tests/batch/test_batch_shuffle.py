"""The shuffle primitives against brute force: what a partition groups, and the blocked vector search."""

from __future__ import annotations

import numpy as np

from curator.batch.shuffle import merge_pairs, nearest_earlier, run_pairs, signature_band_keys, split
from curator.dedup.lsh import pairs_within


def pairs_by_group(keys: np.ndarray, positions: np.ndarray) -> set[tuple[int, int]]:
    """Brute force: every (i, j), i < j, of distinct positions that share a key."""
    groups: dict[int, set[int]] = {}
    for k, p in zip(keys.tolist(), positions.tolist(), strict=True):
        groups.setdefault(k, set()).add(p)
    return {(i, j) for g in groups.values() for i in g for j in g if i < j}


def shuffled_pairs(keys: np.ndarray, positions: np.ndarray, partitions: int) -> list[tuple[int, int]]:
    """What the engine's shuffle gives: map-side split, reduce-side pairs, driver-side merge."""
    ii, jj = merge_pairs([run_pairs(k, p) for k, p in split(keys, positions, partitions)])
    return list(zip(ii.tolist(), jj.tolist(), strict=True))


def test_a_hash_shuffle_pairs_equal_keys_whatever_the_partitioning() -> None:
    rng = np.random.default_rng(0)
    keys = rng.integers(1, 40, size=500).astype(np.uint64)
    positions = np.arange(500, dtype=np.int64)
    want = sorted(pairs_by_group(keys, positions))
    assert want
    for partitions in (1, 3, 16):
        assert shuffled_pairs(keys, positions, partitions) == want


def test_the_band_shuffle_finds_exactly_the_pairs_that_share_a_band() -> None:
    rng = np.random.default_rng(1)
    signatures = rng.integers(0, 4, size=(120, 12)).astype(np.uint32)  # few values: many shared bands
    bands, rows = 4, 3
    keys = signature_band_keys(signatures, bands, rows)
    positions = np.repeat(np.arange(120, dtype=np.int64), bands)
    got = shuffled_pairs(keys.ravel(), positions, 5)
    ei, ej = pairs_within(signatures, bands, rows)
    assert got == sorted(zip(ei.tolist(), ej.tolist(), strict=True))
    assert len(got) > 0


def test_the_blocked_search_returns_each_querys_k_nearest_earlier_rows() -> None:
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    k = 5
    got: dict[int, set[int]] = {}
    for start in range(0, 300, 64):  # query blocks, key blocks smaller than the job
        ii, jj, _ = nearest_earlier(vectors, start, min(start + 64, 300), k, block=50)
        for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
            assert i < j
            got.setdefault(j, set()).add(i)
    for j in range(1, 300):
        sims = vectors[:j] @ vectors[j]
        want = set(np.argsort(-sims)[:k].tolist())
        assert got[j] == want
    assert 0 not in got  # nothing comes before the first row


def test_run_pairs_gives_every_pair_within_each_run_whatever_the_partitioning() -> None:
    """The vectorised reduce (pairs by distance within a run) against brute force, with positions that
    repeat under a key (one sample's bands colliding)."""
    rng = np.random.default_rng(3)
    for trial in range(30):
        n = int(rng.integers(2, 300))
        keys = rng.integers(1, int(rng.integers(2, 50)), size=n).astype(np.uint64)
        positions = rng.integers(0, 120, size=n).astype(np.int64)
        got = shuffled_pairs(keys, positions, int(rng.integers(1, 6)))
        assert got == sorted(pairs_by_group(keys, positions)), trial
