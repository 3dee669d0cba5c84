"""EXACT_DUPLICATE: the normalised dedup key equals one already kept in the collection."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np

from curator.checks.base import DedupIndex, IndexedCheck, Item
from curator.domain.decision import Action
from curator.domain.policy import CheckPolicy, Rule
from curator.domain.reasons import ReasonCode

DIGEST_BYTES = 16
_NO_KEY = bytes(DIGEST_BYTES)  # stands for an empty dedup key, which never matches


class ExactIndex(DedupIndex):
    """Digest → first kept row."""

    def __init__(self) -> None:
        self._rows: dict[bytes, int] = {}
        self._ids: list[str] = []

    def add(self, ids: Sequence[str], features: Mapping[str, np.ndarray]) -> None:
        for sample_id, digest in zip(ids, features["digest"], strict=True):
            key = digest.tobytes()
            if key != _NO_KEY:
                self._rows.setdefault(key, len(self._ids))
            self._ids.append(sample_id)

    def best_matches(self, features: Mapping[str, np.ndarray]) -> list[tuple[float, int]]:
        out = []
        for digest in features["digest"]:
            row = self._rows.get(digest.tobytes(), -1)
            out.append((1.0, row) if row >= 0 else (0.0, -1))
        return out

    def id_of(self, row: int) -> str:
        return self._ids[row]

    def __len__(self) -> int:
        return len(self._ids)


class ExactDuplicateCheck(IndexedCheck):
    name = "exact_duplicate"
    cost = 10
    score_name = "exact_duplicate"
    rules = (
        Rule(
            ReasonCode.EXACT_DUPLICATE,
            score="exact_duplicate",
            threshold=1.0,
            action=Action.DROP,
            message="exact duplicate of kept sample {matched_id} after normalisation",
        ),
    )

    def features(self, items: Sequence[Item], policy: CheckPolicy) -> dict[str, np.ndarray]:
        digests = [
            hashlib.blake2b(it.normalized_key.encode(), digest_size=DIGEST_BYTES).digest()
            if it.normalized_key
            else _NO_KEY
            for it in items
        ]
        return {"digest": np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(len(items), DIGEST_BYTES)}

    def new_index(self, params: Mapping[str, float]) -> DedupIndex:
        return ExactIndex()

    def pairs_within(
        self, columns: Mapping[str, np.ndarray], policy: CheckPolicy
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        first: dict[bytes, list[int]] = {}
        ii: list[int] = []
        jj: list[int] = []
        for j, digest in enumerate(columns["digest"]):
            key = digest.tobytes()
            if key == _NO_KEY:
                continue
            earlier = first.setdefault(key, [])
            ii += earlier
            jj += [j] * len(earlier)
            earlier.append(j)
        return np.array(ii, dtype=np.int64), np.array(jj, dtype=np.int64), np.ones(len(ii))
