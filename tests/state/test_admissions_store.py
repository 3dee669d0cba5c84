"""Admissions in the store: one transaction with the decisions, conditional on what the writer had seen.

Runs on both backends (the ``store`` fixture: SQLite and a real PostgreSQL).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine

from curator.domain.decision import Decision, Verdict
from curator.domain.policy import Policy
from curator.state.sql import SqlStore, metadata
from curator.state.store import Admission, LoggedDecision, LostRace, StatsQuery

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _logged(sample_id: str, verdict: Verdict = Verdict.KEEP) -> LoggedDecision:
    return LoggedDecision(Decision(sample_id, verdict, [], {}, 1), {})


def test_a_commit_writes_admissions_and_decisions_together(store: SqlStore) -> None:
    store.create_collection("c", Policy())
    assert store.admitted_seq("c") == 0
    assert store.commit("c", 0, 1, Admission(2, b"frame-1"), [_logged("a"), _logged("b")], T0) == 2
    assert store.commit("c", 2, 1, None, [_logged("x", Verdict.DROP)], T0) == 2  # decisions only
    assert store.commit("c", 2, 1, Admission(1, b"frame-2"), [_logged("d")], T0) == 3
    assert store.admissions_since("c", 0) == [(2, b"frame-1"), (3, b"frame-2")]
    assert store.admissions_since("c", 2) == [(3, b"frame-2")]
    assert store.admitted_seq("c") == 3
    assert store.stats(StatsQuery(collection="c")).totals.total == 4


def test_a_stale_writer_loses_the_race_and_writes_nothing(store: SqlStore) -> None:
    store.create_collection("c", Policy())
    store.commit("c", 0, 1, Admission(1, b"first"), [_logged("a")], T0)
    with pytest.raises(LostRace) as info:
        store.commit("c", 0, 1, Admission(1, b"stale"), [_logged("b")], T0)
    assert (info.value.seen, info.value.actual, info.value.policy_version) == (0, 1, 1)
    store.update_policy("c", Policy())
    with pytest.raises(LostRace) as info:  # the policy changed under it
        store.commit("c", 1, 1, None, [_logged("c", Verdict.DROP)], T0)
    assert info.value.policy_version == 2
    assert store.admissions_since("c", 0) == [(1, b"first")]
    assert store.stats(StatsQuery(collection="c")).totals.total == 1  # no decision of a lost race


def test_concurrent_writers_each_commit_exactly_once_in_order(store: SqlStore) -> None:
    store.create_collection("c", Policy())
    lost = 0
    lock = threading.Lock()

    def writer(name: str) -> None:
        nonlocal lost
        for k in range(10):
            while True:
                seen = store.admitted_seq("c")
                try:
                    store.commit(
                        "c", seen, 1, Admission(1, f"{name}-{k}".encode()), [_logged(f"{name}-{k}")], T0
                    )
                    break
                except LostRace:
                    with lock:
                        lost += 1

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    frames = store.admissions_since("c", 0)
    assert [seq for seq, _ in frames] == list(range(1, 31))
    assert len({frame for _, frame in frames}) == 30
    assert store.stats(StatsQuery(collection="c")).totals.keep == 30


def test_a_review_admits_in_its_own_transaction(store: SqlStore) -> None:
    from curator.domain.review import Review, ReviewAction

    store.create_collection("c", Policy())
    store.commit("c", 0, 1, None, [_logged("r", Verdict.REVIEW)], T0)
    [pending] = store.decisions_for("c", ["r"])
    with pytest.raises(LostRace):  # what the reviewer's process saw is stale: nothing is recorded
        store.record_review(
            pending.id, Review(ReviewAction.APPROVE, "a", T0, ""), lambda _: (5, 1, Admission(1, b"r"))
        )
    assert store.decisions_for("c", ["r"])[0].review_state.value == "pending"  # type: ignore[union-attr]
    store.record_review(
        pending.id, Review(ReviewAction.APPROVE, "a", T0, ""), lambda _: (0, 1, Admission(1, b"r"))
    )
    assert store.admissions_since("c", 0) == [(1, b"r")]


def test_exclusive_orders_processes_on_one_collection(store: SqlStore) -> None:
    store.create_collection("c", Policy())
    inside: list[str] = []
    with store.exclusive("c"):
        inside.append("first")
    with store.exclusive("c"):
        inside.append("second")
    assert inside == ["first", "second"]


def test_while_a_writer_holds_the_collection_exclusively_others_wait(postgres_url: str) -> None:
    """PostgreSQL only: with SQLite one process serves a database, and exclusive() has nothing to keep out."""
    engine = create_engine(postgres_url)
    metadata.drop_all(engine)
    engine.dispose()
    store = SqlStore(postgres_url)
    store.create_collection("c", Policy())
    order: list[str] = []
    holding = threading.Event()

    def other() -> None:
        holding.wait()
        try:
            store.commit("c", 0, 1, Admission(1, b"other"), [_logged("o")], T0)
            order.append("other committed")
        except LostRace:
            order.append("other lost")

    thread = threading.Thread(target=other)
    thread.start()
    with store.exclusive("c"):
        holding.set()
        thread.join(timeout=1.0)  # the other writer is kept waiting on the lock meanwhile
        order.append("holder decides")
        store.commit("c", 0, 1, Admission(1, b"holder"), [_logged("h")], T0)
    thread.join(timeout=30)
    assert order == ["holder decides", "other lost"]
    assert store.admissions_since("c", 0) == [(1, b"holder")]
    store.close()
