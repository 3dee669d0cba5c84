"""The per-sample half of a batch job: validate records, run the checks that need no index, and compute
every indexed check's features. Pure per record, so it runs on any worker in any order.

One :class:`Measurer` per process holds the checks (and so the models, loaded once); a piece of input
becomes a :class:`MeasuredPiece`, which pickles compactly (feature columns stay numpy arrays).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from curator.batch.plan import Piece, read_piece
from curator.batch.resolve import Measured
from curator.checks import default_checks
from curator.checks.base import Check, CheckContext, IndexedCheck, Item, stack
from curator.checks.decontamination import DecontaminationCheck
from curator.cli.io import Record, to_sample_input
from curator.domain.evalset import EvalItem
from curator.domain.policy import Policy
from curator.domain.sample import Sample
from curator.domain.validation import Limits, validate_sample
from curator.settings import Settings


@dataclass(slots=True)
class BadRecord:
    line: int
    raw: bytes
    problems: list[str]


@dataclass(slots=True)
class MeasuredPiece:
    """A piece's valid samples (with their lines and raw bytes) and bad records, in file order."""

    piece: Piece
    lines: list[int] = field(default_factory=list)
    raws: list[bytes] = field(default_factory=list)
    measured: list[Measured] = field(default_factory=list)
    # Indexed check -> feature name -> column (first axis: the valid samples above).
    features: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    bad: list[BadRecord] = field(default_factory=list)


class Measurer:
    """Checks built once per process; ``measure`` is called once per piece."""

    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        checks: Sequence[Check] | None = None,
        evalsets: Mapping[str, list[EvalItem]] | None = None,
    ) -> None:
        """``evalsets``: what the driver's store holds, since a worker may have no store to read."""
        self.settings = settings
        self.policy = policy
        self.limits: Limits = settings.limits.limits()
        all_checks = checks if checks is not None else default_checks(settings)
        self.checks = [c for c in all_checks if policy.check(c.name).enabled]
        for check in self.checks:
            if isinstance(check, DecontaminationCheck):
                check.evalsets.replace(dict(evalsets or {}), ())

    def measure(self, piece: Piece, batch: int = 256) -> MeasuredPiece:
        out = MeasuredPiece(piece)
        records = read_piece(piece)
        for start in range(0, len(records), batch):
            self._measure(records[start : start + batch], out)
        return out

    def _measure(self, records: Sequence[Record], out: MeasuredPiece) -> None:
        items: list[Item] = []
        for record in records:
            sample = self._valid(record, out)
            if sample is not None:
                items.append(Item.build(sample, len(items), self.policy.dedup_key))
                out.lines.append(record.line)
                out.raws.append(record.raw)
        if not items:
            return
        measured = [Measured(it.sample) for it in items]
        for check in self.checks:
            check_policy = self.policy.check(check.name)
            if isinstance(check, IndexedCheck):
                check.prepare(items, check_policy)
                columns = stack(items, check.name)
                have = out.features.setdefault(check.name, {})
                for name, column in columns.items():
                    have[name] = np.concatenate([have[name], column]) if name in have else column
            else:
                results = check.evaluate_batch(items, CheckContext(check_policy))
                for m, result in zip(measured, results, strict=True):
                    m.results[check.name] = result
        out.measured += measured

    def _valid(self, record: Record, out: MeasuredPiece) -> Sample | None:
        """The record's sample, or None after noting why it is bad (the local engine's wording)."""
        if record.data is None:
            out.bad.append(BadRecord(record.line, record.raw, [record.problem or "unreadable record"]))
            return None
        raw_sample, problems = to_sample_input(record.data, record.line)
        if raw_sample is None:
            out.bad.append(BadRecord(record.line, record.raw, problems))
            return None
        sample, violations = validate_sample(raw_sample, self.limits)
        if sample is None:
            out.bad.append(
                BadRecord(record.line, record.raw, [f"{v.field}: {v.description}" for v in violations])
            )
            return None
        return sample
