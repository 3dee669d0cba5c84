"""The pipeline: checks in cost order, policy applied after each, check-and-admit atomic per collection.

Within one request a sample is compared with the earlier samples that will be
kept. Checks compare optimistically with every earlier sample still alive;
if a sample's match later turns out not to be kept, the request is re-run
from that sample on (features are memoised, so this is cheap and rare).

Across requests, evaluation runs without the collection lock and commits only
if nothing was admitted in the meantime (``CollectionState.version``);
otherwise it re-evaluates, and after a few lost races it evaluates and
commits under the lock. Two near-identical samples arriving at once in
different requests therefore end with exactly one kept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from curator.checks.base import Check, CheckContext, IndexedCheck, Item
from curator.domain.decision import Action, Annotation, Decision, Reason, Verdict
from curator.domain.policy import Policy, reasons_for
from curator.domain.reasons import ReasonCode
from curator.domain.sample import Sample
from curator.observability import metrics
from curator.state.collection import CollectionState

OPTIMISTIC_ATTEMPTS = 3


@dataclass(slots=True)
class _Outcome:
    decisions: list[Decision]
    kept: list[Item]


class Pipeline:
    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = sorted(checks, key=lambda c: c.cost)
        self.indexed = [c for c in self.checks if isinstance(c, IndexedCheck)]

    def run(
        self,
        samples: Sequence[Sample],
        state: CollectionState,
        policy: Policy,
        policy_version: int,
        *,
        dry_run: bool = False,
        score_all: bool = False,
    ) -> list[Decision]:
        """Decide every sample; unless ``dry_run``, admit the kept ones durably before returning.

        A sample the collection already kept under the same id (a client's retry) gets KEEP
        again with an ALREADY_KEPT flag, and is not evaluated or admitted a second time.
        """
        all_items = [Item.build(s, i, policy.dedup_key) for i, s in enumerate(samples)]
        resent = self._resent(all_items, state, policy, policy_version)
        items = [it for it in all_items if it.position not in resent]
        decisions = self._run(items, state, policy, policy_version, dry_run, score_all)
        if not resent:
            return decisions
        by_position = {it.position: d for it, d in zip(items, decisions, strict=True)}
        return [by_position.get(i) or resent[i] for i in range(len(all_items))]

    def _resent(
        self, items: list[Item], state: CollectionState, policy: Policy, policy_version: int
    ) -> dict[int, Decision]:
        """KEEP decisions for the items the collection already kept under their own id."""
        check = next((c for c in self.indexed if c.recognises_resends), None)
        if check is None or not items:
            return {}
        with state.lock:
            kept = check.kept_as_itself(items, state, policy.check(check.name))
        message = "already kept under this id with the same content (a retry?): not admitted again"
        return {
            it.position: Decision(
                it.sample.id,
                Verdict.KEEP,
                [Reason(ReasonCode.ALREADY_KEPT, check.name, message, 1.0, 1.0, Action.FLAG, it.sample.id)],
                {},
                policy_version,
            )
            for it, again in zip(items, kept, strict=True)
            if again
        }

    def _run(
        self,
        items: list[Item],
        state: CollectionState,
        policy: Policy,
        policy_version: int,
        dry_run: bool,
        score_all: bool,
    ) -> list[Decision]:
        for _ in range(OPTIMISTIC_ATTEMPTS):
            seen = state.version
            outcome = self._evaluate(items, state, policy, policy_version, score_all)
            if dry_run:
                return outcome.decisions
            self._prepare_for_admission(outcome.kept, policy)
            with state.lock:
                if state.version == seen:
                    state.admit(outcome.kept)
                    return outcome.decisions
        with state.lock:
            outcome = self._evaluate(items, state, policy, policy_version, score_all)
            self._prepare_for_admission(outcome.kept, policy)
            state.admit(outcome.kept)
            return outcome.decisions

    def _prepare_for_admission(self, kept: Sequence[Item], policy: Policy) -> None:
        """Every index learns every kept sample, even for checks this policy disables (so
        enabling one later finds a complete index); compute those features outside the lock."""
        for check in self.indexed:
            check.prepare(kept, policy.check(check.name))

    def _evaluate(
        self, items: list[Item], state: CollectionState, policy: Policy, version: int, score_all: bool
    ) -> _Outcome:
        decisions: list[Decision] = []
        kept: list[Item] = []
        start = 0
        while start < len(items):
            suffix = items[start:]
            for it in suffix:
                it.batch_matches.clear()
            trial = self._pass(suffix, state, policy, version, score_all, kept)
            verdict_at = {it.position: d.verdict for it, d in zip(suffix, trial, strict=True)}
            # First sample that matched an earlier one of this pass which is not kept after all.
            stop = next(
                (
                    k
                    for k, it in enumerate(suffix)
                    if any(verdict_at.get(p, Verdict.KEEP) is not Verdict.KEEP for p in it.batch_matches)
                ),
                len(suffix),
            )
            decisions += trial[:stop]
            for it, d in zip(suffix[:stop], trial[:stop], strict=True):
                if d.verdict is Verdict.KEEP:
                    it.scores = d.scores
                    kept.append(it)
            start += stop
        return _Outcome(decisions, kept)

    def _pass(
        self,
        items: list[Item],
        state: CollectionState,
        policy: Policy,
        version: int,
        score_all: bool,
        pending: Sequence[Item],
    ) -> list[Decision]:
        reasons: list[list[Reason]] = [[] for _ in items]
        annotations: list[list[Annotation]] = [[] for _ in items]
        scores: list[dict[str, float]] = [{} for _ in items]
        dropped = [False] * len(items)
        for check in self.checks:
            check_policy = policy.check(check.name)
            if not check_policy.enabled:
                continue
            targets = [i for i in range(len(items)) if score_all or not dropped[i]]
            if not targets:
                break
            batch = [items[i] for i in targets]
            ctx = CheckContext(check_policy, state, pending)
            started = time.perf_counter()
            if isinstance(check, IndexedCheck):
                check.prepare(batch, check_policy)  # heavy features outside the lock
                with state.lock:
                    results = check.evaluate_batch(batch, ctx)
            else:
                results = check.evaluate_batch(batch, ctx)
            metrics.observe_check(check.name, time.perf_counter() - started, len(batch))
            for i, result in zip(targets, results, strict=True):
                scores[i].update(result.scores)
                annotations[i] += result.annotations
                found = reasons_for(check.name, check.rules, check_policy, result)
                if found:
                    reasons[i] += found
                    dropped[i] = dropped[i] or any(r.action is Action.DROP for r in found)
        return [
            Decision(it.sample.id, Decision.verdict_for(rs), rs, sc, version, an)
            for it, rs, sc, an in zip(items, reasons, scores, annotations, strict=True)
        ]
