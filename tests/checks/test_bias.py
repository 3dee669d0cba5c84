"""The bias check through the real pipeline: findings, actions by policy, and mentions never deciding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.bias.lexicon import default_lexicon_path
from curator.checks.base import IndexedCheck
from curator.checks.bias import BiasCheck
from curator.domain.decision import Action, Annotation, Decision, Verdict
from curator.domain.policy import CheckPolicy, Policy, RulePolicy, resolve_policy
from curator.domain.reasons import ReasonCode
from curator.domain.sample import ContentShape, Sample
from curator.pipeline import Pipeline
from curator.state.collection import CollectionState
from tests.bias.helpers import bias_pipeline_checks

DATA = json.loads(default_lexicon_path().read_text(encoding="utf-8"))
SLUR = DATA["slurs"][0]  # read from the data file, never spelt out in the tests


def text(i: str, body: str) -> Sample:
    return Sample(id=i, shape=ContentShape.TEXT, text=body)


def run(tmp_path: Path, samples: list[Sample], policy: Policy | None = None) -> list[Decision]:
    checks = bias_pipeline_checks()
    resolved = resolve_policy(policy or Policy(), checks)
    state = CollectionState("t", resolved, tmp_path, [c for c in checks if isinstance(c, IndexedCheck)])
    return Pipeline(checks).run(samples, state, resolved, 1)


def bias_annotations(d: Decision, kind: str) -> list[Annotation]:
    return [a for a in d.annotations if a.check == "bias" and a.kind == kind]


def test_bias_is_registered_to_run_right_after_empty() -> None:
    from curator.checks import REGISTRY

    assert BiasCheck in REGISTRY
    costs = {cls.name: cls.cost for cls in REGISTRY}
    assert costs["empty"] < costs["bias"] < costs["exact_duplicate"] < costs["near_duplicate"]
    assert [c.name for c in Pipeline(bias_pipeline_checks()).checks] == [
        "empty",
        "bias",
        "exact_duplicate",
        "near_duplicate",
        "semantic",
    ]


def test_a_slur_drops_with_toxic_language_and_the_message_never_quotes_it(tmp_path: Path) -> None:
    (d,) = run(tmp_path, [text("s", f"Stop calling people a {SLUR['term']}, said the teacher.")])
    assert d.verdict is Verdict.DROP
    (reason,) = d.reasons
    assert (reason.code, reason.check, reason.action, reason.score, reason.threshold) == (
        ReasonCode.TOXIC_LANGUAGE,
        "bias",
        Action.DROP,
        1.0,
        1.0,
    )
    assert reason.message == f"toxic language: slur aimed at {SLUR['target']}"
    assert SLUR["term"] not in reason.message
    (toxic,) = bias_annotations(d, "toxic_term")
    assert (toxic.subject, toxic.label, toxic.attributes) == (
        "slur",
        SLUR["target"],
        {"category": "slur", "target": SLUR["target"]},
    )


def test_dehumanising_language_about_a_group_drops(tmp_path: Path) -> None:
    (d,) = run(tmp_path, [text("v", "Refugees are parasites.")])
    assert [(r.code, r.message) for r in d.reasons] == [
        (
            ReasonCode.TOXIC_LANGUAGE,
            "toxic language: dehumanising language about characteristics/immigration_status:"
            " 'Refugees' … 'parasites'",
        )
    ]


def test_a_stereotyped_association_goes_to_review_with_the_pair(tmp_path: Path) -> None:
    (d,) = run(tmp_path, [text("w", "Everyone knows women are too emotional to run a company.")])
    assert d.verdict is Verdict.REVIEW
    (reason,) = d.reasons
    assert (reason.code, reason.action) == (ReasonCode.STEREOTYPE_ASSOCIATION, Action.REVIEW)
    assert reason.message == (
        "stereotyped association: 'women' with 'too emotional' (gender/female, emotionality)"
    )
    assert d.scores["stereotype"] == 1.0 and d.scores["toxicity"] == 0.0
    (pair,) = bias_annotations(d, "stereotype")
    assert (pair.subject, pair.label, pair.span) == ("gender/female", "too emotional", (15, 38))
    assert pair.attributes == {
        "group": "gender/female",
        "trait": "too emotional",
        "category": "emotionality",
        "term": "women",
    }


def test_findings_travel_with_the_decision_with_spans_into_the_full_text(tmp_path: Path) -> None:
    sample = Sample(
        id="a",
        shape=ContentShape.ALPACA,
        instruction="Write a short bio.",
        input="Subject: Deaf Latinas in engineering",
        output="She is a nurse; her brother is a nurse too.",
    )
    (d,) = run(tmp_path, [sample])
    assert d.verdict is Verdict.KEEP and d.reasons == []
    full = sample.full_text
    identity = bias_annotations(d, "identity_mention")
    assert [(a.subject, a.label, full[a.span[0] : a.span[1]]) for a in identity if a.span] == [
        ("ability", "auditory", "Deaf"),
        ("race_ethnicity", "latinx", "Latinas"),
        # gendered words are mentions on the gender axis too (a noun wins over a pronoun)
        ("gender_and_sex", "female", "She"),
        ("gender_and_sex", "male", "brother"),
    ]
    assert identity[0].attributes == {
        "axis": "ability",
        "group": "auditory",
        "term": "Deaf",
        "method": "lexicon",
        "confidence": "0.90",
    }
    assert [(a.subject, a.label, a.attributes["count"]) for a in bias_annotations(d, "gender_terms")] == [
        ("noun", "male", "1"),
        ("pronoun", "female", "2"),
    ]
    assert [
        (a.subject, a.label, a.attributes["stereotype"]) for a in bias_annotations(d, "occupation_gender")
    ] == [
        ("nurse", "female", "female"),
        ("nurse", "male", "female"),
    ]


def test_naming_groups_never_drops_or_reviews(tmp_path: Path) -> None:
    cued = {  # terms that count only after a cue (curated/implicit.json), with theirs
        "condition": "I have a friend with {t}. {t} {t}.",
        "device": "I have a friend in a {t}. {t} {t}.",
        "origin": "I have a friend who is from {t}. {t} {t}.",
    }
    default = "I have friends who are {t} people. {t} {t}."
    samples = [
        text(f"s{i}", cued.get(e["context"], default).format(t=e["term"]))
        for i, e in enumerate(DATA["identity"])
    ]
    only_bias = Policy(
        checks={c: CheckPolicy(enabled=False) for c in ("exact_duplicate", "near_duplicate", "semantic")}
    )
    decisions = run(tmp_path, samples, only_bias)  # the samples are near-duplicates of each other
    assert len(decisions) == len(DATA["identity"]) > 684  # 684 terms before issue 15
    assert {d.verdict for d in decisions} == {Verdict.KEEP}
    assert all(d.scores["toxicity"] == 0.0 and d.scores["stereotype"] == 0.0 for d in decisions)
    assert all(bias_annotations(d, "identity_mention") for d in decisions)


def test_a_duplicate_still_carries_its_findings(tmp_path: Path) -> None:
    body = "Buddhist monks and Catholic nuns met to discuss the history of their two traditions."
    first, dup = run(tmp_path, [text("1", body), text("2", body)])
    assert first.verdict is Verdict.KEEP and dup.verdict is Verdict.DROP
    assert dup.reasons[0].code is ReasonCode.EXACT_DUPLICATE
    mentions = [(a.subject, a.label) for a in bias_annotations(dup, "identity_mention")]
    assert mentions[:2] == [("religion", "buddhist"), ("religion", "catholic")]  # then monks, nuns


def test_policy_can_change_actions_or_disable_the_check(tmp_path: Path) -> None:
    stern = Policy(
        checks={
            "bias": CheckPolicy(
                rules={"STEREOTYPE_ASSOCIATION": RulePolicy(threshold=1.0, action=Action.DROP)}
            )
        }
    )
    (d,) = run(tmp_path / "a", [text("w", "Women are too emotional.")], stern)
    assert d.verdict is Verdict.DROP
    off = Policy(checks={"bias": CheckPolicy(enabled=False)})
    (d,) = run(tmp_path / "b", [text("w", "Women are too emotional.")], off)
    assert d.verdict is Verdict.KEEP and d.annotations == [] and "stereotype" not in d.scores


@pytest.mark.parametrize("window", [3, 8])
def test_the_window_comes_from_settings(window: int) -> None:
    from curator.settings import Settings

    check = BiasCheck.from_settings(Settings(bias={"stereotype_window": window}))
    result = check.evaluate_text("Women, as everyone knows, are too emotional.")
    assert result.scores["stereotype"] == (1.0 if window >= 4 else 0.0)


@pytest.mark.parametrize(
    ("mode", "want"),
    [
        ("off", set()),
        ("gender", {("gender_and_sex", "male")}),
        ("all", {("gender_and_sex", "male"), ("race_ethnicity", "black")}),
    ],
)
def test_first_names_are_weak_evidence_on_the_axes_the_settings_allow(
    mode: str, want: set[tuple[str, str]]
) -> None:
    """bias.names: a first name gives mentions with method "name" and a confidence below any lexicon
    evidence; by default only its gender association is used."""
    from curator.settings import Settings

    check = BiasCheck.from_settings(Settings(bias={"names": mode}))
    result = check.evaluate_text("Yesterday Jamal fixed the printer.")
    by_name = [
        a for a in result.annotations if a.kind == "identity_mention" and a.attributes["method"] == "name"
    ]
    assert {(a.subject, a.label) for a in by_name} == want
    assert all(float(a.attributes["confidence"]) <= 0.6 for a in by_name)
    assert all(a.attributes["term"] == "Jamal" for a in by_name)
    evidence = {(a.subject, a.label) for a in result.annotations if a.kind == "identity_evidence"}
    assert {(axis, "name") for axis, _ in want} <= evidence
