"""Decision queries and reviews in the store, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from curator.domain import Action, Decision, Policy, Reason, ReasonCode, Verdict
from curator.domain.review import Review, ReviewAction, ReviewState
from curator.domain.sample import ContentShape, Message, Sample
from curator.errors import FailedPrecondition, NotFound
from curator.state.sql import SqlStore
from curator.state.store import DecisionQuery, DecisionRecord, LoggedDecision, StatsQuery

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _text(sample_id: str, body: str) -> Sample:
    return Sample(id=sample_id, shape=ContentShape.TEXT, text=body)


def _logged(
    sample: Sample, verdict: Verdict, reasons: list[Reason] | None = None, **metadata: str
) -> LoggedDecision:
    decision = Decision(sample.id, verdict, reasons or [], {"near_duplicate": 0.7}, 1)
    return LoggedDecision(decision, dict(metadata), sample)


def _near(matched: str, action: Action = Action.REVIEW) -> Reason:
    return Reason(ReasonCode.NEAR_DUPLICATE, "near_duplicate", "near copy", 0.7, 0.5, action, matched)


@pytest.fixture
def seeded(store: SqlStore) -> SqlStore:
    store.create_collection("c", Policy())
    store.create_collection("other", Policy())
    store.record_decisions(
        "c",
        [
            _logged(_text("a", "alpha text"), Verdict.KEEP, generator="g1", template="t1"),
            _logged(_text("b", "alpha text!"), Verdict.REVIEW, [_near("a")], generator="g2"),
            _logged(
                _text("c", "alpha"),
                Verdict.DROP,
                [Reason(ReasonCode.EXACT_DUPLICATE, "exact_duplicate", "copy", 1.0, 1.0, Action.DROP, "a")],
                generator="g1",
            ),
        ],
        T0,
    )
    chat = Sample(
        id="d",
        shape=ContentShape.CHAT,
        messages=(Message("user", "hi"), Message("assistant", "hello")),
        context=("a source",),
    )
    store.record_decisions(
        "c", [_logged(chat, Verdict.REVIEW, [_near("a")], generator="g1")], T0 + timedelta(hours=2)
    )
    store.record_decisions("other", [_logged(_text("x", "x"), Verdict.REVIEW, [_near("y")])], T0)
    return store


def _ids(records: list[DecisionRecord]) -> list[str]:
    return [r.decision.sample_id for r in records]


def test_decisions_come_back_newest_first_with_their_sample_reasons_and_metadata(seeded: SqlStore) -> None:
    records = seeded.list_decisions(DecisionQuery(collection="c"))
    assert _ids(records) == ["d", "c", "b", "a"]
    d, c = records[0], records[1]
    assert d.sample == Sample(
        id="d",
        shape=ContentShape.CHAT,
        messages=(Message("user", "hi"), Message("assistant", "hello")),
        context=("a source",),
        metadata={"generator": "g1"},
    )
    assert d.decided_at == T0 + timedelta(hours=2)
    assert d.review_state is ReviewState.PENDING and d.review is None
    assert c.review_state is None  # only REVIEW decisions have one
    [reason] = c.decision.reasons
    assert (reason.code, reason.check, reason.matched_id, reason.action) == (
        ReasonCode.EXACT_DUPLICATE,
        "exact_duplicate",
        "a",
        Action.DROP,
    )
    assert c.metadata == {"generator": "g1"}
    assert seeded.get_decision(c.id) == c
    assert seeded.get_decision(10_000) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (DecisionQuery(collection="c", verdict=Verdict.REVIEW), ["d", "b"]),
        (DecisionQuery(collection="c", reason="EXACT_DUPLICATE"), ["c"]),
        (DecisionQuery(collection="c", check="near_duplicate"), ["d", "b"]),
        (DecisionQuery(collection="c", check="near_duplicate", reason="EXACT_DUPLICATE"), []),
        (DecisionQuery(collection="c", metadata_key="generator", metadata_value="g1"), ["d", "c", "a"]),
        (DecisionQuery(collection="c", metadata_key="template"), ["a"]),
        (DecisionQuery(collection="c", review_state=ReviewState.PENDING), ["d", "b"]),
        (DecisionQuery(collection="c", sample_id="b"), ["b"]),
        (DecisionQuery(collection="c", start=T0 + timedelta(hours=1)), ["d"]),
        (DecisionQuery(collection="c", end=T0 + timedelta(hours=1)), ["c", "b", "a"]),
        (DecisionQuery(verdict=Verdict.REVIEW), ["x", "d", "b"]),  # in log order
        (DecisionQuery(collection="c", limit=2), ["d", "c"]),
    ],
)
def test_every_filter_narrows_the_list(seeded: SqlStore, query: DecisionQuery, expected: list[str]) -> None:
    assert _ids(seeded.list_decisions(query)) == expected


def test_keyset_pagination_walks_every_decision_once(seeded: SqlStore) -> None:
    seen: list[str] = []
    before = None
    while True:
        page = seeded.list_decisions(DecisionQuery(collection="c", limit=1, before_id=before))
        if not page:
            break
        seen += _ids(page)
        before = page[-1].id
    assert seen == ["d", "c", "b", "a"]


def test_review_is_recorded_with_who_and_when_and_applied_once(seeded: SqlStore) -> None:
    [b] = seeded.list_decisions(DecisionQuery(collection="c", sample_id="b"))
    applied: list[DecisionRecord] = []
    at = T0 + timedelta(days=1)
    reviewed = seeded.record_review(b.id, Review(ReviewAction.APPROVE, "alice", at, "fine"), applied.append)
    assert [r.id for r in applied] == [b.id]
    assert reviewed.review_state is ReviewState.APPROVED
    again = seeded.get_decision(b.id)
    assert again is not None
    assert again.review == Review(ReviewAction.APPROVE, "alice", at, "fine")
    assert again.review_state is ReviewState.APPROVED
    with pytest.raises(FailedPrecondition, match="already reviewed by alice"):
        seeded.record_review(b.id, Review(ReviewAction.REJECT, "bob", at, ""), applied.append)
    assert len(applied) == 1
    stats = seeded.stats(StatsQuery(collection="c"))
    assert (stats.reviews.pending, stats.reviews.approved, stats.reviews.rejected) == (1, 1, 0)
    assert seeded.review_counts(ReviewState.PENDING) == {"c": 1, "other": 1}
    assert seeded.review_counts(ReviewState.APPROVED) == {"c": 1}


def test_only_pending_review_decisions_can_be_reviewed(seeded: SqlStore) -> None:
    [c] = seeded.list_decisions(DecisionQuery(collection="c", sample_id="c"))
    review = Review(ReviewAction.APPROVE, "alice", T0, "")
    with pytest.raises(FailedPrecondition, match="is DROP; only REVIEW"):
        seeded.record_review(c.id, review, lambda _: None)
    with pytest.raises(NotFound):
        seeded.record_review(10_000, review, lambda _: None)


def test_a_failing_apply_leaves_the_decision_pending(seeded: SqlStore) -> None:
    [b] = seeded.list_decisions(DecisionQuery(collection="c", sample_id="b"))

    def fail(_: DecisionRecord) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        seeded.record_review(b.id, Review(ReviewAction.APPROVE, "alice", T0, ""), fail)
    again = seeded.get_decision(b.id)
    assert again is not None and again.review_state is ReviewState.PENDING and again.review is None


def test_kept_samples_include_approved_reviews_and_prefer_the_latest(seeded: SqlStore) -> None:
    assert set(seeded.kept_samples("c", ["a", "b", "c"])) == {"a"}
    [b] = seeded.list_decisions(DecisionQuery(collection="c", sample_id="b"))
    seeded.record_review(b.id, Review(ReviewAction.APPROVE, "alice", T0, ""), lambda _: None)
    kept = seeded.kept_samples("c", ["a", "b"])
    assert kept["b"].text == "alpha text!"
    seeded.record_decisions(
        "c", [_logged(_text("a", "alpha, resent"), Verdict.KEEP)], T0 + timedelta(hours=3)
    )
    assert seeded.kept_samples("c", ["a"])["a"].text == "alpha, resent"
    assert seeded.kept_samples("other", ["a"]) == {}


def test_a_log_from_before_reviews_gains_the_columns_and_keeps_its_decisions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:  # the decisions table as the first release created it
        conn.execute(
            text(
                "CREATE TABLE decisions (id INTEGER PRIMARY KEY, ts_ms BIGINT NOT NULL, "
                "collection VARCHAR(64) NOT NULL, sample_id TEXT NOT NULL, verdict VARCHAR(8) NOT NULL, "
                "policy_version INTEGER NOT NULL, reasons TEXT NOT NULL, scores TEXT NOT NULL, "
                "metadata TEXT NOT NULL, annotations TEXT NOT NULL DEFAULT '[]')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO decisions (ts_ms, collection, sample_id, verdict, policy_version, reasons, "
                "scores, metadata) VALUES (0, 'c', 's1', 'review', 1, '[]', '{}', '{}'), "
                "(0, 'c', 's2', 'keep', 1, '[]', '{}', '{}')"
            )
        )
    engine.dispose()
    store = SqlStore(url)
    try:
        indexes = {i["name"] for i in inspect(store.engine).get_indexes("decisions")}
        assert "ix_decisions_review_state_collection" in indexes
        records = store.list_decisions(DecisionQuery(collection="c"))
        assert [(r.decision.sample_id, r.review_state, r.sample) for r in records] == [
            ("s2", None, None),
            ("s1", ReviewState.PENDING, None),
        ]
    finally:
        store.close()
