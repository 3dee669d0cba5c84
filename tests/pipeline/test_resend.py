"""A client that re-sends a sample the collection kept (a retry) gets KEEP again, and nothing doubles."""

from __future__ import annotations

from pathlib import Path

from curator.domain.decision import Action, Verdict
from curator.domain.reasons import ReasonCode
from curator.service import Curator
from curator.settings import Settings
from curator.state.store import DecisionQuery, StatsQuery
from tests.support.fake_encoder import checks_with
from tests.support.reviews import BASE, OTHER, sample


def _curator(data: Path) -> Curator:
    settings = Settings.load(data_dir=data)
    curator = Curator(settings, checks=checks_with(settings=settings))
    if not curator.list_collections():
        curator.create_collection("c")
    return curator


def test_a_retry_is_kept_again_without_a_second_admission_or_log_entry(tmp_path: Path) -> None:
    curator = _curator(tmp_path / "data")
    try:
        [first] = curator.filter("c", [sample("a", BASE)])
        assert first.verdict is Verdict.KEEP and not first.reasons
        again, new, copy = curator.filter(
            "c", [sample("a", BASE), sample("b", OTHER), sample("a-copy", BASE)]
        )
        assert again.verdict is Verdict.KEEP
        [flag] = again.reasons
        assert (flag.code, flag.action, flag.matched_id) == (ReasonCode.ALREADY_KEPT, Action.FLAG, "a")
        assert new.verdict is Verdict.KEEP
        assert copy.verdict is Verdict.DROP
        assert [(r.code, r.matched_id) for r in copy.reasons] == [(ReasonCode.EXACT_DUPLICATE, "a")]
        stats = curator.stats(StatsQuery(collection="c"))
        assert (stats.totals.keep, stats.totals.drop, stats.totals.total) == (2, 1, 3)
        assert curator.get_collection("c").kept_count == 2
        assert curator.index_sizes()[("c", "exact_duplicate")] == 2
        logged = curator.list_decisions(DecisionQuery(collection="c", sample_id="a")).decisions
        assert len(logged) == 1
    finally:
        curator.close()


def test_the_same_id_with_new_content_is_an_id_conflict(tmp_path: Path) -> None:
    """The defect: a reused id with other content was kept too, and matched_id became ambiguous."""
    curator = _curator(tmp_path / "data")
    try:
        curator.filter("c", [sample("a", BASE)])
        other, shouted = curator.filter("c", [sample("a", OTHER), sample("b", OTHER)])
        assert other.verdict is Verdict.DROP
        assert [(r.code, r.check, r.matched_id) for r in other.reasons] == [
            (ReasonCode.ID_CONFLICT, "identity", "a")
        ]
        assert shouted.verdict is Verdict.KEEP  # the same content under a new id is new
        [upper] = curator.filter("c", [sample("a", BASE.upper())])  # content differs, if only in case
        assert [r.code for r in upper.reasons] == [ReasonCode.ID_CONFLICT]
        assert curator.get_collection("c").kept_count == 2
        assert [
            r.decision.verdict
            for r in curator.list_decisions(DecisionQuery(collection="c", sample_id="a")).decisions
        ] == [Verdict.DROP, Verdict.DROP, Verdict.KEEP]  # newest first: two conflicts, one kept
    finally:
        curator.close()


def test_retries_are_recognised_after_a_restart_and_in_dry_runs(tmp_path: Path) -> None:
    first = _curator(tmp_path / "data")
    first.filter("c", [sample("a", BASE)])
    first.close()
    second = _curator(tmp_path / "data")
    try:
        [dry] = second.filter("c", [sample("a", BASE)], dry_run=True)
        [again] = second.filter("c", [sample("a", BASE)])
        assert [r.code for r in dry.reasons] == [r.code for r in again.reasons] == [ReasonCode.ALREADY_KEPT]
        assert second.get_collection("c").kept_count == 1
    finally:
        second.close()
