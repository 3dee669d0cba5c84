"""Write alpaca_5000 plus perturbed copies as JSONL, to run `curator filter` over.

Each copy carries ``source_id`` (the original it was made from), ``true_jaccard``
(exact, on the check's word 3-gram shingles) and the operators applied, which
pass through to the decision log's metadata. Example::

    .venv/bin/python benchmarks/make_near_duplicates.py --out /tmp/alpaca_dups.jsonl
    .venv/bin/curator filter /tmp/alpaca_dups.jsonl --collection alpaca --decisions /tmp/decisions.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.dedup_benchmark import DATA, MAX_EDIT_RATE  # noqa: E402
from benchmarks.perturb import edit_count, operators, perturb_record, true_jaccard, vocabulary_from  # noqa: E402


def full_text(rec: dict[str, str]) -> str:
    return "\n".join(rec[f] for f in ("instruction", "input", "output") if rec.get(f))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--copies", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    records = json.loads(args.data.read_text())
    rng = random.Random(args.seed)
    ops = operators(vocabulary_from(full_text(r) for r in records))
    with args.out.open("w") as out:
        for i, rec in enumerate(records):
            out.write(json.dumps({"id": f"o{i}", **rec, "generator": "text-davinci-003"}) + "\n")
        for k in range(args.copies):
            src = rng.randrange(len(records))
            n_words = len(full_text(records[src]).split())
            copy, applied = perturb_record(records[src], rng, edit_count(n_words, rng, MAX_EDIT_RATE), ops)
            line = {
                "id": f"c{k}",
                **copy,
                "generator": "perturbed-copy",
                "source_id": f"o{src}",
                "true_jaccard": round(true_jaccard(full_text(records[src]), full_text(copy), 3), 4),
                "operators": applied,
            }
            out.write(json.dumps(line) + "\n")
    print(f"wrote {len(records)} originals and {args.copies} copies to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
