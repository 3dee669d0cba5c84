"""Collection bias audit: a pure function from annotation counts to a report.

The counts say, for each bias annotation kind and (subject, label), how many decisions carried it,
by verdict; plus the verdict totals of all decisions. They come from the decision log
(:func:`counts_from_store`, one SQL aggregation per kind) or from decision lines / records read
offline (:class:`CountsBuilder`), and :func:`build_report` turns either into the same report:

* representation per axis: each group's share of the kept samples' mentions on that axis against
  a reference distribution (default uniform over the lexicon's groups of the axis), with total
  variation distance and Jensen-Shannon divergence (base 2, both in [0, 1]) as skew measures;
* gendered terms: kept samples using he / she / they pronouns, and male / female / neutral nouns;
* occupation x gender: kept samples pairing each WinoBias occupation with each gender;
* the most frequent stereotyped (group, trait) pairs, and toxic findings by target;
* how each axis's mentions were found (``identity_evidence``: lexicon, first name, model), by verdict;
* the C4 lesson: each axis's and group's drop rate against the overall one, flagged when curation
  removes text about it disproportionately *and* the data support it: at least ``min_count`` samples
  and ``min_drops`` drops, and the lower end of the 95% Wilson interval of its drop rate above
  ``drop_factor`` times the overall rate (so 2 drops out of 21 never raise a flag).

An axis's counts add its groups' counts, so a sample naming two groups of one axis counts twice
there (its drop rate is weighted by mentions); group counts are per sample. Groups the lexicon does
not list (a detector newer than the lexicon file) are reported like the others; without a configured
reference, the uniform reference spreads over the lexicon's groups and those observed.

Replays (decisions flagged ALREADY_KEPT or ALREADY_DECIDED: a resend answered from the log) are not
new decisions: the service and the batch engine never log them, and :class:`CountsBuilder` skips
them in decision files, so a rerun never doubles a group's drops.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from curator.bias.annotations import (
    CHECK,
    EVIDENCE,
    GENDER,
    IDENTITY,
    KINDS,
    OCCUPATION,
    STEREOTYPE,
    TOXIC,
    axis_label,
)
from curator.bias.detect import METHODS
from curator.bias.lexicon import Lexicon, load_lexicon
from curator.domain.decision import Verdict
from curator.domain.reasons import ReasonCode
from curator.state.store import StatsQuery, Store, VerdictCounts

if TYPE_CHECKING:
    from curator.settings import BiasSettings

TOP_PAIRS = 25
# The Wilson interval's z: the flag wants the lower end of the two-sided 95% interval (a one-sided
# 97.5% bound) of a group's drop rate above drop_factor x the overall rate.
WILSON_Z = 1.959964
# Answers a resend gets from the log: not decisions of their own, never counted.
REPLAYS = frozenset({ReasonCode.ALREADY_KEPT.value, ReasonCode.ALREADY_DECIDED.value})
PRONOUN_LABELS = {"male": "he", "female": "she", "neutral": "they"}


@dataclass(slots=True)
class BiasCounts:
    totals: VerdictCounts = field(default_factory=VerdictCounts)
    # kind -> (subject, label) -> decisions carrying it, by verdict
    by_kind: dict[str, dict[tuple[str, str], VerdictCounts]] = field(default_factory=dict)

    def kind(self, kind: str) -> dict[tuple[str, str], VerdictCounts]:
        return self.by_kind.get(kind, {})


class CountsBuilder:
    """Accumulates decisions (a verdict and its bias annotation keys) into :class:`BiasCounts`."""

    def __init__(self) -> None:
        self.counts = BiasCounts()

    def add(self, verdict: Verdict, keys: Iterable[tuple[str, str, str]], codes: Iterable[str] = ()) -> bool:
        """``keys``: (kind, subject, label) of the decision's bias annotations; repeats count once.
        ``codes``: its reason codes; a replay (ALREADY_KEPT, ALREADY_DECIDED) is skipped (False)."""
        if not REPLAYS.isdisjoint(str(c) for c in codes):
            return False
        self.counts.totals.add(verdict, 1)
        for kind, subject, label in set(keys):
            self.counts.by_kind.setdefault(kind, {}).setdefault((subject, label), VerdictCounts()).add(
                verdict, 1
            )
        return True


def counts_from_store(store: Store, query: StatsQuery) -> BiasCounts:
    """The log's counts. Replays are never logged (the service and the batch engine answer them from the
    log without writing), so there is nothing to exclude here."""
    return BiasCounts(
        totals=store.stats(query).totals,
        by_kind={kind: store.annotation_counts(query, CHECK, kind) for kind in KINDS},
    )


# ---------------------------------------------------------------- the report


@dataclass(slots=True)
class GroupStat:
    group: str
    counts: VerdictCounts
    share: float  # of the axis's kept mentions
    reference: float
    drop_rate: float | None  # None: no samples
    flagged: bool = False
    drop_rate_lower: float | None = None  # lower end of the 95% Wilson interval; None: no samples


@dataclass(slots=True)
class EvidenceStat:
    """Samples whose mentions of an axis were found by ``method`` (lexicon | name | model), by verdict."""

    method: str
    counts: VerdictCounts


@dataclass(slots=True)
class AxisStat:
    axis: str
    counts: VerdictCounts  # sum over its groups
    groups: list[GroupStat]
    total_variation: float | None  # None: nothing kept mentions the axis
    js_divergence: float | None
    drop_rate: float | None
    flagged: bool = False
    drop_rate_lower: float | None = None
    label: str = ""  # display name (axis_label); "" reads as the axis key
    evidence: list[EvidenceStat] = field(default_factory=list)  # METHODS order, then others by name

    @property
    def display(self) -> str:
        return self.label or axis_label(self.axis)


@dataclass(slots=True)
class TermStat:
    """A (subject, label) row: gendered terms, stereotyped pairs, toxic findings."""

    subject: str
    label: str
    counts: VerdictCounts


@dataclass(slots=True)
class OccupationRow:
    occupation: str
    stereotype: str  # the gender WinoBias lists it under
    male: int  # kept samples pairing it with this gender
    female: int
    neutral: int


@dataclass(slots=True)
class BiasReport:
    source: str
    lexicon_version: str
    totals: VerdictCounts
    overall_drop_rate: float
    drop_factor: float
    min_count: int
    axes: list[AxisStat]
    gender_terms: list[TermStat]  # subject pronoun | noun, label male | female | neutral
    occupations: list[OccupationRow]
    stereotypes: list[TermStat]  # subject "axis/group", label trait; most frequent first
    toxic: list[TermStat]  # subject slur | dehumanising, label "axis/group"
    flags: list[str]
    min_drops: int = 1

    def pronouns(self) -> dict[str, int]:
        """Kept samples using he / she / they pronouns."""
        kept = {t.label: t.counts.keep for t in self.gender_terms if t.subject == "pronoun"}
        return {word: kept.get(gender, 0) for gender, word in PRONOUN_LABELS.items()}


def build_report(
    counts: BiasCounts,
    lexicon: Lexicon,
    *,
    drop_factor: float = 1.5,
    min_count: int = 20,
    min_drops: int = 5,
    reference: Mapping[str, Mapping[str, float]] | None = None,
    source: str = "",
) -> BiasReport:
    totals = counts.totals
    overall = _rate(totals.drop, totals.total) or 0.0
    by_axis: dict[str, dict[str, VerdictCounts]] = {axis: {} for axis in lexicon.axes}
    for (axis, group), c in counts.kind(IDENTITY).items():
        by_axis.setdefault(axis, {})[group] = c
    by_method: dict[str, dict[str, VerdictCounts]] = {}
    for (axis, method), c in counts.kind(EVIDENCE).items():
        by_method.setdefault(axis, {})[method] = c
        by_axis.setdefault(axis, {})
    threshold = drop_factor * overall

    def flagged(c: VerdictCounts, lower: float | None) -> bool:
        return c.total >= min_count and c.drop >= min_drops and lower is not None and lower > threshold

    axis_flags: list[str] = []
    group_flags: list[str] = []
    axes = []
    for axis in sorted(by_axis):
        observed = by_axis[axis]
        label = axis_label(axis)
        known = list(lexicon.axes.get(axis, ()))
        ref = _reference(axis, known + sorted(set(observed) - set(known)), (reference or {}).get(axis))
        groups_in = sorted(set(ref) | set(observed))
        kept_total = sum(c.keep for c in observed.values())
        groups = []
        for group in groups_in:
            c = observed.get(group, VerdictCounts())
            rate, lower = _rate(c.drop, c.total), _wilson_lower(c.drop, c.total)
            flag = flagged(c, lower)
            if flag:
                group_flags.append(_flag(f"{group} ({label})", rate, lower, overall, c))
            share = c.keep / kept_total if kept_total else 0.0
            groups.append(GroupStat(group, c, share, ref.get(group, 0.0), rate, flag, lower))
        axis_counts = VerdictCounts(
            keep=sum(c.keep for c in observed.values()),
            drop=sum(c.drop for c in observed.values()),
            review=sum(c.review for c in observed.values()),
        )
        rate, lower = (
            _rate(axis_counts.drop, axis_counts.total),
            _wilson_lower(axis_counts.drop, axis_counts.total),
        )
        flag = flagged(axis_counts, lower)
        if flag:
            axis_flags.append(_flag(label, rate, lower, overall, axis_counts))
        p = [g.share for g in groups]
        q = [g.reference for g in groups]
        tvd = 0.5 * sum(abs(a - b) for a, b in zip(p, q, strict=True)) if kept_total else None
        jsd = _js_divergence(p, q) if kept_total else None
        evidence = [
            EvidenceStat(method, c)
            for method, c in sorted(by_method.get(axis, {}).items(), key=lambda kv: _method_order(kv[0]))
        ]
        axes.append(AxisStat(axis, axis_counts, groups, tvd, jsd, rate, flag, lower, label, evidence))
    gender = [
        TermStat(subject, label, c)
        for (subject, label), c in sorted(counts.kind(GENDER).items(), key=lambda kv: _gender_order(kv[0]))
    ]
    occupations = _occupations(counts.kind(OCCUPATION), lexicon)
    stereotypes = sorted(
        (TermStat(s, lab, c) for (s, lab), c in counts.kind(STEREOTYPE).items()),
        key=lambda t: (-t.counts.total, t.subject, t.label),
    )[:TOP_PAIRS]
    toxic = sorted(
        (TermStat(s, lab, c) for (s, lab), c in counts.kind(TOXIC).items()),
        key=lambda t: (-t.counts.total, t.subject, t.label),
    )
    return BiasReport(
        source=source,
        lexicon_version=lexicon.version,
        totals=totals,
        overall_drop_rate=overall,
        drop_factor=drop_factor,
        min_count=min_count,
        axes=axes,
        gender_terms=gender,
        occupations=occupations,
        stereotypes=stereotypes,
        toxic=toxic,
        flags=axis_flags + group_flags,
        min_drops=min_drops,
    )


def report_from_store(store: Store, query: StatsQuery, settings: BiasSettings) -> BiasReport:
    """The report over the decision log of ``query``'s collection (all when None) and window."""
    return build_report(
        counts_from_store(store, query),
        load_lexicon(settings.lexicon_path),
        drop_factor=settings.drop_factor,
        min_count=settings.min_count,
        min_drops=settings.min_drops,
        reference=settings.reference,
        source=f"collection {query.collection}" if query.collection else "all collections",
    )


