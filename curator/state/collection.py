"""A collection's live state: its dedup indexes, rebuilt on start from the admission files and checked
against the system of record (the decision log).

The admission files (snapshot + log) are a cache that makes restarts fast. What the collection kept is
what the decision log says it kept (KEEP decisions and approved reviews): on load, rows the log does
not know are dropped and kept samples the files lack are recomputed from their logged content. So two
processes that wrote one directory, a snapshot cut short or a torn log lose nothing acknowledged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from curator.arrays import GrowableArray
from curator.checks.base import Item, stack
from curator.domain.policy import Policy
from curator.domain.sample import DIGEST_BYTES, Sample
from curator.errors import FailedPrecondition, Unavailable
from curator.state.admission_log import AdmissionLog, Batch, merge_batches

if TYPE_CHECKING:
    from curator.checks.base import DedupIndex, IndexedCheck

log = logging.getLogger(__name__)

DIGEST_COLUMN = "row.digest"  # content digest of each kept sample: tells a resend from a reused id
# Progress of a long computation (features of samples kept before a check was enabled): (done, total).
Progress = Callable[[int, int], None]
_CHUNK = 256


class KeptRecord(Protocol):
    """What the system of record (the decision log) says a collection kept."""

    def ids(self) -> list[str]:
        """Every kept sample id (KEEP decisions and approved reviews), once each, in the order kept."""
        ...

    def content(self, ids: Sequence[str]) -> Mapping[str, Sample]:
        """The logged content of kept samples, by id (with their metadata)."""
        ...


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
    """The kept samples' ids and an index per *enabled* indexed check, plus the lock that makes
    check-and-admit atomic. A check the policy disables costs nothing; enabling it later computes its
    features for what the collection kept (:meth:`set_policy`).

    ``version`` grows with every admission; the pipeline uses it for optimistic concurrency (evaluate
    without the lock, commit only if nothing was admitted meanwhile).
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
        record: KeptRecord | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.lock = threading.RLock()
        self.version = 0
        self._checks = list(checks)
        self._indexes: dict[str, DedupIndex] = {}
        self._digests: dict[str, bytes] = {}
        self._kept = 0
        self.rows = AdmittedRows()
        # The collapse monitor's k-means centroids and the collection size they were fitted at.
        self.centroids: tuple[int, np.ndarray] | None = None
        self.clock: Callable[[], float] = time.time  # admission timestamps; tests move it
        self._checkpoint_every = checkpoint_every
        self._record = record
        self._discarded = False
        self._log = AdmissionLog(directory, fsync=fsync)
        self._load(progress)

    # ---------------------------------------------------------------- loading

    def _enabled(self) -> list[IndexedCheck]:
        """The indexed checks the policy runs: the only ones with an index."""
        return [c for c in self._checks if self.policy.check(c.name).enabled]

    def _load(self, progress: Progress | None) -> None:
        snapshots = self._log.load_snapshot()
        logged = list(self._log.load_log())
        batches = [*snapshots, *logged]
        enabled = self._enabled()
        self._indexes = {c.name: c.new_index(self.policy.check(c.name).params) for c in enabled}
        recorded = self._record.ids() if self._record is not None else None
        in_files = [i for b in batches for i in b.ids]
        disagree = recorded is not None and (len(in_files) != len(recorded) or set(in_files) != set(recorded))
        missing = [c for c in enabled if any(b.ids and not _features(b, c.name) for b in batches)]
        no_digest = any(b.ids and DIGEST_COLUMN not in b.columns for b in batches)
        if disagree or missing or no_digest:
            if disagree:
                assert recorded is not None
                log.warning(
                    "collection %s: the admission files hold %d kept samples and the decision log %d "
                    "(%d in common); rebuilding from the decision log",
                    self.name,
                    len(in_files),
                    len(recorded),
                    len(set(in_files) & set(recorded)),
                )
            snapshots = [self._rebuild(batches, recorded, missing, progress)]
            logged = []
            self._log.checkpoint(snapshots)  # once: the next start finds every column and every row
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

    def _rebuild(
        self,
        batches: list[Batch],
        recorded: list[str] | None,
        checks: list[IndexedCheck],
        progress: Progress | None,
    ) -> Batch:
        """Everything kept as one batch: the rows the decision log knows (all rows, without one), plus
        kept samples the files lack, with ``checks``' features and content digests computed from the
        logged content where the files have none."""
        merged = merge_batches(batches)
        keep_rows = list(range(len(merged.ids)))
        if recorded is not None:
            known, seen = set(recorded), set()
            keep_rows = []
            for row, sample_id in enumerate(merged.ids):
                if sample_id in known and sample_id not in seen:
                    keep_rows.append(row)
                    seen.add(sample_id)
            absent = [i for i in recorded if i not in seen]
        else:
            absent = []
        kept = merged.take(keep_rows)
        # Features to compute for every row: the checks asked for, and enabled ones the files have none of.
        recompute = {c.name for c in checks} | {
            c.name for c in self._enabled() if not _features(kept, c.name)
        }
        # Rows whose features or digest must come from the logged content.
        need_all = bool(recompute) or DIGEST_COLUMN not in kept.columns
        wanted = [*(kept.ids if need_all else []), *absent]
        content = self._content(wanted)
        new_rows = [content[i] for i in absent]
        columns: dict[str, np.ndarray] = {}
        enabled = {c.name for c in self._enabled()}
        by_name = {c.name: c for c in self._checks}
        extra: dict[str, dict[str, np.ndarray]] = {}  # features of the new rows, per check
        for key, column in kept.columns.items():
            check, feature = key.split(".", 1)
            if check in recompute or key == DIGEST_COLUMN:
                continue
            if not absent:
                columns[key] = column
            elif check == "row":  # when admitted, diversity then: unknown for rows rebuilt from the log
                columns[key] = np.concatenate([column, np.full(len(absent), np.nan, dtype=column.dtype)])
            elif check in enabled:
                if check not in extra:
                    extra[check] = self._compute(by_name[check], new_rows, progress)
                columns[key] = np.concatenate([column, extra[check][feature]])
            # else: a disabled check's columns cannot be completed; they are recomputed if it is enabled
        if need_all:
            samples = [*(content[i] for i in kept.ids), *new_rows]
            columns[DIGEST_COLUMN] = _digests(samples)
            for name in recompute:
                for feature, column in self._compute(by_name[name], samples, progress).items():
                    columns[f"{name}.{feature}"] = column
        else:
            columns[DIGEST_COLUMN] = np.concatenate([kept.columns[DIGEST_COLUMN], _digests(new_rows)])
        metadata = [*(kept.metadata or [{} for _ in kept.ids]), *(dict(s.metadata) for s in new_rows)]
        return Batch([*kept.ids, *absent], columns, metadata)

    def _content(self, ids: Sequence[str]) -> dict[str, Sample]:
        if not ids:
            return {}
        content = dict(self._record.content(ids)) if self._record is not None else {}
        absent = [i for i in dict.fromkeys(ids) if i not in content]
        if absent:
            raise FailedPrecondition(
                f"collection {self.name!r} needs the logged content of {len(ids)} kept samples to rebuild"
                f" its indexes, and {len(absent)} of them (e.g. {absent[:3]}) have none; re-create the"
                " collection from the source data"
            )
        return content

    def _compute(
        self, check: IndexedCheck, samples: Sequence[Sample], progress: Progress | None
    ) -> dict[str, np.ndarray]:
        """A check's feature columns for ``samples``, a chunk at a time so that progress can be shown."""
        policy = self.policy.check(check.name)
        report = progress or _LogProgress(f"collection {self.name}: {check.name} features")
        parts: list[dict[str, np.ndarray]] = []
        for start in range(0, len(samples), _CHUNK):
            chunk = samples[start : start + _CHUNK]
            items = [Item.build(s, k, self.policy.dedup_key) for k, s in enumerate(chunk)]
            parts.append(check.features(items, policy))
            report(start + len(chunk), len(samples))
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}

    # ---------------------------------------------------------------- policy

    def set_policy(self, policy: Policy, progress: Progress | None = None) -> None:
        """Follow a policy change: drop the index of a check it disables, and build one for a check it
        enables from what the collection kept (its features computed from logged content if need be)."""
        with self.lock:
            before = set(self._indexes)
            self.policy = policy
            enabled = self._enabled()
            for name in before - {c.name for c in enabled}:
                del self._indexes[name]
            new = [c for c in enabled if c.name not in before]
            if not new:
                return
            self._log.checkpoint()  # everything admitted so far, in one snapshot
            [batch] = self._log.load_snapshot() or [Batch([], {}, [])]
            lacking = [c for c in new if batch.ids and not _features(batch, c.name)]
            if lacking:
                batch = self._rebuild([batch], None, lacking, progress)
                self._log.checkpoint([batch])
            for check in new:
                index = check.new_index(policy.check(check.name).params)
                if batch.ids:
                    index.add(batch.ids, _features(batch, check.name))
                self._indexes[check.name] = index
            self._save_images()
            self.version += 1  # evaluations in flight saw the old indexes: make them re-evaluate

    # ---------------------------------------------------------------- reading

    def index(self, check: str) -> DedupIndex:
        """The index of an enabled indexed check (KeyError for a disabled one: it has none)."""
        return self._indexes[check]

    def has_index(self, check: str) -> bool:
        return check in self._indexes

    @property
    def indexes(self) -> Mapping[str, DedupIndex]:
        return self._indexes

    def kept_digest(self, sample_id: str) -> bytes | None:
        """The content digest of the sample kept under ``sample_id``; None if no sample is."""
        return self._digests.get(sample_id)

    @property
    def kept_count(self) -> int:
        return self._kept

    # ---------------------------------------------------------------- admitting

    def admit(self, items: Sequence[Item]) -> None:
        """Make kept samples durable, then visible. Call with ``lock`` held."""
        if not items:
            return
        if self._discarded:
            raise Unavailable(f"collection {self.name!r} is being reloaded from its decision log; retry")
        columns = {}
        for check in self._enabled():
            check.prepare(items, self.policy.check(check.name))
            for feature, column in stack(items, check.name).items():
                columns[f"{check.name}.{feature}"] = column
        columns[DIGEST_COLUMN] = _digests([it.sample for it in items])
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
        if not batch.ids:
            return
        for name, index in self._indexes.items():
            if name not in skip:
                index.add(batch.ids, _features(batch, name))
        for sample_id, digest in zip(batch.ids, batch.columns[DIGEST_COLUMN], strict=True):
            self._digests.setdefault(sample_id, digest.tobytes())
        self._kept += len(batch.ids)
        self.rows.add(batch)

    def _checkpoint(self) -> None:
        """Fold the log into a snapshot, and let indexes save images that match it."""
        self._log.checkpoint()
        self._save_images()

    def _save_images(self) -> None:
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
            if self._discarded:
                return
            if self._log.frames_since_snapshot:
                self._checkpoint()
            self._log.close()

    def discard(self) -> None:
        """Stop using this state: its memory holds admissions the decision log never recorded (the log
        write failed after them). Later admissions here fail (retryable); the next load of the collection
        checks the files against the log and leaves those admissions out."""
        with self.lock:
            self._discarded = True
            self._log.close()


class _LogProgress:
    """Progress of a long computation in the log, at most every few seconds."""

    def __init__(self, what: str, every: float = 5.0) -> None:
        self.what = what
        self.every = every
        self.last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self.last >= self.every:
            self.last = now
            log.info("%s: %d of %d", self.what, done, total)


def _digests(samples: Sequence[Sample]) -> np.ndarray:
    raw = b"".join(s.content_digest() for s in samples)
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(samples), DIGEST_BYTES).copy()


def _features(batch: Batch, check: str) -> dict[str, np.ndarray]:
    """One check's columns of a batch, without the check's prefix."""
    prefix = f"{check}."
    return {k[len(prefix) :]: v for k, v in batch.columns.items() if k.startswith(prefix)}
