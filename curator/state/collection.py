"""A collection's live state: its dedup indexes, rebuilt from the admission log on start."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from curator.arrays import GrowableArray
from curator.checks.base import stack
from curator.domain.policy import Policy
from curator.state.admission_log import AdmissionLog, Batch

if TYPE_CHECKING:
    from curator.checks.base import DedupIndex, IndexedCheck, Item


class AdmittedRows:
    """When each kept sample was admitted, its diversity then, and its metadata: for collapse reports."""

    def __init__(self) -> None:
        self._admitted_at = GrowableArray((), np.float64)
        self._diversity = GrowableArray((), np.float32)
        self.metadata: list[dict[str, str]] = []

    def add(self, batch: Batch) -> None:
        n = len(batch.ids)
        self._admitted_at.extend(batch.columns.get("row.admitted_at", np.full(n, np.nan)))
        self._diversity.extend(batch.columns.get("row.diversity", np.full(n, np.nan, dtype=np.float32)))
        self.metadata.extend(batch.metadata or [{} for _ in range(n)])

    @property
    def admitted_at(self) -> np.ndarray:
        return self._admitted_at.view

    @property
    def diversity(self) -> np.ndarray:
        return self._diversity.view


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
        self.rows = AdmittedRows()
        # The collapse monitor's k-means centroids and the collection size they were fitted at.
        self.centroids: tuple[int, np.ndarray] | None = None
        self.clock: Callable[[], float] = time.time  # admission timestamps; tests move it
        self._checkpoint_every = checkpoint_every
        self._log = AdmissionLog(directory, fsync=fsync)
        for snapshot in self._log.load_snapshot():
            # Indexes that kept an image of themselves at the snapshot (HNSW graphs) skip re-adding it.
            restored = {
                name
                for name, index in self._indexes.items()
                if index.load_image(self._log.side_file(name), snapshot.ids, _features(snapshot, name))
            }
            self._apply(snapshot, skip=restored)
        for batch in self._log.load_log():
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
        columns["row.admitted_at"] = np.full(len(items), self.clock(), dtype=np.float64)
        diversity = [it.scores.get("diversity", np.nan) for it in items]
        columns["row.diversity"] = np.array(diversity, dtype=np.float32)
        batch = Batch([it.sample.id for it in items], columns, [dict(it.sample.metadata) for it in items])
        self._log.append(batch)
        self._apply(batch)
        self.version += 1
        if self._log.frames_since_snapshot >= self._checkpoint_every:
            self._checkpoint()

    def _apply(self, batch: Batch, skip: set[str] | frozenset[str] = frozenset()) -> None:
        for name, index in self._indexes.items():
            if name not in skip:
                index.add(batch.ids, _features(batch, name))
        self._kept += len(batch.ids)
        self.rows.add(batch)

    def _checkpoint(self) -> None:
        """Fold the log into a snapshot, and let indexes save images that match it."""
        self._log.checkpoint()
        for name, index in self._indexes.items():
            path = self._log.side_file(name)
            tmp = path.with_suffix(".tmp")
            if index.save_image(tmp):
                tmp.replace(path)

    def checkpoint(self) -> None:
        with self.lock:
            self._checkpoint()

    def close(self) -> None:
        with self.lock:
            if self._log.frames_since_snapshot:
                self._checkpoint()
            self._log.close()


def _features(batch: Batch, check: str) -> dict[str, np.ndarray]:
    """One check's columns of a batch, without the check's prefix."""
    prefix = f"{check}."
    return {k[len(prefix) :]: v for k, v in batch.columns.items() if k.startswith(prefix)}