def _reference(axis: str, groups: Iterable[str], weights: Mapping[str, float] | None) -> dict[str, float]:
    if weights:
        total = sum(weights.values())
        return {g: w / total for g, w in weights.items()}
    groups = list(groups)
    return {g: 1.0 / len(groups) for g in groups} if groups else {}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _wilson_lower(part: int, whole: int, z: float = WILSON_Z) -> float | None:
    """Lower end of the Wilson score interval of ``part / whole``; None when ``whole`` is 0."""
    if not whole:
        return None
    p = part / whole
    z2 = z * z
    centre = p + z2 / (2 * whole)
    spread = z * math.sqrt(p * (1 - p) / whole + z2 / (4 * whole * whole))
    return max(0.0, (centre - spread) / (1 + z2 / whole))


def _method_order(method: str) -> tuple[int, str]:
    return (METHODS.index(method), "") if method in METHODS else (len(METHODS), method)


def _flag(what: str, rate: float | None, lower: float | None, overall: float, c: VerdictCounts) -> str:
    rate = rate or 0.0
    times = f"{rate / overall:.1f}x" if overall else "above"
    return (
        f"{what}: drop rate {rate:.1%} (95% lower bound {lower or 0.0:.1%}) is {times} the overall"
        f" {overall:.1%} ({c.drop} of {c.total} samples dropped)"
    )


