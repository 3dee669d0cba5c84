"""Pipeline semantics: ordering, short-circuit, score_all, within-request matching and its repair."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from curator.checks.base import Check, CheckContext, IndexedCheck, Item
from curator.domain.decision import Action, CheckResult, Verdict
from curator.domain.policy import Policy, Rule, resolve_policy
from curator.domain.reasons import ReasonCode
from curator.domain.sample import ContentShape, Sample
from curator.pipeline import Pipeline
from curator.state.collection import CollectionState
from tests.support.fake_encoder import FakeEncoder, checks_with
from tests.support.records import MemoryRecord

TEXT = (
    "Write a haiku about autumn leaves falling slowly in the quiet evening light while the river "
    "carries them away toward the distant sea beyond the hills and the old stone bridge."
)


class DropMarked(Check):
    """A late, test-only check that drops samples whose id starts with 'bad'."""

    name = "marked"
    cost = 200
    rules = (Rule(ReasonCode.EMPTY, score="marked", threshold=1.0, action=Action.DROP),)
    seen: list[str]

    def __init__(self) -> None:
        self.seen = []

    def evaluate_batch(self, items: Sequence[Item], ctx: CheckContext) -> list[CheckResult]:
        self.seen += [it.sample.id for it in items]
        return [CheckResult(scores={"marked": float(it.sample.id.startswith("bad"))}) for it in items]


def text(i: str, body: str) -> Sample:
    return Sample(id=i, shape=ContentShape.TEXT, text=body)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Pipeline, CollectionState, Policy, DropMarked]:
    marked = DropMarked()
    checks = [*checks_with(), marked]
    policy = resolve_policy(Policy(), checks)
    state = CollectionState("t", policy, tmp_path, [c for c in checks if isinstance(c, IndexedCheck)])
    return Pipeline(checks), state, policy, marked


def test_checks_run_cheapest_first() -> None:
    checks = Pipeline([DropMarked(), *checks_with()]).checks
    assert [c.cost for c in checks] == sorted(c.cost for c in checks)
    names = [c.name for c in checks]
    order = ["empty", "exact_duplicate", "near_duplicate", "semantic", "marked"]
    assert [n for n in names if n in order] == order


def test_dropped_samples_skip_later_checks_unless_score_all(setup) -> None:
    pipeline, state, policy, marked = setup
    pipeline.run([text("a", TEXT), text("b", TEXT)], state, policy, 1)
    assert marked.seen == ["a"]
    marked.seen.clear()
    pipeline.run([text("c", TEXT)], state, policy, 1, dry_run=True, score_all=True)
    assert marked.seen == ["c"]


def test_match_with_an_earlier_sample_that_is_dropped_later_is_repaired(setup) -> None:
    pipeline, state, policy, marked = setup
    decisions = pipeline.run([text("bad-1", TEXT), text("two", TEXT + " Really.")], state, policy, 1)
    assert [d.verdict for d in decisions] == [Verdict.DROP, Verdict.KEEP]
    assert decisions[0].reasons[0].check == "marked"
    assert not decisions[1].reasons
    assert marked.seen == ["bad-1", "two"]  # 'two' was re-run through every check
    assert state.kept_count == 1


def test_dry_run_still_matches_within_the_request(setup) -> None:
    pipeline, state, policy, _ = setup
    decisions = pipeline.run([text("1", TEXT), text("2", TEXT)], state, policy, 1, dry_run=True)
    assert [d.verdict for d in decisions] == [Verdict.KEEP, Verdict.DROP]
    assert decisions[1].reasons[0].matched_id == "1"
    assert state.kept_count == 0


def test_a_disabled_check_costs_nothing_and_enabling_it_indexes_what_was_kept(tmp_path: Path) -> None:
    """The defect: every index learned every kept sample, so the model ran for a dedup-only policy."""
    encoder = FakeEncoder()
    checks = checks_with(encoder)
    disabled = {"near_duplicate": {"enabled": False}, "semantic": {"enabled": False}}
    policy = resolve_policy(Policy.model_validate({"checks": disabled}), checks)
    kept = [text("1", TEXT), text("2", "Something else entirely: a recipe for bread with flour and yeast.")]
    record = MemoryRecord()
    state = CollectionState(
        "t", policy, tmp_path, [c for c in checks if isinstance(c, IndexedCheck)], record=record
    )
    pipeline = Pipeline(checks)
    pipeline.run(kept, state, policy, 1)
    (d,) = pipeline.run([text("3", TEXT + " Really.")], state, policy, 1)
    record.keep([*kept, text("3", TEXT + " Really.")])  # what the decision log would hold
    assert d.verdict is Verdict.KEEP and "near_duplicate" not in d.scores
    assert encoder.calls == []  # the embedding model never ran
    assert not state.has_index("near_duplicate") and not state.has_index("semantic")

    enabled = resolve_policy(Policy(), checks)
    record.policy_version = 2  # the store's UpdatePolicy
    progress: list[tuple[int, int]] = []
    state.set_policy(enabled, progress=lambda done, total: progress.append((done, total)))
    assert len(state.index("near_duplicate")) == len(state.index("semantic")) == 3
    assert progress[-1] == (3, 3)
    (near,) = pipeline.run([text("4", TEXT + " Truly.")], state, enabled, 2)
    assert [r.code for r in near.reasons] == [ReasonCode.NEAR_DUPLICATE]
    state.close()

    # The computed features were saved: a restart recomputes nothing.
    again = FakeEncoder()
    checks2 = checks_with(again)
    restarted = CollectionState(
        "t",
        enabled,
        tmp_path,
        [c for c in checks2 if isinstance(c, IndexedCheck)],
        record=record,
        policy_version=2,
    )
    assert len(restarted.index("semantic")) == 3 and again.calls == []
    restarted.close()
