"""The curator service in domain terms: what the gRPC servicer and the in-process CLI both call.

It validates input, resolves collections and their policies, runs the
pipeline, and logs decisions. It knows nothing of protobuf.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from curator.bias.audit import BiasReport, report_from_store
from curator.checks import default_checks
from curator.checks.base import Check, CheckContext, IndexedCheck, Item
from curator.checks.decontamination import DecontaminationCheck
from curator.checks.semantic import SemanticCheck
from curator.domain.decision import Action, Decision, Reason, Verdict
from curator.domain.evalset import ContaminationFinding, EvalItem, EvalSetInfo, validate_evalset
from curator.domain.policy import (
    Policy,
    PolicyPatch,
    apply_patch,
    as_patch,
    reasons_for,
    resolve_policy,
    upgrade_policy,
)
from curator.domain.reasons import ReasonCode
from curator.domain.review import (
    MAX_DECISION_ID,
    MAX_NOTE_CHARS,
    MAX_REVIEWER_CHARS,
    Review,
    ReviewAction,
    ReviewState,
    parse_decision_id,
)
from curator.domain.sample import Sample
from curator.domain.validation import Limits, SampleInput, validate_batch
from curator.embeddings.embedder import Embedder
from curator.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Unavailable
from curator.monitor.collapse import diversity_windows
from curator.monitor.coverage import (
    CoverageReport,
    MixRow,
    ReferenceWindow,
    against_reference,
    precision_recall,
    regions,
    sample_rows,
    set_metrics,
)
from curator.observability import metrics
from curator.pipeline import Pipeline
from curator.pipeline.pipeline import IDENTITY, by_identity
from curator.settings import Settings
from curator.state.admission_log import Batch
from curator.state.collection import AdmissionRecord, CollectionState, Progress
from curator.state.ownership import DataDirOwnership
from curator.state.sql import open_store
from curator.state.store import (
    Admission,
    CollectionRecord,
    DecisionQuery,
    DecisionRecord,
    LoggedDecision,
    LostRace,
    Stats,
    StatsQuery,
    Store,
)

log = logging.getLogger(__name__)

COLLECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_PAGE_SIZE = 1_000
RECORD_TTL = 1.0  # seconds a collection's record (its policy) is used before it is read again
POLICY_ATTEMPTS = 4  # decide again under a policy changed meanwhile, at most this often
MAX_BUCKET_SECONDS = 100 * 366 * 86_400
DEFAULT_PAGE_SIZE = 50
_PAGE_TOKEN_PREFIX = "d1:"
_CHUNK = 500  # ids per SQL IN (...) list
_SCORE_OF = {ReasonCode.EVAL_CONTAMINATION: "eval_ngram", ReasonCode.EVAL_PARAPHRASE: "eval_similarity"}


@dataclass(frozen=True, slots=True)
class DecisionPage:
    decisions: list[DecisionRecord]
    # The samples that reasons on this page matched, as they were logged when kept (by sample id).
    matched: dict[tuple[str, str], Sample]
    next_page_token: str  # "" on the last page


@dataclass(frozen=True, slots=True)
class ServerInfo:
    version: str
    limits: Limits


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    name: str
    policy: Policy
    policy_version: int
    created_at: datetime
    kept_count: int


@dataclass(slots=True)
class BatchBase:
    """A collection as a batch job found it: the policy it judges by and the admission number it saw."""

    name: str
    policy: Policy
    policy_version: int
    state: CollectionState
    seq: int


class Curator:
    """Thread-safe; one per process. Heavy state (indexes) is loaded lazily per collection."""

    def __init__(self, settings: Settings, store: Store | None = None, checks: Sequence[Check] | None = None):
        self.settings = settings
        self.limits = settings.limits.limits()
        self.checks = list(checks) if checks is not None else default_checks(settings)
        self.pipeline = Pipeline(self.checks)
        # First, so that a second process on this data directory stops before it touches anything.
        self._ownership = DataDirOwnership(settings.data_dir)
        try:
            self.store = store or open_store(settings.store_url)
        except BaseException:
            self._ownership.release()
            raise
        self._claims = _Claims()
        self._records: dict[str, tuple[CollectionRecord, float]] = {}  # with when it was read
        self._states: dict[str, CollectionState] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._evalsets_read = -RECORD_TTL  # monotonic time the eval sets were last compared with the store
        self.default_policy = resolve_policy(settings.default_policy, self.checks)
        metrics.configure(settings.http.generator_key, settings.http.max_label_values)
        metrics.watch(self)

    def announce(self, **about: str) -> None:
        """Tell a second process that tries this data directory how to reach this one (e.g. server=)."""
        self._ownership.announce(**about)

    def server_info(self) -> ServerInfo:
        """This curator's version and request limits (a client sizes its batches by them)."""
        from curator import __version__

        return ServerInfo(__version__, self.limits)

    # ---------------------------------------------------------------- collections

    def create_collection(self, name: str, policy: Policy | None = None) -> CollectionInfo:
        if not COLLECTION_NAME.fullmatch(name or ""):
            raise InvalidArgument(
                FieldViolation(
                    "name", "collection names are 1-64 of a-z, 0-9, '_', '.', '-', starting alphanumeric"
                )
            )
        resolved = resolve_policy(policy, self.checks) if policy is not None else self.default_policy
        record = self.store.create_collection(name, resolved)
        with self._lock:
            self._records[name] = (record, time.monotonic())
        return self._info(record)

    def get_collection(self, name: str) -> CollectionInfo:
        return self._info(self._record(name, fresh=True))

    def list_collections(self) -> list[CollectionInfo]:
        return [self._info(self._upgraded(r)) for r in self.store.list_collections()]

    def update_policy(
        self, name: str, change: PolicyPatch | Policy, progress: Progress | None = None
    ) -> CollectionInfo:
        """Change what ``change`` names and nothing else (see PolicyPatch); bumps the policy version.

        Enabling an indexed check computes its features for everything the collection kept, before this
        returns (``progress`` sees how far it got); disabling one frees its index."""
        current = self._record(name)
        # Index parameters left out keep their current values rather than reverting to defaults.
        merged = apply_patch(current.policy, as_patch(change))
        for check_name, check_policy in current.policy.checks.items():
            given = merged.checks.get(check_name)
            if given is not None:
                given.params = {**check_policy.params, **given.params}
        resolved = resolve_policy(merged, self.checks)
        if resolved.dedup_key != current.policy.dedup_key:
            raise FailedPrecondition(
                f"dedup_key is fixed when a collection is created ({current.policy.dedup_key}); "
                "create a new collection to change it"
            )
        for check in self.checks:
            if (
                isinstance(check, IndexedCheck)
                and resolved.check(check.name).params != current.policy.check(check.name).params
            ):
                raise FailedPrecondition(
                    f"{check.name} params shape the index and are fixed at creation; "
                    "create a new collection to change them"
                )
        record = self.store.update_policy(name, resolved)
        with self._lock:
            self._records[name] = (record, time.monotonic())
            state = self._states.get(name)
        enables_index = any(
            isinstance(c, IndexedCheck)
            and resolved.check(c.name).enabled
            and not current.policy.check(c.name).enabled
            for c in self.checks
        )
        if state is not None:
            state.set_policy(resolved, progress)
        elif enables_index:  # build the new index now (with progress), not in the next request
            self._state(record, progress)
        return self._info(record)

    def _record(self, name: str, fresh: bool = False) -> CollectionRecord:
        """The collection's record, re-read from the store at most every RECORD_TTL seconds (or now, when
        ``fresh``), so that a policy changed through another replica takes effect here too."""
        now = time.monotonic()
        with self._lock:
            cached = self._records.get(name)
        if cached is not None and not fresh and now - cached[1] < RECORD_TTL:
            return cached[0]
        record = self.store.get_collection(name)
        if record is None:
            with self._lock:
                self._records.pop(name, None)
            raise NotFound(
                f"collection {name!r} does not exist; create it first (CreateCollection, or "
                f"`curator collections create {name}`)",
                resource=("curator.v1.Collection", name),
            )
        record = self._upgraded(record)
        with self._lock:
            self._records[name] = (record, now)
            state = self._states.get(name)
        if state is not None and (cached is None or cached[0].policy_version != record.policy_version):
            state.set_policy(record.policy)
        return record

    def _upgraded(self, record: CollectionRecord) -> CollectionRecord:
        """Checks added (or removed) since the policy was saved get their defaults (or go)."""
        return replace(record, policy=upgrade_policy(record.policy, self.checks))

    def _state(self, record: CollectionRecord, progress: Progress | None = None) -> CollectionState:
        with self._lock:
            if self._closed:
                raise Unavailable("curator is shutting down")
            state = self._states.get(record.name)
            if state is None:
                state = CollectionState(
                    record.name,
                    record.policy,
                    self.settings.data_dir / "collections" / record.name,
                    [c for c in self.checks if isinstance(c, IndexedCheck)],
                    record=_StoreRecord(self.store, record.name),
                    policy_version=record.policy_version,
                    checkpoint_every=self.settings.state.checkpoint_every,
                    progress=progress,
                )
                self._states[record.name] = state
            return state

    def _info(self, record: CollectionRecord) -> CollectionInfo:
        """Describe a collection without loading its indexes just to count them."""
        kept = self.store.admitted_seq(record.name)  # admissions are numbered 1, 2, ...: one per kept sample
        return CollectionInfo(record.name, record.policy, record.policy_version, record.created_at, kept)

    # ---------------------------------------------------------------- filtering

    def filter(
        self,
        collection: str,
        samples: Sequence[SampleInput],
        *,
        dry_run: bool = False,
        score_all: bool = False,
    ) -> list[Decision]:
        """One decision per sample, in order; raises InvalidArgument naming every bad field."""
        if not collection:
            raise InvalidArgument(FieldViolation("collection", "collection is required: name one"))
        valid = validate_batch(samples, self.limits)
        self._refresh_evalsets()
        # A retry racing its own original waits for it, then finds it kept or logged.
        with self._claims.hold(collection, [s.id for s in valid]):
            for attempt in range(POLICY_ATTEMPTS):
                # NotFound (AIP-193) only once the request itself is well-formed.
                record = self._record(collection, fresh=attempt > 0)
                try:
                    decided, replays, logged = self._decide(record, valid, dry_run, score_all)
                except LostRace:  # the policy changed (through another replica): decide under the new one
                    continue
                break
            else:
                raise Unavailable(f"collection {collection!r}: its policy keeps changing; retry")
        metrics.observe_decisions(collection, logged)
        metrics.REQUEST_SAMPLES.observe(len(valid))
        if not replays:
            return decided
        rest = iter(decided)
        return [replays[s.id] if s.id in replays else next(rest) for s in valid]

    def _decide(
        self, record: CollectionRecord, samples: list[Sample], dry_run: bool, score_all: bool
    ) -> tuple[list[Decision], dict[str, Decision], list[LoggedDecision]]:
        """Decisions for what the log cannot answer already, committed (unless ``dry_run``) with what they
        admit; the replayed decisions by id; and what was logged."""
        state = self._state(record)
        state.catch_up(if_behind=True)  # judge against what other replicas kept, not only at commit time
        replays = {} if dry_run else self._replays(record.name, samples, state, record.policy_version)
        fresh = [s for s in samples if s.id not in replays]
        logged: list[LoggedDecision] = []

        def log(decided: list[Decision]) -> list[LoggedDecision]:
            """What the log does not hold yet (not ALREADY_KEPT), committed with the admissions."""
            logged[:] = [
                LoggedDecision(d, s.metadata, s)
                for d, s in zip(decided, fresh, strict=True)
                if not any(r.code is ReasonCode.ALREADY_KEPT for r in d.reasons)
            ]
            return logged

        decided = self.pipeline.run(
            fresh, state, record.policy, record.policy_version, dry_run=dry_run, score_all=score_all, log=log
        )
        return decided, replays, logged

    def _replays(
        self, collection: str, samples: Sequence[Sample], state: CollectionState, policy_version: int
    ) -> dict[str, Decision]:
        """The logged decisions that answer a resend of the same id and content: a pending or rejected
        REVIEW, or a DROP under the current policy version (kept samples are the state's business)."""
        wanted = [s for s in samples if state.kept_digest(s.id) is None]
        if not wanted:
            return {}
        history: dict[str, list[DecisionRecord]] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = [s.id for s in wanted[start : start + _CHUNK]]
            for rec in self.store.decisions_for(collection, chunk):
                history.setdefault(rec.decision.sample_id, []).append(rec)
        out: dict[str, Decision] = {}
        for sample in wanted:
            records = history.get(sample.id)
            if not records:
                continue
            digest = sample.content_digest()
            latest = next(
                (
                    r
                    for r in reversed(records)
                    if r.sample is not None and r.sample.content_digest() == digest
                ),
                None,
            )
            replay = _replay(latest, policy_version) if latest is not None else None
            if replay is not None:
                out[sample.id] = replay
        return out

    # ---------------------------------------------------------------- real-data reference and coverage

    def add_reference(self, collection: str, items: Sequence[EvalItem]) -> int:
        """Register real, human-written items for a collection (embedded now, once); returns how many
        the collection's reference holds."""
        record = self._record(collection)
        violations = validate_evalset(record.name, list(items), what="a reference")
        if violations:
            raise InvalidArgument(violations)
        embedder = self._embedder()
        vectors: list[bytes] = []
        for start in range(0, len(items), 256):
            chunk = embedder.encode([it.text for it in items[start : start + 256]])
            vectors += [np.asarray(v, dtype=np.float32).tobytes() for v in chunk]
        return self.store.add_reference(record.name, items, vectors, datetime.now(UTC))

    def report(
        self,
        collection: str,
        group_by: str = "source",
        k: int = 5,
        clusters: int = 12,
        limit: int = 5_000,
        bucket_seconds: int = 86_400,
    ) -> CoverageReport:
        """How the kept synthetic samples cover the collection's real reference (monitor/coverage.py):
        precision and recall of distributions, missed and over-filled regions with examples, the mix of
        kept samples by ``group_by``, the collapse monitor's metrics on either side, and its windows
        (``bucket_seconds`` long) against the reference. At most ``limit`` points of each side are
        compared (a uniform sample beyond)."""
        if not (1 <= k <= 50):
            raise InvalidArgument(FieldViolation("k", "k must be in [1, 50]"))
        if not (2 <= clusters <= 100):
            raise InvalidArgument(FieldViolation("clusters", "clusters must be in [2, 100]"))
        if not (60 <= bucket_seconds <= MAX_BUCKET_SECONDS):
            raise InvalidArgument(FieldViolation("bucket_seconds", "bucket_seconds must be at least 60"))
        record = self._record(collection, fresh=True)
        state = self._state(record)
        state.catch_up(if_behind=True)
        stats = self.store.stats(StatsQuery(collection=record.name, group_by=group_by or None))
        kept_total = sum(c.keep for c in stats.by_group.values()) if group_by else stats.totals.keep
        report = CoverageReport(record.name, 0, kept_total, k=k, mix_key=group_by)
        if group_by:
            report.mix = sorted(
                (
                    MixRow(value, c.keep, c.keep / kept_total if kept_total else 0.0)
                    for value, c in stats.by_group.items()
                    if c.keep
                ),
                key=lambda row: -row.kept,
            )
        reference = self.store.reference(record.name)
        report.reference_items = len(reference)
        real_rows = sample_rows(len(reference), limit)
        real = (
            np.stack([np.frombuffer(reference[i][2], dtype=np.float32) for i in real_rows])
            if len(real_rows)
            else None
        )
        real_texts = [reference[i][1] for i in real_rows]
        synthetic, synthetic_texts = self._kept_sample(record, state, limit)
        report.sampled = len(real_rows) < len(reference) or len(synthetic_texts) < state.kept_count
        if synthetic is not None and len(synthetic_texts):
            report.synthetic_metrics = set_metrics(synthetic, synthetic_texts)
        if real is not None:
            report.reference_metrics = set_metrics(real, real_texts)
        if real is not None and synthetic is not None:
            report.precision, report.recall = precision_recall(real, synthetic, k)
            report.regions = regions(real, synthetic, real_texts, synthetic_texts, clusters)
            report.windows = self._windows_against(record, state, real, real_texts, bucket_seconds, limit)
        return report

    def _windows_against(
        self,
        record: CollectionRecord,
        state: CollectionState,
        real: np.ndarray,
        real_texts: list[str],
        bucket_seconds: int,
        limit: int,
    ) -> list[ReferenceWindow]:
        """The collapse monitor's windows (all groups together) beside the reference; needs the semantic
        index, whose rows the monitor's windows are made of."""
        if not state.has_index("semantic"):
            return []
        params = self.settings.monitor.params()
        windows = diversity_windows(state, bucket_seconds, params=params)  # fits the monitor's clusters
        index = state.index("semantic")
        with state.lock:
            at = state.rows.admitted_at.copy()
            centroids = state.centroids[1] if state.centroids is not None else None
        members: dict[int, list[int]] = {}
        for row, t in enumerate(at.tolist()):
            if np.isfinite(t) and row < len(index):
                members.setdefault(int(t // bucket_seconds) * bucket_seconds, []).append(row)
        rows_of = {int(w.start.timestamp()): members.get(int(w.start.timestamp()), []) for w in windows}
        texts_of: list[tuple[datetime, list[str], float | None]] = []
        for w in windows:
            rows = rows_of[int(w.start.timestamp())]
            rows = [rows[int(i)] for i in sample_rows(len(rows), limit)]
            ids = [index.id_of(r) for r in rows]
            kept = self.store.kept_samples(record.name, ids)
            texts_of.append((w.start, [kept[i].full_text for i in ids if i in kept], w.cluster_entropy))
        return against_reference(
            [x for x in texts_of if len(x[1]) >= params.min_window_kept],
            centroids,
            real,
            real_texts,
            params.max_drop,
        )

    def _kept_sample(
        self, record: CollectionRecord, state: CollectionState, limit: int
    ) -> tuple[np.ndarray | None, list[str]]:
        """Embeddings and texts of up to ``limit`` kept samples: the semantic index's own vectors when the
        collection keeps one, else embedded now."""
        columns = state.kept_columns("semantic")
        vectors = columns.get("embedding") if columns else None
        if vectors is not None and len(vectors):
            index = state.index("semantic")
            rows = sample_rows(len(vectors), limit)
            ids = [index.id_of(int(r)) for r in rows]
            samples = self.store.kept_samples(record.name, ids)
            keep = [k for k, i in enumerate(ids) if i in samples]
            texts = [samples[ids[k]].full_text for k in keep]
            return np.ascontiguousarray(vectors[rows[keep]], dtype=np.float32), texts
        ids = self.store.kept_ids(record.name)
        ids = [ids[int(r)] for r in sample_rows(len(ids), limit)]
        samples = self.store.kept_samples(record.name, ids)
        texts = [samples[i].full_text for i in ids if i in samples]
        if not texts:
            return None, []
        embedder = self._embedder()
        return np.asarray(embedder.encode(texts), dtype=np.float32), texts

    def _embedder(self) -> Embedder:
        semantic = next((c for c in self.checks if isinstance(c, SemanticCheck)), None)
        return semantic.embedder if semantic is not None else Embedder.shared(self.settings.embeddings)

    # ---------------------------------------------------------------- eval sets

    def add_evalset(self, name: str, items: Sequence[EvalItem], source: str = "") -> EvalSetInfo:
        """Register a gold eval set for every collection; from now on no sample may leak its items."""
        violations = validate_evalset(name, list(items))
        if violations:
            raise InvalidArgument(violations)
        info = self.store.add_evalset(name, items, source, datetime.now(UTC))
        self._refresh_evalsets(now=True)
        return info

    def list_evalsets(self) -> list[EvalSetInfo]:
        return self.store.list_evalsets()

    def remove_evalset(self, name: str) -> EvalSetInfo:
        info = self.store.remove_evalset(name)
        if info is None:
            raise NotFound(f"eval set {name!r} does not exist (`curator evalsets list` names them)")
        self._refresh_evalsets(now=True)
        return info

    def evalsets_snapshot(self) -> dict[str, list[EvalItem]]:
        """Every eval set's items (what a batch job's workers compare with)."""
        self._refresh_evalsets(now=True)
        check = self._decontamination()
        return dict(check.evalsets.current().sets) if check is not None else {}

    def rescan_evalsets(
        self, collection: str | None = None, evalset: str | None = None
    ) -> list[ContaminationFinding]:
        """Check what collections already kept against the eval sets (all, or one); report, change nothing."""
        check = self._decontamination()
        if check is None:
            return []
        self._refresh_evalsets(now=True)
        snapshot = check.evalsets.current()
        if evalset is not None:
            if evalset not in snapshot.sets:
                raise NotFound(f"eval set {evalset!r} does not exist (`curator evalsets list` names them)")
            scoped = DecontaminationCheck(check.embedder)
            scoped.evalsets.replace({evalset: snapshot.sets[evalset]}, ())
            check = scoped
        names = [collection] if collection else [c.name for c in self.store.list_collections()]
        findings: list[ContaminationFinding] = []
        for name in names:
            record = self._record(name, fresh=True)
            check_policy = record.policy.check(check.name)
            ids = self.store.kept_ids(name)
            for start in range(0, len(ids), _CHUNK):
                kept = self.store.kept_samples(name, ids[start : start + _CHUNK])
                samples = [kept[i] for i in ids[start : start + _CHUNK] if i in kept]
                items = [Item.build(s, k, record.policy.dedup_key) for k, s in enumerate(samples)]
                results = check.evaluate_batch(items, CheckContext(check_policy))
                for sample, result in zip(samples, results, strict=True):
                    for reason in reasons_for(check.name, check.rules, check_policy, result):
                        set_name, _, item_id = reason.matched_id.partition(":")
                        detail = result.evidence[_SCORE_OF[reason.code]].detail
                        findings.append(
                            ContaminationFinding(
                                name, sample.id, reason.code, set_name, item_id, reason.score, detail
                            )
                        )
        return findings

    def _decontamination(self) -> DecontaminationCheck | None:
        return next((c for c in self.checks if isinstance(c, DecontaminationCheck)), None)

    def _refresh_evalsets(self, now: bool = False) -> None:
        """Bring the decontamination check's eval sets up to date with the store (at most every
        RECORD_TTL seconds unless ``now``), so that a set added through another replica applies here."""
        check = self._decontamination()
        if check is None:
            return
        at = time.monotonic()
        if not now and at - self._evalsets_read < RECORD_TTL:
            return
        self._evalsets_read = at
        infos = self.store.list_evalsets()
        signature = tuple((i.name, i.created_at.isoformat()) for i in infos)
        if signature != check.evalsets.signature:
            check.evalsets.replace({i.name: self.store.evalset_items(i.name) for i in infos}, signature)

    # ---------------------------------------------------------------- batch jobs

    def batch_base(self, collection: str) -> BatchBase:
        """What a batch job judges against: the collection's policy and state, brought up to date."""
        record = self._record(collection, fresh=True)
        state = self._state(record)
        state.catch_up()
        return BatchBase(record.name, record.policy, record.policy_version, state, state.seq)

    def batch_identity(
        self, base: BatchBase, samples: Sequence[Sample], dry_run: bool
    ) -> dict[int, Decision]:
        """Decisions the collection already holds, by position: ALREADY_KEPT / ID_CONFLICT for ids it
        kept, and (unless ``dry_run``) replays of logged decisions for resends, as ``filter`` gives them."""
        # Identity needs only the sample and its position: no dedup key text is computed (a batch job
        # has millions of samples, most of which are not admitted).
        items = [Item(sample, k, "", "") for k, sample in enumerate(samples)]
        known = by_identity(items, base.state, base.policy_version)
        if dry_run:
            return known
        rest = [it for it in items if it.position not in known]
        replays = self._replays(base.name, [it.sample for it in rest], base.state, base.policy_version)
        known.update({it.position: replays[it.sample.id] for it in rest if it.sample.id in replays})
        return known

    def batch_commit(self, base: BatchBase, kept: Sequence[Item], logged: Sequence[LoggedDecision]) -> None:
        """Admit a batch job's kept samples and log its decisions in one transaction, provided the
        collection is as the job saw it (``base.seq``); FailedPrecondition otherwise (run the job again:
        it then judges against what was admitted meanwhile)."""
        state = base.state
        with state.lock, state.exclusive():
            state.catch_up()
            if state.seq != base.seq:
                raise FailedPrecondition(
                    f"collection {base.name!r} changed while the batch job ran ({state.seq - base.seq} "
                    "samples admitted elsewhere): run the job again with a new output directory, so that "
                    "it judges against them"
                )
            try:
                state.commit(kept, logged, base.policy_version)
            except LostRace:
                raise FailedPrecondition(
                    f"the policy of collection {base.name!r} changed while the batch job ran: run the job "
                    "again with a new output directory"
                ) from None
            base.seq = state.seq
        metrics.observe_decisions(base.name, list(logged))

    # ---------------------------------------------------------------- decisions and reviews

    def list_decisions(self, query: DecisionQuery, page_token: str = "") -> DecisionPage:
        """One page of logged decisions, newest first, with the kept samples their reasons matched."""
        violations = []
        if not 0 <= query.limit <= MAX_PAGE_SIZE:
            violations.append(FieldViolation("page_size", f"page_size must be in [0, {MAX_PAGE_SIZE}]"))
        if query.metadata_value is not None and not query.metadata_key:
            violations.append(FieldViolation("metadata_value", "metadata_value needs metadata_key"))
        if query.start and query.end and query.start >= query.end:
            violations.append(FieldViolation("end", "end must be after start"))
        before_id = None
        if page_token:
            before_id = _parse_page_token(page_token)
            if before_id is None:
                violations.append(
                    FieldViolation("page_token", "page_token is not one this server returned; omit it")
                )
        if violations:
            raise InvalidArgument(violations)
        if query.collection:
            self._record(query.collection)  # NotFound, as GetStats and GetCollection say it
        limit = query.limit or DEFAULT_PAGE_SIZE
        # One row more than asked tells whether there is a next page.
        rows = self.store.list_decisions(replace(query, limit=limit + 1, before_id=before_id))
        page, more = rows[:limit], len(rows) > limit
        token = _page_token(page[-1].id) if more and page else ""
        return DecisionPage(page, self.matched_samples(page), token)

    def matched_samples(self, records: Sequence[DecisionRecord]) -> dict[tuple[str, str], Sample]:
        """The kept samples the records' reasons name as matched_id, by (collection, sample id)."""
        wanted: dict[str, set[str]] = {}
        for rec in records:
            for reason in rec.decision.reasons:
                if reason.matched_id:
                    wanted.setdefault(rec.collection, set()).add(reason.matched_id)
        return {
            (collection, sample_id): sample
            for collection, ids in wanted.items()
            for sample_id, sample in self.store.kept_samples(collection, sorted(ids)).items()
        }

    def get_decision(self, decision_id: int) -> DecisionRecord:
        if not 0 < decision_id <= MAX_DECISION_ID:
            raise NotFound(f"decision {decision_id} does not exist")
        record = self.store.get_decision(decision_id)
        if record is None:
            raise NotFound(f"decision {decision_id} does not exist")
        return record

    def review_decision(
        self, decision_id: int, action: ReviewAction, reviewer: str, note: str = ""
    ) -> DecisionRecord:
        """A person's approve / reject of a pending REVIEW decision; approving admits the sample."""
        violations = []
        reviewer = reviewer.strip()
        if not reviewer:
            violations.append(FieldViolation("reviewer", "reviewer is required: who is reviewing?"))
        elif len(reviewer) > MAX_REVIEWER_CHARS:
            violations.append(
                FieldViolation("reviewer", f"reviewer must be at most {MAX_REVIEWER_CHARS} chars")
            )
        if len(note) > MAX_NOTE_CHARS:
            violations.append(FieldViolation("note", f"note must be at most {MAX_NOTE_CHARS} characters"))
        if violations:
            raise InvalidArgument(violations)
        current = self.get_decision(decision_id)
        if action is ReviewAction.APPROVE and current.sample is None:
            raise FailedPrecondition(
                f"decision {decision_id} was logged without its sample (before reviews existed); "
                "send the sample again instead"
            )
        review = Review(action, reviewer, datetime.now(UTC), note)
        # No request of this process decides this id meanwhile; the store's commit condition keeps other
        # processes' admissions apart (a lost race catches up and tries again).
        with self._claims.hold(current.collection, [current.decision.sample_id]):
            for attempt in range(POLICY_ATTEMPTS):
                collection = self._record(current.collection, fresh=attempt > 0)
                try:
                    reviewed = self._review(collection, decision_id, review)
                except LostRace:  # admitted or re-policied elsewhere meanwhile (caught up): try again
                    continue
                break
            else:
                raise Unavailable(f"collection {current.collection!r} keeps changing under the review; retry")
        metrics.observe_review(reviewed.collection, str(action))
        return reviewed

    def _review(self, collection: CollectionRecord, decision_id: int, review: Review) -> DecisionRecord:
        """Record a review; an approval admits the sample in the review's own transaction."""
        state = self._state(collection)
        staged: list[Batch] = []

        def admission(record: DecisionRecord) -> tuple[int, int, Admission] | None:
            if review.action is not ReviewAction.APPROVE or record.sample is None:
                return None
            if state.kept_digest(record.sample.id) is not None:
                raise FailedPrecondition(
                    f"collection {record.collection!r} already keeps a sample with id"
                    f" {record.sample.id!r} (kept or approved earlier), so approving decision"
                    f" {decision_id} would keep the id twice; reject it instead"
                )
            item = Item.build(record.sample, 0, state.policy.dedup_key)
            item.scores = dict(record.decision.scores)
            staged[:] = [state.stage([item])]
            return state.seq, collection.policy_version, Admission(1, staged[0].encode())

        with state.lock:
            try:
                reviewed = self.store.record_review(decision_id, review, admission)
            except LostRace:
                state.catch_up()
                raise
            if staged:
                state.applied(staged[0], cache=True)
        return reviewed

    def stats(self, query: StatsQuery) -> Stats:
        """Decision-log aggregates; for one collection, also its diversity windows (collapse monitor)."""
        if not 1 <= query.bucket_seconds <= MAX_BUCKET_SECONDS:
            raise InvalidArgument(
                FieldViolation(
                    "bucket_seconds", f"bucket_seconds must be in [1, {MAX_BUCKET_SECONDS}] (100 years)"
                )
            )
        stats = self.store.stats(query)
        if query.collection:
            state = self._state(self._record(query.collection))
            state.catch_up(if_behind=True)
            monitor = self.settings.monitor.params()
            stats.diversity = diversity_windows(
                state, query.bucket_seconds, query.group_by, query.start, query.end, monitor
            )
        return stats

    def bias_report(self, query: StatsQuery) -> BiasReport:
        """Bias audit of the decision log (one collection, or all when None) over the query's window."""
        if query.collection:
            self._record(query.collection)
        return report_from_store(self.store, query, self.settings.bias)

    # ---------------------------------------------------------------- live state, for metrics

    def index_sizes(self) -> dict[tuple[str, str], int]:
        with self._lock:
            states = list(self._states.values())
        return {(state.name, name): len(index) for state in states for name, index in state.indexes.items()}

    def kept_counts(self) -> dict[str, int]:
        with self._lock:
            states = list(self._states.values())
        return {state.name: state.kept_count for state in states}

    def pending_reviews(self) -> dict[str, int]:
        return self.store.review_counts(ReviewState.PENDING)

    def store_reachable(self) -> bool:
        """Whether the store answers now (health reports NOT_SERVING while it does not)."""
        try:
            self.store.ping()
        except Unavailable:
            return False
        return True

    def warm_up(self) -> None:
        """Load every check's models (the embedding model takes seconds)."""
        for check in self.checks:
            check.warm_up()

    def close(self) -> None:
        """Flush every collection's state to a snapshot, close the store, give up the data directory."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            states = list(self._states.values())
        metrics.unwatch(self)
        failed: list[Exception] = []
        try:
            for state in states:  # each on its own: one that cannot flush must not keep the others from it
                try:
                    state.close()
                except Exception as err:
                    log.error("collection %s: could not flush its state: %s", state.name, err)
                    failed.append(err)
            self.store.close()
        finally:
            self._ownership.release()
        if failed:
            raise failed[0]


class _StoreRecord(AdmissionRecord):
    """One collection's admissions in the store: the system of record its state follows."""

    def __init__(self, store: Store, collection: str) -> None:
        self.store = store
        self.collection = collection

    def seq(self) -> int:
        return self.store.admitted_seq(self.collection)

    def since(self, seq: int) -> list[tuple[int, bytes]]:
        return self.store.admissions_since(self.collection, seq)

    def commit(
        self,
        seen: int,
        policy_version: int,
        admission: Admission | Sequence[Admission] | None,
        decisions: Sequence[LoggedDecision],
    ) -> int:
        return self.store.commit(
            self.collection, seen, policy_version, admission, decisions, datetime.now(UTC)
        )

    def exclusive(self) -> AbstractContextManager[None]:
        return self.store.exclusive(self.collection)

    def kept_ids(self) -> list[str]:
        return self.store.kept_ids(self.collection)

    def content(self, ids: Sequence[str]) -> dict[str, Sample]:
        """Logged content, a chunk of ids at a time (SQL bind-parameter limits)."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, Sample] = {}
        for start in range(0, len(wanted), _CHUNK):
            out.update(self.store.kept_samples(self.collection, wanted[start : start + _CHUNK]))
        return out


class _Claims:
    """The sample ids each collection is deciding right now. A request (or a review) waits while another
    holds one of its ids, then sees that one's outcome: a retry that races its original gets ALREADY_KEPT
    or its logged decision back, never a duplicate of itself or a second log entry. All of a request's
    ids are taken at once, so two requests never wait on each other."""

    def __init__(self) -> None:
        self._held: set[tuple[str, str]] = set()
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, collection: str, ids: Sequence[str]) -> Iterator[None]:
        keys = {(collection, i) for i in ids}
        with self._changed:
            while not keys.isdisjoint(self._held):
                self._changed.wait()
            self._held |= keys
        try:
            yield
        finally:
            with self._changed:
                self._held -= keys
                self._changed.notify_all()


def _replay(record: DecisionRecord, policy_version: int) -> Decision | None:
    """The logged decision to give again for a resend, with an ALREADY_DECIDED flag; None to evaluate."""
    decision = record.decision
    if decision.verdict is Verdict.REVIEW and record.review_state is ReviewState.PENDING:
        verdict, how = Verdict.REVIEW, "waiting for review"
    elif decision.verdict is Verdict.REVIEW and record.review_state is ReviewState.REJECTED:
        by = f" by {record.review.reviewer}" if record.review is not None else ""
        verdict, how = Verdict.DROP, f"rejected on review{by}"
    elif decision.verdict is Verdict.DROP and decision.policy_version == policy_version:
        verdict, how = Verdict.DROP, "dropped under this policy version"
    else:  # kept (the state says so), or dropped under an older policy: decide afresh
        return None
    flag = Reason(
        ReasonCode.ALREADY_DECIDED,
        IDENTITY,
        f"already decided (decision {record.id}, {how}) for this id and content: not decided or logged again",
        1.0,
        1.0,
        Action.FLAG,
        decision.sample_id,
    )
    return Decision(
        decision.sample_id,
        verdict,
        [*decision.reasons, flag],
        dict(decision.scores),
        decision.policy_version,
        list(decision.annotations),
    )


def _page_token(before_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PAGE_TOKEN_PREFIX}{before_id}".encode()).decode()


def _parse_page_token(token: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not raw.startswith(_PAGE_TOKEN_PREFIX):
        return None
    return parse_decision_id(raw[len(_PAGE_TOKEN_PREFIX) :])
