"""The vectorised band table proposes the same candidates as datasketch's MinHashLSH."""

from __future__ import annotations

import numpy as np
from datasketch import MinHashLSH

from curator.dedup.lsh import BandTable, best_per_query, pairs_within
from curator.dedup.minhash import bottom_k, bottom_k_jaccard, lsh_params, shingle_hashes, signatures


class _Sig:
    scheme = "affine32"

    def __init__(self, hashvalues: np.ndarray) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)


def corpus(n: int, seed: int = 0) -> list[list[str]]:
    """Documents from a small vocabulary, with many partial overlaps."""
    rng = np.random.default_rng(seed)
    base = [[f"w{j}" for j in rng.integers(0, 300, 40)] for _ in range(n // 4)]
    docs = []
    for d in base:
        docs.append(d)
        for _ in range(3):
            copy = list(d)
            for _ in range(rng.integers(0, 8)):
                copy[rng.integers(0, len(copy))] = f"w{rng.integers(0, 300)}"
            docs.append(copy)
    return docs


def test_candidates_equal_datasketch_minhashlsh() -> None:
    docs = corpus(400)
    sigs = signatures([shingle_hashes(d, 2) for d in docs], 128)
    bands, rows = lsh_params(0.8, 128)
    stored, queries = sigs[0::2], sigs[1::2]  # each query has relatives among the stored
    reference = MinHashLSH(num_perm=128, params=(bands, rows))
    for row, sig in enumerate(stored):
        reference.insert(row, _Sig(sig))
    table = BandTable(bands, rows)
    table.add(stored[:100], 0)
    table.add(stored[100:], 100)
    q, r = table.candidates(queries)
    ours = [set(r[q == i].tolist()) for i in range(len(queries))]
    theirs = [set(reference.query(_Sig(sig))) for sig in queries]
    assert ours == theirs
    assert sum(map(len, ours)) > 0


def test_pairs_within_equal_all_pairs_band_collisions() -> None:
    docs = corpus(120, seed=1)
    sigs = signatures([shingle_hashes(d, 2) for d in docs], 64)
    bands, rows = lsh_params(0.7, 64)
    ii, jj = pairs_within(sigs, bands, rows)
    expected = set()
    for i in range(len(sigs)):
        for j in range(i + 1, len(sigs)):
            a = sigs[i, : bands * rows].reshape(bands, rows)
            b = sigs[j, : bands * rows].reshape(bands, rows)
            if (a == b).all(axis=1).any():
                expected.add((i, j))
    assert set(zip(ii.tolist(), jj.tolist(), strict=True)) == expected
    assert expected


def test_bottom_k_jaccard_is_exact_for_small_sets_and_close_for_large() -> None:
    rng = np.random.default_rng(2)
    small_a = rng.choice(10_000, 90, replace=False).astype(np.uint32)
    small_b = np.concatenate([small_a[:70], rng.choice(range(20_000, 30_000), 25, replace=False)]).astype(
        np.uint32
    )
    big_a = rng.choice(100_000, 3000, replace=False).astype(np.uint32)
    big_b = np.concatenate([big_a[:2400], rng.choice(range(200_000, 300_000), 600, replace=False)]).astype(
        np.uint32
    )
    sketch, count = bottom_k([small_a, small_b, big_a, big_b], 256)
    exact_small = len(set(small_a) & set(small_b)) / len(set(small_a) | set(small_b))
    exact_big = len(set(big_a) & set(big_b)) / len(set(big_a) | set(big_b))
    scores = bottom_k_jaccard(sketch[[0, 2]], count[[0, 2]], sketch[[1, 3]], count[[1, 3]])
    assert scores[0] == exact_small
    assert abs(scores[1] - exact_big) < 0.06


def test_best_per_query_prefers_higher_score_then_lower_row() -> None:
    q = np.array([0, 0, 0, 2])
    r = np.array([5, 3, 4, 1])
    s = np.array([0.5, 0.9, 0.9, 0.2])
    assert best_per_query(q, r, s, 3) == [(0.9, 3), (0.0, -1), (0.2, 1)]


def test_band_table_answers_the_same_however_samples_arrive() -> None:
    """One sample per add (as 1-sample requests do) or all at once: same candidates, few runs, 12 B each."""
    docs = corpus(400, seed=3)
    sigs = signatures([shingle_hashes(d, 2) for d in docs], 128)
    bands, rows = lsh_params(0.8, 128)
    stored, queries = sigs[0::2], sigs[1::2]
    at_once = BandTable(bands, rows)
    at_once.add(stored, 0)
    one_by_one = BandTable(bands, rows)
    for row in range(len(stored)):
        one_by_one.add(stored[row : row + 1], row)
    assert len(one_by_one._runs) <= int(np.log2(len(stored))) + 1
    assert one_by_one.nbytes == at_once.nbytes == len(stored) * bands * 12
    a, b = at_once.candidates(queries), one_by_one.candidates(queries)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and len(a[0]) > 0
    assert [len(x) for x in BandTable(bands, rows).candidates(queries)] == [0, 0]
