"""EVAL_CONTAMINATION and EVAL_PARAPHRASE: a training sample must not leak a gold eval item.

Two stages, both against every registered eval set (``curator evalsets add``):

1. **n-gram**: the sample shares a word n-gram (after normalisation) with an eval item, or contains a
   whole item shorter than n words. Boilerplate n-grams, held by many items, do not count. Score
   ``eval_ngram`` is 1.0 on a match; the message quotes the n-gram.
2. **paraphrase**: a reworded leak shares no long n-gram. The sample's sentences (questions first)
   are embedded with the shared MiniLM model and compared with the items' embeddings; score
   ``eval_similarity`` is the highest cosine. This stage runs only for samples the n-gram stage
   did not catch.

With no eval set registered the check measures nothing and costs nothing, which is why it can be
on by default: it starts working as soon as one set exists.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from curator.checks.base import Check, CheckContext, Item
from curator.dedup.ngrams import NgramIndex
from curator.domain.decision import Action, CheckResult, Evidence
from curator.domain.evalset import EvalItem
from curator.domain.policy import Rule
from curator.domain.reasons import ReasonCode
from curator.embeddings.embedder import Embedder

if TYPE_CHECKING:
    from curator.settings import Settings

DEFAULT_NGRAM = 8
_SENTENCE = re.compile(r"(?<=[.?!])\s+|\n+")
MAX_SEGMENTS = 3  # sentences embedded per sample, questions first (reworded recall: 2 -> 0.90, 3 -> 0.92)
MIN_SEGMENT_WORDS = 4


@dataclass(slots=True)
class EvalSnapshot:
    """Every registered eval set's items, as of one read of the store; indexes are built lazily."""

    sets: dict[str, list[EvalItem]] = field(default_factory=dict)
    _ngrams: dict[tuple[int, int, int], NgramIndex] = field(default_factory=dict)
    _vectors: tuple[np.ndarray, list[str]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def empty(self) -> bool:
        return not any(self.sets.values())

    def keyed(self) -> list[tuple[str, str]]:
        return [(f"{name}:{it.id}", it.text) for name, items in sorted(self.sets.items()) for it in items]

    def ngrams(self, n: int, boilerplate_items: int, min_words: int) -> NgramIndex:
        key = (n, boilerplate_items, min_words)
        with self._lock:
            if key not in self._ngrams:
                self._ngrams[key] = NgramIndex(self.keyed(), n, boilerplate_items, min_words)
            return self._ngrams[key]

    def vectors(self, embedder: Embedder) -> tuple[np.ndarray, list[str]]:
        """Unit embeddings of every item (computed once per snapshot) and their keys."""
        with self._lock:
            if self._vectors is None:
                keyed = self.keyed()
                texts = [text for _, text in keyed]
                matrix = embedder.encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)
                self._vectors = (np.asarray(matrix, dtype=np.float32), [k for k, _ in keyed])
            return self._vectors


class EvalSets:
    """The current snapshot, swapped whole when the store's eval sets change (any thread, any time)."""

    def __init__(self) -> None:
        self._snapshot = EvalSnapshot()
        self.signature: tuple[tuple[str, str], ...] = ()

    def current(self) -> EvalSnapshot:
        return self._snapshot

    def replace(self, sets: Mapping[str, list[EvalItem]], signature: tuple[tuple[str, str], ...]) -> None:
        self._snapshot = EvalSnapshot(dict(sets))
        self.signature = signature


