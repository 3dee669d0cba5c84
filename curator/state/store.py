"""The small store interface behind collections and the decision log.

The embedded default is SQLite; any SQLAlchemy URL (e.g. PostgreSQL) works by
configuration (``CURATOR_STORE__URL``). See :func:`open_store`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from curator.domain.decision import Decision, Verdict
from curator.domain.evalset import EvalItem, EvalSetInfo
from curator.domain.policy import Policy
from curator.domain.review import Review, ReviewState
from curator.domain.sample import Sample
from curator.errors import CuratorError
from curator.monitor.collapse import DiversityWindow


@dataclass(frozen=True, slots=True)
class Admission:
    """Samples a collection keeps, as one record: ``count`` samples, ``frame`` the encoded batch of their
    ids, content digests and every enabled index's features (what a process rebuilds its indexes from)."""

    count: int
    frame: bytes


class LostRace(CuratorError):
    """The collection moved on since this process last looked: another process admitted samples (its
    admission sequence is past ``seen``) or changed the policy. Nothing was written; catch up and decide
    again."""

    def __init__(self, collection: str, seen: int, actual: int, policy_version: int) -> None:
        super().__init__(
            f"collection {collection!r} is at admission {actual} (policy version {policy_version}); "
            f"this process had seen {seen}"
        )
        self.seen = seen
        self.actual = actual
        self.policy_version = policy_version


