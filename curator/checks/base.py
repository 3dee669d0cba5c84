"""What a check is: a named, costed measurement over a batch of samples.

A check returns one :class:`CheckResult` per sample (scores + evidence) and
never decides; the collection's policy turns scores into reasons and actions
(see curator.domain.policy). Checks that compare a sample with what the
collection already kept derive from :class:`IndexedCheck`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from curator.domain.decision import Action, CheckResult, Evidence
from curator.domain.normalize import normalize
from curator.domain.policy import CheckPolicy, DedupKey, PolicyTarget, Rule, reasons_for
from curator.domain.sample import Sample
from curator.state.index import DedupIndex

if TYPE_CHECKING:
    from curator.settings import Settings


@dataclass(slots=True, eq=False)
class Item:
    """A sample on its way through the pipeline, with what checks computed for it.

    ``features`` is memoised per check, so re-evaluating a batch (after a
    concurrent admission) never recomputes signatures or embeddings.
    """

    sample: Sample
    position: int
    key_text: str
    normalized_key: str
    features: dict[str, Any] = field(default_factory=dict)
    # Positions of earlier samples of the same request that an indexed check matched.
    batch_matches: set[int] = field(default_factory=set)
    # The decision's scores, once the sample is accepted as kept (the admission log keeps some).
    scores: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, sample: Sample, position: int, dedup_key: DedupKey) -> Item:
        key = key_text(sample, dedup_key)
        return cls(sample, position, key, normalize(key))


def key_text(sample: Sample, dedup_key: DedupKey) -> str:
    if dedup_key is DedupKey.PROMPT:
        return sample.prompt
    if dedup_key is DedupKey.RESPONSE:
        return sample.response
    return sample.full_text


@dataclass(slots=True)
class CheckContext:
    """What a check may look at besides the samples: its policy and, for an indexed check, its own index
    of what the collection kept (data, not the collection's state)."""

    policy: CheckPolicy
    index: DedupIndex | None = None
    # Samples accepted as kept earlier in this request, not yet admitted.
    pending: Sequence[Item] = ()


class Check(PolicyTarget, ABC):
    """One measurement. Subclasses set ``name``, ``cost`` and ``rules``.

    ``cost`` orders the pipeline (cheapest first), so that a sample dropped by
    a cheap check never reaches an expensive one.
    """

    name: ClassVar[str]
    cost: ClassVar[int]
    rules: ClassVar[tuple[Rule, ...]]

    @classmethod
    def from_settings(cls, settings: Settings) -> Check:
        """Build the check; checks that need shared resources (a model) take them from settings."""
        return cls()

    def warm_up(self) -> None:
        """Load heavy resources (models) now rather than on the first request."""

    def prepare(self, items: Sequence[Item], policy: CheckPolicy) -> None:
        """Compute per-sample features into ``item.features[self.name]`` (no locks held)."""

    @abstractmethod
    def evaluate_batch(self, items: Sequence[Item], ctx: CheckContext) -> list[CheckResult]:
        """One result per item, in order."""


class IndexedCheck(Check):
    """A check scored against everything the collection kept, and earlier kept samples of the request.

    Subclasses say how to turn samples into feature columns, how to build an
    index, and how to find similar pairs within a batch; the comparison logic,
    including within-request matching, lives here.
    """

    score_name: ClassVar[str]

    @abstractmethod
    def features(self, items: Sequence[Item], policy: CheckPolicy) -> dict[str, np.ndarray]:
        """Feature columns for the items (first axis = item)."""

    @abstractmethod
    def new_index(self, params: Mapping[str, float]) -> DedupIndex: ...

    def features_of(
        self, samples: Sequence[Sample], policy: CheckPolicy, dedup_key: DedupKey
    ) -> dict[str, np.ndarray]:
        """Feature columns of samples (what a collection computes for samples kept before this check ran
        for it): the state asks this, knowing samples and not the pipeline's items."""
        return self.features([Item.build(s, k, dedup_key) for k, s in enumerate(samples)], policy)

    @abstractmethod
    def pairs_within(
        self, columns: Mapping[str, np.ndarray], policy: CheckPolicy
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Similar pairs among the rows of ``columns``: arrays (i, j, score) with i < j."""

    def describe(self, score: float) -> str:
        """Detail for the reason message."""
        return ""

    def derived_scores(self, score: float) -> dict[str, float]:
        """Further scores that follow from the main one (e.g. diversity = 1 - similarity)."""
        return {}

    def prepare(self, items: Sequence[Item], policy: CheckPolicy) -> None:
        todo = [it for it in items if self.name not in it.features]
        if not todo:
            return
        columns = self.features(todo, policy)
        for i, it in enumerate(todo):
            it.features[self.name] = {k: v[i] for k, v in columns.items()}

    def evaluate_batch(self, items: Sequence[Item], ctx: CheckContext) -> list[CheckResult]:
        self.prepare([*ctx.pending, *items], ctx.policy)
        index = ctx.index
        assert index is not None, f"{self.name} is evaluated only with its index"
        columns = stack(items, self.name)
        kept = index.best_matches(columns) if len(index) else [(0.0, -1)] * len(items)
        # Rows: samples accepted earlier in this request (always alive), then this batch.
        rows = [*ctx.pending, *items]
        p = len(ctx.pending)
        if p:
            before = stack(ctx.pending, self.name)
            columns = {k: np.concatenate([before[k], v]) for k, v in columns.items()}
        ii, jj, scores = self.pairs_within(columns, ctx.policy)
        earlier: dict[int, list[tuple[int, float]]] = {}
        for i, j, s in zip(ii.tolist(), jj.tolist(), scores.tolist(), strict=True):
            earlier.setdefault(j, []).append((i, s))
        alive = [True] * p + [False] * len(items)
        results = []
        for k, (item, (score, row)) in enumerate(zip(items, kept, strict=True)):
            matched = index.id_of(row) if row >= 0 else ""
            best_i, best_s = -1, -1.0
            for i, s in earlier.get(p + k, ()):
                if alive[i] and (s > best_s or (s == best_s and i < best_i)):
                    best_i, best_s = i, s
            if best_i >= 0 and best_s > score:
                score, matched = best_s, rows[best_i].sample.id
                item.batch_matches.add(rows[best_i].position)
            result = CheckResult(
                scores={self.score_name: score, **self.derived_scores(score)},
                evidence={self.score_name: Evidence(matched, self.describe(score))} if matched else {},
            )
            results.append(result)
            # A sample this check drops can never be kept, so later ones need not match it.
            reasons = reasons_for(self.name, self.rules, ctx.policy, result)
            alive[p + k] = not any(r.action is Action.DROP for r in reasons)
        return results


def stack(items: Sequence[Item], check: str) -> dict[str, np.ndarray]:
    """Per-item feature rows of one check, stacked into columns."""
    first = items[0].features[check]
    return {k: np.stack([it.features[check][k] for it in items]) for k in first}
