"""The bias report as one self-contained HTML page: inline CSS and SVG charts, nothing fetched."""

from __future__ import annotations

from html import escape

from curator.bias.audit import AxisStat, BiasReport, TermStat
from curator.bias.detect import METHODS

_BAR = "#4c78a8"
_FLAG = "#d62728"
_MALE = "#4c78a8"
_FEMALE = "#f58518"
_NEUTRAL = "#9d9d9d"
_LABEL_W = 210
_CHART_W = 560
_ROW_H = 18

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #222;
       margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; }
h3 { font-size: 15px; margin: 18px 0 4px; } .muted { color: #666; } .small { font-size: 12px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.card b { display: block; font-size: 20px; }
.flags { border-left: 4px solid #d62728; background: #fdecea; padding: 8px 14px; margin: 12px 0; }
.ok { border-left: 4px solid #2ca02c; background: #eaf6ea; padding: 8px 14px; margin: 12px 0; }
table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee;
       text-align: left; } th { background: #f6f6f6; } td.num, th.num { text-align: right; }
.legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px -1px 12px; }
svg text { font: 12px system-ui, sans-serif; fill: #222; }
"""


def render_html(report: BiasReport) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>curator bias audit</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>curator bias audit</h1>",
        f"<div class='muted'>{escape(report.source)} · bias lexicon {escape(report.lexicon_version)}</div>",
        _summary(report),
        _flags(report),
        "<h2>Drop rate by axis</h2>",
        "<p class='muted small'>Share of samples mentioning each axis that were dropped, against the overall "
        f"drop rate (solid line) and {report.drop_factor:g}× it (dashed: the flag threshold). Red: flagged "
        f"(at least {report.min_count} samples and {report.min_drops} drops, and the lower end of the 95% "
        "interval of the drop rate above the threshold, so that a few drops do not raise a flag). "
        "Counts add the axis's groups.</p>",
        _drop_chart(report),
        "<h2>Skew of representation among kept samples</h2>",
        "<p class='muted small'>Per axis, how far the groups' shares of the kept samples' mentions are from "
        "the reference distribution (uniform within the axis unless configured): total variation distance "
        "(bar; 0 = matches the reference, 1 = disjoint) and Jensen-Shannon divergence (base 2, also in "
        "[0, 1]). Per-group charts follow at the end.</p>",
        _skew_chart(report),
        "<h2>How identity mentions were found</h2>",
        "<p class='muted small'>Per axis, kept samples whose mentions were found by each method: a term of "
        "the bias lexicon, a first name (weak evidence: a name's documented association, not a statement "
        "about the person) or a model. A sample found by two methods counts under both.</p>",
        _evidence(report),
        "<h2>Gendered language in kept samples</h2>",
        _gender(report),
        "<h2>Occupation × gender (kept samples)</h2>",
        _occupations(report),
        "<h2>Most frequent stereotyped associations</h2>",
        _pairs(report.stereotypes, "group", "trait", "No stereotyped association was found."),
        "<h2>Toxic language</h2>",
        _pairs(report.toxic, "kind", "aimed at", "No slur or dehumanising language was found."),
        "<h2>Representation by group</h2>",
        "<p class='muted small'>Each group's share of the kept samples' mentions on its axis (bar) "
        "against its reference share (black tick). Red: the group's drop rate is flagged.</p>",
        *(_axis_chart(a) for a in report.axes),
        "<p class='muted small'>Identity terms: HolisticBias (CC BY-SA 4.0); gendered words and occupations: "
        "WinoBias (MIT); traits, slurs and context rules: curated for curator. See docs/bias.md.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _summary(report: BiasReport) -> str:
    t = report.totals
    cards = [
        ("samples", f"{t.total:,}"),
        ("kept", f"{t.keep:,}"),
        ("dropped", f"{t.drop:,}"),
        ("review", f"{t.review:,}"),
        ("overall drop rate", f"{report.overall_drop_rate:.1%}"),
    ]
    body = "".join(
        f"<div class='card'><span class='muted small'>{k}</span><b>{v}</b></div>" for k, v in cards
    )
    return f"<div class='cards'>{body}</div>"


def _flags(report: BiasReport) -> str:
    if not report.flags:
        return (
            "<div class='ok'>No axis or group is dropped disproportionately "
            f"(threshold {report.drop_factor:g}× the overall drop rate, at least {report.min_count} samples "
            f"and {report.min_drops} drops, with 95% confidence).</div>"
        )
    items = "".join(f"<li>{escape(f)}</li>" for f in report.flags)
    title = "<b>Curation removes text about these disproportionately:</b>"
    return f"<div class='flags'>{title}<ul>{items}</ul></div>"


def _svg(height: int, body: list[str]) -> str:
    width = _LABEL_W + _CHART_W + 120
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img'>{''.join(body)}</svg>"
    )


def _drop_chart(report: BiasReport) -> str:
    axes = [a for a in report.axes if a.counts.total]
    if not axes:
        return "<p class='muted'>No sample mentions any axis.</p>"
    overall, threshold = report.overall_drop_rate, report.overall_drop_rate * report.drop_factor
    top = max([a.drop_rate or 0.0 for a in axes] + [threshold, 0.01]) * 1.1

    def x(v: float) -> float:
        return _LABEL_W + v / top * _CHART_W

    body = []
    for i, a in enumerate(axes):
        y = 8 + i * _ROW_H
        rate = a.drop_rate or 0.0
        color = _FLAG if a.flagged else _BAR
        body.append(f"<text x='{_LABEL_W - 6}' y='{y + 12}' text-anchor='end'>{escape(a.display)}</text>")
        body.append(
            f"<rect x='{_LABEL_W}' y='{y + 2}' width='{x(rate) - _LABEL_W:.1f}' height='12' fill='{color}'/>"
        )
        body.append(f"<text x='{x(rate) + 4:.1f}' y='{y + 12}'>{rate:.1%} (n={a.counts.total:,})</text>")
    bottom = 8 + len(axes) * _ROW_H
    body.append(f"<line x1='{x(overall):.1f}' x2='{x(overall):.1f}' y1='4' y2='{bottom}' stroke='#222'/>")
    body.append(
        f"<line x1='{x(threshold):.1f}' x2='{x(threshold):.1f}' y1='4' y2='{bottom}' stroke='#222' "
        "stroke-dasharray='4 3'/>"
    )
    body.append(f"<text x='{x(overall) + 3:.1f}' y='{bottom + 14}'>overall {overall:.1%}</text>")
    body.append(
        f"<text x='{x(threshold) + 3:.1f}' y='{bottom + 28}'>{report.drop_factor:g}× = {threshold:.1%}</text>"
    )
    return _svg(bottom + 36, body)


def _skew_chart(report: BiasReport) -> str:
    axes = [a for a in report.axes if a.total_variation is not None]
    if not axes:
        return "<p class='muted'>No kept sample mentions any axis.</p>"
    body = []
    for i, a in enumerate(axes):
        y = 4 + i * _ROW_H
        tvd = a.total_variation or 0.0
        top = max(a.groups, key=lambda g: g.share)
        body.append(f"<text x='{_LABEL_W - 6}' y='{y + 12}' text-anchor='end'>{escape(a.display)}</text>")
        body.append(
            f"<rect x='{_LABEL_W}' y='{y + 2}' width='{tvd * _CHART_W:.1f}' height='12' "
            f"fill='{_FLAG if a.flagged else _BAR}'/>"
        )
        label = (
            f"TVD {tvd:.2f} · JSD {a.js_divergence or 0:.2f} · {a.counts.keep:,} kept mentions · "
            f"most: {top.group.replace('_', ' ')} {top.share:.0%}"
        )
        body.append(f"<text x='{_LABEL_W + tvd * _CHART_W + 6:.1f}' y='{y + 12}'>{escape(label)}</text>")
    width = _LABEL_W + _CHART_W + 420
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{8 + len(axes) * _ROW_H}' "
        f"role='img'>{''.join(body)}</svg>"
    )


def _axis_chart(axis: AxisStat) -> str:
    kept = axis.counts.keep
    if axis.total_variation is None:
        skew = "no kept sample mentions this axis"
    else:
        skew = f"TVD {axis.total_variation:.2f} · JSD {axis.js_divergence or 0:.2f} · {kept:,} kept mentions"
    flag = " · <b style='color:#d62728'>disproportionate drops</b>" if axis.flagged else ""
    head = f"<h3>{escape(axis.display)}</h3><div class='muted small'>{skew}{flag}</div>"
    if axis.total_variation is None:
        return head
    top = max([g.share for g in axis.groups] + [g.reference for g in axis.groups] + [0.01]) * 1.1

    def x(v: float) -> float:
        return _LABEL_W + v / top * _CHART_W

    body = []
    for i, g in enumerate(axis.groups):
        y = 4 + i * _ROW_H
        color = _FLAG if g.flagged else _BAR
        name = escape(g.group.replace("_", " "))
        body.append(f"<text x='{_LABEL_W - 6}' y='{y + 12}' text-anchor='end'>{name}</text>")
        width = x(g.share) - _LABEL_W
        body.append(f"<rect x='{_LABEL_W}' y='{y + 2}' width='{width:.1f}' height='12' fill='{color}'/>")
        rx = x(g.reference)
        body.append(
            f"<line x1='{rx:.1f}' x2='{rx:.1f}' y1='{y}' y2='{y + 16}' stroke='#000' stroke-width='2'/>"
        )
        label = f"{g.share:.1%} ({g.counts.keep:,}) · ref {g.reference:.1%}"
        body.append(f"<text x='{max(x(g.share), rx) + 6:.1f}' y='{y + 12}' class='small'>{label}</text>")
    return head + _svg(8 + len(axis.groups) * _ROW_H, body)


def _evidence(report: BiasReport) -> str:
    axes = [a for a in report.axes if a.evidence]
    if not axes:
        return "<p class='muted'>No sample carries evidence annotations (identity_evidence).</p>"
    methods = [m for m in METHODS if any(e.method == m for a in axes for e in a.evidence)]
    methods += sorted({e.method for a in axes for e in a.evidence} - set(methods))
    head = "<tr><th>axis</th>" + "".join(f"<th class='num'>{escape(m)}</th>" for m in methods) + "</tr>"
    rows = []
    for a in sorted(axes, key=lambda a: a.display):
        by = {e.method: e.counts for e in a.evidence}
        cells = "".join(
            f"<td class='num'>{by[m].keep:,} <span class='muted small'>of {by[m].total:,}</span></td>"
            if m in by
            else "<td class='num muted'>–</td>"
            for m in methods
        )
        rows.append(f"<tr><td>{escape(a.display)}</td>{cells}</tr>")
    note = (
        "<p class='muted small'>Kept samples, of all samples (kept, dropped, review) with such a mention.</p>"
    )
    return f"<table>{head}{''.join(rows)}</table>{note}"


def _gender(report: BiasReport) -> str:
    pronouns = report.pronouns()
    nouns = {t.label: t.counts.keep for t in report.gender_terms if t.subject == "noun"}
    rows = [
        ("he / him / his", pronouns["he"], _MALE),
        ("she / her / hers", pronouns["she"], _FEMALE),
        ("they / them / their", pronouns["they"], _NEUTRAL),
        ("male nouns", nouns.get("male", 0), _MALE),
        ("female nouns", nouns.get("female", 0), _FEMALE),
        ("neutral nouns", nouns.get("neutral", 0), _NEUTRAL),
    ]
    top = max([n for _, n, _ in rows] + [1]) * 1.1
    body = []
    for i, (label, n, color) in enumerate(rows):
        y = 4 + i * (_ROW_H + 2) + (8 if i >= 3 else 0)
        width = n / top * _CHART_W
        body.append(f"<text x='{_LABEL_W - 6}' y='{y + 12}' text-anchor='end'>{label}</text>")
        body.append(f"<rect x='{_LABEL_W}' y='{y + 2}' width='{width:.1f}' height='13' fill='{color}'/>")
        body.append(f"<text x='{_LABEL_W + width + 6:.1f}' y='{y + 12}'>{n:,}</text>")
    he = pronouns["he"]
    ratio = (
        f"he : she : they = 1 : {pronouns['she'] / he:.2f} : {pronouns['they'] / he:.2f}"
        if he
        else "no kept sample uses he / him / his"
    )
    note = (
        "<p class='muted small'>Kept samples using each kind of term (one sample can be in several rows).</p>"
    )
    return f"<p><b>{ratio}</b></p>{_svg(6 * (_ROW_H + 2) + 16, body)}{note}"


def _occupations(report: BiasReport) -> str:
    if not report.occupations:
        return "<p class='muted'>No kept sample pairs a WinoBias occupation with a gendered word.</p>"
    legend = (
        "<div class='legend small'>"
        f"<span style='background:{_MALE}'></span>male<span style='background:{_FEMALE}'></span>female"
        f"<span style='background:{_NEUTRAL}'></span>neutral (they, person, …)</div>"
    )
    rows = []
    for o in report.occupations:
        total = o.male + o.female + o.neutral
        segments, offset = [], 0.0
        for n, color in ((o.male, _MALE), (o.female, _FEMALE), (o.neutral, _NEUTRAL)):
            w = n / total * 240 if total else 0
            segments.append(f"<rect x='{offset:.1f}' y='2' width='{w:.1f}' height='12' fill='{color}'/>")
            offset += w
        bar = f"<svg xmlns='http://www.w3.org/2000/svg' width='240' height='16'>{''.join(segments)}</svg>"
        rows.append(
            f"<tr><td>{escape(o.occupation)}</td><td>{escape(o.stereotype)}-dominated</td>"
            f"<td class='num'>{o.male:,}</td><td class='num'>{o.female:,}</td>"
            f"<td class='num'>{o.neutral:,}</td>"
            f"<td>{bar}</td></tr>"
        )
    head = (
        "<tr><th>occupation</th><th>WinoBias list</th><th class='num'>male</th><th class='num'>female</th>"
        "<th class='num'>neutral</th><th>split</th></tr>"
    )
    return legend + f"<table>{head}{''.join(rows)}</table>"


def _pairs(rows: list[TermStat], subject: str, label: str, empty: str) -> str:
    if not rows:
        return f"<p class='muted'>{empty}</p>"
    head = (
        f"<tr><th>{subject}</th><th>{label}</th><th class='num'>samples</th><th class='num'>review</th>"
        "<th class='num'>dropped</th><th class='num'>kept</th></tr>"
    )
    body = "".join(
        f"<tr><td>{escape(t.subject)}</td><td>{escape(t.label)}</td><td class='num'>{t.counts.total:,}</td>"
        f"<td class='num'>{t.counts.review:,}</td><td class='num'>{t.counts.drop:,}</td>"
        f"<td class='num'>{t.counts.keep:,}</td></tr>"
        for t in rows
    )
    return f"<table>{head}{body}</table>"
