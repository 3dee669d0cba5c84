"""Two curators (replicas in one process, each with its own data directory) on one PostgreSQL: the paths a
replica takes when it keeps losing the race to commit."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from curator.domain.decision import Verdict
from curator.pipeline import pipeline as pipeline_module
from curator.service import Curator
from curator.settings import Settings
from curator.state.sql import metadata
from tests.cli.helpers import words
from tests.support.reviews import sample

POLICY = {
    "checks": {"semantic": {"enabled": False}, "heuristics": {"enabled": False}, "bias": {"enabled": False}}
}


def test_replicas_that_serialise_after_a_lost_race_neither_deadlock_nor_keep_twice(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After one lost race a commit takes the exclusive path, while other threads of the same replicas are
    in optimistic commits. The defect this guards: a thread that held the store's exclusive lock then
    waited for its collection lock, held by a thread of the same process waiting for the store's lock."""
    engine = create_engine(postgres_url)
    metadata.drop_all(engine)
    engine.dispose()
    monkeypatch.setattr(pipeline_module, "OPTIMISTIC_ATTEMPTS", 1)  # one lost race: serialise
    replicas = [
        Curator(
            Settings.load(data_dir=tmp_path / f"r{i}", store={"url": postgres_url}, default_policy=POLICY)
        )
        for i in range(2)
    ]
    replicas[0].create_collection("c")
    groups = [words(300 + g, 50) for g in range(40)]
    kept: list[str] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        curator = replicas[k % 2]
        for g, text in enumerate(groups):
            [d] = curator.filter("c", [sample(f"t{k}-g{g}", text if k % 2 else text.upper())])
            if d.verdict is Verdict.KEEP:
                with lock:
                    kept.append(f"g{g}")

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # Deadlocked threads hold the replicas' locks: closing them would hang too, so fail at once.
    assert not any(t.is_alive() for t in threads), "the replicas deadlocked"
    for r in replicas:
        r.close()
    assert sorted(kept) == sorted(f"g{g}" for g in range(len(groups)))
