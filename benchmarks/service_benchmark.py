"""End-to-end service benchmark: Filter over gRPC against raw model.encode, latency, vector search, memory.

Run from the repository root::

    .venv/bin/python benchmarks/service_benchmark.py [--enable-checks all] [--texts 1000] [--quick] \
        [--out results.jsonl]

Sections (``--sections``, default all, in this order):

``throughput``
    Samples/s of ``Filter`` over gRPC on loopback (the default policy, or every
    check with ``--enable-checks all``), server in this process, ``--clients``
    client threads (one channel each) sending requests of N samples
    (``--request-sizes``) to a fresh collection per repetition; beside it, raw
    ``load_encoder().encode(texts)`` of the same encoder instance on the same
    texts. Each repetition runs raw, then end to end, so each ratio compares
    neighbouring runs; medians over the repetitions during which no other
    process used the cores are reported. The texts are Alpaca records
    (``Sample.full_text``, ~60 words) that every check before the model lets
    through, so every sample reaches the model. The service's stages are timed
    by wrappers in this process, which split the ratio into model busy time,
    padding and speed per token slot.
``latency``
    p50/p99 of 1- and 8-sample requests (``--latency-sizes``) on
    ``--streams`` FilterStream bidi streams, open loop: request k of a stream
    is due at a fixed scheduled time, the total offered load is
    ``--load`` × the saturation samples/s of ``throughput``, and latency runs
    from the scheduled send time to the response.
``vectors``
    ``VectorIndex(384, hnsw_threshold=20000)`` pre-filled with random unit
    vectors at each ``--vector-sizes`` (10k stays flat/exact, 100k is HNSW),
    queried with real embeddings of Alpaca texts: single-query and batch-of-32
    latency (also while the model runs), the HNSW build time, and recall@1 of
    HNSW against exact search at several efSearch values.
``memory``
    RSS growth per kept sample of a collection admitted through
    ``curator.service.Curator`` in a fresh process (``--memory-child``) with
    precomputed embeddings, next to tracemalloc, the analytical bytes of each
    index and the on-disk bytes per kept sample.

One JSON line per measurement goes to stdout (and to ``--out``); the last line
is a summary against the issue's targets. benchmarks/README.md explains every
field. The server runs with torch's default intra-op threads; the client
threads share the same cores, which is part of the measurement.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import functools
import gc
import json
import platform
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "alpaca_5000.json"
TARGET_RATIO = 0.85  # end-to-end samples/s ≥ 0.85 × raw encode
TARGET_P99_MS = 100.0  # at half saturation
TARGET_SEARCH_P50_MS = 1.0  # single query at 100k kept samples
DIMENSION = 384

# --------------------------------------------------------------------------- pure helpers


def record_text(record: Mapping[str, str]) -> str:
    """What the semantic check embeds for an Alpaca sample (``Sample.full_text``)."""
    return "\n".join(p for p in (record.get("instruction"), record.get("input"), record.get("output")) if p)


def word_count(text: str) -> int:
    return len(text.split())


def chunks(seq: Any, size: int) -> list[Any]:
    return [seq[i : i + size] for i in range(0, len(seq), size)]


def quantiles_ms(seconds: Sequence[float], qs: Sequence[float] = (50, 99)) -> dict[str, float]:
    """``{"p50": ms, "p99": ms, ...}`` (numpy's linear interpolation); NaN when empty."""
    if not len(seconds):
        return {f"p{q:g}": float("nan") for q in qs}
    values = np.percentile(np.asarray(seconds, dtype=np.float64) * 1000.0, list(qs))
    return {f"p{q:g}": round(float(v), 3) for q, v in zip(qs, values, strict=True)}


def padded_tokens(char_lengths: Sequence[int], token_lengths: Sequence[int], batch_size: int) -> int:
    """Token slots one sentence-transformers ``encode`` call computes, padding included.

    ``encode`` sorts its texts by character length (longest first), cuts them
    into batches of ``batch_size`` and pads each batch to its longest text.
    """
    if not len(char_lengths):
        return 0
    order = np.argsort([-c for c in char_lengths])
    toks = np.asarray(token_lengths)[order]
    return sum(len(b) * int(b.max()) for b in chunks(toks, batch_size))


def paced_schedule(start: float, interval: float, stream: int, streams: int, count: int) -> list[float]:
    """Due times of one stream's requests: every ``interval`` s, streams staggered evenly."""
    offset = interval * stream / streams
    return [start + offset + k * interval for k in range(count)]


def interval_union(intervals: Sequence[tuple[float, float]]) -> float:
    """Total length covered by possibly overlapping (start, end) intervals."""
    total = 0.0
    end = float("-inf")
    for s, e in sorted(intervals):
        if e <= end:
            continue
        total += e - max(s, end)
        end = e
    return total


def linear_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs (NaN with fewer than two distinct xs)."""
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if len(x) < 2 or np.ptp(x) == 0:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all processes, all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class LoadMeter:
    """Cores used by other processes while a block runs: machine busy time minus this process's."""

    def __enter__(self) -> LoadMeter:
        self.t0, self.m0, self.p0 = time.perf_counter(), machine_busy_seconds(), os.times()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.t0
        p1 = os.times()
        own = (p1.user + p1.system) - (self.p0.user + self.p0.system)
        other = machine_busy_seconds() - self.m0 - own
        self.own_cores = own / wall if wall else 0.0
        self.other_cores = max(0.0, other / wall) if wall else 0.0


def thread_cpu_seconds() -> dict[int, tuple[str, float]]:
    """tid → (comm, user+system CPU seconds) for every live thread of this process."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
            with open(f"/proc/self/task/{tid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(tid)] = (comm, (int(fields[11]) + int(fields[12])) / tick)
    return out


def thread_group(name: str) -> str:
    """Group a Python thread name (or an OS thread's comm) for the CPU breakdown."""
    for prefix, group in (
        ("curator-embedder", "model (embedder thread)"),
        ("curator-rpc", "grpc handlers (curator-rpc)"),
        ("bench-", "benchmark clients"),
        ("MainThread", "main thread"),
    ):
        if name.startswith(prefix):
            return group
    if name.startswith("os:python"):
        return "model (torch intra-op workers)"
    if name.startswith("os:"):
        return "grpc core / other native"
    return "other python threads"


def round_dict(d: Mapping[str, float], digits: int = 3) -> dict[str, float]:
    return {k: round(float(v), digits) for k, v in d.items()}


# --------------------------------------------------------------------------- instrumentation


class Stages:
    """Thread-seconds spent in wrapped functions, summed over every thread (cheap: per call)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.encodes: list[tuple[float, float, int, int, int]] = []  # t0, t1, texts, padded, real tokens
        self._undo: list[tuple[Any, str, Any]] = []

    def add(self, name: str, seconds: float) -> None:
        with self.lock:
            self.total[name] += seconds
            self.calls[name] += 1

    def reset(self) -> None:
        with self.lock:
            self.total.clear()
            self.calls.clear()
            self.encodes.clear()

    def wrap(self, owner: Any, attr: str, name: str | Callable[..., str]) -> None:
        original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(name(*args) if callable(name) else name, time.perf_counter() - t0)

        setattr(owner, attr, wrapper)
        self._undo.append((owner, attr, original))

    def wrap_encoder(self, encoder: Any, token_len: Mapping[str, int]) -> None:
        original = encoder.encode

        def encode(texts: Sequence[str]) -> np.ndarray:
            t0 = time.perf_counter()
            out = original(texts)
            t1 = time.perf_counter()
            toks = [token_len.get(t, 0) for t in texts]
            padded = padded_tokens([len(t) for t in texts], toks, encoder.batch_size)
            with self.lock:
                self.encodes.append((t0, t1, len(texts), padded, sum(toks)))
            return out

        encoder.encode = encode
        self._undo.append((encoder, "encode", None))

    def undo(self) -> None:
        for owner, attr, original in reversed(self._undo):
            if original is None:
                delattr(owner, attr)
            else:
                setattr(owner, attr, original)
        self._undo.clear()

    def model_summary(self, wall: float) -> dict[str, Any]:
        with self.lock:
            enc = list(self.encodes)
        if not enc:
            return {}
        busy = interval_union([(a, b) for a, b, *_ in enc])
        texts = sum(e[2] for e in enc)
        padded = sum(e[3] for e in enc)
        real = sum(e[4] for e in enc)
        return {
            "model_calls": len(enc),
            "model_texts": texts,
            "mean_texts_per_call": round(texts / len(enc), 1),
            "model_busy_s": round(busy, 3),
            "model_busy_fraction": round(busy / wall, 3) if wall else None,
            "model_texts_per_busy_s": round(texts / busy, 1) if busy else None,
            "padding_factor": round(padded / real, 3) if real else None,  # token slots computed / real tokens
            "model_padded_tokens_per_busy_s": round(padded / busy, 0) if busy else None,
        }


class TimedRLock:
    """An RLock that records how long callers waited for it (outermost acquisitions only)."""

    def __init__(self, inner: Any, stages: Stages, name: str) -> None:
        self._inner = inner
        self._stages = stages
        self._name = name
        self._depth = threading.local()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        depth = getattr(self._depth, "n", 0)
        t0 = time.perf_counter()
        got = self._inner.acquire(blocking, timeout)
        if got:
            if depth == 0:
                self._stages.add(f"{self._name}_wait", time.perf_counter() - t0)
                self._depth.t_held = time.perf_counter()
            self._depth.n = depth + 1
        return got

    def release(self) -> None:
        self._depth.n -= 1
        if self._depth.n == 0:
            self._stages.add(f"{self._name}_held", time.perf_counter() - self._depth.t_held)
        self._inner.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def instrument_service(stages: Stages) -> None:
    """Wrap the service's stages (in this process only) to account thread-seconds per stage."""
    import curator.service as service_mod
    from curator.api.servicer import CuratorServicer
    from curator.checks import REGISTRY
    from curator.checks.base import IndexedCheck
    from curator.dedup.vectors import VectorIndex
    from curator.pipeline.pipeline import Pipeline
    from curator.service import Curator
    from curator.state.collection import CollectionState
    from curator.state.sql import SqlStore

    stages.wrap(CuratorServicer, "Filter", "servicer_filter")
    for cls in {IndexedCheck, *REGISTRY}:
        if "evaluate_batch" in cls.__dict__:
            stages.wrap(cls, "evaluate_batch", lambda self, *a: f"evaluate.{self.name}")
    stages.wrap(Curator, "filter", "curator_filter")
    stages.wrap(service_mod, "validate_batch", "validate")
    stages.wrap(Pipeline, "run", "pipeline_run")
    stages.wrap(IndexedCheck, "prepare", lambda self, *a: f"prepare.{self.name}")
    stages.wrap(CollectionState, "admit", "admit (log append + fsync + index add)")
    stages.wrap(SqlStore, "record_decisions", "record_decisions (sqlite)")
    stages.wrap(VectorIndex, "search", "vector_search (faiss)")
    original_init = CollectionState.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.lock = TimedRLock(self.lock, stages, "collection_lock")

    CollectionState.__init__ = init  # type: ignore[method-assign]
    stages._undo.append((CollectionState, "__init__", original_init))


# --------------------------------------------------------------------------- data


@dataclass
class Pool:
    records: list[dict[str, str]]  # distinct (exact and near-dup) records, in seeded random order
    excluded: dict[str, int]  # reason code → records excluded before the benchmark
    total: int
    checks: list[str]  # the checks that screened them (every enabled check before the model)


def distinct_pool(args: argparse.Namespace) -> Pool:
    """Records that every check running before the model lets through, shuffled (seeded).

    The records go through the pipeline of every enabled check cheaper than the
    semantic check (EMPTY, exact and near-duplicate dedup among themselves, and
    whatever else is registered, e.g. bias and heuristics), without the model. A
    record one of them drops never reaches the model in the service, so it is
    left out, and counted by reason code in ``pool_excluded_before_run``. Any
    subset of what remains reaches the model.
    """
    from curator.checks import default_checks
    from curator.checks.base import IndexedCheck
    from curator.checks.semantic import SemanticCheck
    from curator.domain.decision import Action, Verdict
    from curator.domain.policy import CheckPolicy, Policy, resolve_policy
    from curator.domain.sample import ContentShape, Sample
    from curator.pipeline.pipeline import Pipeline
    from curator.state.collection import CollectionState

    records = json.loads(args.data.read_text())
    samples = [
        Sample(
            id=f"alpaca-{i}",
            shape=ContentShape.ALPACA,
            instruction=r.get("instruction", ""),
            input=r.get("input", ""),
            output=r.get("output", ""),
        )
        for i, r in enumerate(records)
    ]
    excluded: Counter[str] = Counter()
    keep: list[int] = []
    with tempfile.TemporaryDirectory(dir=args.state_dir, prefix="curator-bench-pool-") as tmp:
        every = default_checks(make_settings(args, Path(tmp)))
        model_cost = next(c.cost for c in every if isinstance(c, SemanticCheck))
        enabled = check_switches(args)
        checks = [c for c in every if c.cost < model_cost and enabled[c.name]]
        policy = resolve_policy(Policy(checks={c.name: CheckPolicy(enabled=True) for c in checks}), checks)
        state = CollectionState(
            "pool", policy, Path(tmp), [c for c in checks if isinstance(c, IndexedCheck)], fsync=False
        )
        pipeline = Pipeline(checks)
        for lo in range(0, len(samples), 1000):
            for k, d in enumerate(pipeline.run(samples[lo : lo + 1000], state, policy, 1)):
                if d.verdict is Verdict.DROP:
                    code = next(r.code for r in d.reasons if r.action is Action.DROP)
                    excluded[str(code)] += 1
                else:
                    keep.append(lo + k)
        state.close()
    random.Random(args.seed).shuffle(keep)
    names = [c.name for c in checks]
    return Pool([records[i] for i in keep], dict(sorted(excluded.items())), len(records), names)


def make_requests(collection: str, records: Sequence[Mapping[str, str]], size: int, prefix: str) -> list[Any]:
    from curator.v1 import curator_service_pb2 as pb

    out = []
    for lo in range(0, len(records), size):
        samples = [
            pb.Sample(
                id=f"{prefix}-{lo + k}",
                instruction=r.get("instruction", ""),
                input=r.get("input", ""),
                output=r.get("output", ""),
            )
            for k, r in enumerate(records[lo : lo + size])
        ]
        out.append(pb.FilterRequest(collection=collection, samples=samples))
    return out


def count_decisions(responses: Sequence[Any]) -> dict[str, Any]:
    """Verdicts and reason codes of every decision (nothing is excluded silently)."""
    from curator.v1 import curator_service_pb2 as pb

    names = {pb.KEEP: "keep", pb.DROP: "drop", pb.REVIEW: "review"}
    verdicts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    errors = 0
    for resp in responses:
        if resp.HasField("error"):
            errors += 1
        for d in resp.decisions:
            verdicts[names.get(d.verdict, str(d.verdict))] += 1
            for r in d.reasons:
                reasons[f"{names.get(d.verdict, d.verdict)}:{r.code}"] += 1
    return {
        "verdicts": dict(sorted(verdicts.items())),
        "reasons": dict(sorted(reasons.items())),
        "errors": errors,
    }


# --------------------------------------------------------------------------- the server


def make_settings(a: argparse.Namespace, data_dir: Path) -> Any:
    """The service's settings with the benchmark's overrides (port 0, batcher and encoder knobs)."""
    from curator.settings import Settings

    embeddings: dict[str, Any] = {
        "batch_size": a.batch_size,
        "max_batch_size": a.max_batch_size,
        "max_wait_ms": a.max_wait_ms,
    }
    if a.threads:
        embeddings["threads"] = a.threads
    if a.backend != "torch":
        embeddings["backend"] = a.backend
    if a.model_path is not None:
        embeddings["model_path"] = a.model_path
    return Settings.load(
        data_dir=data_dir,
        server={"port": 0, "max_workers": a.max_workers},
        embeddings=embeddings,
    )


@dataclass
class Bench:
    args: argparse.Namespace
    pool: Pool
    texts: list[str]  # the throughput texts (record_text of pool.records[: args.texts])
    encoder: Any
    token_len: dict[str, int]
    stages: Stages
    server: Any = None
    tmp: Any = None
    embeddings: np.ndarray | None = None  # raw embeddings of ``texts`` (queries for the vector section)
    saturation: float | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)

    def settings(self, data_dir: Path) -> Any:
        return make_settings(self.args, data_dir)

    def emit(self, line: dict[str, Any]) -> None:
        line = {"benchmark": "service", **line}
        self.lines.append(line)
        text = json.dumps(line)
        print(text, flush=True)
        if self.args.out:
            with self.args.out.open("a") as f:
                f.write(text + "\n")

    def channel(self) -> Any:
        import grpc

        return grpc.insecure_channel(
            f"127.0.0.1:{self.server.port}",
            options=[
                ("grpc.max_receive_message_length", 128 << 20),
                ("grpc.max_send_message_length", 128 << 20),
            ],
        )

    def create_collection(self, name: str) -> None:
        """A collection with the default policy, with the checks of ``--enable/--disable-checks``
        switched on or off (each check set explicitly when either is given)."""
        from curator.v1 import curator_service_pb2 as pb
        from curator.v1 import curator_service_pb2_grpc as pb_grpc

        request = pb.CreateCollectionRequest(name=name)
        if self.args.enable_checks or self.args.disable_checks:
            switches = check_switches(self.args)
            request.policy.CopyFrom(
                pb.Policy(checks={c: pb.CheckPolicy(enabled=on) for c, on in switches.items()})
            )
        with self.channel() as ch:
            pb_grpc.CuratorServiceStub(ch).CreateCollection(request, timeout=30)


def check_switches(args: argparse.Namespace) -> dict[str, bool]:
    """Whether the benchmark's collections run each registered check: the default policy's
    choice (opt-in checks off), then ``--enable-checks`` (names or ``all``), then ``--disable-checks``."""
    from curator.checks import REGISTRY

    out = {}
    for c in REGISTRY:
        on = c.enabled_by_default or "all" in args.enable_checks or c.name in args.enable_checks
        out[c.name] = on and c.name not in args.disable_checks
    return out


def domain_policy(args: argparse.Namespace) -> Any:
    """The in-process equivalent of Bench.create_collection's policy (None: the default)."""
    from curator.domain.policy import CheckPolicy, Policy

    if not (args.enable_checks or args.disable_checks):
        return None
    return Policy(checks={c: CheckPolicy(enabled=on) for c, on in check_switches(args).items()})


def start_server(bench: Bench) -> None:
    """The gRPC server in this process, then one request (not timed) through every enabled check.

    ``preload`` is off: the encoder is already loaded in this process (the raw
    encode uses the same instance), and the warm-up request loads every other
    enabled check's resources, or fails with the check's own message.
    """
    import grpc

    from curator.api.server import start
    from curator.v1 import curator_service_pb2_grpc as pb_grpc

    bench.tmp = tempfile.TemporaryDirectory(dir=bench.args.state_dir, prefix="curator-bench-service-")
    settings = bench.settings(Path(bench.tmp.name) / "server").model_copy(deep=True)
    settings.embeddings.preload = False
    bench.server = start(settings)
    if not bench.server.ready.wait(timeout=60):
        raise RuntimeError("server did not become ready within 60 s")
    name = f"warmup-{os.getpid()}"
    bench.create_collection(name)
    request = make_requests(name, bench.pool.records[-64:], 64, name)[0]
    try:
        with bench.channel() as ch:
            pb_grpc.CuratorServiceStub(ch).Filter(request, timeout=600)
    except grpc.RpcError as err:
        raise SystemExit(
            f"the warm-up Filter failed: {err.code().name}: {err.details()}\n"
            "Build the failing check's models, or leave the check out with --disable-checks NAME "
            "(the output then lists the checks that ran)."
        ) from err


# --------------------------------------------------------------------------- throughput


def run_raw(bench: Bench, chunk: int | None) -> tuple[float, dict[str, Any]]:
    """Seconds to encode every text with the encoder (in one call, or in calls of ``chunk``)."""
    gc.collect()
    bench.encoder.batch_size = bench.args.raw_batch_size
    bench.stages.reset()
    cpu0 = os.times()
    t0 = time.perf_counter()
    with LoadMeter() as load:
        if chunk:
            for part in chunks(bench.texts, chunk):
                bench.encoder.encode(part)
        else:
            out = bench.encoder.encode(bench.texts)
    wall = time.perf_counter() - t0
    cpu1 = os.times()
    bench.encoder.batch_size = bench.args.batch_size
    if not chunk and bench.embeddings is None:
        bench.embeddings = out  # the real queries of the vector section
    cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    return wall, {
        **bench.stages.model_summary(wall),
        "cpu_utilisation_of_cores": round(cpu / wall / (os.cpu_count() or 1), 3),
        "other_processes_cores": round(load.other_cores, 2),
    }


def run_clients(bench: Bench, requests: Sequence[Any], clients: int) -> dict[str, Any]:
    """Send every request from ``clients`` threads (one channel each, next request from a shared
    counter); wall time from the first send to the last response."""
    from curator.v1 import curator_service_pb2 as pb
    from curator.v1 import curator_service_pb2_grpc as pb_grpc

    channels = [bench.channel() for _ in range(clients)]
    stubs = [pb_grpc.CuratorServiceStub(ch) for ch in channels]
    for stub in stubs:  # connect before the clock starts
        stub.ListCollections(pb.ListCollectionsRequest(), timeout=30)
    responses: list[Any] = [None] * len(requests)
    latencies: list[float] = []
    client_cpu: list[float] = []
    nxt = iter(range(len(requests)))
    lock = threading.Lock()
    go = threading.Barrier(clients + 1)
    failures: list[BaseException] = []

    def worker(stub: Any) -> None:
        go.wait()
        c0 = time.thread_time()
        try:
            while True:
                with lock:
                    i = next(nxt, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                responses[i] = stub.Filter(requests[i], timeout=3600)
                latencies.append(time.perf_counter() - t0)
        except BaseException as err:
            failures.append(err)
        finally:
            with lock:
                client_cpu.append(time.thread_time() - c0)

    threads = [
        threading.Thread(target=worker, args=(s,), name=f"bench-client-{k}") for k, s in enumerate(stubs)
    ]
    for t in threads:
        t.start()
    gc.collect()
    bench.stages.reset()
    names = {t.native_id: t.name for t in threading.enumerate()}
    cpu0 = thread_cpu_seconds()
    proc0 = os.times()
    with LoadMeter() as load:
        go.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    proc1 = os.times()
    cpu1 = thread_cpu_seconds()
    for ch in channels:
        ch.close()
    if failures:
        raise failures[0]
    names.update({t.native_id: t.name for t in threading.enumerate()})
    by_group: defaultdict[str, float] = defaultdict(float)
    for tid, (comm, sec) in cpu1.items():
        before = cpu0.get(tid, (comm, 0.0))[1]
        name = names.get(tid, f"os:{comm}")
        by_group[thread_group(name)] += sec - before
    by_group[thread_group("bench-")] += sum(client_cpu)
    process_cpu = (proc1.user + proc1.system) - (proc0.user + proc0.system)
    by_group["unaccounted (exited threads)"] = max(0.0, process_cpu - sum(by_group.values()))
    n = sum(len(r.samples) for r in requests)
    stage_s = dict(bench.stages.total)
    return {
        "wall_s": wall,
        "samples": n,
        "decisions": count_decisions(responses),
        "request_latency_ms": quantiles_ms(latencies, (50, 90)),
        "model": bench.stages.model_summary(wall),
        "stage_ms_per_sample": {k: round(1000 * v / n, 3) for k, v in sorted(stage_s.items())},
        "cpu_s": round(process_cpu, 2),
        "cpu_utilisation_of_cores": round(process_cpu / wall / (os.cpu_count() or 1), 3),
        "other_processes_cores": round(load.other_cores, 2),
        "cpu_s_by_thread_group": round_dict(dict(sorted(by_group.items())), 2),
    }


def section_throughput(bench: Bench) -> None:
    """Repetitions of: raw encode (one call), raw encode in chunks, then end-to-end per request size.

    Each end-to-end run is compared with the raw encode of its own repetition (measured
    just before it). A repetition is *clean* when no other process used more than
    ``--max-other-load`` cores during any of its timed runs; when fewer than two of
    ``--repeat`` are clean, up to ``--repeat`` more are run. The headline figures are
    medians over the clean repetitions (over all of them when none is clean, flagged).
    """
    a = bench.args
    raw_all: list[float] = []
    raw_models: list[dict[str, Any]] = []
    raw_chunk: list[float] = []
    chunk_models: list[dict[str, Any]] = []
    e2e: dict[int, list[dict[str, Any]]] = {n: [] for n in a.request_sizes}
    clean: list[bool] = []
    r = 0
    while r < a.repeat or (sum(clean) < min(2, a.repeat) and r < 2 * a.repeat):
        loads = []
        wall, model = run_raw(bench, None)
        raw_all.append(wall)
        raw_models.append(model)
        loads.append(model["other_processes_cores"])
        if a.raw_chunk:
            wall, model = run_raw(bench, a.raw_chunk)
            raw_chunk.append(wall)
            chunk_models.append(model)
            loads.append(model["other_processes_cores"])
        for n in a.request_sizes:
            name = f"tput-n{n}-r{r}-{os.getpid()}"
            bench.create_collection(name)
            requests = make_requests(name, bench.pool.records[: len(bench.texts)], n, name)
            e2e[n].append(run_clients(bench, requests, a.clients))
            loads.append(e2e[n][-1]["other_processes_cores"])
        clean.append(max(loads) <= a.max_other_load)
        r += 1
    use = [k for k, c in enumerate(clean) if c] or list(range(len(clean)))
    n_texts = len(bench.texts)
    raw_rates = [n_texts / s for s in raw_all]
    raw_rate = float(np.median([raw_rates[k] for k in use]))
    words = [word_count(t) for t in bench.texts]
    common = {
        "texts": n_texts,
        "mean_words": round(float(np.mean(words)), 1),
        "mean_tokens": round(float(np.mean([bench.token_len[t] for t in bench.texts])), 1),
        "pool_distinct_records": len(bench.pool.records),
        "pool_excluded_before_run": bench.pool.excluded,
        "pool_screened_by": bench.pool.checks,
        "repeats_run": len(clean),
        "repeats_clean": [k for k, c in enumerate(clean) if c],
        "headline_over_repeats": use,
        "max_other_load_cores": a.max_other_load,
    }

    def median_of(values: Sequence[float]) -> int:
        """Index (into ``use``'s repetitions) of the median value."""
        picked = [values[k] for k in use]
        return use[int(np.argsort(picked)[len(picked) // 2])]

    raw_line: dict[str, Any] = {
        "section": "raw_encode",
        **common,
        "samples_per_s": round(raw_rate, 1),
        "samples_per_s_runs": [round(x, 1) for x in raw_rates],
        "other_processes_cores_runs": [m["other_processes_cores"] for m in raw_models],
        "model": raw_models[median_of(raw_rates)],
        "encoder_batch_size": a.raw_batch_size,
        "torch_threads": torch_threads(),
    }
    if raw_chunk:
        chunk_rates = [n_texts / s for s in raw_chunk]
        raw_line |= {
            "chunked": a.raw_chunk,
            "chunked_samples_per_s": round(float(np.median([chunk_rates[k] for k in use])), 1),
            "chunked_samples_per_s_runs": [round(x, 1) for x in chunk_rates],
            "chunked_ratio_runs": [round(c / r, 3) for c, r in zip(chunk_rates, raw_rates, strict=True)],
            "chunked_model": chunk_models[median_of(chunk_rates)],
        }
    bench.emit(raw_line)
    best = 0.0
    for n, runs in e2e.items():
        rates = [run["samples"] / run["wall_s"] for run in runs]
        rate = float(np.median([rates[k] for k in use]))
        best = max(best, rate)
        ratios = [e / r for e, r in zip(rates, raw_rates, strict=True)]
        ratio = float(np.median([ratios[k] for k in use]))
        k = median_of(ratios)  # the median repetition's breakdown
        m, raw_m = runs[k]["model"], raw_models[k]
        decomposition = {
            "model_busy_fraction": m["model_busy_fraction"],
            "padding_raw_over_e2e": round(raw_m["padding_factor"] / m["padding_factor"], 3),
            "token_slot_speed_e2e_over_raw": round(
                m["model_padded_tokens_per_busy_s"] / raw_m["model_padded_tokens_per_busy_s"], 3
            ),
        }
        decomposition["product"] = round(float(np.prod(list(decomposition.values()))), 3)
        bench.emit(
            {
                "section": "end_to_end",
                **common,
                "request_size": n,
                "clients": a.clients,
                "samples_per_s": round(rate, 1),
                "samples_per_s_runs": [round(x, 1) for x in rates],
                "raw_encode_samples_per_s_runs": [round(x, 1) for x in raw_rates],
                "ratio_to_raw_encode": round(ratio, 3),
                "ratio_runs": [round(x, 3) for x in ratios],
                "other_processes_cores_runs": [run["other_processes_cores"] for run in runs],
                "ratio_decomposition": decomposition,
                "target_ratio": TARGET_RATIO,
                "meets_target": ratio >= TARGET_RATIO,
                "contended": not any(clean),
                "breakdown_of_repeat": k,
                "raw_model_of_repeat": raw_m,
                **{key: v for key, v in runs[k].items() if key not in ("wall_s", "samples")},
                "max_batch_size": a.max_batch_size,
                "max_wait_ms": a.max_wait_ms,
                "encoder_batch_size": a.batch_size,
                "max_workers": a.max_workers,
                "torch_threads": torch_threads(),
                "faiss_omp_threads": faiss_threads(),
                "fsync": True,
            }
        )
    bench.saturation = best


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def checks_info(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The registered checks in pipeline order, and whether the benchmark's collections run them."""
    from curator.checks import REGISTRY

    switches = check_switches(args)
    return [
        {"name": c.name, "cost": c.cost, "enabled": switches[c.name], "by_default": c.enabled_by_default}
        for c in sorted(REGISTRY, key=lambda c: c.cost)
    ]


def faiss_threads() -> int:
    import faiss

    return int(faiss.omp_get_max_threads())


# --------------------------------------------------------------------------- latency


def run_latency(bench: Bench, size: int, rate: float, seconds: float, warmup: float) -> dict[str, Any]:
    """Open-loop FilterStream load: ``rate`` samples/s in total over ``--streams`` streams."""
    from curator.v1 import curator_service_pb2_grpc as pb_grpc

    a = bench.args
    streams = a.streams
    name = f"lat-n{size}-{os.getpid()}"
    bench.create_collection(name)
    interval = streams * size / rate  # seconds between one stream's requests
    per_stream = max(1, int((seconds + warmup) / interval))
    records = bench.pool.records
    need = per_stream * streams * size
    recs = [records[i % len(records)] for i in range(need)]
    start = time.perf_counter() + 0.5
    lat: list[tuple[float, float]] = []  # (due time, latency)
    lag: list[float] = []
    decisions: list[Any] = []
    lock = threading.Lock()

    def one_stream(k: int, channel: Any) -> None:
        mine = recs[k * per_stream * size : (k + 1) * per_stream * size]
        requests = make_requests(name, mine, size, f"{name}-s{k}")
        due = paced_schedule(start, interval, k, streams, len(requests))
        pending: deque[float] = deque()

        def gen() -> Iterator[Any]:
            for t_due, req in zip(due, requests, strict=True):
                delay = t_due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pending.append(t_due)
                with lock:
                    lag.append(time.perf_counter() - t_due)
                yield req

        call = pb_grpc.CuratorServiceStub(channel).FilterStream(gen())
        for resp in call:
            now = time.perf_counter()
            t_due = pending.popleft()
            with lock:
                lat.append((t_due, now - t_due))
                decisions.append(resp)

    channels = [bench.channel() for _ in range(streams)]
    from curator.v1 import curator_service_pb2 as pb

    for ch in channels:
        pb_grpc.CuratorServiceStub(ch).ListCollections(pb.ListCollectionsRequest(), timeout=30)
    bench.stages.reset()
    threads = [
        threading.Thread(target=one_stream, args=(k, ch), name=f"bench-stream-{k}")
        for k, ch in enumerate(channels)
    ]
    with LoadMeter() as load:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    end = time.perf_counter()
    for ch in channels:
        ch.close()
    lat.sort()
    measured = [x for due, x in lat if due >= start + warmup]
    third = max(1, len(measured) // 3)
    wall = end - start
    first = quantiles_ms(measured[:third], (50,))["p50"]
    last = quantiles_ms(measured[-third:], (50,))["p50"]
    model = bench.stages.model_summary(wall)
    # Not at half load after all: the queue grew (the machine slower than when saturation was
    # measured, e.g. other processes on the cores) and the percentiles measure the backlog.
    overloaded = bool(last > 2 * first + 50 or (model.get("model_busy_fraction") or 0) > 0.9)
    return {
        "section": "latency",
        "request_size": size,
        "streams": streams,
        "offered_samples_per_s": round(rate, 2),
        "load_fraction_of_saturation": a.load,
        "saturation_samples_per_s": round(bench.saturation or 0.0, 1),
        "requests_per_s": round(rate / size, 2),
        "seconds": round(wall, 1),
        "warmup_s_excluded": warmup,
        "requests_measured": len(measured),
        **{f"latency_{k}_ms": v for k, v in quantiles_ms(measured, (50, 90, 99)).items()},
        "latency_max_ms": round(1000 * max(measured), 1) if measured else None,
        "latency_mean_ms": round(1000 * float(np.mean(measured)), 1) if measured else None,
        # A queue that grows (the machine slower than when saturation was measured) shows as
        # a last third much slower than the first.
        "latency_p50_first_third_ms": first,
        "latency_p50_last_third_ms": last,
        "overloaded": overloaded,
        "other_processes_cores": round(load.other_cores, 2),
        "send_lag_p99_ms": quantiles_ms(lag, (99,))["p99"],
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": bool(measured) and quantiles_ms(measured, (99,))["p99"] <= TARGET_P99_MS,
        "decisions": count_decisions(decisions),
        "model": model,
        "arrivals": "paced (fixed interval per stream, streams staggered), open loop",
        "max_batch_size": a.max_batch_size,
        "max_wait_ms": a.max_wait_ms,
    }


def section_latency(bench: Bench) -> None:
    a = bench.args
    saturation = bench.saturation or a.saturation
    if not saturation:
        raise SystemExit(
            "latency needs the saturation samples/s: run the throughput section or pass --saturation"
        )
    bench.saturation = saturation
    for size in a.latency_sizes:
        bench.emit(run_latency(bench, size, a.load * saturation, a.latency_seconds, a.latency_warmup))


# --------------------------------------------------------------------------- vectors


def unit_rows(rng: np.random.Generator, n: int, dim: int = DIMENSION) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def time_queries(index: Any, queries: np.ndarray, batch: int) -> tuple[list[float], list[float], np.ndarray]:
    """Per-query seconds (one at a time), per-batch seconds, and the rows found one at a time."""
    for q in queries[:20]:  # warm caches
        index.search(q[None])
    single = []
    rows = np.empty(len(queries), dtype=np.int64)
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        _, r = index.search(q[None])
        single.append(time.perf_counter() - t0)
        rows[i] = r[0]
    batched = []
    for part in chunks(queries, batch):
        if len(part) < batch:
            continue
        t0 = time.perf_counter()
        index.search(part)
        batched.append(time.perf_counter() - t0)
    return single, batched, rows


def searches_under_load(bench: Bench, index: Any, queries: np.ndarray) -> list[float]:
    """Single-query seconds while another thread keeps the model busy, as in the service."""
    if not len(queries):
        return []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            bench.encoder.encode(bench.texts[:32])

    thread = threading.Thread(target=load, name="bench-model-load", daemon=True)
    thread.start()
    time.sleep(1.0)
    out = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q[None])
        out.append(time.perf_counter() - t0)
    stop.set()
    thread.join()
    return out


def section_vectors(bench: Bench) -> None:
    import faiss

    from curator.dedup.vectors import VectorIndex

    a = bench.args
    rng = np.random.default_rng(a.seed)
    size_max = max(a.vector_sizes)
    bulk = unit_rows(rng, size_max)
    real = bench.embeddings if bench.embeddings is not None else np.zeros((0, DIMENSION), np.float32)
    queries = real[: a.vector_queries]
    n_real = len(queries)
    if len(queries) < a.vector_queries:
        queries = np.concatenate([queries, unit_rows(rng, a.vector_queries - len(queries))])
    noise = unit_rows(rng, a.vector_queries)
    for size in a.vector_sizes:
        data = bulk[:size]
        # Near copies of stored vectors (cosine 0.95), what a duplicate looks like to the index.
        src = rng.choice(size, size=a.vector_queries, replace=False)
        copies = np.ascontiguousarray(0.95 * data[src] + np.sqrt(1 - 0.95**2) * noise, dtype=np.float32)
        copies /= np.linalg.norm(copies, axis=1, keepdims=True)
        variants = [("service", a.hnsw_threshold)]
        if size > a.hnsw_threshold:
            variants.append(("exact_reference", 1 << 62))
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        kept_index: Any = None
        for label, threshold in variants:
            gc.collect()
            rss0 = rss_bytes()
            index = VectorIndex(DIMENSION, hnsw_threshold=threshold)
            t0 = time.perf_counter()
            index.add(data)
            build = time.perf_counter() - t0
            rss1 = rss_bytes()
            single, batched, rows = time_queries(index, queries, 32)
            copy_rows = index.search(copies)[1]
            loaded = searches_under_load(bench, index, queries[: a.vector_queries_under_load])
            found[label] = (rows, copy_rows)
            line: dict[str, Any] = {
                "section": "vector_search",
                "kept": size,
                "index": index.kind,
                "role": label,
                "prefill": "random_unit",
                "queries": len(queries),
                "queries_real_embeddings": n_real,
                "hnsw_threshold": threshold if label == "service" else None,
                "hnsw_m": index.hnsw_m if index.kind == "hnsw" else None,
                "ef_search": index.ef_search if index.kind == "hnsw" else None,
                "build_s": round(build, 3),
                "rss_bytes_per_vector": round((rss1 - rss0) / size, 1),
                **{f"single_{k}_ms": v for k, v in quantiles_ms(single, (50, 99)).items()},
                "single_mean_ms": round(1000 * float(np.mean(single)), 4),
                "batch32_median_ms": quantiles_ms(batched, (50,))["p50"],
                "batch32_per_query_us": round(1e6 * float(np.median(batched)) / 32, 1) if batched else None,
                **{f"single_under_model_load_{k}_ms": v for k, v in quantiles_ms(loaded, (50, 99)).items()},
                "faiss_omp_threads": faiss.omp_get_max_threads(),
            }
            if label == "service" and size == max(a.vector_sizes):
                line["target_single_p50_ms"] = TARGET_SEARCH_P50_MS
                line["meets_target"] = quantiles_ms(single, (50,))["p50"] <= TARGET_SEARCH_P50_MS
            if label == "exact_reference":
                rows_h, copies_h = found["service"]
                line["hnsw_recall_at_1"] = round(float(np.mean(rows_h == rows)), 4)
                line["hnsw_recall_at_1_near_copies"] = round(float(np.mean(copies_h == copy_rows)), 4)
                line["near_copies_exact_finds_source"] = round(float(np.mean(copy_rows == src)), 4)
            bench.emit(line)
            if label == "service" and index.kind == "hnsw":
                kept_index = index
            del index
        if kept_index is not None and "exact_reference" in found:
            ef_sweep(bench, kept_index, queries, copies, found["exact_reference"], size)
        del kept_index
        gc.collect()


def ef_sweep(
    bench: Bench,
    index: Any,
    queries: np.ndarray,
    copies: np.ndarray,
    exact: tuple[np.ndarray, np.ndarray],
    size: int,
) -> None:
    """Recall@1 and single-query latency of the HNSW index at other ``efSearch`` values."""
    hnsw = index._index.hnsw
    default = hnsw.efSearch
    for ef in bench.args.ef_sweep:
        hnsw.efSearch = ef
        rows = index.search(queries)[1]
        copy_rows = index.search(copies)[1]
        single, _, _ = time_queries(index, queries[:300], 32)
        bench.emit(
            {
                "section": "hnsw_ef_sweep",
                "kept": size,
                "prefill": "random_unit",
                "ef_search": ef,
                "hnsw_recall_at_1": round(float(np.mean(rows == exact[0])), 4),
                "hnsw_recall_at_1_near_copies": round(float(np.mean(copy_rows == exact[1])), 4),
                **{f"single_{k}_ms": v for k, v in quantiles_ms(single, (50, 99)).items()},
            }
        )
    hnsw.efSearch = default


# --------------------------------------------------------------------------- memory


class CachedEncoder:
    """Precomputed embeddings by text; the model is never called while memory is measured."""

    def __init__(self, vectors: Mapping[str, np.ndarray], dimension: int, max_seq_length: int) -> None:
        self.vectors = vectors
        self.dimension = dimension
        self.max_seq_length = max_seq_length

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.vectors[t] for t in texts])


def deep_getsizeof_ints_dict(table: Mapping[Any, Any]) -> int:
    """Bytes of a dict with its keys and values (ints or lists of ints), as CPython allocates them."""
    total = sys.getsizeof(table)
    for k, v in table.items():
        total += sys.getsizeof(k) + sys.getsizeof(v)
        if isinstance(v, list):
            total += sum(sys.getsizeof(x) for x in v)
    return total


def analytical_bytes(state: Any) -> dict[str, float]:
    """Bytes per kept sample of each index of a live CollectionState (arrays at their filled size)."""
    n = state.kept_count
    exact = state.index("exact_duplicate")
    near = state.index("near_duplicate")
    sem = state.index("semantic")
    out: dict[str, float] = {}
    out["exact: digest dict (bytes key + int row + slot)"] = deep_getsizeof_ints_dict(exact._rows) / n
    cols = near.columns()
    out["near: minhash signature (128 x 4 B)"] = cols["signature"][0].nbytes
    if "sketch" in cols:
        out["near: bottom-k sketch (256 x 4 B)"] = cols["sketch"][0].nbytes
    out["near: shingle count"] = cols["count"][0].nbytes
    bands = near._bands
    out[f"near: LSH band table ({bands.bands} bands x (8 B key + 4 B row))"] = bands.nbytes / n
    vec = sem.vectors
    out[f"semantic: faiss {vec.kind} vectors (384 x 4 B, the only copy)"] = DIMENSION * 4
    ids = state.index("semantic")._ids
    out["ids: 3 index lists (8 B pointers) + one str"] = 3 * 8 + sum(sys.getsizeof(i) for i in ids) / n
    rows = state.rows
    out["rows: admitted_at f8 + diversity f4 + metadata dict"] = (
        12 + 8 + sum(sys.getsizeof(m) for m in rows.metadata) / n
    )
    return {k: round(v, 1) for k, v in out.items()}


def hnsw_link_bytes(m: int, n: int = 20_000) -> float:
    """Per-vector bytes of HNSW links beyond the stored vector, measured on a small faiss index."""
    import faiss

    rng = np.random.default_rng(0)
    index = faiss.IndexHNSWFlat(DIMENSION, m, faiss.METRIC_INNER_PRODUCT)
    index.add(unit_rows(rng, n))
    h: Any = index.hnsw
    return (h.neighbors.size() * 4 + h.levels.size() * 4 + h.offsets.size() * 8) / n


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def section_memory(bench: Bench) -> None:
    """Embed the samples here, then measure in a fresh interpreter (``--memory-child``).

    A fresh process has no heap left free by earlier sections (the 100k-vector
    index, the model's batches), which the collection would otherwise reuse
    without growing RSS. The child never imports torch.
    """
    import subprocess

    a = bench.args
    n = min(a.memory_samples, len(bench.pool.records))
    records = bench.pool.records[:n]
    texts = [record_text(r) for r in records]
    vectors: dict[str, np.ndarray] = {}
    if bench.embeddings is not None:
        vectors.update(zip(bench.texts, bench.embeddings, strict=True))
    missing = [t for t in texts if t not in vectors]
    if missing:
        vectors.update(zip(missing, bench.encoder.encode(missing), strict=True))
    with tempfile.TemporaryDirectory(dir=a.state_dir, prefix="curator-bench-memory-in-") as tmp:
        Path(tmp, "records.json").write_text(json.dumps(records))
        np.save(Path(tmp, "vectors.npy"), np.stack([vectors[t] for t in texts]))
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--memory-child",
            tmp,
            "--memory-request-size",
            str(a.memory_request_size),
            "--batch-size",
            str(a.batch_size),
        ]
        if a.state_dir:
            cmd += ["--state-dir", a.state_dir]
        if a.disable_checks:
            cmd += ["--disable-checks", ",".join(a.disable_checks)]
        if a.enable_checks:
            cmd += ["--enable-checks", ",".join(a.enable_checks)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    bench.emit(json.loads(done.stdout.strip().splitlines()[-1]))


def memory_child(a: argparse.Namespace) -> dict[str, Any]:
    """RSS growth per kept sample of one collection, admitted through Curator in this fresh process."""
    import tracemalloc

    from curator.checks import default_checks
    from curator.checks.semantic import SemanticCheck
    from curator.domain.validation import SampleInput
    from curator.embeddings.embedder import Embedder
    from curator.service import Curator

    src = Path(a.memory_child)
    records = json.loads((src / "records.json").read_text())
    matrix = np.load(src / "vectors.npy")
    vectors = {record_text(r): v for r, v in zip(records, matrix, strict=True)}
    n = len(records)
    inputs = [
        SampleInput(
            id=f"m-{i}", instruction=r.get("instruction"), input=r.get("input"), output=r.get("output")
        )
        for i, r in enumerate(records)
    ]
    batches = chunks(inputs, a.memory_request_size)
    with tempfile.TemporaryDirectory(dir=a.state_dir, prefix="curator-bench-memory-") as tmp:
        settings = make_settings(a, Path(tmp))
        checks = default_checks(settings)
        for c in checks:
            if isinstance(c, SemanticCheck):
                c.embedder = Embedder(settings.embeddings, encoder=CachedEncoder(vectors, DIMENSION, 256))
        curator = Curator(settings, checks=checks)
        curator.create_collection("memory", domain_policy(a))
        # The first quarter of the samples is admitted before the baseline: first-use costs (code
        # and lexicons paged in, SQLite's page cache, files, the first arrays) stay out of the figure.
        warm = max(1, len(batches) // 4)
        for batch in batches[:warm]:
            curator.filter("memory", batch)
        state = curator._states["memory"]
        points: list[tuple[int, int]] = []
        gc.collect()
        points.append((state.kept_count, rss_bytes()))
        for batch in batches[warm:]:
            curator.filter("memory", batch)
            gc.collect()
            points.append((state.kept_count, rss_bytes()))
        # The same admissions again in a second collection, traced: Python and numpy allocations only.
        curator.create_collection("memory-traced", domain_policy(a))
        for batch in batches[:warm]:
            curator.filter("memory-traced", batch)
        traced_state = curator._states["memory-traced"]
        k_traced0 = traced_state.kept_count
        gc.collect()
        tracemalloc.start()
        t0 = tracemalloc.get_traced_memory()[0]
        for batch in batches[warm:]:
            curator.filter("memory-traced", batch)
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - t0
        tracemalloc.stop()
        kept = state.kept_count
        (k0, r0), (k1, r1) = points[0], points[-1]
        analytic = analytical_bytes(state)
        hnsw_links = hnsw_link_bytes(int(state.policy.check("semantic").params["hnsw_m"]))
        log_bytes = dir_bytes(Path(tmp) / "collections" / "memory")
        db_bytes = sum(p.stat().st_size for p in Path(tmp).glob("curator.db*"))
        line = {
            "section": "memory",
            "samples": n,
            "kept": kept,
            "dropped_or_review": n - kept,
            "request_size": a.memory_request_size,
            "measured_over_kept": [k0, k1],
            "rss_growth_bytes": r1 - r0,
            "rss_bytes_per_kept": round((r1 - r0) / (k1 - k0), 1) if k1 > k0 else None,
            "rss_slope_bytes_per_kept": round(
                linear_slope([p[0] for p in points], [p[1] for p in points]), 1
            ),
            "tracemalloc_bytes_per_kept": round(traced / (traced_state.kept_count - k_traced0), 1),
            "analytical_bytes_per_kept": analytic,
            "analytical_total_flat": round(sum(analytic.values()), 1),
            "hnsw_links_bytes_per_kept": round(hnsw_links, 1),
            "analytical_total_hnsw": round(sum(analytic.values()) + hnsw_links, 1),
            "admission_log_bytes_per_kept": round(log_bytes / kept, 1),
            "sqlite_bytes_per_decision": round(db_bytes / (2 * n), 1),
            "embeddings": "precomputed in the parent; measured in a fresh process without torch",
        }
        curator.close()
    return line


# --------------------------------------------------------------------------- main


def summary(bench: Bench) -> dict[str, Any]:
    rows = []
    for line in bench.lines:
        if line["section"] == "end_to_end":
            rows.append(
                {
                    "target": f"end-to-end >= {TARGET_RATIO} x raw encode (N={line['request_size']})",
                    "measured": line["ratio_to_raw_encode"],
                    "met": line["meets_target"],
                    "valid": not line["contended"],
                }
            )
        elif line["section"] == "latency":
            rows.append(
                {
                    "target": f"p99 <= {TARGET_P99_MS:g} ms at {line['load_fraction_of_saturation']} x "
                    f"saturation ({line['request_size']}-sample requests)",
                    "measured": line["latency_p99_ms"],
                    "met": line["meets_target"],
                    "valid": not line["overloaded"],
                }
            )
        elif line["section"] == "vector_search" and "meets_target" in line:
            rows.append(
                {
                    "target": f"vector search single-query p50 <= {TARGET_SEARCH_P50_MS:g} ms "
                    f"at {line['kept']}",
                    "measured": line["single_p50_ms"],
                    "met": line["meets_target"],
                }
            )
    return {
        "section": "summary",
        "targets": rows,
        "elapsed_s": round(time.perf_counter() - T_START, 1),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


T_START = time.perf_counter()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    def ints(s: str) -> list[int]:
        return [int(x) for x in s.split(",") if x]

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--texts", type=int, default=1000, help="distinct samples per throughput run")
    p.add_argument(
        "--quick", action="store_true", help="small run (~2 min): 300 texts, 1 repeat, short latency"
    )
    p.add_argument("--sections", default="throughput,latency,vectors,memory")
    p.add_argument("--repeat", type=int, default=3, help="throughput repetitions (medians reported)")
    p.add_argument(
        "--max-other-load",
        type=float,
        default=0.25,
        help="cores other processes may use during a clean repetition (see section_throughput)",
    )
    p.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    p.add_argument("--request-sizes", type=ints, default=[32, 128], help="samples per Filter request")
    p.add_argument(
        "--raw-chunk", type=int, default=64, help="also time raw encode in calls of this many (0: off)"
    )
    p.add_argument("--streams", type=int, default=8, help="FilterStream streams for the latency section")
    p.add_argument("--latency-sizes", type=ints, default=[1, 8], help="samples per latency request")
    p.add_argument("--latency-seconds", type=float, default=30.0, help="per request size, after warm-up")
    p.add_argument("--latency-warmup", type=float, default=2.0, help="seconds excluded at the start")
    p.add_argument("--load", type=float, default=0.5, help="offered load as a fraction of saturation")
    p.add_argument("--saturation", type=float, help="samples/s, when the throughput section is skipped")
    p.add_argument("--vector-sizes", type=ints, default=[10_000, 100_000])
    p.add_argument("--vector-queries", type=int, default=1000)
    p.add_argument("--hnsw-threshold", type=int, default=20_000)
    p.add_argument(
        "--ef-sweep", type=ints, default=[64, 128, 256], help="efSearch values to sweep at HNSW sizes"
    )
    p.add_argument(
        "--vector-queries-under-load", type=int, default=300, help="single queries timed while the model runs"
    )
    p.add_argument("--memory-samples", type=int, default=2000)
    p.add_argument("--memory-request-size", type=int, default=100)
    # Server settings to experiment with (defaults are the service's).
    from curator.settings import EmbeddingSettings

    service = EmbeddingSettings()
    p.add_argument(
        "--max-batch-size", type=int, default=service.max_batch_size, help="DynamicBatcher max_batch_size"
    )
    p.add_argument(
        "--max-wait-ms", type=float, default=service.max_wait_ms, help="DynamicBatcher max_wait_ms"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=service.batch_size,
        help="encoder batch_size (texts per forward pass)",
    )
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    p.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default=service.backend,
        help="embedding backend; onnx needs --model-path DIR from `curator models export-onnx --out DIR`",
    )
    p.add_argument("--model-path", type=Path, help="embedding model directory (default: the packaged MiniLM)")
    p.add_argument("--max-workers", type=int, default=16, help="gRPC worker threads")
    p.add_argument("--raw-batch-size", type=int, default=32, help="encoder batch_size of the raw encode")
    p.add_argument("--faiss-threads", type=int, help="faiss.omp_set_num_threads (default: faiss's)")
    p.add_argument(
        "--enable-checks",
        type=lambda s: [x for x in s.split(",") if x],
        default=[],
        help="comma-separated opt-in checks to turn on too, or 'all' (default: the default policy's)",
    )
    p.add_argument(
        "--disable-checks",
        type=lambda s: [x for x in s.split(",") if x],
        default=[],
        help="comma-separated checks to turn off in the benchmark's collections (default: all on)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--state-dir", help="where temporary data dirs live (default: system temp dir)")
    p.add_argument("--out", type=Path, help="also append the JSON lines to this file")
    p.add_argument("--memory-child", help=argparse.SUPPRESS)  # internal: the memory section's process
    args = p.parse_args(argv)
    if args.quick:
        args.texts = min(args.texts, 300)
        args.repeat = 1
        args.latency_seconds = min(args.latency_seconds, 10.0)
        args.vector_queries = min(args.vector_queries, 300)
        args.vector_queries_under_load = min(args.vector_queries_under_load, 100)
        args.memory_samples = min(args.memory_samples, 500)
    args.sections = [s for s in args.sections.split(",") if s]
    unknown = set(args.sections) - {"throughput", "latency", "vectors", "memory"}
    if unknown:
        p.error(f"unknown sections {sorted(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_child:
        print(json.dumps({"benchmark": "service", **memory_child(args)}), flush=True)
        return 0
    from curator.embeddings.model import load_encoder

    if args.faiss_threads:
        import faiss

        faiss.omp_set_num_threads(args.faiss_threads)
    pool = distinct_pool(args)
    if args.texts > len(pool.records):
        raise SystemExit(f"--texts {args.texts}: only {len(pool.records)} distinct records")
    texts = [record_text(r) for r in pool.records[: args.texts]]
    every = [record_text(r) for r in pool.records]
    # The server's Embedder calls load_encoder with the same arguments, so both share this instance.
    encoder: Any = load_encoder(args.model_path, args.backend, args.batch_size, args.threads)
    if args.backend == "onnx":  # a `tokenizers` fast tokenizer, truncating at max_seq_length
        lengths = [len(e.ids) for e in encoder.tokenizer.encode_batch(every)]
    else:
        lengths = [len(ids) for ids in encoder.model.tokenizer(every, truncation=False)["input_ids"]]
    token_len = {t: min(n, encoder.max_seq_length) for t, n in zip(every, lengths, strict=True)}
    stages = Stages()
    bench = Bench(args, pool, texts, encoder, token_len, stages)
    stages.wrap_encoder(encoder, token_len)
    instrument_service(stages)
    bench.emit(
        {
            "section": "environment",
            "cpus": os.cpu_count(),
            "affinity": sorted(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "torch_threads": torch_threads(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "faiss_omp_threads": faiss_threads(),
            "checks": checks_info(args),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        }
    )
    try:
        encoder.encode(texts[:64])  # warm-up
        if "throughput" not in args.sections and {"vectors", "memory"} & set(args.sections):
            bench.embeddings = encoder.encode(texts)
        if {"throughput", "latency"} & set(args.sections):
            start_server(bench)
        if "throughput" in args.sections:
            section_throughput(bench)
        if "latency" in args.sections:
            section_latency(bench)
        if bench.server is not None:
            bench.server.stop(grace=5)
            bench.server = None
        stages.undo()
        if "vectors" in args.sections:
            section_vectors(bench)
        if "memory" in args.sections:
            section_memory(bench)
    finally:
        stages.undo()
        if bench.server is not None:
            bench.server.stop(grace=1)
        if bench.tmp is not None:
            bench.tmp.cleanup()
    bench.emit(summary(bench))
    return 0


if __name__ == "__main__":
    sys.exit(main())
