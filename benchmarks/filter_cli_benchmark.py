"""`curator filter` end to end, with a dedup-only policy: what a batch run costs when only dedup runs.

The issue behind it: with semantic, heuristics, bias, grounding and hallucination all disabled,
`curator filter` ran at 61 samples/s, because every index learned every kept sample and the embedding
model ran for a policy that never used it. This benchmark runs the real command (a subprocess: JSON
parsing, validation, the pipeline, the decision log, the output files) over Alpaca records plus
perturbed copies, with only `exact_duplicate` and `near_duplicate` enabled, and, in the same run, the
same samples through the library's dedup stage alone (`Pipeline.run` on a `CollectionState`), so that
the two figures are a ratio on one machine at one moment.

    .venv/bin/python benchmarks/filter_cli_benchmark.py                 # 5,000 + 11,700 copies, ~1 min
    .venv/bin/python benchmarks/filter_cli_benchmark.py --copies 2000 --repeat 1 --out results.jsonl

Prints JSON lines: one per timed run, then a summary line. Two rates for the command: the one it prints
(its run, from the first record read to the last decision written) and the whole command's wall clock,
which adds Python's start and imports (about 1.5 s here, whatever the input's size).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from perturb import edit_count, operators, perturb_record, vocabulary_from  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "alpaca_5000.json"
ONLY_DEDUP = {
    "checks": {
        name: {"enabled": name in ("exact_duplicate", "near_duplicate")}
        for name in ("empty", "exact_duplicate", "near_duplicate", "semantic", "bias", "heuristics")
    }
}


def build_input(path: Path, copies: int, seed: int, originals: int = 5000) -> int:
    """Originals, then shuffled perturbed copies (edit rate up to 9%), as JSONL; returns the count."""
    records = json.loads(DATA.read_text())[:originals]
    rng = random.Random(seed)
    ops = operators(vocabulary_from(" ".join(r.values()) for r in records))
    made = []
    for _ in range(copies):
        src = records[rng.randrange(len(records))]
        n_words = len(" ".join(src.values()).split())
        made.append(perturb_record(src, rng, edit_count(n_words, rng, 0.09), ops)[0])
    rng.shuffle(made)
    with path.open("w") as f:
        for i, rec in enumerate([*records, *made]):
            f.write(json.dumps({"id": f"s{i}", **rec}) + "\n")
    return len(records) + copies


def run_cli(
    input_path: Path, work: Path, batch_size: int, code: Path | None = None, policy_json: dict | None = None
) -> dict[str, Any]:
    """One `curator filter` run on a fresh data directory; wall time of the whole command. ``code``: run
    another version of curator (a directory holding its ``curator`` package) with this venv."""
    data_dir = work / "data"
    policy = work / "policy.json"
    policy.write_text(json.dumps(ONLY_DEDUP if policy_json is None else policy_json))
    env = {**os.environ, "CURATOR_EMBEDDINGS__PRELOAD": "false"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    curator = [sys.executable, "-m", "curator.cli.main"]
    subprocess.run(
        [*curator, "collections", "create", "bench", "--policy", str(policy), "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        env=env,
    )
    started = time.perf_counter()
    done = subprocess.run(
        [
            *curator,
            "filter",
            str(input_path),
            "-c",
            "bench",
            "--no-create",
            "--decisions",
            str(work / "decisions.jsonl"),
            "--kept",
            str(work / "kept.jsonl"),
            "--batch-size",
            str(batch_size),
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"curator filter failed ({done.returncode}):\n{done.stderr[-3000:]}")
    # The rate curator prints (the run, without Python's start and imports), from its summary table.
    rows = [line for line in done.stderr.splitlines() if line.startswith("│")]
    printed = float(rows[-1].split("│")[-2].strip().replace(",", "")) if rows else float("nan")
    verdicts: dict[str, int] = {}
    with (work / "decisions.jsonl").open() as f:
        for line in f:
            verdict = json.loads(line)["verdict"]
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
    return {"seconds": seconds, "printed_samples_per_s": printed, "verdicts": verdicts}


def run_library(input_path: Path, work: Path, batch_size: int) -> dict[str, Any]:
    """The same samples through the dedup stage alone: Pipeline.run on a durable CollectionState."""
    from curator.checks import default_checks
    from curator.checks.base import IndexedCheck
    from curator.domain.policy import Policy, resolve_policy
    from curator.domain.validation import SampleInput, validate_batch
    from curator.pipeline import Pipeline
    from curator.settings import Settings
    from curator.state.collection import CollectionState

    settings = Settings()
    checks = [c for c in default_checks(settings) if c.name in ("exact_duplicate", "near_duplicate")]
    policy = resolve_policy(Policy.model_validate(ONLY_DEDUP | {"checks": {}}), checks)
    raws = []
    with input_path.open() as f:
        for line in f:
            rec = json.loads(line)
            raws.append(
                SampleInput(
                    id=rec["id"], instruction=rec["instruction"], input=rec["input"], output=rec["output"]
                )
            )
    samples = [
        s
        for i in range(0, len(raws), batch_size)
        for s in validate_batch(raws[i : i + batch_size], settings.limits.limits())
    ]
    state = CollectionState(
        "bench", policy, work / "library", [c for c in checks if isinstance(c, IndexedCheck)]
    )
    pipeline = Pipeline(checks)
    started = time.perf_counter()
    kept = 0
    for i in range(0, len(samples), batch_size):
        kept += sum(d.verdict == "keep" for d in pipeline.run(samples[i : i + batch_size], state, policy, 1))
    seconds = time.perf_counter() - started
    state.close()
    return {"seconds": seconds, "kept": kept}


def _checkout(rev: str, into: Path) -> Path:
    """The ``curator`` package of git revision ``rev``, exported into ``into``."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "curator"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--copies", type=int, default=11_700, help="perturbed copies after the 5,000 originals"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--originals", type=int, default=5000, help="Alpaca records first (at most 5,000)")
    parser.add_argument("--batch-size", type=int, default=500, help="curator filter's default")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path; the best is reported")
    parser.add_argument("--out", type=Path, help="also append the JSON lines here")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run `curator filter` of this git revision (git archive into a temporary directory)",
    )
    parser.add_argument(
        "--all-checks",
        action="store_true",
        help="the default policy (embeddings and all) instead of dedup only",
    )
    args = parser.parse_args()
    lines: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="curator-filter-bench-") as tmp:
        work = Path(tmp)
        n = build_input(work / "input.jsonl", args.copies, args.seed, args.originals)
        baseline = _checkout(args.baseline, work / "baseline") if args.baseline else None
        policy_json = {} if args.all_checks else None
        cli_runs, lib_runs, base_runs = [], [], []
        for r in range(args.repeat):  # interleaved, so that a noisy moment hits every path alike
            if baseline is not None:
                base_dir = work / f"base-{r}"
                base_dir.mkdir()
                base = run_cli(work / "input.jsonl", base_dir, args.batch_size, baseline, policy_json)
                base_runs.append(base)
                lines.append({"path": f"curator filter @ {args.baseline}", "run": r, "samples": n, **base})
                print(json.dumps(lines[-1]), flush=True)
            run_dir = work / f"cli-{r}"
            run_dir.mkdir()
            cli = run_cli(work / "input.jsonl", run_dir, args.batch_size, policy_json=policy_json)
            cli_runs.append(cli)
            lines.append(
                {"path": "curator filter", "run": r, "samples": n, **cli, "samples_per_s": n / cli["seconds"]}
            )
            print(json.dumps(lines[-1]), flush=True)
            lib_dir = work / f"lib-{r}"
            lib_dir.mkdir()
            lib = run_library(work / "input.jsonl", lib_dir, args.batch_size)
            lib_runs.append(lib)
            lines.append(
                {
                    "path": "library dedup stage",
                    "run": r,
                    "samples": n,
                    **lib,
                    "samples_per_s": n / lib["seconds"],
                }
            )
            print(json.dumps(lines[-1]), flush=True)
        best_cli = min(c["seconds"] for c in cli_runs)
        best_lib = min(c["seconds"] for c in lib_runs)
        printed = sorted(c["printed_samples_per_s"] for c in cli_runs)
        base_printed = sorted(c["printed_samples_per_s"] for c in base_runs)
        summary = {
            "summary": "filter_cli",
            "samples": n,
            "policy": "exact_duplicate + near_duplicate only",
            "cli_printed_samples_per_s_best": round(printed[-1]),
            "cli_printed_samples_per_s_median": round(printed[len(printed) // 2]),
            "cli_samples_per_s": round(n / best_cli),
            "library_samples_per_s": round(n / best_lib),
            "cli_over_library": round(best_lib / best_cli, 3),
            "target_samples_per_s": 5000,
            "meets_target_printed_median": printed[len(printed) // 2] >= 5000,
            "meets_target_whole_command": n / best_cli >= 5000,
            "cpus": os.cpu_count(),
        }
        if base_runs:
            median = base_printed[len(base_printed) // 2]
            summary["baseline"] = args.baseline
            summary["baseline_printed_samples_per_s_median"] = round(median)
            summary["printed_median_over_baseline"] = round(printed[len(printed) // 2] / median, 3)
        if args.all_checks:
            summary["policy"] = "the default policy (all default checks, embeddings included)"
        lines.append(summary)
        print(json.dumps(summary), flush=True)
    if args.out:
        with args.out.open("a") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
