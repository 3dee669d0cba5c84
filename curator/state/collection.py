"""A collection's live state: its dedup indexes, rebuilt from the admission log on start."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from curator.arrays import GrowableArray
from curator.checks.base import Item, stack
from curator.domain.policy import Policy
from curator.domain.sample import Sample
from curator.errors import FailedPrecondition
from curator.state.admission_log import AdmissionLog, Batch

if TYPE_CHECKING:
    from curator.checks.base import DedupIndex, IndexedCheck

log = logging.getLogger(__name__)

# Sample content of kept samples by id (the decision log keeps it): what a check that is new to a
# collection computes its features from.
KeptContent = Callable[[Sequence[str]], Mapping[str, Sample]]


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
        kept_content: KeptContent | None = None,
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
        snapshots = self._log.load_snapshot()
        logged = list(self._log.load_log())
        new = [
            c for c in self._checks if any(b.ids and not _features(b, c.name) for b in [*snapshots, *logged])
        ]
        if new:
            snapshots, logged = [self._backfill([*snapshots, *logged], new, kept_content)], []
            self._log.checkpoint(snapshots)  # once: the next start finds every column
        for snapshot in snapshots:
            # Indexes that kept an image of themselves at the snapshot (HNSW graphs) skip re-adding it.
            restored = {
                name
                for name, index in self._indexes.items()
                if index.load_image(self._log.side_file(name), snapshot.ids, _features(snapshot, name))
            }
            self._apply(snapshot, skip=restored)
        for batch in logged:
            self._apply(batch)

    def _backfill(
        self, batches: list[Batch], checks: list[IndexedCheck], kept_content: KeptContent | None
    ) -> Batch:
        """Everything admitted as one batch, with the features of ``checks`` computed from the kept samples'
        stored content: the collection predates those checks (a new version added them)."""
        recomputed = {c.name for c in checks}
        names = ", ".join(sorted(recomputed))
        ids = [i for b in batches for i in b.ids]
        content = kept_content(ids) if kept_content is not None else {}
        absent = [i for i in dict.fromkeys(ids) if i not in content]
        if absent:
            raise FailedPrecondition(
                f"collection {self.name!r} has {len(ids)} kept samples without {names} features, and"
                f" {len(absent)} of them (e.g. {absent[:3]}) have no stored content to compute them from;"
                " re-create the collection from the source data"
            )
        log.warning("collection %s: computing %s features for %d kept samples", self.name, names, len(ids))
        items = [Item.build(content[i], k, self.policy.dedup_key) for k, i in enumerate(ids)]
        columns: dict[str, np.ndarray] = {}
        for key in dict.fromkeys(k for b in batches for k in b.columns):
            if key.split(".", 1)[0] in recomputed:
                continue
            if all(key in b.columns for b in batches):
                columns[key] = np.concatenate([b.columns[key] for b in batches])
            elif key.startswith("row."):  # admission time and diversity: unknown for old batches
                dtype = next(b.columns[key].dtype for b in batches if key in b.columns)
                columns[key] = np.concatenate(
                    [b.columns.get(key, np.full(len(b.ids), np.nan, dtype=dtype)) for b in batches]
                )
        for check in checks:
            for feature, column in check.features(items, self.policy.check(check.name)).items():
                columns[f"{check.name}.{feature}"] = column
        metadata = [m for b in batches for m in (b.metadata or [{} for _ in b.ids])]
        return Batch(ids, columns, metadata)

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
