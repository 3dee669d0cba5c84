"""Eval sets: gold test items that no training sample may leak, shared by every collection.

An eval set is registered once (``curator evalsets add``) and from then on the ``decontamination``
check compares every sample with its items; it lives in the store, so every replica sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from curator.domain.reasons import ReasonCode
from curator.errors import FieldViolation

EVALSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_ITEM_ID_CHARS = 256
MAX_ITEM_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One gold item: its id in its set (the record's ``id``, else its 1-based line) and its text."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class EvalSetInfo:
    name: str
    items: int
    created_at: datetime
    source: str = ""


@dataclass(frozen=True, slots=True)
class ContaminationFinding:
    """A kept sample that leaks an eval item (what ``curator evalsets rescan`` reports)."""

    collection: str
    sample_id: str
    code: ReasonCode
    eval_set: str
    item_id: str
    score: float
    detail: str


def validate_evalset(name: str, items: list[EvalItem], what: str = "an eval set") -> list[FieldViolation]:
    """Violations of a new eval set (or of items of another kind, named by ``what``), each saying how to
    fix it."""
    out: list[FieldViolation] = []
    if not EVALSET_NAME.match(name or ""):
        out.append(
            FieldViolation(
                "name", "eval set names are 1-64 characters of a-z, 0-9, '_', '.', '-', starting alphanumeric"
            )
        )
    if not items:
        out.append(FieldViolation("items", f"{what} needs at least one item"))
    seen: dict[str, int] = {}
    for k, item in enumerate(items):
        if not item.id or len(item.id) > MAX_ITEM_ID_CHARS:
            out.append(FieldViolation(f"items[{k}].id", f"item ids are 1-{MAX_ITEM_ID_CHARS} characters"))
        elif item.id in seen:
            problem = f"id {item.id!r} is also item {seen[item.id]}: ids must be unique"
            out.append(FieldViolation(f"items[{k}].id", problem))
        else:
            seen[item.id] = k
        if not item.text.strip():
            out.append(FieldViolation(f"items[{k}].text", "an item needs text"))
        elif len(item.text) > MAX_ITEM_CHARS:
            out.append(FieldViolation(f"items[{k}].text", f"items are at most {MAX_ITEM_CHARS} characters"))
    return out
