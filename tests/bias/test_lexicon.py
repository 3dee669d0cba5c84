"""The shipped bias lexicon and its one-pass matcher: multi-word terms, plurals, case, boundaries, spans."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from curator.bias.lexicon import BUILD_SCRIPT, LexiconMissing, default_lexicon_path, load_lexicon

LEXICON = load_lexicon()


def found(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(matched text, identity (axis, group) pairs) of every term the matcher finds."""
    return [(text[s:e], [(t.axis, t.group) for t in entry.identity]) for s, e, entry in LEXICON.find(text)]


def test_the_shipped_lexicon_has_13_axes_a_version_and_attribution() -> None:
    data = json.loads(default_lexicon_path().read_text(encoding="utf-8"))
    assert data["version"] == LEXICON.version == "2.0.0"
    assert data["built_by"] == BUILD_SCRIPT
    assert {a["licence"] for a in data["attribution"]} == {"CC BY-SA 4.0", "MIT", "Apache-2.0"}
    assert sorted(LEXICON.axes) == [
        "ability",
        "age",
        "body_type",
        "characteristics",
        "cultural",
        "gender_and_sex",
        "nationality",
        "nonce",
        "political_ideologies",
        "race_ethnicity",
        "religion",
        "sexual_orientation",
        "socioeconomic_class",
    ]
    assert len(LEXICON.occupations) == 40
    assert LEXICON.occupations["nurse"] == "female" and LEXICON.occupations["carpenter"] == "male"


def test_matching_is_one_compiled_pattern() -> None:
    assert isinstance(LEXICON.pattern, re.Pattern)
    assert LEXICON.pattern.flags & re.IGNORECASE


def test_multi_word_terms_win_over_their_parts() -> None:
    assert found("a Native American elder") == [
        ("Native American", [("race_ethnicity", "indigenous")]),
        ("elder", []),
    ]
    assert found("Latin American") == [("Latin American", [("race_ethnicity", "latinx")])]


def test_hyphens_and_spaces_are_interchangeable_inside_a_term() -> None:
    for text in ("African-American", "African American", "African -  American", "African\nAmerican"):
        assert found(text) == [(text, [("race_ethnicity", "black")])]


def test_plurals_case_and_curly_apostrophes() -> None:
    assert found("MUSLIMS and muslims") == [
        ("MUSLIMS", [("religion", "muslim")]),
        ("muslims", [("religion", "muslim")]),
    ]
    assert found("Jehovah\u2019s Witnesses") == [
        ("Jehovah\u2019s Witnesses", [("religion", "jehovahs_witness")])
    ]
    assert found("Baha'i") == [("Baha'i", [("religion", "bahai")])]
    assert found("Bah\u00e1'\u00ed") == [("Bah\u00e1'\u00ed", [("religion", "bahai")])]
    assert LEXICON.entries["muslims"].plural and not LEXICON.entries["muslim"].plural


def test_terms_end_at_word_boundaries() -> None:
    assert found("transistor Muslimness manage theory") == []
    assert found("LGBTQ+ rights") == [
        ("LGBTQ+", [("gender_and_sex", "queer"), ("sexual_orientation", "queer")])
    ]


def test_spans_index_the_text() -> None:
    text = "Caf\u00e9 owners: two Deaf women and a Sikh man."
    spans = [(s, e) for s, e, _ in LEXICON.find(text)]
    assert spans == [(17, 21), (22, 27), (34, 38), (39, 42)]
    assert [text[s:e] for s, e in spans] == ["Deaf", "women", "Sikh", "man"]


def test_acronyms_only_count_in_their_own_spelling() -> None:
    mtf = LEXICON.entries["mtf"]
    assert mtf.cased_forms == frozenset({"MTF"})


def test_a_missing_lexicon_names_the_build_script(tmp_path: Path) -> None:
    with pytest.raises(LexiconMissing, match=re.escape(BUILD_SCRIPT)):
        load_lexicon(tmp_path / "nope.json")
