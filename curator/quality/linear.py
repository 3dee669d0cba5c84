"""A TF-IDF logistic regression over the classifier's input text: the judgement's second text signal.

The fastText model and this one read the same line (:func:`curator.quality.classifier.fasttext_text`).
They differ in what they can learn from a few thousand examples: fastText averages word vectors, so a
word that occurs in every answer (the length markers, "use", "can") weighs as much as a rare one, and
it is regularised only by stopping after a few epochs; this model weighs each word by its inverse
document frequency and fits an L2-penalised logistic regression to convergence. On
halueval_general_dev it ranks hallucinated answers better than fastText does (docs/quality.md), and
the calibration combines both.

Features are those of scikit-learn's ``TfidfVectorizer(binary=True)``: a word counts once per text,
weighted by ``ln((1 + n) / (1 + df)) + 1``, and each text's vector is L2-normalised. Words of one
character and words in fewer than ``min_df`` training texts are left out. The regression weighs both
classes equally (each example by ``n / (2 n_class)``) and is fitted by L-BFGS in numpy: deterministic,
no random start. The model is stored as JSON (words, idf, weights), never pickled.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from curator.quality.calibration import sigmoid


def tokens(text: str) -> set[str]:
    """The distinct words of one input line (fasttext_text output is already split into words)."""
    return {t for t in text.split() if len(t) > 1}


class Design(Protocol):
    """A design matrix as the solver needs it: ``x @ w``, ``x.T @ r`` and the number of columns."""

    @property
    def columns(self) -> int: ...

    def dot(self, w: np.ndarray) -> np.ndarray: ...

    def tdot(self, r: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Dense:
    """A dense design matrix (rows: examples)."""

    x: np.ndarray

    @property
    def columns(self) -> int:
        return int(self.x.shape[1])

    def dot(self, w: np.ndarray) -> np.ndarray:
        return np.asarray(self.x @ w)

    def tdot(self, r: np.ndarray) -> np.ndarray:
        return np.asarray(self.x.T @ r)


@dataclass(frozen=True, slots=True)
class _Sparse:
    """Rows of L2-normalised binary TF-IDF vectors in CSR form."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    columns: int

    def dot(self, w: np.ndarray) -> np.ndarray:
        out = np.zeros(len(self.indptr) - 1)
        nonempty = np.diff(self.indptr) > 0
        if self.data.size:
            sums = np.add.reduceat(self.data * w[self.indices], self.indptr[:-1][nonempty])
            out[nonempty] = sums
        return out

    def tdot(self, r: np.ndarray) -> np.ndarray:
        rows = np.repeat(r, np.diff(self.indptr))
        return np.bincount(self.indices, weights=self.data * rows, minlength=self.columns)