def _js_divergence(p: list[float], q: list[float]) -> float:
    def kl(a: list[float], b: list[float]) -> float:
        return sum(x * math.log2(x / y) for x, y in zip(a, b, strict=True) if x > 0)

    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    return max(0.0, 0.5 * kl(p, m) + 0.5 * kl(q, m))


def _gender_order(key: tuple[str, str]) -> tuple[int, int]:
    subjects = {"pronoun": 0, "noun": 1}
    labels = {"male": 0, "female": 1, "neutral": 2}
    return subjects.get(key[0], 9), labels.get(key[1], 9)


def _occupations(pairs: Mapping[tuple[str, str], VerdictCounts], lexicon: Lexicon) -> list[OccupationRow]:
    kept: dict[str, dict[str, int]] = {}
    for (occupation, gender), c in pairs.items():
        kept.setdefault(occupation, {})[gender] = c.keep
    rows = [
        OccupationRow(
            occupation,
            lexicon.occupations.get(occupation, ""),
            by_gender.get("male", 0),
            by_gender.get("female", 0),
            by_gender.get("neutral", 0),
        )
        for occupation, by_gender in kept.items()
    ]
    return sorted(rows, key=lambda r: (r.stereotype, -(r.male + r.female + r.neutral), r.occupation))


# ---------------------------------------------------------------- JSON


