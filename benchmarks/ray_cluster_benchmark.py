"""The Ray engine on a simulated multi-node cluster: same decisions, and what each node shuffles.

    .venv/bin/python benchmarks/ray_cluster_benchmark.py --n 20000 --nodes 1,2,4 [--all-checks]

Builds a corpus with :mod:`benchmarks.ray_corpus` (real Alpaca and self-instruct text, exact and
perturbed copies in other shards than their originals), then runs the same job on a local Ray runtime
and on ``ray.cluster_utils.Cluster`` clusters of 2..4 nodes on this machine (one CPU each). Prints one
JSON line per run: seconds, samples/s, the shuffle bytes each node sent, and whether the decisions
equal the single-node run's (verdict, reason codes and matched ids for every sample). Every node
shares this machine's two cores, so the timings show overhead, not speed-up.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from benchmarks import ray_corpus  # noqa: E402
from curator.batch.engine import BatchJob, run_batch  # noqa: E402
from curator.service import Curator  # noqa: E402
from curator.settings import Settings  # noqa: E402


def _decisions(out: Path) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    rows = []
    for part in sorted((out / "decisions").glob("*.jsonl")):
        for line in part.read_text().splitlines():
            d = json.loads(line)
            rows.append(
                (
                    d["id"],
                    d["verdict"],
                    tuple(r["code"] for r in d["reasons"]),
                    tuple(r["matched_id"] for r in d["reasons"]),
                )
            )
    return rows


def _job(corpus: Path, work: Path, policy: dict[str, Any], nodes: int) -> dict[str, Any]:
    data = work / f"data-{nodes}"
    out = work / f"out-{nodes}"
    curator = Curator(Settings.load(data_dir=data, default_policy=policy))
    try:
        curator.create_collection("bench")
        job = BatchJob(inputs=[corpus / "shards"], output_dir=out, collection="bench", piece_records=2_500)
        summary = run_batch(job, curator, report=lambda line: None)
    finally:
        curator.close()
    return {"summary": summary, "decisions": _decisions(out)}


def _local(corpus: Path, work: Path, policy: dict[str, Any]) -> dict[str, Any]:
    """The local engine's path in-process: the shards in order, batches of 500 (``curator filter``'s)."""
    import time

    from curator.cli.io import open_input, to_sample_input

    samples = []
    for shard in sorted((corpus / "shards").glob("*.jsonl")):
        for record in open_input(shard).records:
            sample, _ = to_sample_input(record.data or {}, record.line)
            if sample is not None:
                samples.append(sample)
    curator = Curator(Settings.load(data_dir=work / "data-local", default_policy=policy))
    try:
        curator.create_collection("bench")
        started = time.perf_counter()
        decisions = []
        for a in range(0, len(samples), 500):
            decisions += curator.filter("bench", samples[a : a + 500])
        seconds = time.perf_counter() - started
    finally:
        curator.close()
    rows = [
        (
            d.sample_id,
            str(d.verdict),
            tuple(str(r.code) for r in d.reasons),
            tuple(r.matched_id for r in d.reasons),
        )
        for d in decisions
    ]
    return {"seconds": seconds, "decisions": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--nodes", default="1,2,4", help="node counts; 1 = a plain local runtime")
    parser.add_argument("--all-checks", action="store_true", help="semantic check on (MiniLM per actor)")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--compare-local", action="store_true", help="also the local engine, in-process")
    args = parser.parse_args()
    policy: dict[str, Any] = {} if args.all_checks else {"checks": {"semantic": {"enabled": False}}}
    work = Path(tempfile.mkdtemp(prefix="ray-cluster-bench-"))
    lines = []
    try:
        corpus = work / "corpus"
        ray_corpus.write(corpus, args.n, 8, 0)
        reference = None
        for nodes in [int(x) for x in args.nodes.split(",")]:
            cluster = None
            if nodes == 1:
                ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
            else:
                cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
                for _ in range(nodes - 1):
                    cluster.add_node(num_cpus=1)
                ray.init(address=cluster.address, log_to_driver=False)
            try:
                run = _job(corpus, work, policy, nodes)
            finally:
                ray.shutdown()
                if cluster is not None:
                    cluster.shutdown()
            if reference is None:
                reference = run["decisions"]
            s = run["summary"]
            by_node = sorted(s.shuffle_bytes_by_node.values(), reverse=True)
            line = {
                "benchmark": "ray_cluster",
                "checks": "all" if args.all_checks else "cheap",
                "nodes": nodes,
                "n": s.read,
                "seconds": round(s.seconds, 2),
                "samples_per_s": round(s.rate, 1),
                "kept": s.kept,
                "dropped": s.dropped,
                "review": s.review,
                "shuffle_bytes_per_node": by_node,
                "shuffle_nodes": len(by_node),
                "decisions_equal_single_node": run["decisions"] == reference,
            }
            print(json.dumps(line), flush=True)
            lines.append(line)
        if args.compare_local and reference is not None:
            local = _local(corpus, work, policy)
            line = {
                "benchmark": "ray_cluster",
                "checks": "all" if args.all_checks else "cheap",
                "engine": "local",
                "n": len(local["decisions"]),
                "seconds": round(local["seconds"], 2),
                "samples_per_s": round(len(local["decisions"]) / local["seconds"], 1),
                "decisions_equal_single_node_ray": local["decisions"] == reference,
                "differing_samples": sum(a != b for a, b in zip(local["decisions"], reference, strict=False)),
            }
            print(json.dumps(line), flush=True)
            lines.append(line)
        if args.json_out:
            args.json_out.write_text("".join(json.dumps(x) + "\n" for x in lines))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(x.get("decisions_equal_single_node", True) for x in lines) else 1


if __name__ == "__main__":
    raise SystemExit(main())