@dataclass(frozen=True, slots=True)
class LinearTextModel:
    words: tuple[str, ...]
    idf: np.ndarray
    coef: np.ndarray  # weight per word, on the normalised TF-IDF scale
    intercept: float

    @property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    def _rows(self, texts: Sequence[str], index: dict[str, int]) -> _Sparse:
        indptr, indices, data = [0], [], []
        for text in texts:
            ids = sorted(index[t] for t in tokens(text) if t in index)
            weights = self.idf[ids]
            norm = float(np.sqrt((weights**2).sum())) or 1.0
            indices += ids
            data += list(weights / norm)
            indptr.append(len(indices))
        return _Sparse(
            np.array(indptr, dtype=np.int64),
            np.array(indices, dtype=np.int64),
            np.array(data, dtype=np.float64),
            len(self.words),
        )

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """The log-odds of *hallucinated*, one per input line."""
        return self._rows(texts, self.index).dot(self.coef) + self.intercept

    @classmethod
    def fit(
        cls, texts: Sequence[str], labels: Sequence[bool] | np.ndarray, c: float = 0.3, min_df: int = 2
    ) -> LinearTextModel:
        """TF-IDF vocabulary and weights from ``texts``; ``labels`` True for hallucinated.

        Minimises ``sum_i s_i log(1 + exp(-y_i m_i)) + ||w||^2 / (2c)`` (the intercept unpenalised),
        scikit-learn's ``LogisticRegression(C=c, class_weight="balanced")``."""
        y = np.asarray(labels, dtype=np.float64)
        tokenised = [tokens(t) for t in texts]
        df = Counter(t for toks in tokenised for t in toks)
        words = tuple(sorted(t for t, n in df.items() if n >= min_df))
        n = len(texts)
        idf = np.array([math.log((1 + n) / (1 + df[w])) + 1.0 for w in words])
        shell = cls(words, idf, np.zeros(len(words)), 0.0)
        x = shell._rows(texts, shell.index)
        w = fit_logistic(x, y, c)
        return cls(words, idf, w[:-1], float(w[-1]))

    def to_json(self) -> dict[str, object]:
        return {
            "about": "TF-IDF logistic regression over fasttext_text lines; see curator/quality/linear.py",
            "intercept": self.intercept,
            "words": {
                w: [round(float(i), 6), round(float(c), 8)]
                for w, i, c in zip(self.words, self.idf, self.coef, strict=True)
            },
        }

    def save(self, path: Path) -> None:
        Path(path).write_text(
            json.dumps(self.to_json(), ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> LinearTextModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = data["words"]
        words = tuple(entries)
        values = np.array([entries[w] for w in words], dtype=np.float64).reshape(len(words), 2)
        return cls(words, values[:, 0], values[:, 1], float(data["intercept"]))


def fit_logistic(x: Design, labels: Sequence[bool] | np.ndarray, c: float) -> np.ndarray:
    """Weights (last: intercept) minimising ``sum_i s_i log(1 + exp(-y_i m_i)) + ||w||^2 / (2c)``,
    each class weighted equally (``s_i = n / (2 n_class)``): scikit-learn's
    ``LogisticRegression(C=c, class_weight="balanced")``."""
    y = np.asarray(labels, dtype=np.float64)
    n, positives = len(y), float(y.sum())
    weight = np.where(y > 0, n / (2 * max(positives, 1.0)), n / (2 * max(n - positives, 1.0)))
    return _lbfgs(x, y, weight, 1.0 / c)


def _lbfgs(
    x: Design, y: np.ndarray, weight: np.ndarray, penalty: float, memory: int = 10, iterations: int = 500
) -> np.ndarray:
    """Weights (last: intercept) of the weighted, L2-penalised logistic regression, by L-BFGS."""

    def value_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = x.dot(w[:-1]) + w[-1]
        p = sigmoid(margin)
        # log(1 + exp(m)) - y m, computed stably
        loss = np.logaddexp(0.0, margin) - y * margin
        f = float((weight * loss).sum() + 0.5 * penalty * (w[:-1] ** 2).sum())
        r = weight * (p - y)
        g = np.append(x.tdot(r) + penalty * w[:-1], r.sum())
        return f, g

    w = np.zeros(x.columns + 1)
    f, g = value_and_grad(w)
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    for _ in range(iterations):
        if np.max(np.abs(g)) < 1e-6:
            break
        q = g.copy()
        alphas = []
        for s, d in reversed(list(zip(s_hist, y_hist, strict=True))):
            a = float(s @ q) / float(d @ s)
            alphas.append(a)
            q -= a * d
        if s_hist:
            q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        for (s, d), a in zip(zip(s_hist, y_hist, strict=True), reversed(alphas), strict=True):
            b = float(d @ q) / float(d @ s)
            q += (a - b) * s
        direction = -q
        slope = float(g @ direction)
        if slope >= 0:  # not a descent direction: restart from the gradient
            s_hist.clear()
            y_hist.clear()
            direction, slope = -g, -float(g @ g)
        step = 1.0
        while True:
            candidate = w + step * direction
            f_new, g_new = value_and_grad(candidate)
            if f_new <= f + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s_vec, y_vec = candidate - w, g_new - g
        if float(s_vec @ y_vec) > 1e-12:
            s_hist.append(s_vec)
            y_hist.append(y_vec)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
        converged = abs(f - f_new) <= 1e-10 * max(abs(f), 1.0)
        w, f, g = candidate, f_new, g_new
        if converged:
            break
    return w
