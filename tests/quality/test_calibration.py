"""Calibration: deterministic logistic fits, monotone Platt scaling, JSON round trip, AUROC."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curator.quality.calibration import Logistic, auroc, balanced_accuracy, logit, sigmoid


def synthetic(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = (rng.random(n) < sigmoid(2.0 * x[:, 0] - 1.0 * x[:, 1] + 0.5)).astype(float)
    return x, y


def test_fit_recovers_the_generating_weights() -> None:
    x, y = synthetic()
    model = Logistic.fit(x, y, ("a", "b"), l2=1e-6)
    raw = np.asarray(model.coef) / np.asarray(model.scale)
    assert raw == pytest.approx([2.0, -1.0], abs=0.25)


def test_fit_is_deterministic() -> None:
    x, y = synthetic()
    assert Logistic.fit(x, y, ("a", "b")) == Logistic.fit(x, y, ("a", "b"))


def test_platt_scaling_is_monotone() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(float)
    model = Logistic.fit(logit(p)[:, None], y, ("p",))
    grid = np.linspace(0.001, 0.999, 200)
    calibrated = model.predict(logit(grid)[:, None])
    assert np.all(np.diff(calibrated) > 0)
    assert model.coef[0] > 0


def test_json_round_trip_gives_the_same_predictions() -> None:
    x, y = synthetic()
    model = Logistic.fit(x, y, ("a", "b"))
    again = Logistic.from_json(json.loads(json.dumps(model.to_json())))
    assert again == model
    assert np.array_equal(again.predict(x[:10]), model.predict(x[:10]))


def test_auroc_and_balanced_accuracy() -> None:
    assert auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert auroc([0.5, 0.5], [0, 1]) == 0.5
    assert auroc([1, 2, 3], [1, 1, 1]) != auroc([1, 2, 3], [1, 1, 1])  # nan: one class only
    assert balanced_accuracy([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.5) == 0.75
