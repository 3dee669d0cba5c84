"""NEAR_DUPLICATE: MinHash LSH over word shingles, verified against stored signatures.

The LSH (datasketch ``MinHashLSH``) only proposes candidates; each one is
scored by comparing full signatures, and ``near_duplicate`` is the estimated
Jaccard similarity to the closest kept sample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from datasketch import MinHashLSH

from curator.checks.base import DedupIndex, IndexedCheck, Item
from curator.dedup.minhash import jaccard, lsh_params, shingle_hashes, signatures
from curator.domain.decision import Action
from curator.domain.normalize import words
from curator.domain.policy import CheckPolicy, Rule, RulePolicy
from curator.domain.reasons import ReasonCode

DEFAULT_THRESHOLD = 0.8


class _Signature:
    """The slice of datasketch's MinHash interface that MinHashLSH reads, without its per-object setup."""

    __slots__ = ("hashvalues",)
    scheme = "affine32"

    def __init__(self, hashvalues: np.ndarray) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)


class MinHashIndex(DedupIndex):
    def __init__(self, num_perm: int, lsh_threshold: float) -> None:
        self.num_perm = num_perm
        self._lsh = MinHashLSH(num_perm=num_perm, params=lsh_params(lsh_threshold, num_perm))
        self._sigs = np.empty((64, num_perm), dtype=np.uint32)
        self._ids: list[str] = []

    def add(self, ids: Sequence[str], features: Mapping[str, np.ndarray]) -> None:
        sigs = features["signature"]
        start = len(self._ids)
        need = start + len(ids)
        if need > len(self._sigs):
            grown = np.empty((max(need, 2 * len(self._sigs)), self.num_perm), dtype=np.uint32)
            grown[:start] = self._sigs[:start]
            self._sigs = grown
        self._sigs[start:need] = sigs
        self._ids.extend(ids)
        for offset, sig in enumerate(sigs):
            self._lsh.insert(start + offset, _Signature(sig), check_duplication=False)

    def best_matches(self, features: Mapping[str, np.ndarray]) -> list[tuple[float, int]]:
        out = []
        for sig in features["signature"]:
            candidates = self._lsh.query(_Signature(sig))
            if not candidates:
                out.append((0.0, -1))
                continue
            rows = np.fromiter(candidates, dtype=np.int64, count=len(candidates))
            scores = jaccard(sig, self._sigs[rows])
            best = int(np.argmax(scores))
            out.append((float(scores[best]), int(rows[best])))
        return out

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
            message=(
                "near-duplicate of kept sample {matched_id}: estimated Jaccard {score:.3f} >= {threshold:.2f}"
            ),
        ),
    )

    def default_params(self) -> dict[str, float]:
        # lsh_threshold 0 means "tune the LSH bands for the rule's threshold at creation".
        return {"num_perm": 128, "shingle_size": 3, "lsh_threshold": 0.0}

    def finalize_params(self, params: dict[str, float], rules: Mapping[str, RulePolicy]) -> dict[str, float]:
        if not params.get("lsh_threshold"):
            rule = rules.get(str(ReasonCode.NEAR_DUPLICATE))
            params = {**params, "lsh_threshold": rule.threshold if rule else DEFAULT_THRESHOLD}
        return params

    def validate_params(self, params: Mapping[str, float]) -> list[str]:
        problems = []
        if not (16 <= params["num_perm"] <= 1024 and float(params["num_perm"]).is_integer()):
            problems.append("num_perm must be an integer in [16, 1024]")
        if not (1 <= params["shingle_size"] <= 10 and float(params["shingle_size"]).is_integer()):
            problems.append("shingle_size must be an integer in [1, 10]")
        if not 0.0 < params["lsh_threshold"] <= 1.0:
            problems.append("lsh_threshold must be in (0.0, 1.0]")
        return problems

    def features(self, items: Sequence[Item], policy: CheckPolicy) -> dict[str, np.ndarray]:
        size = int(policy.params["shingle_size"])
        shingles = [shingle_hashes(words(it.normalized_key), size) for it in items]
        return {"signature": signatures(shingles, int(policy.params["num_perm"]))}

    def new_index(self, params: Mapping[str, float]) -> DedupIndex:
        return MinHashIndex(int(params["num_perm"]), float(params["lsh_threshold"]))
