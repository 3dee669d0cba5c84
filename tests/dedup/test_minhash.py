"""Vectorised MinHash equals datasketch's, and its estimates track true Jaccard."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash

from curator.dedup.minhash import jaccard, lsh_params, shingle_hashes, signatures


def reference(shingles: np.ndarray, num_perm: int) -> np.ndarray:
    m = MinHash(num_perm=num_perm, scheme="affine32", hashfunc=lambda x: x)
    m.update_batch([int(h) for h in shingles])
    return m.hashvalues


def test_signatures_equal_datasketch_affine32_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(500)]
    docs = [[vocab[j] for j in rng.integers(0, 500, rng.integers(1, 200))] for _ in range(50)]
    shingles = [shingle_hashes(d, 3) for d in docs]
    ours = signatures(shingles, 128, chunk=64)  # tiny chunks exercise the chunk boundaries
    for row, sh in zip(ours, shingles, strict=True):
        np.testing.assert_array_equal(row, reference(sh, 128))


def test_empty_and_short_inputs() -> None:
    assert len(shingle_hashes([], 3)) == 0
    assert len(shingle_hashes(["one", "two"], 3)) == 1  # shorter than n: the whole text is one shingle
    sigs = signatures([np.empty(0, np.uint32), shingle_hashes(["a"], 3)], 64)
    assert (sigs[0] == np.iinfo(np.uint32).max).all()
    assert not (sigs[1] == np.iinfo(np.uint32).max).all()


def test_estimate_tracks_true_jaccard() -> None:
    base = [f"t{i}" for i in range(400)]
    other = base[:300] + [f"u{i}" for i in range(100)]
    a, b = shingle_hashes(base, 1), shingle_hashes(other, 1)
    true = len(set(base) & set(other)) / len(set(base) | set(other))
    sa, sb = signatures([a, b], 256)
    assert jaccard(sa, sb[None, :])[0] == pytest.approx(true, abs=0.08)


def test_lsh_params_catch_pairs_at_the_threshold() -> None:
    for threshold in (0.5, 0.7, 0.8, 0.9):
        b, r = lsh_params(threshold, 128)
        assert b * r <= 128
        assert 1 - (1 - threshold**r) ** b >= 0.95
