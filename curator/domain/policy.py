"""Policies: per collection, per check, which thresholds turn scores into which actions.

Checks only measure. A :class:`Rule` is a check's static declaration of one
reason it can raise (which score, compared which way, default threshold and
action). A :class:`Policy` is what a collection chose for those rules. Changing
a threshold therefore never needs a re-score.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from curator.domain.decision import Action, CheckResult, Reason
from curator.domain.reasons import ReasonCode
from curator.errors import FieldViolation, InvalidArgument

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


class DedupKey(StrEnum):
    SAMPLE = "sample"  # everything the sample says
    PROMPT = "prompt"
    RESPONSE = "response"


@dataclass(frozen=True, slots=True)
class Rule:
    """A reason a check can raise: ``score`` at or beyond ``threshold`` → ``action``.

    ``higher_is_worse`` says which side of the threshold is bad. ``message`` is a
    format string over ``score``, ``threshold``, ``matched_id`` and ``detail``.
    """

    code: ReasonCode
    score: str
    threshold: float
    action: Action = Action.DROP
    higher_is_worse: bool = True
    low: float = 0.0
    high: float = 1.0
    message: str = "{score:.3f} crosses {threshold:.3f}"
    review_threshold: float | None = None  # default REVIEW band, if the rule has one

    def crosses(self, value: float, threshold: float) -> bool:
        return value >= threshold if self.higher_is_worse else value <= threshold


class RulePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float
    action: Action = Action.DROP
    # Scores between review_threshold and threshold get REVIEW; None = no band.
    review_threshold: float | None = None


class CheckPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    rules: dict[str, RulePolicy] = Field(default_factory=dict)
    params: dict[str, float] = Field(default_factory=dict)


class Policy(BaseModel):
    """A collection's policy. After :func:`resolve_policy` every check and rule is present."""

    model_config = ConfigDict(extra="forbid")

    dedup_key: DedupKey = DedupKey.SAMPLE
    checks: dict[str, CheckPolicy] = Field(default_factory=dict)

    def check(self, name: str) -> CheckPolicy:
        return self.checks.get(name) or CheckPolicy()


class PolicyTarget:
    """What :func:`resolve_policy` needs to know about a check (implemented by checks)."""

    name: ClassVar[str]
    rules: ClassVar[tuple[Rule, ...]]
    # Whether a policy that does not mention the check runs it (opt-in checks set False).
    enabled_by_default: ClassVar[bool] = True

    def default_params(self) -> dict[str, float]:
        return {}

    def finalize_params(self, params: dict[str, float], rules: Mapping[str, RulePolicy]) -> dict[str, float]:
        """Derive parameters that default from the chosen rules (e.g. an index threshold)."""
        return params

    def validate_params(self, params: Mapping[str, float]) -> list[str]:
        """Problems with ``params``, each phrased as how to fix it; empty when fine."""
        return []


def upgrade_policy(policy: Policy, targets: Iterable[PolicyTarget]) -> Policy:
    """A stored policy brought to the checks of this version: checks, rules and parameters it does not
    mention get their defaults, and those this version no longer has are dropped (a policy saved by an
    older or newer curator still loads)."""
    by_name = {t.name: t for t in targets}
    kept: dict[str, CheckPolicy] = {}
    for name, given in policy.checks.items():
        target = by_name.get(name)
        if target is None:
            continue
        codes = {str(r.code) for r in target.rules}
        known_params = set(target.default_params())
        kept[name] = CheckPolicy(
            enabled=given.enabled,
            rules={code: rule for code, rule in given.rules.items() if code in codes},
            params={key: value for key, value in given.params.items() if key in known_params},
        )
    return resolve_policy(Policy(dedup_key=policy.dedup_key, checks=kept), by_name.values())


def resolve_policy(policy: Policy, targets: Iterable[PolicyTarget]) -> Policy:
    """Fill in defaults for every check and rule, and reject anything unknown or out of range."""
    by_name = {t.name: t for t in targets}
    violations: list[FieldViolation] = []
    for name in policy.checks:
        if name not in by_name:
            violations.append(
                FieldViolation(f"policy.checks[{name}]", f"unknown check; known checks are {sorted(by_name)}")
            )
    resolved: dict[str, CheckPolicy] = {}
    for name, target in by_name.items():
        given = policy.checks.get(name) or CheckPolicy(enabled=target.enabled_by_default)
        path = f"policy.checks[{name}]"
        known_codes = {str(r.code): r for r in target.rules}
        for code in given.rules:
            if code not in known_codes:
                violations.append(
                    FieldViolation(f"{path}.rules[{code}]", f"unknown rule; {name} has {sorted(known_codes)}")
                )
        rules: dict[str, RulePolicy] = {}
        for code, rule in known_codes.items():
            chosen = given.rules.get(code) or RulePolicy(
                threshold=rule.threshold, action=rule.action, review_threshold=rule.review_threshold
            )
            violations += _check_rule(f"{path}.rules[{code}]", rule, chosen)
            rules[code] = chosen
        params = {**target.default_params(), **given.params}
        unknown = set(given.params) - set(target.default_params())
        for key in sorted(unknown):
            violations.append(
                FieldViolation(
                    f"{path}.params[{key}]",
                    f"unknown parameter; {name} takes {sorted(target.default_params())}",
                )
            )
        params = target.finalize_params(params, rules)
        violations += [FieldViolation(f"{path}.params", msg) for msg in target.validate_params(params)]
        resolved[name] = CheckPolicy(enabled=given.enabled, rules=rules, params=params)
    if violations:
        raise InvalidArgument(violations)
    return Policy(dedup_key=policy.dedup_key, checks=resolved)


def _check_rule(path: str, rule: Rule, chosen: RulePolicy) -> list[FieldViolation]:
    out = []
    if not rule.low <= chosen.threshold <= rule.high:
        out.append(FieldViolation(f"{path}.threshold", f"threshold must be in [{rule.low}, {rule.high}]"))
    band = chosen.review_threshold
    if band is not None:
        if not rule.low <= band <= rule.high:
            out.append(
                FieldViolation(
                    f"{path}.review_threshold", f"review_threshold must be in [{rule.low}, {rule.high}]"
                )
            )
        elif rule.higher_is_worse and band >= chosen.threshold:
            out.append(FieldViolation(f"{path}.review_threshold", "review_threshold must be below threshold"))
        elif not rule.higher_is_worse and band <= chosen.threshold:
            out.append(FieldViolation(f"{path}.review_threshold", "review_threshold must be above threshold"))
    return out


def reasons_for(check: str, rules: Iterable[Rule], policy: CheckPolicy, result: CheckResult) -> list[Reason]:
    """Apply a check's rules, as the policy sets them, to one result."""
    reasons = []
    for rule in rules:
        value = result.scores.get(rule.score)
        chosen = policy.rules.get(str(rule.code))
        if value is None or chosen is None:
            continue
        if rule.crosses(value, chosen.threshold):
            action, threshold = chosen.action, chosen.threshold
        elif chosen.review_threshold is not None and rule.crosses(value, chosen.review_threshold):
            action, threshold = Action.REVIEW, chosen.review_threshold
        else:
            continue
        evidence = result.evidence.get(rule.score)
        matched_id = evidence.matched_id if evidence else ""
        message = rule.message.format(
            score=value,
            threshold=threshold,
            matched_id=matched_id,
            detail=evidence.detail if evidence else "",
        )
        reasons.append(Reason(rule.code, check, message, value, threshold, action, matched_id))
    return reasons
