"""Curator (curator/service.py): decision queries and reviews; an approval admits and survives restarts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from curator.domain.decision import Verdict
from curator.domain.policy import CheckPolicy, RulePolicy
from curator.domain.review import ReviewAction, ReviewState
from curator.errors import FailedPrecondition, InvalidArgument, NotFound
from curator.service import Curator
from curator.settings import Settings
from curator.state.store import DecisionQuery, StatsQuery
from tests.support.fake_encoder import checks_with
from tests.support.reviews import BASE, OTHER, VARIANT, review_policy, sample


def _curator(data: Path) -> Curator:
    settings = Settings.load(data_dir=data)
    return Curator(settings, checks=checks_with(settings=settings))


@pytest.fixture
def curator(tmp_path: Path) -> Iterator[Curator]:
    c = _curator(tmp_path / "data")
    c.create_collection("c", review_policy())
    yield c
    c.close()


def _pending(curator: Curator) -> int:
    [record] = curator.list_decisions(
        DecisionQuery(collection="c", review_state=ReviewState.PENDING)
    ).decisions
    return record.id


def test_review_band_decisions_are_listed_with_the_sample_they_matched(curator: Curator) -> None:
    d = curator.filter("c", [sample("a", BASE, generator="g1"), sample("b", VARIANT, generator="g2")])
    assert [x.verdict for x in d] == [Verdict.KEEP, Verdict.REVIEW]
    page = curator.list_decisions(DecisionQuery(collection="c", verdict=Verdict.REVIEW))
    [record] = page.decisions
    assert record.decision.reasons[0].matched_id == "a"
    assert record.sample is not None and record.sample.text == VARIANT
    assert record.metadata == {"generator": "g2"}
    assert page.matched[("c", "a")].text == BASE
    assert page.next_page_token == ""


def test_approving_admits_the_sample_into_the_indexes(curator: Curator) -> None:
    curator.filter("c", [sample("a", BASE), sample("b", VARIANT)])
    reviewed = curator.review_decision(_pending(curator), ReviewAction.APPROVE, " alice ", "looks new")
    assert reviewed.review_state is ReviewState.APPROVED
    assert reviewed.review is not None and reviewed.review.reviewer == "alice"
    assert curator.get_collection("c").kept_count == 2
    # An exact copy of the approved sample is now a duplicate of it, not a near-duplicate of "a".
    [copy] = curator.filter("c", [sample("b2", VARIANT)])
    assert copy.verdict is Verdict.DROP
    assert [(r.code, r.matched_id) for r in copy.reasons] == [("EXACT_DUPLICATE", "b")]
    stats = curator.stats(StatsQuery(collection="c"))
    assert (stats.reviews.pending, stats.reviews.approved, stats.reviews.rejected) == (0, 1, 0)


def test_rejecting_admits_nothing(curator: Curator) -> None:
    curator.filter("c", [sample("a", BASE), sample("b", VARIANT)])
    curator.review_decision(_pending(curator), ReviewAction.REJECT, "bob")
    assert curator.get_collection("c").kept_count == 1
    [again] = curator.filter("c", [sample("b2", VARIANT)])
    assert again.verdict is Verdict.REVIEW and again.reasons[0].matched_id == "a"


def test_a_decision_is_reviewed_once(curator: Curator) -> None:
    curator.filter("c", [sample("a", BASE), sample("b", VARIANT)])
    decision_id = _pending(curator)
    curator.review_decision(decision_id, ReviewAction.APPROVE, "alice")
    with pytest.raises(FailedPrecondition, match="already reviewed by alice"):
        curator.review_decision(decision_id, ReviewAction.REJECT, "bob")
    [keep] = curator.list_decisions(DecisionQuery(collection="c", verdict=Verdict.KEEP)).decisions
    with pytest.raises(FailedPrecondition, match="only REVIEW decisions"):
        curator.review_decision(keep.id, ReviewAction.APPROVE, "alice")
    with pytest.raises(NotFound):
        curator.review_decision(99_999, ReviewAction.APPROVE, "alice")


def test_reviews_need_a_reviewer_and_a_short_note(curator: Curator) -> None:
    curator.filter("c", [sample("a", BASE), sample("b", VARIANT)])
    with pytest.raises(InvalidArgument) as err:
        curator.review_decision(_pending(curator), ReviewAction.APPROVE, "  ", "x" * 5000)
    assert {v.field for v in err.value.violations} == {"reviewer", "note"}


def test_an_approval_survives_a_restart(tmp_path: Path) -> None:
    first = _curator(tmp_path / "data")
    first.create_collection("c", review_policy())
    first.filter("c", [sample("a", BASE), sample("b", VARIANT)])
    first.review_decision(_pending(first), ReviewAction.APPROVE, "alice")
    first.close()
    second = _curator(tmp_path / "data")
    try:
        assert second.get_collection("c").kept_count == 2
        [copy] = second.filter("c", [sample("b2", VARIANT)])
        assert [(r.code, r.matched_id) for r in copy.reasons] == [("EXACT_DUPLICATE", "b")]
        [record] = second.list_decisions(DecisionQuery(collection="c", sample_id="b")).decisions
        assert record.review is not None and record.review.reviewer == "alice"
    finally:
        second.close()


def test_pages_chain_with_tokens_and_bad_queries_name_the_field(curator: Curator) -> None:
    curator.filter("c", [sample(f"s{i}", f"{OTHER} variant number {i} " * (i + 1)) for i in range(5)])
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = curator.list_decisions(DecisionQuery(collection="c", limit=2), token)
        seen += [r.decision.sample_id for r in page.decisions]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["s4", "s3", "s2", "s1", "s0"]
    with pytest.raises(InvalidArgument) as err:
        curator.list_decisions(DecisionQuery(collection="nope", limit=5000, metadata_value="x"), "garbage")
    assert {v.field for v in err.value.violations} == {
        "page_size",
        "metadata_value",
        "page_token",
    }
    with pytest.raises(NotFound):  # a well-formed query naming no collection that exists
        curator.list_decisions(DecisionQuery(collection="nope"))


def test_rejecting_a_review_never_loads_the_embedding_model(tmp_path: Path) -> None:
    """The defect: each in-process `curator review` loaded the embedding model, even to reject."""
    data = tmp_path / "data"
    first = _curator(data)  # the semantic check on, with a stand-in model
    policy = review_policy()
    policy.checks["semantic"] = CheckPolicy(rules={"SEMANTIC_DUPLICATE": RulePolicy(threshold=1.0)})
    first.create_collection("c", policy)
    first.filter("c", [sample("a", BASE), sample("v", VARIANT)])
    first.close()
    missing = Settings.load(data_dir=data, embeddings={"model_path": tmp_path / "no-model", "preload": False})
    later = Curator(missing)  # the real checks: loading the model would fail
    try:
        assert later.get_collection("c").policy.check("semantic").enabled
        reviewed = later.review_decision(_pending(later), ReviewAction.REJECT, "alice")
        assert reviewed.review_state is ReviewState.REJECTED
        stats = later.stats(StatsQuery(collection="c"))  # the collection loads, with its index, no model
        assert stats.reviews.rejected == 1 and later.index_sizes()[("c", "semantic")] == 1
    finally:
        later.close()
