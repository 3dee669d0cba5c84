"""Policies: defaults filled in, bad values rejected with fixes, thresholds applied without re-scoring."""

from __future__ import annotations

import pytest

from curator.checks import default_checks
from curator.domain.decision import Action, CheckResult, Evidence
from curator.domain.policy import Policy, RulePolicy, reasons_for, resolve_policy, upgrade_policy
from curator.domain.reasons import DESCRIPTIONS, ReasonCode
from curator.errors import InvalidArgument


def test_resolve_fills_every_check_and_rule() -> None:
    policy = resolve_policy(Policy(), default_checks())
    assert {"empty", "exact_duplicate", "near_duplicate", "semantic", "bias"} <= set(policy.checks)
    semantic = policy.checks["semantic"].rules["SEMANTIC_DUPLICATE"]
    assert (semantic.threshold, semantic.review_threshold) == (0.95, 0.90)
    near = policy.checks["near_duplicate"]
    assert near.rules["NEAR_DUPLICATE"].threshold == 0.8
    assert near.params == {"num_perm": 128, "shingle_size": 3, "lsh_threshold": 0.8, "sketch_size": 256}


def test_index_threshold_follows_the_rule_threshold_at_creation() -> None:
    given = Policy.model_validate(
        {"checks": {"near_duplicate": {"rules": {"NEAR_DUPLICATE": {"threshold": 0.6}}}}}
    )
    assert resolve_policy(given, default_checks()).checks["near_duplicate"].params["lsh_threshold"] == 0.6


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"checks": {"nope": {}}}, "policy.checks[nope]", "unknown check"),
        (
            {"checks": {"near_duplicate": {"rules": {"NEAR_DUPLICATE": {"threshold": 2}}}}},
            "policy.checks[near_duplicate].rules[NEAR_DUPLICATE].threshold",
            "threshold must be in [0.0, 1.0]",
        ),
        (
            {
                "checks": {
                    "near_duplicate": {
                        "rules": {"NEAR_DUPLICATE": {"threshold": 0.8, "review_threshold": 0.9}}
                    }
                }
            },
            "policy.checks[near_duplicate].rules[NEAR_DUPLICATE].review_threshold",
            "review_threshold must be below threshold",
        ),
        (
            {"checks": {"near_duplicate": {"params": {"num_perm": 3}}}},
            "policy.checks[near_duplicate].params",
            "num_perm",
        ),
        (
            {"checks": {"near_duplicate": {"params": {"bands": 3}}}},
            "policy.checks[near_duplicate].params[bands]",
            "unknown",
        ),
        (
            {"checks": {"empty": {"rules": {"NEAR_DUPLICATE": {"threshold": 1}}}}},
            "policy.checks[empty].rules[NEAR_DUPLICATE]",
            "unknown rule",
        ),
    ],
)
def test_bad_policies_are_rejected_with_the_field(raw: dict, field: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        resolve_policy(Policy.model_validate(raw), default_checks())
    assert any(v.field == field and message in v.description for v in info.value.violations), (
        info.value.violations
    )


def test_rethreshold_reuses_the_same_scores() -> None:
    (near,) = [c for c in default_checks() if c.name == "near_duplicate"]
    result = CheckResult(scores={"near_duplicate": 0.85}, evidence={"near_duplicate": Evidence("m1")})
    policy = resolve_policy(Policy(), default_checks()).checks["near_duplicate"]
    (reason,) = reasons_for("near_duplicate", near.rules, policy, result)
    assert (reason.code, reason.action, reason.matched_id, reason.threshold) == (
        "NEAR_DUPLICATE",
        Action.DROP,
        "m1",
        0.8,
    )
    policy.rules["NEAR_DUPLICATE"] = RulePolicy(threshold=0.9, review_threshold=0.8)
    (reason,) = reasons_for("near_duplicate", near.rules, policy, result)
    assert (reason.action, reason.threshold) == (Action.REVIEW, 0.8)
    policy.rules["NEAR_DUPLICATE"] = RulePolicy(threshold=0.9)
    assert reasons_for("near_duplicate", near.rules, policy, result) == []


def test_every_reason_code_is_upper_snake_and_documented() -> None:
    with open("docs/reason-codes.md") as f:
        doc = f.read()
    for code in ReasonCode:
        assert code.value == code.name and code.value.isupper()
        assert code in DESCRIPTIONS
        assert f"`{code.value}`" in doc
    for check in default_checks():
        for rule in check.rules:
            assert rule.code in ReasonCode


def test_a_stored_policy_is_brought_to_the_checks_of_this_version() -> None:
    """Checks a newer curator added get their defaults; what this version does not know is dropped."""
    checks = default_checks()
    stored = Policy.model_validate(
        {
            "checks": {
                "near_duplicate": {
                    "rules": {
                        "NEAR_DUPLICATE": {"threshold": 0.9, "action": "drop"},
                        "RETIRED_RULE": {"threshold": 0.5, "action": "drop"},
                    },
                    "params": {"lsh_threshold": 0.7, "retired_param": 3},
                },
                "retired_check": {"enabled": True},
            }
        }
    )
    upgraded = upgrade_policy(stored, checks)
    assert set(upgraded.checks) == {c.name for c in checks}
    near = upgraded.check("near_duplicate")
    assert near.rules["NEAR_DUPLICATE"].threshold == 0.9 and "RETIRED_RULE" not in near.rules
    assert near.params["lsh_threshold"] == 0.7 and "retired_param" not in near.params
    assert upgraded.check("semantic") == resolve_policy(Policy(), checks).check("semantic")
    with pytest.raises(InvalidArgument):  # a policy given by a caller is still checked strictly
        resolve_policy(stored, checks)
