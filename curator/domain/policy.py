"""Policies: per collection, per check, which thresholds turn scores into which actions.

Checks only measure. A :class:`Rule` is a check's static declaration of one
reason it can raise (which score, compared which way, default threshold and
action). A :class:`Policy` is what a collection chose for those rules. Changing
a threshold therefore never needs a re-score.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

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

    # None: the rule's default (filled in by resolve_policy, so a resolved policy always has both).
    threshold: float | None = None
    action: Action | None = None
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
        defaults: dict[str, RulePolicy] = {}
        for code, rule in known_codes.items():
            default = RulePolicy(
                threshold=rule.threshold, action=rule.action, review_threshold=rule.review_threshold
            )
            chosen = given.rules.get(code)
            if chosen is None:
                chosen = default
            elif chosen.threshold is None or chosen.action is None:  # a partial rule: the rest is default
                chosen = chosen.model_copy(
                    update={
                        "threshold": rule.threshold if chosen.threshold is None else chosen.threshold,
                        "action": rule.action if chosen.action is None else chosen.action,
                    }
                )
            problems = _check_rule(f"{path}.rules[{code}]", rule, chosen)
            violations += problems
            rules[code] = chosen
            # Parameters derived from a rule (an index threshold) derive from its default while the rule
            # itself is invalid, so that the one mistake is reported once, where it was made.
            defaults[code] = default if problems else chosen
        params = {**target.default_params(), **given.params}
        unknown = set(given.params) - set(target.default_params())
        for key in sorted(unknown):
            violations.append(
                FieldViolation(
                    f"{path}.params[{key}]",
                    f"unknown parameter; {name} takes {sorted(target.default_params())}",
                )
            )
        params = target.finalize_params(params, defaults)
        violations += [FieldViolation(f"{path}.params", msg) for msg in target.validate_params(params)]
        resolved[name] = CheckPolicy(enabled=given.enabled, rules=rules, params=params)
    if violations:
        raise InvalidArgument(violations)
    return Policy(dedup_key=policy.dedup_key, checks=resolved)


def _check_rule(path: str, rule: Rule, chosen: RulePolicy) -> list[FieldViolation]:
    out = []
    assert chosen.threshold is not None  # filled in from the rule's default
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
        threshold = rule.threshold if chosen.threshold is None else chosen.threshold
        if rule.crosses(value, threshold):
            action = rule.action if chosen.action is None else chosen.action
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


# ---------------------------------------------------------------- partial updates

_RULE_FIELDS = frozenset(RulePolicy.model_fields)
_MASK_HELP = (
    'paths look like "checks.<check>", "checks.<check>.enabled", "checks.<check>.rules.<CODE>.threshold" '
    'or "checks.<check>.params.<name>" (or "*" for the whole policy)'
)


@dataclass(frozen=True, slots=True)
class PolicyPatch:
    """A change to a collection's policy: new values shaped like the policy's JSON, and where they apply.

    ``paths`` None: every field present in ``values`` changes and nothing else (a deep merge), so that
    updating one check never resets another. ``("*",)``: ``values`` is the whole new policy. Otherwise only
    the dotted ``paths`` change (AIP-134 field-mask semantics); a path absent from ``values`` goes back to
    its default.
    """

    values: Mapping[str, Any]
    paths: tuple[str, ...] | None = None


def as_patch(change: PolicyPatch | Policy) -> PolicyPatch:
    """A Policy object as a patch of the fields it sets (so a policy naming one check changes only it)."""
    if isinstance(change, PolicyPatch):
        return change
    return PolicyPatch(change.model_dump(mode="json", exclude_unset=True))


def apply_patch(current: Policy, patch: PolicyPatch) -> Policy:
    """``current`` with ``patch`` applied; not yet resolved (see :func:`resolve_policy`)."""
    values = dict(patch.values)
    if patch.paths is not None and "*" in patch.paths:
        if len(patch.paths) > 1:
            raise InvalidArgument(
                FieldViolation("update_mask", '"*" replaces the whole policy: give it alone')
            )
        return _validated(values)
    merged = current.model_dump(mode="json")
    if patch.paths is None:
        _merge(merged, values)
        return _validated(merged)
    violations = [FieldViolation("update_mask", f"{p!r}: {_MASK_HELP}") for p in patch.paths if not _valid(p)]
    if violations:
        raise InvalidArgument(violations)
    for path in patch.paths:
        keys = path.split(".")
        source: Any = values
        for key in keys:
            source = source.get(key, _ABSENT) if isinstance(source, dict) else _ABSENT
        target = merged
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        if source is _ABSENT:
            target.pop(keys[-1], None)  # named but not given: back to the default
        else:
            target[keys[-1]] = copy.deepcopy(source)
    return _validated(merged)


_ABSENT = object()


def _valid(path: str) -> bool:
    """Whether ``path`` names a field of a policy (map keys, check names and codes, are free-form)."""
    keys = path.split(".")
    if any(not k for k in keys):
        return False
    if keys[0] == "dedup_key":
        return len(keys) == 1
    if keys[0] != "checks":
        return False
    if len(keys) <= 2:
        return True
    if keys[2] == "enabled":
        return len(keys) == 3
    if keys[2] == "params":
        return len(keys) <= 4
    if keys[2] == "rules":
        return len(keys) <= 4 or (len(keys) == 5 and keys[4] in _RULE_FIELDS)
    return False


def _merge(into: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Deep merge: mappings merge key by key, anything else replaces."""
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def _validated(data: dict[str, Any]) -> Policy:
    """A Policy from JSON-shaped data, with pydantic's complaints as field violations."""
    from pydantic import ValidationError

    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        raise InvalidArgument(
            [FieldViolation("policy." + ".".join(str(p) for p in e["loc"]), e["msg"]) for e in err.errors()]
        ) from None
