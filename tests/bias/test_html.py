"""The HTML report: one self-contained page with inline SVG charts."""

from __future__ import annotations

import re

from curator.bias.audit import BiasCounts, build_report
from curator.bias.html import render_html
from curator.bias.lexicon import load_lexicon
from curator.state.store import VerdictCounts

LEXICON = load_lexicon()


def page(**by_kind: dict[tuple[str, str], VerdictCounts]) -> str:
    counts = BiasCounts(totals=VerdictCounts(keep=90, drop=10), by_kind=dict(by_kind))
    return render_html(build_report(counts, LEXICON, source="test <file>"))


def test_the_page_is_self_contained_with_a_chart_per_axis() -> None:
    html = page(
        identity_mention={
            ("religion", "sikh"): VerdictCounts(keep=5),
            ("age", "old"): VerdictCounts(keep=2, drop=30),
        },
        gender_terms={
            ("pronoun", "male"): VerdictCounts(keep=4),
            ("pronoun", "female"): VerdictCounts(keep=2),
        },
        occupation_gender={("nurse", "male"): VerdictCounts(keep=1)},
    )
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)\s*=|https?://(?!www\.w3\.org/2000/svg)|<script""", html)
    # drop rate by axis, skew by axis, gender bars, the occupation split bar, two axes' group charts
    assert html.count("<svg") == 6
    assert "he : she : they = 1 : 0.50 : 0.00" in html
    assert (
        "age: drop rate 93.8% (95% lower bound 79.9%) is 9.4x the overall 10.0% (30 of 32 samples dropped)"
        in html
    )
    assert "test &lt;file&gt;" in html and "test <file>" not in html


def test_an_empty_report_still_renders() -> None:
    html = page()
    assert "No sample mentions any axis." in html
    assert "no kept sample uses he / him / his" in html
    assert "No stereotyped association was found." in html


def test_axes_show_their_display_labels_and_how_mentions_were_found() -> None:
    html = page(
        identity_mention={
            ("race_ethnicity", "black"): VerdictCounts(keep=4),
            ("ability", "zz_unlisted_group"): VerdictCounts(keep=2, drop=1),
        },
        identity_evidence={
            ("race_ethnicity", "lexicon"): VerdictCounts(keep=3),
            ("race_ethnicity", "name"): VerdictCounts(keep=2, drop=1),
            ("ability", "model"): VerdictCounts(keep=2, drop=1),
        },
    )
    assert "<h3>race / ethnicity</h3>" in html and "<h3>disability</h3>" in html
    assert ">race_ethnicity<" not in html and "<h3>ability</h3>" not in html
    assert "zz unlisted group" in html  # a group the lexicon does not list still gets its bar
    evidence = html[html.index("How identity mentions were found") :]
    table = evidence[evidence.index("<table>") : evidence.index("</table>")]
    assert re.findall(r"<th class='num'>(\w+)</th>", table) == ["lexicon", "name", "model"]
    rows = re.findall(r"<tr><td>(.*?)</td>(.*?)</tr>", table)
    assert [r[0] for r in rows] == ["disability", "race / ethnicity"]
    kept = [re.findall(r"<td class='num[^']*'>([^<]*)", r[1]) for r in rows]
    assert kept == [["–", "–", "2 "], ["3 ", "2 ", "–"]]


def test_without_evidence_annotations_the_section_says_so() -> None:
    html = page(identity_mention={("religion", "sikh"): VerdictCounts(keep=5)})
    assert "No sample carries evidence annotations" in html
