"""Logistic calibration in numpy: fitted once at training time, stored as JSON, applied per sample.

:class:`Logistic` maps a feature vector to a probability with standardised
features and an L2-penalised logistic regression fitted by Newton's method
(deterministic: no random start, no early stopping). With a single feature and
a positive weight it is Platt scaling, so the calibrated score is a monotone
function of the raw one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def logit(p: np.ndarray | float, eps: float = 1e-6) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    return np.log(q / (1.0 - q))


@dataclass(frozen=True, slots=True)
class Logistic:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    @classmethod
    def fit(
        cls, x: np.ndarray, y: np.ndarray, features: Sequence[str], l2: float = 1.0, iterations: int = 50
    ) -> Logistic:
        """Maximum penalised likelihood; ``l2`` penalises the standardised weights (not the intercept)."""
        x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
        y = np.asarray(y, dtype=np.float64)
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-12] = 1.0
        z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
        w = np.zeros(z.shape[1])
        penalty = np.full(z.shape[1], l2)
        penalty[0] = 0.0
        for _ in range(iterations):
            p = sigmoid(z @ w)
            grad = z.T @ (p - y) + penalty * w
            hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty) + 1e-9 * np.eye(len(w))
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.max(np.abs(step)) < 1e-10:
                break
        return cls(
            tuple(features),
            tuple(float(v) for v in mean),
            tuple(float(v) for v in scale),
            tuple(float(v) for v in w[1:]),
            float(w[0]),
        )

    @classmethod
    def fit_signed(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        features: Sequence[str],
        signs: dict[str, int],
        l2: float = 1.0,
    ) -> Logistic:
        """Like :meth:`fit`, but a feature whose weight comes out against its declared sign (+1: more
        means more likely positive, -1: less likely) is left out and the rest refitted, until none is.
        The calibration may weigh a signal, never reverse what it means. Left-out features keep a
        zero weight, so input vectors stay the same."""
        x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
        keep = list(range(len(features)))
        while True:
            model = cls.fit(x[:, keep], y, [features[i] for i in keep], l2)
            wrong = [
                (abs(w), i)
                for w, i in zip(model.coef, keep, strict=True)
                if signs.get(features[i], 0) * w < 0
            ]
            if not wrong:
                break
            keep.remove(max(wrong)[1])
        mean, scale, coef = [0.0] * len(features), [1.0] * len(features), [0.0] * len(features)
        for k, i in enumerate(keep):
            mean[i], scale[i], coef[i] = model.mean[k], model.scale[k], model.coef[k]
        return cls(tuple(features), tuple(mean), tuple(scale), tuple(coef), model.intercept)

    def decision(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(self.coef))
        return ((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities, one per row of ``x``."""
        return sigmoid(self.decision(x))

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Logistic:
        def floats(key: str) -> tuple[float, ...]:
            value = data[key]
            assert isinstance(value, list)
            return tuple(float(v) for v in value)

        features = data["features"]
        assert isinstance(features, list)
        intercept = data["intercept"]
        assert isinstance(intercept, int | float)
        return cls(
            tuple(str(f) for f in features), floats("mean"), floats("scale"), floats("coef"), float(intercept)
        )


def auroc(scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Area under the ROC curve (ties count half), without scikit-learn."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def balanced_accuracy(
    scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray, threshold: float
) -> float:
    s = np.asarray(scores, dtype=np.float64) >= threshold
    y = np.asarray(labels).astype(bool)
    tpr = (s & y).sum() / max(int(y.sum()), 1)
    tnr = (~s & ~y).sum() / max(int((~y).sum()), 1)
    return float((tpr + tnr) / 2.0)
