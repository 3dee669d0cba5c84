"""SqlStore against both backends: the same assertions must hold on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import json
import re
import shlex
import sys
import threading
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sqlalchemy import select

from curator.domain import (
    Action,
    CheckPolicy,
    Decision,
    DedupKey,
    Policy,
    Reason,
    ReasonCode,
    RulePolicy,
    Verdict,
)
from curator.errors import AlreadyExists, InvalidArgument, NotFound
from curator.state.sql import (
    POSTGRES_INSTALL_HINT,
    SqlStore,
    decision_metadata_table,
    decision_reasons_table,
    decisions_table,
    open_store,
)
from curator.state.store import LoggedDecision, StatsQuery, VerdictCounts
from tests.support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)  # on an hour boundary


def _policy() -> Policy:
    return Policy(
        dedup_key=DedupKey.PROMPT,
        checks={
            "dedup": CheckPolicy(
                rules={
                    "NEAR_DUPLICATE": RulePolicy(threshold=0.9, action=Action.DROP, review_threshold=0.8),
                    "EXACT_DUPLICATE": RulePolicy(threshold=1.0, action=Action.REVIEW),
                },
                params={"num_perm": 128.0, "shingle_size": 5.0},
            ),
            "empty": CheckPolicy(enabled=False),
        },
    )


def _reason(code: ReasonCode, check: str, action: Action = Action.DROP, matched_id: str = "") -> Reason:
    return Reason(code, check, f"{code} from {check}", 0.95, 0.9, action, matched_id)


def _logged(
    sample_id: str,
    verdict: Verdict,
    reasons: list[Reason] | None = None,
    metadata: dict[str, str] | None = None,
    policy_version: int = 1,
) -> LoggedDecision:
    decision = Decision(
        sample_id=sample_id,
        verdict=verdict,
        reasons=reasons or [],
        scores={"near_duplicate": 0.25},
        policy_version=policy_version,
    )
    return LoggedDecision(decision=decision, metadata=metadata or {})


def _counts(keep: int = 0, drop: int = 0, review: int = 0) -> VerdictCounts:
    return VerdictCounts(keep=keep, drop=drop, review=review)


# ---- collections


def test_create_and_get_collection_round_trips_the_policy(store: SqlStore) -> None:
    created = store.create_collection("c1", _policy())
    assert created.name == "c1"
    assert created.policy_version == 1
    assert created.created_at.tzinfo is not None

    got = store.get_collection("c1")
    assert got is not None
    assert got.name == "c1"
    assert got.policy == _policy()
    assert got.policy.checks["dedup"].rules["NEAR_DUPLICATE"].review_threshold == 0.8
    assert got.policy.checks["dedup"].params == {"num_perm": 128.0, "shingle_size": 5.0}
    assert got.policy.checks["empty"].enabled is False
    assert got.policy_version == 1
    assert got.created_at == created.created_at
    assert got.created_at.utcoffset() == timedelta(0)


def test_get_missing_collection_is_none(store: SqlStore) -> None:
    assert store.get_collection("nope") is None


def test_create_taken_name_raises_already_exists(store: SqlStore) -> None:
    store.create_collection("c1", Policy())
    with pytest.raises(AlreadyExists, match=r"collection 'c1' already exists"):
        store.create_collection("c1", _policy())
    got = store.get_collection("c1")
    assert got is not None
    assert got.policy == Policy()


def test_list_collections_is_sorted_by_name(store: SqlStore) -> None:
    assert store.list_collections() == []
    for name in ["b", "c", "a"]:
        store.create_collection(name, Policy())
    assert [c.name for c in store.list_collections()] == ["a", "b", "c"]


def test_update_policy_replaces_policy_and_bumps_version(store: SqlStore) -> None:
    created = store.create_collection("c1", Policy())
    updated = store.update_policy("c1", _policy())
    assert updated.policy_version == 2
    assert updated.policy == _policy()
    assert updated.created_at == created.created_at

    again = store.update_policy("c1", Policy(dedup_key=DedupKey.RESPONSE))
    assert again.policy_version == 3
    got = store.get_collection("c1")
    assert got is not None
    assert got.policy_version == 3
    assert got.policy == Policy(dedup_key=DedupKey.RESPONSE)


def test_update_policy_of_missing_collection_raises_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound, match="nope"):
        store.update_policy("nope", Policy())


# ---- decision log


def test_record_decisions_stores_every_field(store: SqlStore) -> None:
    reason = Reason(ReasonCode.NEAR_DUPLICATE, "dedup", "0.950 crosses 0.900", 0.95, 0.9, Action.DROP, "s0")
    store.record_decisions(
        "c1",
        [_logged("s1", Verdict.DROP, [reason], {"generator": "gpt", "lang": "en"}, policy_version=7)],
        T0 + timedelta(milliseconds=123),
    )
    with store.engine.connect() as conn:
        row = conn.execute(select(decisions_table)).one()._mapping
        reason_rows = conn.execute(select(decision_reasons_table)).all()
        metadata_rows = conn.execute(
            select(decision_metadata_table).order_by(decision_metadata_table.c.key)
        ).all()
    assert row["ts_ms"] == int(T0.timestamp()) * 1000 + 123
    assert row["collection"] == "c1"
    assert row["sample_id"] == "s1"
    assert row["verdict"] == "drop"
    assert row["policy_version"] == 7
    assert json.loads(row["reasons"]) == [
        {
            "code": "NEAR_DUPLICATE",
            "check": "dedup",
            "message": "0.950 crosses 0.900",
            "score": 0.95,
            "threshold": 0.9,
            "action": "drop",
            "matched_id": "s0",
        }
    ]
    assert json.loads(row["scores"]) == {"near_duplicate": 0.25}
    assert json.loads(row["metadata"]) == {"generator": "gpt", "lang": "en"}
    assert [(r.decision_id, r.collection, r.code, r.check_name) for r in reason_rows] == [
        (row["id"], "c1", "NEAR_DUPLICATE", "dedup")
    ]
    assert [(r.decision_id, r.key, r.value, r.verdict, r.ts_ms) for r in metadata_rows] == [
        (row["id"], "generator", "gpt", "drop", row["ts_ms"]),
        (row["id"], "lang", "en", "drop", row["ts_ms"]),
    ]


def test_record_empty_batch_is_a_no_op(store: SqlStore) -> None:
    store.record_decisions("c1", [], T0)
    assert store.stats(StatsQuery()).totals == _counts()


def test_stats_on_empty_log(store: SqlStore) -> None:
    stats = store.stats(StatsQuery(group_by="generator", bucket_seconds=60))
    assert stats.totals == _counts()
    assert stats.by_reason == {}
    assert stats.by_check == {}
    assert stats.by_group == {}
    assert stats.series == []
    assert stats.bucket_seconds == 60


def _mixed_batch() -> list[LoggedDecision]:
    """3 keep, 2 drop, 1 review; 5 reasons from 2 checks; generator set on 4 of 6 (one of them "")."""
    near = ReasonCode.NEAR_DUPLICATE
    exact = ReasonCode.EXACT_DUPLICATE
    return [
        _logged("k1", Verdict.KEEP, [], {"generator": "a"}),
        _logged("k2", Verdict.KEEP, [_reason(near, "dedup", Action.FLAG)], {"generator": "b"}),
        _logged("k3", Verdict.KEEP, [], {"lang": "en"}),
        _logged("d1", Verdict.DROP, [_reason(exact, "dedup"), _reason(near, "dedup")], {"generator": "a"}),
        _logged("d2", Verdict.DROP, [_reason(ReasonCode.EMPTY, "empty")], {}),
        _logged("r1", Verdict.REVIEW, [_reason(near, "dedup", Action.REVIEW)], {"generator": ""}),
    ]


def test_stats_totals_reasons_and_checks(store: SqlStore) -> None:
    store.record_decisions("c1", _mixed_batch(), T0)
    stats = store.stats(StatsQuery())
    assert stats.totals == _counts(keep=3, drop=2, review=1)
    assert stats.totals.total == 6
    assert stats.by_reason == {"NEAR_DUPLICATE": 3, "EXACT_DUPLICATE": 1, "EMPTY": 1}
    assert stats.by_check == {"dedup": 4, "empty": 1}
    assert stats.by_group == {}  # no group_by asked for


def test_stats_by_group_counts_missing_key_under_empty_string(store: SqlStore) -> None:
    store.record_decisions("c1", _mixed_batch(), T0)
    stats = store.stats(StatsQuery(group_by="generator"))
    assert stats.by_group == {
        "a": _counts(keep=1, drop=1),
        "b": _counts(keep=1),
        # k3 and d2 lack the key; r1 has it set to "".
        "": _counts(keep=1, drop=1, review=1),
    }
    assert sum(g.total for g in stats.by_group.values()) == stats.totals.total

    by_lang = store.stats(StatsQuery(group_by="lang"))
    assert by_lang.by_group == {"en": _counts(keep=1), "": _counts(keep=2, drop=2, review=1)}

    by_unknown = store.stats(StatsQuery(group_by="nobody-sets-this"))
    assert by_unknown.by_group == {"": _counts(keep=3, drop=2, review=1)}


def test_series_buckets_by_floor_of_time(store: SqlStore) -> None:
    hour = timedelta(hours=1)
    # bucket T0: 2 keep at its very start, 1 drop just before its end
    store.record_decisions("c1", [_logged("a", Verdict.KEEP), _logged("b", Verdict.KEEP)], T0)
    store.record_decisions("c1", [_logged("c", Verdict.DROP)], T0 + hour - timedelta(milliseconds=1))
    # bucket T0+1h: 1 review
    store.record_decisions("c1", [_logged("d", Verdict.REVIEW)], T0 + hour + timedelta(minutes=30))
    # no decisions in T0+2h; bucket T0+3h: 1 keep, 1 drop
    store.record_decisions(
        "c1", [_logged("e", Verdict.KEEP), _logged("f", Verdict.DROP)], T0 + 3 * hour + timedelta(seconds=59)
    )

    stats = store.stats(StatsQuery(bucket_seconds=3600))
    assert stats.series == [
        (T0, _counts(keep=2, drop=1)),
        (T0 + hour, _counts(review=1)),
        (T0 + 3 * hour, _counts(keep=1, drop=1)),
    ]
    for start, _ in stats.series:
        assert start.utcoffset() == timedelta(0)

    # Wider buckets merge them: 2h buckets start at T0 (12:00) and T0+2h.
    wide = store.stats(StatsQuery(bucket_seconds=7200))
    assert wide.series == [
        (T0, _counts(keep=2, drop=1, review=1)),
        (T0 + 2 * hour, _counts(keep=1, drop=1)),
    ]
    assert wide.bucket_seconds == 7200


def test_stats_filters_by_collection(store: SqlStore) -> None:
    store.record_decisions("c1", _mixed_batch(), T0)
    store.record_decisions(
        "c2",
        [_logged("x", Verdict.DROP, [_reason(ReasonCode.EMPTY, "empty")], {"generator": "a"})],
        T0,
    )
    c2 = store.stats(StatsQuery(collection="c2", group_by="generator"))
    assert c2.totals == _counts(drop=1)
    assert c2.by_reason == {"EMPTY": 1}
    assert c2.by_check == {"empty": 1}
    assert c2.by_group == {"a": _counts(drop=1)}
    assert c2.series == [(T0, _counts(drop=1))]

    c1 = store.stats(StatsQuery(collection="c1"))
    assert c1.totals == _counts(keep=3, drop=2, review=1)
    assert c1.by_reason == {"NEAR_DUPLICATE": 3, "EXACT_DUPLICATE": 1, "EMPTY": 1}

    everything = store.stats(StatsQuery(group_by="generator"))
    assert everything.totals == _counts(keep=3, drop=3, review=1)
    assert everything.by_reason == {"NEAR_DUPLICATE": 3, "EXACT_DUPLICATE": 1, "EMPTY": 2}
    assert everything.by_group["a"] == _counts(keep=1, drop=2)

    assert store.stats(StatsQuery(collection="c3")).totals == _counts()


def test_stats_time_window_is_start_inclusive_end_exclusive(store: SqlStore) -> None:
    minute = timedelta(minutes=1)
    empty = _reason(ReasonCode.EMPTY, "empty")
    store.record_decisions(
        "c1", [_logged("before", Verdict.KEEP, [], {"g": "x"})], T0 - timedelta(milliseconds=1)
    )
    store.record_decisions("c1", [_logged("at-start", Verdict.DROP, [empty], {"g": "x"})], T0)
    store.record_decisions("c1", [_logged("inside", Verdict.REVIEW, [], {"g": "y"})], T0 + minute)
    store.record_decisions("c1", [_logged("at-end", Verdict.KEEP, [empty], {"g": "x"})], T0 + 2 * minute)

    stats = store.stats(StatsQuery(start=T0, end=T0 + 2 * minute, group_by="g", bucket_seconds=60))
    assert stats.totals == _counts(drop=1, review=1)
    assert stats.by_reason == {"EMPTY": 1}
    assert stats.by_check == {"empty": 1}
    assert stats.by_group == {"x": _counts(drop=1), "y": _counts(review=1)}
    assert stats.series == [(T0, _counts(drop=1)), (T0 + minute, _counts(review=1))]

    assert store.stats(StatsQuery(start=T0)).totals == _counts(keep=1, drop=1, review=1)
    assert store.stats(StatsQuery(end=T0)).totals == _counts(keep=1)
    assert store.stats(StatsQuery(start=T0, end=T0)).totals == _counts()


def test_naive_datetimes_are_taken_as_utc(store: SqlStore) -> None:
    naive = T0.replace(tzinfo=None)
    store.record_decisions("c1", [_logged("a", Verdict.KEEP)], naive)
    stats = store.stats(StatsQuery(start=naive, end=naive + timedelta(seconds=1)))
    assert stats.totals == _counts(keep=1)
    assert stats.series == [(T0, _counts(keep=1))]
    # The same instant written with another offset selects the same decision.
    plus_two = T0.astimezone(timezone(timedelta(hours=2)))
    assert plus_two.hour == 14
    assert store.stats(StatsQuery(start=plus_two)).totals == _counts(keep=1)


def test_stats_rejects_non_positive_bucket(store: SqlStore) -> None:
    with pytest.raises(InvalidArgument, match="bucket_seconds"):
        store.stats(StatsQuery(bucket_seconds=0))


def test_record_a_thousand_decisions_in_one_call(store: SqlStore) -> None:
    batch = [
        _logged(
            f"s{i}",
            [Verdict.KEEP, Verdict.DROP, Verdict.REVIEW, Verdict.KEEP][i % 4],
            [_reason(ReasonCode.NEAR_DUPLICATE, "dedup")] if i % 4 == 1 else [],
            {"generator": f"g{i % 3}", "lang": "en"},
        )
        for i in range(1000)
    ]
    store.record_decisions("big", batch, T0)
    stats = store.stats(StatsQuery(collection="big", group_by="generator"))
    assert stats.totals == _counts(keep=500, drop=250, review=250)
    assert stats.by_reason == {"NEAR_DUPLICATE": 250}
    assert sum(g.total for g in stats.by_group.values()) == 1000
    assert stats.by_group["g0"].total == 334
    assert "" not in stats.by_group
    with store.engine.connect() as conn:
        # Every metadata row points at the decision it was written for.
        rows = conn.execute(
            select(decisions_table.c.sample_id, decision_metadata_table.c.value)
            .select_from(decision_metadata_table.join(decisions_table))
            .where(decision_metadata_table.c.key == "generator")
        ).all()
    assert len(rows) == 1000
    assert all(value == f"g{int(sample_id[1:]) % 3}" for sample_id, value in rows)


def test_concurrent_record_decisions_lose_nothing(store: SqlStore) -> None:
    threads_n, batches, per_batch = 8, 10, 25
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def writer(t: int) -> None:
        try:
            start.wait()
            for b in range(batches):
                batch = [
                    _logged(
                        f"t{t}-b{b}-{i}",
                        Verdict.DROP if i % 5 == 0 else Verdict.KEEP,
                        [_reason(ReasonCode.EXACT_DUPLICATE, "dedup")] if i % 5 == 0 else [],
                        {"thread": str(t)},
                    )
                    for i in range(per_batch)
                ]
                store.record_decisions("c1", batch, T0 + timedelta(seconds=b))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []

    stats = store.stats(StatsQuery(collection="c1", group_by="thread"))
    total = threads_n * batches * per_batch
    assert stats.totals == _counts(keep=total * 4 // 5, drop=total // 5)
    assert stats.by_reason == {"EXACT_DUPLICATE": total // 5}
    assert stats.by_group == {
        str(t): _counts(keep=batches * per_batch * 4 // 5, drop=batches * per_batch // 5)
        for t in range(threads_n)
    }


# ---- backend specifics


def test_sqlite_creates_parent_directory_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "curator.db"
    store = open_store(f"sqlite:///{path}")
    try:
        assert isinstance(store, SqlStore)
        assert path.exists()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            # FULL: the database is the system of record, an acknowledged commit survives a power cut
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    finally:
        store.close()


def test_sqlite_store_survives_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'curator.db'}"
    first = open_store(url)
    first.create_collection("c1", _policy())
    first.record_decisions("c1", [_logged("a", Verdict.KEEP)], T0)
    first.close()
    second = open_store(url)
    try:
        got = second.get_collection("c1")
        assert got is not None
        assert got.policy == _policy()
        assert second.stats(StatsQuery()).totals == _counts(keep=1)
    finally:
        second.close()


def test_plain_postgresql_url_opens_a_store_with_psycopg_3(postgres_server: PostgresServer) -> None:
    """The URL form users write, CURATOR_STORE__URL=postgresql://..., works with what the extra installs."""
    url = postgres_server.create_database("curator_plain_url")
    assert url.startswith("postgresql://")
    store = SqlStore(url)
    try:
        assert store.engine.dialect.driver == "psycopg"
        store.create_collection("c1", _policy())
        store.record_decisions("c1", [_logged("a", Verdict.KEEP)], T0)
        got = store.get_collection("c1")
        assert got is not None
        assert got.policy == _policy()
        assert store.stats(StatsQuery()).totals == _counts(keep=1)
    finally:
        store.close()


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg"])
def test_missing_psycopg_names_the_install_command(monkeypatch: pytest.MonkeyPatch, scheme: str) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` raise ImportError
    with pytest.raises(RuntimeError) as err:
        SqlStore(f"{scheme}://postgres@127.0.0.1:1/none")
    assert f"run: {POSTGRES_INSTALL_HINT}" in str(err.value)


def test_missing_psycopg2_points_at_the_plain_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    with pytest.raises(RuntimeError) as err:
        SqlStore("postgresql+psycopg2://postgres@127.0.0.1:1/none")
    message = str(err.value)
    assert "'postgresql+psycopg2' (psycopg2) is not installed" in message
    assert "plain postgresql:// URL" in message
    assert POSTGRES_INSTALL_HINT in message


def test_install_hint_installs_the_postgres_extra_from_pypi() -> None:
    """The hint is a pip command for exactly what the extra declares, all of it locked from PyPI.

    ``pip install 'curator[postgres]'`` was the hint once: curator is not on PyPI under that name.
    """
    command = shlex.split(POSTGRES_INSTALL_HINT)
    assert command[:2] == ["pip", "install"]
    hinted = sorted(str(Requirement(r)) for r in command[2:])
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert hinted == sorted(str(Requirement(r)) for r in extras["postgres"])
    served = (ROOT / "requirements" / "serve.txt").read_text()
    for requirement in command[2:]:
        name = canonicalize_name(Requirement(requirement).name)
        assert name != "curator"
        assert re.search(rf"^{re.escape(name)}==", served, re.M), f"{name} is not in requirements/serve.txt"


def test_annotations_are_stored_and_counted_per_subject_and_label(store: SqlStore) -> None:
    from curator.domain import Annotation, Decision

    def mention(axis: str, group: str, span: tuple[int, int]) -> Annotation:
        return Annotation("bias", "identity_mention", axis, group, span, {"axis": axis, "group": group})

    at = datetime(2026, 1, 1, tzinfo=UTC)
    decisions = [
        LoggedDecision(Decision("a", Verdict.KEEP, annotations=[mention("gender", "women", (0, 5))]), {}),
        LoggedDecision(
            Decision(
                "b",
                Verdict.DROP,
                annotations=[mention("gender", "women", (0, 5)), mention("gender", "women", (9, 14))],
            ),
            {},
        ),
        LoggedDecision(
            Decision("c", Verdict.KEEP, annotations=[mention("religion", "buddhist", (3, 11))]), {}
        ),
        LoggedDecision(Decision("d", Verdict.KEEP), {}),
    ]
    store.record_decisions("c1", decisions, at)
    counts = store.annotation_counts(StatsQuery(collection="c1"), "bias", "identity_mention")
    assert counts == {("gender", "women"): _counts(keep=1, drop=1), ("religion", "buddhist"): _counts(keep=1)}
    assert store.annotation_counts(StatsQuery(collection="other"), "bias", "identity_mention") == {}
    with store.engine.begin() as conn:
        raw = conn.execute(
            select(decisions_table.c.annotations).where(decisions_table.c.sample_id == "c")
        ).scalar_one()
    assert json.loads(raw) == [
        {
            "check": "bias",
            "kind": "identity_mention",
            "subject": "religion",
            "label": "buddhist",
            "span": [3, 11],
            "attributes": {"axis": "religion", "group": "buddhist"},
        }
    ]
