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
from curator.checks.base import Check, CheckContext, Item
from curator.domain.decision import Action, CheckResult, Evidence
from curator.domain.policy import Rule
from curator.domain.reasons import ReasonCode

if TYPE_CHECKING:
    from curator.settings import Settings


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

    def __init__(self, lexicon: Lexicon | None = None, window: int = DEFAULT_WINDOW) -> None:
        self.lexicon = lexicon or load_lexicon()
        self.window = window

    @classmethod
    def from_settings(cls, settings: Settings) -> BiasCheck:
        return cls(load_lexicon(settings.bias.lexicon_path), settings.bias.stereotype_window)

    def evaluate_batch(self, items: Sequence[Item], ctx: CheckContext) -> list[CheckResult]:
        return [self.evaluate_text(it.sample.full_text) for it in items]

    def evaluate_text(self, text: str) -> CheckResult:
        findings = analyse(text, self.lexicon, self.window)
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
