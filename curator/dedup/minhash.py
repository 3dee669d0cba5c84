"""Vectorised MinHash signatures, bit-compatible with datasketch's ``affine32`` scheme.

datasketch's ``MinHash.update`` costs a Python call per shingle; here a whole
batch of samples is hashed with one numpy expression: word tokens are hashed
once with xxhash, combined into n-gram shingle hashes, pre-mixed with the
MurmurHash3 finalizer and permuted with datasketch's own (a, b) parameters,
then reduced per sample with ``np.minimum.reduceat``. The result equals
``MinHash(num_perm, seed, scheme="affine32", hashfunc=<shingle hash>)``
updated with the same shingle hashes (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import xxhash
from datasketch import MinHash
from datasketch.lsh import _optimal_param

_U32 = np.uint32
_EMPTY = np.iinfo(np.uint32).max
# Multiplier for folding token hashes into a shingle hash (64-bit odd constant).
_FOLD = np.uint64(0x9E3779B97F4A7C15)
LSH_SLACK = 0.1


@lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 (a, b) parameters for ``num_perm`` and ``seed``."""
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return a.astype(_U32), b.astype(_U32)


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands × rows that minimise datasketch's weighted FP/FN error at ``threshold``.

    The bands are tuned for ``threshold - LSH_SLACK`` with false negatives
    weighted 9:1, so a pair at the threshold becomes a candidate with
    probability ≥ 0.99; every candidate is then verified against its stored
    signature, which removes the extra false positives.
    """
    return _optimal_param(max(0.05, threshold - LSH_SLACK), num_perm, 0.1, 0.9)


class _TokenHashes(dict[str, int]):
    """xxh32 of each token, memoised: word frequencies are Zipfian, so most lookups hit (C speed)."""

    limit = 1 << 21

    def __missing__(self, token: str) -> int:
        if len(self) >= self.limit:
            self.clear()
        value = self[token] = xxhash.xxh32_intdigest(token.encode())
        return value


_token_hashes = _TokenHashes()


def shingle_hashes(tokens: Sequence[str], size: int) -> np.ndarray:
    """32-bit hashes of the word ``size``-grams of ``tokens`` (the whole text if shorter)."""
    if not tokens:
        return np.empty(0, dtype=_U32)
    th = np.fromiter(map(_token_hashes.__getitem__, tokens), dtype=np.uint64, count=len(tokens))
    n = min(size, len(th))
    count = len(th) - n + 1
    h = th[:count].copy()
    for k in range(1, n):
        h = h * _FOLD + th[k : k + count]
    return ((h >> np.uint64(32)) ^ h).astype(_U32)


def _fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> _U32(16))
    h = h * _U32(0x85EBCA6B)
    h = h ^ (h >> _U32(13))
    h = h * _U32(0xC2B2AE35)
    return h ^ (h >> _U32(16))


def signatures(
    shingles: Sequence[np.ndarray], num_perm: int, seed: int = 1, chunk: int = 32_768
) -> np.ndarray:
    """MinHash signatures, one row per shingle array, shape ``(len(shingles), num_perm)``, uint32.

    An empty shingle array gives the all-``0xFFFFFFFF`` (empty) signature.
    Work proceeds in chunks of about ``chunk`` shingles through one reused
    (num_perm × chunk) buffer laid out so that the per-sample minimum reduces
    along contiguous memory: ten times faster than the naive layout.
    """
    a, b = permutations(num_perm, seed)
    a, b = a[:, None], b[:, None]
    n = len(shingles)
    out = np.full((n, num_perm), _EMPTY, dtype=_U32)
    lengths = np.fromiter((len(s) for s in shingles), dtype=np.int64, count=n)
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    if bounds[-1] == 0:
        return out
    hv = _fmix32(np.concatenate([s for s in shingles if len(s)]).astype(_U32, copy=False))
    nonempty = lengths > 0
    buf = np.empty((num_perm, min(int(bounds[-1]), max(chunk, int(lengths.max())))), dtype=_U32)
    i = 0
    with np.errstate(over="ignore"):
        while i < n:
            # Whole samples, as many as fit in the buffer (at least one).
            j = int(np.searchsorted(bounds, bounds[i] + buf.shape[1], side="right")) - 1
            j = min(max(j, i + 1), n)
            rows = np.flatnonzero(nonempty[i:j]) + i
            if len(rows):
                lo, hi = int(bounds[i]), int(bounds[j])
                view = buf[:, : hi - lo]
                np.multiply(a, hv[lo:hi][None, :], out=view)
                np.add(view, b, out=view)
                out[rows] = np.minimum.reduceat(view, bounds[rows] - lo, axis=1).T
            i = j
    return out


def jaccard(sig: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of one signature to each row of ``others``."""
    return (others == sig).mean(axis=1)


def signature_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise MinHash estimate of Jaccard for pairs of signatures ``a[k]``, ``b[k]``."""
    return (a == b).mean(axis=1)


def bottom_k(shingles: Sequence[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per sample, its ``k`` smallest distinct (mixed) shingle hashes, sorted, and how many distinct it has.

    With both sets of at most ``k`` shingles, :func:`bottom_k_jaccard` is the
    exact Jaccard of the hash sets; otherwise a bottom-k estimate, whose
    variance is lower than MinHash's at equal size. Mixing first makes the
    kept values a uniform sample of the set.
    """
    sketch = np.full((len(shingles), k), _EMPTY, dtype=_U32)
    count = np.zeros(len(shingles), dtype=np.int32)
    with np.errstate(over="ignore"):
        for i, h in enumerate(shingles):
            if not len(h):
                continue
            u = np.sort(_fmix32(h.astype(_U32, copy=False)))
            distinct = np.empty(len(u), dtype=bool)
            distinct[0] = True
            np.not_equal(u[1:], u[:-1], out=distinct[1:])
            u = u[distinct]
            count[i] = len(u)
            sketch[i, : min(k, len(u))] = u[:k]
    return sketch, count


def bottom_k_jaccard(xa: np.ndarray, na: np.ndarray, xb: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """Row-wise Jaccard of pairs of bottom-k sketches (``x`` sketches, ``n`` distinct counts).

    Only values up to the smaller of the two sketches' cut-offs are seen
    completely in both, so shared and distinct values are counted up to there
    (everything, when neither set was cut: the exact Jaccard).
    """
    k = xa.shape[1]
    pad = np.int64(1 << 33)
    x = xa.astype(np.int64)
    y = xb.astype(np.int64)
    cols = np.arange(k)[None, :]
    x[cols >= np.minimum(na, k)[:, None]] = pad
    y[cols >= np.minimum(nb, k)[:, None]] = pad
    cut = np.minimum(np.where(na > k, x[:, -1], pad - 1), np.where(nb > k, y[:, -1], pad - 1))
    merged = np.sort(np.concatenate([x, y], axis=1), axis=1)
    seen = merged <= cut[:, None]
    shared = ((merged[:, 1:] == merged[:, :-1]) & seen[:, 1:]).sum(axis=1)
    distinct = seen.sum(axis=1) - shared
    return np.where(distinct > 0, shared / np.maximum(distinct, 1), 1.0)
