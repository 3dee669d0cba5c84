"""The coverage report on real data: alpaca_5000 (synthetic) against self-instruct and BOLD (real).

    .venv/bin/python benchmarks/coverage_benchmark.py [--synthetic 5000] [--bold 2000] [--json-out F]

Filters the Alpaca records into a fresh collection (semantic check on, so the report reuses the
index's embeddings; the other checks off, as a synthetic-only corpus would be kept whole), registers
the real reference (the 252 self-instruct instructions, human-written, Apache-2.0, and a sample of
BOLD's Wikipedia sentence openings, CC BY-SA 4.0), and times ``Curator.report``. Prints one JSON line
with the report's figures and the time each step took, then the missed regions' examples.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from curator.domain.evalset import EvalItem  # noqa: E402
from curator.domain.policy import Policy  # noqa: E402
from curator.domain.validation import SampleInput  # noqa: E402
from curator.service import Curator  # noqa: E402
from curator.settings import Settings  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def _reference(bold: int, seed: int) -> list[EvalItem]:
    items = []
    for line in (DATA / "self_instruct_user_oriented.jsonl").read_text().splitlines():
        record = json.loads(line)
        items.append(EvalItem(f"si:{record['id']}", record["instruction"]))
    sentences = []
    for path in sorted((DATA / "bold").glob("*_prompt.json")):
        for group, people in json.loads(path.read_text()).items():
            for name, prompts in people.items():
                sentences += [(f"bold:{path.stem}:{group}:{name}:{k}", p) for k, p in enumerate(prompts)]
    rng = random.Random(seed)
    for key, text in rng.sample(sentences, min(bold, len(sentences))):
        items.append(EvalItem(key, text))
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic", type=int, default=5000)
    parser.add_argument("--bold", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coverage-bench-"))
    try:
        only_semantic = {
            name: {"enabled": name in ("semantic", "exact_duplicate")}
            for name in (
                "empty",
                "exact_duplicate",
                "decontamination",
                "near_duplicate",
                "semantic",
                "bias",
                "heuristics",
                "grounding",
                "hallucination",
            )
        }
        curator = Curator(Settings.load(data_dir=work / "data"))
        curator.create_collection("alpaca", Policy.model_validate({"checks": only_semantic}))
        records = json.loads((DATA / "alpaca_5000.json").read_text())[: args.synthetic]
        samples = [
            SampleInput(
                id=f"a{k}",
                instruction=r["instruction"],
                input=r["input"],
                output=r["output"],
                metadata={"source": "alpaca"},
            )
            for k, r in enumerate(records)
        ]
        started = time.perf_counter()
        for a in range(0, len(samples), 500):
            curator.filter("alpaca", samples[a : a + 500])
        filter_s = time.perf_counter() - started
        reference = _reference(args.bold, args.seed)
        started = time.perf_counter()
        curator.add_reference("alpaca", reference)
        reference_s = time.perf_counter() - started
        started = time.perf_counter()
        report = curator.report("alpaca", group_by="source")
        report_s = time.perf_counter() - started
        curator.close()
        line: dict[str, Any] = {
            "benchmark": "coverage",
            "synthetic_kept": report.synthetic_kept,
            "reference_items": report.reference_items,
            "precision": round(report.precision, 4) if report.precision is not None else None,
            "recall": round(report.recall, 4) if report.recall is not None else None,
            "regions": {
                s: sum(g.status == s for g in report.regions) for s in ("missed", "over-filled", "balanced")
            },
            "reference_metrics": {k: round(v, 4) for k, v in report.reference_metrics.items()},
            "synthetic_metrics": {k: round(v, 4) for k, v in report.synthetic_metrics.items()},
            "filter_s": round(filter_s, 1),
            "add_reference_s": round(reference_s, 1),
            "report_s": round(report_s, 2),
        }
        print(json.dumps(line), flush=True)
        if args.json_out:
            args.json_out.write_text(json.dumps(line) + "\n")
        for g in report.regions:
            if g.status != "balanced":
                print(f"# {g.status}: real {g.real_share:.1%} synthetic {g.synthetic_share:.1%}")
                for text in g.examples:
                    print(f"#   {text[:120]!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
