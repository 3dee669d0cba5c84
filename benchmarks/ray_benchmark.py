"""Batch dedup at scale: curator's local engine, DataTrove's MinHash dedup, curator's Ray engine (issue 13).

    .venv/bin/python benchmarks/ray_benchmark.py --smoke                       # n = 2,000, ~1 min
    .venv/bin/python benchmarks/ray_benchmark.py --n 200000 --engines local,datatrove --json-out r.jsonl

One corpus (``ray_corpus.py``: Alpaca and self-instruct originals, stitched originals, exact and
perturbed copies in 8 shards, with an exact all-pairs ground truth), built once per (n, seed, shards)
and reused, then each engine in turn, never two at once:

* ``local``: ``curator filter ALL.jsonl --decisions D --data-dir T --collection bench --config C``, the
  shards concatenated in feed order into one file (outside the clock), with a config whose
  ``default_policy`` enables only ``exact_duplicate`` and ``near_duplicate`` (filter_cli_benchmark's
  ``ONLY_DEDUP``) and ``embeddings.preload = false``. One process: 1 core.
* ``datatrove``: DataTrove's four MinHash stages (signatures, buckets, clusters, filter) with
  ``LocalPipelineExecutor`` (``--datatrove-workers`` processes, 2), its defaults except word 3-grams
  (curator's shingles, and the ground truth's); ``datatrove_5gram``: DataTrove's defaults as they are
  (5-grams). Both write the kept and removed documents as JSONL (no compression). DataTrove's English
  word tokenizer needs ``spacy`` (``pip install spacy``; a blank model, nothing to download).
* ``ray``: ``curator filter SHARDS_DIR --engine ray --output-dir DIR`` with the same config
  (:func:`run_ray_engine`); skipped, with a note, while ``curator filter --help`` has no ``--engine``.

Scoring (as dedup_benchmark.py, by exact word 3-gram Jaccard, not by which sample is the copy): a
dropped sample is a TP when some *kept* sample has Jaccard >= 0.8 with it, else an FP; a kept sample
is an FN when an earlier (feed order) kept sample has Jaccard >= 0.8 with it. Every pair at or above
the threshold is in the corpus' pairs.jsonl, so this needs no engine's matched id. One JSON line per
engine (and a first line describing the corpus) on stdout and in ``--json-out``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Light imports only at module level: DataTrove's worker processes import this module (the adapter
# and the hash function below are pickled by reference), and their start is part of the timing.
from benchmarks import ray_corpus  # noqa: E402

WORK = Path("/tmp/curator-ray-bench")
ENGINES = ("local", "datatrove", "datatrove_5gram", "ray")
CHEAP = "exact_duplicate + near_duplicate"
# With --checks all, samples are dropped for other reasons too (semantic duplicates, quality, ...);
# only the drops with an exact or near duplicate reason are scored against the Jaccard ground truth.
DEDUP_CODES = frozenset({"EXACT_DUPLICATE", "NEAR_DUPLICATE"})


# --------------------------------------------------------------------------- engines


def curator_command() -> list[str]:
    script = Path(sys.executable).parent / "curator"
    return [str(script)] if script.exists() else [sys.executable, "-m", "curator.cli.main"]


def curator_env() -> dict[str, str]:
    return {**os.environ, "CURATOR_EMBEDDINGS__PRELOAD": "false", "RAY_USAGE_STATS_ENABLED": "0"}


def session_cpu_s(sid: int, seen: dict[int, float]) -> None:
    """Update ``seen`` (pid -> CPU seconds) with every live process of session ``sid``."""
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # fields after the name: state, ppid, pgrp, session, ...
            seen[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick


def run_engine(cmd: list[str], **kwargs: Any) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run an engine's command in a session of its own: result, wall seconds, and its CPU seconds.

    The CPU is sampled every 0.2 s over every process of the session (workers, forkservers, Ray's
    daemons), so a process that lives less than that is partly missed.
    """
    seen: dict[int, float] = {}
    started = time.perf_counter()
    with subprocess.Popen(cmd, start_new_session=True, **kwargs) as proc:
        while True:
            session_cpu_s(proc.pid, seen)
            try:
                stdout, stderr = proc.communicate(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                continue
    seconds = time.perf_counter() - started
    done = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    return done, seconds, sum(seen.values())


def write_config(
    path: Path,
    checks: str = "cheap",
    onnx_model: Path | None = None,
    int8: bool = False,
    hnsw_threshold: int | None = None,
    hnsw: tuple[int, int] | None = None,
) -> Path:
    """A settings TOML whose default policy enables only the cheap dedup checks (no embeddings), or,
    with ``checks="all"``, the default policy as it ships (every check, MiniLM preloaded), its
    embeddings computed by torch or, given ``onnx_model``, by that exported ONNX model (its int8
    variant with ``int8``)."""
    from benchmarks.filter_cli_benchmark import ONLY_DEDUP

    if checks == "all":
        lines = ["[embeddings]", "preload = true"]
        if onnx_model is not None:
            lines += ['backend = "onnx"', f"model_path = {json.dumps(str(onnx_model))}"]
            lines += ["int8 = true"] if int8 else []
        if hnsw_threshold is not None:
            lines += ["", "[default_policy.checks.semantic.params]", f"hnsw_threshold = {hnsw_threshold}"]
            if hnsw is not None:
                lines += [f"hnsw_m = {hnsw[0]}", f"ef_search = {hnsw[1]}"]
        path.write_text("\n".join(lines) + "\n")
        return path
    lines = ["[embeddings]", "preload = false", ""]
    for name, check in ONLY_DEDUP["checks"].items():
        lines += [f"[default_policy.checks.{name}]", f"enabled = {str(check['enabled']).lower()}", ""]
    path.write_text("\n".join(lines))
    return path


def filter_help() -> str:
    done = subprocess.run(
        [*curator_command(), "filter", "--help"],
        capture_output=True,
        text=True,
        env={**curator_env(), "COLUMNS": "200"},
    )
    return done.stdout + done.stderr


def printed_rate(stderr: str) -> float | None:
    """The samples/s of curator filter's summary table (its run, without start-up)."""
    rows = [line for line in stderr.splitlines() if line.startswith("│")]
    try:
        return float(rows[-1].split("│")[-2].strip().replace(",", "")) if rows else None
    except ValueError:
        return None


def read_decisions(paths: Iterable[Path], dedup_drops_only: bool = False) -> dict[str, Any]:
    """Dropped ids (→ matched id of their duplicate reason, if any), verdict and reason-code counts."""
    dropped: dict[str, str | None] = {}
    whole: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {}
    verdicts: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    seen = 0
    for path in paths:
        with path.open() as f:
            for line in f:
                d = json.loads(line)
                seen += 1
                verdicts[d["verdict"]] += 1
                for r in d.get("reasons", []):
                    codes[r["code"]] += 1
                reasons = d.get("reasons", [])
                whole[d["id"]] = (
                    d["verdict"],
                    tuple(sorted(r["code"] for r in reasons)),
                    tuple(sorted(r.get("matched_id", "") for r in reasons)),
                )
                if d["verdict"] == "drop" and (
                    not dedup_drops_only or any(r["code"] in DEDUP_CODES for r in reasons)
                ):
                    dup = next((r for r in d["reasons"] if r.get("matched_id")), None)
                    dropped[d["id"]] = dup["matched_id"] if dup else None
    return {
        "dropped": dropped,
        "verdicts": dict(verdicts),
        "codes": dict(codes),
        "decided": seen,
        "whole": whole,
    }


def run_local(corpus: Path, work: Path, config: Path, dedup_drops_only: bool = False) -> dict[str, Any]:
    """curator's local engine over the whole corpus as one file."""
    all_jsonl = work / "all.jsonl"
    with all_jsonl.open("wb") as out:
        for shard in ray_corpus.shard_files(corpus):
            with shard.open("rb") as f:
                shutil.copyfileobj(f, out)
    decisions = work / "decisions.jsonl"
    cmd = [
        *curator_command(),
        "filter",
        str(all_jsonl),
        "--decisions",
        str(decisions),
        "--data-dir",
        str(work / "data"),
        "--collection",
        "bench",
        "--config",
        str(config),
    ]
    done, seconds, cpu_s = run_engine(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=curator_env()
    )
    if done.returncode != 0:
        raise RuntimeError(f"curator filter failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return {
        "seconds": seconds,
        "engine_cpu_s": cpu_s,
        "cores": 1,
        "printed_samples_per_s": printed_rate(done.stderr),
        "command": " ".join(cmd),
        **read_decisions([decisions], dedup_drops_only),
    }


def run_ray_engine(
    corpus_dir: Path, out_dir: Path, config: Path, num_cpus: int, dedup_drops_only: bool = False
) -> dict[str, Any]:
    """curator's Ray engine over the shard directory; reads back OUT/decisions/*.jsonl.

    Returns ``{"skipped": why}`` while ``curator filter`` has no ``--engine`` option. ``--num-cpus`` is
    passed when the command has it; otherwise Ray takes every core of the machine.
    """
    text = filter_help()
    if "--engine" not in text:
        return {"skipped": "curator filter has no --engine option yet (the Ray engine is not there)"}
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        *curator_command(),
        "filter",
        str(corpus_dir / "shards"),
        "--engine",
        "ray",
        "--output-dir",
        str(out_dir / "out"),
        "--data-dir",
        str(out_dir / "data"),
        "--collection",
        "bench",
        "--config",
        str(config),
    ]
    cores = num_cpus
    if "--num-cpus" in text:
        cmd += ["--num-cpus", str(num_cpus)]
    else:
        cores = os.cpu_count() or 1
    done, seconds, cpu_s = run_engine(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=curator_env()
    )
    if done.returncode != 0:
        return {"failed": done.returncode, "command": " ".join(cmd), "stderr_tail": done.stderr[-3000:]}
    files = sorted((out_dir / "out" / "decisions").glob("*.jsonl"))
    if not files:
        return {"failed": "no decisions/*.jsonl under the output dir", "command": " ".join(cmd)}
    return {
        "seconds": seconds,
        "engine_cpu_s": cpu_s,
        "cores": cores,
        "printed_samples_per_s": printed_rate(done.stderr),
        "command": " ".join(cmd),
        **read_decisions(files, dedup_drops_only),
    }


