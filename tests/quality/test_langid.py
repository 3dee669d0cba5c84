"""Language identification: scripts, n-gram profiles checked by function words, abstention."""

from __future__ import annotations

import json

import pytest

from curator.quality import default_model_dir
from curator.quality.langid import LanguageIdentifier, build_profiles


@pytest.fixture(scope="module")
def lid() -> LanguageIdentifier:
    return LanguageIdentifier.load(default_model_dir() / "langid.json")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The results of the study show that sleep affects memory and the mood of people.", "en"),
        ("La fotosíntesis es el proceso mediante el cual las plantas usan la luz del sol.", "es"),
        ("La photosynthèse est le processus par lequel les plantes utilisent la lumière du soleil.", "fr"),
        ("Die Photosynthese ist der Prozess, bei dem grüne Pflanzen das Sonnenlicht nutzen.", "de"),
        ("La fotosintesi è il processo con cui le piante usano la luce del sole per il cibo.", "it"),
        ("A fotossíntese é o processo pelo qual as plantas usam a luz do sol para produzir.", "pt"),
        ("Fotosynthese is het proces waarbij groene planten zonlicht gebruiken om voedsel te maken.", "nl"),
        ("光合作用是绿色植物利用阳光制造食物的过程。", "zh"),
        ("Фотосинтез — это процесс, при котором зелёные растения используют солнечный свет.", "cyrillic"),
    ],
)
def test_identifies_confidently(lid: LanguageIdentifier, text: str, language: str) -> None:
    guess = lid.identify(text)
    assert guess is not None and guess.language == language and guess.confident


def test_abstains_or_is_unsure_on_little_evidence(lid: LanguageIdentifier) -> None:
    assert lid.identify("Positive") is None
    guess = lid.identify("Determined, relentless, passionate, focused, ambitious.")
    assert guess is not None and not guess.confident


def test_the_shipped_profiles_are_the_seed_corpus_counted() -> None:
    shipped = json.loads((default_model_dir() / "langid.json").read_text(encoding="utf-8"))["profiles"]
    assert shipped == build_profiles(default_model_dir() / "langid_seed")
