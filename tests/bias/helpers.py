"""Checks for bias tests that run the real pipeline: this project's dedup checks, the bias check, and
the semantic check on the fake encoder (none of the other, model-backed checks)."""

from __future__ import annotations

from curator.checks.base import Check
from curator.checks.bias import BiasCheck
from curator.checks.empty import EmptyCheck
from curator.checks.exact_duplicate import ExactDuplicateCheck
from curator.checks.near_duplicate import NearDuplicateCheck
from curator.checks.semantic import SemanticCheck
from curator.embeddings.embedder import Embedder
from curator.settings import Settings
from tests.support.fake_encoder import FakeEncoder


def bias_pipeline_checks(settings: Settings | None = None) -> list[Check]:
    settings = settings or Settings()
    return [
        EmptyCheck(),
        BiasCheck.from_settings(settings),
        ExactDuplicateCheck(),
        NearDuplicateCheck(),
        SemanticCheck(Embedder(settings.embeddings, encoder=FakeEncoder())),
    ]
