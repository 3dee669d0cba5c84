"""Sending the same samples again changes nothing: no second pending review, no second drop in the
stats, no second admission, even when the retry races its original."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from curator.domain.decision import Verdict
from curator.domain.policy import PolicyPatch
from curator.domain.reasons import ReasonCode
from curator.domain.review import ReviewAction, ReviewState
from curator.errors import FailedPrecondition
from curator.service import Curator
from curator.settings import Settings
from curator.state.store import DecisionQuery, StatsQuery
from tests.support.reviews import BASE, OTHER, VARIANT, review_policy, sample


@pytest.fixture
def curator(tmp_path: Path) -> Curator:
    c = Curator(Settings.load(data_dir=tmp_path / "data"))
    c.create_collection("c", review_policy())
    yield c
    c.close()


def _run(curator: Curator) -> list[tuple[str, Verdict]]:
    batch = [sample("a", BASE), sample("v", VARIANT), sample("copy", BASE), sample("o", OTHER)]
    return [(d.sample_id, d.verdict) for d in curator.filter("c", batch)]


def test_rerunning_a_file_does_not_double_the_review_queue_or_the_drops(curator: Curator) -> None:
    """The defect: running alpaca_5000.json twice took pending reviews from 63 to 126."""
    first = _run(curator)
    assert first == [("a", Verdict.KEEP), ("v", Verdict.REVIEW), ("copy", Verdict.DROP), ("o", Verdict.KEEP)]
    before = curator.stats(StatsQuery(collection="c"))
    again = curator.filter(
        "c", [sample("a", BASE), sample("v", VARIANT), sample("copy", BASE), sample("o", OTHER)]
    )
    assert [(d.sample_id, d.verdict) for d in again] == first  # the same answers
    assert [r.code for r in again[1].reasons][-1] is ReasonCode.ALREADY_DECIDED
    assert [r.code for r in again[2].reasons] == [ReasonCode.EXACT_DUPLICATE, ReasonCode.ALREADY_DECIDED]
    after = curator.stats(StatsQuery(collection="c"))
    assert after.totals == before.totals and after.reviews == before.reviews  # nothing logged twice
    assert after.reviews.pending == 1


def test_a_rejected_review_stays_rejected_and_a_policy_change_reconsiders_drops(curator: Curator) -> None:
    _run(curator)
    [pending] = curator.list_decisions(
        DecisionQuery(collection="c", review_state=ReviewState.PENDING)
    ).decisions
    curator.review_decision(pending.id, ReviewAction.REJECT, "alice")
    [again] = curator.filter("c", [sample("v", VARIANT)])
    assert again.verdict is Verdict.DROP and "rejected on review by alice" in again.reasons[-1].message
    # A new policy version: the dropped copy is decided afresh (and logged), the rejection stands.
    disable = {"checks": {"exact_duplicate": {"enabled": False}, "near_duplicate": {"enabled": False}}}
    curator.update_policy("c", PolicyPatch(disable))
    copy, variant = curator.filter("c", [sample("copy", BASE), sample("v", VARIANT)])
    assert copy.verdict is Verdict.KEEP and not copy.reasons
    assert variant.verdict is Verdict.DROP


def test_approving_a_sample_the_collection_already_holds_does_not_admit_it_twice(curator: Curator) -> None:
    """The defect: approving both pending copies of line-4408 raised kept from 4,927 to 4,929."""
    curator.filter("c", [sample("a", BASE), sample("v", VARIANT)])
    # The same id with other content is evaluated afresh (it was never kept) and waits for review too.
    [second] = curator.filter("c", [sample("v", VARIANT.replace("coast", "sea"))])
    assert second.verdict is Verdict.REVIEW
    pending = curator.list_decisions(
        DecisionQuery(collection="c", review_state=ReviewState.PENDING)
    ).decisions
    first, other = sorted(pending, key=lambda r: r.id)
    curator.review_decision(first.id, ReviewAction.APPROVE, "alice")
    assert curator.get_collection("c").kept_count == 2
    with pytest.raises(FailedPrecondition, match=r"already keeps a sample with id 'v'.*reject it instead"):
        curator.review_decision(other.id, ReviewAction.APPROVE, "bob")
    assert curator.get_collection("c").kept_count == 2
    assert curator.get_decision(other.id).review_state is ReviewState.PENDING  # nothing half-applied
    curator.review_decision(other.id, ReviewAction.REJECT, "bob")


def test_a_retry_racing_its_original_is_kept_once_and_logged_once(curator: Curator) -> None:
    """The defect: a retry that raced its own original got DROP "exact duplicate of" itself, and a retried
    DROP was logged again, so GetStats counted it twice."""
    curator.filter("c", [sample("a", BASE)])
    results: list[list[tuple[Verdict, list[str]]]] = []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        decisions = curator.filter("c", [sample("x", OTHER), sample("copy", BASE)])
        results.append([(d.verdict, [str(r.code) for r in d.reasons]) for d in decisions])

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    x_outcomes = sorted(str(r[0]) for r in results)
    assert x_outcomes.count(str((Verdict.KEEP, []))) == 1
    assert x_outcomes.count(str((Verdict.KEEP, ["ALREADY_KEPT"]))) == 7
    assert all(
        r[1] in [(Verdict.DROP, ["EXACT_DUPLICATE"]), (Verdict.DROP, ["EXACT_DUPLICATE", "ALREADY_DECIDED"])]
        for r in results
    )
    stats = curator.stats(StatsQuery(collection="c"))
    assert (stats.totals.keep, stats.totals.drop) == (2, 1)
