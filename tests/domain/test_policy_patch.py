"""Partial policy updates change what they name and nothing else."""

from __future__ import annotations

import pytest

from curator.checks import default_checks
from curator.domain.decision import Action
from curator.domain.policy import Policy, PolicyPatch, apply_patch, resolve_policy
from curator.errors import InvalidArgument

CHECKS = default_checks()


def _current() -> Policy:
    given = Policy.model_validate(
        {
            "checks": {
                "semantic": {"rules": {"SEMANTIC_DUPLICATE": {"threshold": 0.97, "review_threshold": 0.9}}}
            }
        }
    )
    return resolve_policy(given, CHECKS)


def _apply(values: dict, paths: tuple[str, ...] | None = None) -> Policy:
    return resolve_policy(apply_patch(_current(), PolicyPatch(values, paths)), CHECKS)


def test_updating_one_check_keeps_the_others() -> None:
    """The defect: updating heuristics alone reset a semantic threshold to its default."""
    updated = _apply({"checks": {"heuristics": {"enabled": False}}})
    assert updated.checks["heuristics"].enabled is False
    assert updated.checks["semantic"].rules["SEMANTIC_DUPLICATE"].threshold == 0.97


def test_a_partial_rule_keeps_its_other_fields() -> None:
    updated = _apply({"checks": {"semantic": {"rules": {"SEMANTIC_DUPLICATE": {"action": "review"}}}}})
    rule = updated.checks["semantic"].rules["SEMANTIC_DUPLICATE"]
    assert (rule.threshold, rule.action, rule.review_threshold) == (0.97, Action.REVIEW, 0.90)


def test_a_mask_changes_only_its_paths_and_resets_named_but_unset_ones() -> None:
    values = {"checks": {"semantic": {"enabled": False}, "bias": {"enabled": False}}}
    updated = _apply(values, ("checks.semantic.enabled",))
    assert updated.checks["semantic"].enabled is False
    assert updated.checks["bias"].enabled is True  # given, but not in the mask
    reset = _apply({}, ("checks.semantic.rules.SEMANTIC_DUPLICATE",))
    assert reset.checks["semantic"].rules["SEMANTIC_DUPLICATE"].threshold == 0.95


def test_star_replaces_the_whole_policy() -> None:
    updated = _apply({"checks": {"heuristics": {"enabled": False}}}, ("*",))
    assert updated.checks["semantic"].rules["SEMANTIC_DUPLICATE"].threshold == 0.95
    assert updated.checks["heuristics"].enabled is False


@pytest.mark.parametrize("path", ["checks.semantic.nope", "policy.checks", "checks..enabled", "dedup_key.x"])
def test_unknown_mask_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        _apply({}, (path,))
    assert info.value.violations[0].field == "update_mask"
    assert "checks.<check>.enabled" in info.value.violations[0].description


def test_an_out_of_range_threshold_is_reported_once_where_it_was_made() -> None:
    """The defect: NEAR_DUPLICATE threshold 2.0 also complained about lsh_threshold, never touched."""
    with pytest.raises(InvalidArgument) as info:
        resolve_policy(
            Policy.model_validate(
                {"checks": {"near_duplicate": {"rules": {"NEAR_DUPLICATE": {"threshold": 2.0}}}}}
            ),
            CHECKS,
        )
    assert [v.field for v in info.value.violations] == [
        "policy.checks[near_duplicate].rules[NEAR_DUPLICATE].threshold"
    ]


def test_bad_values_become_field_violations() -> None:
    with pytest.raises(InvalidArgument) as info:
        _apply({"checks": {"semantic": {"rules": {"SEMANTIC_DUPLICATE": {"action": "explode"}}}}})
    assert info.value.violations[0].field.startswith("policy.checks.semantic.rules")
