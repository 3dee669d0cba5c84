"""EMPTY: a sample with nothing to learn from is dropped before anything else looks at it."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from curator.checks.base import Check, CheckContext, Item
from curator.domain.decision import Action, CheckResult
from curator.domain.policy import Rule
from curator.domain.reasons import ReasonCode


def is_blank(text: str) -> bool:
    """True when only whitespace, control or invisible format characters (e.g. U+200B) remain."""
    return all(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


class EmptyCheck(Check):
    name = "empty"
    cost = 0
    rules = (
        Rule(
            ReasonCode.EMPTY,
            score="empty",
            threshold=1.0,
            action=Action.DROP,
            message="the sample has no content after normalisation",
        ),
    )

    def evaluate_batch(self, items: Sequence[Item], ctx: CheckContext) -> list[CheckResult]:
        return [CheckResult(scores={"empty": float(is_blank(it.sample.full_text))}) for it in items]
