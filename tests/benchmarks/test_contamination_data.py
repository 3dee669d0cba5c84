"""The decontamination development set and its rule-based rewording (fast: no model, no benchmark run)."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.contamination_data import (
    DATA_DIR,
    HALUEVAL_QA,
    NgramIndex,
    build,
    contains_text,
    frame_or_choice,
    frame_stranded_prep,
    frame_trailing_wh,
    load_questions,
    possessive_of,
    reformat_dates,
    reword,
    sample_text,
    shares_ngram,
    split,
    swap_coordination,
    write,
)
from benchmarks.perturb import true_jaccard

# The real data when this checkout sits beside it, else the excerpts shipped with the tests (CI).
FIXTURE = Path(__file__).parent / "fixtures" / "contamination"
SOURCE = DATA_DIR if (DATA_DIR / HALUEVAL_QA).exists() else FIXTURE
QUESTIONS = len(load_questions(SOURCE))
EVAL = QUESTIONS // 2
CLEAN = min(300, len(json.loads((SOURCE / "alpaca_5000.json").read_text())))
COUNTS = {
    "verbatim": EVAL,
    "reworded": EVAL,
    "answered": EVAL,
    "negative": 2 * (QUESTIONS - EVAL),
    "clean": CLEAN,
}


def numbers(text: str) -> Counter[str]:
    return Counter(re.findall(r"\d+", text))


@pytest.fixture(scope="module")
def built() -> tuple[list[dict], list[dict], dict]:
    return build(0, EVAL, data_dir=SOURCE)


# --------------------------------------------------------------------------- n-gram helpers and rules


def test_shares_ngram_and_short_items() -> None:
    item = "Who was born first, Pablo Trapero or Aleksander Ford?"  # 9 words
    assert shares_ngram(item, "Quiz: WHO WAS BORN FIRST pablo trapero or aleksander ford", 13)
    assert not shares_ngram(item, "who was born first pablo trapero or ford", 13)  # not all 9 in a row
    assert shares_ngram(item, "who was born first pablo trapero", 5)
    assert contains_text("Is it A?", "well: is it a. yes") and not contains_text("Is it A?", "is a")
    index = NgramIndex([("x", item), ("y", "a b c d e f g h i j")], 8)
    assert index.hits("so: was born first, Pablo Trapero or Aleksander Ford!") == {"x"}
    assert index.hits("so: was born first, Pablo Trapero or Aleksander!") == set()  # 7 words in a row
    assert index.hits("c d e f g h i j k") == {"y"}


def test_or_choice_reorders_the_clause_and_the_names() -> None:
    rng = random.Random(0)
    outs = {frame_or_choice("Which magazine was started first, Arthur's Magazine or First for Women?", rng)}
    for _ in range(20):
        outs.add(
            frame_or_choice("Which magazine was started first, Arthur's Magazine or First for Women?", rng)
        )
    assert "Between First for Women and Arthur's Magazine, which magazine was started earlier?" in outs
    assert all(o and o.index("First for Women") < o.index("Arthur's Magazine") for o in outs)
    # Without the comma, the comparative ends the clause.
    out = frame_or_choice("Who is older Glenn Hughes or Ross Lynch?", random.Random(1))
    assert out is not None and out.index("Ross Lynch") < out.index("Glenn Hughes") and "older" in out


def test_frames() -> None:
    rng = random.Random(0)
    out = frame_stranded_prep(
        "What city are George Washington University Hospital and MedStar located in?", rng
    )
    assert out is not None and re.match(r"In (which|what) city are George Washington .* located\?$", out)
    out = frame_trailing_wh(
        "The Oberoi family is part of a hotel company that has a head office in what city?", rng
    )
    assert out is not None and "city in which the oberoi family is part of" in out.lower()
    assert not out.rstrip("?.").endswith("what city")
    assert (
        swap_coordination("Are Wenling and Xinzheng both in China?")
        == "Are Xinzheng and Wenling both in China?"
    )
    assert (
        swap_coordination("Are both The New Pornographers and Kings of Leon American rock bands?")
        == "Are both Kings of Leon and The New Pornographers American rock bands?"
    )
    assert swap_coordination("the First and Second World War") is None
    assert reformat_dates("born on January 8, 2006 in") == "born on 8 January 2006 in"
    assert (
        possessive_of("Where did Myra Kraft's husband play?") == "Where did the husband of Myra Kraft play?"
    )


def test_reword_keeps_numbers_and_names_and_changes_the_words() -> None:
    rng = random.Random(3)
    for q in (
        "Which band's song was used as the theme at the Pepsi Arena on January 8, 2006?",
        "The 337th Flight Test Squadron (337 FLTS) was part of the 46th Test Wing in which US state?",
        'Lee Jun-fan played what character in "The Green Hornet" television series?',
        "Who represents the district that Gawthorpe is in?",
    ):
        out, steps = reword(q, rng)
        assert steps and numbers(q) <= numbers(out), (q, out)
        names = [w for w in re.findall(r"\w+", q)[1:] if w[0].isupper()]
        assert all(n in re.findall(r"\w+", out) for n in names), (q, out)
        assert not contains_text(q, out), (q, out)
    assert '"The Green Hornet"' in reword('Lee Jun-fan played what character in "The Green Hornet"?', rng)[0]


# --------------------------------------------------------------------------- the built set


def test_build_is_deterministic(built: tuple[list[dict], list[dict], dict]) -> None:
    again = build(0, EVAL, data_dir=SOURCE)
    assert json.dumps(again, sort_keys=True) == json.dumps(built, sort_keys=True)
    other_eval, _ = split(load_questions(SOURCE), EVAL, random.Random("1:split"))
    assert [f"q{k}" for k in other_eval] != built[2]["split"]["eval_ids"]  # another seed, another split


def test_counts_split_and_ids(built: tuple[list[dict], list[dict], dict]) -> None:
    evalset, samples, meta = built
    assert Counter(s["kind"] for s in samples) == COUNTS
    assert meta["counts"] == {**COUNTS, "total": sum(COUNTS.values())}
    negatives = QUESTIONS - EVAL
    assert meta["negative_styles"] == {"answered": negatives, "verbatim": negatives}
    split = meta["split"]
    assert split["eval"] == len(evalset) == EVAL and split["negative"] == negatives
    assert not set(split["eval_ids"]) & set(split["negative_ids"])
    assert len(set(split["eval_ids"]) | set(split["negative_ids"])) == QUESTIONS
    assert [e["id"] for e in evalset] == split["eval_ids"]
    assert all(e["text"] and e["answer"] for e in evalset)
    ids = [s["id"] for s in samples]
    assert len(set(ids)) == len(ids) and ids == sorted(ids)
    eval_ids = {e["id"] for e in evalset}
    for s in samples:
        assert set(s) >= {"id", "instruction", "input", "output", "kind", "eval_id"}
        if s["kind"] in ("verbatim", "reworded", "answered"):
            assert s["eval_id"] in eval_ids
        else:
            assert s["eval_id"] is None
            if s["kind"] == "negative":
                assert s["source_id"] in split["negative_ids"]
    # One leak of each kind per eval item.
    for kind in ("verbatim", "reworded", "answered"):
        assert sorted(s["eval_id"] for s in samples if s["kind"] == kind) == sorted(eval_ids)


def test_verbatim_and_answered_contain_their_question(built: tuple[list[dict], list[dict], dict]) -> None:
    evalset, samples, _ = built
    text = {e["id"]: e["text"] for e in evalset}
    for s in samples:
        if s["kind"] in ("verbatim", "answered"):
            assert contains_text(text[s["eval_id"]], sample_text(s)), s
    answered = [s for s in samples if s["kind"] == "answered"]
    assert all(len(sample_text(s)) > len(text[s["eval_id"]]) + 40 for s in answered)


def test_reworded_keep_numbers_and_drop_the_verbatim_question(
    built: tuple[list[dict], list[dict], dict],
) -> None:
    evalset, samples, meta = built
    text = {e["id"]: e["text"] for e in evalset}
    reworded = [s for s in samples if s["kind"] == "reworded"]
    for s in reworded:
        q = text[s["eval_id"]]
        assert s["reworded"] in sample_text(s)
        assert numbers(q) <= numbers(s["reworded"]), s
        assert not contains_text(q, sample_text(s)), s
        assert s["jaccard"] == pytest.approx(true_jaccard(s["reworded"], q, 3), abs=1e-4)
        assert s["jaccard"] < 1.0
    shares = meta["reworded"]["share_question_with_ngram"]
    assert shares["13gram"] <= shares["8gram"] <= shares["5gram"]
    assert shares["8gram"] < 0.5  # most reworded questions share no 8-gram with their source
    assert meta["reworded"]["jaccard_3gram_median"] < 0.5


def test_negatives_never_reference_an_eval_question(built: tuple[list[dict], list[dict], dict]) -> None:
    evalset, samples, meta = built
    index = NgramIndex(((e["id"], e["text"]) for e in evalset), 8)
    for s in samples:
        if s["kind"] in ("negative", "clean"):
            # No 8-gram of an eval question, nor all of one shorter than 8 words (so no whole question).
            assert not index.hits(sample_text(s)), s
    exposure = meta["false_positive_exposure"]
    assert exposure["negative_samples_sharing_ngram_with_any_eval"]["8gram"] == 0
    assert exposure["clean_samples_sharing_ngram_with_any_eval"]["8gram"] == 0


def test_write_round_trips(built: tuple[list[dict], list[dict], dict], tmp_path) -> None:
    evalset, samples, meta = built
    write(tmp_path, evalset, samples, meta)
    lines = (tmp_path / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == samples
    assert [json.loads(line) for line in (tmp_path / "evalset.jsonl").read_text().splitlines()] == evalset
    assert json.loads((tmp_path / "meta.json").read_text()) == meta
