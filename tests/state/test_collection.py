"""A collection that predates an indexed check: the check's index is built from the stored samples."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from curator.checks.base import IndexedCheck, Item
from curator.checks.semantic import SemanticCheck
from curator.domain.policy import resolve_policy
from curator.domain.validation import validate_batch
from curator.errors import FailedPrecondition
from curator.service import Curator
from curator.settings import Settings
from curator.state.admission_log import AdmissionLog
from curator.state.collection import CollectionState
from curator.state.store import StatsQuery
from tests.support.fake_encoder import FakeEncoder, checks_with
from tests.support.reviews import BASE, OTHER, sample

# BASE with its words shuffled into other 3-grams: far for MinHash, identical for a bag of words.
SHUFFLED = " ".join(reversed(BASE.split()))


def _without_semantic(settings: Settings) -> Curator:
    """A curator of an older version, one that had no semantic check."""
    checks = [c for c in checks_with(settings=settings) if not isinstance(c, SemanticCheck)]
    return Curator(settings, checks=checks)


def test_a_check_new_to_a_collection_indexes_what_it_kept_before(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data")
    old = _without_semantic(settings)
    old.create_collection("c")
    old.filter("c", [sample("a", BASE, source="x"), sample("b", OTHER, source="y")])
    old.close()

    encoder = FakeEncoder()
    new = Curator(settings, checks=checks_with(encoder, settings))
    try:
        assert new.get_collection("c").policy.check("semantic").enabled  # the new check's defaults
        [listed] = new.list_collections()
        assert listed.policy == new.get_collection("c").policy
        [shuffled] = new.filter("c", [sample("s", SHUFFLED)])
        assert [(r.code, r.matched_id) for r in shuffled.reasons] == [("SEMANTIC_DUPLICATE", "a")]
        assert new.index_sizes()[("c", "semantic")] == 2
        assert sum(encoder.calls) == 2 + 1  # the two kept samples once, then the request
        stats = new.stats(StatsQuery(collection="c", bucket_seconds=3600))  # rows and vectors line up
        assert sum(w.kept for w in stats.diversity) == 2
    finally:
        new.close()

    again = FakeEncoder()
    restarted = Curator(settings, checks=checks_with(again, settings))
    try:
        [other] = restarted.filter("c", [sample("t", SHUFFLED + " again")])
        assert [r.matched_id for r in other.reasons] == ["a"]
        assert restarted.index_sizes()[("c", "semantic")] == 2
        assert sum(again.calls) == 1  # the computed features were saved: nothing recomputed
    finally:
        restarted.close()


class _NoContent:
    """A store of an earlier release (no admissions in it) whose decision log knows what was kept but lost
    its content (logs from before 0.2)."""

    def __init__(self, ids: list[str]) -> None:
        self._ids = ids

    def seq(self) -> int:
        return 0

    def since(self, seq: int) -> list[tuple[int, bytes]]:
        return []

    def commit(self, *args: object) -> int:
        raise AssertionError("nothing can be imported without content")

    def exclusive(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()

    def kept_ids(self) -> list[str]:
        return self._ids

    def content(self, ids: object) -> dict:
        return {}


def test_without_stored_content_the_error_says_what_to_do(tmp_path: Path) -> None:
    settings = Settings()
    checks = [c for c in checks_with(settings=settings) if isinstance(c, IndexedCheck)]
    policy = resolve_policy(settings.default_policy, checks)
    old = CollectionState("c", policy, tmp_path, [c for c in checks if not isinstance(c, SemanticCheck)])
    [s] = validate_batch([sample("a", BASE)], settings.limits.limits())
    old.admit([Item.build(s, 0, policy.dedup_key)])
    old.close()
    with pytest.raises(FailedPrecondition, match="re-create the collection"):
        CollectionState("c", policy, tmp_path, checks, record=_NoContent(["a"]))
    assert AdmissionLog(tmp_path).load_snapshot()  # nothing was lost on the way