# DataTrove ---------------------------------------------------------------------------------------


def xxhash64_utf8(data: str | bytes) -> int:
    """datatrove's xxhash64 with the str encoded first: datatrove 0.10.1 hashes str, xxhash 4 refuses it."""
    import xxhash

    return xxhash.xxh64_intdigest(data.encode() if isinstance(data, str) else data)


def xxhash32_utf8(data: str | bytes) -> int:
    import xxhash

    return xxhash.xxh32_intdigest(data.encode() if isinstance(data, str) else data)


def xxhash_needs_shim() -> bool:
    import xxhash

    try:
        xxhash.xxh64_intdigest("a")
    except TypeError:
        return True
    return False


def alpaca_adapter(self: Any, data: dict, path: str, id_in_file: int | str) -> dict:
    """A DataTrove reader adapter: the record's text is curator's full_text of the Alpaca record."""
    return {"text": ray_corpus.full_text(data), "id": data["id"], "metadata": {}}


def datatrove_job(spec_path: str) -> None:
    """Run DataTrove's four MinHash stages (in a process of its own); stage times go to spec['result']."""
    spec = json.loads(Path(spec_path).read_text())
    if xxhash_needs_shim():
        import datatrove.utils.hashes.xxhash as dt_xxhash

        dt_xxhash.xxhash64 = xxhash64_utf8
        dt_xxhash.xxhash32 = xxhash32_utf8
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    work, shards = Path(spec["work"]), spec["shards"]
    tasks, workers = spec["tasks"], spec["workers"]
    config = MinhashConfig(**spec["minhash"])

    def reader() -> JsonlReader:
        return JsonlReader(shards, adapter=alpaca_adapter, glob_pattern="shard-*.jsonl")

    stages = {
        "signatures": LocalPipelineExecutor(
            [reader(), MinhashDedupSignature(output_folder=str(work / "sigs"), config=config)],
            tasks=tasks,
            workers=workers,
            logging_dir=str(work / "logs" / "signatures"),
        ),
        "buckets": LocalPipelineExecutor(
            [
                MinhashDedupBuckets(
                    input_folder=str(work / "sigs"), output_folder=str(work / "buckets"), config=config
                )
            ],
            tasks=config.num_buckets,
            workers=workers,
            logging_dir=str(work / "logs" / "buckets"),
        ),
        "cluster": LocalPipelineExecutor(
            [
                MinhashDedupCluster(
                    input_folder=str(work / "buckets"),
                    output_folder=str(work / "remove"),
                    config=config,
                    save_cluster_id=True,  # so that the benchmark can see the clusters (a few bytes a doc)
                )
            ],
            tasks=1,
            logging_dir=str(work / "logs" / "cluster"),
        ),
        "filter": LocalPipelineExecutor(
            [
                reader(),
                MinhashDedupFilter(
                    input_folder=str(work / "remove"),
                    exclusion_writer=JsonlWriter(str(work / "removed"), compression=None),
                    load_cluster_ids=True,
                ),
                JsonlWriter(str(work / "kept"), compression=None),
            ],
            tasks=tasks,
            workers=workers,
            logging_dir=str(work / "logs" / "filter"),
        ),
    }
    stage_s = {}
    for name, executor in stages.items():
        t0 = time.perf_counter()
        executor.run()
        stage_s[name] = round(time.perf_counter() - t0, 2)
    Path(spec["result"]).write_text(json.dumps({"stage_s": stage_s}))


