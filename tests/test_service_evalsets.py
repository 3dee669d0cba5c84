"""Eval sets through the service: registered once in the store, applied to every collection from then on,
found again by a new process, and rescanned against what collections kept before."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.domain.decision import Verdict
from curator.domain.evalset import EvalItem
from curator.domain.reasons import ReasonCode
from curator.domain.validation import SampleInput
from curator.errors import AlreadyExists, InvalidArgument, NotFound
from curator.service import Curator
from curator.settings import Settings
from tests.support.fake_encoder import checks_with

GOLD = [
    EvalItem("q1", "How many moons does the planet Neptune have according to the 2023 survey?"),
    EvalItem("q2", "Which magazine was started first, Arthur's Magazine or First for Women?"),
]
LEAK = "Quiz: which magazine was started first, Arthur's Magazine or First for Women? Arthur's was."
CLEAN = "Write a haiku about a heron standing still in the shallow water of a quiet pond."
POLICY = {"checks": {"semantic": {"enabled": False}}}


def _curator(data: Path) -> Curator:
    settings = Settings.load(data_dir=data, default_policy=POLICY)
    return Curator(settings, checks=checks_with(settings=settings))


def _sample(sample_id: str, text: str) -> SampleInput:
    return SampleInput(id=sample_id, text=text)


def test_a_set_applies_to_every_collection_from_then_on_and_outlives_the_process(tmp_path: Path) -> None:
    curator = _curator(tmp_path / "data")
    try:
        curator.create_collection("a")
        curator.create_collection("b")
        [before] = curator.filter("a", [_sample("early", LEAK)])
        assert before.verdict is Verdict.KEEP  # no eval set yet
        info = curator.add_evalset("gold", GOLD, source="halueval")
        assert (info.name, info.items, info.source) == ("gold", 2, "halueval")
        [leak, clean] = curator.filter("b", [_sample("leak", LEAK), _sample("clean", CLEAN)])
        assert leak.verdict is Verdict.DROP
        [reason] = leak.reasons
        assert (reason.code, reason.check, reason.matched_id) == (
            ReasonCode.EVAL_CONTAMINATION,
            "decontamination",
            "gold:q2",
        )
        assert '"which magazine was started first arthur' in reason.message
        assert clean.verdict is Verdict.KEEP
        findings = curator.rescan_evalsets()
        assert [(f.collection, f.sample_id, f.code, f.eval_set, f.item_id) for f in findings] == [
            ("a", "early", ReasonCode.EVAL_CONTAMINATION, "gold", "q2")
        ]
        assert curator.rescan_evalsets(collection="b") == []
    finally:
        curator.close()
    again = _curator(tmp_path / "data")  # a new process: the set lives in the store
    try:
        assert [s.name for s in again.list_evalsets()] == ["gold"]
        [leak] = again.filter("a", [_sample("leak2", LEAK.replace("Quiz", "Trivia"))])
        assert leak.verdict is Verdict.DROP
        removed = again.remove_evalset("gold")
        assert removed.items == 2
        [after] = again.filter("b", [_sample("leak3", LEAK.replace("Quiz", "Question"))])
        assert after.verdict is Verdict.KEEP  # (collection a kept "early", a near duplicate of it)
        with pytest.raises(NotFound, match="does not exist"):
            again.remove_evalset("gold")
    finally:
        again.close()


def test_bad_sets_are_refused_with_what_to_fix(tmp_path: Path) -> None:
    curator = _curator(tmp_path / "data")
    try:
        with pytest.raises(InvalidArgument) as info:
            curator.add_evalset("Bad Name", [EvalItem("1", "x y z w"), EvalItem("1", " ")])
        fields = {v.field for v in info.value.violations}
        assert fields == {"name", "items[1].id", "items[1].text"}
        curator.add_evalset("gold", GOLD)
        with pytest.raises(AlreadyExists, match="remove it first"):
            curator.add_evalset("gold", GOLD)
        with pytest.raises(NotFound):
            curator.rescan_evalsets(evalset="missing")
    finally:
        curator.close()
