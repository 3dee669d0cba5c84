"""The pooled-embedding model: MiniLM's token vectors, mean-pooled, under a logistic regression."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from curator.embeddings.model import ModelUnavailable
from curator.quality.calibration import auroc, sigmoid
from curator.quality.classifier import IdentityMask
from curator.quality.pooled import PooledEmbeddingModel, TokenVectors, features

PROMPTS = ["Name a planet.", "Name a river.", "Invent a story.", "Invent a poem."] * 3
RESPONSES = [
    "Mercury is the closest planet to the sun.",
    "The Nile flows through Egypt.",
    "Once upon a time a dragon guarded a castle.",
    "The moon sang softly to the sleeping sea.",
] * 3
LABELS = [False, False, True, True] * 3


@pytest.fixture(scope="module")
def vectors() -> TokenVectors:
    return TokenVectors.shared()


def test_pooled_vectors_are_unit_means_of_the_token_vectors(vectors: TokenVectors) -> None:
    pooled = vectors.pool(["planet", "", "the planet"])
    ids = vectors.tokenizer.encode("the planet", add_special_tokens=False).ids
    mean = vectors.table[ids].mean(axis=0)
    assert np.allclose(pooled[2], mean / np.linalg.norm(mean), atol=1e-6)
    assert np.linalg.norm(pooled[0]) == pytest.approx(1.0)
    assert not pooled[1].any()  # no tokens, no vector
    assert vectors.table.shape == (30522, 384)


def test_related_words_pool_closer_than_unrelated_ones(vectors: TokenVectors) -> None:
    """Why this model is there: words the training data never paired still land near each other."""
    a, b, c = vectors.pool(["Jupiter is a planet.", "Saturn is a planet.", "I baked bread today."])
    assert a @ b > a @ c


def test_group_names_are_cut_before_pooling(vectors: TokenVectors) -> None:
    mask = IdentityMask(["women", "native american"])
    assert mask.blank("Native American women, like others, vote.") == " , like others, vote."
    masked = features(vectors, ["Describe women."], ["Women are tall."], mask)
    plain = features(vectors, ["Describe."], ["are tall."])
    assert np.allclose(masked, plain)


def test_fit_is_the_penalised_optimum_and_separates_the_classes(vectors: TokenVectors) -> None:
    x = features(vectors, PROMPTS, RESPONSES)
    c = 0.5
    model = PooledEmbeddingModel.fit(x, LABELS, vectors.sha256, c=c)
    z = (x - model.mean) / model.scale
    y = np.array(LABELS, dtype=float)
    weight = np.where(y > 0, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
    residual = weight * (sigmoid(z @ model.coef + model.intercept) - y)
    assert np.abs(z.T @ residual + model.coef / c).max() < 1e-4
    assert auroc(model.decision(vectors, PROMPTS, RESPONSES), LABELS) == 1.0


def test_json_round_trip_and_refusal_of_other_vectors(vectors: TokenVectors, tmp_path: Path) -> None:
    x = features(vectors, PROMPTS, RESPONSES)
    model = PooledEmbeddingModel.fit(x, LABELS, vectors.sha256, c=0.1)
    model.save(tmp_path / "m.json")
    loaded = PooledEmbeddingModel.load(tmp_path / "m.json")
    assert np.allclose(
        loaded.decision(vectors, PROMPTS, RESPONSES), model.decision(vectors, PROMPTS, RESPONSES)
    )
    stale = PooledEmbeddingModel.fit(x, LABELS, "0" * 64, c=0.1)
    with pytest.raises(ModelUnavailable, match="curator train quality"):
        stale.decision(vectors, PROMPTS, RESPONSES)


def test_a_model_directory_without_the_vectors_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"model\.safetensors is missing"):
        TokenVectors(tmp_path)


def test_the_shipped_model_matches_the_installed_vectors(vectors: TokenVectors) -> None:
    shipped = PooledEmbeddingModel.load(Path("models/quality/hallucination_embedding.json"))
    assert shipped.vectors_sha256 == vectors.sha256
    assert shipped.coef.shape == (2 * vectors.dim,)
