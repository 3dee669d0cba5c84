"""The eval-item n-gram index: what matches, what is boilerplate, and what is too short to count."""

from __future__ import annotations

from curator.dedup.ngrams import NgramIndex

ITEM = "Which magazine was started first, Arthur's Magazine or First for Women?"


def test_a_shared_ngram_is_found_and_quoted_after_normalisation() -> None:
    index = NgramIndex([("gold:q1", ITEM)], n=5)
    text = "Quiz time!  WHICH magazine was STARTED first, arthur's magazine or First for Women? Go."
    found = index.find(text)
    assert found is not None and found.key == "gold:q1"
    assert " ".join(found.gram) == "which magazine was started first"
    assert index.find("Magazines were started in the nineteenth century by many people.") is None


def test_boilerplate_held_by_many_items_does_not_match_alone() -> None:
    animals = ["cat", "dog", "fox", "owl", "elk"]
    items = [(f"gold:q{k}", f"which of the following is a {w}") for k, w in enumerate(animals)]
    index = NgramIndex(items, n=4, boilerplate_items=5)
    assert index.boilerplate >= 1
    assert index.find("Tell me which of the following is true about whales.") is None
    assert index.find("which of the following is a fox") is not None  # its own n-grams still count


def test_items_shorter_than_n_match_as_a_whole_from_min_words() -> None:
    index = NgramIndex([("gold:a", "Name the capital of Peru"), ("gold:b", "New York")], n=8, min_words=4)
    assert index.skipped == 1  # "New York": too short to tell a leak from a mention
    found = index.find("Quick one: name the capital of Peru, please.")
    assert found is not None and found.key == "gold:a" and len(found.gram) == 5
    assert index.find("I love New York in June.") is None
    assert index.find("Name the capital city of Peru") is None  # not the whole item
