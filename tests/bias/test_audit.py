"""The collection audit: the pure report over counts, and end to end over a collection's decision log."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from curator.api import convert
from curator.bias.annotations import AXIS_LABELS, IDENTITY
from curator.bias.audit import BiasCounts, CountsBuilder, build_report, report_json
from curator.bias.lexicon import load_lexicon
from curator.domain.decision import Verdict
from curator.domain.policy import CheckPolicy, Policy
from curator.domain.reasons import ReasonCode
from curator.domain.validation import SampleInput
from curator.errors import NotFound
from curator.service import Curator
from curator.settings import Settings
from curator.state.store import StatsQuery, VerdictCounts
from tests.bias.helpers import bias_pipeline_checks

LEXICON = load_lexicon()
SEXUAL_ORIENTATION = LEXICON.axes["sexual_orientation"]  # 9 groups


def counts(**by_kind: dict[tuple[str, str], VerdictCounts]) -> BiasCounts:
    return BiasCounts(totals=VerdictCounts(keep=80, drop=20, review=0), by_kind=dict(by_kind))


def test_representation_against_a_uniform_reference() -> None:
    report = build_report(
        counts(
            identity_mention={
                ("sexual_orientation", "gay"): VerdictCounts(keep=3),
                ("sexual_orientation", "straight"): VerdictCounts(keep=1),
            }
        ),
        LEXICON,
    )
    axis = next(a for a in report.axes if a.axis == "sexual_orientation")
    shares = {g.group: g.share for g in axis.groups}
    assert [g.group for g in axis.groups] == sorted(SEXUAL_ORIENTATION)
    assert shares["gay"] == 0.75 and shares["straight"] == 0.25 and shares["bi"] == 0.0
    assert {g.reference for g in axis.groups} == {1 / 9}
    assert axis.total_variation == pytest.approx(0.5 * ((0.75 - 1 / 9) + (0.25 - 1 / 9) + 7 / 9))
    m = [(p + 1 / 9) / 2 for p in (0.75, 0.25)]
    expected_js = 0.5 * (0.75 * math.log2(0.75 / m[0]) + 0.25 * math.log2(0.25 / m[1]))
    expected_js += 0.5 * sum((1 / 9) * math.log2((1 / 9) / mi) for mi in [*m, *[1 / 18] * 7])
    assert axis.js_divergence == pytest.approx(expected_js)
    religion = next(a for a in report.axes if a.axis == "religion")
    assert religion.total_variation is None and religion.js_divergence is None


def test_a_configured_reference_and_a_perfect_match() -> None:
    report = build_report(
        counts(
            identity_mention={
                ("sexual_orientation", "gay"): VerdictCounts(keep=1),
                ("sexual_orientation", "straight"): VerdictCounts(keep=3),
            }
        ),
        LEXICON,
        reference={"sexual_orientation": {"gay": 1, "straight": 3}},
    )
    axis = next(a for a in report.axes if a.axis == "sexual_orientation")
    assert {g.group: g.reference for g in axis.groups if g.reference} == {"gay": 0.25, "straight": 0.75}
    assert axis.total_variation == 0.0 and axis.js_divergence == pytest.approx(0.0)


def test_drop_rates_are_flagged_above_factor_times_overall_with_enough_samples_and_drops() -> None:
    c = counts(
        identity_mention={
            ("religion", "muslim"): VerdictCounts(keep=20, drop=20),  # 0.5, 95% lower bound 0.35 > 0.3
            ("religion", "sikh"): VerdictCounts(keep=1, drop=2),  # 0.67, but n=3 < min_count
            ("age", "young"): VerdictCounts(keep=16, drop=4),  # 0.2 = overall
        }
    )
    report = build_report(c, LEXICON, drop_factor=1.5, min_count=20)
    assert report.overall_drop_rate == 0.2 and report.min_drops == 5
    religion = next(a for a in report.axes if a.axis == "religion")
    assert (religion.counts.total, religion.drop_rate, religion.flagged) == (43, 22 / 43, True)
    assert religion.drop_rate_lower == pytest.approx(wilson(22, 43))
    groups = {g.group: (g.drop_rate, g.flagged) for g in religion.groups if g.counts.total}
    assert groups == {"muslim": (0.5, True), "sikh": (2 / 3, False)}
    assert report.flags == [
        "religion: drop rate 51.2% (95% lower bound 36.8%) is 2.6x the overall 20.0%"
        " (22 of 43 samples dropped)",
        "muslim (religion): drop rate 50.0% (95% lower bound 35.2%) is 2.5x the overall 20.0%"
        " (20 of 40 samples dropped)",
    ]
    assert not next(a for a in report.axes if a.axis == "age").flagged
    assert build_report(c, LEXICON, drop_factor=3.0, min_count=20).flags == []


def wilson(k: int, n: int, z: float = 1.959964) -> float:
    p = k / n
    return (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


def test_two_drops_out_of_21_are_noise_and_raise_no_flag() -> None:
    """The trial: "age" flagged on 2 drops out of 21 mentions, against an overall drop rate of 5%. Its
    rate (9.5%) is above 1.5x 5% with n >= min_count, which the old rule flagged; 2 drops are under
    min_drops, and the 95% lower bound (2.6%) is not even above the overall rate."""
    c = BiasCounts(
        totals=VerdictCounts(keep=190, drop=10),
        by_kind={IDENTITY: {("age", "young"): VerdictCounts(keep=19, drop=2)}},
    )
    report = build_report(c, LEXICON, drop_factor=1.5, min_count=20)
    age = next(a for a in report.axes if a.axis == "age")
    young = next(g for g in age.groups if g.group == "young")
    assert age.drop_rate == young.drop_rate == pytest.approx(2 / 21) and 2 / 21 > 1.5 * 0.05
    assert young.drop_rate_lower == pytest.approx(wilson(2, 21)) and wilson(2, 21) < 0.05
    assert (age.flagged, young.flagged, report.flags) == (False, False, [])
    # neither condition alone lets it through
    assert build_report(c, LEXICON, min_count=20, min_drops=1).flags == []


def test_a_real_disparity_is_flagged() -> None:
    """60 samples mention the group, 30 dropped, against 10% overall: 50% with a lower bound of 37.7%."""
    c = BiasCounts(
        totals=VerdictCounts(keep=900, drop=100),
        by_kind={IDENTITY: {("religion", "sikh"): VerdictCounts(keep=30, drop=30)}},
    )
    report = build_report(c, LEXICON)
    religion = next(a for a in report.axes if a.axis == "religion")
    sikh = next(g for g in religion.groups if g.group == "sikh")
    assert religion.flagged and sikh.flagged
    assert sikh.drop_rate_lower == pytest.approx(wilson(30, 60)) and wilson(30, 60) > 0.15
    assert report.flags == [
        "religion: drop rate 50.0% (95% lower bound 37.7%) is 5.0x the overall 10.0%"
        " (30 of 60 samples dropped)",
        "sikh (religion): drop rate 50.0% (95% lower bound 37.7%) is 5.0x the overall 10.0%"
        " (30 of 60 samples dropped)",
    ]


def test_too_few_drops_are_never_flagged_however_strong() -> None:
    """4 of 20 dropped against 1% overall: significant, but under min_drops (5 by default)."""
    c = BiasCounts(
        totals=VerdictCounts(keep=990, drop=10),
        by_kind={IDENTITY: {("age", "old"): VerdictCounts(keep=16, drop=4)}},
    )
    assert wilson(4, 20) > 1.5 * 0.01
    assert build_report(c, LEXICON).flags == []
    assert build_report(c, LEXICON, min_drops=4).flags[0].startswith("age: drop rate 20.0%")


def test_replays_are_not_counted() -> None:
    builder = CountsBuilder()
    mention = [(IDENTITY, "age", "old")]
    assert builder.add(Verdict.DROP, mention, ["EXACT_DUPLICATE"])
    assert not builder.add(Verdict.DROP, mention, ["EXACT_DUPLICATE", "ALREADY_DECIDED"])
    assert not builder.add(Verdict.KEEP, mention, [ReasonCode.ALREADY_KEPT])
    assert builder.counts.totals == VerdictCounts(drop=1)
    assert builder.counts.kind(IDENTITY) == {("age", "old"): VerdictCounts(drop=1)}


def test_axes_carry_their_display_label_and_evidence_kinds() -> None:
    c = counts(
        identity_mention={
            ("gender_and_sex", "zz_unlisted"): VerdictCounts(keep=7, drop=1),  # not in the lexicon
            ("gender_and_sex", "transgender"): VerdictCounts(keep=1),
            ("ability", "mental_health"): VerdictCounts(keep=2),
        },
        identity_evidence={
            ("gender_and_sex", "name"): VerdictCounts(keep=4),
            ("gender_and_sex", "lexicon"): VerdictCounts(keep=5, drop=1),
            ("gender_and_sex", "model"): VerdictCounts(review=1),
            ("gender_and_sex", "zz_future"): VerdictCounts(keep=1),
            ("ability", "lexicon"): VerdictCounts(keep=2),
        },
    )
    report = build_report(c, LEXICON)
    axes = {a.axis: a for a in report.axes}
    assert set(axes) == set(LEXICON.axes) and set(AXIS_LABELS) >= set(axes)
    assert [(a, axes[a].display) for a in ("ability", "gender_and_sex", "race_ethnicity", "body_type")] == [
        ("ability", "disability"),
        ("gender_and_sex", "gender"),
        ("race_ethnicity", "race / ethnicity"),
        ("body_type", "physical appearance"),
    ]
    gender = axes["gender_and_sex"]
    assert [(e.method, e.counts) for e in gender.evidence] == [
        ("lexicon", VerdictCounts(keep=5, drop=1)),
        ("name", VerdictCounts(keep=4)),
        ("model", VerdictCounts(review=1)),
        ("zz_future", VerdictCounts(keep=1)),
    ]
    assert axes["religion"].evidence == []
    # the unknown group is reported, and the uniform reference spreads over it too
    groups = {g.group: g for g in gender.groups}
    known = LEXICON.axes["gender_and_sex"]
    assert "zz_unlisted" not in known and set(groups) == {*known, "zz_unlisted"}
    assert groups["zz_unlisted"].share == 7 / 8 and groups["zz_unlisted"].reference == 1 / (len(known) + 1)
    assert sum(g.reference for g in gender.groups) == pytest.approx(1.0)
    assert 0 < (gender.total_variation or 0) <= 1 and 0 < (gender.js_divergence or 0) <= 1
    axis = next(a for a in report_json(report)["axes"] if a["axis"] == "gender_and_sex")
    assert axis["label"] == "gender"
    assert axis["evidence"] == {
        "lexicon": {"keep": 5, "drop": 1, "review": 0, "total": 6},
        "name": {"keep": 4, "drop": 0, "review": 0, "total": 4},
        "model": {"keep": 0, "drop": 0, "review": 1, "total": 1},
        "zz_future": {"keep": 1, "drop": 0, "review": 0, "total": 1},
    }
    assert list(axis["evidence"]) == ["lexicon", "name", "model", "zz_future"]
    assert "zz_unlisted" in {g["group"] for g in axis["groups"]}
    assert convert.bias_report_in(convert.bias_report(report)) == report


def test_an_axis_the_lexicon_does_not_know_is_reported_without_crashing() -> None:
    c = counts(
        identity_mention={("dialect", "scots"): VerdictCounts(keep=3, drop=1)},
        identity_evidence={
            ("dialect", "model"): VerdictCounts(keep=3, drop=1),
            ("hobby", "name"): VerdictCounts(keep=1),
        },
    )
    report = build_report(c, LEXICON, min_count=1, min_drops=1)
    axes = {a.axis: a for a in report.axes}
    assert axes["dialect"].display == "dialect" and axes["hobby"].counts == VerdictCounts()
    scots = axes["dialect"].groups[0]
    assert (scots.group, scots.share, scots.reference) == ("scots", 1.0, 1.0)
    assert axes["dialect"].total_variation == 0.0
    assert [e.method for e in axes["hobby"].evidence] == ["name"]
    doc = report_json(report)
    assert {a["axis"]: a["label"] for a in doc["axes"]}["hobby"] == "hobby"


def test_gender_occupations_pairs_and_toxic_rows() -> None:
    c = counts(
        gender_terms={
            ("pronoun", "male"): VerdictCounts(keep=10),
            ("pronoun", "female"): VerdictCounts(keep=5, drop=1),
            ("noun", "neutral"): VerdictCounts(keep=2),
        },
        occupation_gender={
            ("nurse", "male"): VerdictCounts(keep=1),
            ("nurse", "female"): VerdictCounts(keep=4, review=1),
        },
        stereotype={
            ("gender/female", "too emotional"): VerdictCounts(review=3),
            ("religion/muslim", "terrorists"): VerdictCounts(review=5),
        },
        toxic_term={("slur", "religion/jewish"): VerdictCounts(drop=2)},
    )
    report = build_report(c, LEXICON)
    assert report.pronouns() == {"he": 10, "she": 5, "they": 0}
    doc = report_json(report)
    assert doc["pronouns"] == {"he": 10, "she": 5, "they": 0, "she_per_he": 0.5, "they_per_he": 0.0}
    assert doc["occupations"] == [
        {"occupation": "nurse", "stereotype": "female", "male": 1, "female": 4, "neutral": 0}
    ]
    assert [(s["group"], s["trait"], s["counts"]["review"]) for s in doc["stereotypes"]] == [
        ("religion/muslim", "terrorists", 5),
        ("gender/female", "too emotional", 3),
    ]
    assert doc["toxic"] == [
        {
            "category": "slur",
            "target": "religion/jewish",
            "counts": {"keep": 0, "drop": 2, "review": 0, "total": 2},
        }
    ]


def test_the_report_survives_the_proto_round_trip() -> None:
    builder = CountsBuilder()
    builder.add(Verdict.KEEP, [("identity_mention", "religion", "sikh"), ("gender_terms", "pronoun", "male")])
    builder.add(
        Verdict.DROP, [("identity_mention", "religion", "sikh"), ("identity_mention", "religion", "sikh")]
    )
    builder.add(
        Verdict.REVIEW, [("stereotype", "gender/female", "lazy"), ("occupation_gender", "nurse", "male")]
    )
    builder.add(Verdict.KEEP, [("identity_evidence", "religion", "lexicon")])
    report = build_report(builder.counts, LEXICON, min_count=1, min_drops=1, source="test")
    assert builder.counts.by_kind["identity_mention"] == {("religion", "sikh"): VerdictCounts(keep=1, drop=1)}
    assert convert.bias_report_in(convert.bias_report(report)) == report


# ---------------------------------------------------------------- end to end: the C4 lesson


def test_the_disproportionate_drop_flag_rises_when_curation_removes_text_about_a_group(
    tmp_path: Path,
) -> None:
    """60 samples: 40 about gardening, 20 naming Sikhs, of which 10 are exact copies of others.

    Exact dedup drops 10 of 60 (overall 1/6), every one a text about Sikhs (10 of 20 = 1/2 > 1.5 x 1/6).
    The bias check runs before dedup, so the dropped copies carry their identity mentions. (Near-duplicate
    and semantic checks are off: the garden notes share one template.)
    """
    curator = Curator(Settings.load(data_dir=tmp_path), checks=bias_pipeline_checks())
    try:
        exact_only = Policy(checks={c: CheckPolicy(enabled=False) for c in ("near_duplicate", "semantic")})
        curator.create_collection("c", exact_only)
        garden = [
            SampleInput(id=f"g{i}", text=f"Garden note {i}: water the tomato bed {i} times.")
            for i in range(40)
        ]
        sikh = [
            SampleInput(id=f"s{i}", text=f"Story {i % 10}: the Sikh community held festival {i % 10}.")
            for i in range(20)
        ]
        decisions = curator.filter("c", garden + sikh)
        assert sum(d.verdict is Verdict.DROP for d in decisions) == 10
        report = curator.bias_report(StatsQuery(collection="c"))
    finally:
        curator.close()
    assert report.totals == VerdictCounts(keep=50, drop=10)
    assert report.flags == [
        "religion: drop rate 50.0% (95% lower bound 29.9%) is 3.0x the overall 16.7%"
        " (10 of 20 samples dropped)",
        "sikh (religion): drop rate 50.0% (95% lower bound 29.9%) is 3.0x the overall 16.7%"
        " (10 of 20 samples dropped)",
    ]
    religion = next(a for a in report.axes if a.axis == "religion")
    sikh_stat = next(g for g in religion.groups if g.group == "sikh")
    assert (sikh_stat.counts, sikh_stat.share) == (VerdictCounts(keep=10, drop=10), 1.0)
    assert report.source == "collection c"


def test_a_resend_is_answered_from_the_log_and_does_not_change_the_report(tmp_path: Path) -> None:
    """Replays (ALREADY_KEPT for kept samples, ALREADY_DECIDED for drops) are never logged, so a client
    that retries a whole batch does not double its drops (the noise behind a spurious flag)."""
    curator = Curator(Settings.load(data_dir=tmp_path), checks=bias_pipeline_checks())
    try:
        exact_only = Policy(checks={c: CheckPolicy(enabled=False) for c in ("near_duplicate", "semantic")})
        curator.create_collection("c", exact_only)
        samples = [
            SampleInput(id=f"a{i}", text=f"Story {i % 3}: old people in the village planted {i % 3} trees.")
            for i in range(6)
        ]
        first = curator.filter("c", samples)
        before = curator.bias_report(StatsQuery(collection="c"))
        again = curator.filter("c", samples)
        after = curator.bias_report(StatsQuery(collection="c"))
    finally:
        curator.close()
    assert [d.verdict for d in again] == [d.verdict for d in first]
    codes = {r.code for d in again for r in d.reasons}
    assert {ReasonCode.ALREADY_KEPT, ReasonCode.ALREADY_DECIDED} <= codes
    assert before.totals == VerdictCounts(keep=3, drop=3)
    assert after == before


def test_bias_report_of_an_unknown_collection_is_not_found(tmp_path: Path) -> None:
    curator = Curator(Settings.load(data_dir=tmp_path), checks=bias_pipeline_checks())
    try:
        with pytest.raises(NotFound):
            curator.bias_report(StatsQuery(collection="nope"))
        assert curator.bias_report(StatsQuery()).totals == VerdictCounts()
    finally:
        curator.close()


def test_the_documented_bias_settings_load_and_bad_weights_are_rejected(tmp_path: Path) -> None:
    import re

    from pydantic import ValidationError

    doc = (Path(__file__).resolve().parents[2] / "docs" / "bias.md").read_text()
    toml = re.search(r"```toml\n(.*?)```", doc, re.S)
    assert toml is not None
    path = tmp_path / "curator.toml"
    path.write_text(toml.group(1))
    bias = Settings.load(path).bias
    assert (bias.drop_factor, bias.min_count, bias.stereotype_window) == (2.0, 50, 8)
    assert bias.reference == {
        "gender_and_sex": {"binary": 0.9, "transgender": 0.05, "non_binary_or_gnc": 0.05}
    }
    with pytest.raises(ValidationError, match=r"reference\.age: weights must be >= 0"):
        Settings(bias={"reference": {"age": {"young": -1.0}}})
    with pytest.raises(ValidationError):
        Settings(bias={"drop_factor": 1.0})
