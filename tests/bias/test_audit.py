"""The collection audit: the pure report over counts, and end to end over a collection's decision log."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from curator.api import convert
from curator.bias.audit import BiasCounts, CountsBuilder, build_report, report_json
from curator.bias.lexicon import load_lexicon
from curator.domain.decision import Verdict
from curator.domain.policy import CheckPolicy, Policy
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


def test_drop_rates_are_flagged_above_factor_times_overall_with_enough_samples() -> None:
    c = counts(
        identity_mention={
            ("religion", "muslim"): VerdictCounts(keep=10, drop=10),  # 0.5 > 1.5 x 0.2, n=20
            ("religion", "sikh"): VerdictCounts(keep=1, drop=2),  # 0.67, but n=3 < min_count
            ("age", "young"): VerdictCounts(keep=16, drop=4),  # 0.2 = overall
        }
    )
    report = build_report(c, LEXICON, drop_factor=1.5, min_count=20)
    assert report.overall_drop_rate == 0.2
    religion = next(a for a in report.axes if a.axis == "religion")
    assert (religion.counts.total, religion.drop_rate, religion.flagged) == (23, 12 / 23, True)
    groups = {g.group: (g.drop_rate, g.flagged) for g in religion.groups if g.counts.total}
    assert groups == {"muslim": (0.5, True), "sikh": (2 / 3, False)}
    assert report.flags == [
        "religion: drop rate 52.2% is 2.6x the overall 20.0% (12 of 23 samples dropped)",
        "religion/muslim: drop rate 50.0% is 2.5x the overall 20.0% (10 of 20 samples dropped)",
    ]
    assert not next(a for a in report.axes if a.axis == "age").flagged
    assert build_report(c, LEXICON, drop_factor=3.0, min_count=20).flags == []


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
    report = build_report(builder.counts, LEXICON, min_count=1, source="test")
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
        "religion: drop rate 50.0% is 3.0x the overall 16.7% (10 of 20 samples dropped)",
        "religion/sikh: drop rate 50.0% is 3.0x the overall 16.7% (10 of 20 samples dropped)",
    ]
    religion = next(a for a in report.axes if a.axis == "religion")
    sikh_stat = next(g for g in religion.groups if g.group == "sikh")
    assert (sikh_stat.counts, sikh_stat.share) == (VerdictCounts(keep=10, drop=10), 1.0)
    assert report.source == "collection c"


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