def run_datatrove(corpus: Path, work: Path, n_grams: int | None, workers: int) -> dict[str, Any]:
    """DataTrove's MinHash dedup in a subprocess; wall time of the whole process."""
    from datatrove.pipeline.dedup.minhash import MinhashConfig

    minhash = {} if n_grams is None else {"n_grams": n_grams}
    shards = ray_corpus.shard_files(corpus)
    spec = {
        "work": str(work),
        "shards": str(corpus / "shards"),
        "tasks": len(shards),  # one task per shard (stages 1 and 4); stage 2 runs one per bucket
        "workers": workers,
        "minhash": minhash,
        "result": str(work / "result.json"),
    }
    (work / "spec.json").write_text(json.dumps(spec))
    code = "import sys; from benchmarks.ray_benchmark import datatrove_job; datatrove_job(sys.argv[1])"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with (work / "datatrove.log").open("w") as log:
        done, seconds, cpu_s = run_engine(
            [sys.executable, "-c", code, str(work / "spec.json")], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    if done.returncode != 0:
        tail = (work / "datatrove.log").read_text()[-3000:]
        raise RuntimeError(f"datatrove failed ({done.returncode}):\n{tail}")
    dropped: dict[str, str | None] = {}
    clusters: dict[int, list[str]] = {}
    kept = 0
    for folder in ("removed", "kept"):
        for path in sorted((work / folder).glob("*.jsonl")):
            with path.open() as f:
                for line in f:
                    doc = json.loads(line)
                    if folder == "removed":
                        dropped[doc["id"]] = None
                    else:
                        kept += 1
                    cluster = doc.get("metadata", {}).get("minhash_cluster_id", -1)
                    if cluster != -1:
                        clusters.setdefault(cluster, []).append(doc["id"])
    cfg = MinhashConfig(**minhash)
    return {
        "seconds": seconds,
        "engine_cpu_s": cpu_s,
        "cores": workers,
        "stage_s": json.loads((work / "result.json").read_text())["stage_s"],
        "minhash": {
            "n_grams": cfg.n_grams,
            "num_buckets": cfg.num_buckets,
            "hashes_per_bucket": cfg.hashes_per_bucket,
            "hash": f"{cfg.hash_config.hash_fc}{cfg.hash_config.precision}",
            "xxhash_str_shim": xxhash_needs_shim(),
            "lsh_threshold_50pct": round((1 / cfg.num_buckets) ** (1 / cfg.hashes_per_bucket), 3),
        },
        "tasks": {"signatures": len(shards), "buckets": cfg.num_buckets, "cluster": 1, "filter": len(shards)},
        "workers": workers,
        "dropped": dropped,
        "clusters": clusters,
        "decided": kept + len(dropped),
        "verdicts": {"keep": kept, "drop": len(dropped)},
    }


# --------------------------------------------------------------------------- scoring


class Truth:
    """The corpus' ground truth: feed order, kinds, families and every pair at Jaccard >= threshold."""

    def __init__(self, corpus: Path, threshold: float) -> None:
        rows, pairs = ray_corpus.load_truth(corpus)
        self.rows = rows
        self.threshold = threshold
        self.pos = {r["id"]: i for i, r in enumerate(rows)}
        self.partners: dict[int, list[tuple[int, float]]] = {}
        for i, j, jac in pairs:
            if jac >= threshold:
                self.partners.setdefault(i, []).append((j, jac))
                self.partners.setdefault(j, []).append((i, jac))
        self.family: dict[str, list[int]] = {}  # original id -> positions of it and its copies
        for i, r in enumerate(rows):
            self.family.setdefault(r["source"] or r["id"], []).append(i)
        self._texts: list[str] | None = None
        self._sets: dict[int, frozenset[int]] = {}
        self.corpus = corpus

    def shingles(self, i: int) -> frozenset[int]:
        if self._texts is None:
            self._texts = [ray_corpus.full_text(r) for r in ray_corpus.iter_records(self.corpus)]
        if i not in self._sets:
            self._sets[i] = ray_corpus.shingle_hashes(self._texts[i])
        return self._sets[i]

    def jaccard(self, i: int, j: int) -> float:
        from benchmarks.perturb import jaccard_of_sets

        return jaccard_of_sets(self.shingles(i), self.shingles(j))

    def kind(self, i: int) -> str:
        r = self.rows[i]
        if r["kind"] == "near":
            return "near_at_or_above" if r["jaccard"] >= self.threshold else "near_below"
        return r["kind"]


def score_class() -> Any:
    """dedup_benchmark's Score (P/R/F1), imported without keeping the single-thread settings it exports."""
    before = dict(os.environ)
    from benchmarks.dedup_benchmark import Score

    os.environ.clear()
    os.environ.update(before)
    return Score


def score(truth: Truth, dropped: dict[str, str | None]) -> dict[str, Any]:
    """Precision, recall and F1 of the dropped set against exact Jaccard (see the module docstring)."""
    Score = score_class()
    n = len(truth.rows)
    is_dropped = [False] * n
    for sample_id in dropped:
        is_dropped[truth.pos[sample_id]] = True
    out = Score()
    fp_no_partner = fp_partners_all_dropped = fp_matched_below = 0
    for i in range(n):
        partners = truth.partners.get(i, [])
        if is_dropped[i]:
            kept_partners = [jac for j, jac in partners if not is_dropped[j]]
            if kept_partners:
                out.add("tp", max(kept_partners))
                continue
            if partners:
                fp_partners_all_dropped += 1
            else:
                fp_no_partner += 1
            # The deciding Jaccard of an FP: to the matched sample when the engine names one, else to
            # the closest kept member of its own family (0.0 when the whole family was dropped).
            matched = dropped[truth.rows[i]["id"]]
            if matched is not None:
                jac = truth.jaccard(i, truth.pos[matched])
            else:
                fam = truth.family[truth.rows[i]["source"] or truth.rows[i]["id"]]
                jac = max((truth.jaccard(i, j) for j in fam if j != i and not is_dropped[j]), default=0.0)
            out.add("fp", jac)
        else:
            earlier_kept = [jac for j, jac in partners if j < i and not is_dropped[j]]
            if earlier_kept:
                out.add("fn", max(earlier_kept))
    for sample_id, matched in dropped.items():
        if matched is not None and truth.jaccard(truth.pos[sample_id], truth.pos[matched]) < truth.threshold:
            fp_matched_below += 1
    p, r, f = Score.prf(out.tp, out.fp, out.fn)
    by_kind: dict[str, dict[str, int]] = {}
    for i in range(n):
        k = by_kind.setdefault(truth.kind(i), {"dropped": 0, "of": 0})
        k["of"] += 1
        k["dropped"] += is_dropped[i]
    line: dict[str, Any] = {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f, 4),
        "tp": out.tp,
        "fp": out.fp,
        "fn": out.fn,
        "f1_outside_0.05_of_threshold": round(out.f1_outside(truth.threshold, 0.05), 4),
        "errors_true_jaccard_range": out.error_range(),
        "fp_no_partner_at_threshold": fp_no_partner,
        "fp_partners_all_dropped": fp_partners_all_dropped,
        "dropped_by_kind": dict(sorted(by_kind.items())),
    }
    if any(m is not None for m in dropped.values()):
        line["drops_matched_below_threshold"] = fp_matched_below  # dedup_benchmark's FP definition
    return line


