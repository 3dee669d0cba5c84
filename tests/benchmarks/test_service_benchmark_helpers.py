"""Pure helpers of the service benchmark (fast: no model, no server)."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from benchmarks.service_benchmark import (
    LoadMeter,
    Stages,
    TimedRLock,
    chunks,
    interval_union,
    linear_slope,
    machine_busy_seconds,
    paced_schedule,
    padded_tokens,
    quantiles_ms,
    record_text,
    rss_bytes,
    thread_cpu_seconds,
    thread_group,
)
from curator.domain.sample import ContentShape, Sample


def test_record_text_matches_sample_full_text() -> None:
    rec = {"instruction": "Do this.", "input": "", "output": "Done."}
    sample = Sample(id="x", shape=ContentShape.ALPACA, **rec)
    assert record_text(rec) == sample.full_text == "Do this.\nDone."


def test_chunks() -> None:
    assert chunks(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert chunks([], 3) == []


def test_quantiles_ms() -> None:
    q = quantiles_ms([0.001 * k for k in range(1, 101)], (50, 99))
    assert q["p50"] == pytest.approx(50.5)
    assert q["p99"] == pytest.approx(99.01)
    assert all(math.isnan(v) for v in quantiles_ms([], (50,)).values())


def test_padded_tokens_sorts_by_characters_then_pads_each_batch() -> None:
    # Characters order the texts as sentence-transformers does; tokens decide the padding.
    chars = [10, 40, 20, 30]
    toks = [3, 12, 5, 9]
    # sorted by chars desc: tokens 12, 9, 5, 3 → batches of 2: [12, 9] → 24, [5, 3] → 10
    assert padded_tokens(chars, toks, 2) == 34
    assert padded_tokens(chars, toks, 4) == 48
    assert padded_tokens(chars, toks, 1) == sum(toks)
    assert padded_tokens([], [], 8) == 0


def test_paced_schedule_staggers_streams() -> None:
    a = paced_schedule(100.0, 1.0, 0, 4, 3)
    b = paced_schedule(100.0, 1.0, 2, 4, 3)
    assert a == [100.0, 101.0, 102.0]
    assert b == [100.5, 101.5, 102.5]
    merged = sorted(t for k in range(4) for t in paced_schedule(0.0, 1.0, k, 4, 2))
    assert np.allclose(np.diff(merged), 0.25)


def test_interval_union() -> None:
    assert interval_union([]) == 0.0
    assert interval_union([(0, 1), (2, 3)]) == 2.0
    assert interval_union([(0, 2), (1, 3), (1.5, 2.5)]) == 3.0
    assert interval_union([(0, 5), (1, 2)]) == 5.0


def test_linear_slope() -> None:
    assert linear_slope([0, 1, 2], [1, 3, 5]) == pytest.approx(2.0)
    assert math.isnan(linear_slope([1], [1]))
    assert math.isnan(linear_slope([2, 2], [1, 5]))


def test_thread_accounting_reads_proc() -> None:
    assert rss_bytes() > 0
    cpu = thread_cpu_seconds()
    assert threading.get_native_id() in cpu
    assert thread_group("curator-rpc_3") == "grpc handlers (curator-rpc)"
    assert thread_group("curator-embedder") == "model (embedder thread)"
    assert thread_group("os:python") == "model (torch intra-op workers)"
    assert thread_group("os:grpc_global_tim") == "grpc core / other native"


def test_stages_wrap_and_undo() -> None:
    class Thing:
        def work(self, x: int) -> int:
            return x + 1

    stages = Stages()
    stages.wrap(Thing, "work", lambda self, *a: "work")
    assert Thing().work(1) == 2
    assert stages.calls["work"] == 1
    stages.undo()
    Thing().work(1)
    assert stages.calls["work"] == 1


def test_timed_rlock_is_reentrant_and_counts_outermost_only() -> None:
    stages = Stages()
    lock = TimedRLock(threading.RLock(), stages, "l")
    with lock, lock:
        pass
    assert stages.calls["l_wait"] == 1
    assert stages.calls["l_held"] == 1


def test_load_meter_counts_own_cpu_apart_from_other_processes() -> None:
    assert machine_busy_seconds() > 0
    with LoadMeter() as load:
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:  # busy: our own CPU, not "other processes"
            pass
    assert load.own_cores > 0.5
    assert load.other_cores >= 0.0
