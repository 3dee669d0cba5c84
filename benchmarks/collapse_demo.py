"""Show the collapse monitor on real data: `curator stats` flags the window where diversity falls.

Phase 1 feeds varied alpaca samples; phase 2, in the next time window, feeds
heavily reworded variants of a few of them (the kind of output a generator
produces as it collapses). Runs the real CLI end to end::

    .venv/bin/python benchmarks/collapse_demo.py [--varied 200] [--paraphrases 200] [--bucket 20]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.dedup_benchmark import DATA  # noqa: E402
from benchmarks.perturb import operators, perturb_text, vocabulary_from  # noqa: E402

CURATOR = [sys.executable, "-m", "curator.cli.main"]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--varied", type=int, default=200)
    parser.add_argument("--paraphrases", type=int, default=200)
    parser.add_argument("--sources", type=int, default=20, help="how many samples phase 2 rewords")
    parser.add_argument("--bucket", type=int, default=20, help="window width in seconds")
    args = parser.parse_args()

    records = json.loads(DATA.read_text())
    rng = random.Random(0)
    varied = rng.sample(records, args.varied)
    ops = operators(vocabulary_from(r["output"] for r in records))
    sources = varied[: args.sources]
    work = Path(tempfile.mkdtemp(prefix="curator-collapse-"))
    phase1, phase2 = work / "phase1.jsonl", work / "phase2.jsonl"
    with phase1.open("w") as f:
        for i, r in enumerate(varied):
            f.write(json.dumps({"id": f"v{i}", **r, "generator": "varied"}) + "\n")
    with phase2.open("w") as f:
        for k in range(args.paraphrases):
            r = sources[k % len(sources)]
            text, _ = perturb_text(r["output"], rng, max(3, len(r["output"].split()) // 4), ops)
            f.write(json.dumps({"id": f"p{k}", **r, "output": text, "generator": "collapsing"}) + "\n")

    common = ["--collection", "demo", "--data-dir", str(work / "data")]
    subprocess.run(
        [*CURATOR, "filter", str(phase1), "--decisions", str(work / "d1.jsonl"), *common], check=True
    )
    time.sleep(args.bucket - time.time() % args.bucket + 0.5)  # phase 2 starts a new window
    subprocess.run(
        [*CURATOR, "filter", str(phase2), "--decisions", str(work / "d2.jsonl"), *common], check=True
    )
    bucket = f"{args.bucket}s"
    subprocess.run([*CURATOR, "stats", "--bucket", bucket, "--group-by", "generator", *common], check=True)
    subprocess.run([*CURATOR, "stats", "--bucket", bucket, "--json", *common], check=True)
    print(f"work files in {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