@dataclass(frozen=True, slots=True)
class CollectionRecord:
    name: str
    policy: Policy
    policy_version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """A decision as it goes into the log, with what the sample said about itself."""

    decision: Decision
    metadata: dict[str, str]
    # The sample itself, so that reviewers can read it and an approval can admit it.
    sample: Sample | None = None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A decision read back from the log, with its log id and, for REVIEW decisions, its review."""

    id: int
    collection: str
    decided_at: datetime
    decision: Decision
    metadata: dict[str, str]
    sample: Sample | None
    review_state: ReviewState | None  # None unless the verdict is REVIEW
    review: Review | None


@dataclass(frozen=True, slots=True)
class DecisionQuery:
    """Filters of ListDecisions; every one that is set must hold. Newest first, by log id."""

    collection: str | None = None
    verdict: Verdict | None = None
    reason: str | None = None  # reason code
    check: str | None = None  # check that raised a reason
    metadata_key: str | None = None
    metadata_value: str | None = None  # with metadata_key; None: any value of the key
    review_state: ReviewState | None = None
    sample_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 50
    before_id: int | None = None  # keyset pagination: only decisions logged before this id


@dataclass(frozen=True, slots=True)
class StatsQuery:
    collection: str | None = None  # None: all collections
    start: datetime | None = None  # None: from the beginning
    end: datetime | None = None  # None: until now
    bucket_seconds: int = 3600
    group_by: str | None = None  # metadata key, e.g. "generator"


@dataclass(slots=True)
class VerdictCounts:
    keep: int = 0
    drop: int = 0
    review: int = 0

    @property
    def total(self) -> int:
        return self.keep + self.drop + self.review

    def add(self, verdict: Verdict, n: int) -> None:
        setattr(self, verdict.value, getattr(self, verdict.value) + n)


@dataclass(slots=True)
class ReviewCounts:
    """REVIEW decisions by where they stand."""

    pending: int = 0
    approved: int = 0
    rejected: int = 0


@dataclass(slots=True)
class Stats:
    totals: VerdictCounts = field(default_factory=VerdictCounts)
    by_reason: dict[str, int] = field(default_factory=dict)
    by_check: dict[str, int] = field(default_factory=dict)
    # metadata value -> counts; samples without the key are under "".
    by_group: dict[str, VerdictCounts] = field(default_factory=dict)
    # (bucket start, counts), ascending, only buckets that have decisions.
    series: list[tuple[datetime, VerdictCounts]] = field(default_factory=list)
    bucket_seconds: int = 3600
    reviews: ReviewCounts = field(default_factory=ReviewCounts)
    # Filled in by the service from the collection's live state (not by the store).
    diversity: list[DiversityWindow] = field(default_factory=list)


class Store(ABC):
    """Collections and the decision log. Implementations must be safe to call from many threads."""

    # ---- collections
    @abstractmethod
    def create_collection(self, name: str, policy: Policy) -> CollectionRecord:
        """Raises curator.errors.AlreadyExists if the name is taken."""

    @abstractmethod
    def get_collection(self, name: str) -> CollectionRecord | None: ...

    @abstractmethod
    def list_collections(self) -> list[CollectionRecord]: ...

    @abstractmethod
    def update_policy(self, name: str, policy: Policy) -> CollectionRecord:
        """Replace the policy and bump policy_version. Raises curator.errors.NotFound."""

    # ---- admissions: the system of record of what each collection kept
    @abstractmethod
    def commit(
        self,
        collection: str,
        seen: int,
        policy_version: int,
        admission: Admission | Sequence[Admission] | None,
        decisions: Sequence[LoggedDecision],
        at: datetime,
    ) -> int:
        """In one transaction: the decisions, and the admission (or several, in order) as numbers
        ``seen + 1 .. seen + count``,
        provided the collection is still at admission ``seen`` and policy version ``policy_version``;
        otherwise :class:`LostRace` and nothing is written. Returns the collection's admission number."""

    @abstractmethod
    def admissions_since(self, collection: str, seq: int) -> list[tuple[int, bytes]]:
        """Admissions after number ``seq``, oldest first, as (last number, frame)."""

    @abstractmethod
    def admitted_seq(self, collection: str) -> int:
        """The number of the collection's last admission (0 before the first)."""

    @contextmanager
    def exclusive(self, collection: str) -> Iterator[None]:
        """Keep every other process from committing to ``collection`` meanwhile (where processes share
        the store): for a process that keeps losing the race to commit."""
        yield

    # ---- decision log
    @abstractmethod
    def record_decisions(self, collection: str, decisions: Sequence[LoggedDecision], at: datetime) -> None:
        """Durably append decisions (one transaction)."""

    @abstractmethod
    def stats(self, query: StatsQuery) -> Stats:
        """Aggregates computed by indexed SQL queries, never by scanning rows in Python."""

    @abstractmethod
    def list_decisions(self, query: DecisionQuery) -> list[DecisionRecord]:
        """Up to ``query.limit`` decisions matching every filter, newest (highest id) first."""

    @abstractmethod
    def get_decision(self, decision_id: int) -> DecisionRecord | None: ...

    @abstractmethod
    def kept_samples(self, collection: str, sample_ids: Sequence[str]) -> dict[str, Sample]:
        """The logged content of kept samples (KEEP, or REVIEW approved later), latest per id, with their
        metadata."""

    @abstractmethod
    def kept_ids(self, collection: str) -> list[str]:
        """Ids of everything the collection kept (KEEP decisions and approved reviews), once each, in the
        order they were first kept: the system of record that admission files are checked against."""

    @abstractmethod
    def decisions_for(self, collection: str, sample_ids: Sequence[str]) -> list[DecisionRecord]:
        """Every logged decision of these sample ids, oldest first (what a resend is compared with)."""

    # ---- eval sets: shared by every collection (and every replica)
    @abstractmethod
    def add_evalset(self, name: str, items: Sequence[EvalItem], source: str, at: datetime) -> EvalSetInfo:
        """Register an eval set, items and all, in one transaction; AlreadyExists if the name is taken."""

    @abstractmethod
    def list_evalsets(self) -> list[EvalSetInfo]:
        """Every eval set, by name."""

    @abstractmethod
    def remove_evalset(self, name: str) -> EvalSetInfo | None:
        """Remove an eval set and its items; None if there was none by that name."""

    @abstractmethod
    def evalset_items(self, name: str) -> list[EvalItem]:
        """An eval set's items, in the order they were added."""

    # ---- real-data references, per collection
    @abstractmethod
    def add_reference(
        self, collection: str, items: Sequence[EvalItem], embeddings: Sequence[bytes], at: datetime
    ) -> int:
        """Append real items (with their float32 embeddings) to a collection's reference; returns its size."""

    @abstractmethod
    def reference(self, collection: str) -> list[tuple[str, str, bytes]]:
        """A collection's reference items: (id, text, float32 embedding bytes), in the order added."""

    @abstractmethod
    def review_counts(self, state: ReviewState) -> dict[str, int]:
        """REVIEW decisions in ``state``, by collection (collections with none are left out)."""

    @abstractmethod
    def record_review(
        self,
        decision_id: int,
        review: Review,
        apply: Callable[[DecisionRecord], tuple[int, int, Admission] | None],
    ) -> DecisionRecord:
        """Record ``review`` of a pending REVIEW decision, calling ``apply`` before it commits.

        ``apply`` may return (seen, policy version, admission): the admission is then written in the same
        transaction, as :meth:`commit` would (LostRace if the collection moved on). Raises NotFound, or
        FailedPrecondition when the decision is not a pending REVIEW; if ``apply`` raises, nothing is
        recorded.
        """

    @abstractmethod
    def annotation_counts(
        self, query: StatsQuery, check: str, kind: str
    ) -> dict[tuple[str, str], VerdictCounts]:
        """Decisions per (subject, label) of one annotation kind, by verdict, in the query's window."""

    @abstractmethod
    def ping(self) -> None:
        """Raise Unavailable unless the store answers a trivial query now."""

    @abstractmethod
    def close(self) -> None: ...