def cluster_stats(truth: Truth, clusters: dict[int, list[str]], dropped: dict[str, str | None]) -> dict:
    """DataTrove's clusters (union-find over its LSH matches) against the corpus' families.

    A family is an original and its copies. Two families share no pair at Jaccard >= threshold here
    (meta's pairs_across_families), so a cluster that spans families was joined by lower-Jaccard
    matches, and all but one member of it is dropped.
    """
    sizes = sorted((len(ids) for ids in clusters.values()), reverse=True)
    spans = {}
    for cid, ids in clusters.items():
        fams = {truth.rows[truth.pos[i]]["source"] or i for i in ids}
        spans[cid] = len(fams)
    multi = [cid for cid, k in spans.items() if k > 1]
    largest = max(clusters, key=lambda c: len(clusters[c]), default=None)
    return {
        "clusters": len(sizes),
        "largest_cluster": sizes[0] if sizes else 0,
        "families_in_largest_cluster": spans[largest] if largest is not None else 0,
        "clusters_spanning_families": len(multi),
        "samples_in_clusters_spanning_families": sum(len(clusters[c]) for c in multi),
        "dropped_in_clusters_spanning_families": sum(1 for c in multi for i in clusters[c] if i in dropped),
    }


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def curator_revision() -> str:
    """The commit curator runs from, with "+dirty" when curator/ has uncommitted changes."""
    git = ["git", "-C", str(ROOT)]
    rev = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "curator"], capture_output=True, text=True)
    return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


