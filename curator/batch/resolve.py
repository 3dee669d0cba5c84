"""Decide a whole batch job in input order, from what the workers measured and the shuffles matched.

The local engine compares each sample with every earlier sample that was *kept*
(the collection's index, then earlier kept samples of the job). Which samples
are kept depends on that same comparison, so it is inherently sequential; what
is not sequential is finding who could match whom. The Ray engine therefore
computes, in parallel, every per-sample check and every candidate pair (a hash
shuffle, an LSH band shuffle, a sharded vector search), and this module walks
the samples once, in input order, keeping the pipeline's rules exactly:

* checks run cheapest first; a dropped sample skips the rest (unless ``score_all``);
* an indexed check's score is the best match among kept samples: the collection's
  index first (earlier than anything in the job), then kept samples of the job,
  which win only with a strictly higher score, the earliest on ties;
* the policy turns results into reasons (``reasons_for``), reasons into a verdict.

Nothing here imports Ray: the walk is plain Python over arrays, tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from curator.checks.base import Check, IndexedCheck
from curator.domain.decision import Action, Annotation, CheckResult, Decision, Evidence, Reason, Verdict
from curator.domain.policy import Policy, reasons_for
from curator.domain.sample import Sample

# Per position: earlier positions of the job that could match it, with their score.
Candidates = Mapping[int, Sequence[tuple[int, float]]]
# For an indexed check, when a position's candidate list may be incomplete (a top-k search whose k
# neighbours are all dropped): the best kept earlier position by exhaustive search, or (-1, 0.0).
Fallback = Callable[[int, Sequence[int]], tuple[int, float]]


@dataclass(slots=True)
class Measured:
    """What the workers computed for one valid sample: the results of the checks that need no index."""

    sample: Sample
    results: dict[str, CheckResult] = field(default_factory=dict)


@dataclass(slots=True)
class IndexedEvidence:
    """An indexed check's matches for every position of the job."""

    # Best match in the collection's index before the job: (score, matched id); id "" when none.
    seed: Sequence[tuple[float, str]]
    # Earlier positions of the job that may match (only pairs a check can score).
    candidates: Candidates
    # Positions whose candidate list is a truncated top-k (so kept matches may lie beyond it).
    truncated: frozenset[int] = frozenset()
    fallback: Fallback | None = None


@dataclass(slots=True)
class Resolved:
    decisions: list[Decision | None]  # None where ``known`` answered instead
    kept: list[int]  # positions, in order


def resolve(
    measured: Sequence[Measured],
    checks: Sequence[Check],
    policy: Policy,
    policy_version: int,
    indexed: Mapping[str, IndexedEvidence],
    *,
    skip: frozenset[int] = frozenset(),
    score_all: bool = False,
) -> Resolved:
    """One decision per position not in ``skip`` (identity answers and replays, decided elsewhere)."""
    order = sorted(checks, key=lambda c: c.cost)
    kept_flags = [False] * len(measured)
    kept: list[int] = []
    decisions: list[Decision | None] = [None] * len(measured)
    for j, m in enumerate(measured):
        if j in skip:
            continue
        reasons: list[Reason] = []
        annotations: list[Annotation] = []
        scores: dict[str, float] = {}
        dropped = False
        for check in order:
            check_policy = policy.check(check.name)
            if not check_policy.enabled or (dropped and not score_all):
                continue
            if isinstance(check, IndexedCheck):
                result = _indexed_result(check, indexed[check.name], j, measured, kept_flags, kept)
            else:
                result = m.results[check.name]
            scores.update(result.scores)
            annotations += result.annotations
            found = reasons_for(check.name, check.rules, check_policy, result)
            if found:
                reasons += found
                dropped = dropped or any(r.action is Action.DROP for r in found)
        decision = Decision(
            m.sample.id, Decision.verdict_for(reasons), reasons, scores, policy_version, annotations
        )
        decisions[j] = decision
        if decision.verdict is Verdict.KEEP:
            kept_flags[j] = True
            kept.append(j)
    return Resolved(decisions, kept)


def _indexed_result(
    check: IndexedCheck,
    evidence: IndexedEvidence,
    j: int,
    measured: Sequence[Measured],
    kept_flags: list[bool],
    kept: list[int],
) -> CheckResult:
    score, matched = evidence.seed[j]
    best_i, best_s = -1, -1.0
    for i, s in evidence.candidates.get(j, ()):
        if kept_flags[i] and (s > best_s or (s == best_s and i < best_i)):
            best_i, best_s = i, s
    if best_i < 0 and j in evidence.truncated and evidence.fallback is not None:
        best_i, best_s = evidence.fallback(j, kept)
    if best_i >= 0 and best_s > score:
        score, matched = best_s, measured[best_i].sample.id
    return CheckResult(
        scores={check.score_name: score, **check.derived_scores(score)},
        evidence={check.score_name: Evidence(matched, check.describe(score))} if matched else {},
    )
