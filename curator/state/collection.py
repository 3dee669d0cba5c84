"""A collection's live state: the ids it kept and an index per enabled check, kept in step with the
system of record.

The store holds every admission (the kept samples' ids, content digests and index features), committed in
one transaction with the request's decisions and only if the committing process had seen every earlier
admission (:meth:`CollectionState.commit`). This process's indexes are a cache of that record: loaded from
a local image (the admission files under the data directory) and brought up to date from the store, on
start and whenever a commit finds that another process admitted meanwhile (:meth:`CollectionState.catch_up`).
Without a store (tests, benchmarks) the admission files are the record themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from curator.arrays import GrowableArray
from curator.domain.policy import Policy
from curator.domain.sample import DIGEST_BYTES, Sample
from curator.errors import FailedPrecondition, Unavailable
from curator.state.admission_log import AdmissionLog, Batch, decode_frame, merge_batches
from curator.state.store import Admission, LoggedDecision, LostRace

if TYPE_CHECKING:
    from curator.state.index import DedupIndex, IndexedFeatures, KeptSample

log = logging.getLogger(__name__)

DIGEST_COLUMN = "row.digest"  # content digest of each kept sample: tells a resend from a reused id
SEQ_COLUMN = "row.seq"  # the number of each kept sample's admission in the store
# Progress of a long computation (features of samples kept before a check was enabled): (done, total).
Progress = Callable[[int, int], None]
_CHUNK = 256
IMPORT_ROWS = 10_000  # kept samples per admission row when a data directory is imported


class AdmissionRecord(Protocol):
    """The system of record of one collection's admissions, as the state sees it (the store, by config)."""

    def seq(self) -> int:
        """The number of the last admission (0 before the first)."""
        ...

    def since(self, seq: int) -> list[tuple[int, bytes]]:
        """Admissions after ``seq``, oldest first: (last number, frame)."""
        ...

    def commit(
        self,
        seen: int,
        policy_version: int,
        admission: Admission | Sequence[Admission] | None,
        decisions: Sequence[LoggedDecision],
    ) -> int:
        """Decisions and admissions in one transaction, if nothing moved since ``seen`` (else LostRace)."""
        ...

    def exclusive(self) -> AbstractContextManager[None]:
        """Keep other processes from committing to this collection meanwhile."""
        ...

    def kept_ids(self) -> list[str]:
        """What the decision log says the collection kept (to import a data directory of a release that
        kept admissions in local files only)."""
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
    check-and-commit atomic within this process. A check the policy disables costs nothing; enabling it
    computes its features for what the collection kept (:meth:`set_policy`).

    ``seq`` is the number of the last admission applied here; ``version`` grows with every change of the
    indexes, and the pipeline uses it for optimistic concurrency between this process's threads (evaluate
    without the lock, commit only if nothing changed meanwhile). Between processes the store does the same
    with ``seq``.
    """

    def __init__(
        self,
        name: str,
        policy: Policy,
        directory: Path,
        checks: Sequence[IndexedFeatures],
        *,
        record: AdmissionRecord | None = None,
        policy_version: int = 1,
        fsync: bool = True,
        checkpoint_every: int = 1000,
        progress: Progress | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.lock = threading.RLock()
        self.version = 0
        self.seq = 0
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
        # With a store the files are a cache (a write that is lost is fetched again); without, the record.
        self._log = AdmissionLog(directory, fsync=fsync and record is None)
        self._folding = threading.Lock()  # one background fold of the local image at a time
        self._load(policy_version, progress)

    # ---------------------------------------------------------------- loading

    def _enabled(self) -> list[IndexedFeatures]:
        """The indexed checks the policy runs: the only ones with an index."""
        return [c for c in self._checks if self.policy.check(c.name).enabled]

    def _load(self, policy_version: int, progress: Progress | None) -> None:
        snapshots = self._log.load_snapshot()
        logged = list(self._log.load_log())
        if self._record is not None:
            snapshots, logged = self._from_record(snapshots, logged, policy_version, progress)
        self._indexes = {c.name: c.new_index(self.policy.check(c.name).params) for c in self._enabled()}
        batches = [*snapshots, *logged]
        missing = [c for c in self._enabled() if any(b.ids and not _features(b, c.name) for b in batches)]
        if missing or any(b.ids and DIGEST_COLUMN not in b.columns for b in batches):
            snapshots, logged = [self._rebuild(batches, None, missing, progress)], []
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
        self.seq = self._kept if self._record is None else self.seq

    def _from_record(
        self, snapshots: list[Batch], logged: list[Batch], policy_version: int, progress: Progress | None
    ) -> tuple[list[Batch], list[Batch]]:
        """The local image brought in line with the store: kept if it is a prefix of the store's
        admissions, then completed with what came after; a data directory of a release that kept
        admissions only in local files is imported into the store once."""
        assert self._record is not None
        cached = [*snapshots, *logged]
        stored = self._record.seq()
        rows = [i for b in cached for i in b.ids]
        if stored == 0:
            kept = self._record.kept_ids()
            if not kept:
                if rows:
                    self._log.checkpoint([])  # a cache of nothing the store holds
                return [], []
            return [self._import(cached, kept, policy_version, progress)], []
        numbers = np.concatenate([b.columns[SEQ_COLUMN] for b in cached if b.ids]) if rows else np.empty(0)
        is_prefix = all(SEQ_COLUMN in b.columns for b in cached if b.ids) and bool(
            np.array_equal(numbers, np.arange(1, len(numbers) + 1))
        )
        if not is_prefix or len(numbers) > stored:
            log.warning(
                "collection %s: the local image does not match the store (%d rows, store at admission %d);"
                " loading the collection from the store",
                self.name,
                len(rows),
                stored,
            )
            snapshots, logged = [], []
            self._log.checkpoint([])
        self.seq = len(numbers) if snapshots or logged else 0
        fresh = [decode_frame(frame) for _, frame in self._record.since(self.seq)]
        for batch in fresh:
            self._cache(batch)
        if fresh:
            self.seq = int(fresh[-1].columns[SEQ_COLUMN][-1])
        return snapshots, [*logged, *fresh]

    def _import(
        self, cached: list[Batch], kept: list[str], policy_version: int, progress: Progress | None
    ) -> Batch:
        """The local admission files of an earlier release, checked against its decision log, as the
        store's first admission."""
        assert self._record is not None
        log.warning(
            "collection %s: importing %d kept samples from the local admission files into the store",
            self.name,
            len(kept),
        )
        missing = [c for c in self._enabled() if any(b.ids and not _features(b, c.name) for b in cached)]
        batch = self._rebuild(cached, kept, missing, progress)
        batch.columns[SEQ_COLUMN] = np.arange(1, len(batch.ids) + 1, dtype=np.int64)
        # In frames of IMPORT_ROWS (a frame is one row of the store), all in one transaction.
        chunks = [
            batch.take(list(range(start, min(start + IMPORT_ROWS, len(batch.ids)))))
            for start in range(0, len(batch.ids), IMPORT_ROWS)
        ]
        try:
            admissions = [Admission(len(c.ids), c.encode()) for c in chunks]
            self.seq = self._record.commit(0, policy_version, admissions, [])
        except LostRace:  # another process imported it first: take the store's
            self._log.checkpoint([])
            self.seq = 0
            fresh = [decode_frame(frame) for _, frame in self._record.since(0)]
            for b in fresh:
                self._cache(b)
            self.seq = self._record.seq()
            return merge_batches(fresh)
        self._log.checkpoint([batch])
        return batch

    def _rebuild(
        self,
        batches: list[Batch],
        recorded: list[str] | None,
        checks: list[IndexedFeatures],
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
            if check in recompute or key == DIGEST_COLUMN or (absent and key == SEQ_COLUMN):
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
        self, check: IndexedFeatures, samples: Sequence[Sample], progress: Progress | None
    ) -> dict[str, np.ndarray]:
        """A check's feature columns for ``samples``, a chunk at a time so that progress can be shown."""
        policy = self.policy.check(check.name)
        report = progress or _LogProgress(f"collection {self.name}: {check.name} features")
        parts: list[dict[str, np.ndarray]] = []
        for start in range(0, len(samples), _CHUNK):
            chunk = samples[start : start + _CHUNK]
            parts.append(check.features_of(chunk, policy, self.policy.dedup_key))
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
            with self._folding:  # no fold of the local image in the background meanwhile
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

    def kept_columns(self, check: str) -> Mapping[str, np.ndarray]:
        """An enabled indexed check's feature columns of the kept samples, row-aligned with ``rows``;
        empty when the check is disabled (for reports such as the collapse monitor)."""
        index = self._indexes.get(check)
        return index.columns() if index is not None else {}

    def kept_digest(self, sample_id: str) -> bytes | None:
        """The content digest of the sample kept under ``sample_id``; None if no sample is."""
        return self._digests.get(sample_id)

    @property
    def kept_count(self) -> int:
        return self._kept

    # ---------------------------------------------------------------- committing

    def stage(self, items: Sequence[KeptSample]) -> Batch:
        """The admission of kept samples, numbered after the last one applied here. Call with ``lock``.
        Features the pipeline computed travel as they are; a check that has none for an item (a review
        approved later) computes them here."""
        columns = {}
        for check in self._enabled():
            lacking = [it for it in items if check.name not in it.features]
            if lacking:
                computed = self._compute(check, [it.sample for it in lacking], _silent)
                for k, it in enumerate(lacking):
                    it.features[check.name] = {name: col[k] for name, col in computed.items()}
            for feature, column in _stack(items, check.name).items():
                columns[f"{check.name}.{feature}"] = column
        columns[DIGEST_COLUMN] = _digests([it.sample for it in items])
        columns[SEQ_COLUMN] = np.arange(self.seq + 1, self.seq + len(items) + 1, dtype=np.int64)
        columns["row.admitted_at"] = np.full(len(items), self.clock(), dtype=np.float64)
        diversity = [it.scores.get("diversity", np.nan) for it in items]
        columns["row.diversity"] = np.array(diversity, dtype=np.float32)
        return Batch([it.sample.id for it in items], columns, [dict(it.sample.metadata) for it in items])

    def commit(
        self, items: Sequence[KeptSample], decisions: Sequence[LoggedDecision] = (), policy_version: int = 1
    ) -> None:
        """Make the kept samples and the request's decisions durable in one step, then the samples visible.
        Raises LostRace when another process admitted (or changed the policy) since this one last looked:
        nothing was written; :meth:`catch_up` and decide again. Call with ``lock`` held."""
        batch = self.stage(items) if items else None
        if self._record is None:  # the files are the record
            if batch is not None:
                self._log.append(batch)
                self.applied(batch)
            return
        admission = Admission(len(items), batch.encode()) if batch is not None else None
        seq = self._record.commit(self.seq, policy_version, admission, decisions)
        if batch is not None:
            self.applied(batch, cache=True)
        self.seq = seq

    def admit(self, items: Sequence[KeptSample]) -> None:
        """Commit kept samples with no decisions to log (tests, benchmarks). Call with ``lock`` held."""
        self.commit(items)

    def applied(self, batch: Batch, cache: bool = False) -> None:
        """Make a committed admission visible here (and, with a store, cache it in the local image)."""
        if cache:
            self._cache(batch)
        self._apply(batch)
        self.seq = int(batch.columns[SEQ_COLUMN][-1])
        self.version += 1
        if self._log.frames_since_snapshot >= self._checkpoint_every:
            self._maintain()

    def _maintain(self) -> None:
        """Fold the local image. With a store, in the background: requests only wait for a rotation of
        the log file (the files are a cache, so a fold cut short loses nothing). Without one, here."""
        if self._record is None:
            self._checkpoint()
            return
        if not self._folding.acquire(blocking=False):
            return  # the previous fold is still running; the next admission asks again
        generation = self._log.rotate()
        threading.Thread(target=self._fold, args=(generation,), name=f"fold-{self.name}", daemon=True).start()

    def _fold(self, generation: int) -> None:
        try:
            self._log.fold(generation)
        except Exception as err:  # the store has it all: a next start rebuilds what is missing
            log.warning("collection %s: folding the local image failed: %s", self.name, err)
        finally:
            self._folding.release()

    def catch_up(self, if_behind: bool = False) -> int:
        """Apply what other processes admitted since this one last looked; returns how many samples.
        ``if_behind``: first ask the store's admission number (one cheap query) and stop if it is ours."""
        if self._record is None:
            return 0
        if if_behind and self._record.seq() == self.seq:
            return 0
        with self.lock:
            added = 0
            for _, frame in self._record.since(self.seq):
                batch = decode_frame(frame)
                missing = [c for c in self._enabled() if not _features(batch, c.name)]
                if missing:  # admitted while a check this policy enables was off there
                    seq = batch.columns[SEQ_COLUMN]
                    batch = self._rebuild([batch], None, missing, None)
                    batch.columns[SEQ_COLUMN] = seq
                self.applied(batch, cache=True)
                added += len(batch.ids)
            return added

    def exclusive(self) -> AbstractContextManager[None]:
        """No other process commits to this collection meanwhile (for a process that keeps losing)."""
        return self._record.exclusive() if self._record is not None else nullcontext()

    def _cache(self, batch: Batch) -> None:
        """Append to the local image; losing it costs a fetch from the store at the next start."""
        try:
            self._log.append(batch)
        except Unavailable as err:
            log.warning("collection %s: the local image fell behind (%s); the store has it", self.name, err)

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
        """Fold the log into a snapshot, and let indexes save images that match it (after any fold in
        the background, which is then waited for)."""
        with self._folding:
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
            if self._log.frames_since_snapshot:
                self._checkpoint()
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


def _silent(done: int, total: int) -> None:
    """No progress to show (a handful of samples)."""


def _stack(items: Sequence[KeptSample], check: str) -> dict[str, np.ndarray]:
    """Per-item feature rows of one check, stacked into columns."""
    first = items[0].features[check]
    return {k: np.stack([it.features[check][k] for it in items]) for k in first}


def _digests(samples: Sequence[Sample]) -> np.ndarray:
    raw = b"".join(s.content_digest() for s in samples)
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(samples), DIGEST_BYTES).copy()


def _features(batch: Batch, check: str) -> dict[str, np.ndarray]:
    """One check's columns of a batch, without the check's prefix."""
    prefix = f"{check}."
    return {k[len(prefix) :]: v for k, v in batch.columns.items() if k.startswith(prefix)}
