"""The SQLAlchemy store: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by configuration.

Decisions are an append-only log. Besides the decision row itself, each reason
and each metadata entry gets its own narrow row carrying the collection and the
timestamp, so that every aggregate :meth:`SqlStore.stats` serves is an indexed
``GROUP BY`` rather than a scan of JSON blobs in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from curator.domain.decision import Annotation, Reason, Verdict
from curator.domain.policy import Policy
from curator.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from curator.state.store import (
    CollectionRecord,
    LoggedDecision,
    Stats,
    StatsQuery,
    Store,
    VerdictCounts,
)

POSTGRES_INSTALL_HINT = "pip install 'curator[postgres]'"
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
    Index("ix_decisions_collection_ts", "collection", "ts_ms"),
    Index("ix_decisions_ts", "ts_ms"),
)

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


def open_store(url: str) -> Store:
    """The store for ``url``, e.g. ``sqlite:///data/curator.db`` or ``postgresql+psycopg2://...``."""
    return SqlStore(url)


class SqlStore(Store):
    """:class:`Store` over one SQLAlchemy engine; every call takes its own pooled connection."""

    def __init__(self, url: str) -> None:
        self._engine = _create_engine(url)
        metadata.create_all(self._engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    # ---- collections
    def create_collection(self, name: str, policy: Policy) -> CollectionRecord:
        record = CollectionRecord(name=name, policy=policy, policy_version=1, created_at=_now())
        try:
            with self._engine.begin() as conn:
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
        with self._engine.begin() as conn:
            row = conn.execute(
                select(collections_table).where(collections_table.c.name == name)
            ).one_or_none()
        return None if row is None else _collection_record(row._mapping)

    def list_collections(self) -> list[CollectionRecord]:
        with self._engine.begin() as conn:
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
        with self._engine.begin() as conn:
            row = conn.execute(stmt).one_or_none()
        if row is None:
            raise NotFound(f"collection {name!r} not found")
        return _collection_record(row._mapping)

    # ---- decision log
    def record_decisions(self, collection: str, decisions: Sequence[LoggedDecision], at: datetime) -> None:
        if not decisions:
            return
        ts_ms = _to_ms(at)
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
            }
            for logged in decisions
        ]
        with self._engine.begin() as conn:
            # insertmanyvalues: batched multi-row INSERT ... RETURNING on SQLite >= 3.35 and PostgreSQL;
            # sort_by_parameter_order guarantees ids come back in the order of ``rows``.
            result = conn.execute(
                insert(decisions_table).returning(decisions_table.c.id, sort_by_parameter_order=True), rows
            )
            ids = [r[0] for r in result]
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
        with self._engine.begin() as conn:
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
        with self._engine.begin() as conn:
            for verdict, n in conn.execute(
                select(d.verdict, func.count()).where(*_window(d, query)).group_by(d.verdict)
            ):
                out.totals.add(Verdict(verdict), n)

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

    def close(self) -> None:
        self._engine.dispose()


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
            raise RuntimeError(
                f"the PostgreSQL driver for {parsed.drivername!r} is not installed; "
                f"run: {POSTGRES_INSTALL_HINT}"
            ) from e
        raise RuntimeError(f"the database driver for {parsed.drivername!r} is not installed: {e}") from e


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers (stats) run alongside the writer; NORMAL skips the fsync per commit under WAL."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _window(cols: Any, query: StatsQuery) -> list[ColumnElement[bool]]:
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


def _dumps(value: Iterable[Any] | dict[str, Any]) -> str:
    return orjson.dumps(value).decode()
