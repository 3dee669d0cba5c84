"""Per-check unit tests: empty, exact and near-duplicate, including dedup keys."""

from __future__ import annotations

from pathlib import Path

from curator.checks.base import CheckContext, IndexedCheck, Item
from curator.checks.empty import EmptyCheck, is_blank
from curator.checks.exact_duplicate import ExactDuplicateCheck
from curator.checks.near_duplicate import NearDuplicateCheck
from curator.domain.policy import DedupKey, Policy, resolve_policy
from curator.domain.sample import ContentShape, Sample
from curator.state.collection import CollectionState

LONG = (
    "To bake bread, mix flour, water, salt and yeast, knead the dough for ten minutes, let it rise "
    "for an hour, shape it into a loaf, let it rise again and bake it in a hot oven until golden."
)


def items(*samples: Sample, key: DedupKey = DedupKey.SAMPLE) -> list[Item]:
    return [Item.build(s, i, key) for i, s in enumerate(samples)]


def alpaca(i: str, instruction: str, output: str) -> Sample:
    return Sample(id=i, shape=ContentShape.ALPACA, instruction=instruction, output=output)


def state_with(
    tmp_path: Path, kept: list[Sample], key: DedupKey = DedupKey.SAMPLE
) -> tuple[CollectionState, Policy]:
    checks: list[IndexedCheck] = [ExactDuplicateCheck(), NearDuplicateCheck()]
    policy = resolve_policy(Policy(dedup_key=key), [EmptyCheck(), *checks])
    state = CollectionState("t", policy, tmp_path, checks)
    with state.lock:
        state.admit(items(*kept, key=key))
    return state, policy


def test_is_blank() -> None:
    assert is_blank("") and is_blank(" \t\n\u200b\u00a0") and not is_blank(" a ")


def test_empty_check_scores() -> None:
    results = EmptyCheck().evaluate_batch(items(alpaca("a", "", "  "), alpaca("b", "x", "")), None)  # type: ignore[arg-type]
    assert [r.scores["empty"] for r in results] == [1.0, 0.0]


def test_exact_duplicate_after_normalisation(tmp_path: Path) -> None:
    state, policy = state_with(tmp_path, [alpaca("k", "Say hi", "Hello, World!")])
    check = ExactDuplicateCheck()
    ctx = CheckContext(policy.check(check.name), state.index(check.name))
    same, other = check.evaluate_batch(
        items(alpaca("s", "say  HI", "hello,\u3000world!"), alpaca("o", "say hi", "hello world")), ctx
    )
    assert same.scores["exact_duplicate"] == 1.0 and same.evidence["exact_duplicate"].matched_id == "k"
    assert other.scores["exact_duplicate"] == 0.0  # punctuation still counts for exact matching


def test_near_duplicate_scores_estimated_jaccard_with_match(tmp_path: Path) -> None:
    state, policy = state_with(tmp_path, [alpaca("k", "How do I bake bread?", LONG)])
    check = NearDuplicateCheck()
    ctx = CheckContext(policy.check(check.name), state.index(check.name))
    near, far = check.evaluate_batch(
        items(
            alpaca("n", "How do I bake bread?", "Sure! Here is how: " + LONG),
            alpaca("f", "Name three rivers.", "The Nile, the Amazon and the Yangtze."),
        ),
        ctx,
    )
    assert 0.8 <= near.scores["near_duplicate"] < 1.0
    assert near.evidence["near_duplicate"].matched_id == "k"
    assert far.scores["near_duplicate"] == 0.0 and not far.evidence


def test_dedup_key_prompt_or_response(tmp_path: Path) -> None:
    kept = [alpaca("k", "Explain how to bake bread at home step by step please", LONG)]
    same_prompt = alpaca(
        "p", "Explain how to bake bread at home step by step please", "Buy a loaf at the bakery."
    )
    for key, expected in ((DedupKey.PROMPT, 1.0), (DedupKey.RESPONSE, 0.0), (DedupKey.SAMPLE, 0.0)):
        state, policy = state_with(tmp_path / key.value, kept, key)
        check = ExactDuplicateCheck()
        (result,) = check.evaluate_batch(
            items(same_prompt, key=key), CheckContext(policy.check(check.name), state.index(check.name))
        )
        assert result.scores["exact_duplicate"] == expected, key


def test_within_batch_matching_uses_pending_and_earlier_items(tmp_path: Path) -> None:
    state, policy = state_with(tmp_path, [])
    check = NearDuplicateCheck()
    first, second = items(alpaca("1", "q", LONG), alpaca("2", "q", LONG + " Enjoy."))
    (result,) = check.evaluate_batch(
        [second], CheckContext(policy.check(check.name), state.index(check.name), pending=[first])
    )
    assert result.evidence["near_duplicate"].matched_id == "1"
    assert second.batch_matches == {0}
