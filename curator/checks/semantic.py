"""SEMANTIC_DUPLICATE: the same idea in new words, which MinHash cannot see.

Samples are embedded with all-MiniLM-L6-v2 (what is embedded follows the
collection's dedup key) and compared by cosine similarity with everything the
collection kept. ``semantic_similarity`` is the highest cosine to a kept
sample and ``diversity`` = 1 - that: how much new ground the sample covers.
Runs last (highest cost), so exact and near-duplicates never reach the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from curator.checks.base import DedupIndex, IndexedCheck, Item
from curator.dedup.vectors import VectorIndex
from curator.domain.decision import Action
from curator.domain.policy import CheckPolicy, Rule
from curator.domain.reasons import ReasonCode
from curator.embeddings.embedder import Embedder

if TYPE_CHECKING:
    from curator.settings import Settings

# Within one request, each sample keeps its best few earlier neighbours, so a match
# with an earlier sample that is dropped later can fall back to the next one.
NEIGHBOURS_WITHIN = 8


class EmbeddingIndex(DedupIndex):
    """Kept samples' embeddings in FAISS. The vector index is made when the first vectors arrive, at their
    width, so that opening a collection (to review, to read stats) never loads the model for its size."""

    def __init__(self, hnsw_threshold: int, hnsw_m: int, ef_search: int) -> None:
        self._params = (hnsw_threshold, hnsw_m, ef_search)
        self._vectors: VectorIndex | None = None
        self._ids: list[str] = []

    @property
    def vectors(self) -> VectorIndex | None:
        """The FAISS index; None until a vector was added."""
        return self._vectors

    def _index_for(self, embeddings: np.ndarray) -> VectorIndex:
        if self._vectors is None:
            self._vectors = VectorIndex(embeddings.shape[1], *self._params)
        return self._vectors

    def add(self, ids: Sequence[str], features: Mapping[str, np.ndarray]) -> None:
        self._index_for(features["embedding"]).add(features["embedding"])
        self._ids.extend(ids)

    def best_matches(self, features: Mapping[str, np.ndarray]) -> list[tuple[float, int]]:
        if self._vectors is None:
            return [(0.0, -1)] * len(features["embedding"])
        sims, rows = self._vectors.search(features["embedding"])
        return [
            (max(0.0, float(s)), int(r)) if r >= 0 else (0.0, -1) for s, r in zip(sims, rows, strict=True)
        ]

    def id_of(self, row: int) -> str:
        return self._ids[row]

    def columns(self) -> dict[str, np.ndarray]:
        """The kept embeddings, reconstructed from FAISS (the only copy)."""
        return {"embedding": self._vectors.vectors} if self._vectors is not None else {}

    def save_image(self, path: Path) -> bool:
        """An HNSW graph takes minutes to rebuild at 100k+ vectors; a flat index is rebuilt in a blink."""
        return self._vectors is not None and self._vectors.save(path)

    def load_image(self, path: Path, ids: Sequence[str], features: Mapping[str, np.ndarray]) -> bool:
        embeddings = features.get("embedding")
        if embeddings is None or not len(embeddings) or self._vectors is not None:
            return False
        vectors = VectorIndex(embeddings.shape[1], *self._params)
        if not vectors.load(path, embeddings):
            return False
        self._vectors = vectors
        self._ids.extend(ids)
        return True

    def __len__(self) -> int:
        return len(self._ids)


class SemanticCheck(IndexedCheck):
    name = "semantic"
    cost = 100
    score_name = "semantic_similarity"
    rules = (
        Rule(
            ReasonCode.SEMANTIC_DUPLICATE,
            score="semantic_similarity",
            threshold=0.95,
            review_threshold=0.90,
            action=Action.DROP,
            message="semantic duplicate of kept sample {matched_id}: cosine {score:.3f} >= {threshold:.2f}",
        ),
    )

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    @classmethod
    def from_settings(cls, settings: Settings) -> SemanticCheck:
        return cls(Embedder.shared(settings.embeddings))

    def warm_up(self) -> None:
        self.embedder.load()
        self.embedder.encode(["warm up"])

    def default_params(self) -> dict[str, float]:
        return {"hnsw_threshold": 20_000, "hnsw_m": 32, "ef_search": 128}

    def validate_params(self, params: Mapping[str, float]) -> list[str]:
        problems = []
        if not (params["hnsw_threshold"] >= 0 and float(params["hnsw_threshold"]).is_integer()):
            problems.append("hnsw_threshold must be a whole number of samples >= 0")
        if not (4 <= params["hnsw_m"] <= 128 and float(params["hnsw_m"]).is_integer()):
            problems.append("hnsw_m must be an integer in [4, 128]")
        if not (8 <= params["ef_search"] <= 4096 and float(params["ef_search"]).is_integer()):
            problems.append("ef_search must be an integer in [8, 4096]")
        return problems

    def derived_scores(self, score: float) -> dict[str, float]:
        return {"diversity": 1.0 - score}

    def features(self, items: Sequence[Item], policy: CheckPolicy) -> dict[str, np.ndarray]:
        out = np.zeros((len(items), self.embedder.dimension), dtype=np.float32)
        todo = [i for i, it in enumerate(items) if it.normalized_key]
        if todo:  # an empty key stays the zero vector: similar to nothing
            out[todo] = self.embedder.encode([items[i].key_text for i in todo])
        return {"embedding": out}

    def new_index(self, params: Mapping[str, float]) -> DedupIndex:
        return EmbeddingIndex(
            int(params["hnsw_threshold"]),
            int(params["hnsw_m"]),
            int(params["ef_search"]),
        )

    def pairs_within(
        self, columns: Mapping[str, np.ndarray], policy: CheckPolicy
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        vectors = columns["embedding"]
        n = len(vectors)
        if n < 2:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
        sims = vectors @ vectors.T
        sims[np.triu_indices(n)] = -np.inf  # row j sees only earlier rows i < j
        k = min(NEIGHBOURS_WITHIN, n - 1)
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        jj = np.repeat(np.arange(n), k)
        ii = top.ravel()
        scores = sims[jj, ii]
        keep = np.isfinite(scores)
        return ii[keep], jj[keep], np.maximum(scores[keep], 0.0).astype(np.float64)
