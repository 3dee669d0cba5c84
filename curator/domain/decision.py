"""What checks produce (scores and evidence) and what the policy turns them into (decisions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from curator.domain.reasons import ReasonCode


class Verdict(StrEnum):
    KEEP = "keep"
    DROP = "drop"
    REVIEW = "review"


class Action(StrEnum):
    DROP = "drop"
    REVIEW = "review"
    FLAG = "flag"  # recorded as a reason; the verdict is unaffected


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a score has its value: the sample it was measured against, and detail for the message."""

    matched_id: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Annotation:
    """A finding that travels with the decision without deciding anything (e.g. an identity mention).

    ``subject`` and ``label`` are what reports aggregate by (for an identity
    mention: axis and group); ``attributes`` carry everything shown to people.
    ``span`` is a character range in the sample's ``full_text``.
    """

    check: str
    kind: str
    subject: str = ""
    label: str = ""
    span: tuple[int, int] | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class CheckResult:
    """One check's measurement of one sample; no decision is taken here.

    ``scores`` maps score names (e.g. ``near_duplicate``) to values; ``evidence``
    maps the same names to what backs them; ``annotations`` are findings that
    are recorded but never decide by themselves.
    """

    scores: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    check: str
    message: str
    score: float
    threshold: float
    action: Action
    matched_id: str = ""


@dataclass(slots=True)
class Decision:
    sample_id: str
    verdict: Verdict
    reasons: list[Reason] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    policy_version: int = 0
    annotations: list[Annotation] = field(default_factory=list)

    @staticmethod
    def verdict_for(reasons: list[Reason]) -> Verdict:
        """Any DROP wins, then any REVIEW; flags leave the sample kept."""
        actions = {r.action for r in reasons}
        if Action.DROP in actions:
            return Verdict.DROP
        if Action.REVIEW in actions:
            return Verdict.REVIEW
        return Verdict.KEEP
