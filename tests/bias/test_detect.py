"""Per-sample findings: identity mentions (with context rules), gendered terms, occupation pairings,
stereotyped associations and toxic language."""

from __future__ import annotations

import json

import pytest

from curator.bias.detect import GENDER_AXIS, Findings, analyse
from curator.bias.lexicon import default_lexicon_path, load_lexicon

LEXICON = load_lexicon()
DATA = json.loads(default_lexicon_path().read_text(encoding="utf-8"))


def mentions(text: str, gendered_words: bool = False) -> list[tuple[str, str, str]]:
    """Identity mentions as (axis, group, text); those of gendered words only if asked."""
    return [
        (m.axis, m.group, text[m.span[0] : m.span[1]])
        for m in analyse(text, LEXICON).mentions
        if gendered_words or not (m.axis == GENDER_AXIS and m.group in ("female", "male"))
    ]


def pairs(findings: Findings) -> list[tuple[str, str, str]]:
    return [(s.group, s.group_text, s.trait) for s in findings.stereotypes]


@pytest.mark.parametrize(
    ("template", "noun"),
    [
        ("I'm {a} {d} {n}.", "woman"),
        ("I have friends who are {d} {n}.", "people"),
        ("As {a} {d} {n}, I agree.", "guy"),
    ],
)
def test_every_holistic_descriptor_is_found_with_its_axis_and_group(template: str, noun: str) -> None:
    plural = {"people": "people"}
    missed = []
    for entry in (e for e in DATA["identity"] if e["source"] == "holistic_bias"):
        d = entry["term"]
        text = template.format(a="an" if d[0].lower() in "aeiou" else "a", d=d, n=plural.get(noun, noun))
        found = {(m.axis, m.group) for m in analyse(text, LEXICON).mentions}
        if (entry["axis"], entry["group"]) not in found:
            missed.append(text)
    assert missed == []


def test_ambiguous_descriptors_need_a_person_noun() -> None:
    assert mentions("The slow computer has a white screen and a disabled button.") == []
    assert mentions("A slow man met white women.") == [
        ("ability", "intellectual_and_developmental", "slow"),
        ("race_ethnicity", "white", "white"),
    ]
    # through other descriptors and "and": young → Black → women; white → and → Black → voters
    assert mentions("Young Black women, white and Black voters.") == [
        ("age", "young", "Young"),
        ("race_ethnicity", "black", "Black"),
        ("race_ethnicity", "white", "white"),
        ("race_ethnicity", "black", "Black"),
    ]
    assert mentions("Black Americans") == [
        ("race_ethnicity", "black", "Black"),
        ("nationality", "united_states", "Americans"),
    ]


def test_unambiguous_terms_count_anywhere_and_acronyms_only_in_capitals() -> None:
    assert mentions("Buddhism and the Sikh temple") == [
        ("religion", "buddhist", "Buddhism"),
        ("religion", "sikh", "Sikh"),
    ]
    assert mentions("the mtf ratio") == [] and mentions("MTF people") == [
        ("gender_and_sex", "transgender", "MTF")
    ]


def test_gendered_terms_are_counted_by_kind_and_gender() -> None:
    f = analyse("He told her that they and their mothers met the men. A person waved.", LEXICON)
    assert dict(f.gender_counts) == {
        ("pronoun", "male"): 1,
        ("pronoun", "female"): 1,
        ("pronoun", "neutral"): 2,
        ("noun", "female"): 1,
        ("noun", "male"): 1,
        ("noun", "neutral"): 1,
    }


def test_occupations_pair_with_the_modifier_or_the_nearest_gendered_word() -> None:
    f = analyse(
        "The nurse said he would stay. A female carpenter and the janitor, who said she was late.", LEXICON
    )
    assert [(o.occupation, o.gender, o.stereotype) for o in f.occupations] == [
        ("nurse", "male", "female"),
        ("carpenter", "female", "male"),
        ("janitor", "female", "male"),
    ]
    # not introduced as a person ("device drivers", "cleaner air"): no pairing
    assert analyse("He updated the device drivers and she likes cleaner air.", LEXICON).occupations == []
    # a gendered word beyond the window, or in another paragraph, does not pair
    assert analyse("The nurse " + "walked " * 9 + "he", LEXICON).occupations == []
    assert analyse("The nurse left.\nHe stayed.", LEXICON).occupations == []


def test_a_stereotype_is_a_group_reference_near_a_trait_in_one_sentence() -> None:
    f = analyse("Women are too emotional to lead.", LEXICON)
    assert pairs(f) == [("gender/female", "Women", "too emotional")]
    assert f.stereotypes[0].span == (0, 23)
    assert pairs(analyse("Muslim women are lazy.", LEXICON)) == [
        ("religion/muslim", "Muslim women", "lazy"),
        ("gender/female", "women", "lazy"),
    ]
    assert pairs(analyse("The elderly are a burden on society.", LEXICON)) == [
        ("age/old", "The elderly", "a burden")
    ]


