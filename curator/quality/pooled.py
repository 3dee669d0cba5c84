"""A logistic regression over mean-pooled MiniLM token vectors: the judgement's third text signal.

The TF-IDF model knows only the words it saw in 2,254 training answers; this one reads every text
through the 30,522 input token vectors of the embedding model the service already ships
(all-MiniLM-L6-v2, ``embeddings.word_embeddings``), so related words land near each other. A text's
vector is the mean of its WordPiece token vectors, L2-normalised; the features are that vector for
the response and for the prompt (768 numbers), standardised. Nothing runs through the transformer:
a tokeniser pass and one lookup, well under a millisecond, where a full MiniLM encoding takes tens
(and, on halueval_general_dev, adds about the same to the TF-IDF model: docs/quality.md).

Group names are cut from both texts before tokenising (:meth:`IdentityMask.blank`), as the other
models mask them. The weights only mean something over the exact vectors they were fitted on, so the
model file records the SHA-256 of the vector table and loading refuses any other.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from curator.embeddings.model import ModelUnavailable, default_model_path
from curator.quality.classifier import NO_MASK, IdentityMask
from curator.quality.linear import Dense, fit_logistic

VECTOR_KEY = "embeddings.word_embeddings.weight"
MAX_TOKENS = 2048  # longer texts are pooled over their first 2,048 tokens


class TokenVectors:
    """The packaged MiniLM's tokenizer and input token vectors, loaded once per process (47 MB)."""

    _loaded: ClassVar[dict[Path, TokenVectors]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model_dir: Path) -> None:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        weights, tokenizer = model_dir / "model.safetensors", model_dir / "tokenizer.json"
        for path in (weights, tokenizer):
            if not path.is_file():
                raise ModelUnavailable(f"{path} is missing: the token vectors come from the MiniLM package")
        with safe_open(str(weights), framework="np") as f:
            self.table = np.ascontiguousarray(f.get_tensor(VECTOR_KEY), dtype=np.float32)
        self.sha256 = hashlib.sha256(self.table.tobytes()).hexdigest()
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()

    @classmethod
    def shared(cls, model_dir: Path | None = None) -> TokenVectors:
        key = Path(model_dir or default_model_path()).resolve()
        with cls._lock:
            if key not in cls._loaded:
                cls._loaded[key] = cls(key)
            return cls._loaded[key]

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    def pool(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised mean token vector per text (zeros for a text with no tokens)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float64)
        for row, encoding in enumerate(self.tokenizer.encode_batch(list(texts), add_special_tokens=False)):
            ids = encoding.ids[:MAX_TOKENS]
            if ids:
                mean = self.table[ids].mean(axis=0, dtype=np.float64)
                out[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        return out


def features(
    vectors: TokenVectors, prompts: Sequence[str], responses: Sequence[str], mask: IdentityMask = NO_MASK
) -> np.ndarray:
    """Rows of [pooled response vector, pooled prompt vector], group names cut out first."""
    return np.hstack(
        [
            vectors.pool([mask.blank(r) for r in responses]),
            vectors.pool([mask.blank(p) for p in prompts]),
        ]
    )


@dataclass(frozen=True, slots=True)
class PooledEmbeddingModel:
    """Standardised pooled features → log-odds of *hallucinated*."""

    vectors_sha256: str  # the token vector table the weights were fitted over
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(
        cls, x: np.ndarray, labels: Sequence[bool] | np.ndarray, vectors_sha256: str, c: float
    ) -> PooledEmbeddingModel:
        """``x`` from :func:`features`; an L2-penalised logistic regression with both classes weighted
        equally, scikit-learn's ``StandardScaler`` + ``LogisticRegression(C=c, class_weight="balanced")``."""
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-12] = 1.0
        w = fit_logistic(Dense((x - mean) / scale), labels, c)
        return cls(vectors_sha256, mean, scale, w[:-1], float(w[-1]))

    def decision_features(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(((x - self.mean) / self.scale) @ self.coef + self.intercept)

    def decision(
        self,
        vectors: TokenVectors,
        prompts: Sequence[str],
        responses: Sequence[str],
        mask: IdentityMask = NO_MASK,
    ) -> np.ndarray:
        """The log-odds of *hallucinated*, one per (prompt, response)."""
        if vectors.sha256 != self.vectors_sha256:
            raise ModelUnavailable(
                "the pooled-embedding model was fitted over other token vectors than the installed"
                " MiniLM's: rebuild it with `curator train quality`"
            )
        return self.decision_features(features(vectors, prompts, responses, mask))

    def to_json(self) -> dict[str, Any]:
        return {
            "about": "logistic regression over mean-pooled MiniLM token vectors (curator/quality/pooled.py)",
            "vectors": {"model": "all-MiniLM-L6-v2", "tensor": VECTOR_KEY, "sha256": self.vectors_sha256},
            "mean": [round(float(v), 8) for v in self.mean],
            "scale": [round(float(v), 8) for v in self.scale],
            "coef": [round(float(v), 8) for v in self.coef],
            "intercept": self.intercept,
        }

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_json()) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> PooledEmbeddingModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            str(data["vectors"]["sha256"]),
            np.array(data["mean"], dtype=np.float64),
            np.array(data["scale"], dtype=np.float64),
            np.array(data["coef"], dtype=np.float64),
            float(data["intercept"]),
        )
