"""The quality checks end to end through Curator: reasons, messages, scores, policy, shapes, cost order.

Runs on the shipped models/quality artefacts with the fake encoder (tests/support/fake_encoder.py) in
place of MiniLM, so grounding's sentence similarities are bag-of-words cosines; expected values are
those of the shipped models and change when `curator train quality` is rerun with other data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from curator.checks import default_checks
from curator.checks.base import Check
from curator.checks.quality import GroundingCheck, HallucinationCheck, HeuristicsCheck
from curator.domain.decision import Decision, Verdict
from curator.domain.policy import CheckPolicy, Policy, RulePolicy
from curator.domain.validation import SampleInput
from curator.embeddings.embedder import Embedder
from curator.pipeline import Pipeline
from curator.service import Curator
from curator.settings import Settings
from tests.support.fake_encoder import FakeEncoder, checks_with

KNOWLEDGE = "The Oberoi Group is a hotel company with its head office in Delhi."
QUESTION = "Where is the head office of the Oberoi Group?"
PHOTOSYNTHESIS = (
    "Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make "
    "glucose and oxygen. It takes place in the chloroplasts."
)


QUALITY_CHECKS = ("heuristics", "grounding", "hallucination")
# The quality checks are opt-in: a policy that does not name them leaves them off.
ENABLED = Policy(checks={name: CheckPolicy(enabled=True) for name in QUALITY_CHECKS})


def fake_checks(settings: Settings) -> list[Check]:
    """The default checks, every embedding user (semantic, grounding, hallucination) on a fake encoder."""
    embedder = Embedder(settings.embeddings, encoder=FakeEncoder())
    out: list[Check] = []
    for check in checks_with(FakeEncoder(), settings):
        if isinstance(check, GroundingCheck):
            check = GroundingCheck(embedder, check.models)
        elif isinstance(check, HallucinationCheck):
            check = HallucinationCheck(embedder, check.models)
        out.append(check)
    return out


# The quality checks are opt-in: a policy turns them on by naming them.
QUALITY_ON = {"checks": {"heuristics": {}, "grounding": {}, "hallucination": {}}}


@pytest.fixture
def curator(tmp_path: Path) -> Iterator[Curator]:
    settings = Settings.load(data_dir=tmp_path, default_policy=QUALITY_ON)
    c = Curator(settings, checks=fake_checks(settings))
    c.create_collection("q", ENABLED)
    yield c
    c.close()


def decide(curator: Curator, *samples: SampleInput, collection: str = "q") -> dict[str, Decision]:
    return {d.sample_id: d for d in curator.filter(collection, list(samples), dry_run=True)}


def reasons(d: Decision) -> list[tuple[str, str, str]]:
    return [(str(r.code), str(r.action), r.message) for r in d.reasons]


def test_cost_order_puts_the_cheap_rules_first_and_the_judgement_after_grounding() -> None:
    names = [c.name for c in Pipeline(checks_with()).checks]
    assert names.index("heuristics") < names.index("grounding") < names.index("hallucination")
    assert names.index("hallucination") < names.index("semantic")
    assert (HeuristicsCheck.cost, GroundingCheck.cost, HallucinationCheck.cost) == (30, 90, 95)


def test_the_heuristics_are_on_by_default_and_the_model_checks_opt_in(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path)
    c = Curator(settings, checks=fake_checks(settings))
    try:
        info = c.create_collection("plain")
        assert [info.policy.checks[n].enabled for n in QUALITY_CHECKS] == [True, False, False]
        rules = info.policy.checks["heuristics"].rules
        drop = sorted(code for code, rule in rules.items() if str(rule.action) == "drop")
        assert drop == ["EMPTY_RESPONSE", "REFUSAL"]  # every other rule sends to review
        (d,) = c.filter(
            "plain",
            [SampleInput(id="r", instruction="Hi?", output="As an AI language model, no.", context=["Hi."])],
        )
        assert d.verdict is Verdict.DROP and "refusal" in d.scores
        assert not {"hallucination", "quality", "grounding"} & set(d.scores)
    finally:
        c.close()


def test_every_rule_is_a_registered_reason_code() -> None:
    codes = {
        str(r.code)
        for c in default_checks()
        for r in c.rules
        if c.name in ("heuristics", "grounding", "hallucination")
    }
    assert codes == {
        "EMPTY_RESPONSE",
        "TOO_SHORT",
        "TOO_LONG",
        "REFUSAL",
        "TRUNCATED",
        "REPETITION",
        "PLACEHOLDER",
        "UNREACHABLE_REFERENCE",
        "LANGUAGE_MISMATCH",
        "ARITHMETIC_ERROR",
        "UNSUPPORTED_CLAIM",
        "HALLUCINATION",
        "LOW_QUALITY",
    }


def test_a_good_answer_is_kept_with_every_score(curator: Curator) -> None:
    d = decide(curator, SampleInput(id="good", instruction="Explain photosynthesis.", output=PHOTOSYNTHESIS))[
        "good"
    ]
    assert d.verdict is Verdict.KEEP and d.reasons == []
    assert {
        "empty_response",
        "too_short",
        "too_long",
        "refusal",
        "truncated",
        "repetition",
        "placeholder",
        "unreachable_reference",
        "language_mismatch",
        "arithmetic_errors",
        "hallucination",
        "quality",
    } <= set(d.scores)
    assert d.scores["hallucination"] == pytest.approx(0.1335, abs=1e-4)
    assert d.scores["quality"] == pytest.approx(0.8665, abs=1e-4)
    assert "grounding" not in d.scores  # no context


def test_defects_are_dropped_or_reviewed_with_their_evidence(curator: Curator) -> None:
    ds = decide(
        curator,
        SampleInput(
            id="noinput",
            instruction="Design an infographic.",
            input="The Amazon is large.",
            output="<noinput>",
        ),
        SampleInput(
            id="refusal",
            instruction="Who will win the next election?",
            output="As an AI language model, I cannot predict the future.",
        ),
        SampleInput(
            id="arith", instruction="What is 17 times 23?", output="17 × 23 = 392, so the answer is 392."
        ),
    )
    assert reasons(ds["noinput"]) == [
        ("EMPTY_RESPONSE", "drop", 'no response: the response is only "<noinput>"'),
        ("PLACEHOLDER", "review", 'template residue: "<noinput>" at 0'),
    ]
    assert reasons(ds["refusal"]) == [("REFUSAL", "drop", 'refusal: "As an AI language model" at 0')]
    # the rule only reviews; the hallucination check (enabled here) drops it by noisy-OR
    assert reasons(ds["arith"])[0] == (
        "ARITHMETIC_ERROR",
        "review",
        'wrong arithmetic: "17 × 23 = 392" (17 × 23 = 391)',
    )
    assert ds["arith"].verdict is Verdict.DROP and str(ds["arith"].reasons[1].code) == "HALLUCINATION"


def test_soft_defects_go_to_review(curator: Curator) -> None:
    ds = decide(
        curator,
        SampleInput(
            id="photo",
            instruction="Describe this photo.",
            output="A red barn stands in a snowy field under a grey sky.",
        ),
        SampleInput(
            id="essay", instruction="Write an essay about the French Revolution.", output="It began in 1789."
        ),
    )
    assert reasons(ds["photo"]) == [
        (
            "UNREACHABLE_REFERENCE",
            "review",
            'unreachable reference: the prompt refers to "this photo", which the sample does not contain',
        )
    ]
    assert ds["essay"].verdict is Verdict.REVIEW
    assert [str(r.code) for r in ds["essay"].reasons] == ["TOO_SHORT"]


def test_grounding_quotes_unsupported_spans_and_drives_the_judgement(curator: Curator) -> None:
    ds = decide(
        curator,
        SampleInput(id="right", instruction=QUESTION, output="Delhi", context=[KNOWLEDGE]),
        SampleInput(
            id="wrong",
            instruction=QUESTION,
            output="Mumbai, the financial capital of India, since 1934.",
            context=[KNOWLEDGE],
        ),
    )
    right, wrong = ds["right"], ds["wrong"]
    assert right.verdict is Verdict.KEEP
    assert right.scores["grounding"] == pytest.approx(0.9434, abs=1e-4)
    assert wrong.verdict is Verdict.DROP
    spans = 'entities "India"; numbers "1934"; words "Mumbai", "financial capital of India"'
    assert reasons(wrong)[:2] == [
        ("UNSUPPORTED_CLAIM", "review", f"not supported by the context (grounding 0.00 <= 0.20): {spans}"),
        (
            "HALLUCINATION",
            "drop",
            f"probably hallucinated (1.00 >= 0.95): classifier 0.01; grounding 0.00 ({spans})",
        ),
    ]


def test_naming_a_group_changes_nothing(curator: Curator) -> None:
    texts = {
        "named": "Hi, I'm a gay Muslim woman and I work as a nurse in Leeds.",
        "plain": "Hi, I'm a woman and I work as a nurse in Leeds.",
    }
    # one request each: within a request the second would be a near-duplicate of the first
    ds = {
        k: decide(curator, SampleInput(id=k, instruction="Introduce yourself.", output=v))[k]
        for k, v in texts.items()
    }
    assert [d.verdict for d in ds.values()] == [Verdict.KEEP, Verdict.KEEP]
    assert ds["named"].reasons == [] and ds["plain"].reasons == []


def test_documents_get_only_document_scores(curator: Curator) -> None:
    d = decide(
        curator, SampleInput(id="doc", text="Volcanoes form where magma rises through cracks in the crust.")
    )["doc"]
    assert d.verdict is Verdict.KEEP
    assert {"repetition", "placeholder", "arithmetic_errors"} <= set(d.scores)
    assert not {"refusal", "too_short", "hallucination", "quality", "grounding"} & set(d.scores)


def test_a_prompt_only_chat_is_not_judged(curator: Curator) -> None:
    d = decide(curator, SampleInput(id="c", messages=[("user", "What is the capital of France?")]))["c"]
    assert d.verdict is Verdict.KEEP
    assert not {"empty_response", "hallucination"} & set(d.scores)


def test_the_policy_sets_thresholds_without_a_rescore(curator: Curator) -> None:
    slot = SampleInput(
        id="slot",
        instruction="Write a thank-you note to a colleague.",
        output="Dear Sam,\nThanks!\n[Your Name]",
    )
    assert decide(curator, slot)["slot"].verdict is Verdict.KEEP  # an unfilled slot is recorded: 0.5
    policy = ENABLED.model_copy(deep=True)
    policy.checks["heuristics"].rules["PLACEHOLDER"] = RulePolicy(threshold=1.0, review_threshold=0.5)
    curator.create_collection("slots", policy)
    d = decide(curator, slot, collection="slots")["slot"]
    assert reasons(d) == [("PLACEHOLDER", "review", 'template residue: unfilled slot "[Your Name]" at 18')]


def test_the_judgement_computes_the_rules_itself_when_the_heuristics_check_is_off(curator: Curator) -> None:
    policy = ENABLED.model_copy(deep=True)
    policy.checks["heuristics"].enabled = False
    curator.create_collection("bare", policy)
    sample = SampleInput(
        id="a", instruction="What is 17 times 23?", output="17 × 23 = 392, so the answer is 392."
    )
    d = decide(curator, sample, collection="bare")["a"]
    assert d.scores["hallucination"] >= 0.95  # wrong arithmetic, by noisy-OR
    assert "wrong arithmetic" in d.reasons[0].message