# --------------------------------------------------------------------------- main


def corpus_for(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The corpus directory, built when it is missing or was built with other settings."""
    corpus = args.corpus or WORK / f"corpus-n{args.n}-s{args.seed}-k{args.shards}"
    meta_path = corpus / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        wanted = {
            "format": ray_corpus.FORMAT_VERSION,
            "n": args.n,
            "seed": args.seed,
            "shards": args.shards,
            "threshold": args.threshold,
        }
        if all(meta.get(k) == v for k, v in wanted.items()):
            return corpus, meta
    print(f"building the corpus in {corpus} ...", file=sys.stderr, flush=True)
    return corpus, ray_corpus.write(corpus, args.n, args.shards, args.seed, args.threshold)


def measure(engine: str, corpus: Path, work: Path, config: Path, args: argparse.Namespace) -> dict[str, Any]:
    if engine == "local":
        return run_local(corpus, work, config, args.checks == "all")
    if engine == "datatrove":
        return run_datatrove(corpus, work, 3, args.datatrove_workers)
    if engine == "datatrove_5gram":
        return run_datatrove(corpus, work, None, args.datatrove_workers)
    if engine == "ray":
        return run_ray_engine(corpus, work, config, args.ray_num_cpus, args.checks == "all")
    raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")


def emit(line: dict[str, Any], out: Any) -> None:
    text = json.dumps(line)
    print(text, flush=True)
    if out is not None:
        out.write(text + "\n")
        out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=200_000, help="samples in the corpus")
    parser.add_argument("--smoke", action="store_true", help="a quick check: n = 2,000")
    parser.add_argument(
        "--engines", default="local,datatrove,ray", help=f"comma-separated, run in turn: {', '.join(ENGINES)}"
    )
    parser.add_argument("--json-out", type=Path, help="also append the JSON lines to this file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--threshold", type=float, default=0.8, help="Jaccard of the ground truth")
    parser.add_argument("--corpus", type=Path, help=f"corpus directory (default: under {WORK})")
    parser.add_argument("--work-dir", type=Path, default=WORK, help="engines' temporary outputs go here")
    parser.add_argument("--keep", action="store_true", help="keep each engine's outputs")
    parser.add_argument("--datatrove-workers", type=int, default=2)
    parser.add_argument("--ray-num-cpus", type=int, default=2)
    parser.add_argument(
        "--checks",
        choices=("cheap", "all"),
        default="cheap",
        help="curator's engines: the two dedup checks, or the default policy with every check",
    )
    parser.add_argument(
        "--onnx-model",
        type=Path,
        help="with --checks all: compute embeddings with this ONNX export (`curator models export-onnx "
        "--out DIR`; same embeddings, cosine >= 0.9999998, ~2x faster) instead of torch",
    )
    parser.add_argument(
        "--hnsw-threshold",
        type=int,
        help="with --checks all: kept vectors past which the local engine's semantic search turns to "
        "HNSW (default 20,000); the Ray engine's search is exact at any size",
    )
    parser.add_argument(
        "--hnsw",
        metavar="M,EF",
        help="with --hnsw-threshold: the local engine's HNSW hnsw_m and ef_search (default 32,128)",
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="with --onnx-model: its int8 variant (`--int8` at export; ~2x faster again, cosine >= 0.985)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.n = 2000
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if args.onnx_model is not None and args.checks != "all":
        parser.error("--onnx-model is for --checks all; the cheap checks compute no embeddings")
    hnsw: tuple[int, int] | None = None
    if args.hnsw is not None:
        try:
            m, ef = (int(v) for v in args.hnsw.split(","))
        except ValueError:
            parser.error("--hnsw takes two integers, M,EF (e.g. 32,128)")
        if args.hnsw_threshold is None:
            parser.error("--hnsw needs --hnsw-threshold N")
        hnsw = (m, ef)
    if args.int8 and args.onnx_model is None:
        parser.error("--int8 needs --onnx-model DIR")
    for e in engines:
        if e not in ENGINES:
            parser.error(f"unknown engine {e!r}; known: {', '.join(ENGINES)}")
        if args.checks == "all" and e.startswith("datatrove"):
            parser.error("--checks all is for curator's engines; DataTrove only deduplicates")

    corpus, meta = corpus_for(args)
    revision = curator_revision()
    drops: dict[str, set[str]] = {}
    wholes: dict[str, dict[str, Any]] = {}
    truth = Truth(corpus, args.threshold)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    out = args.json_out.open("a") if args.json_out else None
    try:
        emit({"corpus": str(corpus), "cpu_count": os.cpu_count(), **meta}, out)
        for engine in engines:
            work = args.work_dir / f"run-{engine}-n{args.n}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            config = write_config(
                work / "curator.toml", args.checks, args.onnx_model, args.int8, args.hnsw_threshold, hnsw
            )
            load_before = os.getloadavg()[0]
            busy0 = machine_busy_s()
            result = measure(engine, corpus, work, config, args)
            busy1 = machine_busy_s()
            line: dict[str, Any] = {
                "engine": engine,
                "checks": "minhash dedup"
                if engine.startswith("datatrove")
                else f"cheap: {CHEAP}"
                if args.checks == "cheap"
                else "all: the default policy"
                + (
                    ", torch embeddings"
                    if args.onnx_model is None
                    else ", onnx int8 embeddings"
                    if args.int8
                    else ", onnx embeddings"
                ),
                "n": meta["n"],
            }
            if "seconds" not in result:
                emit({**line, **result}, out)
                if "skipped" in result:
                    print(f"note: ray engine skipped: {result['skipped']}", file=sys.stderr)
                continue
            if result["decided"] != meta["n"]:
                line["warning"] = f"{result['decided']} decisions for {meta['n']} samples"
            cores = result["cores"]
            rate = meta["n"] / result["seconds"]
            line |= {
                "seconds": round(result["seconds"], 2),
                "samples_per_s": round(rate, 1),
                "cores": cores,
                "per_core": round(rate / cores, 1),
                **score(truth, result["dropped"]),
                "dropped": len(result["dropped"]),
                "verdicts": result["verdicts"],
            }
            for key in (
                "printed_samples_per_s",
                "codes",
                "stage_s",
                "minhash",
                "tasks",
                "workers",
                "command",
            ):
                if key in result and result[key] is not None:
                    line[key] = result[key]
            # Other work on the machine slows every engine: the 1-minute load average around the run.
            line["load_avg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            # Cores busy during the run: the engine's processes and everything else on the machine.
            wall, own = result["seconds"], result["engine_cpu_s"]
            line["busy_cores"] = {
                "engine": round(own / wall, 2),
                "other": round(max(0.0, busy1 - busy0 - own) / wall, 2),
            }
            # Samples per CPU second the engine's processes used: less sensitive to the other load.
            line["samples_per_cpu_s"] = round(meta["n"] / own, 1) if own else None
            drops[engine] = set(result["dropped"])
            if "whole" in result:
                wholes[engine] = result["whole"]
            if engine != "local" and "local" in drops:
                line["drop_differs_from_local"] = len(drops[engine] ^ drops["local"])
            if engine != "local" and "local" in wholes and engine in wholes:
                # Verdict, reason codes and matched ids, sample by sample.
                mine, theirs = wholes[engine], wholes["local"]
                line["decisions_differ_from_local"] = sum(
                    mine.get(i) != theirs.get(i) for i in set(mine) | set(theirs)
                )
            if args.checks == "all":
                line["scored"] = "drops with an EXACT_DUPLICATE or NEAR_DUPLICATE reason"
            if "clusters" in result:
                line["datatrove_clusters"] = cluster_stats(truth, result["clusters"], result["dropped"])
            if not engine.startswith("datatrove"):
                line["curator"] = revision
            line["threshold"] = args.threshold
            emit(line, out)
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        if out is not None:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
