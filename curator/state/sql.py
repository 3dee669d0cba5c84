"""The SQLAlchemy store: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by configuration.

Decisions are an append-only log. Besides the decision row itself, each reason
and each metadata entry gets its own narrow row carrying the collection and the
timestamp, so that every aggregate :meth:`SqlStore.stats` serves is an indexed
``GROUP BY`` rather than a scan of JSON blobs in Python.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    exists,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from curator.domain.decision import Action, Annotation, Decision, Reason, Verdict
from curator.domain.evalset import EvalItem, EvalSetInfo
from curator.domain.policy import Policy
from curator.domain.reasons import ReasonCode
from curator.domain.review import Review, ReviewAction, ReviewState
from curator.domain.sample import ContentShape, Message, Sample
from curator.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)
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
    VerdictCounts,
)

# What the ``postgres`` extra installs: psycopg 3, the driver SQLAlchemy 2.1 uses for a plain
# ``postgresql://`` URL. (curator is not on PyPI, so ``pip install 'curator[postgres]'`` would not do.)
POSTGRES_INSTALL_HINT = "pip install 'psycopg[binary]>=3.2'"
_SQLITE_BUSY_TIMEOUT_MS = 30_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY; PostgreSQL wants BIGINT
# because the log outgrows 2**31 rows long before anything else here does.
_Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

collections_table = Table(
    "collections",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("policy", Text, nullable=False),  # Policy.model_dump_json()
    Column("policy_version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Number of the last admission: commits are conditional on it (optimistic concurrency).
    Column("admitted_seq", BigInteger, nullable=False, server_default="0"),
)

# Columns added to collections after the first release, with their DDL.
_ADDED_COLLECTION_COLUMNS = {"admitted_seq": "BIGINT NOT NULL DEFAULT 0"}

# What each collection kept, in order: one row per admitting commit, numbers seq_from..seq_to, with the
# encoded batch of ids, content digests and index features. The system of record of every index.
admissions_table = Table(
    "admissions",
    metadata,
    Column("collection", String(64), primary_key=True),
    Column("seq_from", BigInteger, primary_key=True),
    Column("seq_to", BigInteger, nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("frame", LargeBinary, nullable=False),
)

decisions_table = Table(
    "decisions",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("ts_ms", BigInteger, nullable=False),  # epoch milliseconds, UTC
    Column("collection", String(64), nullable=False),
    Column("sample_id", Text, nullable=False),
    Column("verdict", String(8), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("reasons", Text, nullable=False),  # JSON list, see _reason_json
    Column("scores", Text, nullable=False),  # JSON object
    Column("metadata", Text, nullable=False),  # JSON object
    Column("annotations", Text, nullable=False, server_default="[]"),  # JSON list, see _annotation_json
    Column("sample", Text, nullable=True),  # JSON, see _sample_json; NULL in logs from before 0.2
    # "pending" / "approved" / "rejected" for REVIEW decisions, NULL for the others.
    Column("review_state", String(8), nullable=True),
    Index("ix_decisions_collection_ts", "collection", "ts_ms"),
    Index("ix_decisions_ts", "ts_ms"),
    Index("ix_decisions_collection_sample", "collection", "sample_id"),
    # The review queue: pending decisions per collection (the metrics' gauge reads it every scrape).
    Index("ix_decisions_review_state_collection", "review_state", "collection"),
)

# Columns added after the first release, with their DDL type: added in place to older databases.
_ADDED_DECISION_COLUMNS = {"sample": "TEXT", "review_state": "VARCHAR(8)"}

decision_reasons_table = Table(
    "decision_reasons",
    metadata,
    Column("decision_id", _Id, ForeignKey("decisions.id"), nullable=False),
    Column("collection", String(64), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("code", String(64), nullable=False),
    Column("check_name", String(64), nullable=False),
    Index("ix_decision_reasons_collection_ts_code", "collection", "ts_ms", "code"),
)

decision_metadata_table = Table(
    "decision_metadata",
    metadata,
    Column("decision_id", _Id, ForeignKey("decisions.id"), nullable=False),
    Column("collection", String(64), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("key", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("verdict", String(8), nullable=False),  # copied so by_group never joins back to decisions
    Index("ix_decision_metadata_collection_key_ts", "collection", "key", "ts_ms"),
)

# One row per annotation: what bias reports and the like aggregate by (subject, label) in SQL.
decision_annotations_table = Table(
    "decision_annotations",
    metadata,
    Column("decision_id", _Id, ForeignKey("decisions.id"), nullable=False),
    Column("collection", String(64), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("verdict", String(8), nullable=False),
    Column("check_name", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("label", Text, nullable=False),
    Index("ix_decision_annotations_collection_kind_ts", "collection", "check_name", "kind", "ts_ms"),
)


# Every review, with who and when; the decision row keeps only its review_state.
reviews_table = Table(
    "reviews",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("decision_id", _Id, ForeignKey("decisions.id"), nullable=False, unique=True),
    Column("collection", String(64), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("action", String(8), nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("note", Text, nullable=False),
    Index("ix_reviews_collection_ts", "collection", "ts_ms"),
)

evalsets_table = Table(
    "eval_sets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("items", Integer, nullable=False),
    Column("source", Text, nullable=False),
)

reference_items_table = Table(
    "reference_items",
    metadata,
    Column("collection", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("item_id", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("embedding", LargeBinary, nullable=False),  # float32, all-MiniLM-L6-v2
    Column("ts_ms", BigInteger, nullable=False),
)

eval_items_table = Table(
    "eval_items",
    metadata,
    Column("set_name", String(64), ForeignKey("eval_sets.name"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("item_id", Text, nullable=False),
    Column("text", Text, nullable=False),
)


def open_store(url: str) -> Store:
    """The store for ``url``: ``sqlite:///data/curator.db``, or ``postgresql://user@host/db`` (psycopg 3)."""
    return SqlStore(url)


