"""Prometheus metrics agree with the decision log, and carry what dashboards break down by."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from curator.domain.review import ReviewAction, ReviewState
from curator.observability import metrics
from curator.service import Curator
from curator.settings import Settings
from curator.state.store import DecisionQuery, StatsQuery
from tests.support.fake_encoder import checks_with
from tests.support.reviews import BASE, OTHER, VARIANT, review_policy, sample


def samples(name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of metric ``name`` (full sample name) in the exposition, by sorted labels."""
    out = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def for_collection(name: str, collection: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {k: v for k, v in samples(name).items() if ("collection", collection) in k}


@pytest.fixture
def curator(tmp_path: Path) -> Iterator[Curator]:
    settings = Settings.load(data_dir=tmp_path / "data")
    c = Curator(settings, checks=checks_with(settings=settings))
    yield c
    c.close()


def test_decision_counters_have_the_same_totals_as_get_stats(curator: Curator, tmp_path: Path) -> None:
    name = f"m-{tmp_path.name[-20:]}".lower().replace("_", "-")
    curator.create_collection(name, review_policy())
    curator.filter(
        name,
        [
            sample("a", BASE, generator="g1"),
            sample("b", VARIANT, generator="g2"),
            sample("c", BASE, generator="g1"),
            sample("d", OTHER),
            sample("e", ""),  # EMPTY
        ],
    )
    stats = curator.stats(StatsQuery(collection=name))
    counted = for_collection("curator_decisions_total", name)
    by_verdict: dict[str, float] = {}
    for labels, value in counted.items():
        by_verdict[dict(labels)["verdict"]] = by_verdict.get(dict(labels)["verdict"], 0) + value
    assert by_verdict == {"keep": stats.totals.keep, "drop": stats.totals.drop, "review": stats.totals.review}
    assert sum(counted.values()) == stats.totals.total == 5
    assert counted[(("collection", name), ("generator", "g1"), ("verdict", "drop"))] == 1
    assert counted[(("collection", name), ("generator", ""), ("verdict", "drop"))] == 1
    reasons: dict[str, float] = {}
    for labels, value in for_collection("curator_decision_reasons_total", name).items():
        reasons[dict(labels)["reason"]] = reasons.get(dict(labels)["reason"], 0) + value
    assert reasons == stats.by_reason


def test_reviews_counters_and_the_pending_gauge_follow_the_queue(curator: Curator, tmp_path: Path) -> None:
    name = f"r-{tmp_path.name[-20:]}".lower().replace("_", "-")
    curator.create_collection(name, review_policy())
    curator.filter(name, [sample("a", BASE), sample("b", VARIANT)])
    assert for_collection("curator_review_pending", name) == {(("collection", name),): 1}
    [pending] = curator.list_decisions(
        DecisionQuery(collection=name, review_state=ReviewState.PENDING)
    ).decisions
    curator.review_decision(pending.id, ReviewAction.APPROVE, "alice")
    assert for_collection("curator_reviews_total", name) == {(("action", "approve"), ("collection", name)): 1}
    assert for_collection("curator_review_pending", name) == {}
    assert for_collection("curator_collection_kept_samples", name) == {(("collection", name),): 2}
    index = {dict(k)["check"]: v for k, v in for_collection("curator_index_entries", name).items()}
    assert index == {"exact_duplicate": 2, "near_duplicate": 2}  # semantic is disabled: no index


def test_checks_report_latency_and_batch_size(curator: Curator, tmp_path: Path) -> None:
    before = samples("curator_check_batch_samples_sum").get((("check", "exact_duplicate"),), 0.0)
    curator.create_collection("lat", review_policy())
    curator.filter("lat", [sample("a", BASE), sample("d", OTHER)])
    after = samples("curator_check_batch_samples_sum")[(("check", "exact_duplicate"),)]
    assert after - before == 2
    assert samples("curator_check_duration_seconds_count")[(("check", "exact_duplicate"),)] >= 1


def test_generator_label_values_are_capped() -> None:
    bounded = metrics._Bounded(2)
    assert [bounded(v) for v in ["a", "b", "c", "a"]] == ["a", "b", metrics.OTHER, "a"]
