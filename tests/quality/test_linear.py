"""The TF-IDF logistic regression: TfidfVectorizer(binary=True) + LogisticRegression, in numpy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from curator.quality.calibration import auroc, sigmoid
from curator.quality.linear import LinearTextModel, tokens

TEXTS = [
    "q_name planet mercury venus __len3",
    "q_name planet mars jupiter __len3",
    "q_invent story dragon castle __len4",
    "q_invent story tom castle __len4",
    "q_name planet saturn __len2",
    "q_invent story tom dragon __len4",
    "q_name river nile __len2",
    "q_invent poem tom moon __len3",
]
LABELS = [False, False, True, True, False, True, False, True]


def test_it_learns_which_words_go_with_hallucinated_answers() -> None:
    model = LinearTextModel.fit(TEXTS, LABELS, c=10.0, min_df=2)
    assert "q_invent" in model.words and "mercury" not in model.words  # min_df 2
    index = model.index
    assert model.coef[index["tom"]] > 0 > model.coef[index["q_name"]]
    assert auroc(model.decision(TEXTS), LABELS) == 1.0


def test_the_fit_is_the_penalised_optimum() -> None:
    """At the solution the gradient of the class-weighted, L2-penalised log-loss is zero."""
    c = 0.5
    model = LinearTextModel.fit(TEXTS, LABELS, c=c, min_df=1)
    y = np.array(LABELS, dtype=float)
    index = model.index
    x = np.zeros((len(TEXTS), len(model.words)))
    for row, text in enumerate(TEXTS):
        ids = [index[t] for t in tokens(text)]
        x[row, ids] = model.idf[ids] / np.linalg.norm(model.idf[ids])
    n, pos = len(y), y.sum()
    weight = np.where(y > 0, n / (2 * pos), n / (2 * (n - pos)))
    residual = weight * (sigmoid(x @ model.coef + model.intercept) - y)
    assert np.abs(x.T @ residual + model.coef / c).max() < 1e-5
    assert abs(residual.sum()) < 1e-5
    # idf as scikit-learn smooths it: ln((1 + n) / (1 + df)) + 1
    assert model.idf[index["q_name"]] == pytest.approx(math.log(9 / 5) + 1)


def test_words_it_never_saw_leave_only_the_intercept() -> None:
    model = LinearTextModel.fit(TEXTS, LABELS)
    assert model.decision(["unseen words only"]) == pytest.approx([model.intercept])


def test_same_data_same_model_and_json_round_trip(tmp_path: Path) -> None:
    a = LinearTextModel.fit(TEXTS, LABELS)
    b = LinearTextModel.fit(TEXTS, LABELS)
    a.save(tmp_path / "a.json")
    b.save(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    loaded = LinearTextModel.load(tmp_path / "a.json")
    assert loaded.decision(TEXTS) == pytest.approx(a.decision(TEXTS), abs=1e-5)
    assert set(json.loads((tmp_path / "a.json").read_text())) == {"about", "intercept", "words"}
