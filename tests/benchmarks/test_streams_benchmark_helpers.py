"""Pure helpers of the streams benchmark (fast: no server)."""

from __future__ import annotations

import pytest

from benchmarks.streams_benchmark import (
    ProbeResult,
    RecordCycle,
    StreamResult,
    latency_summary,
    percentile,
    serving_port,
    summarise,
)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) is None


def test_latency_summary_in_ms() -> None:
    assert latency_summary([0.001, 0.002, 0.5]) == {"p50": 2.0, "p99": 500.0, "max": 500.0}
    assert latency_summary([]) == {"p50": None, "p99": None, "max": None}


def test_serving_port_reads_the_server_log_line() -> None:
    line = "2025-01-01 INFO curator.api.server: curator serving on 127.0.0.1:40123 (data in /tmp/x)\n"
    assert serving_port(line) == 40123
    assert serving_port("curator ready") is None


def test_record_cycle_sends_each_record_once_per_pass() -> None:
    records = [{"output": str(i)} for i in range(5)]
    cycle = RecordCycle(records)
    taken = [r["output"] for _ in range(3) for r in cycle.take(2)]
    assert taken == ["0", "1", "2", "3", "4", "0"]
    with pytest.raises(ValueError):
        RecordCycle([])


def test_summarise_counts_errors_throughput_and_probes() -> None:
    ok = StreamResult(sent=3, answered=3, answered_in_window=2, latencies=[0.1, 0.2, 0.3])
    ok.verdicts.update(["KEEP", "KEEP", "DROP"])
    bad = StreamResult(sent=2, answered=1, response_errors=1, rpc_error="CANCELLED", latencies=[1.0])
    probes = [
        ProbeResult(0.01, "SERVING"),
        ProbeResult(None, "DEADLINE_EXCEEDED"),
        ProbeResult(0.02, "SERVING"),
    ]
    out = summarise([ok, bad], probes, seconds=2.0, batch=4)
    assert (out["messages_sent"], out["messages_answered"], out["unanswered_messages"]) == (5, 4, 1)
    assert out["errors"] == 1 + 1 + 1  # unanswered, error response, stream ended badly
    assert out["stream_errors"] == {"CANCELLED": 1}
    assert out["streams_answered_at_least_once"] == 2
    assert out["answers_per_stream"] == {"min": 1, "median": 1.0, "max": 3}
    assert (out["messages_per_s"], out["samples_per_s"]) == (1.0, 4.0)
    assert out["latency_ms"]["max"] == 1000.0
    assert out["verdicts"] == {"DROP": 1, "KEEP": 2}
    health = out["health"]
    assert (health["probes"], health["answered"], health["serving"], health["failed"]) == (3, 2, 2, 1)
    assert health["failures"] == {"DEADLINE_EXCEEDED": 1}
    assert health["latency_ms"]["max"] == 20.0
