"""1, 2 and 3 `curator serve` replicas on one PostgreSQL: throughput, latency, lost races, lag, bytes.

Starts a throwaway PostgreSQL cluster (as the tests do) and, for each replica count, a fresh database and
that many `curator serve` processes, each with its own data directory. Client threads send batches of real
Alpaca records and perturbed copies (so duplicates land on different replicas) round-robin over the
replicas, over gRPC on loopback. Two policies: cheap (exact + near duplicates only) and all (the default
policy: embeddings, bias, heuristics).

    .venv/bin/python benchmarks/replicas_benchmark.py                          # ~4 min
    .venv/bin/python benchmarks/replicas_benchmark.py --replicas 1 3 --policies cheap --samples 2000

Prints JSON lines: one per (policy, replicas) run. Per run: samples/s, request latency p50/p99, commits
lost to another replica per request, the lag until a sample admitted through one replica is seen by
another, and bytes per kept sample in the store (admissions; decisions apart) and in a replica's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import grpc  # noqa: E402
from perturb import edit_count, operators, perturb_record, vocabulary_from  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from curator.v1 import curator_service_pb2 as pb  # noqa: E402
from curator.v1 import curator_service_pb2_grpc as pb_grpc  # noqa: E402
from tests.support.postgres import start_postgres  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "alpaca_5000.json"


def samples(n: int, seed: int) -> list[pb.Sample]:
    """Alpaca records, a third of them followed later by a perturbed copy, shuffled."""
    records = json.loads(DATA.read_text())
    rng = random.Random(seed)
    ops = operators(vocabulary_from(" ".join(r.values()) for r in records))
    originals = records[: (n * 3) // 4]
    copies = []
    for _ in range(n - len(originals)):
        src = rng.choice(originals)
        copies.append(
            perturb_record(src, rng, edit_count(len(" ".join(src.values()).split()), rng, 0.09), ops)[0]
        )
    out = [
        pb.Sample(id=f"s{i}", instruction=r["instruction"], input=r["input"], output=r["output"])
        for i, r in enumerate([*originals, *copies])
    ]
    rng.shuffle(out)
    return out


class Replica:
    def __init__(self, url: str, data_dir: Path, preload: bool) -> None:
        env = {**os.environ, "CURATOR_STORE__URL": url, "CURATOR_EMBEDDINGS__PRELOAD": str(preload).lower()}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "curator.cli.main",
                "serve",
                "--port",
                "0",
                "--http-port",
                "0",
                "--data-dir",
                str(data_dir),
            ],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.port = self.http = 0
        assert self.proc.stderr is not None
        ready = False
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (ready and self.port and self.http):
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("replica exited")
            if m := re.search(r"curator serving on [^:]+:(\d+)", line):
                self.port = int(m.group(1))
            if m := re.search(r"/metrics on https?://[^:]+:(\d+)/", line):
                self.http = int(m.group(1))
            ready = ready or "curator ready" in line
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()  # type: ignore[union-attr]
        self.stub = pb_grpc.CuratorServiceStub(grpc.insecure_channel(f"127.0.0.1:{self.port}"))

    def metric(self, name: str) -> float:
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=10).read().decode()
        return sum(
            float(line.split()[-1])
            for line in body.splitlines()
            if line.startswith(name + " ") or line.startswith(name + "{")
        )

    def rss(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def policy(kind: str) -> pb.Policy:
    p = pb.Policy()
    if kind == "cheap":
        for name in ("semantic", "bias", "heuristics"):
            p.checks[name].enabled = False
    return p


def run(
    pg: Any, kind: str, n_replicas: int, all_samples: list[pb.Sample], batch: int, clients: int
) -> dict[str, Any]:
    db = f"bench_{kind}_{n_replicas}"
    url = pg.create_database(db)
    work = Path(tempfile.mkdtemp(prefix="curator-replicas-"))
    replicas = [Replica(url, work / f"r{i}", kind == "all") for i in range(n_replicas)]
    try:
        replicas[0].stub.CreateCollection(pb.CreateCollectionRequest(name="b", policy=policy(kind)))
        rss_before = [r.rss() for r in replicas]
        batches = [all_samples[i : i + batch] for i in range(0, len(all_samples), batch)]
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        queue = list(enumerate(batches))

        def client() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    k, b = queue.pop(0)
                stub = replicas[k % n_replicas].stub
                started = time.perf_counter()
                try:
                    stub.Filter(pb.FilterRequest(collection="b", samples=b), timeout=300)
                except grpc.RpcError as err:
                    with lock:
                        errors.append(f"{err.code().name}: {err.details()}")
                    continue
                with lock:
                    latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
        lag = visibility_lag(replicas) if n_replicas > 1 else None
        kept = replicas[0].stub.GetCollection(pb.GetCollectionRequest(name="b")).kept_count
        engine = create_engine(url)
        with engine.connect() as conn:
            admissions = conn.execute(text("SELECT pg_total_relation_size('admissions')")).scalar()
            decisions = conn.execute(
                text(
                    "SELECT pg_total_relation_size('decisions')"
                    " + pg_total_relation_size('decision_reasons')"
                    " + pg_total_relation_size('decision_metadata')"
                    " + pg_total_relation_size('decision_annotations')"
                )
            ).scalar()
        engine.dispose()
        lost = sum(r.metric("curator_commit_lost_races_total") for r in replicas)
        latencies.sort()
        return {
            "policy": kind,
            "replicas": n_replicas,
            "clients": clients,
            "batch": batch,
            "samples": len(all_samples),
            "errors": len(errors),
            "error_messages": sorted(set(errors))[:3],
            "seconds": round(seconds, 2),
            "samples_per_s": round(len(all_samples) / seconds, 1),
            "latency_ms_p50": round(1000 * statistics.median(latencies), 1),
            "latency_ms_p99": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1),
            "lost_races": int(lost),
            "lost_races_per_request": round(lost / len(batches), 3),
            "visibility_lag_ms": lag,
            "kept": kept,
            "store_bytes_per_kept_admissions": round(admissions / max(kept, 1)),
            "store_bytes_per_decision": round(decisions / len(all_samples)),
            "replica_rss_bytes_per_kept": round(
                statistics.mean(
                    (r.rss() - b) / max(kept, 1) for r, b in zip(replicas, rss_before, strict=True)
                )
            ),
            "cpus": os.cpu_count(),
        }
    finally:
        for r in replicas:
            r.stop()


def visibility_lag(replicas: list[Replica]) -> float | None:
    """Median ms from a KEEP acknowledged by replica 0 until replica 1 calls a copy of it a duplicate."""
    records = json.loads(DATA.read_text())[-10:]  # never sent by the run
    lags = []
    for k, record in enumerate(records):
        fields = {key: record[key] for key in ("instruction", "input", "output")}
        probe = pb.Sample(id=f"probe{k}", **fields)
        [kept] = replicas[0].stub.Filter(pb.FilterRequest(collection="b", samples=[probe])).decisions
        if kept.verdict != pb.KEEP:
            continue
        t0 = time.perf_counter()
        copy = pb.FilterRequest(collection="b", samples=[pb.Sample(id=f"copy{k}", **fields)], dry_run=True)
        for _ in range(1000):
            [d] = replicas[1].stub.Filter(copy).decisions
            if d.verdict == pb.DROP:
                lags.append(1000 * (time.perf_counter() - t0))
                break
    return round(statistics.median(lags), 1) if lags else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--policies", nargs="+", default=["cheap", "all"], choices=["cheap", "all"])
    parser.add_argument("--samples", type=int, default=4000, help="for the cheap policy")
    parser.add_argument("--samples-all", type=int, default=600, help="for the policy with embeddings")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    pg = start_postgres()
    lines = []
    try:
        for kind in args.policies:
            data = samples(args.samples if kind == "cheap" else args.samples_all, 0)
            for n in args.replicas:
                line = run(pg, kind, n, data, args.batch, args.clients)
                lines.append(line)
                print(json.dumps(line), flush=True)
    finally:
        pg.stop()
    if args.out:
        with args.out.open("a") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