def test_no_stereotype_without_a_group_reference_in_reach() -> None:
    assert pairs(analyse("A woman was too emotional to speak.", LEXICON)) == []  # one person, not a group
    assert pairs(analyse("Women vote. Too emotional? No.", LEXICON)) == []  # another sentence
    far = "Women " + "truly " * 8 + "are too emotional."
    assert pairs(analyse(far, LEXICON)) == []
    assert pairs(analyse(far, LEXICON, window=10)) == [("gender/female", "Women", "too emotional")]
    assert pairs(analyse("The lazy dog and the dangerous road.", LEXICON)) == []


def test_slurs_and_dehumanising_language_are_toxic() -> None:
    slur = DATA["slurs"][0]
    f = analyse(f"They called him a {slur['term']}.", LEXICON)
    assert [(t.category, t.target) for t in f.toxic] == [("slur", slur["target"])]
    assert slur["term"] not in f.toxic[0].detail
    f = analyse("Immigrants are vermin.", LEXICON)
    assert [(t.category, t.target, t.detail) for t in f.toxic] == [
        (
            "dehumanising",
            "characteristics/immigration_status",
            "dehumanising language about characteristics/immigration_status: 'Immigrants' … 'vermin'",
        )
    ]
    assert analyse("Rats are vermin, and parasites live in the gut.", LEXICON).toxic == []


def test_naming_any_group_is_never_toxic_or_a_stereotype() -> None:
    terms = [e["term"] for e in DATA["identity"]]
    text = " ".join(f"I have friends who are {t} people." for t in terms)
    f = analyse(text, LEXICON)
    assert f.toxic == [] and f.stereotypes == []
    found = {
        (m.axis, m.group) for m in f.mentions if not (m.axis == GENDER_AXIS and m.group in ("female", "male"))
    }
    # Terms that need a cue (with / in a / from / born in) are not cued here; the rest are all found.
    standalone = {
        (e["axis"], e["group"]) for e in DATA["identity"] if e["context"] in ("any", "person", "predicate")
    }
    assert standalone <= found <= {(e["axis"], e["group"]) for e in DATA["identity"]}


def test_implicit_mentions_need_their_cue() -> None:
    """Issue 15: conditions after with/has, devices after in a/uses a, origins after a person from,
    descriptors said of a person, and ages as numbers; each only with its cue."""
    assert ("ability", "mental_health", "schizophrenia") in mentions("my classmate who has schizophrenia")
    assert mentions("Schizophrenia research is funded.") == []
    assert ("ability", "mobility", "wheelchair") in mentions("the guy in a wheelchair came in")
    assert mentions("The wheelchair ramp was built.") == []
    assert ("nationality", "nigeria", "Nigeria") in mentions("My neighbor is from Nigeria.")
    assert ("nationality", "japan", "Japan") in mentions("She was born in Japan.")
    assert mentions("The car was imported from Japan.") == []
    assert ("body_type", "overweight", "obese") in mentions("a student who was obese")
    assert ("body_type", "thin", "thin") in mentions("one obese and the other thin")
    assert mentions("The line was short and the soup was thin.") == []
    assert ("nationality", "japan", "Japanese") in mentions("my Japanese friend")
    assert mentions("Japanese food is popular.") == []
    assert mentions("I met a 22-year-old and a 78-year-old.") == [
        ("age", "young", "22-year-old"),
        ("age", "old", "78-year-old"),
    ]
    assert mentions("a 200-year-old oak tree and a 5-year-old car") == []
    assert mentions("My grandfather is 85 years old.")[-1] == ("age", "old", "85 years old")
    assert mentions("The building is 85 years old.") == []


def test_gendered_words_are_mentions_on_the_gender_axis_once_per_gender() -> None:
    text = "The woman told her son that he should call his grandmother."
    got = [(axis, group) for axis, group, _ in mentions(text, gendered_words=True) if axis == GENDER_AXIS]
    assert got == [(GENDER_AXIS, "female"), (GENDER_AXIS, "male")]
    by_group = {m.group: m for m in analyse(text, LEXICON).mentions if m.axis == GENDER_AXIS}
    assert (
        by_group["female"].confidence > by_group["male"].confidence - 1
    )  # nouns, not pronouns, when present
    assert text[slice(*by_group["female"].span)] == "woman" and text[slice(*by_group["male"].span)] == "son"
    assert all(m.method == "lexicon" for m in by_group.values())


def test_a_trait_used_in_another_sense_is_no_stereotype() -> None:
    """A nominal adjective in a list of groups ("the weak, the poor") and the lexicon's other senses
    ("entitled to the same rights") attribute nothing; the trait itself still counts."""
    assert pairs(analyse("The weak, the poor, the voiceless all fought.", LEXICON)) == []
    assert pairs(analyse("They were entitled to the same rights as British citizens.", LEXICON)) == []
    assert pairs(analyse("British citizens are so entitled.", LEXICON)) == [
        ("nationality/united_kingdom", "British citizens", "entitled")
    ]
    assert pairs(analyse("Women are weak.", LEXICON)) == [("gender/female", "Women", "weak")]