def _counts_json(c: VerdictCounts) -> dict[str, int]:
    return {"keep": c.keep, "drop": c.drop, "review": c.review, "total": c.total}


def report_json(report: BiasReport) -> dict[str, Any]:
    pronouns = report.pronouns()
    he = pronouns["he"]
    return {
        "source": report.source,
        "lexicon_version": report.lexicon_version,
        "totals": _counts_json(report.totals),
        "overall_drop_rate": report.overall_drop_rate,
        "drop_factor": report.drop_factor,
        "min_count": report.min_count,
        "min_drops": report.min_drops,
        "flags": report.flags,
        "axes": [
            {
                "axis": a.axis,
                "label": a.display,
                "counts": _counts_json(a.counts),
                "total_variation": a.total_variation,
                "js_divergence": a.js_divergence,
                "drop_rate": a.drop_rate,
                "drop_rate_lower": a.drop_rate_lower,
                "disproportionate_drop": a.flagged,
                "evidence": {e.method: _counts_json(e.counts) for e in a.evidence},
                "groups": [
                    {
                        "group": g.group,
                        "counts": _counts_json(g.counts),
                        "share": g.share,
                        "reference": g.reference,
                        "drop_rate": g.drop_rate,
                        "drop_rate_lower": g.drop_rate_lower,
                        "disproportionate_drop": g.flagged,
                    }
                    for g in a.groups
                ],
            }
            for a in report.axes
        ],
        "pronouns": {
            **pronouns,
            "she_per_he": pronouns["she"] / he if he else None,
            "they_per_he": pronouns["they"] / he if he else None,
        },
        "gender_terms": [
            {"category": t.subject, "gender": t.label, "counts": _counts_json(t.counts)}
            for t in report.gender_terms
        ],
        "occupations": [
            {
                "occupation": o.occupation,
                "stereotype": o.stereotype,
                "male": o.male,
                "female": o.female,
                "neutral": o.neutral,
            }
            for o in report.occupations
        ],
        "stereotypes": [
            {"group": t.subject, "trait": t.label, "counts": _counts_json(t.counts)}
            for t in report.stereotypes
        ],
        "toxic": [
            {"category": t.subject, "target": t.label, "counts": _counts_json(t.counts)} for t in report.toxic
        ],
    }
