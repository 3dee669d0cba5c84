"""Bias findings as decision annotations, and back to the (subject, label) reports aggregate by.

Kinds (``Annotation.kind``), what their subject and label are, and the attributes they carry (the
CLI's decision lines show the attributes, so subject and label are always among them):

==================  =================  ====================  ==========================================
kind                subject            label                 attributes
==================  =================  ====================  ==========================================
identity_mention    axis               group                 axis, group, term, method, confidence; span
identity_evidence   axis               method                axis, method, count (one per pair)
gender_terms        pronoun | noun     male|female|neutral   category, gender, count (one per pair)
occupation_gender   occupation         gender                occupation, gender, stereotype; span
stereotype          "axis/group"       trait                 group, trait, category, term; span
toxic_term          slur|dehumanising  "axis/group"          category, target; span (no term text)
==================  =================  ====================  ==========================================

``method`` says how a mention was found: ``lexicon`` (a term or pattern of the bias lexicon), ``name``
(a first name's documented association: weak evidence, stated as such) or ``model``; ``confidence`` is
in [0, 1], written with two decimals. ``identity_evidence`` summarises a sample's mentions per axis and
method, so that reports can say how each axis's mentions were found with the same aggregation as the
other kinds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from curator.bias.detect import Findings
from curator.domain.decision import Annotation

CHECK = "bias"
IDENTITY = "identity_mention"
EVIDENCE = "identity_evidence"
GENDER = "gender_terms"
OCCUPATION = "occupation_gender"
STEREOTYPE = "stereotype"
TOXIC = "toxic_term"
# kind -> (attribute holding the subject, attribute holding the label)
KEYS: dict[str, tuple[str, str]] = {
    IDENTITY: ("axis", "group"),
    EVIDENCE: ("axis", "method"),
    GENDER: ("category", "gender"),
    OCCUPATION: ("occupation", "gender"),
    STEREOTYPE: ("group", "trait"),
    TOXIC: ("category", "target"),
}
KINDS = tuple(KEYS)

# How people read each axis (HolisticBias's keys stay the keys of annotations, JSON and gRPC; the CLI,
# the HTML report and the dashboard show these). An axis missing here is shown with its underscores
# as spaces.
AXIS_LABELS: dict[str, str] = {
    "ability": "disability",
    "age": "age",
    "body_type": "physical appearance",
    "characteristics": "characteristics",
    "cultural": "cultural",
    "gender_and_sex": "gender",
    "nationality": "nationality",
    "nonce": "nonce",
    "political_ideologies": "political ideology",
    "race_ethnicity": "race / ethnicity",
    "religion": "religion",
    "sexual_orientation": "sexual orientation",
    "socioeconomic_class": "socioeconomic class",
}


def axis_label(axis: str) -> str:
    """The display name of an axis key (``ability`` -> ``disability``)."""
    return AXIS_LABELS.get(axis) or axis.replace("_", " ")


def to_annotations(findings: Findings) -> list[Annotation]:
    out = [
        Annotation(
            CHECK,
            IDENTITY,
            m.axis,
            m.group,
            m.span,
            {
                "axis": m.axis,
                "group": m.group,
                "term": m.term,
                "method": m.method,
                "confidence": f"{m.confidence:.2f}",
            },
        )
        for m in findings.mentions
    ]
    for (axis, method), count in sorted(Counter((m.axis, m.method) for m in findings.mentions).items()):
        attributes = {"axis": axis, "method": method, "count": str(count)}
        out.append(Annotation(CHECK, EVIDENCE, axis, method, None, attributes))
    for (category, gender), count in sorted(findings.gender_counts.items()):
        attributes = {"category": category, "gender": gender, "count": str(count)}
        out.append(Annotation(CHECK, GENDER, category, gender, None, attributes))
    out += [
        Annotation(
            CHECK,
            OCCUPATION,
            o.occupation,
            o.gender,
            o.span,
            {"occupation": o.occupation, "gender": o.gender, "stereotype": o.stereotype},
        )
        for o in findings.occupations
    ]
    out += [
        Annotation(
            CHECK,
            STEREOTYPE,
            s.group,
            s.trait,
            s.span,
            {"group": s.group, "trait": s.trait, "category": s.category, "term": s.group_text},
        )
        for s in findings.stereotypes
    ]
    out += [
        Annotation(CHECK, TOXIC, t.category, t.target, t.span, {"category": t.category, "target": t.target})
        for t in findings.toxic
    ]
    return out


def key_of(annotation: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(kind, subject, label) of a bias annotation as a decision line shows it; None for others."""
    if annotation.get("check") != CHECK:
        return None
    kind = annotation.get("kind")
    keys = KEYS.get(kind) if isinstance(kind, str) else None
    if keys is None or kind is None:
        return None
    subject, label = annotation.get(keys[0]), annotation.get(keys[1])
    if not isinstance(subject, str) or not isinstance(label, str):
        return None
    return kind, subject, label
