"""Grounding: unsupported words, numbers and entities are found and quoted; sentence support is measured."""

from __future__ import annotations

import math

import numpy as np
import pytest

from curator.quality.grounding import FEATURES, ContextIndex, GroundingScorer, analyse, entities, spans
from tests.support.fake_encoder import FakeEncoder

KNOWLEDGE = (
    "The Oberoi family is an Indian family that is famous for its involvement in hotels, namely through "
    "The Oberoi Group. The Oberoi Group is a hotel company with its head office in Delhi."
)
QUESTION = "The Oberoi family is part of a hotel company that has a head office in what city?"


def test_a_supported_answer_has_nothing_to_quote() -> None:
    report = analyse(QUESTION, "Delhi", ContextIndex([KNOWLEDGE]))
    assert report.unsupported_spans == [] and report.unsupported_entities == []
    assert report.features["unsupported_words"] == 0.0
    assert report.describe() == "no unsupported span found"


def test_unsupported_entities_numbers_and_words_are_quoted() -> None:
    report = analyse(
        QUESTION, "Mumbai, the financial capital of India, since 1934.", ContextIndex([KNOWLEDGE])
    )
    assert report.unsupported_spans == ["Mumbai", "financial capital of India", "1934"]
    assert report.unsupported_entities == ["India"]
    assert report.unsupported_numbers == ["1934"]
    assert report.features["unsupported_words"] == pytest.approx(
        math.log1p(4)
    )  # Mumbai financial capital since
    assert report.describe() == (
        'entities "India"; numbers "1934"; words "Mumbai", "financial capital of India"'
    )


def test_numbers_match_by_value_and_stems_match_inflections() -> None:
    index = ContextIndex(["The city had 1,200 residents and two founding families in 1850."])
    assert (
        index.supports_number("1200") and index.supports_number("1,200") and not index.supports_number("1300")
    )
    assert (
        index.supports_word("families") and index.supports_word("Family") and index.supports_word("founded")
    )
    assert spans("It had 1200 residents, founded by families.", index) == []


def test_entities_are_capitalised_runs_not_sentence_openers() -> None:
    assert entities("The Shins, who released Port of Morrow in 2012, are from Santa Fe, New Mexico.") == [
        "Shins",
        "Port of Morrow",
        "Santa Fe",
        "New Mexico",
    ]


def test_scorer_adds_sentence_support_with_one_encoder_call() -> None:
    encoder = FakeEncoder()
    scorer = GroundingScorer(encoder.encode)
    batch = [
        (QUESTION, "The head office of the hotel company is in Delhi.", [KNOWLEDGE]),
        (QUESTION, "Penguins swim fast with flipper wings.", [KNOWLEDGE]),
    ]
    good, bad = scorer.reports(batch)
    assert len(encoder.calls) == 1
    assert good.features["min_sentence_support"] > bad.features["min_sentence_support"]
    assert bad.weakest_sentence == "Penguins swim fast with flipper wings."
    assert good.vector().shape == (len(FEATURES),)
    assert np.isfinite(good.vector()).all()


def test_no_context_sentence_means_no_support() -> None:
    (report,) = GroundingScorer(FakeEncoder().encode).reports([("q", "An answer.", [""])])
    assert report.features["min_sentence_support"] == 0.0
