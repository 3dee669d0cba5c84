"""An in-memory system of record for one collection: what the store does, for state and pipeline tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence

from curator.domain.decision import Verdict
from curator.domain.sample import Sample
from curator.state.store import Admission, LoggedDecision, LostRace


class MemoryRecord:
    """Admissions as (last number, frame), conditional commits, and the content of kept samples (taken
    from the KEEP decisions committed with them, as the decision log keeps it)."""

    def __init__(self, policy_version: int = 1) -> None:
        self.frames: list[tuple[int, bytes]] = []
        self.logged: list[LoggedDecision] = []
        self.policy_version = policy_version
        self._seq = 0
        self._kept: dict[str, Sample] = {}
        self._lock = threading.Lock()

    def seq(self) -> int:
        return self._seq

    def since(self, seq: int) -> list[tuple[int, bytes]]:
        return [(to, frame) for to, frame in self.frames if to > seq]

    def commit(
        self,
        seen: int,
        policy_version: int,
        admission: Admission | Sequence[Admission] | None,
        decisions: Sequence[LoggedDecision],
    ) -> int:
        with self._lock:
            if seen != self._seq or policy_version != self.policy_version:
                raise LostRace("c", seen, self._seq, self.policy_version)
            admissions = (
                [] if admission is None else [admission] if isinstance(admission, Admission) else admission
            )
            for a in admissions:
                if a.count:
                    self._seq += a.count
                    self.frames.append((self._seq, a.frame))
            self.logged += decisions
            for d in decisions:
                if d.decision.verdict is Verdict.KEEP and d.sample is not None:
                    self._kept.setdefault(d.sample.id, d.sample)
            return self._seq

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def kept_ids(self) -> list[str]:
        return list(self._kept)

    def content(self, ids: Sequence[str]) -> Mapping[str, Sample]:
        return {i: self._kept[i] for i in ids if i in self._kept}

    def keep(self, samples: Sequence[Sample]) -> None:
        """Content for samples admitted without decisions (``CollectionState.admit`` in tests)."""
        for s in samples:
            self._kept.setdefault(s.id, s)
