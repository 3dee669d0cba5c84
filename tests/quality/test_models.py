"""The shipped artefacts: they load from models/quality, score as expected, stay small, hold no pickles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from curator.quality import default_model_dir
from curator.quality.calibration import Logistic
from curator.quality.classifier import LABELS, IdentityMask, fasttext_text, predict_texts
from curator.quality.judgement import NO_CONTEXT_FEATURES
from curator.quality.models import Calibration, ModelMissing, QualityModels
from curator.quality.train import CONTEXT_FEATURES, MODEL_FILES

MODELS = default_model_dir()
PAIRS = [
    (
        "Explain photosynthesis.",
        "Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make"
        " glucose and oxygen.",
    ),
    (
        "Who won the most Oscars in the 21st century?",
        "As an AI language model, I do not have access to real-time data. However, Walt Disney won 22 Oscars"
        " in 1954.",
    ),
]


@pytest.fixture(scope="module")
def models() -> QualityModels:
    m = QualityModels(MODELS)
    m.load()
    return m


def test_every_artefact_ships_and_the_classifiers_fit_in_10_mb() -> None:
    for name in (*MODEL_FILES, "MODEL_CARD.md", "training_report.json"):
        assert (MODELS / name).is_file(), name
    classifiers = (
        "hallucination.ftz",
        "quality.ftz",
        "hallucination_linear.json",
        "hallucination_embedding.json",
    )
    assert sum((MODELS / n).stat().st_size for n in classifiers) <= 10 * 1024 * 1024
    assert not list(MODELS.rglob("*.pkl")) and not list(MODELS.rglob("*.pickle"))


def test_the_classifiers_load_and_score_the_shipped_way(models: QualityModels) -> None:
    hallucination = models.hallucination.predict(PAIRS)
    quality = models.quality.predict(PAIRS)
    assert hallucination.shape == quality.shape == (2, len(LABELS))
    assert np.allclose(hallucination.sum(axis=1), 1.0, atol=1e-4)
    assert hallucination[:, LABELS.index("hallucinated")] == pytest.approx([0.0604, 0.5835], abs=1e-3)
    assert quality[:, LABELS.index("good")] == pytest.approx([0.9725, 0.0718], abs=1e-3)


def test_the_tfidf_model_loads_and_ranks_the_ai_disclaimer_higher(models: QualityModels) -> None:
    logits = models.linear.decision(models.hallucination.texts(PAIRS))
    assert logits.shape == (2,) and logits[1] > logits[0]


def test_the_pooled_embedding_model_loads_and_ranks_the_ai_disclaimer_higher(models: QualityModels) -> None:
    prompts, responses = [p for p, _ in PAIRS], [r for _, r in PAIRS]
    logits = models.pooled.decision(models.token_vectors, prompts, responses, models.hallucination.mask)
    assert logits.shape == (2,) and logits[1] > logits[0]


def test_predictions_match_fasttexts_own_single_text_predict(models: QualityModels) -> None:
    model = models.hallucination.load()
    texts = [fasttext_text(p, r) for p, r in PAIRS]
    rows = predict_texts(model, texts)
    for row, text in zip(rows, texts, strict=True):
        own = dict((label, p) for p, label in model.f.predict(text, 3, 0.0, "strict"))
        assert row[LABELS.index("hallucinated")] == pytest.approx(own["__label__hallucinated"])


def test_group_names_are_masked_before_the_classifier_sees_them(models: QualityModels) -> None:
    mask = models.hallucination.mask
    text = fasttext_text("Introduce yourself.", "I am a gay Muslim woman.", mask)
    assert "gay" not in text.split() and "muslim" not in text.split()
    assert text.split()[:8] == [
        "q_introduce",
        "q_yourself",
        "i",
        "__group",
        "__group",
        "__group",
        "__len2",
        "__plen0",
    ]
    assert IdentityMask(["hard-of-hearing"]).apply(["a", "hard", "of", "hearing", "man"]) == [
        "a",
        "__group",
        "man",
    ]


def test_calibration_is_plain_json_with_the_features_the_code_computes() -> None:
    data = json.loads((MODELS / "calibration.json").read_text())
    assert tuple(data["no_context"]["hallucination"]["features"]) == NO_CONTEXT_FEATURES
    assert tuple(data["context"]["hallucination"]["features"]) == CONTEXT_FEATURES
    cal = Calibration.load(MODELS / "calibration.json")
    assert isinstance(cal.quality, Logistic) and cal.quality.coef[0] > 0  # Platt: monotone increasing
    assert set(data["qa_split"]["calibration"]).isdisjoint(data["qa_split"]["evaluation"])


def test_a_missing_artefact_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="curator train quality"):
        _ = QualityModels(tmp_path).calibration


def test_warm_up_without_models_only_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from curator.checks.quality import HallucinationCheck, HeuristicsCheck
    from curator.embeddings.embedder import Embedder
    from curator.settings import EmbeddingSettings

    models = QualityModels(tmp_path)
    HeuristicsCheck(models).warm_up()
    HallucinationCheck(Embedder(EmbeddingSettings()), models).warm_up()
    assert "curator train quality" in caplog.text
