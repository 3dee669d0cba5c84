"""The near-duplicate benchmark's perturbations and its exact Jaccard (fast: no benchmark is run)."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from benchmarks.perturb import (
    BOILERPLATE_PREFIXES,
    BOILERPLATE_SUFFIXES,
    boilerplate,
    casing,
    edit_count,
    jaccard_of_sets,
    operators,
    perturb_record,
    perturb_text,
    punctuation,
    sentence_reorder,
    shingles,
    similar_pairs,
    true_jaccard,
    typo,
    vocabulary_from,
    word_drop,
    word_insert,
    word_swap,
)
from curator.domain.normalize import normalize, words

TEXT = (
    "The quick brown fox jumps over the lazy dog. It was a sunny day, and the fox felt great! "
    "Later, the dog chased the fox around the old barn.\nNobody won."
)
VOCAB = ["apple", "river", "window", "silver"]
RECORD = {
    "instruction": "Describe what the fox did on a sunny day.",
    "input": "",
    "output": TEXT,
}


def toks(text: str) -> list[str]:
    return words(normalize(text))


# --------------------------------------------------------------------------- true Jaccard


def test_true_jaccard_hand_computed_trigrams() -> None:
    # {(a,b,c), (b,c,d)} vs {(a,b,c), (b,c,e)}: 1 shared of 3.
    assert true_jaccard("a b c d", "a b c e", 3) == pytest.approx(1 / 3)
    # {(a,b,c),(b,c,d),(c,d,e)} vs {(a,b,c),(b,c,d)}: 2 of 3.
    assert true_jaccard("a b c d e", "a b c d", 3) == pytest.approx(2 / 3)


def test_true_jaccard_unigrams_are_sets() -> None:
    # {the, cat, dog} vs {the, cat}; repeats do not count twice.
    assert true_jaccard("the cat the dog", "the cat", 1) == pytest.approx(2 / 3)


def test_short_texts_are_one_whole_shingle() -> None:
    assert shingles("hello world", 3) == {("hello", "world")}
    assert true_jaccard("a b", "a b c", 3) == 0.0  # {(a,b)} vs {(a,b,c)}
    assert true_jaccard("a b", "a b", 3) == 1.0


def test_identical_and_normalisation_equivalent_texts_are_one() -> None:
    assert true_jaccard(TEXT, TEXT, 3) == 1.0
    # Case, punctuation, spacing and NFKC forms (the "fi" ligature) vanish before shingling.
    assert true_jaccard("Hello,  WORLD! ﬁne day", "hello world fine day.", 2) == 1.0


def test_empty_texts() -> None:
    assert shingles("", 3) == set()
    assert shingles(" ... !", 3) == set()
    assert true_jaccard("", "", 3) == 1.0
    assert true_jaccard("", "word", 3) == 0.0
    assert jaccard_of_sets(set(), set()) == 1.0


def test_shingle_count_matches_the_checks_hashing() -> None:
    from curator.dedup.minhash import shingle_hashes  # numpy; kept out of the module import

    for text in (TEXT, "one", "two words", "a b a b a b", RECORD["instruction"]):
        for size in (1, 2, 3, 5):
            distinct_hashes = len(set(shingle_hashes(words(normalize(text)), size).tolist()))
            assert distinct_hashes == len(shingles(text, size))


def test_similar_pairs_matches_brute_force() -> None:
    rng = random.Random(7)
    universe = [(f"w{i}",) for i in range(30)]
    sets = []
    for _ in range(60):
        base = set(rng.sample(universe, rng.randint(1, 12)))
        sets.append(base)
        if rng.random() < 0.5:  # a near copy
            copy = set(base)
            if copy and rng.random() < 0.7:
                copy.discard(rng.choice(sorted(copy)))
            copy.add(rng.choice(universe))
            sets.append(copy)
    for threshold in (0.5, 0.8, 1.0):
        expected = {
            (i, j): jaccard_of_sets(sets[i], sets[j])
            for i, j in itertools.combinations(range(len(sets)), 2)
            if jaccard_of_sets(sets[i], sets[j]) >= threshold
        }
        assert similar_pairs(sets, threshold) == pytest.approx(expected)


# --------------------------------------------------------------------------- operators


@pytest.mark.parametrize("seed", range(25))
def test_typo_changes_exactly_one_word(seed: int) -> None:
    out = typo(TEXT, random.Random(seed))
    assert out is not None and out != TEXT
    before, after = toks(TEXT), toks(out)
    assert len(before) == len(after)
    assert sum(a != b for a, b in zip(before, after, strict=True)) == 1


@pytest.mark.parametrize("seed", range(10))
def test_word_drop_insert_swap(seed: int) -> None:
    before = toks(TEXT)
    dropped = word_drop(TEXT, random.Random(seed))
    assert dropped is not None and dropped != TEXT
    assert len(toks(dropped)) == len(before) - 1

    inserted = word_insert(TEXT, random.Random(seed), VOCAB)
    assert inserted is not None and inserted != TEXT
    extra = Counter(toks(inserted)) - Counter(before)
    assert sum(extra.values()) == 1 and next(iter(extra)) in VOCAB

    swapped = word_swap(TEXT, random.Random(seed))
    assert swapped is not None and swapped != TEXT
    assert Counter(toks(swapped)) == Counter(before) and toks(swapped) != before


@pytest.mark.parametrize("seed", range(10))
def test_casing_and_punctuation_change_the_text_not_its_words(seed: int) -> None:
    for op in (casing, punctuation):
        out = op(TEXT, random.Random(seed))
        assert out is not None and out != TEXT
        assert toks(out) == toks(TEXT)
        assert true_jaccard(out, TEXT, 3) == 1.0
    # Casing alone is even invisible to the exact-duplicate check's normalisation.
    assert normalize(casing(TEXT, random.Random(seed))) == normalize(TEXT)


@pytest.mark.parametrize("seed", range(10))
def test_boilerplate_adds_a_known_prefix_or_suffix(seed: int) -> None:
    out = boilerplate(TEXT, random.Random(seed))
    assert out is not None and out != TEXT
    added = [p for p in BOILERPLATE_PREFIXES if out == f"{p} {TEXT}"]
    added += [s for s in BOILERPLATE_SUFFIXES if out == f"{TEXT} {s}"]
    assert added


@pytest.mark.parametrize("seed", range(10))
def test_sentence_reorder_keeps_the_sentences(seed: int) -> None:
    out = sentence_reorder(TEXT, random.Random(seed))
    assert out is not None and out != TEXT
    assert Counter(toks(out)) == Counter(toks(TEXT))
    assert true_jaccard(out, TEXT, 3) < 1.0


def test_operators_decline_when_they_cannot_apply() -> None:
    rng = random.Random(0)
    assert word_drop("single", rng) is None
    assert word_swap("same same", rng) is None
    assert sentence_reorder("Only one sentence here", rng) is None
    assert typo("a 1 2 ?", rng) is None
    assert word_insert("text", rng, []) is None


def test_every_operator_changes_the_text() -> None:
    for name, op in operators(VOCAB).items():
        out = op(TEXT, random.Random(3))
        assert out is not None and out != TEXT, name


# --------------------------------------------------------------------------- records


def test_perturbation_is_deterministic_per_seed() -> None:
    ops = operators(VOCAB)
    first = perturb_record(RECORD, random.Random(42), 6, ops)
    again = perturb_record(RECORD, random.Random(42), 6, ops)
    assert first == again
    others = {perturb_record(RECORD, random.Random(s), 6, ops)[0]["output"] for s in range(10)}
    assert len(others) > 5


def test_perturb_record_applies_the_requested_number_of_edits() -> None:
    ops = operators(VOCAB)
    for seed in range(20):
        copy, applied = perturb_record(RECORD, random.Random(seed), 5, ops)
        assert len(applied) == 5
        assert set(applied) <= set(ops)
        assert copy["input"] == RECORD["input"]
        assert copy != RECORD


def test_more_edits_mean_lower_jaccard_on_average() -> None:
    ops = operators(VOCAB)
    full = "\n".join((RECORD["instruction"], RECORD["output"]))

    def mean_jaccard(n_ops: int) -> float:
        values = []
        for seed in range(40):
            copy, _ = perturb_record(RECORD, random.Random(seed), n_ops, ops)
            values.append(true_jaccard(full, "\n".join((copy["instruction"], copy["output"])), 3))
        return sum(values) / len(values)

    assert mean_jaccard(1) > mean_jaccard(4) > mean_jaccard(12)


def test_perturb_text_skips_inapplicable_operators() -> None:
    text, applied = perturb_text("word", random.Random(1), 3, operators(VOCAB))
    assert len(applied) == 3 and text != "word"
    assert not {"word_drop", "word_swap", "sentence_reorder"} & set(applied)


def test_edit_count_is_at_least_one_and_seeded() -> None:
    counts = [edit_count(60, random.Random(s), 0.09) for s in range(200)]
    assert min(counts) >= 1 and max(counts) <= 7
    assert counts == [edit_count(60, random.Random(s), 0.09) for s in range(200)]


def test_vocabulary_from_keeps_repeated_lowercase_words() -> None:
    vocab = vocabulary_from(["The cat sat.", "the CAT ran", "a dog"])
    assert vocab == ["cat", "the"]
