"""The decontamination check: verbatim leaks drop, reworded ones go to review, nothing without eval sets."""

from __future__ import annotations

from curator.checks.base import CheckContext, Item
from curator.checks.decontamination import DecontaminationCheck
from curator.domain.decision import Action
from curator.domain.evalset import EvalItem
from curator.domain.policy import DedupKey, Policy, reasons_for, resolve_policy
from curator.domain.reasons import ReasonCode
from curator.domain.sample import ContentShape, Sample
from curator.embeddings.embedder import Embedder
from curator.settings import Settings
from tests.support.fake_encoder import FakeEncoder

QUESTION = "How many moons does the planet Neptune have according to the 2023 survey?"


def _check() -> DecontaminationCheck:
    return DecontaminationCheck(Embedder(Settings().embeddings, encoder=FakeEncoder()))


def _reasons(check: DecontaminationCheck, texts: list[str]) -> list[list]:  # type: ignore[type-arg]
    policy = resolve_policy(Policy(), [check]).check(check.name)
    items = [
        Item.build(Sample(id=f"s{k}", shape=ContentShape.TEXT, text=t), k, DedupKey.SAMPLE)
        for k, t in enumerate(texts)
    ]
    results = check.evaluate_batch(items, CheckContext(policy))
    return [reasons_for(check.name, check.rules, policy, r) for r in results]


def test_without_eval_sets_nothing_is_measured() -> None:
    check = _check()
    policy = resolve_policy(Policy(), [check]).check(check.name)
    item = Item.build(Sample(id="s", shape=ContentShape.TEXT, text=QUESTION), 0, DedupKey.SAMPLE)
    [result] = check.evaluate_batch([item], CheckContext(policy))
    assert result.scores == {} and result.evidence == {}


def test_a_verbatim_leak_drops_and_a_reworded_one_goes_to_review() -> None:
    check = _check()
    check.evalsets.replace({"gold": [EvalItem("q7", QUESTION)]}, ())
    verbatim, reworded, other = _reasons(
        check,
        [
            f"Answer this. {QUESTION} The answer is 14.",
            "According to the 2023 survey, the planet Neptune has how many moons?",  # same words, new order
            "Write a short poem about autumn leaves falling in a quiet park at dusk.",
        ],
    )
    assert [(r.code, r.action, r.matched_id) for r in verbatim] == [
        (ReasonCode.EVAL_CONTAMINATION, Action.DROP, "gold:q7")
    ]
    assert "how many moons does the planet neptune" in verbatim[0].message
    assert [(r.code, r.action, r.matched_id) for r in reworded] == [
        (ReasonCode.EVAL_PARAPHRASE, Action.REVIEW, "gold:q7")
    ]
    assert other == []
