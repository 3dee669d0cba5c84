"""The pipeline: checks in cost order, policy applied after each, check-and-admit atomic per collection.

Within one request a sample is compared with the earlier samples that will be
kept. Checks compare optimistically with every earlier sample still alive;
if a sample's match later turns out not to be kept, the request is re-run
from that sample on (features are memoised, so this is cheap and rare).

Across requests, evaluation runs without the collection lock and commits only
if nothing was admitted in the meantime: by this process's other requests
(``CollectionState.version``), or by other processes sharing the store (the
store's commit is conditional on the admission number this process had seen,
``LostRace`` otherwise). A lost race brings the state up to date and decides
again; after a few, it decides and commits while no other thread or process can
commit to the collection. Two near-identical samples arriving at once in
different requests, or at different replicas, therefore end with exactly one
kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from curator.checks.base import Check, CheckContext, IndexedCheck, Item
from curator.domain.decision import Action, Annotation, Decision, Reason, Verdict
from curator.domain.policy import Policy, reasons_for
from curator.domain.reasons import ReasonCode
from curator.domain.sample import Sample
from curator.observability import metrics
from curator.state.collection import CollectionState
from curator.state.store import LoggedDecision, LostRace

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
        log: Callable[[list[Decision]], Sequence[LoggedDecision]] = lambda decisions: (),
    ) -> list[Decision]:
        """Decide every sample; unless ``dry_run``, commit the kept ones and ``log(decisions)`` durably, in
        one step, before returning.

        A sample the collection already kept under the same id and content (a client's retry) gets KEEP
        again with an ALREADY_KEPT flag and is not evaluated or admitted a second time; one whose id the
        collection already kept with other content gets DROP with ID_CONFLICT (ids name one kept sample).
        Raises LostRace when the collection's policy changed meanwhile (decide again under the new one).
        """
        items = [Item.build(s, i, policy.dedup_key) for i, s in enumerate(samples)]
        for _ in range(OPTIMISTIC_ATTEMPTS):
            seen = state.version
            known, outcome = self._decide(items, state, policy, policy_version, score_all)
            decisions = _in_order(items, known, outcome.decisions)
            if dry_run:
                return decisions
            self._prepare_for_admission(outcome.kept, policy)
            with state.lock:
                if state.version != seen:  # another request of this process admitted meanwhile
                    continue
                try:
                    state.commit(outcome.kept, log(decisions), policy_version)
                    return decisions
                except LostRace as race:  # another process admitted meanwhile: see what, decide again
                    if race.policy_version != policy_version:
                        raise
                    metrics.LOST_RACES.inc()
                    state.catch_up()
        # Lost too often: decide and commit while no other thread or process commits to the collection.
        # This process's lock first: a thread holding it may be waiting in a commit for the store's lock,
        # which must therefore not be taken while waiting for this one.
        with state.lock, state.exclusive():
            state.catch_up()
            known, outcome = self._decide(items, state, policy, policy_version, score_all)
            decisions = _in_order(items, known, outcome.decisions)
            self._prepare_for_admission(outcome.kept, policy)
            state.commit(outcome.kept, log(decisions), policy_version)
            return decisions

    def _decide(
        self, items: list[Item], state: CollectionState, policy: Policy, version: int, score_all: bool
    ) -> tuple[dict[int, Decision], _Outcome]:
        """Decisions by identity (ids the collection kept), then the checks' for the rest."""
        known = by_identity(items, state, version)
        fresh = [it for it in items if it.position not in known]
        return known, self._evaluate(fresh, state, policy, version, score_all)

    def _prepare_for_admission(self, kept: Sequence[Item], policy: Policy) -> None:
        """The features every enabled index keeps of a kept sample, computed outside the lock. A check the
        policy disables has no index and costs nothing (enabling it later computes what it needs)."""
        for check in self.indexed:
            check_policy = policy.check(check.name)
            if check_policy.enabled:
                check.prepare(kept, check_policy)

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
            index = state.index(check.name) if isinstance(check, IndexedCheck) else None
            ctx = CheckContext(check_policy, index, pending)
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


IDENTITY = "identity"  # the "check" of reasons about a sample's id, which no policy turns off


def by_identity(items: Sequence[Item], state: CollectionState, version: int) -> dict[int, Decision]:
    """Decisions for the items whose id the collection already kept: ALREADY_KEPT for the same content,
    ID_CONFLICT for other content."""
    out: dict[int, Decision] = {}
    with state.lock:
        kept = [state.kept_digest(it.sample.id) for it in items]
    for it, digest in zip(items, kept, strict=True):
        if digest is None:
            continue
        if digest == it.sample.content_digest():
            reason = Reason(
                ReasonCode.ALREADY_KEPT,
                IDENTITY,
                "already kept under this id with the same content (a retry?): not admitted again",
                1.0,
                1.0,
                Action.FLAG,
                it.sample.id,
            )
            out[it.position] = Decision(it.sample.id, Verdict.KEEP, [reason], {}, version)
        else:
            reason = Reason(
                ReasonCode.ID_CONFLICT,
                IDENTITY,
                f"id {it.sample.id!r} is already kept with other content; send this sample under a new id",
                1.0,
                1.0,
                Action.DROP,
                it.sample.id,
            )
            out[it.position] = Decision(it.sample.id, Verdict.DROP, [reason], {}, version)
    return out


def _in_order(items: Sequence[Item], known: dict[int, Decision], evaluated: list[Decision]) -> list[Decision]:
    """Identity decisions and evaluated ones, back in request order."""
    if not known:
        return evaluated
    rest = iter(evaluated)
    return [known[it.position] if it.position in known else next(rest) for it in items]
