"""A person's verdict on a REVIEW decision: the human in the loop.

Reviews never rewrite the decision log. They are recorded beside it, with who
and when, and an approval admits the sample into its collection's indexes as
if the pipeline had kept it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ReviewAction(StrEnum):
    APPROVE = "approve"  # keep it: admit into the collection's indexes
    REJECT = "reject"  # drop it for good


class ReviewState(StrEnum):
    """Where a REVIEW decision stands; other verdicts have no review state."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @classmethod
    def after(cls, action: ReviewAction) -> ReviewState:
        return cls.APPROVED if action is ReviewAction.APPROVE else cls.REJECTED


@dataclass(frozen=True, slots=True)
class Review:
    action: ReviewAction
    reviewer: str
    reviewed_at: datetime
    note: str = ""


MAX_REVIEWER_CHARS = 128
MAX_NOTE_CHARS = 2_000


MAX_DECISION_ID = 2**63 - 1  # decision ids are 64-bit log ids


def parse_decision_id(raw: str) -> int | None:
    """A decision id as the log numbers it (ASCII digits within 64 bits), or None: "²" and 30 nines
    are not ids, whatever str.isdigit says."""
    if not raw or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 < value <= MAX_DECISION_ID else None