class SqlStore(Store):
    """:class:`Store` over one SQLAlchemy engine; every call takes its own pooled connection."""

    def __init__(self, url: str) -> None:
        self._engine = _create_engine(url)
        self._where = make_url(url).render_as_string(hide_password=True)
        self._pinned = threading.local()  # the connection of an exclusive() block, per thread
        with self._unavailable(), _schema_lock(self._engine):
            _migrate(self._engine)
            metadata.create_all(self._engine)

    @contextmanager
    def _unavailable(self) -> Iterator[None]:
        """A store that cannot be reached, or cannot write (disk full, locked), is UNAVAILABLE: retryable,
        unlike a bug. Whatever the transaction did is rolled back, so a retry is safe."""
        try:
            yield
        except (OperationalError, InterfaceError) as err:
            raise Unavailable(
                f"the decision store ({self._where}) is unavailable: {_first_line(err)}"
            ) from err
        except DBAPIError as err:
            if err.connection_invalidated:
                raise Unavailable(f"the decision store ({self._where}) dropped the connection") from err
            if _retryable(err):
                raise Unavailable(
                    f"the decision store ({self._where}) cannot take the write now: {_first_line(err)}"
                ) from err
            raise

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """One transaction; committed when the block ends, rolled back when it raises. Inside
        :meth:`exclusive`, on the connection that holds the lock."""
        pinned: Connection | None = getattr(self._pinned, "conn", None)
        if pinned is not None:
            with self._unavailable(), pinned.begin():
                yield pinned
            return
        with self._unavailable(), self._engine.begin() as conn:
            yield conn

    @property
    def engine(self) -> Engine:
        return self._engine

    # ---- collections
    def create_collection(self, name: str, policy: Policy) -> CollectionRecord:
        record = CollectionRecord(name=name, policy=policy, policy_version=1, created_at=_now())
        try:
            with self._begin() as conn:
                conn.execute(
                    insert(collections_table).values(
                        name=record.name,
                        policy=policy.model_dump_json(),
                        policy_version=record.policy_version,
                        created_at=record.created_at,
                    )
                )
        except IntegrityError as e:
            # The primary key is the only constraint, so this is the name being taken (possibly by a
            # concurrent create that won the race); checking first would still leave that race open.
            raise AlreadyExists(f"collection {name!r} already exists") from e
        return record

    def get_collection(self, name: str) -> CollectionRecord | None:
        with self._begin() as conn:
            row = conn.execute(
                select(collections_table).where(collections_table.c.name == name)
            ).one_or_none()
        return None if row is None else _collection_record(row._mapping)

    def list_collections(self) -> list[CollectionRecord]:
        with self._begin() as conn:
            rows = conn.execute(select(collections_table).order_by(collections_table.c.name)).all()
        return [_collection_record(r._mapping) for r in rows]

    def update_policy(self, name: str, policy: Policy) -> CollectionRecord:
        # One UPDATE ... RETURNING, so concurrent updates each get their own version number.
        stmt = (
            update(collections_table)
            .where(collections_table.c.name == name)
            .values(policy=policy.model_dump_json(), policy_version=collections_table.c.policy_version + 1)
            .returning(*collections_table.c)
        )
        with self._begin() as conn:
            row = conn.execute(stmt).one_or_none()
        if row is None:
            raise NotFound(f"collection {name!r} not found")
        return _collection_record(row._mapping)

    # ---- decision log
    def record_decisions(self, collection: str, decisions: Sequence[LoggedDecision], at: datetime) -> None:
        if not decisions:
            return
        with self._begin() as conn:
            _insert_decisions(conn, collection, decisions, _to_ms(at))

    # ---- admissions
    def commit(
        self,
        collection: str,
        seen: int,
        policy_version: int,
        admission: Admission | Sequence[Admission] | None,
        decisions: Sequence[LoggedDecision],
        at: datetime,
    ) -> int:
        ts_ms = _to_ms(at)
        with self._begin() as conn:
            new = _claim(conn, collection, seen, policy_version, admission, ts_ms)
            if decisions:
                _insert_decisions(conn, collection, decisions, ts_ms)
        return new

    def admissions_since(self, collection: str, seq: int) -> list[tuple[int, bytes]]:
        a = admissions_table.c
        stmt = (
            select(a.seq_to, a.frame).where(a.collection == collection, a.seq_from > seq).order_by(a.seq_from)
        )
        with self._begin() as conn:
            return [(int(seq_to), bytes(frame)) for seq_to, frame in conn.execute(stmt)]

    def admitted_seq(self, collection: str) -> int:
        c = collections_table.c
        with self._begin() as conn:
            value = conn.execute(select(c.admitted_seq).where(c.name == collection)).scalar_one_or_none()
        if value is None:
            raise NotFound(f"collection {collection!r} does not exist")
        return int(value)

    @contextmanager
    def exclusive(self, collection: str) -> Iterator[None]:
        """PostgreSQL: the collection's advisory lock, exclusively, for as long as the block runs, so that a
        replica that keeps losing the race to commit decides and commits while the others wait (every
        commit takes the same lock shared, for its transaction). The block's own commits use the
        connection that holds the lock. SQLite: one process per database already."""
        if self._engine.dialect.name != "postgresql":
            yield
            return
        key = _lock_key(f"collection:{collection}")
        with self._unavailable(), self._engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            self._pinned.conn = conn
            try:
                yield
            finally:
                self._pinned.conn = None
                if conn.in_transaction():
                    conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    # ---- decision queries and reviews
    def list_decisions(self, query: DecisionQuery) -> list[DecisionRecord]:
        d, r, m = decisions_table.c, decision_reasons_table.c, decision_metadata_table.c
        terms: list[ColumnElement[bool]] = _window(d, query)  # type: ignore[arg-type]
        if query.verdict is not None:
            terms.append(d.verdict == str(query.verdict))
        if query.review_state is not None:
            terms.append(d.review_state == str(query.review_state))
        if query.sample_id is not None:
            terms.append(d.sample_id == query.sample_id)
        if query.before_id is not None:
            terms.append(d.id < query.before_id)
        if query.reason is not None or query.check is not None:
            match = [r.decision_id == d.id]
            if query.reason is not None:
                match.append(r.code == query.reason)
            if query.check is not None:
                match.append(r.check_name == query.check)
            terms.append(exists().where(*match))
        if query.metadata_key is not None:
            match = [m.decision_id == d.id, m.key == query.metadata_key]
            if query.metadata_value is not None:
                match.append(m.value == query.metadata_value)
            terms.append(exists().where(*match))
        stmt = select(decisions_table).where(*terms).order_by(d.id.desc()).limit(query.limit)
        with self._begin() as conn:
            rows = [row._mapping for row in conn.execute(stmt)]
            reviews = self._reviews(conn, [row["id"] for row in rows])
        return [_decision_record(row, reviews.get(row["id"])) for row in rows]

    def get_decision(self, decision_id: int) -> DecisionRecord | None:
        with self._begin() as conn:
            row = conn.execute(
                select(decisions_table).where(decisions_table.c.id == decision_id)
            ).one_or_none()
            if row is None:
                return None
            reviews = self._reviews(conn, [decision_id])
        return _decision_record(row._mapping, reviews.get(decision_id))

    def kept_samples(self, collection: str, sample_ids: Sequence[str]) -> dict[str, Sample]:
        if not sample_ids:
            return {}
        d = decisions_table.c
        kept = (d.verdict == str(Verdict.KEEP)) | (d.review_state == str(ReviewState.APPROVED))
        stmt = (
            select(d.sample_id, d.sample, d.metadata)
            .where(d.collection == collection, d.sample_id.in_(list(set(sample_ids))), kept)
            .where(d.sample.is_not(None))
            .order_by(d.id)
        )
        out: dict[str, Sample] = {}
        with self._begin() as conn:
            for sample_id, sample, metadata_ in conn.execute(stmt):
                out[sample_id] = _sample_from_json(sample_id, sample, orjson.loads(metadata_))  # later win
        return out

    def kept_ids(self, collection: str) -> list[str]:
        d = decisions_table.c
        kept = (d.verdict == str(Verdict.KEEP)) | (d.review_state == str(ReviewState.APPROVED))
        first = func.min(d.id).label("first")
        stmt = (
            select(d.sample_id, first)
            .where(d.collection == collection, kept)
            .group_by(d.sample_id)
            .order_by(first)
        )
        with self._begin() as conn:
            return [sample_id for sample_id, _ in conn.execute(stmt)]

    def decisions_for(self, collection: str, sample_ids: Sequence[str]) -> list[DecisionRecord]:
        if not sample_ids:
            return []
        d = decisions_table.c
        stmt = (
            select(decisions_table)
            .where(d.collection == collection, d.sample_id.in_(list(set(sample_ids))))
            .order_by(d.id)
        )
        with self._begin() as conn:
            rows = [row._mapping for row in conn.execute(stmt)]
            reviews = self._reviews(conn, [row["id"] for row in rows if row["review_state"] is not None])
        return [_decision_record(row, reviews.get(row["id"])) for row in rows]

    def review_counts(self, state: ReviewState) -> dict[str, int]:
        d = decisions_table.c
        stmt = (
            select(d.collection, func.count())
            .where(d.review_state == str(state))
            .group_by(d.collection)
            .order_by(d.collection)
        )
        with self._begin() as conn:
            return {collection: n for collection, n in conn.execute(stmt)}

    def record_review(
        self,
        decision_id: int,
        review: Review,
        apply: Callable[[DecisionRecord], tuple[int, int, Admission] | None],
    ) -> DecisionRecord:
        d = decisions_table.c
        state = ReviewState.after(review.action)
        with self._begin() as conn:
            row = conn.execute(select(decisions_table).where(d.id == decision_id)).one_or_none()
            if row is None:
                raise NotFound(f"decision {decision_id} does not exist")
            record = _decision_record(row._mapping, None)
            if record.decision.verdict is not Verdict.REVIEW:
                raise FailedPrecondition(
                    f"decision {decision_id} is {record.decision.verdict.upper()}; only REVIEW decisions "
                    "can be reviewed"
                )
            # The conditional UPDATE is the claim: of two reviewers racing, exactly one changes the row.
            claimed = conn.execute(
                update(decisions_table)
                .where(d.id == decision_id, d.review_state == str(ReviewState.PENDING))
                .values(review_state=str(state))
            ).rowcount
            if claimed != 1:
                earlier = self._reviews(conn, [decision_id]).get(decision_id)
                who = f" by {earlier.reviewer} at {earlier.reviewed_at.isoformat()}" if earlier else ""
                raise FailedPrecondition(f"decision {decision_id} was already reviewed{who}")
            conn.execute(
                insert(reviews_table).values(
                    decision_id=decision_id,
                    collection=record.collection,
                    ts_ms=_to_ms(review.reviewed_at),
                    action=str(review.action),
                    reviewer=review.reviewer,
                    note=review.note,
                )
            )
            admitting = apply(record)  # raising here rolls the claim back
            if admitting is not None:  # the approved sample's admission, in this same transaction
                seen, policy_version, admission = admitting
                _claim(conn, record.collection, seen, policy_version, admission, _to_ms(review.reviewed_at))
        return DecisionRecord(
            record.id,
            record.collection,
            record.decided_at,
            record.decision,
            record.metadata,
            record.sample,
            state,
            review,
        )

    @staticmethod
    def _reviews(conn: Any, decision_ids: Sequence[int]) -> dict[int, Review]:
        if not decision_ids:
            return {}
        v = reviews_table.c
        rows = conn.execute(select(reviews_table).where(v.decision_id.in_(list(decision_ids))))
        return {
            row.decision_id: Review(
                ReviewAction(row.action), row.reviewer, _EPOCH + timedelta(milliseconds=row.ts_ms), row.note
            )
            for row in rows
        }

    def annotation_counts(
        self, query: StatsQuery, check: str, kind: str
    ) -> dict[tuple[str, str], VerdictCounts]:
        """Decisions per (subject, label) of one annotation kind, by verdict; one SQL GROUP BY.

        A decision with the same (subject, label) annotated twice counts once.
        """
        a = decision_annotations_table.c
        distinct = (
            select(a.decision_id, a.subject, a.label, a.verdict)
            .where(*_window(a, query), a.check_name == check, a.kind == kind)
            .distinct()
            .subquery()
        )
        out: dict[tuple[str, str], VerdictCounts] = {}
        with self._begin() as conn:
            rows = conn.execute(
                select(distinct.c.subject, distinct.c.label, distinct.c.verdict, func.count()).group_by(
                    distinct.c.subject, distinct.c.label, distinct.c.verdict
                )
            )
            for subject, label, verdict, n in rows:
                out.setdefault((subject, label), VerdictCounts()).add(Verdict(verdict), n)
        return out

    def stats(self, query: StatsQuery) -> Stats:
        if query.bucket_seconds <= 0:
            raise InvalidArgument(FieldViolation("bucket_seconds", "bucket_seconds must be positive"))
        bucket_ms = query.bucket_seconds * 1000
        out = Stats(bucket_seconds=query.bucket_seconds)
        d, r, m = decisions_table.c, decision_reasons_table.c, decision_metadata_table.c
        with self._begin() as conn:
            for verdict, n in conn.execute(
                select(d.verdict, func.count()).where(*_window(d, query)).group_by(d.verdict)
            ):
                out.totals.add(Verdict(verdict), n)

            for state, n in conn.execute(
                select(d.review_state, func.count())
                .where(*_window(d, query), d.review_state.is_not(None))
                .group_by(d.review_state)
            ):
                setattr(out.reviews, ReviewState(state).value, n)

            for code, n in conn.execute(
                select(r.code, func.count()).where(*_window(r, query)).group_by(r.code).order_by(r.code)
            ):
                out.by_reason[code] = n

            for check, n in conn.execute(
                select(r.check_name, func.count())
                .where(*_window(r, query))
                .group_by(r.check_name)
                .order_by(r.check_name)
            ):
                out.by_check[check] = n

            if query.group_by is not None:
                stmt = (
                    select(m.value, m.verdict, func.count())
                    .where(m.key == query.group_by, *_window(m, query))
                    .group_by(m.value, m.verdict)
                    .order_by(m.value)
                )
                keyed = VerdictCounts()
                for value, verdict, n in conn.execute(stmt):
                    out.by_group.setdefault(value, VerdictCounts()).add(Verdict(verdict), n)
                    keyed.add(Verdict(verdict), n)
                # Decisions without the key: totals less those that have it (each has it at most once).
                for verdict in Verdict:
                    missing = getattr(out.totals, verdict.value) - getattr(keyed, verdict.value)
                    if missing:
                        out.by_group.setdefault("", VerdictCounts()).add(verdict, missing)

            # ``//`` on integer columns renders as plain ``/``, which both SQLite and PostgreSQL evaluate
            # as integer division (== floor for the non-negative timestamps stored here).
            bucket = (d.ts_ms // literal(bucket_ms, BigInteger)).label("bucket")
            series: dict[int, VerdictCounts] = {}
            for b, verdict, n in conn.execute(
                select(bucket, d.verdict, func.count())
                .where(*_window(d, query))
                .group_by(bucket, d.verdict)
                .order_by(bucket)
            ):
                series.setdefault(int(b), VerdictCounts()).add(Verdict(verdict), n)
        out.series = [
            (_EPOCH + timedelta(milliseconds=b * bucket_ms), counts) for b, counts in sorted(series.items())
        ]
        return out

    # ---- references
    def add_reference(
        self, collection: str, items: Sequence[EvalItem], embeddings: Sequence[bytes], at: datetime
    ) -> int:
        with self._begin() as conn:
            start = conn.execute(
                select(func.count())
                .select_from(reference_items_table)
                .where(reference_items_table.c.collection == collection)
            ).scalar_one()
            rows = [
                {
                    "collection": collection,
                    "position": start + k,
                    "item_id": it.id,
                    "text": it.text,
                    "embedding": vector,
                    "ts_ms": _to_ms(at),
                }
                for k, (it, vector) in enumerate(zip(items, embeddings, strict=True))
            ]
            for a in range(0, len(rows), 1_000):
                conn.execute(insert(reference_items_table), rows[a : a + 1_000])
        return int(start) + len(rows)

    def reference(self, collection: str) -> list[tuple[str, str, bytes]]:
        with self._begin() as conn:
            rows = conn.execute(
                select(
                    reference_items_table.c.item_id,
                    reference_items_table.c.text,
                    reference_items_table.c.embedding,
                )
                .where(reference_items_table.c.collection == collection)
                .order_by(reference_items_table.c.position)
            ).all()
        return [(r.item_id, r.text, bytes(r.embedding)) for r in rows]

    # ---- eval sets
    def add_evalset(self, name: str, items: Sequence[EvalItem], source: str, at: datetime) -> EvalSetInfo:
        info = EvalSetInfo(name, len(items), _utc(at), source)
        try:
            with self._begin() as conn:
                conn.execute(
                    insert(evalsets_table).values(
                        name=name, created_at=info.created_at, items=len(items), source=source
                    )
                )
                for start in range(0, len(items), 1_000):
                    conn.execute(
                        insert(eval_items_table),
                        [
                            {"set_name": name, "position": start + k, "item_id": it.id, "text": it.text}
                            for k, it in enumerate(items[start : start + 1_000])
                        ],
                    )
        except IntegrityError as e:
            raise AlreadyExists(
                f"eval set {name!r} already exists: remove it first (`curator evalsets remove {name}`)"
            ) from e
        return info

    def list_evalsets(self) -> list[EvalSetInfo]:
        with self._begin() as conn:
            rows = conn.execute(select(evalsets_table).order_by(evalsets_table.c.name)).all()
        return [EvalSetInfo(r.name, r.items, _utc(r.created_at), r.source) for r in rows]

    def remove_evalset(self, name: str) -> EvalSetInfo | None:
        with self._begin() as conn:
            row = conn.execute(select(evalsets_table).where(evalsets_table.c.name == name)).one_or_none()
            if row is None:
                return None
            conn.execute(eval_items_table.delete().where(eval_items_table.c.set_name == name))
            conn.execute(evalsets_table.delete().where(evalsets_table.c.name == name))
        return EvalSetInfo(row.name, row.items, _utc(row.created_at), row.source)

    def evalset_items(self, name: str) -> list[EvalItem]:
        with self._begin() as conn:
            rows = conn.execute(
                select(eval_items_table.c.item_id, eval_items_table.c.text)
                .where(eval_items_table.c.set_name == name)
                .order_by(eval_items_table.c.position)
            ).all()
        return [EvalItem(r.item_id, r.text) for r in rows]

    def ping(self) -> None:
        with self._begin() as conn:
            conn.execute(select(literal(1)))

    def close(self) -> None:
        self._engine.dispose()


def _insert_decisions(
    conn: Connection, collection: str, decisions: Sequence[LoggedDecision], ts_ms: int
) -> None:
    """The decision rows, and a row per reason, metadata entry and annotation, in ``conn``'s transaction."""
    rows = [
        {
            "ts_ms": ts_ms,
            "collection": collection,
            "sample_id": logged.decision.sample_id,
            "verdict": str(logged.decision.verdict),
            "policy_version": logged.decision.policy_version,
            "reasons": _dumps([_reason_json(r) for r in logged.decision.reasons]),
            "scores": _dumps(logged.decision.scores),
            "metadata": _dumps(logged.metadata),
            "annotations": _dumps([_annotation_json(a) for a in logged.decision.annotations]),
            "sample": None if logged.sample is None else _dumps(_sample_json(logged.sample)),
            "review_state": (str(ReviewState.PENDING) if logged.decision.verdict is Verdict.REVIEW else None),
        }
        for logged in decisions
    ]
    # insertmanyvalues: batched multi-row INSERT ... RETURNING on SQLite >= 3.35 and PostgreSQL.
    # Ids are matched back by sample id, unique within a request (asking RETURNING for parameter
    # order instead makes SQLAlchemy insert one row at a time on SQLite).
    d = decisions_table.c
    result = conn.execute(insert(decisions_table).returning(d.id, d.sample_id), rows)
    by_sample = {sample_id: decision_id for decision_id, sample_id in result}
    if len(by_sample) != len(rows):
        raise ValueError("record_decisions needs distinct sample ids within one call")
    ids = [by_sample[logged.decision.sample_id] for logged in decisions]
    reason_rows = [
        {
            "decision_id": decision_id,
            "collection": collection,
            "ts_ms": ts_ms,
            "code": str(reason.code),
            "check_name": reason.check,
        }
        for decision_id, logged in zip(ids, decisions, strict=True)
        for reason in logged.decision.reasons
    ]
    metadata_rows = [
        {
            "decision_id": decision_id,
            "collection": collection,
            "ts_ms": ts_ms,
            "key": key,
            "value": value,
            "verdict": str(logged.decision.verdict),
        }
        for decision_id, logged in zip(ids, decisions, strict=True)
        for key, value in logged.metadata.items()
    ]
    if reason_rows:
        conn.execute(insert(decision_reasons_table), reason_rows)
    if metadata_rows:
        conn.execute(insert(decision_metadata_table), metadata_rows)
    annotation_rows = [
        {
            "decision_id": decision_id,
            "collection": collection,
            "ts_ms": ts_ms,
            "verdict": str(logged.decision.verdict),
            "check_name": a.check,
            "kind": a.kind,
            "subject": a.subject,
            "label": a.label,
        }
        for decision_id, logged in zip(ids, decisions, strict=True)
        for a in logged.decision.annotations
    ]
    if annotation_rows:
        conn.execute(insert(decision_annotations_table), annotation_rows)


def _claim(
    conn: Connection,
    collection: str,
    seen: int,
    policy_version: int,
    admission: Admission | Sequence[Admission] | None,
    ts_ms: int,
) -> int:
    """Move the collection's admission number from ``seen`` on by the admissions (none: 0) and write them,
    numbered in order, if nobody moved it or changed the policy meanwhile; else LostRace. The row lock this
    UPDATE takes orders concurrent commits to one collection until the transaction ends."""
    admissions = (
        [] if admission is None else [admission] if isinstance(admission, Admission) else list(admission)
    )
    count = sum(a.count for a in admissions)
    if conn.dialect.name == "postgresql":  # waits while a replica that kept losing holds it exclusively
        key = _lock_key(f"collection:{collection}")
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": key})
    c = collections_table.c
    moved = conn.execute(
        update(collections_table)
        .where(c.name == collection, c.admitted_seq == seen, c.policy_version == policy_version)
        .values(admitted_seq=seen + count)
    ).rowcount
    if moved != 1:
        row = conn.execute(select(c.admitted_seq, c.policy_version).where(c.name == collection)).one_or_none()
        if row is None:
            raise NotFound(
                f"collection {collection!r} does not exist", resource=("curator.v1.Collection", collection)
            )
        raise LostRace(collection, seen, int(row[0]), int(row[1]))
    first = seen
    for a in admissions:
        if a.count:
            conn.execute(
                insert(admissions_table).values(
                    collection=collection,
                    seq_from=first + 1,
                    seq_to=first + a.count,
                    ts_ms=ts_ms,
                    frame=a.frame,
                )
            )
            first += a.count
    return seen + count


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for a PostgreSQL advisory lock."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[None]:
    """Replicas that start together on an empty PostgreSQL database create the schema one at a time
    (concurrent CREATE TABLEs collide on pg_type); SQLite needs nothing."""
    if engine.dialect.name != "postgresql":
        yield
        return
    key = _lock_key("curator:schema")
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def _create_engine(url: str) -> Engine:
    """An engine tuned for the backend: SQLite for many threads in one process, others pooled."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except ImportError as e:
        if parsed.get_backend_name() == "postgresql":
            driver = parsed.drivername.partition("+")[2] or "psycopg"
            if driver == "psycopg":
                raise RuntimeError(
                    f"the PostgreSQL driver for {parsed.drivername!r} (psycopg 3) is not installed; "
                    f"run: {POSTGRES_INSTALL_HINT}"
                ) from e
            raise RuntimeError(
                f"the PostgreSQL driver for {parsed.drivername!r} ({driver}) is not installed: install it, "
                f"or use a plain postgresql:// URL, whose driver (psycopg 3) installs with: "
                f"{POSTGRES_INSTALL_HINT}"
            ) from e
        raise RuntimeError(f"the database driver for {parsed.drivername!r} is not installed: {e}") from e


def _migrate(engine: Engine) -> None:
    """Add the columns later releases introduced to a decision log created by an earlier one."""
    inspector = inspect(engine)
    if inspector.has_table("collections"):
        have = {c["name"] for c in inspector.get_columns("collections")}
        with engine.begin() as conn:
            for name, ddl in _ADDED_COLLECTION_COLUMNS.items():
                if name not in have:
                    conn.execute(text(f"ALTER TABLE collections ADD COLUMN {name} {ddl}"))
    if not inspector.has_table("decisions"):
        return
    present = {c["name"] for c in inspector.get_columns("decisions")}
    with engine.begin() as conn:
        for name, ddl in _ADDED_DECISION_COLUMNS.items():
            if name not in present:
                conn.execute(text(f"ALTER TABLE decisions ADD COLUMN {name} {ddl}"))
                if name == "review_state":  # REVIEW decisions logged before reviews existed are pending
                    conn.execute(
                        text("UPDATE decisions SET review_state = 'pending' WHERE verdict = 'review'")
                    )
        for index in decisions_table.indexes:  # create_all adds indexes only with a new table
            index.create(conn, checkfirst=True)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers (stats) run alongside the writer. FULL syncs every commit: the database is the
    system of record of admissions and decisions alike, so an acknowledged commit survives a power cut."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _window(cols: Any, query: StatsQuery | DecisionQuery) -> list[ColumnElement[bool]]:
    """The WHERE terms of ``query`` on a table that has ``collection`` and ``ts_ms`` columns."""
    terms: list[ColumnElement[bool]] = []
    if query.collection is not None:
        terms.append(cols.collection == query.collection)
    if query.start is not None:
        terms.append(cols.ts_ms >= _to_ms(query.start))
    if query.end is not None:
        terms.append(cols.ts_ms < _to_ms(query.end))
    return terms


def _to_ms(at: datetime) -> int:
    """Epoch milliseconds, exactly (no float rounding); naive datetimes are taken to be UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - _EPOCH) // timedelta(milliseconds=1)


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(at: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones in the session zone."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _collection_record(row: Any) -> CollectionRecord:
    return CollectionRecord(
        name=row["name"],
        policy=Policy.model_validate_json(row["policy"]),
        policy_version=row["policy_version"],
        created_at=_utc(row["created_at"]),
    )


def _annotation_json(a: Annotation) -> dict[str, Any]:
    return {
        "check": a.check,
        "kind": a.kind,
        "subject": a.subject,
        "label": a.label,
        "span": list(a.span) if a.span else None,
        "attributes": a.attributes,
    }


def _sample_json(sample: Sample) -> dict[str, Any]:
    """The sample's content (its id and metadata have their own columns)."""
    out: dict[str, Any] = {"shape": str(sample.shape)}
    if sample.shape is ContentShape.TEXT:
        out["text"] = sample.text
    elif sample.shape is ContentShape.ALPACA:
        out.update(instruction=sample.instruction, input=sample.input, output=sample.output)
    else:
        out["messages"] = [[m.role, m.content] for m in sample.messages]
    if sample.context:
        out["context"] = list(sample.context)
    return out


def _sample_from_json(sample_id: str, raw: str, metadata: dict[str, str] | None = None) -> Sample:
    data = orjson.loads(raw)
    return Sample(
        id=sample_id,
        shape=ContentShape(data["shape"]),
        text=data.get("text", ""),
        instruction=data.get("instruction", ""),
        input=data.get("input", ""),
        output=data.get("output", ""),
        messages=tuple(Message(role, content) for role, content in data.get("messages", [])),
        context=tuple(data.get("context", [])),
        metadata=dict(metadata or {}),
    )


def _decision_record(row: Any, review: Review | None) -> DecisionRecord:
    metadata_ = orjson.loads(row["metadata"])
    decision = Decision(
        sample_id=row["sample_id"],
        verdict=Verdict(row["verdict"]),
        reasons=[
            Reason(
                code=ReasonCode(r["code"]),
                check=r["check"],
                message=r["message"],
                score=r["score"],
                threshold=r["threshold"],
                action=Action(r["action"]),
                matched_id=r.get("matched_id") or "",
            )
            for r in orjson.loads(row["reasons"])
        ],
        scores=orjson.loads(row["scores"]),
        policy_version=row["policy_version"],
        annotations=[
            Annotation(
                check=a["check"],
                kind=a["kind"],
                subject=a["subject"],
                label=a["label"],
                span=tuple(a["span"]) if a.get("span") else None,  # type: ignore[arg-type]
                attributes=a.get("attributes") or {},
            )
            for a in orjson.loads(row["annotations"] or "[]")
        ],
    )
    sample = row["sample"]
    return DecisionRecord(
        id=row["id"],
        collection=row["collection"],
        decided_at=_EPOCH + timedelta(milliseconds=row["ts_ms"]),
        decision=decision,
        metadata=metadata_,
        sample=None if sample is None else _sample_from_json(row["sample_id"], sample, metadata_),
        review_state=None if row["review_state"] is None else ReviewState(row["review_state"]),
        review=review,
    )


def _reason_json(reason: Reason) -> dict[str, Any]:
    return {
        "code": str(reason.code),
        "check": reason.check,
        "message": reason.message,
        "score": reason.score,
        "threshold": reason.threshold,
        "action": str(reason.action),
        "matched_id": reason.matched_id,
    }


# PostgreSQL error classes that say "not now" rather than "never": a connection lost, a database shut
# down or read-only, disk full or out of memory, a serialisation failure or deadlock (retry the request).
_RETRYABLE_SQLSTATE = ("08", "25006", "53", "57P", "40001", "40P01")


def _retryable(err: DBAPIError) -> bool:
    state = getattr(err.orig, "sqlstate", None) or getattr(err.orig, "pgcode", None)
    return isinstance(state, str) and state.startswith(_RETRYABLE_SQLSTATE)


def _first_line(err: DBAPIError) -> str:
    """The driver's own message, first line only (the SQL statement and parameters stay in the log)."""
    return (
        str(err.orig if err.orig is not None else err).strip().splitlines()[0]
        if str(err).strip()
        else type(err).__name__
    )


def _dumps(value: Iterable[Any] | dict[str, Any]) -> str:
    return orjson.dumps(value).decode()
