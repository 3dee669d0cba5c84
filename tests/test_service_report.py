"""A collection's real-data reference and its coverage report, through the service."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.domain.evalset import EvalItem
from curator.domain.policy import Policy
from curator.domain.validation import SampleInput
from curator.errors import InvalidArgument, NotFound
from curator.service import Curator
from curator.settings import Settings
from tests.support.fake_encoder import checks_with

TOPICS = {
    "cooking": "simmer the onion garlic and tomato sauce slowly then season with basil and salt",
    "astronomy": "the telescope observed the planet orbit around its distant star through the night sky",
    "finance": "the bank raised interest rates so the loan payments and mortgage costs went up",
}


def _text(topic: str, k: int) -> str:
    return f"{TOPICS[topic]} variant {k} example {k * 7} note {k * 13}"


def test_the_report_shows_the_region_the_synthetic_set_misses(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data")
    curator = Curator(settings, checks=checks_with(settings=settings))
    try:
        # Variants of a few topics: duplicates by design, so only flag them (and keep them all).
        flag = {"action": "flag", "review_threshold": None}
        policy = Policy.model_validate(
            {
                "checks": {
                    "near_duplicate": {"enabled": False},
                    "semantic": {"rules": {"SEMANTIC_DUPLICATE": flag}},
                }
            }
        )
        curator.create_collection("c", policy)
        samples = [
            SampleInput(id=f"{t}{k}", text=_text(t, k), metadata={"source": "real" if k % 5 else "gen-a"})
            for t in ("cooking", "astronomy")
            for k in range(40)
        ]
        decided = curator.filter("c", samples)
        kept = sum(d.verdict.value == "keep" for d in decided)
        assert kept == 80
        reference = [EvalItem(f"r{t}{k}", _text(t, 100 + k)) for t in TOPICS for k in range(30)]
        assert curator.add_reference("c", reference[:50]) == 50
        assert curator.add_reference("c", reference[50:]) == 90
        report = curator.report("c", group_by="source", k=3, clusters=3)
        assert report.reference_items == 90 and report.synthetic_kept == kept
        assert {row.value for row in report.mix} == {"real", "gen-a"}
        assert sum(row.kept for row in report.mix) == kept
        assert report.precision is not None and report.recall is not None
        assert report.recall < 0.8  # finance is real but never generated
        missed = [g for g in report.regions if g.status == "missed"]
        assert missed and all("bank raised interest" in t for t in missed[0].examples)
        assert set(report.reference_metrics) == {"mean_nn_distance", "distinct_3"}
        assert set(report.synthetic_metrics) == {"mean_nn_distance", "distinct_3"}
        [window] = report.windows  # everything was admitted within one day
        assert window.kept == 80
        assert set(window.window) == set(window.reference) == {"cluster_entropy", "distinct_3"}
        assert all(0 < v <= 1 for v in [*window.window.values(), *window.reference.values()])
        assert window.below == tuple(m for m, v in window.window.items() if v < 0.7 * window.reference[m])
        with pytest.raises(NotFound):
            curator.report("nope")
        with pytest.raises(InvalidArgument):
            curator.add_reference("c", [EvalItem("x", " ")])
        with pytest.raises(InvalidArgument):
            curator.report("c", k=0)
    finally:
        curator.close()
