"""BIAS: identity mentions, gendered terms, occupation-gender pairings, stereotypes and toxic language.

One pass of the bias lexicon's matcher over each sample's full text (curator.bias.detect). Scores:
``toxicity`` (1 when a slur or dehumanising language about a group is found) and ``stereotype`` (1
when a group reference sits within the window of a stereotyped trait). Every finding travels with
the decision as an annotation; mentions of a group are recorded and never decide anything.

It runs right after ``empty`` (cost 5), before the dedup checks: the collection audit compares each
group's drop rate with the overall one, and a sample dropped before this check would carry no
findings, making drops by the dedup checks invisible to that comparison. At well under a
millisecond per sample it costs less than the MinHash it precedes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from curator.bias.annotations import to_annotations
from curator.bias.detect import DEFAULT_WINDOW, Findings, analyse
from curator.bias.lexicon import Lexicon, load_lexicon
from curator.bias.names import Names, load_names
from curator.checks.base import Check, CheckContext, Item
from curator.domain.decision import Action, CheckResult, Evidence
from curator.domain.policy import Rule
from curator.domain.reasons import ReasonCode

if TYPE_CHECKING:
    from curator.settings import Settings

# bias.names: which axes a first name may give evidence on. "gender" by default: the hand labels never
# count race from a name alone, and 35% of the labelled texts that name a group would gain a race
# mention they were not labelled with (benchmarks/README.md, issue 15).
NAME_AXES: dict[str, frozenset[str] | None] = {
    "off": frozenset(),
    "gender": frozenset({"gender_and_sex"}),
    "all": None,
}


class BiasCheck(Check):
    name = "bias"
    cost = 5
    rules = (
        Rule(
            ReasonCode.TOXIC_LANGUAGE,
            score="toxicity",
            threshold=1.0,
            action=Action.DROP,
            message="toxic language: {detail}",
        ),
        Rule(
            ReasonCode.STEREOTYPE_ASSOCIATION,
            score="stereotype",
            threshold=1.0,
            action=Action.REVIEW,
            message="stereotyped association: {detail}",
        ),
    )

    def __init__(
        self,
        lexicon: Lexicon | None = None,
        window: int = DEFAULT_WINDOW,
        names: Names | None = None,
        name_axes: frozenset[str] | None = NAME_AXES["gender"],
    ) -> None:
        """``names``: first names as weak evidence, on ``name_axes`` (None: every axis the list has)."""
        self.lexicon = lexicon or load_lexicon()
        self.window = window
        self.names = names
        self.name_axes = name_axes

    @classmethod
    def from_settings(cls, settings: Settings) -> BiasCheck:
        mode = settings.bias.names
        names = load_names(settings.bias.names_path) if mode != "off" else None
        return cls(
            load_lexicon(settings.bias.lexicon_path),
            settings.bias.stereotype_window,
            names,
            NAME_AXES.get(mode),
        )

    def evaluate_batch(self, items: Sequence[Item], ctx: CheckContext) -> list[CheckResult]:
        return [self.evaluate_text(it.sample.full_text) for it in items]

    def evaluate_text(self, text: str) -> CheckResult:
        findings = analyse(text, self.lexicon, self.window, names=self.names, name_axes=self.name_axes)
        return CheckResult(
            scores={
                "toxicity": 1.0 if findings.toxic else 0.0,
                "stereotype": 1.0 if findings.stereotypes else 0.0,
            },
            evidence=evidence(findings),
            annotations=to_annotations(findings),
        )


def evidence(findings: Findings) -> dict[str, Evidence]:
    """The {detail} of the reason messages: the first finding, and how many more there are."""
    out = {}
    if findings.toxic:
        first = findings.toxic[0]
        out["toxicity"] = Evidence(detail=first.detail + _more(len(findings.toxic)))
    if findings.stereotypes:
        s = findings.stereotypes[0]
        detail = f"{s.group_text!r} with {s.trait!r} ({s.group}, {s.category})"
        out["stereotype"] = Evidence(detail=detail + _more(len(findings.stereotypes)))
    return out


def _more(n: int) -> str:
    return f" (+{n - 1} more)" if n > 1 else ""
