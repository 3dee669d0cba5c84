"""Where the dedup stage's time goes: exclusive µs per sample for each part, without a profiler's distortion.

Run from the repository root::

    .venv/bin/python benchmarks/dedup_breakdown.py [--set alpaca_long] [--copies 5000] [--seed 0]

It builds the same data set as dedup_benchmark.py, wraps the stage's parts
(normalisation, tokenising, shingle hashing, signatures, LSH query and insert
in the collection index and in the per-request scratch index, the admission
log, ...) with wall-clock timers, runs the stage once, pinned to one CPU, and
prints one JSON line: per part, exclusive µs per sample and calls (garbage
collections are a part of their own). Time
inside a part excludes the parts nested in it, so the parts add up to the
stage's total. The timers themselves add roughly 0.3 µs per call.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import curator.checks.base as base_mod  # noqa: E402
import curator.checks.near_duplicate as near_mod  # noqa: E402
import curator.pipeline.pipeline as pipeline_mod  # noqa: E402
import curator.state.admission_log as log_mod  # noqa: E402
import curator.state.collection as collection_mod  # noqa: E402
from benchmarks import dedup_benchmark as bench  # noqa: E402
from curator.checks.empty import EmptyCheck  # noqa: E402
from curator.checks.exact_duplicate import ExactDuplicateCheck, ExactIndex  # noqa: E402
from curator.checks.near_duplicate import MinHashIndex, NearDuplicateCheck  # noqa: E402


class Timers:
    """Nested wall-clock timers: each label gets its inclusive time minus that of timers nested inside."""

    def __init__(self) -> None:
        self.exclusive: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[list[float]] = []  # [start, child time]

    def wrap(self, label, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            label_ = label(*args) if callable(label) else label
            self._stack.append([time.perf_counter(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                start, child = self._stack.pop()
                spent = time.perf_counter() - start
                self.exclusive[label_] = self.exclusive.get(label_, 0.0) + spent - child
                self.calls[label_] = self.calls.get(label_, 0) + 1
                if self._stack:
                    self._stack[-1][1] += spent

        return timed

    def gc_callback(self, phase: str, info: dict) -> None:
        """Book garbage collections as their own part, taken out of whatever part they interrupted."""
        if phase == "start":
            self._gc_start = time.perf_counter()
            return
        spent = time.perf_counter() - self._gc_start
        label = f"garbage collection (generation {info['generation']})"
        self.exclusive[label] = self.exclusive.get(label, 0.0) + spent
        self.calls[label] = self.calls.get(label, 0) + 1
        if self._stack:
            self._stack[-1][1] += spent


def instrument(timers: Timers, collection_indexes: set[int]) -> None:
    """Wrap the stage's parts (module attributes and methods) with timers."""

    def where(self, *_):
        return "collection" if id(self) in collection_indexes else "scratch"

    def patch(owner, attr, label):
        setattr(owner, attr, timers.wrap(label, getattr(owner, attr)))

    patch(pipeline_mod.Pipeline, "run", "pipeline (rest: Item/Decision objects, _pass loop)")
    patch(base_mod, "normalize", "normalize (Item.build)")
    patch(EmptyCheck, "evaluate_batch", "empty check")
    patch(ExactDuplicateCheck, "features", "exact: blake2b digests")
    patch(NearDuplicateCheck, "features", "near: features (rest)")
    patch(near_mod, "words", "near: words() tokenise")
    patch(near_mod, "shingle_hashes", "near: shingle_hashes (xxh32 per token)")
    patch(near_mod, "signatures", "near: signatures (numpy)")
    base_mod.IndexedCheck.evaluate_batch = timers.wrap(
        lambda self, *_: f"{self.name}: evaluate_batch (rest: per-item loop)",
        base_mod.IndexedCheck.evaluate_batch,
    )
    base_mod.IndexedCheck.new_index = timers.wrap(
        lambda self, *_: f"{self.name}: new_index (scratch per check call)", base_mod.IndexedCheck.new_index
    )
    for cls, tag in ((MinHashIndex, "near"), (ExactIndex, "exact")):
        for method in ("best_matches", "add"):
            setattr(
                cls,
                method,
                timers.wrap(
                    functools.partial(lambda t, m, self, *_: f"{t}: {m} ({where(self)})", tag, method),
                    getattr(cls, method),
                ),
            )
    patch(near_mod.MinHashLSH, "insert", "near: datasketch MinHashLSH.insert")
    patch(near_mod.MinHashLSH, "query", "near: datasketch MinHashLSH.query")
    stack = timers.wrap("stack() feature rows", base_mod.stack)
    base_mod.stack = stack
    collection_mod.stack = stack
    reasons = timers.wrap("reasons_for (policy)", base_mod.reasons_for)
    base_mod.reasons_for = reasons
    pipeline_mod.reasons_for = reasons
    patch(collection_mod.CollectionState, "admit", "admit (rest)")
    patch(log_mod.Batch, "encode", "admission log: encode")
    patch(log_mod.os, "fsync", "admission log: fsync")
    patch(log_mod.AdmissionLog, "append", "admission log: write")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="alpaca_long", choices=("alpaca", "alpaca_long"))
    parser.add_argument("--copies", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--shingle-size", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--state-dir")
    args = parser.parse_args(argv)

    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    records = json.loads(bench.DATA.read_text())
    if args.set == "alpaca_long":
        records = bench.lengthen(records)
    data = bench.build_set(args.set, records, args.copies, args.seed, bench.MAX_EDIT_RATE)

    timers = Timers()
    collection_indexes: set[int] = set()
    real_init = collection_mod.CollectionState.__init__

    def init(self, *a, **kw):
        real_init(self, *a, **kw)
        collection_indexes.update(id(ix) for ix in self._indexes.values())

    collection_mod.CollectionState.__init__ = init
    instrument(timers, collection_indexes)
    policy_args = (args.threshold, args.num_perm, args.shingle_size)
    gc.callbacks.append(timers.gc_callback)
    _, elapsed = bench.run_stage(
        data.samples, NearDuplicateCheck(), policy_args, args.batch_size, args.state_dir
    )
    n = len(data.samples)
    parts = sorted(timers.exclusive.items(), key=lambda kv: -kv[1])
    line = {
        "benchmark": "dedup_breakdown",
        "set": args.set,
        "samples": n,
        "stage_us_per_sample": round(elapsed * 1e6 / n, 1),
        "samples_per_s": round(n / elapsed, 1),
        "cpu": cpu,
        "parts_us_per_sample": {k: round(v * 1e6 / n, 1) for k, v in parts},
        "calls": {k: timers.calls[k] for k, _ in parts},
    }
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
