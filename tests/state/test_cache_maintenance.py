"""With a store, the local image is folded in the background: requests wait only for a file rotation, and a
fold cut short (a crash) loses nothing, since the store holds every admission."""

from __future__ import annotations

import time
from pathlib import Path

from curator.checks.base import IndexedCheck, Item
from curator.domain.policy import Policy, resolve_policy
from curator.domain.sample import ContentShape, Sample
from curator.state.admission_log import AdmissionLog
from curator.state.collection import CollectionState
from tests.support.fake_encoder import checks_with
from tests.support.records import MemoryRecord

CHECKS = [c for c in checks_with() if isinstance(c, IndexedCheck)]
POLICY = resolve_policy(Policy.model_validate({"checks": {"semantic": {"enabled": False}}}), checks_with())


def _state(directory: Path, record: MemoryRecord) -> CollectionState:
    return CollectionState("c", POLICY, directory, CHECKS, record=record, checkpoint_every=2)


def _admit(state: CollectionState, start: int, n: int) -> None:
    for i in range(start, start + n):
        sample = Sample(
            f"s{i}", ContentShape.TEXT, text=f"sample number {i} " + " ".join(f"w{i}-{k}" for k in range(20))
        )
        with state.lock:
            state.commit([Item.build(sample, 0, POLICY.dedup_key)])


def _wait_for_folds(state: CollectionState) -> None:
    for _ in range(500):  # bounded
        if not state._folding.locked():
            return
        time.sleep(0.01)


def test_folds_run_in_the_background_and_a_restart_finds_everything(tmp_path: Path) -> None:
    record = MemoryRecord()
    state = _state(tmp_path, record)
    _admit(state, 0, 25)
    _wait_for_folds(state)
    assert AdmissionLog(tmp_path).generation > 0  # the image was folded while admissions went on
    state.close()
    again = _state(tmp_path, record)
    assert again.kept_count == 25 and again.seq == 25
    assert all(again.kept_digest(f"s{i}") is not None for i in range(25))
    again.close()


def test_a_fold_cut_short_loses_nothing(tmp_path: Path) -> None:
    record = MemoryRecord()
    state = _state(tmp_path, record)
    _admit(state, 0, 5)
    _wait_for_folds(state)
    state._log.rotate()  # a rotation whose fold never ran (the process died): appends go to the next log
    _admit(state, 5, 1)
    # No close: the process is gone. A new one finds the current generation, and the store the rest.
    again = _state(tmp_path, record)
    assert again.kept_count == 6 and again.seq == 6
    assert again.kept_digest("s5") is not None
    again.close()
