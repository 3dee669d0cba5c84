"""A collection's live state: its dedup indexes, rebuilt from the admission log on start."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from curator.checks.base import stack
from curator.domain.policy import Policy
from curator.state.admission_log import AdmissionLog, Batch

if TYPE_CHECKING:
    from curator.checks.base import DedupIndex, IndexedCheck, Item


class CollectionState:
    """Indexes of kept samples for every indexed check, plus the lock that makes check-and-admit atomic.

    ``version`` grows with every admission; the pipeline uses it for
    optimistic concurrency (evaluate without the lock, commit only if nothing
    was admitted meanwhile).
    """

    def __init__(
        self,
        name: str,
        policy: Policy,
        directory: Path,
        checks: Sequence[IndexedCheck],
        *,
        fsync: bool = True,
        checkpoint_every: int = 1000,
    ) -> None:
        self.name = name
        self.policy = policy
        self.lock = threading.RLock()
        self.version = 0
        self._checks = list(checks)
        self._indexes: dict[str, DedupIndex] = {
            c.name: c.new_index(policy.check(c.name).params) for c in checks
        }
        self._kept = 0
        self._checkpoint_every = checkpoint_every
        self._log = AdmissionLog(directory, fsync=fsync)
        for batch in self._log.load():
            self._apply(batch)

    def index(self, check: str) -> DedupIndex:
        return self._indexes[check]

    @property
    def kept_count(self) -> int:
        return self._kept

    def admit(self, items: Sequence[Item]) -> None:
        """Make kept samples durable, then visible. Call with ``lock`` held."""
        if not items:
            return
        columns = {}
        for check in self._checks:
            check.prepare(items, self.policy.check(check.name))
            for feature, column in stack(items, check.name).items():
                columns[f"{check.name}.{feature}"] = column
        batch = Batch([it.sample.id for it in items], columns)
        self._log.append(batch)
        self._apply(batch)
        self.version += 1
        if self._log.frames_since_snapshot >= self._checkpoint_every:
            self._log.checkpoint()

    def _apply(self, batch: Batch) -> None:
        for name, index in self._indexes.items():
            prefix = f"{name}."
            index.add(
                batch.ids, {k[len(prefix) :]: v for k, v in batch.columns.items() if k.startswith(prefix)}
            )
        self._kept += len(batch.ids)

    def checkpoint(self) -> None:
        with self.lock:
            self._log.checkpoint()

    def close(self) -> None:
        with self.lock:
            if self._log.frames_since_snapshot:
                self._log.checkpoint()
            self._log.close()
