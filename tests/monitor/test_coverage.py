"""Coverage of real data by synthetic data: precision/recall of distributions and the regions missed."""

from __future__ import annotations

import numpy as np

from curator.monitor.coverage import precision_recall, regions, sample_rows, set_metrics


def _blob(center: np.ndarray, n: int, rng: np.random.Generator, spread: float = 0.05) -> np.ndarray:
    points = center[None, :] + spread * rng.normal(size=(n, len(center)))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def _centers(rng: np.random.Generator, k: int, d: int = 32) -> np.ndarray:
    c = rng.normal(size=(k, d))
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def test_a_synthetic_set_covering_half_the_real_data_has_recall_one_half() -> None:
    rng = np.random.default_rng(0)
    a, b = _centers(rng, 2)
    real = np.concatenate([_blob(a, 200, rng), _blob(b, 200, rng)])
    same = np.concatenate([_blob(a, 200, rng), _blob(b, 200, rng)])
    only_a = _blob(a, 400, rng)
    p_same, r_same = precision_recall(real, same, k=5)
    assert p_same is not None and r_same is not None and p_same > 0.75 and r_same > 0.75
    p, r = precision_recall(real, only_a, k=5)
    assert p is not None and r is not None
    assert p > 0.75  # what it generates is as realistic as a fresh sample of the real data
    assert abs(r - r_same / 2) < 0.1  # but it covers only one of the two regions
    assert precision_recall(real[:3], only_a, k=5) == (None, None)  # too few points to say


def test_the_missed_region_comes_first_with_real_examples() -> None:
    rng = np.random.default_rng(1)
    a, b, c = _centers(rng, 3)
    real = np.concatenate([_blob(a, 100, rng), _blob(b, 100, rng), _blob(c, 100, rng)])
    synthetic = np.concatenate([_blob(a, 250, rng), _blob(b, 50, rng)])  # c missed, a over-filled
    real_texts = [f"real {'abc'[k // 100]} {k}" for k in range(300)]
    synthetic_texts = [f"synthetic {'a' if k < 250 else 'b'} {k}" for k in range(300)]
    found = regions(real, synthetic, real_texts, synthetic_texts, clusters=3)
    assert found[0].status == "missed"
    missed = found[0]
    assert missed.synthetic_share < 0.05 and missed.real_share > 0.25
    assert missed.examples and all(t.startswith("real c") for t in missed.examples)
    over = [g for g in found if g.status == "over-filled"]
    assert over and all(t.startswith("synthetic a") for t in over[0].examples)


def test_set_metrics_and_sampling() -> None:
    rng = np.random.default_rng(2)
    (a,) = _centers(rng, 1)
    tight, loose = _blob(a, 50, rng, 0.01), _blob(a, 50, rng, 0.5)
    texts = ["the cat sat on the mat", "the cat sat on the mat", "a dog ran in the park today"]
    assert set_metrics(tight, texts)["mean_nn_distance"] < set_metrics(loose, texts)["mean_nn_distance"]
    assert set_metrics(tight, texts)["distinct_3"] == (4 + 5) / (4 + 4 + 5)
    assert list(sample_rows(3, 10)) == [0, 1, 2] and len(sample_rows(100, 10)) == 10


def test_a_window_that_repeats_itself_falls_below_the_reference() -> None:
    from datetime import UTC, datetime

    from curator.monitor.coverage import against_reference

    rng = np.random.default_rng(3)
    centroids = _centers(rng, 4)
    reference = np.concatenate([_blob(c, 25, rng) for c in centroids])
    reference_texts = [f"real sentence {k} about topic {k % 7} with words {k * 3}" for k in range(100)]
    narrow = ["the same answer every single time you ask me"] * 40
    [window] = against_reference(
        [(datetime(2026, 1, 1, tzinfo=UTC), narrow, 0.2)], centroids, reference, reference_texts, 0.3
    )
    assert window.kept == 40
    assert window.reference["cluster_entropy"] > 0.9  # the reference spreads over the four clusters
    assert set(window.below) == {"cluster_entropy", "distinct_3"}