class DecontaminationCheck(Check):
    name = "decontamination"
    cost = 15  # after exact duplicates (a copy of a kept sample needs no scan), before near duplicates
    rules = (
        Rule(
            ReasonCode.EVAL_CONTAMINATION,
            score="eval_ngram",
            threshold=1.0,
            action=Action.DROP,
            message='leaks eval item {matched_id}: shares "{detail}"',
        ),
        Rule(
            ReasonCode.EVAL_PARAPHRASE,
            score="eval_similarity",
            threshold=0.8,
            action=Action.REVIEW,
            message="may reword eval item {matched_id}: cosine {score:.3f} >= {threshold:.2f} ({detail})",
        ),
    )

    def __init__(self, embedder: Embedder, evalsets: EvalSets | None = None) -> None:
        self.embedder = embedder
        self.evalsets = evalsets or EvalSets()

    @classmethod
    def from_settings(cls, settings: Settings) -> DecontaminationCheck:
        return cls(Embedder.shared(settings.embeddings))

    def default_params(self) -> dict[str, float]:
        return {"ngram": DEFAULT_NGRAM, "boilerplate_items": 5, "min_words": 4, "paraphrase": 1}

    def validate_params(self, params: Mapping[str, float]) -> list[str]:
        problems = []
        if not (3 <= params["ngram"] <= 50 and float(params["ngram"]).is_integer()):
            problems.append("ngram must be a whole number of words in [3, 50]")
        if not (params["boilerplate_items"] >= 2 and float(params["boilerplate_items"]).is_integer()):
            problems.append("boilerplate_items must be a whole number >= 2")
        if not (params["min_words"] >= 1 and float(params["min_words"]).is_integer()):
            problems.append("min_words must be a whole number >= 1")
        if params["paraphrase"] not in (0, 1):
            problems.append("paraphrase must be 0 (n-grams only) or 1 (also embeddings)")
        return problems

    def evaluate_batch(self, items: Sequence[Item], ctx: CheckContext) -> list[CheckResult]:
        snapshot = self.evalsets.current()
        if snapshot.empty:
            return [CheckResult() for _ in items]
        p = ctx.policy.params
        index = snapshot.ngrams(int(p["ngram"]), int(p["boilerplate_items"]), int(p["min_words"]))
        results: list[CheckResult] = []
        missed: list[int] = []
        for k, it in enumerate(items):
            found = index.find(it.sample.full_text)
            if found is None:
                results.append(CheckResult(scores={"eval_ngram": 0.0}))
                missed.append(k)
            else:
                evidence = Evidence(found.key, " ".join(found.gram))
                results.append(CheckResult(scores={"eval_ngram": 1.0}, evidence={"eval_ngram": evidence}))
        if missed and p["paraphrase"]:
            self._paraphrases(items, missed, results, snapshot)
        return results

    def _paraphrases(
        self, items: Sequence[Item], missed: list[int], results: list[CheckResult], snapshot: EvalSnapshot
    ) -> None:
        vectors, keys = snapshot.vectors(self.embedder)
        segments = [(k, s) for k in missed for s in _segments(items[k].sample.full_text)]
        if not segments or not len(keys):
            return
        embedded = np.asarray(self.embedder.encode([s for _, s in segments]), dtype=np.float32)
        sims = embedded @ vectors.T
        best_item = sims.argmax(axis=1)
        best = sims[np.arange(len(segments)), best_item]
        top: dict[int, tuple[float, int, str]] = {}
        for (k, text), score, item in zip(segments, best.tolist(), best_item.tolist(), strict=True):
            if k not in top or score > top[k][0]:
                top[k] = (score, item, text)
        for k, (score, item, text) in top.items():
            score = max(0.0, float(score))
            quoted = text if len(text) <= 80 else text[:77] + "..."
            result = results[k]
            result.scores["eval_similarity"] = score
            result.evidence["eval_similarity"] = Evidence(keys[item], f'"{quoted}"')


def _segments(text: str) -> list[str]:
    """The sentences worth comparing with eval items: questions first, then the others, in order."""
    sentences = [s.strip() for s in _SENTENCE.split(text) if len(s.split()) >= MIN_SEGMENT_WORDS]
    questions = [s for s in sentences if s.endswith("?")]
    others = [s for s in sentences if not s.endswith("?")]
    return (questions + others)[:MAX_SEGMENTS]
