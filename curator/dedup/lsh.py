"""MinHash LSH banding, vectorised: datasketch's band layout with integer band keys.

datasketch's ``MinHashLSH`` keys each band by the bytes of its ``r`` values
and keeps a Python set per bucket: ~34 µs per insert in our measurements, and
every full garbage collection walks all those sets. Here the band keys of a
whole batch come from one numpy expression (a 64-bit multiply-add hash of the
band's values), and the bands of all kept samples live in a few sorted numpy
arrays (:class:`BandTable`), which the garbage collector does not see. Bands × rows come from
datasketch's own optimiser (:func:`curator.dedup.minhash.lsh_params`), and the
candidates equal those of ``MinHashLSH(params=(b, r))`` over the same
signatures (tested), up to 64-bit key collisions, which verification removes.
"""

from __future__ import annotations

import numpy as np

_MIX = np.random.RandomState(12345).randint(1, 2**62, size=64, dtype=np.uint64) | np.uint64(1)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (sample, band), shape ``(n, bands)``."""
    x = signatures[:, : bands * rows].reshape(len(signatures), bands, rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        return (x * _MIX[:rows]).sum(axis=2, dtype=np.uint64)


class BandTable:
    """Band key → rows, as a few sorted numpy runs (a small log-structured merge).

    Each (row, band) costs 12 bytes: a composite 64-bit key (the band number in the top
    bits, the band key's high bits below) and an int32 row. Python dicts cost ~100 bytes per
    entry (~2 KB per kept sample at 20 bands). A new batch becomes its own sorted run, and the
    newest runs are merged while the last is over half the size of the one before, so there
    are at most ~log2(n) runs; a query is two ``searchsorted`` calls per run for all its bands.
    Dropping the band key's lowest bits (ten at most, for up to 1,024 bands) only adds rare
    candidates, which verification removes.
    """

    _STRIDE = np.int64(2**31)  # encodes (query, row) pairs; rows are int32

    def __init__(self, bands: int, rows: int) -> None:
        self.bands, self.rows = bands, rows
        self._band_bits = max(1, (bands - 1).bit_length())
        self._band_tags = np.arange(bands, dtype=np.uint64) << np.uint64(64 - self._band_bits)
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted composite keys, rows)

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + r.nbytes for k, r in self._runs)

    def _composite(self, signatures: np.ndarray) -> np.ndarray:
        """Shape ``(n, bands)``: each band's key with the band number in the top bits."""
        keys = band_keys(signatures, self.bands, self.rows)
        return (keys >> np.uint64(self._band_bits)) | self._band_tags

    def add(self, signatures: np.ndarray, first_row: int) -> None:
        n = len(signatures)
        if not n:
            return
        keys = self._composite(signatures).ravel()
        rows = np.repeat(np.arange(first_row, first_row + n, dtype=np.int32), self.bands)
        order = np.argsort(keys, kind="stable")
        self._runs.append((keys[order], rows[order]))
        while len(self._runs) > 1 and 2 * len(self._runs[-1][0]) > len(self._runs[-2][0]):
            newer_keys, newer_rows = self._runs.pop()
            older_keys, older_rows = self._runs.pop()
            keys = np.concatenate([older_keys, newer_keys])
            rows = np.concatenate([older_rows, newer_rows])
            order = np.argsort(keys, kind="stable")
            self._runs.append((keys[order], rows[order]))

    def candidates(self, signatures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query row, stored row) pairs that share at least one band, each pair once."""
        n = len(signatures)
        if not n or not self._runs:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        queries = self._composite(signatures).ravel()
        query_of = np.repeat(np.arange(n, dtype=np.int64), self.bands)
        codes = []
        for keys, rows in self._runs:
            lo = np.searchsorted(keys, queries, "left")
            counts = np.searchsorted(keys, queries, "right") - lo
            hit = counts > 0
            if not hit.any():
                continue
            lo, counts, owner = lo[hit], counts[hit], query_of[hit]
            # Every index in [lo, lo + count) of every hit, in one vector.
            offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            found = rows[np.repeat(lo, counts) + offsets]
            codes.append(np.repeat(owner, counts) * self._STRIDE + found)
        if not codes:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        code = np.unique(np.concatenate(codes))
        return code // self._STRIDE, code % self._STRIDE


def pairs_within(signatures: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with i < j among the rows of ``signatures`` that share at least one band."""
    keys = band_keys(signatures, bands, rows)
    n = len(signatures)
    found: list[np.ndarray] = []
    for b in range(bands):
        order = np.argsort(keys[:, b], kind="stable")
        k = keys[order, b]
        same = np.flatnonzero(k[1:] == k[:-1])
        if not len(same):
            continue
        starts = same[np.r_[True, same[1:] != same[:-1] + 1]]  # first index of each run of equal keys
        for s in starts.tolist():
            e = s + 1
            while e < n and k[e] == k[s]:
                e += 1
            members = np.sort(order[s:e])
            i, j = np.triu_indices(len(members), 1)
            found.append(members[i] * n + members[j])
    if not found:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    code = np.unique(np.concatenate(found))
    return code // n, code % n


def best_per_query(q: np.ndarray, r: np.ndarray, scores: np.ndarray, n: int) -> list[tuple[float, int]]:
    """Per query 0..n-1: (best score, its row), lowest row on ties; (0.0, -1) when it has no pair."""
    out = [(0.0, -1)] * n
    if len(q):
        order = np.lexsort((r, -scores, q))
        q, r, scores = q[order], r[order], scores[order]
        first = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
        for qi, ri, s in zip(q[first].tolist(), r[first].tolist(), scores[first].tolist(), strict=True):
            out[qi] = (s, ri)
    return out
