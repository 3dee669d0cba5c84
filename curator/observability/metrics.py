"""Prometheus metrics, one registry per process (the exposition ``curator serve`` serves at /metrics).

Counters count what this process did since it started, as Prometheus expects
(``rate()`` and ``increase()`` absorb restarts); the durable totals are the
decision log's, through ``GetStats``. Within one process the two agree: every
decision logged is counted here once, after its transaction committed.

Metric names and labels are documented in docs/metrics.md and used by
deploy/grafana/curator-dashboard.json; change them together.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter as Tally
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

if TYPE_CHECKING:
    from curator.state.store import LoggedDecision

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER = "_other"  # label value once a label has seen max_label_values distinct values

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

DECISIONS = Counter(
    "curator_decisions",
    "Decisions logged, by collection, verdict and generator (the sample's generator metadata).",
    ["collection", "verdict", "generator"],
    registry=REGISTRY,
)
REASONS = Counter(
    "curator_decision_reasons",
    "Reasons given with logged decisions, by collection, reason code, check and the decision's verdict.",
    ["collection", "reason", "check", "verdict"],
    registry=REGISTRY,
)
LOST_RACES = Counter(
    "curator_commit_lost_races",
    "Commits refused because another process admitted to the collection first (then caught up and retried).",
    registry=REGISTRY,
)
REVIEWS = Counter(
    "curator_reviews",
    "Human reviews of REVIEW decisions, by collection and action (approve / reject).",
    ["collection", "action"],
    registry=REGISTRY,
)
CHECK_SECONDS = Histogram(
    "curator_check_duration_seconds",
    "Time one check spent on one batch (features plus evaluate_batch).",
    ["check"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
CHECK_BATCH = Histogram(
    "curator_check_batch_samples",
    "Samples per check call (after earlier checks dropped some).",
    ["check"],
    buckets=_SIZE_BUCKETS,
    registry=REGISTRY,
)
REQUEST_SAMPLES = Histogram(
    "curator_filter_request_samples",
    "Samples per Filter request (unary or one stream message).",
    buckets=_SIZE_BUCKETS,
    registry=REGISTRY,
)
EMBEDDING_BATCH = Histogram(
    "curator_embedding_batch_texts",
    "Texts per embedding model call, after the dynamic batcher gathered concurrent requests.",
    buckets=_SIZE_BUCKETS,
    registry=REGISTRY,
)
EMBEDDING_SECONDS = Histogram(
    "curator_embedding_call_seconds",
    "Duration of one embedding model call.",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
GRPC_REQUESTS = Counter(
    "curator_grpc_requests",
    "gRPC calls handled, by method and status code.",
    ["method", "code"],
    registry=REGISTRY,
)
GRPC_SECONDS = Histogram(
    "curator_grpc_request_duration_seconds",
    "gRPC call latency, by method (streams: the whole stream).",
    ["method"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)


class _Bounded:
    """Caps a label's distinct values so a runaway metadata value cannot explode the series count."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(value)
            return value


_generator_key = "generator"
MAX_LABEL_CHARS = 128  # a label value longer than this is cut: /metrics stays small whatever clients send
_generators = _Bounded(100)


def configure(generator_key: str, max_label_values: int) -> None:
    """Which metadata key is the generator label, and how many distinct values it may take."""
    global _generator_key, _generators
    _generator_key = generator_key
    _generators = _Bounded(max_label_values)


def observe_decisions(collection: str, logged: Sequence[LoggedDecision]) -> None:
    """Count decisions once their log transaction committed."""
    decisions: Tally[tuple[str, str]] = Tally()
    reasons: Tally[tuple[str, str, str]] = Tally()
    for entry in logged:  # counted here, then one increment per label set (labels() is the costly part)
        verdict = str(entry.decision.verdict)
        decisions[verdict, entry.metadata.get(_generator_key, "")[:MAX_LABEL_CHARS]] += 1
        for reason in entry.decision.reasons:
            reasons[str(reason.code), reason.check, verdict] += 1
    for (verdict, generator), n in decisions.items():
        DECISIONS.labels(collection, verdict, _generators(generator)).inc(n)
    for (code, check, verdict), n in reasons.items():
        REASONS.labels(collection, code, check, verdict).inc(n)


def observe_review(collection: str, action: str) -> None:
    REVIEWS.labels(collection, action).inc()


def observe_check(check: str, seconds: float, samples: int) -> None:
    CHECK_SECONDS.labels(check).observe(seconds)
    CHECK_BATCH.labels(check).observe(samples)


def observe_embedding_call(texts: int, seconds: float) -> None:
    EMBEDDING_BATCH.observe(texts)
    EMBEDDING_SECONDS.observe(seconds)


class StateSource(Protocol):
    """What the live-state collector reads: the service (kept in a weak set, never kept alive)."""

    def index_sizes(self) -> dict[tuple[str, str], int]: ...

    def kept_counts(self) -> dict[str, int]: ...

    def pending_reviews(self) -> dict[str, int]: ...


class _StateCollector:
    """Gauges read at scrape time from every live service in this process."""

    def __init__(self) -> None:
        self.sources: weakref.WeakSet[StateSource] = weakref.WeakSet()  # type: ignore[type-arg]

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        families = self._families()
        index, kept, pending = families
        for source in list(self.sources):
            for (collection, check), size in source.index_sizes().items():
                index.add_metric([collection, check], size)
            for collection, n in source.kept_counts().items():
                kept.add_metric([collection], n)
            for collection, n in source.pending_reviews().items():
                pending.add_metric([collection], n)
        return iter(families)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "curator_index_entries",
                "Entries in a loaded collection's index, by check (exact, near-duplicate, semantic).",
                labels=["collection", "check"],
            ),
            GaugeMetricFamily(
                "curator_collection_kept_samples",
                "Samples admitted to a loaded collection (KEEP decisions plus approved reviews).",
                labels=["collection"],
            ),
            GaugeMetricFamily(
                "curator_review_pending",
                "REVIEW decisions waiting for a person, by collection.",
                labels=["collection"],
            ),
        )


_STATE = _StateCollector()
REGISTRY.register(_STATE)  # type: ignore[arg-type]


def watch(source: StateSource) -> None:
    """Report ``source``'s index sizes, kept counts and review queue on every scrape."""
    _STATE.sources.add(source)


def unwatch(source: StateSource) -> None:
    _STATE.sources.discard(source)


def exposition() -> bytes:
    """The Prometheus text exposition of this process's metrics."""
    return generate_latest(REGISTRY)
