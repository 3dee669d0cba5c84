"""NEAR_DUPLICATE: MinHash LSH over word shingles, candidates verified on stored sketches.

LSH bands (tuned by datasketch's optimiser) only propose candidates. Each
candidate is then scored on a bottom-k sketch of the shingle hashes, which is
the exact Jaccard of the two shingle sets whenever their union has at most
``sketch_size`` shingles (most instruction data), and a low-variance estimate
otherwise. ``near_duplicate`` is that Jaccard to the closest kept sample.
With ``sketch_size = 0`` candidates are scored on the MinHash signatures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from curator.arrays import GrowableArray
from curator.checks.base import DedupIndex, IndexedCheck, Item
from curator.dedup.lsh import BandTable, best_per_query, pairs_within
from curator.dedup.minhash import (
    bottom_k,
    bottom_k_jaccard,
    lsh_params,
    shingle_hashes,
    signature_jaccard,
    signatures,
)
from curator.domain.decision import Action
from curator.domain.normalize import words
from curator.domain.policy import CheckPolicy, Rule, RulePolicy
from curator.domain.reasons import ReasonCode

DEFAULT_THRESHOLD = 0.8


def pair_scores(
    a: Mapping[str, np.ndarray], ia: np.ndarray, b: Mapping[str, np.ndarray], ib: np.ndarray
) -> np.ndarray:
    """Jaccard of the pairs (a[ia[k]], b[ib[k]]); 0 when either sample has no shingles."""
    if not len(ia):
        return np.empty(0)
    na, nb = a["count"][ia], b["count"][ib]
    if "sketch" in a:
        scores = bottom_k_jaccard(a["sketch"][ia], na, b["sketch"][ib], nb)
    else:
        scores = signature_jaccard(a["signature"][ia], b["signature"][ib])
    return np.where((na > 0) & (nb > 0), scores, 0.0)


class MinHashIndex(DedupIndex):
    """Kept samples' feature columns plus the LSH band table over their signatures."""

    def __init__(self, num_perm: int, lsh_threshold: float) -> None:
        self._bands = BandTable(*lsh_params(lsh_threshold, num_perm))
        self._columns: dict[str, GrowableArray] = {}
        self._ids: list[str] = []

    def add(self, ids: Sequence[str], features: Mapping[str, np.ndarray]) -> None:
        start = len(self._ids)
        for name, column in features.items():
            if name not in self._columns:
                self._columns[name] = GrowableArray(column.shape[1:], column.dtype)
            self._columns[name].extend(column)
        self._ids.extend(ids)
        self._bands.add(features["signature"], start)

    def columns(self) -> dict[str, np.ndarray]:
        """The kept samples' feature columns (signature, sketch, count), row-aligned with the collection."""
        return {name: column.view for name, column in self._columns.items()}

    def best_matches(self, features: Mapping[str, np.ndarray]) -> list[tuple[float, int]]:
        q, r = self._bands.candidates(features["signature"])
        return best_per_query(q, r, pair_scores(features, q, self.columns(), r), len(features["signature"]))

    def id_of(self, row: int) -> str:
        return self._ids[row]

    def __len__(self) -> int:
        return len(self._ids)


class NearDuplicateCheck(IndexedCheck):
    name = "near_duplicate"
    cost = 20
    score_name = "near_duplicate"
    rules = (
        Rule(
            ReasonCode.NEAR_DUPLICATE,
            score="near_duplicate",
            threshold=DEFAULT_THRESHOLD,
            action=Action.DROP,
            message="near-duplicate of kept sample {matched_id}: Jaccard {score:.3f} >= {threshold:.2f}",
        ),
    )

    def default_params(self) -> dict[str, float]:
        # lsh_threshold 0 means "tune the LSH bands for the rule's threshold at creation".
        return {"num_perm": 128, "shingle_size": 3, "lsh_threshold": 0.0, "sketch_size": 256}

    def finalize_params(self, params: dict[str, float], rules: Mapping[str, RulePolicy]) -> dict[str, float]:
        if not params.get("lsh_threshold"):
            rule = rules.get(str(ReasonCode.NEAR_DUPLICATE))
            threshold = rule.threshold if rule is not None and rule.threshold is not None else None
            params = {**params, "lsh_threshold": DEFAULT_THRESHOLD if threshold is None else threshold}
        return params

    def validate_params(self, params: Mapping[str, float]) -> list[str]:
        problems = []
        if not (16 <= params["num_perm"] <= 1024 and float(params["num_perm"]).is_integer()):
            problems.append("num_perm must be an integer in [16, 1024]")
        if not (1 <= params["shingle_size"] <= 10 and float(params["shingle_size"]).is_integer()):
            problems.append("shingle_size must be an integer in [1, 10]")
        if not 0.0 < params["lsh_threshold"] <= 1.0:
            problems.append("lsh_threshold must be in (0.0, 1.0]")
        if not (0 <= params["sketch_size"] <= 4096 and float(params["sketch_size"]).is_integer()):
            problems.append("sketch_size must be an integer in [0, 4096] (0 scores on MinHash signatures)")
        return problems

    def features(self, items: Sequence[Item], policy: CheckPolicy) -> dict[str, np.ndarray]:
        size = int(policy.params["shingle_size"])
        shingles = [shingle_hashes(words(it.normalized_key), size) for it in items]
        columns = {"signature": self.signatures(items, shingles, policy)}
        k = int(policy.params["sketch_size"])
        if k:
            columns["sketch"], columns["count"] = bottom_k(shingles, k)
        else:
            columns["count"] = np.fromiter((len(s) for s in shingles), dtype=np.int32, count=len(shingles))
        return columns

    def signatures(
        self, items: Sequence[Item], shingles: list[np.ndarray], policy: CheckPolicy
    ) -> np.ndarray:
        """MinHash signatures of the shingle sets (a seam for the benchmark's per-shingle reference)."""
        return signatures(shingles, int(policy.params["num_perm"]))

    def new_index(self, params: Mapping[str, float]) -> DedupIndex:
        return MinHashIndex(int(params["num_perm"]), float(params["lsh_threshold"]))

    def pairs_within(
        self, columns: Mapping[str, np.ndarray], policy: CheckPolicy
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        bands, rows = lsh_params(float(policy.params["lsh_threshold"]), int(policy.params["num_perm"]))
        ii, jj = pairs_within(columns["signature"], bands, rows)
        return ii, jj, pair_scores(columns, ii, columns, jj)
