"""The collapse monitor: varied samples first, then paraphrases of a few; the second window is flagged."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from benchmarks.perturb import operators, perturb_text, vocabulary_from
from curator.domain.validation import SampleInput
from curator.service import Curator
from curator.settings import Settings
from curator.state.store import StatsQuery

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "alpaca_sample.jsonl"
T0 = 1_800_000_000.0  # a fixed hour boundary, so the two phases fall in two 1-hour windows


def originals() -> list[dict[str, str]]:
    rows = []
    for line in EXAMPLES.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # the example file has one malformed line on purpose
        if re.fullmatch(r"a\d+", rec.get("id", "")):  # the Alpaca records, not the copies or the note
            rows.append(rec)
    return rows


def paraphrases(recs: list[dict[str, str]], n: int) -> list[SampleInput]:
    """Heavily reworded variants of a few samples: new words, same few topics."""
    rng = random.Random(7)
    ops = operators(vocabulary_from(r["output"] for r in recs))
    out = []
    for k in range(n):
        rec = recs[k % 3]
        text, _ = perturb_text(f"{rec['instruction']} {rec['input']} {rec['output']}", rng, 6, ops)
        out.append(SampleInput(id=f"p{k}", text=text, metadata={"generator": "collapsing"}))
    return out


@pytest.fixture
def curator(tmp_path: Path):
    c = Curator(Settings.load(data_dir=tmp_path, monitor={"clusters": 4, "min_window_kept": 5}))
    c.create_collection("m")
    yield c
    c.close()


def test_second_phase_of_paraphrases_raises_the_collapse_flag(curator: Curator) -> None:
    recs = [r for r in originals() if len(r["output"].split()) >= 8]
    state = curator._state(curator._record("m"))
    state.clock = lambda: T0 + 60
    phase1 = [
        SampleInput(
            id=r["id"],
            instruction=r["instruction"],
            input=r["input"],
            output=r["output"],
            metadata={"generator": "varied"},
        )
        for r in recs
    ]
    curator.filter("m", phase1)
    state.clock = lambda: T0 + 3600 + 60
    decisions = curator.filter("m", paraphrases(recs, 40))
    assert sum(d.verdict == "keep" for d in decisions) >= 5  # enough admitted to judge the window

    stats = curator.stats(StatsQuery(collection="m", bucket_seconds=3600))
    first, second = stats.diversity
    assert first.kept >= 5 and not first.collapsed
    assert "mean_nn_distance" in second.collapsed
    assert second.mean_nn_distance is not None and first.mean_nn_distance is not None
    assert second.mean_nn_distance < first.mean_nn_distance * 0.7
    assert second.cluster_entropy is not None and first.cluster_entropy is not None
    assert second.distinct_3 is not None and first.distinct_3 is not None
    assert second.distinct_3 < first.distinct_3

    by_generator = curator.stats(StatsQuery(collection="m", bucket_seconds=3600, group_by="generator"))
    assert {w.group for w in by_generator.diversity} == {"varied", "collapsing"}


def test_windows_survive_a_restart(tmp_path: Path) -> None:
    c = Curator(Settings.load(data_dir=tmp_path))
    c.create_collection("m")
    c._state(c._record("m")).clock = lambda: T0
    c.filter("m", [SampleInput(id="a", text="Rivers carry sediment to the sea over thousands of years.")])
    c.close()
    again = Curator(Settings.load(data_dir=tmp_path))
    (w,) = again.stats(StatsQuery(collection="m", bucket_seconds=3600)).diversity
    assert (w.kept, w.mean_nn_distance, w.distinct_3) == (1, 1.0, 1.0)
    assert w.start.timestamp() == T0
    again.close()
