"""``curator filter``: records in, one decision line per valid record out, bad lines reported and skipped.

Every record is validated on its own before batching, so one bad record never
fails a batch of good ones. Against a server, :meth:`FilterRun.batches` runs on
a gRPC thread a few batches ahead of the responses handled here, which is why
the state both sides touch is either append/pop on a deque or under a lock.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from curator.cli.backend import Backend, filter_batches
from curator.cli.io import JsonlWriter, Record, decision_json, to_sample_input
from curator.domain.decision import Decision, Verdict
from curator.domain.validation import Limits, SampleInput, validate_sample
from curator.errors import CuratorError, InvalidArgument

_SAMPLE_FIELD = re.compile(r"^samples\[(\d+)\](?:\.(.*))?$")


class BatchRejected(CuratorError):
    """The service refused a whole batch for a reason that names no record in it; the run stops."""

    def __init__(self, first_line: int, last_line: int, size: int, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            f"the service refused a whole batch ({size} samples, lines {first_line}-{last_line}),"
            f" not any one record in it: {'; '.join(problems)}"
        )


@dataclass(slots=True)
class Outputs:
    """The files a run writes; every one but ``decisions`` is optional."""

    decisions: JsonlWriter
    kept: JsonlWriter | None = None
    dropped: JsonlWriter | None = None
    review: JsonlWriter | None = None
    invalid: JsonlWriter | None = None

    def for_verdict(self, verdict: Verdict) -> JsonlWriter | None:
        return {Verdict.KEEP: self.kept, Verdict.DROP: self.dropped, Verdict.REVIEW: self.review}[verdict]


@dataclass(slots=True)
class Counts:
    read: int = 0
    kept: int = 0
    dropped: int = 0
    review: int = 0
    invalid: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class _Entry:
    record: Record
    sample: SampleInput


@dataclass(slots=True)
class FilterRun:
    """One pass over an input. ``report`` prints a bad-line message; ``advance`` moves the progress bar."""

    backend: Backend
    collection: str
    outputs: Outputs
    limits: Limits
    batch_size: int = 500
    dry_run: bool = False
    score_all: bool = False
    strict: bool = False
    report: Callable[[str], None] = print
    advance: Callable[[int], None] = lambda n: None
    counts: Counts = field(default_factory=Counts)
    failed: bool = False  # --strict met a bad line
    _pending: deque[list[_Entry]] = field(default_factory=deque)
    _seen: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, records: Iterator[Record]) -> Counts:
        """Filter every record; returns the counts (also on Ctrl-C, through ``self.counts``)."""
        started = time.perf_counter()
        try:
            results = filter_batches(
                self.backend,
                self.collection,
                self.batches(records),
                dry_run=self.dry_run,
                score_all=self.score_all,
            )
            try:
                for result in results:
                    entries = self._pending.popleft()
                    if isinstance(result, InvalidArgument):
                        self._rejected(entries, result)
                    else:
                        self._write(entries, result)
            finally:
                results.close()  # on Ctrl-C, cancels a server stream rather than leaving it open
        finally:
            self.counts.seconds = time.perf_counter() - started
        return self.counts

    def batches(self, records: Iterator[Record]) -> Iterator[list[SampleInput]]:
        """Valid samples in batches; bad records are reported here and never sent."""
        batch: list[_Entry] = []
        for record in records:
            if self.failed:
                break
            self.counts.read += 1
            entry = self._entry(record)
            if entry is None:
                continue
            batch.append(entry)
            if len(batch) >= self.batch_size:
                yield self._send(batch)
                batch = []
        if batch:
            yield self._send(batch)

    def _send(self, batch: list[_Entry]) -> list[SampleInput]:
        self._pending.append(batch)
        return [e.sample for e in batch]

    def _entry(self, record: Record) -> _Entry | None:
        """The record as a sample ready to send, or None after reporting why it is bad."""
        if record.data is None:
            self._bad(record, [record.problem or "unreadable record"])
            return None
        sample, problems = to_sample_input(record.data, record.line)
        if sample is None:
            self._bad(record, problems)
            return None
        _, violations = validate_sample(sample, self.limits)
        if violations:
            self._bad(record, [f"{v.field}: {v.description}" for v in violations])
            return None
        first = self._seen.setdefault(sample.id, record.line)
        if first != record.line:
            self._bad(
                record, [f"duplicate id {sample.id!r} (first seen on line {first}): ids must be unique"]
            )
            return None
        return _Entry(record, sample)

    def _bad(self, record: Record, problems: Sequence[str]) -> None:
        with self._lock:
            self.counts.invalid += 1
            self.report(f"line {record.line}: {'; '.join(problems)}")
            if self.outputs.invalid is not None:
                self.outputs.invalid.write_raw(record.raw)
            if self.strict:
                self.failed = True
        self.advance(1)

    def _write(self, entries: Sequence[_Entry], decisions: Sequence[Decision]) -> None:
        if len(decisions) != len(entries):
            raise RuntimeError(f"{len(decisions)} decisions for a batch of {len(entries)} samples")
        for entry, decision in zip(entries, decisions, strict=True):
            if decision.sample_id != entry.sample.id:
                raise RuntimeError(
                    f"decision for {decision.sample_id!r} where {entry.sample.id!r} was expected"
                )
            self.outputs.decisions.write(decision_json(decision))
            out = self.outputs.for_verdict(decision.verdict)
            if out is not None:
                out.write_raw(entry.record.raw)
            if decision.verdict is Verdict.KEEP:
                self.counts.kept += 1
            elif decision.verdict is Verdict.DROP:
                self.counts.dropped += 1
            else:
                self.counts.review += 1
        self.advance(len(entries))

    def _rejected(self, entries: list[_Entry], err: InvalidArgument) -> None:
        """A batch the service refused although every record passed local validation.

        Records named by a violation are reported as bad lines and the others
        are sent again on their own. A violation that names no record (too many
        samples in one request, an unknown collection) is not the records'
        fault: the run stops with :class:`BatchRejected`.
        """
        per_sample: dict[int, list[str]] = {}
        general: list[str] = []
        for v in err.violations:
            m = _SAMPLE_FIELD.match(v.field)
            if m and int(m.group(1)) < len(entries):
                per_sample.setdefault(int(m.group(1)), []).append(
                    f"{m.group(2) or 'sample'}: {v.description}"
                )
            else:
                general.append(f"{v.field}: {v.description}" if v.field else v.description)
        if general:
            raise BatchRejected(entries[0].record.line, entries[-1].record.line, len(entries), general)
        rest = []
        for i, entry in enumerate(entries):
            if i in per_sample:
                self._bad(entry.record, per_sample[i])
            else:
                rest.append(entry)
        if not rest or self.failed:
            return
        try:
            decisions = self.backend.filter(
                self.collection, [e.sample for e in rest], dry_run=self.dry_run, score_all=self.score_all
            )
        except InvalidArgument as again:
            for entry in rest:
                self._bad(entry.record, [f"rejected by the service: {again}"])
            return
        self._write(rest, decisions)
