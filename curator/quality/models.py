"""The quality artefacts of one model directory, loaded lazily, once per process."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from curator.errors import FailedPrecondition
from curator.quality.calibration import Logistic
from curator.quality.classifier import QualityClassifier
from curator.quality.langid import LanguageIdentifier
from curator.quality.linear import LinearTextModel
from curator.quality.pooled import PooledEmbeddingModel, TokenVectors
from curator.quality.rules import Heuristics

T = TypeVar("T")

LINEAR_FILE = "hallucination_linear.json"
POOLED_FILE = "hallucination_embedding.json"


class ModelMissing(FailedPrecondition, FileNotFoundError):
    """An artefact of models/quality is not there (they are built by `curator train quality`): a
    precondition the operator fixes, reported as FAILED_PRECONDITION with that command."""


@dataclass(frozen=True, slots=True)
class Calibration:
    hallucination: Logistic  # no context: over judgement.NO_CONTEXT_FEATURES
    quality: Logistic  # Platt on the quality model's P(good)
    grounding: Logistic  # context: P(hallucinated) from the grounding features
    context_hallucination: Logistic  # context: grounding features + classifier logit
    arithmetic_error_probability: float

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            Logistic.from_json(data["no_context"]["hallucination"]),
            Logistic.from_json(data["no_context"]["quality"]),
            Logistic.from_json(data["context"]["grounding"]),
            Logistic.from_json(data["context"]["hallucination"]),
            float(data["arithmetic_error_probability"]),
        )


class QualityModels:
    """Heuristics (with the language profiles), the fastText classifiers, the TF-IDF and pooled-embedding
    models and the calibration."""

    _shared: ClassVar[dict[Path, QualityModels]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def shared(cls, model_dir: Path) -> QualityModels:
        key = Path(model_dir).resolve()
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(key)
            return cls._shared[key]

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = Path(model_dir)
        self._lock = threading.Lock()
        self._loaded: dict[str, Any] = {}  # artefact file name -> what it loaded into
        mask = self.model_dir / "identity_terms.json"
        self.hallucination = QualityClassifier(self.model_dir / "hallucination.ftz", mask)
        self.quality = QualityClassifier(self.model_dir / "quality.ftz", mask)

    def _path(self, name: str) -> Path:
        path = self.model_dir / name
        if not path.is_file():
            raise ModelMissing(f"{path} is missing: build it with `curator train quality`")
        return path

    def _once(self, name: str, load: Callable[[Path], T]) -> T:
        """The artefact ``name`` loaded by ``load``, at most once."""
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = load(self._path(name))
            loaded: T = self._loaded[name]
            return loaded

    @property
    def heuristics(self) -> Heuristics:
        return self._once("langid.json", lambda path: Heuristics(LanguageIdentifier.load(path)))

    @property
    def calibration(self) -> Calibration:
        return self._once("calibration.json", Calibration.load)

    @property
    def linear(self) -> LinearTextModel:
        """The TF-IDF model over the classifiers' input lines (``hallucination_linear.json``)."""
        return self._once(LINEAR_FILE, LinearTextModel.load)

    @property
    def pooled(self) -> PooledEmbeddingModel:
        """The pooled-embedding model (``hallucination_embedding.json``)."""
        return self._once(POOLED_FILE, PooledEmbeddingModel.load)

    @property
    def token_vectors(self) -> TokenVectors:
        """The packaged MiniLM's token vectors that the pooled-embedding model reads (shared per process)."""
        return TokenVectors.shared()

    def load(self) -> None:
        """Everything, now (the classifiers too)."""
        self._path("identity_terms.json")
        for classifier in (self.hallucination, self.quality):
            self._path(classifier.path.name)
            classifier.load()
        _ = self.heuristics, self.calibration, self.linear, self.pooled, self.token_vectors
